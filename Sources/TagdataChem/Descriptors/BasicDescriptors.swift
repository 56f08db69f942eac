/// One TPSA contribution rule (see `DescriptorData.tpsaRules`): -1 in a count or `ring3` = not tested.
struct TPSARule: Sendable {
  let element: Int, neighbors: Int, hydrogens: Int, charge: Int
  let single: Int, double: Int, triple: Int, aromatic: Int, ring3: Int
  let value: Double
}

/// Descriptors that need no substructure search: weights, formula, counts, TPSA, rings, Fsp3.
/// All follow RDKit 2026.09.1 on the molecule as read (hydrogens folded into counts; H atoms
/// that stay graph atoms, such as `[2H]`, count as atoms).
public enum Descriptors {
  /// Average hydrogen weight (RDKit's periodic table value).
  static let hydrogenWeight = 1.008
  /// Mass of the most common hydrogen isotope.
  static let hydrogenMass = 1.007825032
  /// Electron mass, subtracted per positive charge by the exact mass.
  static let electronMass = 0.00054857991

  /// Mass of an isotope-labelled atom: the tabulated isotope mass; the mass number itself when
  /// the isotope is not tabulated; 0 for a dummy atom.
  static func isotopeMass(element: Int, isotope: Int) -> Double {
    if element == 0 { return 0 }
    if element < DescriptorData.isotopeFirst.count {
      let k = isotope - DescriptorData.isotopeFirst[element]
      let masses = DescriptorData.isotopeMasses[element]
      if k >= 0 && k < masses.count && masses[k] != 0 { return masses[k] }
    }
    return Double(isotope)
  }

  static func element(_ z: Int) -> Element? {
    z >= 0 && z < PeriodicTable.elements.count ? PeriodicTable.elements[z] : nil
  }

  /// Average molecular weight (RDKit `Descriptors.MolWt`): atom weights (isotope masses for
  /// labelled atoms) plus 1.008 per hydrogen of the atoms' H counts.
  public static func molecularWeight(_ mol: Molecule) -> Double {
    var sum = 0.0
    for a in mol.atoms {
      sum += a.isotope != 0 ? isotopeMass(element: a.element, isotope: a.isotope) : (element(a.element)?.averageWeight ?? 0)
      sum += Double(a.hydrogens) * hydrogenWeight
    }
    return sum
  }

  /// Average molecular weight of the heavy atoms only (RDKit `Descriptors.HeavyAtomMolWt`): no
  /// hydrogen counts, no H atoms.
  public static func heavyAtomMolecularWeight(_ mol: Molecule) -> Double {
    var sum = 0.0
    for a in mol.atoms where a.element != 1 {
      sum += a.isotope != 0 ? isotopeMass(element: a.element, isotope: a.isotope) : (element(a.element)?.averageWeight ?? 0)
    }
    return sum
  }

  /// Monoisotopic mass (RDKit `Descriptors.ExactMolWt`): most common isotope masses (isotope
  /// masses for labelled atoms), less an electron mass per unit of positive charge, plus
  /// 1.007825032 per hydrogen of the H counts.
  public static func exactMolecularWeight(_ mol: Molecule) -> Double {
    var sum = 0.0
    var hydrogens = 0
    for a in mol.atoms {
      sum += a.isotope != 0 ? isotopeMass(element: a.element, isotope: a.isotope) : (element(a.element)?.monoisotopicMass ?? 0)
      hydrogens += a.hydrogens
      sum -= electronMass * Double(a.charge)
    }
    return sum + Double(hydrogens) * hydrogenMass
  }

  /// Molecular formula as RDKit's `CalcMolFormula` writes it: C, then H, then the other symbols
  /// in byte order (`*` for dummies first among them), each followed by its count when above 1,
  /// then the net charge (`+`, `+2`, `-`, `-2`). Isotopes are counted with their element.
  public static func formula(_ mol: Molecule) -> String {
    var counts = [Int](repeating: 0, count: PeriodicTable.elements.count)
    var other: [String: Int] = [:]  // elements beyond the table (not expected)
    var hydrogens = 0
    var charge = 0
    for a in mol.atoms {
      if a.element >= 0 && a.element < counts.count { counts[a.element] += 1 } else { other["?\(a.element)", default: 0] += 1 }
      hydrogens += a.hydrogens
      charge += a.charge
    }
    counts[1] += hydrogens
    var out = ""
    func put(_ symbol: String, _ n: Int) {
      out += symbol
      if n > 1 { out += String(n) }
    }
    if counts[6] > 0 { put("C", counts[6]) }
    if counts[1] > 0 { put("H", counts[1]) }
    for z in formulaOrder where counts[z] > 0 { put(PeriodicTable.elements[z].symbol, counts[z]) }
    for (symbol, n) in other.sorted(by: { $0.key < $1.key }) { put(symbol, n) }
    if charge > 0 {
      out += "+"
      if charge > 1 { out += String(charge) }
    } else if charge < 0 {
      out += "-"
      if charge < -1 { out += String(-charge) }
    }
    return out
  }

  /// Atomic numbers other than C and H, in the byte order of their symbols.
  static let formulaOrder: [Int] = PeriodicTable.elements.indices.filter { $0 != 1 && $0 != 6 }
    .sorted { Array(PeriodicTable.elements[$0].symbol.utf8).lexicographicallyPrecedes(Array(PeriodicTable.elements[$1].symbol.utf8)) }

  /// Atoms heavier than hydrogen (RDKit `HeavyAtomCount`; dummies not counted).
  public static func heavyAtomCount(_ mol: Molecule) -> Int {
    var n = 0
    for a in mol.atoms where a.element > 1 { n += 1 }
    return n
  }

  /// Hydrogens on N and O, H atoms bonded to them included (RDKit `NHOHCount`).
  public static func nhohCount(_ mol: Molecule) -> Int {
    var n = 0
    for (i, a) in mol.atoms.enumerated() where a.element == 7 || a.element == 8 {
      n += a.hydrogens
      for b in mol.adjacency[i] where mol.atoms[mol.bonds[b].other(i)].element == 1 { n += 1 }
    }
    return n
  }

  /// Number of N and O atoms (RDKit `NOCount`).
  public static func noCount(_ mol: Molecule) -> Int {
    var n = 0
    for a in mol.atoms where a.element == 7 || a.element == 8 { n += 1 }
    return n
  }

  /// Topological polar surface area (Ertl et al. 2000, RDKit `CalcTPSA`): contributions of N and
  /// O atoms, and of P and S with `includeSandP`.
  public static func tpsa(_ mol: Molecule, includeSandP: Bool = false) -> Double {
    var sum = 0.0
    for (i, a) in mol.atoms.enumerated() {
      let z = a.element
      guard z == 7 || z == 8 || (includeSandP && (z == 15 || z == 16)) else { continue }
      sum += tpsaContribution(mol, i)
    }
    return sum
  }

  static func tpsaContribution(_ mol: Molecule, _ i: Int) -> Double {
    let a = mol.atoms[i]
    var neighbors = mol.adjacency[i].count
    var hydrogens = a.hydrogens
    var single = 0, double = 0, triple = 0, aromatic = 0
    for b in mol.adjacency[i] {
      let bond = mol.bonds[b]
      if mol.atoms[bond.other(i)].element == 1 {
        neighbors -= 1
        hydrogens += 1
        continue
      }
      switch bond.order {
      case .single: single += 1
      case .double: double += 1
      case .triple: triple += 1
      case .aromatic: aromatic += 1
      default: break
      }
    }
    var ring3: Bool? = nil
    for rule in DescriptorData.tpsaRules
    where rule.element == a.element && rule.neighbors == neighbors && rule.hydrogens == hydrogens && rule.charge == a.charge
      && (rule.single < 0 || rule.single == single) && (rule.double < 0 || rule.double == double)
      && (rule.triple < 0 || rule.triple == triple) && (rule.aromatic < 0 || rule.aromatic == aromatic)
    {
      if rule.ring3 >= 0 {
        if ring3 == nil { ring3 = mol.ringAtoms.contains { $0.count == 3 && $0.contains(i) } }
        if ring3! != (rule.ring3 == 1) { continue }
      }
      return rule.value
    }
    switch a.element {
    case 7: return max(0, 30.5 - 8.2 * Double(neighbors) + 1.5 * Double(hydrogens))
    case 8: return max(0, 28.5 - 8.6 * Double(neighbors) + 1.5 * Double(hydrogens))
    default: return 0
    }
  }

  /// Number of rings in the ring set (RDKit `RingCount`, symmetrized SSSR).
  public static func ringCount(_ mol: Molecule) -> Int { mol.ringBonds.count }

  /// Rings whose bonds are all aromatic (RDKit `NumAromaticRings`).
  public static func aromaticRingCount(_ mol: Molecule) -> Int {
    mol.ringBonds.reduce(0) { $0 + ($1.allSatisfy { mol.bonds[$0].order == .aromatic } ? 1 : 0) }
  }

  /// Rings with at least one non-aromatic bond (RDKit `NumAliphaticRings`).
  public static func aliphaticRingCount(_ mol: Molecule) -> Int { mol.ringBonds.count - aromaticRingCount(mol) }

  /// Rings whose bonds are all single (RDKit `NumSaturatedRings`).
  public static func saturatedRingCount(_ mol: Molecule) -> Int {
    mol.ringBonds.reduce(0) { $0 + ($1.allSatisfy { mol.bonds[$0].order == .single } ? 1 : 0) }
  }

  /// Fraction of carbons that are sp3 (RDKit `FractionCSP3`; 0 without carbons). RDKit counts a
  /// carbon as sp3 when it has four connections, neighbours plus hydrogens (its total degree),
  /// not by its hybridization flag: a radical or anionic CH2/CH3 is not counted, a square-planar
  /// carbon with four neighbours is.
  public static func fractionCSP3(_ mol: Molecule) -> Double {
    var carbons = 0, sp3 = 0
    for (i, a) in mol.atoms.enumerated() where a.element == 6 {
      carbons += 1
      if mol.adjacency[i].count + a.hydrogens == 4 { sp3 += 1 }
    }
    return carbons == 0 ? 0 : Double(sp3) / Double(carbons)
  }
}
