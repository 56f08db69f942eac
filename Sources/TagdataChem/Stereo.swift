/// Stereo perception after sanitization: double-bond configurations from `/` `\` marks, and
/// removal of stereo marks that describe nothing (centres with two equivalent neighbours,
/// double bonds with two equivalent substituents on one end or in rings of fewer than 8 atoms).
enum Stereo {
  /// Marks the lone pair of a three-connected S, Se or P centre in a chirality order.
  static let lonePair = -3
  static func perceive(_ mol: inout Molecule) {
    // Configurations already set (from molfile coordinates) are kept; `/` `\` marks add the rest.
    // Ring lookups through per-call tables (a scan of every ring per bond or atom was quadratic
    // in the number of rings: 5,000 furans joined by '.').
    let smallRing = mol.smallRingBonds()
    let unfit = Set(mol.doubleBondStereo.map(\.bond).filter { mol.bonds[$0].order != .double || smallRing.contains($0) })
    if !unfit.isEmpty { mol.doubleBondStereo.removeAll { unfit.contains($0.bond) } }
    let preset = Set(mol.doubleBondStereo.map(\.bond))
    for b in mol.bonds.indices where mol.bonds[b].order == .double && !preset.contains(b) && !mol.unknownConfiguration.contains(b) {
      let bond = mol.bonds[b]
      guard let x = marked(mol, end: bond.a, double: b), let y = marked(mol, end: bond.b, double: b) else { continue }
      if smallRing.contains(b) { continue }
      mol.doubleBondStereo.append(DoubleBondStereo(bond: b, reference: (x.atom, y.atom), trans: x.up != y.up))
    }
    mol.directionHints = [:]
    mol.unknownConfiguration = []
    for i in mol.atoms.indices where mol.atoms[i].chirality != .none {
      let a = mol.atoms[i]
      let degree = mol.degree(i)
      var order = a.stereoOrder
      let lonePair = degree == 3 && a.hydrogens == 0 && [15, 16, 34].contains(a.element)
      // A lone pair counts as the last neighbour (RDKit's reading, which differs from an
      // implicit H only when the centre is the first atom written).
      if lonePair {
        // From SMILES the lone pair is not in the order yet; from a molfile it holds the -1 slot.
        if let k = order.firstIndex(of: -1) { order[k] = Stereo.lonePair } else { order.append(Stereo.lonePair) }
      }
      if order.count != 4 || order.contains(-2) || (a.hydrogens > 1) || (degree + a.hydrogens != 4 && !lonePair) {
        mol.atoms[i].chirality = .none
        continue
      }
      mol.atoms[i].stereoOrder = order
    }
    for i in mol.atoms.indices where mol.atoms[i].squarePlanar != 0 {
      let a = mol.atoms[i]
      if a.stereoOrder.count != 4 || a.stereoOrder.contains(-2) || mol.degree(i) + a.hydrogens != 4 {
        mol.atoms[i].squarePlanar = 0
      }
    }
    // Symmetry: stereo marks whose neighbours are equivalent go.
    guard !mol.doubleBondStereo.isEmpty || mol.atoms.contains(where: { $0.chirality != .none || $0.squarePlanar != 0 })
    else { return }
    // One refinement over all atoms: classes are compared only among neighbours of one atom, so
    // components need no ranking of their own (one per component cost the whole input each).
    do {
      let component = Array(mol.atoms.indices)
      let ranks = CanonicalRanking(isomeric: false, isotopes: true).refinedRanks(mol, atoms: component)
      let atomRings = mol.atomRings()
      // Square-planar centres describe something unless three or four neighbours are equivalent.
      for i in component where mol.atoms[i].squarePlanar != 0 {
        var count: [Int: Int] = [:]
        for n in mol.atoms[i].stereoOrder { count[n < 0 ? -1 : ranks[n], default: 0] += 1 }
        if count.values.contains(where: { $0 >= 3 }) { mol.atoms[i].squarePlanar = 0 }
      }
      for i in component where mol.atoms[i].chirality != .none {
        let keys = mol.atoms[i].stereoOrder.map { $0 < 0 ? -1 : ranks[$0] }
        if Set(keys).count != keys.count && !ringStereo(mol, i, ranks, atomRings: atomRings) { mol.atoms[i].chirality = .none }
      }
      let current = mol
      mol.doubleBondStereo.removeAll { s in
        let mol = current
        let bond = mol.bonds[s.bond]
        for end in [bond.a, bond.b] {
          let subs = mol.neighbors(end).filter { $0 != bond.other(end) }
          if subs.count == 2 && ranks[subs[0]] == ranks[subs[1]] { return true }
        }
        return false
      }
    }
  }

  /// A centre in a ring whose two tied neighbours are ring atoms of a ring holding another
  /// stereo centre (cis/trans-1,4-disubstituted rings): the configuration is relative and real.
  static func ringStereo(_ mol: Molecule, _ i: Int, _ ranks: [Int], atomRings: [[Int]]) -> Bool {
    let rings = atomRings[i].map { mol.ringAtoms[$0] }
    guard !rings.isEmpty else { return false }
    for ring in rings where ring.contains(where: { $0 != i && mol.atoms[$0].chirality != .none }) {
      let inRing = mol.atoms[i].stereoOrder.filter { $0 >= 0 && ring.contains($0) }
      if inRing.count == 2 && ranks[inRing[0]] == ranks[inRing[1]] {
        let others = mol.atoms[i].stereoOrder.filter { !inRing.contains($0) }.map { $0 < 0 ? -1 : ranks[$0] }
        return Set(others).count == others.count
      }
    }
    // A fusion atom (cis/trans-decalin): the two tied neighbours lie in different rings through
    // the centre, each ring holding another stereo centre, and the other neighbours differ.
    let order = mol.atoms[i].stereoOrder
    let keys = order.map { $0 < 0 ? -1 : ranks[$0] }
    var tied: [Int] = []
    for (k, key) in keys.enumerated() where keys.filter({ $0 == key }).count > 1 { tied.append(order[k]) }
    guard tied.count == 2, tied.allSatisfy({ $0 >= 0 }) else { return false }
    func inStereoRing(_ n: Int) -> Bool {
      rings.contains { ring in ring.contains(n) && ring.contains { $0 != i && mol.atoms[$0].chirality != .none } }
    }
    return inStereoRing(tied[0]) && inStereoRing(tied[1])
  }

  /// The first substituent of `end` (other than across `double`) whose bond carries `/` or `\`,
  /// and whether it points up from `end`.
  static func marked(_ mol: Molecule, end: Int, double: Int) -> (atom: Int, up: Bool)? {
    let degree = mol.degree(end)
    guard degree >= 2 && degree <= 3 else { return nil }
    if let hint = mol.directionHints[end], mol.bond(between: end, hint.neighbor) != nil { return (hint.neighbor, hint.up) }
    for e in mol.adjacency[end] where e != double {
      let bond = mol.bonds[e]
      guard bond.direction != 0, bond.order == .single || bond.order == .aromatic else { continue }
      // Written "end d n" (end first): n is up for '/'; written "n d end": n is down for '/'.
      let up = bond.a == end ? bond.direction > 0 : bond.direction < 0
      return (bond.other(end), up)
    }
    return nil
  }
}
