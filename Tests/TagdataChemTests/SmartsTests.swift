import Foundation
import TestSupport
import Testing
@testable import TagdataChem

/// SMARTS parsing and matching, one primitive and operator at a time. Expected counts are
/// RDKit 2026.09.1's `len(mol.GetSubstructMatches(pattern))` and, second, the same with
/// `uniquify=False`, taken once from the venv.
@Suite struct SmartsTests {
  static let cases: [(String, String, Int, Int)] = [
    ("C", "CCO", 2, 2),
    ("c", "c1ccccc1C", 6, 6),
    ("[#6]", "c1ccccc1C", 7, 7),
    ("*", "CCO", 3, 3),
    ("a", "c1ccncc1CO", 6, 6),
    ("A", "c1ccncc1CO", 2, 2),
    ("[CH3]", "CC(C)O", 2, 2),
    ("[CH2]", "CCCO", 2, 2),
    ("[H]", "[2H]C", 1, 1),
    ("[2H]", "[2H]C([3H])C", 1, 1),
    ("[#1]", "[2H]C([3H])C", 2, 2),
    ("[H+]", "[H+]", 1, 1),
    ("[OH]", "OCC(=O)O", 2, 2),
    ("[!H0]", "CC(=O)N(C)C", 3, 3),
    ("[D1]", "CC(C)C", 3, 3),
    ("[D3]", "CC(C)C", 1, 1),
    ("[X4]", "CC(C)C=O", 3, 3),
    ("[X3]", "CC(C)C=O", 1, 1),
    ("[v4]", "C[N+](C)(C)C", 5, 5),
    ("[v3]", "c1ccncc1", 1, 1),
    ("[v2]", "c1ccoc1", 1, 1),
    ("[v5]", "CP(=O)(O)O", 1, 1),
    ("[R]", "C1CC2CCC1C2C", 7, 7),
    ("[R2]", "C1CC2CCC1C2C", 3, 3),
    ("[R0]", "C1CCC1CC", 2, 2),
    ("[r5]", "c1ccc2[nH]ccc2c1", 5, 5),
    ("[r6]", "c1ccc2[nH]ccc2c1", 4, 4),
    ("[r]", "C1CC1C", 3, 3),
    ("[x2]", "C1CC2CCC1C2C", 5, 5),
    ("[x3]", "C1CC2CCC1C2C", 2, 2),
    ("[x]", "C1CC1C", 3, 3),
    ("[x0]", "C1CC1C", 1, 1),
    ("[+]", "C[N+](C)(C)C.[Cl-]", 1, 1),
    ("[-]", "C[N+](C)(C)C.[Cl-]", 1, 1),
    ("[+0]", "C[NH3+]", 1, 1),
    ("[-0]", "C[NH3+]", 1, 1),
    ("[++]", "[Ca++].[Cl-].[Cl-]", 1, 1),
    ("[+2]", "[Ca+2]", 1, 1),
    ("[--]", "[O--]", 1, 1),
    ("[-2]", "[O-2]", 1, 1),
    ("[13C]", "[13CH4].C", 1, 1),
    ("[13]", "[13CH4].C", 1, 1),
    ("[C:1]", "CC", 2, 2),
    ("[C,N]", "CNO", 2, 2),
    ("[C;H3,H2]", "CCC(C)C", 4, 4),
    ("[C,N;H1]", "CNC(C)C", 2, 2),
    ("[C,N&H1]", "CNC(C)C", 5, 5),
    ("[!C;!O]", "CNCO", 1, 1),
    ("[N;!H0]", "CNC(N)=O", 2, 2),
    ("[c,n;H1]", "c1cc[nH]c1", 5, 5),
    ("[#7,O,S!D1]", "CSC.CS.CO.CN", 3, 3),
    ("[$(C=O)]", "CC(=O)O", 1, 1),
    ("[$(C=O);!$(C-O)]", "CC(=O)OC=O", 0, 0),
    ("[$([OH]-c)]", "Oc1ccccc1", 1, 1),
    ("[$([N;v3;!$(N-*=!@[O,N,P,S])])]", "CNC(=O)C.NC", 1, 1),
    ("CC", "CCC", 2, 4),
    ("C-C", "C=CC", 1, 2),
    ("C=C", "C=CC=C", 2, 4),
    ("C#N", "CC#N", 1, 1),
    ("c:c", "c1ccccc1", 6, 12),
    ("cc", "c1ccccc1", 6, 12),
    ("c-c", "c1ccccc1-c1ccccc1", 1, 2),
    ("C~C", "C=CC#C", 3, 6),
    ("C@C", "C1CC1CC", 3, 6),
    ("C!@C", "C1CC1CC", 2, 4),
    ("C=,#C", "C=CC#C", 2, 4),
    ("*-,:;!@*", "c1ccccc1CC", 2, 4),
    ("C1CC1", "C1CC1", 1, 6),
    ("C1CCC1", "C12CC1C2", 1, 8),
    ("c1ccccc1", "c1ccc2ccccc2c1", 2, 24),
    ("C%10CC%10", "C1CC1", 1, 6),
    ("C(C)(C)C", "CC(C)(C)C", 4, 24),
    ("C.C", "CCC", 3, 6),
    ("F.F.F.F", "FC(F)(F)C(F)(F)F", 15, 360),
    ("O.O", "O=C=O", 1, 2),
    ("C(=O)O[C,H1].C(=O)O[C,H1]", "CC(=O)OC(=O)C.OC(=O)OC", 2, 4),
    ("[!$(*#*)&!D1]-,:;!@[!$(*#*)&!D1]", "CCOC(=O)c1ccccc1", 3, 6),
    ("*1[O,S,N]*1", "C1OC1C", 1, 2),
    ("[N+](=O)[O-]", "C[N+](=O)[O-]", 1, 1),
    ("[Si]", "C[Si](C)(C)C", 1, 1),
    ("[Cl]", "CCl", 1, 1),
    ("Cl", "CCl", 1, 1),
    ("Br", "CBr", 1, 1),
    ("[Na]", "[Na+].[Cl-]", 1, 1),
    ("[se]", "c1cc[se]c1", 1, 1),
    ("[Se]", "c1cc[se]c1", 1, 1),
    ("[#34]", "c1cc[se]c1", 1, 1),
    ("[te]", "c1cc[te]c1", 1, 1),
    ("[as]", "c1cc[as]cc1", 0, 0),
    ("[CH2]=C", "C=CC", 1, 1),
    ("O=C-C=O", "O=CC=O", 1, 2),
    ("[CR1]1[CR1][CR1][CR1][CR1][CR1][CR1]1", "C1CCCCCC1", 1, 14),
    ("[nH]", "c1cc[nH]c1", 1, 1),
    ("[n;H1]", "c1cc[nH]c1", 1, 1),
    ("[CH]", "C#C", 2, 2),
    ("[HH]", "C", 0, 0),
    ("[H1]", "CC(C)C", 1, 1),
    ("[2H,C]", "CC", 2, 2),
    ("[C@H](F)(Cl)Br", "F[C@@H](Cl)Br", 1, 1),
    ("F/C=C/F", "F/C=C\\F", 1, 2),
  ]

  @Test(arguments: cases.indices)
  func countsMatchRDKit(_ k: Int) throws {
    let (smarts, smiles, unique, all) = Self.cases[k]
    let pattern = try SmartsPattern(smarts)
    let target = SmartsTarget(try Smiles.read(smiles))
    #expect(pattern.countUniqueMatches(in: target) == unique, "\(smarts) on \(smiles)")
    #expect(pattern.matches(in: target).count == unique, "\(smarts) on \(smiles)")
    #expect(pattern.matches(in: target, unique: false).count == all, "\(smarts) on \(smiles), not uniquified")
    #expect(pattern.hasMatch(in: target) == (unique > 0), "\(smarts) on \(smiles)")
    #expect((pattern.firstMatch(in: target) != nil) == (unique > 0), "\(smarts) on \(smiles)")
  }

  func error(_ smarts: String) -> SmartsError? {
    do {
      _ = try SmartsPattern(smarts)
      return nil
    } catch {
      return error
    }
  }

  @Test func errorsNameTheirPosition() {
    let cases: [(String, Int)] = [
      ("", 0), ("[C", 0), ("C)", 1), ("C(C", 1), ("C1CC", 1), ("C=", 1), ("[]", 0), ("[C,]", 2), ("[,C]", 1),
      ("[C;;N]", 3), ("[C&&N]", 3), ("[!]", 1), ("[Q]", 1), ("[cl]", 2), ("[h1]", 1), ("C$C", 1), ("[$C]", 1),
      ("[$(C]", 1), ("[$()]", 1), ("C11", 2), ("C1C1", 3), ("C.", 1), ("C..C", 2), (".C", 0), ("C()", 1), ("(C)", 0),
      ("C-(C)", 1), ("C!!C", 2), ("[C:]", 2), ("[C:1N]", 4), ("H", 0), ("[C@@?]", 2), ("C%1", 1), ("[#]", 1),
      ("[C]]", 3), ("C\u{e9}", 1), ("[C[N]]", 2),
    ]
    for (smarts, position) in cases {
      let e = error(smarts)
      #expect(e != nil, "\(smarts) should be refused")
      #expect(e?.position == position, "\(smarts): \(e?.description ?? "accepted")")
    }
  }

  @Test func precedenceOfOperators() throws {
    let mol = SmartsTarget(try Smiles.read("CNC(C)C"))
    // `,` binds tighter than `;`, `&` tighter than `,`, `!` tightest.
    #expect(try SmartsPattern("[C,N;H1]").countUniqueMatches(in: mol) == 2)
    #expect(try SmartsPattern("[C,N&H1]").countUniqueMatches(in: mol) == 5)
    #expect(try SmartsPattern("[CH1,N]").countUniqueMatches(in: mol) == 2)
    #expect(try SmartsPattern("[!C,N]").countUniqueMatches(in: mol) == 1)
    #expect(try SmartsPattern("[!C&!N]").countUniqueMatches(in: mol) == 0)
    #expect(try SmartsPattern("[!!C]").countUniqueMatches(in: mol) == 4)
  }

  @Test func deepRecursionIsRefusedWithPosition() throws {
    var s = "C"
    for _ in 0 ..< 40 { s = "[$(\(s))]" }
    let e = error(s)
    #expect(e?.position == SmartsParser.maxNesting * 3 + 1)
    var ok = "C"
    for _ in 0 ..< SmartsParser.maxNesting { ok = "[$(\(ok))]" }
    #expect(error(ok) == nil)
    #expect(try SmartsPattern(ok).countUniqueMatches(in: try Smiles.read("CC")) == 2)
  }

  @Test func matchesMapPatternAtomsInOrder() throws {
    let m = try SmartsPattern("O=CN").matches(in: try Smiles.read("NC(=O)C"))
    #expect(m == [[2, 1, 0]])
  }

  @Test func maxMatchesCountsUniqueMatches() throws {
    let mol = try Smiles.read("C" + String(repeating: "C(F)(F)", count: 20))
    #expect(try SmartsPattern("F.F").countUniqueMatches(in: SmartsTarget(mol), maxMatches: 1000) == 780)
    #expect(try SmartsPattern("F.F.F.F").countUniqueMatches(in: SmartsTarget(mol), maxMatches: 1000) == 1000)
  }
}
