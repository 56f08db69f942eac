import Foundation
import TagdataIO
import TestSupport
import Testing
@testable import TagdataChem

/// Murcko scaffolds: expected values are RDKit 2026.09's `MurckoScaffold.GetScaffoldForMol` and
/// `MakeScaffoldGeneric` of the same input, compared through our canonical SMILES.
@Suite struct ScaffoldTests {
  func scaffold(_ s: String) throws -> String { Scaffold.murckoSmiles(try Smiles.read(s)) }
  func generic(_ s: String) throws -> String { Scaffold.genericMurckoSmiles(try Smiles.read(s)) }

  @Test(arguments: [
    ("CCc1ccccc1", "c1ccccc1"),
    ("Cc1cc(Oc2nccc(CCC)c2)ccc1", "c1ccc(Oc2ccccn2)cc1"),
    ("O=C(c1ccccc1)c1ccccc1", "O=C(c1ccccc1)c1ccccc1"),
    ("CC(=O)c1ccccc1", "c1ccccc1"),
    ("O=C1CCCCC1", "O=C1CCCCC1"),
    ("C=C1CCCCC1", "C=C1CCCCC1"),
    ("CC=C1CCCCC1", "C=C1CCCCC1"),
    ("ON=C1CCCCC1", "N=C1CCCCC1"),
    ("O=S1(=N)CCCC1", "N=S1(=O)CCCC1"),
    ("c1ccccc1S(=O)(=O)c1ccccc1", "O=S(=O)(c1ccccc1)c1ccccc1"),
    ("CS(=O)(=O)c1ccccc1", "c1ccccc1"),
    ("O=[N+]([O-])c1ccccc1", "c1ccccc1"),
    ("C1CC1C(=O)C(=O)C1CC1", "O=C(C(=O)C1CC1)C1CC1"),
    ("C1CC1C(C)(C)C1CC1", "C1CC1CC1CC1"),
    ("c1ccccc1C#Cc1ccccc1", "C(#Cc1ccccc1)c1ccccc1"),
    ("N#Cc1ccccc1", "c1ccccc1"),
    ("CC1=CC(=O)C=CC1=O", "O=C1C=CC(=O)C=C1"),
    ("CCO.c1ccccc1C", "c1ccccc1"),
    ("c1ccccc1.c1ccncc1", "c1ccccc1.c1ccncc1"),
    ("[Na+].[O-]C(=O)c1ccccc1", "c1ccccc1"),
    // Hydrogens of atoms that lost a substituent.
    ("Cn1cccc1", "c1cc[nH]c1"),
    ("CN1C=CC=C1", "c1cc[nH]c1"),
    ("Cn1c(=O)cccc1", "O=c1cccc[nH]1"),
    ("C[n+]1ccccc1", "c1cc[nH+]cc1"),
    ("[O-][n+]1ccccc1", "c1cc[nH+]cc1"),
    ("C[NH+]1CCCC1", "C1CC[NH2+]C1"),
    ("C[N+]1(C)CCCC1", "C1CC[NH2+]C1"),
    ("C[B-]1(C)OCCO1", "[BH2-]1OCCO1"),
    ("C[Si]1(C)CCCC1", "C1CC[SiH2]C1"),
    ("CP1(=O)CCCC1", "O=[PH]1CCCC1"),
    ("CS1(=O)=NCCC1", "O=[SH]1=NCCC1"),
    ("C[S+]1CCCC1", "C1CC[SH+]C1"),
    ("C[C]1CCCC1", "[CH]1CCCC1"),
    ("N1CC[S@](C1)C", "C1C[SH]CN1"),
    ("C1=[S+](C=C1)C", "C1=C[SH+]=C1"),
    ("C[P]1(C)CCCC1", "C1CC[P]C1"),
    ("C1C(=[S+]C)CCC1", "[S+]=C1CCCC1"),
    ("C1C(=[SH+]C)CCC1", "[SH+]=C1CCCC1"),
    ("C1(=[N+]O)CCCC1", "[N+]=C1CCCC1"),
    ("C1C(=[C]O)CCC1", "[C]=C1CCCC1"),
    ("C[13c]1ccccc1", "c1cc[13cH]cc1"),
    ("[13CH3]c1ccccc1", "c1ccccc1"),
    // Stereo: centres that lost a neighbour lose their configuration.
    ("C[C@H]1CCC[C@@H](C)C1", "C1CCCCC1"),
    ("F[C@H]1CC[C@@H](c2ccccc2)CC1", "c1ccc(C2CCCCC2)cc1"),
    ("C[C@@]1(O)C[C@H]2CC[C@@H]1C2", "C1C[C@H]2CC[C@@H]1C2"),
    ("C1CC1C[S@](=O)[C@@H](C1CC1)c1ccccc1", "O=[S@@](CC1CC1)[C@H](c1ccccc1)C1CC1"),
    ("C[S@](=O)c1ccccc1", "c1ccccc1"),
    ("c1ccccc1/C=C/c1ccccc1", "C(=C/c1ccccc1)\\c1ccccc1"),
    ("C1CC1/N=N/C1CC1", "C1CC1/N=N/C1CC1"),
    // A cut substituent of lower priority: the configuration is restated on the kept one.
    ("C/C(c1ccccc1)=C(/C)c1ccccc1", "C(=C/c1ccccc1)\\c1ccccc1"),
    ("C\\C(c1ccccc1)=C/c1ccccc1", "C(=C/c1ccccc1)\\c1ccccc1"),
    // A cut substituent of higher priority (RDKit's reference atom): the configuration goes.
    ("N/C(c1ccccc1)=C/c1ccccc1", "C(=Cc1ccccc1)c1ccccc1"),
    ("[N+](=C/c1cccs1)(/[O-])c1ccccc1", "C(=[NH+]c1ccccc1)c1cccs1"),
    ("OC(=O)/C(c1ccccc1)=C/c1ccccc1", "C(=Cc1ccccc1)c1ccccc1"),
    // Dative bonds: a metal chelated by one ring system, or by two ring systems bonded directly,
    // is no linker; one between two rings through other atoms is.
    ("Cl[Pt](Cl)(Cl)(Cl)1[NH2][C@@H]2CCCC[C@H]2[NH2]1", "C1CCCCC1"),
    ("C[P](C)(c1ccccc1)->[Re]<-[P](C)(C)c1ccccc1", "c1ccc([PH2]->[Re]<-[PH2]c2ccccc2)cc1"),
    // (RDKit gives the n that lost its dative bond an H, and then cannot kekulize its own
    // scaffold; a donor loses no valence with a dative bond, so ours keeps the pyridines.)
    ("[Ti]1(N(C)C)(N(C)C)<-n2ccccc2-c2cccc[n]->12", "c1ccc(-c2ccccn2)nc1"),
  ])
  func scaffoldsAsRDKit(input: String, expected: String) throws {
    #expect(try scaffold(input) == (try canon(expected)), "\(input)")
  }

  /// An atom without a valence model (a metal) that lost a neighbour is left without hydrogens,
  /// as RDKit leaves it (its scaffold of `[H][Co]...` has `[Co]`).
  @Test func metalsThatLostANeighbourKeepNoHydrogens() throws {
    #expect(try scaffold("Cl[CoH]1c2ccccc2-c2ccccc21") == (try canon("c1ccc2c(c1)-c1ccccc1[Co]2")))
    #expect(try scaffold("[CoH]1c2ccccc2-c2ccccc21") == (try canon("[CoH]1c2ccccc2-c2ccccc21")))
  }

  @Test func moleculesWithoutRingsHaveTheEmptyScaffold() throws {
    for s in ["CCCC", "C[N+]#[C-]", "[Na+].[Cl-]", "O", "CC(=O)O.CCN"] {
      #expect(try scaffold(s) == "", "\(s)")
      #expect(try generic(s) == "", "\(s)")
      #expect(Scaffold.murcko(try Smiles.read(s)).atoms.isEmpty)
    }
  }

  @Test(arguments: [
    ("c1ccccc1", "C1CCCCC1"),
    ("c1ncccc1", "C1CCCCC1"),
    ("c1[nH]ccc1", "C1CCCC1"),
    ("C1[NH2+]C1", "C1CC1"),
    ("C1[C@](Cl)(F)O1", "C1CC1"),
    ("O=C1CCCCC1", "CC1CCCCC1"),
    ("O=S1(=N)CCCC1", "CC1(C)CCCC1"),
    ("c1ccccc1/C=C/c1ccccc1", "C1CCC(CCC2CCCCC2)CC1"),
    ("C[C]1CCCC1", "[CH]1CCCC1"),
    ("C[13c]1ccccc1", "C1CCCCC1"),
    // RDKit's reader gives odd-valence bracket atoms unpaired electrons; its generic carbon keeps them.
    ("[I]1C2=C(C=CC=C2)C3=C1C=CC=C3", "[CH]1C2CCCCC2C2CCCCC12"),
    ("N1CC[S@](C1)C", "C1C[CH]CC1"),
  ])
  func genericScaffoldsAsRDKit(input: String, expected: String) throws {
    #expect(try generic(input) == (try canon(expected)), "\(input)")
  }

  /// Every scaffold of the shipped SMILES files is a valid molecule: its SMILES reads back and
  /// writes the same string, and the scaffold of a scaffold is itself.
  /// A scaffold keeps every ring of its molecule: carrying the molecule's rings over gives what
  /// perceiving them anew gives (ring bonds, rings and their atoms in order, the written SMILES),
  /// on the corpora's SMILES and every sixth ChEMBL one.
  @Test func carriedRingsAreThePerceivedOnes() throws {
    var lines: [String] = []
    for url in TestSupport.corpusFiles("smiles") where url.pathExtension == "smi" { lines += try RDKitInteropTests.lines(url) }
    let chembl = try TestSupport.shell("gzip -dc '\(TestSupport.corpus("smiles/nextmove_chembl.smi.gz").path)'")
    lines += chembl.stdout.split(whereSeparator: \.isNewline).enumerated().filter { $0.offset % 6 == 0 }.map { String($0.element) }
    var checked = 0, carried = 0
    for line in lines {
      let s = ScaffoldInteropTests.firstField(line)
      guard !s.isEmpty, let mol = try? Smiles.read(s) else { continue }
      checked += 1
      let fast = Scaffold.murcko(mol), slow = Scaffold.murcko(mol, perceiveRings: true)
      if !fast.ringBonds.isEmpty { carried += 1 }
      #expect(fast.ringBonds == slow.ringBonds, "\(s)")
      #expect(fast.ringAtoms == slow.ringAtoms, "\(s)")
      #expect(fast.bonds.map(\.inRing) == slow.bonds.map(\.inRing), "\(s)")
      #expect(SmilesWriter().write(fast) == SmilesWriter().write(slow), "\(s)")
    }
    #expect(checked > 10_000 && carried > 8_000, "\(checked) checked, \(carried) with rings")
  }

  @Test func scaffoldsAreSanitizedMoleculesAndIdempotent() throws {
    var checked = 0, nonEmpty = 0
    for url in TestSupport.corpusFiles("smiles") where url.pathExtension == "smi" {
      for line in try RDKitInteropTests.lines(url) {
        let s = ScaffoldInteropTests.firstField(line)
        guard !s.isEmpty, let mol = try? Smiles.read(s) else { continue }
        checked += 1
        let scaffold = Scaffold.murcko(mol)
        // A generic framework with a carbon of more than four bonds (a metal centre made carbon)
        // is no molecule; RDKit's MakeScaffoldGeneric fails on those.
        let generic = Scaffold.generic(scaffold)
        let genericValid = !generic.adjacency.contains { $0.count > 4 }
        for (k, m) in [scaffold, generic].enumerated() where !m.atoms.isEmpty && (k == 0 || genericValid) {
          nonEmpty += 1
          let text = SmilesWriter().write(m)
          let again = try? Smiles.read(text)
          #expect(again != nil, "\(s): scaffold \(text) does not read back")
          guard let again else { continue }
          // The same atoms with the same hydrogens (aromaticity may be perceived anew on reading:
          // a ring whose substituents kept it from being aromatic, as RDKit keeps it too).
          #expect(again.atoms.map(\.element).sorted() == m.atoms.map(\.element).sorted(), "\(s): \(text)")
          #expect(again.atoms.map(\.hydrogens).reduce(0, +) == m.atoms.map(\.hydrogens).reduce(0, +), "\(s): \(text)")
          #expect(again.atoms.map(\.charge) .reduce(0, +) == m.atoms.map(\.charge).reduce(0, +), "\(s): \(text)")
          let canonicalAgain = SmilesWriter().write(again)
          if k == 0 { #expect(Scaffold.murckoSmiles(again) == canonicalAgain, "\(s): the scaffold of \(text) is not itself") }
        }
      }
    }
    #expect(checked > 2500)
    #expect(nonEmpty > 4000)
  }

  /// Linear time, no recursion: a 200,000-atom chain between two rings, and a 100,000-branch
  /// comb, each in well under the time a quadratic pass would take.
  @Test func largeMoleculesInLinearTime() throws {
    let chain = "c1ccccc1" + String(repeating: "C", count: 200_000) + "c1ccccc1"
    let start = Date()
    let scaffold = Scaffold.murcko(try Smiles.read(chain))
    #expect(scaffold.atoms.count == 200_012)
    var comb = "C1CC1"
    for _ in 0..<50_000 { comb += "C(CC)" }
    comb += "C1CC1"
    let s2 = Scaffold.murcko(try Smiles.read(comb))
    #expect(s2.atoms.count == 6 + 50_000)
    #expect(Date().timeIntervalSince(start) < 60)
  }

  /// Mutated real SMILES (random tokens inserted, deleted, replaced): every molecule the reader
  /// accepts has a scaffold that reads back as the same atoms, whose own scaffold is itself, and
  /// a fingerprint; nothing crashes. The seed is printed (TAGDATA_FUZZ_SEED replays it).
  @Test func mutatedInputsHaveValidScaffolds() throws {
    let seed = TestSupport.fuzzSeed(default: 17)
    var rng = SplitMix64(seed: seed)
    let text = try Data(contentsOf: TestSupport.corpus("smiles/rdkit_canonSmiles.smi"))
    let real = Array(text).split(separator: 0x0A).map { Array($0.prefix { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) }.filter { !$0.isEmpty }
    let tokens: [[UInt8]] = ["<-", "->", "=", "#", "(", ")", "[nH]", "[N+]", "[O-]", "1", "2", ".", "/", "\\", "@", "[C@@H]", "[S@]",
                             "c", "n", "o", "s", "C", "N", "O", "[Fe]", "[Pt]", "Cl", "[H]", "[13C]", "[C]", "P"].map { Array($0.utf8) }
    var accepted = 0, withRing = 0, failures: [String] = []
    for _ in 0..<4_000 {
      var bytes = real[rng.below(real.count)]
      for _ in 0..<(1 + rng.below(3)) {
        let at = rng.below(bytes.count + 1)
        switch rng.below(3) {
        case 0: bytes.insert(contentsOf: tokens[rng.below(tokens.count)], at: at)
        case 1: if at < bytes.count { bytes.remove(at: at) }
        default: if at < bytes.count { bytes.replaceSubrange(at...at, with: tokens[rng.below(tokens.count)]) }
        }
      }
      guard let m = try? Smiles.read(bytes: bytes) else { continue }
      accepted += 1
      let input = String(decoding: bytes, as: UTF8.self)
      _ = Fingerprint(m)
      let scaffold = Scaffold.murcko(m)
      let text = SmilesWriter().write(scaffold)
      _ = Scaffold.genericMurckoSmiles(m)
      if text.isEmpty { continue }
      withRing += 1
      guard let again = try? Smiles.read(text) else {
        failures.append("\(input) -> \(text) does not read back")
        continue
      }
      if again.atoms.map(\.element).sorted() != scaffold.atoms.map(\.element).sorted()
        || again.atoms.map(\.hydrogens).reduce(0, +) != scaffold.atoms.map(\.hydrogens).reduce(0, +)
      {
        failures.append("\(input) -> \(text) reads back as other atoms")
      }
      let canonicalAgain = SmilesWriter().write(again)
      if Scaffold.murckoSmiles(again) != canonicalAgain { failures.append("\(input) -> \(text): not its own scaffold") }
    }
    print("scaffolds of mutated inputs (seed \(seed)): \(accepted) accepted, \(withRing) with a ring, \(failures.count) failures")
    #expect(accepted > 400)
    #expect(failures.isEmpty, "seed \(seed): \(failures.prefix(10).joined(separator: "; "))")
  }
}
