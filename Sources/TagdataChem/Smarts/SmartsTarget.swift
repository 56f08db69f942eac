/// A molecule prepared for SMARTS matching: every atom and bond property a primitive asks for,
/// computed once in flat buffers, and the matcher's reusable work buffers. Build one per molecule
/// and match many patterns against it.
///
/// Hydrogens: `H` counts the atom's hydrogen count plus its neighbours that are H atoms (graph
/// atoms of element 1, as after adding explicit hydrogens); `D` counts graph neighbours (H atoms
/// included); `X` is `D` plus the hydrogen count; `v` the bond-order sum plus hydrogens (aromatic
/// bonds 1.5, rounded as the valence model does). Rings come from the molecule's ring set
/// (``Molecule/ringAtoms``): `R` is the number of its rings through the atom, `r` the size of the
/// smallest, `x` the number of ring bonds at the atom, `@` a ring bond.
///
/// Not for concurrent use: the work buffers are shared by the matches run on one target.
public struct SmartsTarget {
  let data: SmartsTargetStorage
  let scratch: SmartsScratch

  public init(_ molecule: Molecule) {
    data = SmartsTargetStorage(molecule)
    scratch = SmartsScratch()
  }

  /// Number of atoms of the molecule.
  public var atomCount: Int { data.n }
}

/// A buffer of `count` values (at least one slot), initialized from `values`.
@inline(__always)
func smartsBuffer<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
  let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, values.count))
  values.withUnsafeBufferPointer { b in
    if let base = b.baseAddress { p.initialize(from: base, count: b.count) }
  }
  return p
}

/// The per-atom and per-bond properties of a target, in buffers allocated once (read-only after
/// init, freed with the object): the matcher reads them without reference counting.
final class SmartsTargetStorage: @unchecked Sendable {
  let n: Int
  let element: UnsafeMutablePointer<Int32>
  let aromatic: UnsafeMutablePointer<Bool>
  let degree: UnsafeMutablePointer<Int32>
  /// Neighbours that are not H atoms without a mass (`d`, as RDKit counts: D and T count).
  let heavyDegree: UnsafeMutablePointer<Int32>
  /// Neighbours other than C and H (`z`), and those of them not aromatic (`Z`).
  let heteroNeighbors: UnsafeMutablePointer<Int32>
  let aliphaticHeteroNeighbors: UnsafeMutablePointer<Int32>
  let totalH: UnsafeMutablePointer<Int32>
  let totalDegree: UnsafeMutablePointer<Int32>
  let valence: UnsafeMutablePointer<Int32>
  let charge: UnsafeMutablePointer<Int32>
  let isotope: UnsafeMutablePointer<Int32>
  let ringCount: UnsafeMutablePointer<Int32>
  let smallestRing: UnsafeMutablePointer<Int32>
  let ringBondCount: UnsafeMutablePointer<Int32>
  /// Neighbours of atom a: neighborAtom/neighborBond[neighborStart[a] ..< neighborStart[a + 1]],
  /// in the molecule's adjacency order (its bonds' creation order, as RDKit walks them).
  let neighborStart: UnsafeMutablePointer<Int32>
  let neighborAtom: UnsafeMutablePointer<Int32>
  let neighborBond: UnsafeMutablePointer<Int32>
  /// BondOrder raw values, and ring membership.
  let bondOrder: UnsafeMutablePointer<UInt8>
  let bondInRing: UnsafeMutablePointer<Bool>
  /// Elements present (bit e of low for e < 64, of high for 64 ≤ e < 128), and whether an
  /// element outside 0..<128 is present.
  let presentLow: UInt64
  let presentHigh: UInt64
  let otherElements: Bool
  let maxDegree: Int32

  init(_ mol: Molecule) {
    let n = mol.atoms.count
    self.n = n
    var degree = [Int32](repeating: 0, count: n)
    var totalH = [Int32](repeating: 0, count: n)
    var heavyDegree = [Int32](repeating: 0, count: n)
    var heteroNeighbors = [Int32](repeating: 0, count: n)
    var aliphaticHeteroNeighbors = [Int32](repeating: 0, count: n)
    var totalDegree = [Int32](repeating: 0, count: n)
    var valence = [Int32](repeating: 0, count: n)
    var ringCount = [Int32](repeating: 0, count: n)
    var smallestRing = [Int32](repeating: 0, count: n)
    var ringBondCount = [Int32](repeating: 0, count: n)
    var neighborStart = [Int32](repeating: 0, count: n + 1)
    var neighborAtom: [Int32] = []
    var neighborBond: [Int32] = []
    neighborAtom.reserveCapacity(2 * mol.bonds.count)
    neighborBond.reserveCapacity(2 * mol.bonds.count)
    var pairs: [(atom: Int32, bond: Int32)] = []
    var low: UInt64 = 0, high: UInt64 = 0, other = false
    var maxDegree: Int32 = 0
    for a in 0 ..< n {
      let atom = mol.atoms[a]
      let e = atom.element
      if e >= 0 && e < 64 {
        low |= 1 << UInt64(e)
      } else if e >= 64 && e < 128 {
        high |= 1 << UInt64(e - 64)
      } else {
        other = true
      }
      pairs.removeAll(keepingCapacity: true)
      var hNeighbours = 0
      var plainHNeighbours = 0  // RDKit's `d` leaves out H atoms without a mass only
      var ringBonds = 0
      for b in mol.adjacency[a] {
        let o = mol.bonds[b].other(a)
        pairs.append((Int32(o), Int32(b)))
        let oe = mol.atoms[o].element
        if oe != 1 && oe != 6 {
          heteroNeighbors[a] += 1
          if !mol.atoms[o].aromatic { aliphaticHeteroNeighbors[a] += 1 }
        }
        if mol.atoms[o].element == 1 {
          hNeighbours += 1
          if mol.atoms[o].isotope == 0 { plainHNeighbours += 1 }
        }
        if mol.bonds[b].inRing { ringBonds += 1 }
      }
      for p in pairs {
        neighborAtom.append(p.atom)
        neighborBond.append(p.bond)
      }
      neighborStart[a + 1] = Int32(neighborAtom.count)
      let d = mol.adjacency[a].count
      degree[a] = Int32(d)
      heavyDegree[a] = Int32(d - plainHNeighbours)
      maxDegree = max(maxDegree, Int32(d))
      totalH[a] = Int32(truncatingIfNeeded: atom.hydrogens + hNeighbours)
      totalDegree[a] = Int32(truncatingIfNeeded: d + atom.hydrogens)
      ringBondCount[a] = Int32(ringBonds)
      var ev2 = Valence.bondHalfValence(mol, a) + 2 * atom.hydrogens
      if atom.aromatic, let allowed = Valence.allowed(element: atom.element, charge: atom.charge) {
        ev2 = Valence.roundAromatic(ev2, allowed: allowed)
      }
      valence[a] = Int32(truncatingIfNeeded: (ev2 + 1) / 2)
    }
    for ring in mol.ringAtoms {
      let size = Int32(truncatingIfNeeded: ring.count)
      for a in ring where a >= 0 && a < n {
        ringCount[a] += 1
        if smallestRing[a] == 0 || size < smallestRing[a] { smallestRing[a] = size }
      }
    }
    element = smartsBuffer(mol.atoms.map { Int32(truncatingIfNeeded: $0.element) })
    aromatic = smartsBuffer(mol.atoms.map(\.aromatic))
    charge = smartsBuffer(mol.atoms.map { Int32(truncatingIfNeeded: $0.charge) })
    isotope = smartsBuffer(mol.atoms.map { Int32(truncatingIfNeeded: $0.isotope) })
    self.degree = smartsBuffer(degree)
    self.totalH = smartsBuffer(totalH)
    self.heavyDegree = smartsBuffer(heavyDegree)
    self.heteroNeighbors = smartsBuffer(heteroNeighbors)
    self.aliphaticHeteroNeighbors = smartsBuffer(aliphaticHeteroNeighbors)
    self.totalDegree = smartsBuffer(totalDegree)
    self.valence = smartsBuffer(valence)
    self.ringCount = smartsBuffer(ringCount)
    self.smallestRing = smartsBuffer(smallestRing)
    self.ringBondCount = smartsBuffer(ringBondCount)
    self.neighborStart = smartsBuffer(neighborStart)
    self.neighborAtom = smartsBuffer(neighborAtom)
    self.neighborBond = smartsBuffer(neighborBond)
    bondOrder = smartsBuffer(mol.bonds.map(\.order.rawValue))
    bondInRing = smartsBuffer(mol.bonds.map(\.inRing))
    presentLow = low
    presentHigh = high
    otherElements = other
    self.maxDegree = maxDegree
  }

  deinit {
    element.deallocate()
    aromatic.deallocate()
    degree.deallocate()
    heavyDegree.deallocate()
    heteroNeighbors.deallocate()
    aliphaticHeteroNeighbors.deallocate()
    totalH.deallocate()
    totalDegree.deallocate()
    valence.deallocate()
    charge.deallocate()
    isotope.deallocate()
    ringCount.deallocate()
    smallestRing.deallocate()
    ringBondCount.deallocate()
    neighborStart.deallocate()
    neighborAtom.deallocate()
    neighborBond.deallocate()
    bondOrder.deallocate()
    bondInRing.deallocate()
  }
}

/// The matcher's work buffers, kept with a target so that matching many patterns allocates only
/// when a pattern or result set is larger than any before. Buffers grow, never shrink.
final class SmartsScratch {
  /// Per global pattern atom (= step slot): the molecule atom placed, and the candidate cursor.
  var map = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  var cursor = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  var stepCapacity = 1
  /// Per subpattern and molecule atom: used by the subpattern's current partial match (all
  /// false between runs).
  var used = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
  var usedCapacity = 0
  /// Cached atom-query results per (global pattern atom, molecule atom), and recursive results
  /// per (subpattern, molecule atom): generation << 1 | result; another generation = unknown.
  var atomCache = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
  var atomCacheCapacity = 0
  var recursiveCache = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
  var recursiveCacheCapacity = 0
  var generation: UInt32 = 0
  var cachesEnabled = true
  static let maxCacheEntries = 1 << 22
  /// Unique matches: sorted atom sets, flat, and an open-addressing table of their indices.
  var seenSets = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  var seenSetsCapacity = 1
  var seenTable = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  var seenTableCapacity = 0
  var sortBuffer = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  var sortCapacity = 1

  /// Makes room for a run of `program` on `n` atoms and starts a new cache generation.
  func prepare(steps: Int, subpatterns: Int, n: Int) {
    if stepCapacity < steps {
      map.deallocate()
      cursor.deallocate()
      sortBuffer.deallocate()
      map = .allocate(capacity: steps)
      cursor = .allocate(capacity: steps)
      sortBuffer = .allocate(capacity: steps)
      stepCapacity = steps
      sortCapacity = steps
    }
    if usedCapacity < subpatterns * n {
      used.deallocate()
      used = .allocate(capacity: subpatterns * n)
      used.initialize(repeating: false, count: subpatterns * n)
      usedCapacity = subpatterns * n
    }
    if generation >= (1 << 30) {
      generation = 0
      atomCache.update(repeating: 0, count: atomCacheCapacity)
      recursiveCache.update(repeating: 0, count: recursiveCacheCapacity)
    }
    generation += 1
    // A huge pattern on a huge molecule runs without the caches rather than allocate them.
    cachesEnabled = steps * n <= Self.maxCacheEntries && subpatterns * n <= Self.maxCacheEntries
    guard cachesEnabled else { return }
    if atomCacheCapacity < steps * n {
      atomCache.deallocate()
      atomCache = .allocate(capacity: steps * n)
      atomCache.initialize(repeating: 0, count: steps * n)
      atomCacheCapacity = steps * n
    }
    if subpatterns > 1 && recursiveCacheCapacity < subpatterns * n {
      recursiveCache.deallocate()
      recursiveCache = .allocate(capacity: subpatterns * n)
      recursiveCache.initialize(repeating: 0, count: subpatterns * n)
      recursiveCacheCapacity = subpatterns * n
    }
  }

  /// Room for `count` values in the seen sets (keeping `used` of them).
  func growSeenSets(to count: Int, keeping used: Int) {
    guard seenSetsCapacity < count else { return }
    let capacity = max(count, 2 * seenSetsCapacity)
    let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
    bigger.update(from: seenSets, count: used)
    seenSets.deallocate()
    seenSets = bigger
    seenSetsCapacity = capacity
  }

  /// A seen table of at least `size` slots (a power of two), all empty.
  func resetSeenTable(size: Int) {
    if seenTableCapacity < size {
      seenTable.deallocate()
      seenTable = .allocate(capacity: size)
      seenTableCapacity = size
    }
    seenTable.update(repeating: -1, count: size)
  }

  deinit {
    map.deallocate()
    cursor.deallocate()
    used.deallocate()
    atomCache.deallocate()
    recursiveCache.deallocate()
    seenSets.deallocate()
    seenTable.deallocate()
    sortBuffer.deallocate()
  }
}
