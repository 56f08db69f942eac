#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The eight raw properties QED is computed from, as RDKit's `QED.properties` computes them.
public struct QEDProperties: Sendable, Equatable {
  /// Average molecular weight (MolWt).
  public var mw: Double
  /// Crippen logP (MolLogP).
  public var alogp: Double
  /// Acceptors: the sum over QED's own acceptor patterns of their unique matches.
  public var hba: Int
  /// Donors (NumHDonors).
  public var hbd: Int
  /// TPSA from N and O.
  public var psa: Double
  /// Rotatable bonds, strict definition.
  public var rotb: Int
  /// Rings left after deleting aliphatic ring atoms bonded to a non-aromatic atom
  /// (`[$([A;R][!a])]`), counted as smallest rings of what remains.
  public var arom: Int
  /// Structural alert patterns matching at least once.
  public var alerts: Int

  /// The values in QED's order: MW, ALOGP, HBA, HBD, PSA, ROTB, AROM, ALERTS.
  public var values: [Double] {
    [mw, alogp, Double(hba), Double(hbd), psa, Double(rotb), Double(arom), Double(alerts)]
  }
}

/// Quantitative estimate of drug-likeness (Bickerton et al. 2012), as RDKit's `rdkit.Chem.QED`
/// (version 1.1.0) computes it: each property mapped by an asymmetric double sigmoid to a
/// desirability, then a weighted geometric mean.
public enum QED {
  public enum Weights: Sendable {
    /// RDKit `QED.qed` (WEIGHT_MEAN).
    case mean
    /// RDKit `QED.weights_max` (WEIGHT_MAX).
    case max
    /// RDKit `QED.weights_none` (all weights 1).
    case none

    var values: [Double] {
      switch self {
      case .mean: return DescriptorData.qedWeightsMean
      case .max: return DescriptorData.qedWeightsMax
      case .none: return DescriptorData.qedWeightsNone
      }
    }
  }

  /// The raw properties of a molecule (as read: hydrogens folded into counts).
  public static func properties(_ mol: Molecule) -> QEDProperties {
    let explicit = mol.addingExplicitHydrogens()
    return properties(mol, SmartsTarget(mol), crippen: Descriptors.crippen(explicitH: explicit, SmartsTarget(explicit)))
  }

  /// The properties with the substructure target of `mol` and its Crippen values already made.
  static func properties(_ mol: Molecule, _ target: SmartsTarget, crippen: (logP: Double, mr: Double),
                         hbd: Int? = nil, rotb: Int? = nil, psa: Double? = nil) -> QEDProperties {
    let features = MoleculeFeatures(mol)
    var hba = 0
    for (k, pattern) in DescriptorPatterns.qedAcceptors.enumerated() where DescriptorData.qedAcceptorFilters[k].mayMatch(features) {
      hba += pattern.countUniqueMatches(in: target, maxMatches: rdkitMaxMatches)
    }
    var alerts = 0
    for (k, pattern) in DescriptorPatterns.qedAlerts.enumerated()
    where DescriptorData.qedAlertFilters[k].mayMatch(features) && pattern.hasMatch(in: target) {
      alerts += 1
    }
    return QEDProperties(
      mw: Descriptors.molecularWeight(mol), alogp: crippen.logP, hba: hba,
      hbd: hbd ?? Descriptors.hDonors(target), psa: psa ?? Descriptors.tpsa(mol),
      rotb: rotb ?? Descriptors.rotatableBonds(target, .strict), arom: aromaticRings(mol, target), alerts: alerts)
  }

  /// QED's AROM: delete the atoms matching `[$([A;R][!a])]`, then count the smallest rings of the
  /// rest (per connected part, bonds - atoms + 1; coordinate bonds are not ring bonds).
  static func aromaticRings(_ mol: Molecule, _ target: SmartsTarget) -> Int {
    let n = mol.atoms.count
    guard !mol.ringBonds.isEmpty else { return 0 }
    var deleted = [Bool](repeating: false, count: n)
    for match in DescriptorPatterns.qedAliphaticRing.matches(in: target, maxMatches: rdkitMaxMatches) {
      for a in match { deleted[a] = true }
    }
    // Union-find over the remaining atoms and bonds.
    var parent = Array(0..<n)
    func find(_ x: Int) -> Int {
      var x = x
      while parent[x] != x {
        parent[x] = parent[parent[x]]
        x = parent[x]
      }
      return x
    }
    var atoms = 0, bonds = 0, components = 0
    for i in 0..<n where !deleted[i] { atoms += 1 }
    for bond in mol.bonds where bond.order != .dative && !deleted[bond.a] && !deleted[bond.b] {
      bonds += 1
      let (x, y) = (find(bond.a), find(bond.b))
      if x != y { parent[x] = y }
    }
    for i in 0..<n where !deleted[i] && find(i) == i { components += 1 }
    return bonds - atoms + components
  }

  /// The desirability of property `k` (0...7, QED's order) at value `x`.
  static func desirability(_ k: Int, _ x: Double) -> Double {
    let p = DescriptorData.qedParameters[k]
    let exp1 = 1 + exp(-1 * (x - p.c + p.d / 2) / p.e)
    let exp2 = 1 + exp(-1 * (x - p.c - p.d / 2) / p.f)
    let dx = p.a + p.b / exp1 * (1 - 1 / exp2)
    return dx / p.dmax
  }

  /// QED from the properties with the given weights.
  public static func qed(_ properties: QEDProperties, weights: Weights = .mean) -> Double {
    let w = weights.values
    let values = properties.values
    var t = 0.0, sum = 0.0
    for k in 0..<8 {
      t += w[k] * log(desirability(k, values[k]))
      sum += w[k]
    }
    return exp(t / sum)
  }

  /// QED of a molecule (RDKit `QED.qed`, `QED.weights_max`, `QED.weights_none`).
  public static func qed(_ mol: Molecule, weights: Weights = .mean) -> Double { qed(properties(mol), weights: weights) }
}
