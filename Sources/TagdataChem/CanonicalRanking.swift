/// Canonical atom ranks by partition refinement (after Schneider, Sayle and Landrum, 2015):
/// atoms start in classes of equal invariants (atom class, degree, element, isotope, hydrogens,
/// charge, and with stereo the configuration relative to the current classes); classes are
/// split by the sorted lists of (bond order, bond stereo, neighbour class) until stable; then
/// ties are broken one atom at a time, each break followed by refinement.
///
/// Ranks go 0..<n over the atoms given (one connected component); tied atoms share the lowest
/// position of their class.
public struct CanonicalRanking {
  public var isomeric: Bool

  public init(isomeric: Bool = true) { self.isomeric = isomeric }

  /// Ranks of `atoms` (indices into `mol`), refined but with ties left in place.
  func refinedRanks(_ mol: Molecule, atoms: [Int]) -> [Int: Int] {
    var local = [Int: Int]()
    for (k, a) in atoms.enumerated() { local[a] = k }
    var ranks = initialRanks(mol, atoms)
    refine(mol, atoms, local, &ranks)
    var out = [Int: Int]()
    for (k, a) in atoms.enumerated() { out[a] = ranks[k] }
    return out
  }

  /// Ranks of `atoms`, all distinct.
  public func ranks(_ mol: Molecule, atoms: [Int]) -> [Int: Int] {
    var local = [Int: Int]()
    for (k, a) in atoms.enumerated() { local[a] = k }
    var ranks = initialRanks(mol, atoms)
    refine(mol, atoms, local, &ranks)
    while true {
      // The lowest class with more than one member: split off its last member (highest
      // original index among equals) to the top of the class.
      var counts = [Int: Int]()
      for r in ranks { counts[r, default: 0] += 1 }
      guard let tied = counts.filter({ $0.value > 1 }).keys.min() else { break }
      let members = ranks.indices.filter { ranks[$0] == tied }
      let chosen = members.max()!
      ranks[chosen] = tied + counts[tied]! - 1
      refine(mol, atoms, local, &ranks)
    }
    var out = [Int: Int]()
    for (k, a) in atoms.enumerated() { out[a] = ranks[k] }
    return out
  }

  struct Invariant: Comparable {
    var values: [Int]
    static func < (a: Self, b: Self) -> Bool { a.values.lexicographicallyPrecedes(b.values) }
  }

  func initialRanks(_ mol: Molecule, _ atoms: [Int]) -> [Int] {
    let keys = atoms.map { a -> Invariant in
      let atom = mol.atoms[a]
      return Invariant(values: [
        atom.atomClass, mol.degree(a), atom.element, isomeric ? atom.isotope : 0, atom.hydrogens, atom.charge,
        atom.radicals, isomeric && atom.chirality != .none ? 1 : 0,
      ])
    }
    return Self.rank(keys)
  }

  /// Position of the first element of each key's class in sorted order.
  static func rank(_ keys: [Invariant]) -> [Int] {
    let order = keys.indices.sorted { keys[$0] < keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }
    var ranks = [Int](repeating: 0, count: keys.count)
    var start = 0
    for (pos, k) in order.enumerated() {
      if pos > 0 && keys[order[pos - 1]] != keys[k] { start = pos }
      ranks[k] = start
    }
    return ranks
  }

  /// Refines until the number of classes stops growing. Each atom's key: its current class,
  /// then its stereo label, then its bonds sorted descending by (order, stereo, neighbour class).
  func refine(_ mol: Molecule, _ atoms: [Int], _ local: [Int: Int], _ ranks: inout [Int]) {
    var classes = Set(ranks).count
    while true {
      let keys = atoms.indices.map { k -> Invariant in
        let a = atoms[k]
        var v = [ranks[k], isomeric ? chiralLabel(mol, a, local, ranks) : 0]
        var records: [[Int]] = []
        for b in mol.adjacency[a] {
          let bond = mol.bonds[b]
          guard let nb = local[bond.other(a)] else { continue }
          records.append([Int(bond.order.rawValue), isomeric ? bondStereoLabel(mol, b, local, ranks) : 0, ranks[nb]])
        }
        records.sort { $0.lexicographicallyPrecedes($1) }
        for r in records.reversed() { v.append(contentsOf: r) }
        return Invariant(values: v)
      }
      ranks = Self.rank(keys)
      let now = Set(ranks).count
      if now == classes { return }
      classes = now
    }
  }

  /// 1 or 2 for a chiral atom whose neighbours are all in different classes (the parity of
  /// the permutation sorting them, combined with @/@@); 0 otherwise.
  func chiralLabel(_ mol: Molecule, _ a: Int, _ local: [Int: Int], _ ranks: [Int]) -> Int {
    let atom = mol.atoms[a]
    guard atom.chirality != .none else { return 0 }
    let keys = atom.stereoOrder.map { $0 < 0 ? -1 : (local[$0].map { ranks[$0] } ?? -2) }
    guard Set(keys).count == keys.count else { return 0 }
    let odd = Permutation.isOdd(keys)
    return (atom.chirality == .clockwise) != odd ? 2 : 1
  }

  /// For a stereo double bond whose ends each have a highest-class substituent: 1 if those
  /// two are cis, 2 if trans; 0 otherwise.
  func bondStereoLabel(_ mol: Molecule, _ b: Int, _ local: [Int: Int], _ ranks: [Int]) -> Int {
    guard let s = mol.doubleBondStereo.first(where: { $0.bond == b }) else { return 0 }
    let bond = mol.bonds[b]
    func top(_ end: Int) -> (atom: Int, unique: Bool)? {
      let subs = mol.neighbors(end).filter { $0 != bond.other(end) }
      guard !subs.isEmpty else { return nil }
      let r = subs.map { local[$0].map { ranks[$0] } ?? -1 }
      let best = r.max()!
      return (subs[r.firstIndex(of: best)!], r.filter { $0 == best }.count == 1)
    }
    guard let x = top(bond.a), let y = top(bond.b), x.unique, y.unique else { return 0 }
    var trans = s.trans
    if x.atom != s.reference.0 { trans.toggle() }
    if y.atom != s.reference.1 { trans.toggle() }
    return trans ? 2 : 1
  }
}

enum Permutation {
  /// Whether sorting `values` (distinct) takes an odd number of swaps.
  static func isOdd(_ values: [Int]) -> Bool {
    var v = values
    var swaps = 0
    for i in 0..<v.count {
      for j in 0..<(v.count - 1 - i) where v[j] > v[j + 1] {
        v.swapAt(j, j + 1)
        swaps += 1
      }
    }
    return swaps % 2 == 1
  }

  /// Parity of the permutation taking `from` to `to` (same elements).
  static func isOdd(from: [Int], to: [Int]) -> Bool {
    var position = [Int: Int]()
    for (i, x) in to.enumerated() { position[x] = i }
    return isOdd(from.map { position[$0] ?? 0 })
  }
}
