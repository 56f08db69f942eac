/// The SMARTS patterns of the descriptors, compiled once (from `DescriptorData`).
enum DescriptorPatterns {
  static func compile(_ smarts: String) -> SmartsPattern {
    do { return try SmartsPattern(smarts) } catch {
      fatalError("descriptor SMARTS \(smarts) does not parse at \(error.position): \(error.message)")
    }
  }

  static let hbd = compile(DescriptorData.hbdSmarts)
  static let hba = compile(DescriptorData.hbaSmarts)
  static let rotatableStrict = compile(DescriptorData.rotatableStrictSmarts)
  static let rotatableNonStrict = compile(DescriptorData.rotatableNonStrictSmarts)
  static let qedAliphaticRing = compile(DescriptorData.qedAliphaticRingSmarts)
  static let crippen: [SmartsPattern] = DescriptorData.crippen.map { compile($0.smarts) }
  static let crippenLogP: [Double] = DescriptorData.crippen.map(\.logP)
  static let crippenMR: [Double] = DescriptorData.crippen.map(\.mr)
  static let qedAcceptors: [SmartsPattern] = DescriptorData.qedAcceptors.map(compile)
  static let qedAlerts: [SmartsPattern] = DescriptorData.qedAlerts.map(compile)
}

/// Which rotatable-bond definition to count (RDKit's `NumRotatableBondsOptions`).
public enum RotatableBondDefinition: Sendable {
  /// Single or aromatic non-ring bonds between atoms with two or more neighbours, triple-bonded
  /// atoms excluded.
  case nonStrict
  /// NonStrict without bonds to CF3, CCl3, CBr3, t-butyl and CH3 groups and without amide-like
  /// C(=X)-N/O/S links: RDKit's default (`Descriptors.NumRotatableBonds`) and QED's.
  case strict
}

/// RDKit's substructure searches return at most 1,000 matches by default; the counts follow.
let rdkitMaxMatches = 1000

extension Descriptors {
  /// H-bond donors (RDKit `Lipinski.NumHDonors` / `CalcNumHBD`).
  public static func hDonors(_ mol: Molecule) -> Int { hDonors(SmartsTarget(mol)) }
  static func hDonors(_ target: SmartsTarget) -> Int {
    DescriptorPatterns.hbd.countUniqueMatches(in: target, maxMatches: rdkitMaxMatches)
  }

  /// H-bond acceptors (RDKit `Lipinski.NumHAcceptors` / `CalcNumHBA`).
  public static func hAcceptors(_ mol: Molecule) -> Int { hAcceptors(SmartsTarget(mol)) }
  static func hAcceptors(_ target: SmartsTarget) -> Int {
    DescriptorPatterns.hba.countUniqueMatches(in: target, maxMatches: rdkitMaxMatches)
  }

  /// Rotatable bonds (RDKit `Descriptors.NumRotatableBonds`, which is the strict definition).
  public static func rotatableBonds(_ mol: Molecule, _ definition: RotatableBondDefinition = .strict) -> Int {
    rotatableBonds(SmartsTarget(mol), definition)
  }
  static func rotatableBonds(_ target: SmartsTarget, _ definition: RotatableBondDefinition = .strict) -> Int {
    let pattern = definition == .strict ? DescriptorPatterns.rotatableStrict : DescriptorPatterns.rotatableNonStrict
    return pattern.countUniqueMatches(in: target, maxMatches: rdkitMaxMatches)
  }

  /// Wildman-Crippen logP and molar refractivity (RDKit `Crippen.MolLogP`, `Crippen.MolMR`).
  public static func crippen(_ mol: Molecule) -> (logP: Double, mr: Double) {
    let explicit = mol.addingExplicitHydrogens()
    return crippen(explicitH: explicit, SmartsTarget(explicit))
  }

  /// Crippen contributions on a molecule whose hydrogens are all graph atoms: each atom takes the
  /// type of the first pattern (in table order) whose first atom it matches. As in RDKit, each
  /// pattern's matches (not made unique) are enumerated up to RDKit's default of 1,000: in a
  /// large molecule the atoms past that cut fall through to later patterns (C600: logP 203.3,
  /// not the 234.3 an unbounded search gives).
  static func crippen(explicitH mol: Molecule, _ target: SmartsTarget) -> (logP: Double, mr: Double) {
    let n = mol.atoms.count
    var type = [Int](repeating: -1, count: n)
    var typed = [Bool](repeating: false, count: n)
    let features = MoleculeFeatures(mol)
    // Classes of the atoms not yet typed, with how many atoms of each: a pattern whose first atom
    // cannot be any of them (or that cannot match the molecule at all) is not searched.
    var untypedClasses = features.classes
    var classOf = [Int](repeating: 0, count: n)
    var untypedOfClass = [Int32](repeating: 0, count: DescriptorData.atomClassCount)
    for i in 0..<n {
      classOf[i] = MoleculeFeatures.atomClass(mol.atoms[i])
      untypedOfClass[classOf[i]] += 1
    }
    var untyped = n
    let filters = DescriptorData.crippenFilters
    for (k, pattern) in DescriptorPatterns.crippen.enumerated() where untyped > 0 {
      let filter = filters[k]
      if let first = filter.first, !MoleculeFeatures.intersects(first, untypedClasses) { continue }
      guard filter.mayMatch(features) else { continue }
      for match in pattern.matches(in: target, unique: false, maxMatches: rdkitMaxMatches) where !typed[match[0]] {
        let a = match[0]
        type[a] = k
        typed[a] = true
        untyped -= 1
        let c = classOf[a]
        untypedOfClass[c] -= 1
        if untypedOfClass[c] == 0 { untypedClasses[c >> 6] &= ~(1 << UInt64(c & 63)) }
      }
    }
    var logP = 0.0, mr = 0.0
    for t in type where t >= 0 {
      logP += DescriptorPatterns.crippenLogP[t]
      mr += DescriptorPatterns.crippenMR[t]
    }
    return (logP, mr)
  }
}
