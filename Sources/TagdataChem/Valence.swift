/// The valence model (RDKit-compatible): which total valences an atom may have, its implicit
/// hydrogens, radicals, and the valence check.
enum Valence {
  /// Allowed total valences of an atom given its charge, in half units (×2), ascending, or nil
  /// when any valence is allowed. Charged atoms use the list of the isoelectronic element
  /// (N+ like C, O- like F, ...); negatively charged P, S, As, Se keep their own list shifted
  /// by the charge (thiolate S- may have valence 1, 3, 5).
  static func allowed(element: Int, charge: Int) -> [Int]? {
    if charge >= -8 && charge <= 7 && element >= 0 && element < PeriodicTable.elements.count {
      return table[element * 16 + charge + 8]
    }
    return computeAllowed(element: element, charge: charge)
  }

  /// `allowed` for every element and charges -8...7, computed once.
  static let table: [[Int]?] = {
    var t: [[Int]?] = []
    for e in 0..<PeriodicTable.elements.count {
      for c in -8...7 { t.append(computeAllowed(element: e, charge: c)) }
    }
    return t
  }()

  static func computeAllowed(element: Int, charge: Int) -> [Int]? {
    guard element > 0, element < PeriodicTable.elements.count else { return nil }
    let own = PeriodicTable.elements[element].valences
    if own.contains(-1) && own.count == 1 { return nil }
    if charge == 0 { return own.contains(-1) ? nil : own.map { $0 * 2 } }
    let effective = element - charge
    if charge < 0 && [15, 16, 33, 34].contains(element) {
      let shifted = own.filter { $0 >= 0 }.map { ($0 + charge) * 2 }.filter { $0 >= 0 }
      return own.contains(-1) ? nil : shifted
    }
    guard effective >= 1, effective < PeriodicTable.elements.count else { return [] }
    let list = PeriodicTable.elements[effective].valences
    if list.contains(-1) { return nil }
    return list.map { $0 * 2 }
  }

  /// Sum of bond orders of an atom in half units (aromatic bonds count 3 halves).
  static func bondHalfValence(_ mol: Molecule, _ atom: Int) -> Int {
    var v = 0
    for b in mol.adjacency[atom] {
      let bond = mol.bonds[b]
      // A dative bond counts for the acceptor only.
      v += bond.order == .dative ? (bond.b == atom ? 2 : 0) : bond.order.halfValence
    }
    return v
  }

  /// Rounds an aromatic atom's half-unit valence the way RDKit does: above the default valence,
  /// fall back to the largest allowed valence within 1.5 below; x.5 rounds up.
  static func roundAromatic(_ ev2: Int, allowed: [Int]) -> Int {
    var ev2 = ev2
    if let first = allowed.first, ev2 > first {
      if let v = allowed.last(where: { $0 <= ev2 }), ev2 - v <= 3 { ev2 = v }
    }
    return (ev2 + 1) / 2 * 2
  }
}
