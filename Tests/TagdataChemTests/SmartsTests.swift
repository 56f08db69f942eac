import Foundation
import TagdataIO
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
    // RDKit's readings beyond the descriptor subset: a mass binds to the atom symbol after it,
    // a leading 0 is a number of its own, digits after $(...) are ignored, a negated chirality
    // matches nothing, `$` is a quadruple bond, `d` counts neighbours other than plain H.
    ("[!8#1]", "[8H]C([2H])C", 3, 3),
    ("[!13C]", "[13CH4].CC", 2, 2),
    ("[13C,N]", "[13CH3]CN", 2, 2),
    ("[#08]", "CO", 0, 0),
    ("[$(C)8]", "CCO", 2, 2),
    ("[$(C=O)12O]", "CC(=O)O", 0, 0),
    ("[C;!@]", "CC", 0, 0),
    ("[!@@C]", "CC", 0, 0),
    ("[C@TH1]", "CC", 2, 2),
    ("[@OH]", "CO", 2, 2),
    ("C$C", "[Cr]$[Cr].C$C", 1, 2),
    ("*$*", "[Cr]$[Cr]", 1, 2),
    ("[d1]", "[2H]C([2H])([2H])O", 4, 4),
    ("[d4]", "[2H]C([2H])([2H])O", 1, 1),
    ("[2H,C]", "[2H]CC", 2, 2),
    ("[!2H]", "[2H]C([H])C", 3, 3),
    ("[R01]", "C1CC1C", 0, 0),
    ("[C8]", "CC", 0, 0),
    ("C!!@C", "C1CC1CC", 3, 6),
    ("[z2]", "OC(N)C", 1, 1),
    ("[z]", "c1ccncc1CO", 3, 3),
    ("[Z1]", "c1ccncc1CO", 1, 1),
    ("[Z]", "c1ccncc1CO", 1, 1),
    ("[z0]", "CCO", 2, 2),
    ("C=1CC-1", "C1CC1", 0, 0),
    ("C!!!-C", "C=CC", 1, 2),
    ("C!!!!@C", "C1CC1CC", 3, 6),
    ("C=1CC-1", "C1=CC1", 1, 2),
    ("[N1+0]", "CN", 0, 0),
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
      ("[C;;N]", 3), ("[C&&N]", 3), ("[!]", 1), ("[Q]", 1), ("[cl]", 2), ("[h1]", 1), ("[$C]", 1),
      ("[$(C]", 1), ("[$()]", 1), ("C11", 2), ("C1C1", 3), ("C.", 1), ("C..C", 2), (".C", 0), ("C()", 1), ("(C)", 0),
      ("C-(C)", 1), ("C!!C", 1), ("C=!!C", 2), ("[Og]", 2), ("C((C))", 2), ("C(1)C1", 2), ("C(.C)C", 2), ("C(C.)C", 3),
      ("[H+,C]", 3), ("C$", 1), ("[@OH0]", 2), ("[C@TH3]", 3), ("[C@TB21]", 3), ("[C:]", 2), ("[C:1N]", 4), ("H", 0), ("[C@@?]", 2), ("C%1", 1), ("[#]", 1),
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

  /// Matches are listed as RDKit lists them (and the one kept for an atom set is RDKit's): pattern
  /// atom 0's molecule atom ascending, then depth-first over each atom's bonds in creation order.
  @Test func matchesComeInRDKitsOrder() throws {
    let cases: [(String, String, [[Int]])] = [
      ("[CH2](C)C", "C1[NH2+]CCC(=O)C1", [[3, 2, 4], [6, 4, 0]]),
      ("[CH2](C)C", "C12C(C=CC=C1)N(CCC2)C", [[8, 7, 9], [9, 8, 0]]),
      ("c1ccccc1", "c1ccc2ccccc2c1", [[0, 1, 2, 3, 8, 9], [3, 4, 5, 6, 7, 8]]),
      ("[C&!R](=O)NC", "CC(=O)NCC(=O)NC", [[1, 2, 3, 4], [5, 6, 7, 8]]),
    ]
    for (smarts, smiles, expected) in cases {
      #expect(try SmartsPattern(smarts).matches(in: try Smiles.read(smiles)) == expected, "\(smarts) on \(smiles)")
    }
  }

  @Test func maxMatchesCountsUniqueMatches() throws {
    let mol = try Smiles.read("C" + String(repeating: "C(F)(F)", count: 20))
    #expect(try SmartsPattern("F.F").countUniqueMatches(in: SmartsTarget(mol), maxMatches: 1000) == 780)
    #expect(try SmartsPattern("F.F.F.F").countUniqueMatches(in: SmartsTarget(mol), maxMatches: 1000) == 1000)
  }

  @Test func anchoredMatchAsksForTheFirstPatternAtom() throws {
    let target = SmartsTarget(try Smiles.read("CC(=O)OC"))
    let ester = try SmartsPattern("[CH3]OC=O")
    #expect((0 ..< 5).filter { ester.matches(atom: $0, in: target) } == [4])
    #expect(!ester.matches(atom: 99, in: target))
    let carbonyl = try SmartsPattern("C=O")
    #expect((0 ..< 5).filter { carbonyl.matches(atom: $0, in: target) } == [1])
    // In one run, with atoms to skip.
    let methyl = try SmartsPattern("[CH3]")
    #expect(methyl.firstAtomMatches(in: target) == [0, 4])
    #expect(methyl.firstAtomMatches(in: target, skip: [true, false, false, false, false]) == [4])
    #expect(try SmartsPattern("[CH3]N").firstAtomMatches(in: target).isEmpty)
    // Crippen-style typing on ethanol with explicit hydrogens: every atom gets its first type.
    let ethanol = SmartsTarget(SmartsInteropTests.addingHydrogens(try Smiles.read("CCO")))
    let types = [("C1", "[CH3]C"), ("C3", "[CH2X4]([N,O,P,S,F,Cl,Br,I])[A;!#1]"), ("H1", "[#1][#6,#1]"), ("H2", "[#1]O[CX4,c]"),
                 ("O2", "[OH,OH2]")]
    var typed = [String?](repeating: nil, count: ethanol.atomCount)
    for (label, smarts) in types {
      for a in try SmartsPattern(smarts).firstAtomMatches(in: ethanol, skip: typed.map { $0 != nil }) { typed[a] = label }
    }
    #expect(typed == ["C1", "C3", "O2", "H1", "H1", "H1", "H1", "H1", "H2"])
  }

  /// Hydrogens as graph atoms (Crippen's view): `H` counts them, `D` and `X` include them.
  @Test func explicitHydrogenAtomsCountAsNeighbours() throws {
    let plain = try Smiles.read("CO")
    let withH = SmartsInteropTests.addingHydrogens(plain)
    #expect(withH.atoms.count == 6)
    let t = SmartsTarget(withH)
    #expect(try SmartsPattern("[CH3]").countUniqueMatches(in: t) == 1)
    #expect(try SmartsPattern("[OH1]").countUniqueMatches(in: t) == 1)
    #expect(try SmartsPattern("[CD4]").countUniqueMatches(in: t) == 1)
    #expect(try SmartsPattern("[CX4]").countUniqueMatches(in: t) == 1)
    #expect(try SmartsPattern("[Cv4]").countUniqueMatches(in: t) == 1)
    #expect(try SmartsPattern("[#1]O[CX4,c]").countUniqueMatches(in: t) == 1)
    #expect(try SmartsPattern("[#1][#6,#1]").countUniqueMatches(in: t) == 3)
    #expect(try SmartsPattern("[H]").countUniqueMatches(in: t) == 4)
    #expect(try SmartsPattern("*").countUniqueMatches(in: t) == 6)
    #expect(try SmartsPattern("[A;!#1]").countUniqueMatches(in: t) == 2)
    let p = SmartsTarget(plain)
    #expect(try SmartsPattern("[CD1]").countUniqueMatches(in: p) == 1)
    #expect(try SmartsPattern("[H]").countUniqueMatches(in: p) == 0)
  }

  /// A pattern with astronomically many embeddings stops at the step budget, says so, and
  /// leaves the target usable.
  @Test func stepBudgetStopsBlowUp() throws {
    let cage = try Smiles.read(
      "C12=C3C4=C5C6=C1C7=C8C9=C1C%10=C%11C(=C29)C3=C2C3=C4C4=C5C5=C9C6=C7C6=C7C8=C1C1=C8C%10=C%10C%11=C2C2=C3C3=C4C4=C5C5=C%11C%12=C(C6=C95)C7=C1C1=C%12C5=C%11C4=C3C3=C5C(=C81)C%10=C23")
    #expect(cage.atoms.count == 60)
    let target = SmartsTarget(cage)
    let chain = try SmartsPattern(Array(repeating: "*", count: 16).joined(separator: "~"))
    let clock = ContinuousClock()
    let start = clock.now
    let r = chain.matchResult(in: target, unique: true, maxMatches: 1_000_000, stepLimit: 200_000)
    #expect(!r.complete)
    #expect(clock.now - start < .seconds(5))
    #expect(try SmartsPattern("c1ccccc1").countUniqueMatches(in: target) == 20)
    #expect(try SmartsPattern("c1cccc1").countUniqueMatches(in: target) == 12)
  }

  static let fuzzMolecules = [
    "CC(=O)Oc1ccccc1C(=O)O", "c1ccc2c(c1)[nH]c1ccccc12", "C1CC2CCC1C2", "[Na+].[O-]C(=O)C", "FC(F)(F)C#N",
    "O=S(=O)(N)c1ccc(Cl)cc1", "C[N+](C)(C)CC(=O)[O-]", "[2H]C([2H])([2H])O", "C1CC1C2CC2", "c1cc[se]c1",
  ]

  /// Mutated reference patterns and random byte strings: parse or fail with a position inside
  /// the string, never crash; whatever parses matches every test molecule in bounded time, with
  /// consistent answers (matches, counts, first match, anchored matches).
  @Test func fuzzedPatternsNeverCrashOrHang() throws {
    let seed = TestSupport.fuzzSeed(default: 20261205)
    var rng = SplitMix64(seed: seed)
    let reference = try SmartsInteropTests.referencePatterns().all.map { Array($0.utf8) }
    let alphabet = Array("CNOSPFIBrclnosp*aAHDXRrvx#$()[]!&,;:@=-~+0123456789%./\\".utf8)
    var targets = try Self.fuzzMolecules.map { SmartsTarget(try Smiles.read($0)) }
    targets.append(SmartsTarget(SmartsInteropTests.addingHydrogens(try Smiles.read("CC(=O)Oc1ccccc1C(=O)O"))))
    var parsed = 0, refused = 0, slowest = Duration.zero
    let clock = ContinuousClock()
    for round in 0 ..< 30000 {
      var bytes: [UInt8]
      switch round % 3 {
      case 0, 1:
        bytes = reference[rng.below(reference.count)]
        for _ in 0 ... rng.below(2) {
          let at = rng.below(bytes.count + 1)
          switch rng.below(5) {
          case 0: if at < bytes.count { bytes.remove(at: at) }
          case 1: bytes.insert(alphabet[rng.below(alphabet.count)], at: at)
          case 2: if at < bytes.count { bytes[at] = alphabet[rng.below(alphabet.count)] }
          case 3:
            let from = rng.below(bytes.count + 1)
            let slice = bytes[min(at, from) ..< max(at, from)]
            bytes.insert(contentsOf: slice.prefix(24), at: at)
          default: bytes = Array(bytes.prefix(at))
          }
        }
      default:
        let all = rng.below(4) == 0
        bytes = (0 ..< rng.below(40)).map { _ in all ? UInt8(rng.below(256)) : alphabet[rng.below(alphabet.count)] }
      }
      let text = String(decoding: bytes, as: UTF8.self)
      let pattern: SmartsPattern
      do {
        pattern = try SmartsPattern(text)
      } catch {
        refused += 1
        #expect(error.position >= 0 && error.position <= text.utf8.count, "\(text): \(error)")
        continue
      }
      parsed += 1
      let start = clock.now
      for target in targets {
        let r = pattern.matchResult(in: target, unique: true, maxMatches: 500, stepLimit: 100_000)
        guard r.complete else { continue }
        #expect(pattern.countUniqueMatches(in: target, maxMatches: 500) == r.matches.count, "\(text)")
        #expect(pattern.hasMatch(in: target) == !r.matches.isEmpty, "\(text)")
        for m in r.matches {
          #expect(m.count == pattern.atomCount && Set(m).count == m.count, "\(text): \(m)")
        }
        let all = pattern.matchResult(in: target, unique: false, maxMatches: 500, stepLimit: 100_000)
        let firstAtoms = Set(all.matches.map { $0[0] })
        if all.complete && all.matches.count < 500 {
          // The anchored plan (from atom 0) and the free plan (from the most selective atom)
          // agree on where pattern atom 0 can go.
          for a in 0 ..< target.atomCount {
            #expect(pattern.matches(atom: a, in: target) == firstAtoms.contains(a), "\(text) at atom \(a)")
          }
          #expect(pattern.firstAtomMatches(in: target) == firstAtoms.sorted(), "\(text)")
        }
      }
      slowest = max(slowest, clock.now - start)
    }
    print("SMARTS fuzz: seed \(seed), 30000 inputs, \(parsed) parsed and matched on \(targets.count) molecules, \(refused) refused; slowest pattern \(slowest)")
    #expect(parsed > 500)
    #expect(slowest < .seconds(5))
  }

  /// A pattern and molecule too large for the per-run caches (pattern atoms x molecule atoms
  /// over 4M entries) are matched without them, with the same answers.
  @Test func largePatternOnLargeMoleculeRunsWithoutCaches() throws {
    let chain = try Smiles.read(String(repeating: "C", count: 4200), limits: MoleculeLimits(maxAtoms: 10_000))
    let long = try SmartsPattern(String(repeating: "C", count: 999) + "[CH3]")
    #expect(long.atomCount * chain.atoms.count > 1 << 22)
    let target = SmartsTarget(chain)
    #expect(long.countUniqueMatches(in: target) == 2)
    #expect(try SmartsPattern("[CH3]CC").countUniqueMatches(in: target) == 2)
  }

  /// Long and deep patterns: parsing and planning have no recursion and no quadratic step, so
  /// 100,000-atom chains, 50,000 nested branches and thousands of open ring closures parse and
  /// match in bounded time.
  @Test func hugePatternsParseAndMatchInBoundedTime() throws {
    let clock = ContinuousClock()
    let start = clock.now
    let target = SmartsTarget(try Smiles.read("CC(=O)Oc1ccccc1C(=O)O"))
    let chain = try SmartsPattern(String(repeating: "C", count: 100_000))
    #expect(chain.atomCount == 100_000)
    #expect(chain.countUniqueMatches(in: target) == 0)
    let nested = try SmartsPattern(String(repeating: "C(", count: 50_000) + "C" + String(repeating: ")", count: 50_000))
    #expect(nested.atomCount == 50_001)
    #expect(!nested.hasMatch(in: target))
    var rings = "C"
    for k in 0 ..< 5000 { rings += "%(\(k + 10))" }
    rings += "C"
    #expect(throws: SmartsError.self) { try SmartsPattern(rings) }
    let unclosed = String(repeating: "[", count: 10_000)
    #expect(throws: SmartsError.self) { try SmartsPattern(unclosed) }
    #expect(clock.now - start < .seconds(20))
  }

  @Test func emptyMoleculeAndZeroMaxMatches() throws {
    let empty = SmartsTarget(Molecule())
    let p = try SmartsPattern("[$(C=O)]C")
    #expect(p.countUniqueMatches(in: empty) == 0)
    #expect(!p.hasMatch(in: empty))
    #expect(p.firstMatch(in: empty) == nil)
    #expect(p.firstAtomMatches(in: empty).isEmpty)
    #expect(!p.matches(atom: 0, in: empty))
    let acetone = SmartsTarget(try Smiles.read("CC(C)=O"))
    #expect(p.countUniqueMatches(in: acetone) == 2)
    #expect(p.matches(in: acetone, maxMatches: 0).isEmpty)
    #expect(p.matches(in: acetone, maxMatches: -3).isEmpty)
    #expect(p.matches(in: acetone, maxMatches: 1).count == 1)
  }
}
