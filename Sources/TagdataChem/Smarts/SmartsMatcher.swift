/// Subgraph monomorphism of a compiled SMARTS into a target (CHEMISTRY.md §10.2): VF2-style
/// backtracking on an explicit stack (one cursor per step), pattern atoms in the plan's order
/// (each after a placed neighbour, whose molecule neighbours are the only candidates),
/// candidates pruned by element mask and degree before their query is evaluated; query results
/// cached per (pattern atom, molecule atom) and `$(...)` results per (subpattern, molecule atom)
/// for the whole run. A `$(...)` is an anchored search of its body, one call level per nesting
/// level (at most ``SmartsParser/maxNesting``). A step budget bounds every run.
///
/// The matcher holds only buffer pointers and counters (the buffers belong to the program, the
/// target and its scratch object, all alive for the run): no reference counting in the loop.
struct SmartsMatcher {
  enum Mode { case first, count, collect }

  // Held by the caller (pattern and target) for the whole run.
  unowned(unsafe) let p: SmartsProgram
  unowned(unsafe) let t: SmartsTargetStorage
  unowned(unsafe) let scratch: SmartsScratch
  let n: Int
  let mode: Mode
  let unique: Bool
  let maxMatches: Int
  let stepLimit: Int
  var steps = 0
  var truncated = false
  var found = 0
  var results: [[Int]] = []
  // Buffers, read from the program, target and scratch.
  let element, degree, heavyDegree, heteroNeighbors, aliphaticHeteroNeighbors, totalH, totalDegree, valence, charge, isotope, ringCount, smallestRing, ringBondCount: UnsafeMutablePointer<Int32>
  let aromatic: UnsafeMutablePointer<Bool>
  let neighborStart, neighborAtom, neighborBond: UnsafeMutablePointer<Int32>
  let bondOrder: UnsafeMutablePointer<UInt8>
  let bondInRing: UnsafeMutablePointer<Bool>
  let atomLiterals, bondLiterals: UnsafeMutablePointer<SmartsLiteral>
  let atomTermEnd, atomGroupEnd, atomQueryEnd, bondTermEnd, bondGroupEnd, bondQueryEnd: UnsafeMutablePointer<Int32>
  let stepQuery, minDegree, parentStep, parentQuery, backStart, backEnd, backStep, backQuery: UnsafeMutablePointer<Int32>
  let maskLow, maskHigh: UnsafeMutablePointer<UInt64>
  let map, cursor: UnsafeMutablePointer<Int32>
  let used: UnsafeMutablePointer<Bool>
  let atomCache, recursiveCache: UnsafeMutablePointer<UInt32>
  let generation: UInt32
  let cachesEnabled: Bool
  var seenCount = 0
  var seenTableSize = 0

  init(_ p: SmartsProgram, _ target: SmartsTarget, mode: Mode, unique: Bool, maxMatches: Int, stepLimit: Int) {
    let t = target.data
    let s = target.scratch
    s.prepare(steps: p.totalAtoms, subpatterns: p.subpatterns, n: t.n)
    self.p = p
    self.t = t
    self.scratch = s
    n = t.n
    self.mode = mode
    self.unique = unique
    self.maxMatches = maxMatches
    self.stepLimit = stepLimit
    element = t.element
    degree = t.degree
    heavyDegree = t.heavyDegree
    heteroNeighbors = t.heteroNeighbors
    aliphaticHeteroNeighbors = t.aliphaticHeteroNeighbors
    totalH = t.totalH
    totalDegree = t.totalDegree
    valence = t.valence
    charge = t.charge
    isotope = t.isotope
    ringCount = t.ringCount
    smallestRing = t.smallestRing
    ringBondCount = t.ringBondCount
    aromatic = t.aromatic
    neighborStart = t.neighborStart
    neighborAtom = t.neighborAtom
    neighborBond = t.neighborBond
    bondOrder = t.bondOrder
    bondInRing = t.bondInRing
    atomLiterals = p.atomLiterals
    bondLiterals = p.bondLiterals
    atomTermEnd = p.atomTermEnd
    atomGroupEnd = p.atomGroupEnd
    atomQueryEnd = p.atomQueryEnd
    bondTermEnd = p.bondTermEnd
    bondGroupEnd = p.bondGroupEnd
    bondQueryEnd = p.bondQueryEnd
    stepQuery = p.stepQuery
    minDegree = p.minDegree
    parentStep = p.parentStep
    parentQuery = p.parentQuery
    backStart = p.backStart
    backEnd = p.backEnd
    backStep = p.backStep
    backQuery = p.backQuery
    maskLow = p.maskLow
    maskHigh = p.maskHigh
    map = s.map
    cursor = s.cursor
    used = s.used
    atomCache = s.atomCache
    recursiveCache = s.recursiveCache
    generation = s.generation
    cachesEnabled = s.cachesEnabled
  }

  /// Runs the top-level pattern.
  mutating func run() {
    guard n > 0, maxMatches > 0, p.mayMatch(t) else { return }
    // Listing matches: the plan from atom 0, whose order (pattern atom 0's molecule atom
    // ascending, then depth-first) and choice among matches with one atom set follow RDKit's.
    // Counting and testing: the faster plan from the most selective atoms.
    _ = search(mode == .collect ? p.anchoredTop : 0, anchor: -1, top: true)
  }

  /// Whether the top-level pattern matches with its first atom on `atom`.
  mutating func runAnchored(_ atom: Int) -> Bool {
    guard n > 0, p.mayMatch(t) else { return false }
    return search(p.anchoredTop, anchor: atom, top: false)
  }

  /// The atoms on which the top-level pattern matches with its first atom there.
  mutating func anchoredAtoms(skip: [Bool]?) -> [Int] {
    guard n > 0, p.mayMatch(t) else { return [] }
    var out: [Int] = []
    for a in 0 ..< n {
      if let skip, a < skip.count, skip[a] { continue }
      if search(p.anchoredTop, anchor: a, top: false) { out.append(a) }
    }
    return out
  }

  // MARK: Queries

  @inline(__always)
  mutating func atomMatches(_ slot: Int, _ a: Int) -> Bool {
    guard cachesEnabled else { return evaluateAtom(Int(stepQuery[slot]), a) }
    let index = slot &* n &+ a
    let entry = atomCache[index]
    if entry >> 1 == generation { return entry & 1 == 1 }
    let r = evaluateAtom(Int(stepQuery[slot]), a)
    atomCache[index] = generation << 1 | (r ? 1 : 0)
    return r
  }

  mutating func evaluateAtom(_ q: Int, _ a: Int) -> Bool {
    var g = q == 0 ? 0 : Int(atomQueryEnd[q - 1])
    let groupsEnd = Int(atomQueryEnd[q])
    while g < groupsEnd {
      var any = false
      var term = g == 0 ? 0 : Int(atomGroupEnd[g - 1])
      let termsEnd = Int(atomGroupEnd[g])
      while term < termsEnd {
        var all = true
        var l = term == 0 ? 0 : Int(atomTermEnd[term - 1])
        let literalsEnd = Int(atomTermEnd[term])
        while l < literalsEnd {
          if !atomLiteral(atomLiterals[l], a) {
            all = false
            break
          }
          l += 1
        }
        if all {
          any = true
          break
        }
        term += 1
      }
      if !any { return false }
      g += 1
    }
    return true
  }

  @inline(__always)
  mutating func atomLiteral(_ l: SmartsLiteral, _ a: Int) -> Bool {
    let v = l.value
    let r: Bool
    switch l.kind {
    case AtomPrimitive.any: r = true
    case AtomPrimitive.aliphaticElement: r = element[a] == v && !aromatic[a]
    case AtomPrimitive.aromaticElement: r = element[a] == v && aromatic[a]
    case AtomPrimitive.atomicNumber: r = element[a] == v
    case AtomPrimitive.aromatic: r = aromatic[a]
    case AtomPrimitive.aliphatic: r = !aromatic[a]
    case AtomPrimitive.hydrogenCount: r = totalH[a] == v
    case AtomPrimitive.degree: r = degree[a] == v
    case AtomPrimitive.totalDegree: r = totalDegree[a] == v
    case AtomPrimitive.valence: r = valence[a] == v
    case AtomPrimitive.ringCount: r = v < 0 ? ringCount[a] > 0 : ringCount[a] == v
    case AtomPrimitive.ringSize: r = v < 0 ? smallestRing[a] > 0 : smallestRing[a] == v
    case AtomPrimitive.ringBondCount: r = v < 0 ? ringBondCount[a] > 0 : ringBondCount[a] == v
    case AtomPrimitive.charge: r = charge[a] == v
    case AtomPrimitive.isotope: r = isotope[a] == v
    case AtomPrimitive.recursive: r = recursiveMatches(Int(v), a)
    case AtomPrimitive.heavyDegree: r = heavyDegree[a] == v
    case AtomPrimitive.heteroNeighbors: r = v < 0 ? heteroNeighbors[a] > 0 : heteroNeighbors[a] == v
    case AtomPrimitive.aliphaticHeteroNeighbors:
      r = v < 0 ? aliphaticHeteroNeighbors[a] > 0 : aliphaticHeteroNeighbors[a] == v
    default:
      // An isotope unit (`13C`, `8#1`): the mass and the primitive.
      guard l.kind >= AtomPrimitive.isotopeUnit, isotope[a] == v else {
        r = false
        break
      }
      r = atomLiteral(SmartsLiteral(kind: l.kind - AtomPrimitive.isotopeUnit, negated: false, value: l.extra), a)
    }
    return r != l.negated
  }

  /// Whether subpattern `s` matches with its first atom on `a` (cached for the run).
  mutating func recursiveMatches(_ s: Int, _ a: Int) -> Bool {
    guard cachesEnabled else { return search(s, anchor: a, top: false) }
    let index = s &* n &+ a
    let entry = recursiveCache[index]
    if entry >> 1 == generation { return entry & 1 == 1 }
    let r = search(s, anchor: a, top: false)
    recursiveCache[index] = generation << 1 | (r ? 1 : 0)
    return r
  }

  @inline(__always)
  func bondMatches(_ q: Int, _ b: Int) -> Bool {
    let order = bondOrder[b]
    if q == 0 { return order == 1 || order == 12 }
    var g = Int(bondQueryEnd[q - 1])
    let groupsEnd = Int(bondQueryEnd[q])
    while g < groupsEnd {
      var any = false
      var term = g == 0 ? 0 : Int(bondGroupEnd[g - 1])
      let termsEnd = Int(bondGroupEnd[g])
      while term < termsEnd {
        var all = true
        var l = term == 0 ? 0 : Int(bondTermEnd[term - 1])
        let literalsEnd = Int(bondTermEnd[term])
        while l < literalsEnd {
          let literal = bondLiterals[l]
          let r: Bool
          switch literal.kind {
          case BondPrimitive.any: r = true
          case BondPrimitive.single: r = order == 1
          case BondPrimitive.double: r = order == 2
          case BondPrimitive.triple: r = order == 3
          case BondPrimitive.aromatic: r = order == 12
          case BondPrimitive.ring: r = bondInRing[b]
          case BondPrimitive.singleOrAromatic: r = order == 1 || order == 12
          case BondPrimitive.quadruple: r = order == 4
          default: r = false
          }
          if r == literal.negated {
            all = false
            break
          }
          l += 1
        }
        if all {
          any = true
          break
        }
        term += 1
      }
      if !any { return false }
      g += 1
    }
    return true
  }

  // MARK: Search

  /// Candidate test for step slot `slot` (of a subpattern based at `base`), molecule atom `a`
  /// reached over bond `bond` (-1 for a component's first atom).
  @inline(__always)
  mutating func candidate(_ slot: Int, _ base: Int, _ a: Int, _ usedBase: Int, bond: Int) -> Bool {
    steps &+= 1
    if used[usedBase &+ a] { return false }
    let e = element[a]
    if e >= 0 && e < 64 {
      if maskLow[slot] & (1 << UInt64(e)) == 0 { return false }
    } else if e >= 64 && e < 128 {
      if maskHigh[slot] & (1 << UInt64(e - 64)) == 0 { return false }
    }
    if degree[a] < minDegree[slot] { return false }
    if bond >= 0 && !bondMatches(Int(parentQuery[slot]), bond) { return false }
    if !atomMatches(slot, a) { return false }
    var j = Int(backStart[slot])
    let end = Int(backEnd[slot])
    if j < end {
      let start = Int(neighborStart[a]), stop = Int(neighborStart[a + 1])
      while j < end {
        let other = map[base + Int(backStep[j])]
        var bondIndex = -1
        var x = start
        while x < stop {
          if neighborAtom[x] == other {
            bondIndex = Int(neighborBond[x])
            break
          }
          x += 1
        }
        if bondIndex < 0 || !bondMatches(Int(backQuery[j]), bondIndex) { return false }
        j += 1
      }
    }
    return true
  }

  /// Backtracking search of subpattern `s`; with `anchor` >= 0 its first atom is placed there.
  /// Top level: matches are recorded (``record``) until it says stop. Nested: stops at the first.
  mutating func search(_ s: Int, anchor: Int, top: Bool) -> Bool {
    let base = Int(p.subBase[s])
    let count = Int(p.subCount[s])
    let usedBase = s * n
    var k = 0
    var any = false
    cursor[base] = 0
    while k >= 0 {
      let slot = base + k
      let parent = Int(parentStep[slot])
      var cur = Int(cursor[slot])
      var chosen = -1
      if parent < 0 {
        if k == 0 && anchor >= 0 {
          if cur == 0 {
            cur = 1
            if candidate(slot, base, anchor, usedBase, bond: -1) { chosen = anchor }
          }
        } else {
          while cur < n {
            let a = cur
            cur += 1
            if candidate(slot, base, a, usedBase, bond: -1) {
              chosen = a
              break
            }
          }
        }
      } else {
        let pa = Int(map[base + parent])
        let start = Int(neighborStart[pa]), end = Int(neighborStart[pa + 1])
        while start + cur < end {
          let x = start + cur
          cur += 1
          let a = Int(neighborAtom[x])
          if candidate(slot, base, a, usedBase, bond: Int(neighborBond[x])) {
            chosen = a
            break
          }
        }
      }
      cursor[slot] = Int32(cur)
      if steps > stepLimit {
        truncated = true
        for j in 0 ..< k { used[usedBase + Int(map[base + j])] = false }
        return any
      }
      if chosen >= 0 {
        map[slot] = Int32(chosen)
        if k + 1 == count {
          any = true
          let stop = top ? record(base, count) : true
          if stop {
            for j in 0 ..< k { used[usedBase + Int(map[base + j])] = false }
            return true
          }
        } else {
          used[usedBase + chosen] = true
          k += 1
          cursor[base + k] = 0
        }
      } else {
        k -= 1
        if k >= 0 { used[usedBase + Int(map[base + k])] = false }
      }
    }
    return any
  }

  /// A complete top-level match; returns whether to stop.
  mutating func record(_ base: Int, _ count: Int) -> Bool {
    if mode == .first {
      found = 1
      collect(base, count)
      return true
    }
    if unique && count > 1 && !insertUnique(base, count) { return false }
    found += 1
    if mode == .collect { collect(base, count) }
    return found >= maxMatches
  }

  mutating func collect(_ base: Int, _ count: Int) {
    var match = [Int](repeating: 0, count: count)
    for step in 0 ..< count { match[Int(p.stepAtom[base + step])] = Int(map[base + step]) }
    results.append(match)
  }

  @inline(__always)
  static func hash(_ values: UnsafeMutablePointer<Int32>, _ count: Int) -> UInt64 {
    var h: UInt64 = 0
    for i in 0 ..< count {
      h = (h ^ UInt64(UInt32(bitPattern: values[i]))) &* 0x9E37_79B9_7F4A_7C15
      h ^= h >> 29
    }
    return h
  }

  /// Adds the current match's atom set to the seen sets; false if it was there already.
  mutating func insertUnique(_ base: Int, _ count: Int) -> Bool {
    let sorted = scratch.sortBuffer
    for i in 0 ..< count {
      let v = map[base + i]
      var j = i
      while j > 0 && sorted[j - 1] > v {
        sorted[j] = sorted[j - 1]
        j -= 1
      }
      sorted[j] = v
    }
    let hash = Self.hash(sorted, count)
    if seenTableSize < 2 * (seenCount + 1) {
      // Grow (or create) the table and re-insert the stored sets.
      seenTableSize = max(64, seenTableSize * 2)
      scratch.resetSeenTable(size: seenTableSize)
      let table = scratch.seenTable
      for s in 0 ..< seenCount {
        var slot = Int(Self.hash(scratch.seenSets + s * count, count) & UInt64(seenTableSize - 1))
        while table[slot] >= 0 { slot = (slot + 1) & (seenTableSize - 1) }
        table[slot] = Int32(s)
      }
    }
    let table = scratch.seenTable
    let sets = scratch.seenSets
    let mask = seenTableSize - 1
    var slot = Int(hash & UInt64(mask))
    while true {
      let s = Int(table[slot])
      if s < 0 { break }
      var same = true
      for i in 0 ..< count where sets[s * count + i] != sorted[i] {
        same = false
        break
      }
      if same { return false }
      slot = (slot + 1) & mask
    }
    table[slot] = Int32(seenCount)
    scratch.growSeenSets(to: (seenCount + 1) * count, keeping: seenCount * count)
    (scratch.seenSets + seenCount * count).update(from: sorted, count: count)
    seenCount += 1
    return true
  }
}
