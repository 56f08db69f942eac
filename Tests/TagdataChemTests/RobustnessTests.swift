import Foundation
import TagdataIO
import TestSupport
import Testing
@testable import TagdataChem

/// Canonical SMILES read back to the same canonical SMILES: canon(canon(x)) == canon(x).
@Suite struct CanonicalIdempotenceTests {
  /// Dative bonds are not ring bonds (as in RDKit): a ring closed through one was perceived as
  /// an aromatic ring, written with `[cH2]` or `[nH]`, which the reader then rejected.
  @Test(arguments: [
    ("C(=N)(SCC<-1=CC=CC=C1)N", "N=C(N)SCC1=CC=CC=C->1"),
    ("C1=CN2N=N->N=C2C=C1", "c1ccn2N=N->N=c2c1"),
    ("C1->CC1", "C1C<-C1"),
    ("C<-N", "C<-N"),
    ("c1ccccc1->[Fe]", "[Fe]<-[cH]1ccccc1"),
    // A ring atom accepting a dative bond: the bond counts for its valence when kekulizing too.
    ("NNC(=S)NN->C1=CC=CC=C1", "NNC(=S)NN->c1ccccc1"),
    ("N1=C(N=CC=C1C2C=CC=CC=2)<-Br", "Br->c1nccc(-c2ccccc2)n1"),
    // A triple bond in an aromatic ring is written as one.
    ("CC1=NC(=C(C#[N+]1)C#N)N", "Cc1nc(N)c(C#N)c#[n+]1"),
    // `*` in an aromatic ring: its aromatic bonds are written `:` and it may take the double
    // bond that the ring's parity needs.
    ("C*1=CC=CC=C1", "C*1:ccccc:1"),
    ("C*1C=CC=C1", "C*1:cccc:1"),
    ("C*1=CN(C)*=N1", "C*1:cn(C):*:n:1"),  // two: each takes a double bond
    ("C1=C*=*C(=N)N1", "N=c1:*:*:cc[nH]1"),  // a *=* double bond comes back
    // A `*` with a double bond outside the ring takes none in it (it took a second one, and the
    // ring came back aliphatic: fuzzing seed 11).
    ("C1=*2C(=NC1=O)C=C*=C2", "O=C1C=*2:c:*:ccc:2=N1"),
    // [p+2] has the valences of Al: it takes a double bond in the ring (as in RDKit).
    ("O1C(=O)C2=CC3=C(C=C2N=C1)C=[P+2]C=C3", "O=c1ocnc2cc3c[p+2]ccc3cc12"),
    ("C1=CC=[B--]C=C1", "[b-2]1ccccc1"),  // [b-2] like N (RDKit writes the same and cannot read it)
    // A charge beyond the element's electrons allows no bond; one that makes N like Li keeps
    // the ring aliphatic.
    ("C[N+4]1=CC=CC=C1", "C[N+4]1=CC=CC=C1"),
    ("N1C=[S+9]C=C1", "C1=C[S+9]=CN1"),
    ("C1=C[S-3]=CC=C1", "C1=CC=[S-3]C=C1"),  // as RDKit writes it
    // A double-bond mark goes on a single bond, never on a dative one (written `->`, it lost it).
    ("N1(\\C(<-CC1=O)=N/NC2=CC=CC=C2)N", "NN1C(=O)C->C/1=N/Nc1ccccc1"),  // as RDKit writes it
    // A carbon dianion in an aromatic ring needs no double bond (like O).
    ("O1C(=N)[C--][N+](=N1)N", "N=c1[c-2][n+](N)no1"),
  ])
  func dativeBondsReadBack(input: String, expected: String) throws {
    let c = try canon(input)
    #expect(c == expected)
    #expect(try canon(c) == c)
    let m = try Smiles.read(input)
    for b in m.bonds where b.order == .dative { #expect(!b.inRing, "\(input)") }
  }

  /// Mutated ChEMBL SMILES (dative bonds, charges, ring digits and brackets inserted, deleted
  /// and replaced): every accepted input's canonical string reads back to itself.
  @Test func chargesBeyondTheElectronsAreRefused() {
    #expect(throws: SmilesError.self) { try canon("C[N+9]1=CC=CC=C1") }
    #expect(throws: SmilesError.self) { try canon("C[N+9]") }
  }

  @Test func mutatedInputsAreIdempotent() throws {
    let seed = TestSupport.fuzzSeed(default: 5)
    var rng = SplitMix64(seed: seed)
    let text = try Data(contentsOf: TestSupport.corpus("smiles/rdkit_canonSmiles.smi"))
    let real = Array(text).split(separator: 0x0A).map { Array($0.prefix { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) }.filter { !$0.isEmpty }
    let tokens: [[UInt8]] = ["<-", "->", "=", "#", "(", ")", "[nH]", "[N+]", "[O-]", "1", "2", "%10", ".", "/", "\\", "@", "[C@@H]",
                             "c", "n", "o", "s", "C", "N", "O", "[Fe]", "[Pt]", "Cl", "[H]"].map { Array($0.utf8) }
    var accepted = 0, failures: [String] = []
    let iterations = Int(ProcessInfo.processInfo.environment["TAGDATA_FUZZ_ITERATIONS"] ?? "").map { $0 / 5 } ?? 20_000
    for i in 0..<iterations {
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
      let c = SmilesWriter().write(m)
      do {
        let again = try Smiles.canonical(c)
        if again != c { failures.append("\(String(decoding: bytes, as: UTF8.self)) -> \(c) -> \(again)") }
      } catch {
        failures.append("\(String(decoding: bytes, as: UTF8.self)) -> \(c) -> \(error)")
      }
      _ = i
    }
    print("idempotence: \(iterations) mutated inputs (seed \(seed)), \(accepted) accepted, \(failures.count) not idempotent")
    #expect(accepted > iterations / 10)
    #expect(failures.isEmpty, "seed \(seed): \(failures.prefix(10).joined(separator: "; "))")
  }
}

/// Inputs far larger than real molecules: every traversal keeps its own stack (a recursion as
/// deep as the input overflowed the thread's stack at ~50,000 atoms) and ranking and writing
/// stay near-linear (they were quadratic: 10 s for a 16,000-atom chain).
@Suite struct LargeInputTests {
  func timed(_ what: String, _ body: () throws -> String) rethrows -> (String, Double) {
    let started = Date()
    let out = try body()
    let seconds = Date().timeIntervalSince(started)
    print("\(what): \(String(format: "%.2f", seconds)) s")
    return (out, seconds)
  }

  @Test func hugeRingChainAndBranchesDoNotOverflowTheStack() throws {
    let ring = "c1" + String(repeating: "c", count: 99_998) + "c1"
    let (r, _) = try timed("aromatic ring of 100,000 atoms") { try canon(ring) }
    #expect(r.utf8.count > 100_000)
    let chain = String(repeating: "C", count: 100_000)
    let (c, _) = try timed("chain of 100,000 atoms") { try canon(chain) }
    #expect(c == chain)
    let branches = String(repeating: "C(C", count: 30_000) + String(repeating: ")", count: 30_000)
    let (b, _) = try timed("30,000 nested branches") { try canon(branches) }
    #expect(try canon(b) == b)
    // Kekulé output of the big ring: the matching is linear, not a search as deep as the ring.
    let (k, _) = try timed("Kekulé output of a 20,000-atom aromatic ring") {
      try Smiles.canonical("c1" + String(repeating: "c", count: 19_998) + "c1", kekule: true)
    }
    #expect(!k.contains("c"))
  }

  /// A V3000 molfile with a 50,000-atom ring (ring perception was the recursion there).
  @Test func hugeV3000Ring() throws {
    let n = 50_000
    var lines = ["big ring", "  test", "", "  0  0  0     0  0            999 V3000", "M  V30 BEGIN CTAB",
                 "M  V30 COUNTS \(n) \(n) 0 0 0", "M  V30 BEGIN ATOM"]
    for i in 1...n { lines.append("M  V30 \(i) C 0 0 0 0") }
    lines.append("M  V30 END ATOM")
    lines.append("M  V30 BEGIN BOND")
    for i in 1...n { lines.append("M  V30 \(i) 1 \(i) \(i % n + 1)") }
    lines += ["M  V30 END BOND", "M  V30 END CTAB", "M  END"]
    let (s, _) = try timed("V3000 ring of 50,000 atoms") {
      SmilesWriter().write(try Molfile.read(block: MolBlock(lines: lines.map { Substring($0) })).molecule)
    }
    #expect(s == "C1" + String(repeating: "C", count: n - 1) + "1")
  }

  /// Near-linear ranking and writing, with bounds a debug build meets with room to spare (the
  /// quadratic code took minutes for each).
  @Test func rankingAndWritingAreNearLinear() throws {
    let benzenes = Array(repeating: "c1ccccc1", count: 20_000).joined(separator: ".")
    let (b, tb) = try timed("20,000 benzenes joined by '.'") { try canon(benzenes) }
    #expect(b == benzenes)
    let ring = "c1" + String(repeating: "c", count: 19_998) + "c1"
    let (_, tr) = try timed("aromatic ring of 20,000 atoms") { try canon(ring) }
    let chain = String(repeating: "C", count: 50_000) + "O"
    let (c, tc) = try timed("chain of 50,000 atoms") { try canon(chain) }
    #expect(c == chain)
    // Many stereo double bonds in one chain (the stereo labels are refined too).
    let polyene = "C/C=C" + String(repeating: "/C=C", count: 1_999) + "/C"
    let (p, tp) = try timed("polyene with 2,000 stereo double bonds") { try canon(polyene) }
    #expect(try canon(p) == p)
    // Ring lookups per atom and per bond: furans (ring O donors), chiral rings, marked bonds.
    let furans = Array(repeating: "c1ccoc1", count: 10_000).joined(separator: ".")
    let (f, tf) = try timed("10,000 furans") { try canon(furans) }
    #expect(f == furans)
    let diols = Array(repeating: "O[C@H]1CC[C@@H](O)CC1", count: 4_000).joined(separator: ".")
    let (d, td) = try timed("4,000 chiral cyclohexanediols") { try canon(diols) }
    #expect(try canon(d) == d)
    #expect(tb < 30 && tr < 30 && tc < 30 && tp < 30 && tf < 30 && td < 30)
  }
}

@Suite struct MoleculeLimitsTests {
  @Test func smilesOverTheAtomLimitIsRefusedWithTheCount() throws {
    let limits = MoleculeLimits(maxAtoms: 100)
    #expect(try Smiles.read(String(repeating: "C", count: 100), limits: limits).atoms.count == 100)
    do {
      _ = try Smiles.read(String(repeating: "C", count: 99) + "[Na+].Cl", limits: limits)
      Issue.record("expected a limit error")
    } catch {
      #expect(error.exceeded == MoleculeLimits.Exceeded(limit: .maxAtoms, maximum: 100, count: 101))
      #expect(error.description == "too large: 101 atoms, more than maxAtoms = 100")
    }
    do {
      _ = try Smiles.read("CCO", limits: MoleculeLimits(maxBytes: 2))
      Issue.record("expected a limit error")
    } catch {
      #expect(error.exceeded == MoleculeLimits.Exceeded(limit: .maxBytes, maximum: 2, count: 3))
    }
    #expect(MoleculeLimits.standard.maxAtoms == 1_000_000)
  }

  @Test func molfilesOverTheAtomLimitAreRefusedWithTheCount() throws {
    let v2000 = Fixtures.bromochlorofluoromethane(stereo: 0)
    #expect(try Molfile.read(v2000).molecule.atoms.count == 4)
    do {
      _ = try Molfile.read(block: MolBlock(text: v2000), limits: MoleculeLimits(maxAtoms: 4))
      Issue.record("expected a limit error")
    } catch {
      #expect(error.exceeded == MoleculeLimits.Exceeded(limit: .maxAtoms, maximum: 4, count: 5))
      #expect(error.description == "line 4: too large: 5 atoms, more than maxAtoms = 4")
    }
    let v3000 = ["", "", "", "  0  0  0     0  0            999 V3000", "M  V30 BEGIN CTAB", "M  V30 COUNTS 3 0 0 0 0",
                 "M  V30 BEGIN ATOM", "M  V30 1 C 0 0 0 0", "M  V30 2 C 0 0 0 0", "M  V30 3 O 0 0 0 0", "M  V30 END ATOM",
                 "M  V30 END CTAB", "M  END"].map { Substring($0) }
    #expect(try Molfile.read(block: MolBlock(lines: v3000)).molecule.atoms.count == 3)
    do {
      _ = try Molfile.read(block: MolBlock(lines: v3000), limits: MoleculeLimits(maxAtoms: 2))
      Issue.record("expected a limit error")
    } catch {
      #expect(error.exceeded?.count == 3)
    }
    #expect(throws: MolfileError.self) { try Molfile.read(v2000, limits: MoleculeLimits(maxBytes: 100)) }
  }
}

/// Scripts/fuzz-smiles, seeded, on 100,000 mutated ChEMBL SMILES through the built `tagdata
/// canon smiles` (twice: every accepted output must come back unchanged): no crash, no hang,
/// no change. A debug build takes about 20 s. TAGDATA_FUZZ_SEED and TAGDATA_FUZZ_ITERATIONS
/// choose another seed and count.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs python3"))
struct FuzzScriptTests {
  @Test func canonSmilesIsIdempotentOnMutatedInputs() throws {
    let seed = TestSupport.fuzzSeed(default: 1)
    let n = Int(ProcessInfo.processInfo.environment["TAGDATA_FUZZ_ITERATIONS"] ?? "") ?? 100_000
    let script = TestSupport.root.appendingPathComponent("Scripts/fuzz-smiles").path
    let r = try TestSupport.run("/usr/bin/python3", [script, String(n), "--seed", String(seed), "--bin", TestSupport.tagdataBinary,
                                                     "--timeout", "600"])
    let summary = r.stdout.split(separator: "\n").filter { $0.hasPrefix("fuzz-smiles: seed") || $0.hasPrefix("FAIL") }
    print(summary.joined(separator: "\n"))
    #expect(r.status == 0, "seed \(seed): \(summary.prefix(12).joined(separator: "\n")) \(r.stderr)")
    #expect(r.stdout.contains("fuzz-smiles: seed \(seed): \(n) inputs"), "\(r.stdout.suffix(500))")
  }
}
