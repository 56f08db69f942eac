/// Ring perception: which bonds are in rings (bridges are not), and a set of smallest rings
/// (every shortest cycle through each ring bond, duplicates removed, then the linearly
/// independent ones in order of size, plus dependent ones no larger than the largest of those:
/// the rings of the same size that symmetry requires). The set does not depend on atom order.
enum Rings {
  /// A bound on candidate cycles, against the combinatorial growth of equally short paths in
  /// large cage structures.
  static let maxCycles = 20_000

  static func perceive(_ mol: inout Molecule) {
    let n = mol.atoms.count
    for b in mol.bonds.indices { mol.bonds[b].inRing = false }
    // Dative bonds are not ring bonds (as in RDKit): a coordinate bond closing a "ring" must
    // neither make it aromatic nor count for ring sizes.
    func usable(_ b: Int) -> Bool { mol.bonds[b].order != .dative }
    // Bridges by iterative DFS with low-link values.
    var disc = [Int](repeating: -1, count: n)
    var low = [Int](repeating: 0, count: n)
    var time = 0
    for root in 0..<n where disc[root] < 0 {
      var stack: [(atom: Int, parentBond: Int, next: Int)] = [(root, -1, 0)]
      disc[root] = time
      low[root] = time
      time += 1
      while !stack.isEmpty {
        let top = stack.count - 1
        let v = stack[top].atom
        if stack[top].next < mol.adjacency[v].count {
          let b = mol.adjacency[v][stack[top].next]
          stack[top].next += 1
          if b == stack[top].parentBond || !usable(b) { continue }
          let w = mol.bonds[b].other(v)
          if disc[w] < 0 {
            disc[w] = time
            low[w] = time
            time += 1
            stack.append((w, b, 0))
          } else {
            // A back edge closes a cycle: always a ring bond.
            low[v] = min(low[v], disc[w])
            mol.bonds[b].inRing = true
          }
        } else {
          let b = stack[top].parentBond
          stack.removeLast()
          if let parent = stack.last {
            let p = parent.atom
            low[p] = min(low[p], low[v])
            // The tree edge p-v is a bridge only if v's subtree cannot reach p or above.
            if low[v] <= disc[p] { mol.bonds[b].inRing = true }
          }
        }
      }
    }
    // Ring systems: ring bonds joined through shared atoms.
    var ringDegree = [Int](repeating: 0, count: n)
    var systemOfAtom = [Int](repeating: -1, count: n)
    var systems: [[Int]] = []  // ring bonds of each system
    for b in mol.bonds.indices where mol.bonds[b].inRing {
      ringDegree[mol.bonds[b].a] += 1
      ringDegree[mol.bonds[b].b] += 1
    }
    for start in 0..<n where ringDegree[start] > 0 && systemOfAtom[start] < 0 {
      let id = systems.count
      var bonds: [Int] = []
      var stack = [start]
      systemOfAtom[start] = id
      while let x = stack.popLast() {
        for e in mol.adjacency[x] where mol.bonds[e].inRing {
          let y = mol.bonds[e].other(x)
          bonds.append(e)
          if systemOfAtom[y] < 0 {
            systemOfAtom[y] = id
            stack.append(y)
          }
        }
      }
      // Each bond was met from both ends.
      bonds.sort()
      var unique: [Int] = []
      unique.reserveCapacity(bonds.count / 2)
      for e in bonds where unique.last != e { unique.append(e) }
      systems.append(unique)
    }
    var chosen: [[Int]] = []
    var dist = [Int](repeating: -1, count: n)
    var queue: [Int] = []
    queue.reserveCapacity(n)
    var budget = Self.maxCycles
    // A system's bonds numbered from 0 (for the elimination), made when first needed.
    var localBond: [Int] = []
    // The path being walked back and the walk's stack, reused from bond to bond.
    var path: [Int] = []
    var walk: [(atom: Int, next: Int)] = []
    for system in systems {
      // A system whose every atom has two ring bonds is one simple cycle: that is its ring (a
      // search per bond would cost the ring's size for each of its bonds).
      if system.allSatisfy({ ringDegree[mol.bonds[$0].a] == 2 && ringDegree[mol.bonds[$0].b] == 2 }) {
        chosen.append(system)
        continue
      }
      // Shortest cycle through each ring bond.
      var found: [[Int]] = []
      var seen = Set<[Int]>()
      for b in system {
        let (u, v) = (mol.bonds[b].a, mol.bonds[b].b)
        for x in queue { dist[x] = -1 }  // reset only what the last search touched
        queue.removeAll(keepingCapacity: true)
        dist[u] = 0
        queue.append(u)
        var head = 0
        while head < queue.count && dist[v] < 0 {
          let x = queue[head]
          head += 1
          for i in 0..<mol.adjacency[x].count {
            let e = mol.adjacency[x][i]
            guard e != b, mol.bonds[e].inRing else { continue }
            let y = mol.bonds[e].other(x)
            if dist[y] < 0 {
              dist[y] = dist[x] + 1
              queue.append(y)
            }
          }
        }
        guard dist[v] >= 0 else { continue }
        // Every shortest path back from v to u (not just the one the search happened to record):
        // which of several equally short cycles a bond gets must not depend on the atom order,
        // or the ring set, and aromaticity with it, would (fullerene faces, cubane). Walked on
        // an explicit stack: its depth is the ring's size.
        path.removeAll(keepingCapacity: true)
        path.append(b)
        walk.removeAll(keepingCapacity: true)
        walk.append((v, 0))
        while let top = walk.last, budget > 0 {
          let x = top.atom
          if x == u {
            let key = path.sorted()
            // A few cycles (a drug's fused rings) are compared one by one; many go through a set.
            let isNew: Bool
            if found.count < 16 {
              isNew = !found.contains(key)
            } else {
              if seen.isEmpty { seen = Set(found) }
              isNew = seen.insert(key).inserted
            }
            if isNew {
              found.append(key)
              budget -= 1
            }
            walk.removeLast()
            path.removeLast()
            continue
          }
          var k = top.next
          var moved = false
          let degree = mol.adjacency[x].count
          while k < degree {
            let e = mol.adjacency[x][k]
            k += 1
            guard e != b, mol.bonds[e].inRing else { continue }
            let y = mol.bonds[e].other(x)
            guard dist[y] >= 0, dist[y] == dist[x] - 1 else { continue }
            walk[walk.count - 1].next = k
            path.append(e)
            walk.append((y, 0))
            moved = true
            break
          }
          if !moved {
            walk.removeLast()
            if walk.isEmpty { break }
            path.removeLast()
          }
        }
      }
      found.sort { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
      // Keep independent cycles (over GF(2), bonds numbered within the system); then same-size
      // dependent ones (symmetry).
      if localBond.isEmpty { localBond = [Int](repeating: 0, count: mol.bonds.count) }
      for (k, e) in system.enumerated() { localBond[e] = k }
      var basis: [[UInt64]] = []
      var pivots: [Int] = []
      let words = (system.count + 63) / 64
      var largest = 0
      for cycle in found {
        var vec = [UInt64](repeating: 0, count: words)
        for e in cycle {
          let l = localBond[e]
          vec[l >> 6] |= 1 << UInt64(l & 63)
        }
        for (k, row) in basis.enumerated() where vec[pivots[k] >> 6] & (1 << UInt64(pivots[k] & 63)) != 0 {
          for w in 0..<words { vec[w] ^= row[w] }
        }
        if let pivotWord = vec.firstIndex(where: { $0 != 0 }) {
          let pivot = pivotWord * 64 + vec[pivotWord].trailingZeroBitCount
          basis.append(vec)
          pivots.append(pivot)
          chosen.append(cycle)
          largest = max(largest, cycle.count)
        } else if cycle.count <= largest {
          chosen.append(cycle)
        }
      }
    }
    chosen.sort { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
    setRings(&mol, chosen)
  }

  /// Sets the rings of `mol` (ring bonds already flagged) to `chosen`, in ``perceive(_:)``'s
  /// order, with their atoms in walking order.
  static func setRings(_ mol: inout Molecule, _ chosen: [[Int]]) {
    mol.ringBonds = chosen
    var inRing = [Bool](repeating: false, count: mol.bonds.count)
    mol.ringAtoms = chosen.map { ring in
      for e in ring { inRing[e] = true }
      defer { for e in ring { inRing[e] = false } }
      return orderedAtoms(mol, ring) { inRing[$0] }
    }
  }

  /// The atoms of a ring in walking order.
  static func orderedAtoms(_ mol: Molecule, _ ring: [Int], inRing: (Int) -> Bool) -> [Int] {
    var atoms = [mol.bonds[ring[0]].a]
    atoms.reserveCapacity(ring.count)
    var previousBond = -1
    var current = atoms[0]
    while atoms.count < ring.count {
      guard let e = mol.adjacency[current].first(where: { $0 != previousBond && inRing($0) }) else { break }
      current = mol.bonds[e].other(current)
      previousBond = e
      if current == atoms[0] { break }
      atoms.append(current)
    }
    return atoms
  }
}
