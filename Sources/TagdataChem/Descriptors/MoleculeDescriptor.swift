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
  /// H-bond donors: RDKit `Lipinski.NumHDonors` (`CalcNumHBD`).
  case hbd = "hbd"
  /// H-bond acceptors: RDKit `Lipinski.NumHAcceptors` (`CalcNumHBA`).
  case hba = "hba"
  /// Hydrogens on N and O: RDKit `Lipinski.NHOHCount`.
  case nhohCount = "nhoh_count"
  /// N and O atoms: RDKit `Lipinski.NOCount`.
  case noCount = "no_count"
  /// Rotatable bonds, strict definition: RDKit `Descriptors.NumRotatableBonds`.
  case rotatableBonds = "rotatable_bonds"
  /// Topological polar surface area from N and O: RDKit `Descriptors.TPSA` (`CalcTPSA`).
  case tpsa = "tpsa"
  /// TPSA with S and P contributions: RDKit `CalcTPSA(mol, includeSandP=True)`.
  case tpsaSP = "tpsa_sp"
  /// Wildman-Crippen logP: RDKit `Crippen.MolLogP` (`Descriptors.MolLogP`).
  case logP = "logp"
  /// Wildman-Crippen molar refractivity: RDKit `Crippen.MolMR` (`Descriptors.MolMR`).
  case mr = "mr"
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
  /// QED with the mean weights: RDKit `QED.qed` (`Descriptors.qed`).
  case qed = "qed"
  /// QED with the maximal weights: RDKit `QED.weights_max`.
  case qedMax = "qed_max"
  /// QED with unit weights: RDKit `QED.weights_none`.
  case qedNone = "qed_none"
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

  /// The values of `descriptors` for `mol` (a molecule as read: hydrogens folded into counts), in
  /// order. One substructure target, one explicit-hydrogen copy and one set of QED properties
  /// serve all the descriptors that need them.
  public func compute(_ mol: Molecule) -> [DescriptorValue] {
    var out: [DescriptorValue] = []
    out.reserveCapacity(descriptors.count)
    var target: SmartsTarget? = nil
    func sharedTarget() -> SmartsTarget {
      if let target { return target }
      let t = SmartsTarget(mol)
      target = t
      return t
    }
    var crippen: (logP: Double, mr: Double)? = nil
    func sharedCrippen() -> (logP: Double, mr: Double) {
      if let crippen { return crippen }
      let explicit = mol.addingExplicitHydrogens()
      let c = Descriptors.crippen(explicitH: explicit, SmartsTarget(explicit))
      crippen = c
      return c
    }
    var hbd: Int? = nil, rotb: Int? = nil, tpsa: Double? = nil
    var qed: QEDProperties? = nil
    func sharedQED() -> QEDProperties {
      if let qed { return qed }
      let q = QED.properties(mol, sharedTarget(), crippen: sharedCrippen(), hbd: hbd, rotb: rotb, psa: tpsa)
      qed = q
      return q
    }
    for d in descriptors {
      switch d {
      case .molWt: out.append(.number(Descriptors.molecularWeight(mol)))
      case .heavyAtomMolWt: out.append(.number(Descriptors.heavyAtomMolecularWeight(mol)))
      case .exactMolWt: out.append(.number(Descriptors.exactMolecularWeight(mol)))
      case .formula: out.append(.text(Descriptors.formula(mol)))
      case .heavyAtoms: out.append(.count(Descriptors.heavyAtomCount(mol)))
      case .hbd:
        let v = hbd ?? Descriptors.hDonors(sharedTarget())
        hbd = v
        out.append(.count(v))
      case .hba: out.append(.count(Descriptors.hAcceptors(sharedTarget())))
      case .nhohCount: out.append(.count(Descriptors.nhohCount(mol)))
      case .noCount: out.append(.count(Descriptors.noCount(mol)))
      case .rotatableBonds:
        let v = rotb ?? Descriptors.rotatableBonds(sharedTarget(), .strict)
        rotb = v
        out.append(.count(v))
      case .tpsa:
        let v = tpsa ?? Descriptors.tpsa(mol)
        tpsa = v
        out.append(.number(v))
      case .tpsaSP: out.append(.number(Descriptors.tpsa(mol, includeSandP: true)))
      case .logP: out.append(.number(sharedCrippen().logP))
      case .mr: out.append(.number(sharedCrippen().mr))
      case .rings: out.append(.count(Descriptors.ringCount(mol)))
      case .aromaticRings: out.append(.count(Descriptors.aromaticRingCount(mol)))
      case .aliphaticRings: out.append(.count(Descriptors.aliphaticRingCount(mol)))
      case .saturatedRings: out.append(.count(Descriptors.saturatedRingCount(mol)))
      case .fractionCSP3: out.append(.number(Descriptors.fractionCSP3(mol)))
      case .qed: out.append(.number(QED.qed(sharedQED(), weights: .mean)))
      case .qedMax: out.append(.number(QED.qed(sharedQED(), weights: .max)))
      case .qedNone: out.append(.number(QED.qed(sharedQED(), weights: .none)))
      }
    }
    return out
  }
}
