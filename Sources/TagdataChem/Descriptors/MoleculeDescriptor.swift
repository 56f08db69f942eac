/// The molecular descriptors tagdata computes, by stable name (the raw value). Each equals the
/// named RDKit 2026.09.1 descriptor on the same SMILES (default options unless stated).
public enum MoleculeDescriptor: String, CaseIterable, Sendable {
  /// Average molecular weight: RDKit `Descriptors.MolWt`.
  case molWt = "mol_wt"
  /// Average weight of the heavy atoms: RDKit `Descriptors.HeavyAtomMolWt`.
  case heavyAtomMolWt = "heavy_atom_mol_wt"
  /// Monoisotopic mass: RDKit `Descriptors.ExactMolWt`.
  case exactMolWt = "exact_mol_wt"
  /// Molecular formula with charge suffix: RDKit `rdMolDescriptors.CalcMolFormula`.
  case formula = "formula"
  /// Atoms heavier than hydrogen: RDKit `Descriptors.HeavyAtomCount`.
  case heavyAtoms = "heavy_atoms"
  /// Hydrogens on N and O: RDKit `Lipinski.NHOHCount`.
  case nhohCount = "nhoh_count"
  /// N and O atoms: RDKit `Lipinski.NOCount`.
  case noCount = "no_count"
  /// Topological polar surface area from N and O: RDKit `Descriptors.TPSA` (`CalcTPSA`).
  case tpsa = "tpsa"
  /// TPSA with S and P contributions: RDKit `CalcTPSA(mol, includeSandP=True)`.
  case tpsaSP = "tpsa_sp"
  /// Rings of the smallest ring set: RDKit `Descriptors.RingCount` (`CalcNumRings`).
  case rings = "rings"
  /// Rings whose bonds are all aromatic: RDKit `Descriptors.NumAromaticRings`.
  case aromaticRings = "aromatic_rings"
  /// Rings with a non-aromatic bond: RDKit `Descriptors.NumAliphaticRings`.
  case aliphaticRings = "aliphatic_rings"
  /// Rings of single bonds only: RDKit `Descriptors.NumSaturatedRings`.
  case saturatedRings = "saturated_rings"
  /// Fraction of sp3 carbons: RDKit `Descriptors.FractionCSP3` (`CalcFractionCSP3`).
  case fractionCSP3 = "fraction_csp3"
}

/// A descriptor's value: a real number, a count or a text (the formula).
public enum DescriptorValue: Sendable, Equatable, CustomStringConvertible {
  case number(Double)
  case count(Int)
  case text(String)

  /// The value as written in tables: shortest round-trip decimal for numbers.
  public var description: String {
    switch self {
    case .number(let x): return "\(x)"
    case .count(let n): return String(n)
    case .text(let s): return s
    }
  }
}

/// Computes a chosen list of descriptors for one molecule at a time, sharing the work several of
/// them need (the explicit-hydrogen copy, the substructure target, the QED properties).
public struct DescriptorCalculator: Sendable {
  public let descriptors: [MoleculeDescriptor]

  public init(_ descriptors: [MoleculeDescriptor] = MoleculeDescriptor.allCases) { self.descriptors = descriptors }

  /// The values of `descriptors` for `mol` (a molecule as read: hydrogens folded into counts), in order.
  public func compute(_ mol: Molecule) -> [DescriptorValue] {
    var out: [DescriptorValue] = []
    out.reserveCapacity(descriptors.count)
    for d in descriptors {
      switch d {
      case .molWt: out.append(.number(Descriptors.molecularWeight(mol)))
      case .heavyAtomMolWt: out.append(.number(Descriptors.heavyAtomMolecularWeight(mol)))
      case .exactMolWt: out.append(.number(Descriptors.exactMolecularWeight(mol)))
      case .formula: out.append(.text(Descriptors.formula(mol)))
      case .heavyAtoms: out.append(.count(Descriptors.heavyAtomCount(mol)))
      case .nhohCount: out.append(.count(Descriptors.nhohCount(mol)))
      case .noCount: out.append(.count(Descriptors.noCount(mol)))
      case .tpsa: out.append(.number(Descriptors.tpsa(mol)))
      case .tpsaSP: out.append(.number(Descriptors.tpsa(mol, includeSandP: true)))
      case .rings: out.append(.count(Descriptors.ringCount(mol)))
      case .aromaticRings: out.append(.count(Descriptors.aromaticRingCount(mol)))
      case .aliphaticRings: out.append(.count(Descriptors.aliphaticRingCount(mol)))
      case .saturatedRings: out.append(.count(Descriptors.saturatedRingCount(mol)))
      case .fractionCSP3: out.append(.number(Descriptors.fractionCSP3(mol)))
      }
    }
    return out
  }
}
