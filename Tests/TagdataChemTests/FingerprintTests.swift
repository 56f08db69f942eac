import Foundation
import TestSupport
import Testing
@testable import TagdataChem

@Suite struct FingerprintTests {
  func fp(_ s: String, bits: Int = 2048) throws -> Fingerprint { Fingerprint(try Smiles.read(s), bitCount: bits) }
  func features(_ s: String) throws -> [UInt32] { Fingerprint.features(try Smiles.read(s)) }

  /// The molecule with its atoms in another order (a fixed pseudo-random permutation), bonds
  /// listed in another order too.
  func shuffled(_ mol: Molecule, seed: UInt64) -> Molecule {
    var state = seed
    func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(truncatingIfNeeded: (state >> 33) % UInt64(n))
    }
    var order = Array(mol.atoms.indices)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, next(i + 1)) }
    var newIndex = [Int](repeating: 0, count: order.count)
    for (k, old) in order.enumerated() { newIndex[old] = k }
    var out = Molecule()
    for old in order {
      var a = mol.atoms[old]
      a.stereoOrder = []
      a.chirality = .none
      out.addAtom(a)
    }
    var bonds = Array(mol.bonds.indices)
    for i in stride(from: bonds.count - 1, to: 0, by: -1) { bonds.swapAt(i, next(i + 1)) }
    for b in bonds {
      let bond = mol.bonds[b]
      let k = next(2) == 0 ? out.addBond(newIndex[bond.a], newIndex[bond.b], bond.order)
        : out.addBond(newIndex[bond.b], newIndex[bond.a], bond.order)
      out.bonds[k].inRing = bond.inRing
    }
    return out
  }

  @Test func sameMoleculeWrittenDifferentlyGivesTheSameBits() throws {
    let pairs = [
      ("CCO", "OCC"), ("c1ccccc1O", "Oc1ccccc1"), ("CC(=O)Oc1ccccc1C(=O)O", "OC(=O)c1ccccc1OC(C)=O"),
      ("Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CN1C(=O)N(C)c2ncn(C)c2C1=O"), ("C1CC2CCC1C2", "C1CC2CC1CC2"),
    ]
    for (a, b) in pairs {
      #expect(try fp(a) == (try fp(b)), "\(a) \(b)")
      #expect(try features(a) == (try features(b)), "\(a) \(b)")
    }
  }

  @Test func atomRenumberingLeavesFeaturesAlone() throws {
    let url = TestSupport.corpus("smiles/rdkit_canonSmiles.smi")
    var n = 0
    for line in try RDKitInteropTests.lines(url).prefix(400) {
      guard let mol = try? Smiles.read(ScaffoldInteropTests.firstField(line)) else { continue }
      let f = Fingerprint.features(mol)
      for seed: UInt64 in [1, 2, 3] {
        #expect(Fingerprint.features(shuffled(mol, seed: seed)) == f, "\(line)")
      }
      n += 1
    }
    #expect(n > 350)
  }

  @Test func tanimotoOfAMoleculeWithItselfIsOne() throws {
    for s in ["c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "[Na+].[Cl-]", "C"] {
      let x = try fp(s)
      #expect(Fingerprint.tanimoto(x, x) == 1)
      #expect(x.popcount > 0)
    }
    #expect(Fingerprint.tanimoto(Fingerprint(bitCount: 64), Fingerprint(bitCount: 64)) == 1)
  }

  @Test func similarMoleculesAreMoreSimilar() throws {
    let aspirin = try fp("CC(=O)Oc1ccccc1C(=O)O")
    let salicylic = try fp("OC(=O)c1ccccc1O")
    let caffeine = try fp("Cn1cnc2c1c(=O)n(C)c(=O)n2C")
    #expect(Fingerprint.tanimoto(aspirin, salicylic) > Fingerprint.tanimoto(aspirin, caffeine))
    let toluene = try fp("Cc1ccccc1"), ethylbenzene = try fp("CCc1ccccc1"), cyclohexane = try fp("C1CCCCC1")
    #expect(Fingerprint.tanimoto(toluene, ethylbenzene) > Fingerprint.tanimoto(toluene, cyclohexane))
    let ethanol = try fp("CCO"), propanol = try fp("CCCO"), benzene = try fp("c1ccccc1")
    #expect(Fingerprint.tanimoto(ethanol, propanol) > Fingerprint.tanimoto(ethanol, benzene))
    #expect(Fingerprint.tanimoto(ethanol, benzene) == 0)
  }

  /// Feature counts of the definition, worked by hand (RDKit's Morgan radius 2 gives the same,
  /// except for the isotope, which RDKit's default invariants leave out).
  @Test func featureCountsFollowTheDefinition() throws {
    #expect(try features("C").count == 1)
    #expect(try features("CC").count == 2)  // one atom type; both radius-1 environments are the same bond
    #expect(try features("CCC").count == 4)  // radius 2 repeats the middle atom's radius-1 set
    #expect(try features("CCCC").count == 5)
    #expect(try features("c1ccccc1").count == 3)
    #expect(try features("[Na+]").count == 1)
    #expect(try features("[Na+].[Cl-]").count == 2)
    #expect(try features("C[13CH3]").count == 3)
    #expect(try features("C1CC1").count == 3)  // the radius-2 set of every atom is the whole ring
  }

  /// Identifiers are a fixed function of the molecule: the same in every process and platform.
  @Test func identifiersArePinned() throws {
    #expect(try features("C") == [Self.methane])
    #expect(try fp("CCO").onBits == Self.ethanolBits)
  }
  static let methane: UInt32 = 4_121_908_951
  static let ethanolBits = [645, 742, 862, 874, 1170, 1770]

  @Test func foldingAndBits() throws {
    let f = try features("CC(=O)Oc1ccccc1C(=O)O")
    let x = Fingerprint(features: f, bitCount: 1024)
    #expect(x.popcount <= f.count)
    #expect(x.onBits == Set(f.map { Int($0 % 1024) }).sorted())
    #expect(Fingerprint(features: f, bitCount: 100).words.count == 2)
    #expect(try fp("CCO", bits: 100).onBits.allSatisfy { $0 < 100 })
  }

  /// Linear time: a 100,000-atom chain, and one atom with 20,000 neighbours (a star: the radius-2
  /// set of every leaf is every bond).
  @Test func largeMoleculesInLinearTime() throws {
    let start = Date()
    let chain = try Smiles.read(String(repeating: "C", count: 100_000))
    #expect(Fingerprint.features(chain).count == 8)  // 2 + 3 + 3: ends, next to the ends, middle
    var star = Molecule()
    let hub = star.addAtom(Atom(element: 92))
    for _ in 0..<20_000 {
      var c = Atom(element: 6)
      c.hydrogens = 3
      star.addBond(hub, star.addAtom(c), .single)
    }
    #expect(Fingerprint.features(star).count == 4)
    #expect(Fingerprint.features(star, radius: 3).count == 4)
    // Radius 3 lists environments: linear for a chain (each environment has at most 6 bonds).
    #expect(Fingerprint.features(chain, radius: 3).count == 11)
    #expect(Date().timeIntervalSince(start) < 30)
  }
}
