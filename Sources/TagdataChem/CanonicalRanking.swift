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
  /// strings (a symmetric phenyl far from any centre doubled the work). The search keeps its
  /// own stack (no recursion: its depth would follow the number of tied classes).
  public func rankVariants(_ mol: Molecule, atoms: [Int], limit: Int = 32) -> [[Int]] {
    var state = State(mol: mol, atoms: atoms, isomeric: isomeric, isotopes: isotopes)
    state.refine()
    if state.splitTiesByRings() { state.refine() }
    // Local atoms near stereo: the stereo atoms and their neighbours.
    var relevant = [Bool](repeating: false, count: atoms.count)
    var relevantList: [Int] = []
    func mark(_ atom: Int) {
      for x in [atom] + mol.neighbors(atom) {
        let k = state.local[x]
        if k >= 0 && !relevant[k] {
          relevant[k] = true
          relevantList.append(k)
        }
      }
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
    /// The members of the lowest tied class holding a relevant atom, by index; nil when none.
    func lowestRelevantTie(_ s: State) -> [Int]? {
      var tied = Int.max
      for k in relevantList where s.cellEnd[s.cell[k]] - s.cell[k] > 1 { tied = min(tied, s.cell[k]) }
      guard tied != .max else { return nil }
      return s.order[tied..<s.cellEnd[tied]].sorted()
    }
    struct Frame {
      var state: State
      var choices: [Int]
      var next: Int
    }
    var stack: [Frame] = []
    func enter(_ s: State) {
      guard let members = lowestRelevantTie(s) else {
        finish(s)
        return
      }
      // Terminal atoms on one common neighbour (the methyls of a t-butyl, the oxygens of a
      // sulfonyl) are interchangeable: one choice stands for all (not around a square-planar
      // centre, where cis and trans neighbours differ).
      let anchors = Set(members.map { mol.neighbors(atoms[$0]).first ?? -1 })
      let interchangeable = anchors.count == 1 && members.allSatisfy { mol.degree(atoms[$0]) == 1 }
        && mol.atoms[anchors.first!].squarePlanar == 0
      stack.append(Frame(state: s, choices: interchangeable ? [members.last!] : members, next: 0))
    }
    enter(state)
    while !stack.isEmpty {
      let top = stack.count - 1
      if out.count >= limit || stack[top].next >= stack[top].choices.count {
        stack.removeLast()
        continue
      }
      let member = stack[top].choices[stack[top].next]
      stack[top].next += 1
      var next = stack[top].state
      next.individualize(member)
      next.refine()
      if out.count + 1 >= limit {
        // Budget spent: finish this branch the ordinary way.
        finish(next)
        stack.removeAll()
        break
      }
      enter(next)
    }
    return out
  }

  /// Partition refinement on flat arrays. Local atom k is `atoms[k]`; `local[atom]` maps back.
  ///
  /// The classes ("cells") are ranges of `order`; an atom's rank is the start of its cell.
  /// Refinement splits cells by their bonds into a splitter cell, counted per bond order, and
  /// queues the new pieces (all but the largest, unless the cell was queued already), so every
  /// atom serves in a splitter O(log n) times: O(m log n) in all, where re-sorting every atom
  /// each round took O(n) rounds on a chain. Every choice depends on cell positions and counts,
  /// never on atom indices, so the result does not depend on the input order. Pieces keep the
  /// order: atoms without bonds into the splitter first, then by their counts.
  struct State {
    let mol: Molecule
    let atoms: [Int]
    let isomeric: Bool
    var local: [Int]
    /// Atoms (local) in cell order.
    var order: [Int]
    /// Local atom -> its index in `order`.
    var position: [Int]
    /// Local atom -> start of its cell (its rank).
    var cell: [Int]
    /// Cell start -> end of the cell (exclusive); meaningful at cell starts only.
    var cellEnd: [Int]
    /// Cell start -> whether it waits in `queue` as a splitter.
    var queued: [Bool]
    /// Max-heap of queued cell starts: the highest classes split first, so that, as in sorting
    /// by neighbour ranks, a bond to a higher class puts an atom later.
    var queue: [Int] = []
    /// Bonds within `atoms`, per local atom (CSR): neighbour and bond-order weight.
    var adjacencyStart: [Int]
    var adjacencyAtom: [Int]
    var adjacencyWeight: [UInt64]
    /// Per local atom, the split key being gathered (0: none), and the atoms that have one.
    var key: [UInt64]
    var keyed: [Int] = []
    /// Local atoms that carry stereo (centres, ends of stereo double bonds).
    var stereoAtoms: [Int] = []
    let hasStereo: Bool
    /// No cell below this position has more than one atom.
    var lowestTied = 0
    /// Bond -> its entry in `mol.doubleBondStereo`.
    var stereoOfBond: [Int: Int] = [:]

    static func mix(_ x: UInt64) -> UInt64 {
      var z = x &+ 0x9E37_79B9_7F4A_7C15
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return (z ^ (z >> 31)) | 1
    }

    var ranks: [Int] { cell }

    /// What a bond adds to its atom's split key: counts per bond order in 16-bit fields, so that
    /// keys order atoms by their bonds into the splitter (more, and higher orders, later);
    /// the rare orders are hashed.
    static func weight(_ order: BondOrder) -> UInt64 {
      switch order {
      case .single: return 1
      case .double: return 1 << 16
      case .triple: return 1 << 32
      case .aromatic: return 1 << 48
      case .quadruple, .dative: return mix(UInt64(order.rawValue))
      }
    }

    init(mol: Molecule, atoms: [Int], isomeric: Bool, isotopes: Bool) {
      self.mol = mol
      self.atoms = atoms
      self.isomeric = isomeric
      let n = atoms.count
      local = [Int](repeating: -1, count: mol.atoms.count)
      for (k, a) in atoms.enumerated() { local[a] = k }
      var invariants: [Int] = []
      invariants.reserveCapacity(n * 8)
      for a in atoms {
        let atom = mol.atoms[a]
        invariants.append(contentsOf: [
          atom.atomClass, mol.degree(a), atom.element, isotopes ? atom.isotope : 0, atom.hydrogens, atom.charge,
          atom.radicals, isomeric && (atom.chirality != .none || atom.squarePlanar != 0) ? 1 : 0,
        ])
      }
      adjacencyStart = [Int](repeating: 0, count: n + 1)
      adjacencyAtom = []
      adjacencyWeight = []
      for (k, a) in atoms.enumerated() {
        adjacencyStart[k] = adjacencyAtom.count
        for b in mol.adjacency[a] {
          let bond = mol.bonds[b]
          let nb = local[bond.other(a)]
          guard nb >= 0 else { continue }
          adjacencyAtom.append(nb)
          adjacencyWeight.append(Self.weight(bond.order))
        }
      }
      adjacencyStart[n] = adjacencyAtom.count
      key = [UInt64](repeating: 0, count: n)
      position = [Int](repeating: 0, count: n)
      cell = [Int](repeating: 0, count: n)
      cellEnd = [Int](repeating: 0, count: n + 1)
      queued = [Bool](repeating: false, count: n + 1)
      hasStereo = isomeric && (!mol.doubleBondStereo.isEmpty
        || atoms.contains { mol.atoms[$0].chirality != .none || mol.atoms[$0].squarePlanar != 0 })
      if hasStereo {
        var isStereo = [Bool](repeating: false, count: n)
        for (k, a) in atoms.enumerated() where mol.atoms[a].chirality != .none || mol.atoms[a].squarePlanar != 0 {
          isStereo[k] = true
        }
        for s in mol.doubleBondStereo {
          for end in [mol.bonds[s.bond].a, mol.bonds[s.bond].b] where local[end] >= 0 { isStereo[local[end]] = true }
        }
        stereoAtoms = (0..<n).filter { isStereo[$0] }
        for (i, s) in mol.doubleBondStereo.enumerated() { stereoOfBond[s.bond] = i }
      }
      // Initial cells from the invariants alone, all queued.
      let w = 8
      order = invariants.withUnsafeBufferPointer { inv in
        Array(0..<n).sorted { x, y in
          for i in 0..<w where inv[x * w + i] != inv[y * w + i] { return inv[x * w + i] < inv[y * w + i] }
          return false
        }
      }
      var start = 0
      for p in 0..<n {
        let x = order[p]
        position[x] = p
        if p > 0 {
          let y = order[p - 1]
          var same = true
          for i in 0..<w where invariants[x * w + i] != invariants[y * w + i] {
            same = false
            break
          }
          if !same {
            cellEnd[start] = p
            push(start)
            start = p
          }
        }
        cell[x] = start
      }
      if n > 0 {
        cellEnd[start] = n
        push(start)
      }
    }

    mutating func push(_ start: Int) {
      guard !queued[start] else { return }
      queued[start] = true
      queue.append(start)
      var i = queue.count - 1
      while i > 0 {
        let parent = (i - 1) / 2
        if queue[parent] >= queue[i] { break }
        queue.swapAt(parent, i)
        i = parent
      }
    }

    mutating func pop() -> Int? {
      guard let first = queue.first else { return nil }
      let last = queue.removeLast()
      if !queue.isEmpty {
        queue[0] = last
        var i = 0
        while true {
          let l = 2 * i + 1, r = l + 1
          var m = i
          if l < queue.count && queue[l] > queue[m] { m = l }
          if r < queue.count && queue[r] > queue[m] { m = r }
          if m == i { break }
          queue.swapAt(m, i)
          i = m
        }
      }
      queued[first] = false
      return first
    }

    /// Adds `value` to the split key of local atom `k`.
    mutating func addKey(_ k: Int, _ value: UInt64) {
      if key[k] == 0 { keyed.append(k) }
      key[k] &+= value
      if key[k] == 0 { key[k] = 1 }
    }

    /// Splits every cell holding keyed atoms: unkeyed atoms first, then by key. Clears the keys.
    /// Returns whether any cell split.
    @discardableResult
    mutating func splitKeyed() -> Bool {
      guard !keyed.isEmpty else { return false }
      var group = keyed
      keyed.removeAll(keepingCapacity: true)
      // Sorted through pointers: a copy of `cell` or `key` kept alive here would be copied in
      // full by the writes below, once per split.
      cell.withUnsafeBufferPointer { c in
        key.withUnsafeBufferPointer { k in
          group.sort { c[$0] != c[$1] ? c[$0] < c[$1] : k[$0] < k[$1] }
        }
      }
      var split = false
      var i = 0
      while i < group.count {
        let start = cell[group[i]]
        var j = i
        while j < group.count && cell[group[j]] == start { j += 1 }
        let end = cellEnd[start]
        let t = j - i
        if end - start > 1 && (t < end - start || key[group[i]] != key[group[j - 1]]) {
          split = true
          // Move the keyed atoms to the tail of the cell, then write them there in key order.
          var boundary = end
          for g in i..<j {
            let x = group[g]
            boundary -= 1
            let y = order[boundary]
            let px = position[x]
            order[px] = y
            position[y] = px
            order[boundary] = x
            position[x] = boundary
          }
          for g in i..<j {
            let p = end - t + (g - i)
            order[p] = group[g]
            position[group[g]] = p
          }
          // Pieces: [start, end - t) unkeyed, then runs of equal keys.
          var pieces: [(Int, Int)] = []
          if t < end - start { pieces.append((start, end - t)) }
          var g = i
          while g < j {
            var h = g
            while h < j && key[group[h]] == key[group[g]] { h += 1 }
            pieces.append((end - t + (g - i), end - t + (h - i)))
            g = h
          }
          var largest = 0
          for (n, piece) in pieces.enumerated() where piece.1 - piece.0 > pieces[largest].1 - pieces[largest].0 { largest = n }
          let wasQueued = queued[start]
          for (n, piece) in pieces.enumerated() {
            cellEnd[piece.0] = piece.1
            if piece.0 != start { for p in piece.0..<piece.1 { cell[order[p]] = piece.0 } }
            if wasQueued || n != largest { push(piece.0) }
          }
        }
        i = j
      }
      for x in group { key[x] = 0 }
      return split
    }

    /// Refines until no queued cell splits another; with stereo, then splits by the stereo
    /// labels the classes now allow, and refines again, until those change nothing.
    mutating func refine() {
      while true {
        while let s = pop() {
          for p in s..<cellEnd[s] {
            let v = order[p]
            for e in adjacencyStart[v]..<adjacencyStart[v + 1] { addKey(adjacencyAtom[e], adjacencyWeight[e]) }
          }
          splitKeyed()
        }
        guard hasStereo else { return }
        for k in stereoAtoms {
          let a = atoms[k]
          var value: UInt64 = 0
          let label = chiralLabel(a)
          if label != 0 { value &+= Self.mix(UInt64(label) &+ 1000) }
          for b in mol.adjacency[a] where mol.bonds[b].order == .double {
            let l = bondStereoLabel(b)
            if l != 0 { value &+= Self.mix(UInt64(l) &+ 2000) }
          }
          if value != 0 && cellEnd[cell[k]] - cell[k] > 1 { addKey(k, value) }
        }
        if !splitKeyed() { return }
      }
    }

    /// Splits classes that refinement left tied but whose atoms lie in different rings (count
    /// and sizes of the smallest rings through each atom). Symmetric atoms always agree on that,
    /// so this only separates atoms refinement alone cannot tell apart, as in regular cage
    /// structures, where breaking such a tie by index would make the result depend on the
    /// input order. Returns whether any class split.
    mutating func splitTiesByRings() -> Bool {
      guard !mol.ringAtoms.isEmpty else { return false }
      var signature = [UInt64](repeating: 0, count: atoms.count)
      for ring in mol.ringAtoms {
        // Four bits per ring size 3...15 (larger rings count as 15).
        let shift = UInt64(4 * (min(max(ring.count, 3), 15) - 3))
        for a in ring where local[a] >= 0 { signature[local[a]] &+= 1 << shift }
      }
      for k in 0..<atoms.count where signature[k] != 0 && cellEnd[cell[k]] - cell[k] > 1 { addKey(k, signature[k]) }
      return splitKeyed()
    }

    /// Moves local atom `k` to the top of its class, alone.
    mutating func individualize(_ k: Int) {
      guard cellEnd[cell[k]] - cell[k] > 1 else { return }
      addKey(k, 1)
      splitKeyed()
    }

    /// Splits one atom off the lowest tied class (the last of its class in cell order, moved to
    /// the top of the class). Returns false when every class is a singleton.
    mutating func breakTie() -> Bool {
      var p = lowestTied
      while p < atoms.count && cellEnd[p] - p == 1 { p = cellEnd[p] }
      lowestTied = p
      guard p < atoms.count else { return false }
      individualize(order[cellEnd[p] - 1])
      return true
    }

    func globalRanks() -> [Int] {
      var out = [Int](repeating: -1, count: mol.atoms.count)
      for (k, a) in atoms.enumerated() { out[a] = cell[k] }
      return out
    }

    func rank(of atom: Int) -> Int {
      let k = local[atom]
      return k >= 0 ? cell[k] : -2
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
      guard mol.bonds[b].order == .double, let i = stereoOfBond[b] else { return 0 }
      let s = mol.doubleBondStereo[i]
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
