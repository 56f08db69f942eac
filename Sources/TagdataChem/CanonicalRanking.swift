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
  /// Whether isotopes tell atoms apart (by default, when isomeric). Stereo perception ranks
  /// with isotopes but without stereo: a CH3 and a 14CH3 make a centre chiral.
  public var isotopes: Bool

  public init(isomeric: Bool = true, isotopes: Bool? = nil) {
    self.isomeric = isomeric
    self.isotopes = isotopes ?? isomeric
  }

  /// Ranks of `atoms` (a connected component), refined but with ties left in place. The result
  /// is indexed by atom (`-1` for atoms outside `atoms`).
  func refinedRanks(_ mol: Molecule, atoms: [Int]) -> [Int] {
    var state = State(mol: mol, atoms: atoms, isomeric: isomeric, isotopes: isotopes)
    state.refine()
    return state.globalRanks()
  }

  /// Ranks of `atoms`, all distinct, indexed by atom (`-1` outside `atoms`).
  public func ranks(_ mol: Molecule, atoms: [Int]) -> [Int] {
    var state = State(mol: mol, atoms: atoms, isomeric: isomeric, isotopes: isotopes)
    state.refine()
    if state.splitTiesByRings() { state.refine() }
    while state.breakTie() { state.refine() }
    return state.globalRanks()
  }

  /// Complete rankings for the ways of breaking ties that can matter for stereo, depth first,
  /// at most `limit` rankings (past the limit the remaining ties are broken by index).
  ///
  /// With stereo, the choice among symmetric atoms can mirror the configuration labels in the
  /// output (cis- and trans-1,4-cyclohexanediol), so the writer keeps the smallest string over
  /// these rankings. Only tied classes holding a stereo atom or a neighbour of one (a chiral or
  /// square-planar centre, an atom of a stereo double bond) are branched on, lowest rank first;
  /// once none is left, the other ties are broken the ordinary way, as without stereo: they
  /// cannot change a configuration label, and branching on them only multiplied identical
  /// strings (a symmetric phenyl far from any centre doubled the work).
  public func rankVariants(_ mol: Molecule, atoms: [Int], limit: Int = 32) -> [[Int]] {
    var state = State(mol: mol, atoms: atoms, isomeric: isomeric, isotopes: isotopes)
    state.refine()
    if state.splitTiesByRings() { state.refine() }
    // Local atoms near stereo: the stereo atoms and their neighbours.
    var relevant = [Bool](repeating: false, count: atoms.count)
    func mark(_ atom: Int) {
      let k = state.local[atom]
      if k >= 0 { relevant[k] = true }
      for n in mol.neighbors(atom) where state.local[n] >= 0 { relevant[state.local[n]] = true }
    }
    for a in atoms where mol.atoms[a].chirality != .none || mol.atoms[a].squarePlanar != 0 { mark(a) }
    for d in mol.doubleBondStereo where state.local[mol.bonds[d.bond].a] >= 0 {
      mark(mol.bonds[d.bond].a)
      mark(mol.bonds[d.bond].b)
    }
    var out: [[Int]] = []
    func finish(_ s: State) {
      var next = s
      while next.breakTie() { next.refine() }
      out.append(next.globalRanks())
    }
    func explore(_ s: State) {
      var size = [Int](repeating: 0, count: s.ranks.count)
      for r in s.ranks { size[r] += 1 }
      var tied = Int.max
      for k in s.ranks.indices where relevant[k] && size[s.ranks[k]] > 1 { tied = min(tied, s.ranks[k]) }
      guard tied != .max else {
        finish(s)
        return
      }
      let members = s.ranks.indices.filter { s.ranks[$0] == tied }
      // Terminal atoms on one common neighbour (the methyls of a t-butyl, the oxygens of a
      // sulfonyl) are interchangeable: one choice stands for all (not around a square-planar
      // centre, where cis and trans neighbours differ).
      let anchors = Set(members.map { mol.neighbors(atoms[$0]).first ?? -1 })
      let interchangeable = anchors.count == 1 && members.allSatisfy { mol.degree(atoms[$0]) == 1 }
        && mol.atoms[anchors.first!].squarePlanar == 0
      for member in interchangeable ? [members.last!] : members {
        if out.count >= limit { return }
        var next = s
        next.ranks[member] = tied + size[tied] - 1
        next.refine()
        if out.count + 1 >= limit {
          // Budget spent: finish this branch the ordinary way.
          finish(next)
          return
        }
        explore(next)
      }
    }
    explore(state)
    return out
  }

  /// Working arrays, all flat: local atom k is `atoms[k]`; `local[atom]` maps back.
  struct State {
    let mol: Molecule
    let atoms: [Int]
    let isomeric: Bool
    var local: [Int]
    var ranks: [Int]
    var invariants: [Int]  // `width` values per atom
    let width = 8
    // Neighbour records of each atom, packed (order, stereo, neighbour rank), sorted descending.
    var recordStart: [Int]
    var records: [Int]
    var chiral: [Int]
    var order: [Int]
    /// The ranks before the current refinement round (a spare buffer between rounds).
    var previous: [Int] = []
    let hasStereo: Bool

    init(mol: Molecule, atoms: [Int], isomeric: Bool, isotopes: Bool) {
      self.mol = mol
      self.atoms = atoms
      self.isomeric = isomeric
      local = [Int](repeating: -1, count: mol.atoms.count)
      for (k, a) in atoms.enumerated() { local[a] = k }
      invariants = []
      invariants.reserveCapacity(atoms.count * 8)
      for a in atoms {
        let atom = mol.atoms[a]
        invariants.append(contentsOf: [
          atom.atomClass, mol.degree(a), atom.element, isotopes ? atom.isotope : 0, atom.hydrogens, atom.charge,
          atom.radicals, isomeric && (atom.chirality != .none || atom.squarePlanar != 0) ? 1 : 0,
        ])
      }
      recordStart = [Int](repeating: 0, count: atoms.count + 1)
      var total = 0
      for (k, a) in atoms.enumerated() {
        recordStart[k] = total
        total += mol.adjacency[a].count
      }
      recordStart[atoms.count] = total
      records = [Int](repeating: 0, count: total)
      chiral = [Int](repeating: 0, count: atoms.count)
      order = Array(atoms.indices)
      ranks = [Int](repeating: 0, count: atoms.count)
      hasStereo = isomeric && (!mol.doubleBondStereo.isEmpty
        || atoms.contains { mol.atoms[$0].chirality != .none || mol.atoms[$0].squarePlanar != 0 })
      // Initial classes from the invariants alone.
      let inv = invariants, w = width
      order.sort { x, y in
        for i in 0..<w where inv[x * w + i] != inv[y * w + i] { return inv[x * w + i] < inv[y * w + i] }
        return x < y
      }
      assignRanks { x, y in
        for i in 0..<w where inv[x * w + i] != inv[y * w + i] { return false }
        return true
      }
    }

    /// Ranks from `order`: each atom gets the position of the first member of its class.
    /// Returns the number of classes.
    @discardableResult
    mutating func assignRanks(_ same: (Int, Int) -> Bool) -> Int {
      var start = 0
      var classes = order.isEmpty ? 0 : 1
      for pos in order.indices {
        if pos > 0 && !same(order[pos - 1], order[pos]) {
          start = pos
          classes += 1
        }
        ranks[order[pos]] = start
      }
      return classes
    }

    func classCount() -> Int {
      var seen = [Bool](repeating: false, count: ranks.count)
      var n = 0
      for r in ranks where !seen[r] {
        seen[r] = true
        n += 1
      }
      return n
    }

    /// Refines until the number of classes stops growing. Each atom's key: its current class,
    /// its stereo label, then its bonds sorted descending by (order, stereo, neighbour class).
    mutating func refine() {
      var classes = classCount()
      while true {
        for (k, a) in atoms.enumerated() {
          let first = recordStart[k]
          var n = first
          for b in mol.adjacency[a] {
            let bond = mol.bonds[b]
            let nb = local[bond.other(a)]
            guard nb >= 0 else { continue }
            let stereo = hasStereo ? bondStereoLabel(b) : 0
            records[n] = Int(bond.order.rawValue) << 40 | stereo << 32 | ranks[nb]
            n += 1
          }
          // Descending; an atom has a handful of bonds: insertion sort in place.
          records.withUnsafeMutableBufferPointer { r in
            var i = first + 1
            while i < n {
              let v = r[i]
              var j = i - 1
              while j >= first && r[j] < v {
                r[j + 1] = r[j]
                j -= 1
              }
              r[j + 1] = v
              i += 1
            }
          }
          chiral[k] = hasStereo ? chiralLabel(a) : 0
        }
        // The comparison reads the ranks as they were while the new ones are written: keep the
        // old ones in a spare buffer (a copy into it, not a new array per round).
        if previous.count == ranks.count && !ranks.isEmpty {
          previous.withUnsafeMutableBufferPointer { d in
            ranks.withUnsafeBufferPointer { d.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
          }
        } else {
          previous = Array(ranks)
        }
        let (rs, rec, ch, rk) = (recordStart, records, chiral, previous)
        func compare(_ x: Int, _ y: Int) -> Int {
          if rk[x] != rk[y] { return rk[x] < rk[y] ? -1 : 1 }
          if ch[x] != ch[y] { return ch[x] < ch[y] ? -1 : 1 }
          var i = rs[x], j = rs[y]
          while i < rs[x + 1] && j < rs[y + 1] {
            if rec[i] != rec[j] { return rec[i] < rec[j] ? -1 : 1 }
            i += 1
            j += 1
          }
          let lx = rs[x + 1] - rs[x], ly = rs[y + 1] - rs[y]
          return lx == ly ? 0 : (lx < ly ? -1 : 1)
        }
        order.sort { x, y in
          let c = compare(x, y)
          return c != 0 ? c < 0 : x < y
        }
        let now = assignRanks { compare($0, $1) == 0 }
        if now == classes { return }
        classes = now
      }
    }

    /// Splits classes that refinement left tied but whose atoms lie in different rings (count
    /// and sizes of the smallest rings through each atom). Symmetric atoms always agree on that,
    /// so this only separates atoms refinement alone cannot tell apart, as in regular cage
    /// structures, where breaking such a tie by index would make the result depend on the
    /// input order. Returns whether any class split.
    mutating func splitTiesByRings() -> Bool {
      let before = classCount()
      guard !mol.ringAtoms.isEmpty, before < atoms.count else { return false }
      var signature = [Int](repeating: 0, count: atoms.count)
      for ring in mol.ringAtoms {
        // Four bits per ring size 3...15 (larger rings count as 15).
        let shift = 4 * (min(max(ring.count, 3), 15) - 3)
        for a in ring where local[a] >= 0 { signature[local[a]] &+= 1 << shift }
      }
      let old = ranks
      order.sort { x, y in
        if old[x] != old[y] { return old[x] < old[y] }
        if signature[x] != signature[y] { return signature[x] < signature[y] }
        return x < y
      }
      let after = assignRanks { old[$0] == old[$1] && signature[$0] == signature[$1] }
      return after > before
    }

    /// Splits one atom off the lowest tied class (the member with the highest index, moved to
    /// the top of its class). Returns false when every class is a singleton.
    mutating func breakTie() -> Bool {
      var size = [Int](repeating: 0, count: ranks.count)
      for r in ranks { size[r] += 1 }
      guard let tied = size.indices.first(where: { size[$0] > 1 }) else { return false }
      var chosen = -1
      for k in ranks.indices where ranks[k] == tied { chosen = k }
      ranks[chosen] = tied + size[tied] - 1
      return true
    }

    func globalRanks() -> [Int] {
      var out = [Int](repeating: -1, count: mol.atoms.count)
      for (k, a) in atoms.enumerated() { out[a] = ranks[k] }
      return out
    }

    func rank(of atom: Int) -> Int {
      let k = local[atom]
      return k >= 0 ? ranks[k] : -2
    }

    /// 1 or 2 for a chiral atom whose neighbours are all in different classes (the parity of
    /// the permutation sorting them, combined with @/@@); 0 otherwise.
    func chiralLabel(_ a: Int) -> Int {
      let atom = mol.atoms[a]
      if atom.squarePlanar != 0 {
        // Which classes are trans to which, packed.
        let keys = atom.stereoOrder.map { $0 < 0 ? 0 : rank(of: $0) + 1 }
        let pairs = SquarePlanar.transPairs(keys, atom.squarePlanar)
        var v = 0
        for p in pairs { for x in p { v = v &* 8191 &+ x } }
        return 3 + (v & 0xFFFF_FFFF)
      }
      guard atom.chirality != .none else { return 0 }
      let keys = atom.stereoOrder.map { $0 < 0 ? -1 : rank(of: $0) }
      guard Set(keys).count == keys.count else { return 0 }
      let odd = Permutation.isOdd(keys)
      return (atom.chirality == .clockwise) != odd ? 2 : 1
    }

    /// For a stereo double bond whose ends each have a highest-class substituent: 1 if those
    /// two are cis, 2 if trans; 0 otherwise.
    func bondStereoLabel(_ b: Int) -> Int {
      guard mol.bonds[b].order == .double, let s = mol.doubleBondStereo.first(where: { $0.bond == b }) else { return 0 }
      let bond = mol.bonds[b]
      func top(_ end: Int) -> (atom: Int, unique: Bool)? {
        let subs = mol.neighbors(end).filter { $0 != bond.other(end) }
        guard !subs.isEmpty else { return nil }
        let r = subs.map { rank(of: $0) }
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
