import Foundation
import TagdataIO
import TestSupport
import Testing
@testable import TagdataChem

func canon(_ s: String, isomeric: Bool = true, kekule: Bool = false) throws -> String {
  try Smiles.canonical(s, isomeric: isomeric, kekule: kekule)
}

func fixture(_ name: String) throws -> [[String]] {
  let url = TestSupport.root.appendingPathComponent("Tests/Fixtures/\(name)")
  return String(decoding: try Data(contentsOf: url), as: UTF8.self).split(separator: "\n")
    .filter { !$0.hasPrefix("#") }.dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
}

@Suite struct SmilesParserTests {
  func error(_ s: String) -> SmilesError? {
    do {
      _ = try Smiles.read(s)
      return nil
    } catch {
      return error
    }
  }

  @Test func errorsAreTypedAndLocated() {
    #expect(error("C1CC")?.kind == .unclosedRing([1]))
    #expect(error("C1CC")?.column == 2)
    #expect(error("C(C")?.kind == .unmatchedOpenParenthesis)
    #expect(error("C(C")?.column == 2)
    #expect(error("CC)")?.kind == .unmatchedCloseParenthesis)
    #expect(error("CC)")?.column == 3)
    #expect(error("C11")?.kind == .ringBondToSelf(ring: 1))
    #expect(error("C1C1")?.kind == .duplicateBond(ring: 1))
    #expect(error("[Xx]")?.kind == .unknownElement("Xx"))
    #expect(error("[Xx]")?.column == 2)
    #expect(error("C==C")?.column == 3)
    #expect(error("CFC")?.kind == .valence(atom: 1, symbol: "F", valence: 2))
    #expect(error("c1ccccc1c")?.kind == .aromaticOutsideRing(atom: 6))
    if case .kekulize(let atoms)? = error("c1ccnc1")?.kind { #expect(!atoms.isEmpty) } else { Issue.record("expected kekulize error") }
    #expect(error("C%1")?.column == 2)
    #expect(error("")?.kind == .empty)
    #expect(error("[C@@H](")?.kind == .unmatchedOpenParenthesis)
  }

  /// Every input RDKit rejects in the examples is rejected here, and every input it accepts is
  /// accepted, with the same molecule.
  @Test func acceptsAndRejectsWhatRDKitDoes() throws {
    for row in try fixture("smiles_error_examples.tsv") {
      let (input, result) = (row[0], row[1])
      if result == "None" {
        #expect(error(input) != nil, "\(input) should be rejected")
      } else {
        #expect(try canon(input) == canon(result), "\(input)")
      }
    }
  }

  @Test func readsBracketAtomsInFull() throws {
    let m = try Smiles.read("[13CH3:7][C@@H](F)[O-]")
    #expect(m.atoms[0].isotope == 13)
    #expect(m.atoms[0].atomClass == 7)
    #expect(m.atoms[0].hydrogens == 3)
    #expect(m.atoms[1].chirality != .none)
    #expect(m.atoms[3].charge == -1)
    #expect(try Smiles.read("[Fe++]").atoms[0].charge == 2)
    #expect(try Smiles.read("[Fe+2]").atoms[0].charge == 2)
    #expect(try Smiles.read("C%(123)CC%(123)").bonds.count == 3)
    #expect(try Smiles.read("C1.C1").bonds.count == 1)
    #expect(try Smiles.read("CCO name with blanks").atoms.count == 3)
  }

  @Test func implicitHydrogensFollowTheValenceModel() throws {
    let m = try Smiles.read("CS(=O)(=O)N")
    #expect(m.atoms.map(\.hydrogens) == [3, 0, 0, 0, 2])
    #expect(try Smiles.read("Cn1cccc1").atoms[1].hydrogens == 0)
    #expect(try Smiles.read("[CH2]").atoms[0].radicals == 2)
  }
}

@Suite struct CanonicalSmilesTests {
  /// Each example's input and RDKit's canonical output (aromatic and Kekulé) are the same
  /// molecule, so all three must give one canonical string; and canonical output is a fixed
  /// point. The share identical to RDKit's string is printed (a report, not a condition).
  @Test func equivalentWritingsGiveOneString() throws {
    var identical = 0
    let rows = try fixture("canonical_smiles_examples.tsv")
    for row in rows {
      let c = try canon(row[0])
      #expect(try canon(row[1]) == c, "\(row[0]) vs RDKit's \(row[1])")
      #expect(try canon(row[2]) == c, "\(row[0]) vs RDKit's Kekulé \(row[2])")
      #expect(try canon(c) == c, "not idempotent: \(row[0]) -> \(c)")
      if c == row[1] { identical += 1 }
    }
    print("canonical SMILES identical to RDKit's: \(identical) of \(rows.count)")
  }

  /// Literal expected strings: our exact output, checked to be the same molecule as RDKit's
  /// canonical SMILES (RDKit 2026.09 reads both to one string), and the aromatic atoms, in
  /// input order, as RDKit perceives them (MolFromSmiles, GetIsAromatic). Where our string
  /// differs from RDKit's, RDKit's is given in the comment.
  @Test(arguments: [
    ("C1=CC=CC=C1", "c1ccccc1", "111111"),
    ("OCC", "CCO", "000"),
    ("C1=CC2=CC=CC=CC2=C1", "c1ccc2cccc-2cc1", "1111111111"),  // azulene: aromatic as a 10-electron system
    ("C1=CC=CC=CC=C1", "C1=CC=CC=CC=C1", "00000000"),  // cyclooctatetraene stays aliphatic
    ("O=C1C=CC(=O)C=C1", "O=C1C=CC(=O)C=C1", "00000000"),  // benzoquinone stays aliphatic
    ("C1=CC=C[CH+]C=C1", "c1ccc[cH+]cc1", "1111111"),  // tropylium
    // phenalene: partly aliphatic (RDKit writes C1=Cc2cccc3cccc1c23)
    ("c1cc2cccc3ccc(c1)c23", "c1cc2c3c(cccc3c1)C=C2", "111111100111"),
    ("F[C@H](F)Cl", "FC(F)Cl", "0000"),  // not a stereocentre
    ("C1/C=C\\CCCCC1", "C1=C\\CCCCCC/1", "00000000"),  // cis double bond in an 8-ring keeps its stereo
    ("C1/C=C\\CCCC1", "C1=CCCCCC1", "0000000"),  // ... but not in a 7-ring
    ("[Na+].[O-]C(=O)C", "CC([O-])=O.[Na+]", "00000"),  // RDKit: CC(=O)[O-].[Na+]
    ("c1ccc2[nH]ccc2c1", "c1ccc2[nH]ccc2c1", "111111111"),  // indole
    ("O=c1cc[nH]cc1", "O=c1cc[nH]cc1", "0111111"),  // 4-pyridone: aromatic in RDKit's model
  ])
  func knownOutputs(input: String, expected: String, aromatic: String) throws {
    #expect(try canon(input) == expected, "\(input)")
    #expect(try canon(expected) == expected, "\(expected) is not a fixed point")
    let flags = String(try Smiles.read(input).atoms.map { $0.aromatic ? "1" : "0" })
    #expect(flags == aromatic, "\(input): aromatic atoms")
  }

  /// A `/` `\\` mark written on an explicit [H] sets its double bond (RDKit reads these the same
  /// way): on a carbon it stands for the opposite mark on the other substituent; on an imine N
  /// the H stays, since nothing else can carry the configuration.
  @Test func marksOnExplicitHydrogens() throws {
    #expect(try canon("[H]/C(F)=C/F") == canon("F/C=C\\F"))
    #expect(try canon("F/C(/[H])=C/F") == canon("F/C=C/F"))
    #expect(try canon("[H]/N=C/C") == "[H]/N=C/C")
    #expect(try canon("C/C=N/[H]") == "[H]/N=C/C")
    #expect(try canon("[H]/N=C\\C") != "[H]/N=C/C")
    #expect(try canon("[H]/N=C(C)C") == "CC(C)=N")  // not stereo: the H folds
  }

  /// A double bond of unknown configuration between two stereo double bonds cannot be written in
  /// plain SMILES (the shared marks set it for every reader); the CXSMILES `ctu` field says so.
  /// Other fields of the block are skipped; the name after the block is not part of the SMILES.
  @Test func unknownConfigurationInCXSmiles() throws {
    // Bonds in order of appearance: 0 C-C, 1 C=C, 2 C-C, 3 C=C, ...
    let middleUnknown = try canon("C/C=C/C=C/C=C/C |ctu:3|")
    #expect(middleUnknown == "C/C=C/C=C/C=C/C |ctu:3|")
    #expect(try canon(middleUnknown) == middleUnknown)
    #expect(try canon("C/C=C/C=C/C=C/C") == "C/C=C/C=C/C=C/C")
    #expect(try canon("C/C=C/C=C/C=C/C |ctu:1|") == "CC=C/C=C/C=C/C")  // an end bond needs no field
    #expect(try canon("C/C=C/C=C/C=C/C |c:1,ctu:3,5,(1.0,2.0,;;)|") == "CC=CC=C/C=C/C")
    #expect(try canon("C/C=C/C=C/C=C/C.CC |ctu:3|") == "C/C=C/C=C/C=C/C.CC |ctu:3|")
    #expect(try canon("CC.C/C=C/C=C/C=C/C |ctu:4|") == "C/C=C/C=C/C=C/C.CC |ctu:3|")
    #expect(throws: SmilesError.self) { try canon("C/C=C/C=C/C=C/C |ctu:2|") }
    #expect(throws: SmilesError.self) { try canon("C/C=C/C=C/C=C/C |ctu:x|") }
    #expect(SmilesParser.recordLength(Array("C/C=C/C |ctu:1| name".utf8)) == 15)
    #expect(SmilesParser.recordLength(Array("CCO name".utf8)) == 3)
    #expect(SmilesParser.recordLength(Array("CCO |unclosed".utf8)) == 3)
  }

  /// Square-planar stereo is kept: cis and trans isomers stay apart, equivalent writings of one
  /// isomer give one string (expected strings are RDKit's, where RDKit's are unique).
  @Test func squarePlanarStereo() throws {
    let cis = try canon("N[Pt@SP1](N)(Cl)Cl")
    let trans = try canon("N[Pt@SP2](N)(Cl)Cl")
    #expect(cis != trans)
    #expect(try canon("N[Pt@SP3](N)(Cl)Cl") == cis)
    #expect(try canon("Cl[Pt@SP2](N)(Cl)N") == cis)
    #expect(try canon("N[Pt@SP1](Cl)(N)Cl") == trans)
    #expect(try canon("Cl[Pt@SP1](Br)(I)F") == "[F][Pt@SP1]([Cl])([Br])[I]")
    #expect(try canon("Cl[Pt@SP2](Br)(I)F") == "[F][Pt@SP3]([Cl])([Br])[I]")
    #expect(try canon("Cl[Pt@SP3](Br)(I)F") == "[F][Pt@SP2]([Cl])([Br])[I]")
    #expect(try canon("Cl[Pt@SP1](Cl)(Cl)Cl") == "[Cl][Pt]([Cl])([Cl])[Cl]")
  }

  @Test func options() throws {
    #expect(try canon("C[C@H](N)C(=O)O", isomeric: false) == canon("CC(N)C(=O)O"))
    #expect(try canon("[13CH4]", isomeric: false) == "C")
    let k = try canon("c1ccccc1O", kekule: true)
    #expect(!k.contains("c"))
    #expect(try canon(k) == canon("c1ccccc1O"))
  }

  @Test func kekuleOutputIsCanonicalToo() throws {
    for s in ["c1ccc2ccccc2c1", "Cn1c(=O)c2c(ncn2C)n(C)c1=O", "c1ccc2c(c1)[nH]c1ccccc12"] {
      let m = try Smiles.read(s)
      let reference = SmilesWriter(kekule: true).write(m)
      let seed = TestSupport.fuzzSeed(default: 41)
      var rng = SeededGenerator(seed: seed)
      for _ in 0..<20 { #expect(SmilesWriter(kekule: true).write(Shuffle.molecule(m, using: &rng)) == reference, "\(s) (seed \(seed))") }
    }
  }

  /// Random atom orders of real molecules give the same canonical string. The last ones are
  /// regular enough that refinement alone leaves atoms tied that are not symmetric (cage atoms;
  /// a ring atom and a chain atom with alike surroundings), which the ring split separates.
  @Test func invariantToAtomOrder() throws {
    let smiles = ["CC(=O)Oc1ccccc1C(=O)O", "Cn1c(=O)c2c(ncn2C)n(C)c1=O", "OC[C@@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O",
                  "C/C=C/C(=O)N[C@@H](Cc1ccc(O)cc1)C(=O)O", "O[C@H]1CC[C@@H](O)CC1",
                  "CN1C2C3N(C)C1C1N(C)C(C(N3C)N1C)N2C", "C1CCN(CCCCCN2CCCCC2)CC1", "C1CC2C3C1C1C4CCC(C21)C34"]
    let seed = TestSupport.fuzzSeed(default: 42)
    var rng = SeededGenerator(seed: seed)
    for s in smiles {
      let reference = try canon(s)
      let m = try Smiles.read(s)
      for _ in 0..<20 {
        let shuffled = Shuffle.molecule(m, using: &rng)
        #expect(SmilesWriter().write(shuffled) == reference, "\(s) (seed \(seed))")
      }
    }
  }
}

/// Ring perception (and with it aromaticity) must not depend on atom order: a cage has several
/// equally short cycles through a bond, and keeping only the one a search meets first made a
/// fullerene adduct (PubChem CID 42603599, in the shipped hard set) come out with or without
/// aromatic faces depending on how the input was numbered.
@Suite struct RingPerceptionTests {
  @Test(arguments: [
    "C12C3C4C1C5C2C3C45",  // cubane: six faces, five independent
    // a porphyrin-fullerene adduct
    "O=C(O)CCCNc1ccc(-c2c3nc(c(-c4ccc(NCCCC(=O)O)c(C(=O)O)c4C(=O)O)c4ccc([nH]4)c(-c4ccc(NCCCC(=O)O)c(C(=O)O)c4C(=O)O)c4nc(c(-c5ccc(NCCCC(=O)O)c(C(=O)O)c5C(=O)O)c5ccc2[nH]5)C=C4C2=CCC45c6c7c8c4c4c9c%10c%11c%12c(c%13c6c6c%14c%13c%13c%12c%12c%15c%11c%11c9c9c4c4c8c8c%16c7c6c6c%16c7c%16c8c4c4c9c8c%11c%15c9c%11c%12c%13c%12c%14c6c6c%12c%11c%11c9c8c4c%16c%11c76)C5%10C2)C=C3)c(C(=O)O)c1C(=O)O",
  ])
  func ringsDoNotDependOnAtomOrder(smiles: String) throws {
    let reference = try canon(smiles)
    let graph = try SmilesParser.parseGraph(smiles)
    let seed = TestSupport.fuzzSeed(default: 43)
    var rng = SeededGenerator(seed: seed)
    for _ in 0..<10 {
      let shuffled = try Sanitizer.sanitize(Shuffle.molecule(graph, using: &rng))
      #expect(SmilesWriter().write(shuffled) == reference, "seed \(seed)")
    }
  }
}

/// SplitMix64 as a `RandomNumberGenerator`: fuzz tests draw from a fixed, printed seed
/// (``TestSupport/fuzzSeed(default:_:)``), so any failure can be repeated.
struct SeededGenerator: RandomNumberGenerator {
  var state: SplitMix64
  init(seed: UInt64) { state = SplitMix64(seed: seed) }
  mutating func next() -> UInt64 { state.next() }
}

/// Renumbers atoms and reorders bonds, keeping the molecule (stereo orders follow the atoms).
enum Shuffle {
  static func molecule<G: RandomNumberGenerator>(_ m: Molecule, using rng: inout G) -> Molecule {
    let perm = Array(m.atoms.indices).shuffled(using: &rng)  // new index -> old index
    var newIndex = [Int](repeating: 0, count: m.atoms.count)
    for (n, o) in perm.enumerated() { newIndex[o] = n }
    var out = Molecule()
    for o in perm {
      var a = m.atoms[o]
      a.stereoOrder = a.stereoOrder.map { $0 < 0 ? $0 : newIndex[$0] }
      out.addAtom(a)
    }
    let bondOrder = Array(m.bonds.indices).shuffled(using: &rng)
    var newBond = [Int](repeating: 0, count: m.bonds.count)
    for o in bondOrder {
      var b = m.bonds[o]
      b.a = newIndex[b.a]
      b.b = newIndex[b.b]
      newBond[o] = out.bonds.count
      out.bonds.append(b)
      out.adjacency[b.a].append(newBond[o])
      out.adjacency[b.b].append(newBond[o])
    }
    out.ringBonds = m.ringBonds.map { $0.map { newBond[$0] } }
    out.ringAtoms = m.ringAtoms.map { $0.map { newIndex[$0] } }
    out.doubleBondStereo = m.doubleBondStereo.map {
      DoubleBondStereo(bond: newBond[$0.bond], reference: (newIndex[$0.reference.0], newIndex[$0.reference.1]), trans: $0.trans)
    }
    return out
  }
}

@Suite struct SmilesFuzzTests {
  /// Random byte strings and mutated real SMILES never crash or hang the reader and writer
  /// (100,000 inputs; longer runs: `Scripts/fuzz-smiles`).
  @Test func randomAndMutatedInputs() throws {
    let alphabet = Array("CNOSPFIBrcnospl[]()=#$:/\\@+-.%0123456789H*".utf8)
    let real = try String(decoding: Data(contentsOf: TestSupport.corpus("smiles/rdkit_canonSmiles.smi")), as: UTF8.self)
      .split(separator: "\n").map { Array(($0.split(separator: " ").first?.split(separator: "\t").first ?? "").utf8) }
    let seed = TestSupport.fuzzSeed(default: 20261205)
    var g = SeededGenerator(seed: seed)
    let started = Date()
    var accepted = 0
    let iterations = Int(ProcessInfo.processInfo.environment["TAGDATA_FUZZ_ITERATIONS"] ?? "") ?? 100_000
    for i in 0..<iterations {
      var bytes: [UInt8]
      if i % 2 == 0 {
        bytes = (0..<Int.random(in: 1...30, using: &g)).map { _ in
          Int.random(in: 0..<10, using: &g) == 0 ? UInt8.random(in: 0...255, using: &g) : alphabet.randomElement(using: &g)!
        }
      } else {
        bytes = real.randomElement(using: &g)!
        for _ in 0..<Int.random(in: 1...3, using: &g) where !bytes.isEmpty {
          let at = Int.random(in: 0..<bytes.count, using: &g)
          switch Int.random(in: 0..<3, using: &g) {
          case 0: bytes[at] = alphabet.randomElement(using: &g)!
          case 1: bytes.remove(at: at)
          default: bytes.insert(alphabet.randomElement(using: &g)!, at: at)
          }
        }
      }
      if let m = try? Smiles.read(bytes: bytes) {
        let s = SmilesWriter().write(m)
        #expect(!s.isEmpty || m.atoms.isEmpty, "input \(i) of seed \(seed)")
        accepted += 1
      }
    }
    #expect(accepted > 1000)
    #expect(Date().timeIntervalSince(started) < Double(iterations) / 100_000 * 240)
  }
}

/// Ring-fusion centres (cis/trans-decalin): the two fusion atoms' tied ring neighbours lie in
/// different rings, each holding the other centre; the configuration is real and kept, as RDKit
/// keeps it.
@Suite struct FusedRingStereoTests {
  @Test func cisAndTransDecalinKeepTheirConfigurations() throws {
    let cis = try Smiles.canonical("[C@@H]12CCCC[C@@H]1CCCC2")
    let trans = try Smiles.canonical("[C@@H]12CCCC[C@H]1CCCC2")
    #expect(cis.filter { $0 == "@" }.count >= 2 && trans.filter { $0 == "@" }.count >= 2, "\(cis) \(trans)")
    #expect(cis != trans)
    #expect(try Smiles.canonical(cis) == cis && Smiles.canonical(trans) == trans)
    // Written from another atom, the same molecules.
    #expect(try Smiles.canonical("C1CC[C@H]2CCCC[C@@H]2C1") == trans)
    #expect(try Smiles.canonical("C1CC[C@H]2CCCC[C@H]2C1") == cis)
  }
}

/// `<` is only the start of a dative bond `<-`: alone it is an error, as in RDKit (it was read as
/// `<-`, and the atom after it dropped: `C<CO` became `C<-O`).
@Suite struct DativeBondSyntaxTests {
  @Test func aLoneLessThanIsAnError() throws {
    for bad in ["C<C", "C<CO", "C<"] {
      #expect(throws: SmilesError.self, "\(bad)") { try Smiles.canonical(bad) }
    }
    #expect(try Smiles.canonical("C<-[Fe]") == "[CH3]<-[Fe]")
    #expect(try Smiles.canonical("N->[Fe]") == "[NH3]->[Fe]")
  }
}
