/// Subgraph monomorphism of a compiled SMARTS into a target (CHEMISTRY.md §10.2): VF2-style
/// backtracking on an explicit stack (one cursor per step), pattern atoms in the plan's order
/// (each after a placed neighbour, whose molecule neighbours are the only candidates),
/// candidates pruned by element mask and degree before their query is evaluated; query results
/// cached per (pattern atom, molecule atom) and `$(...)` results per (subpattern, molecule atom)
/// for the whole run. A `$(...)` is an anchored search of its body, one call level per nesting
/// level (at most ``SmartsParser/maxNesting``). A step budget bounds every run.
struct SmartsMatcher {
  enum Mode { case first, count, collect }

  let p: CompiledSmarts
  let t: SmartsTargetData
  let n: Int
  var buf: SmartsBuffers
  let mode: Mode
  let unique: Bool
  let maxMatches: Int
  let stepLimit: Int
  var steps = 0
  var truncated = false
  var found = 0
  var results: [[Int]] = []

  init(_ p: CompiledSmarts, _ t: SmartsTargetData, _ buf: SmartsBuffers, mode: Mode, unique: Bool, maxMatches: Int, stepLimit: Int) {
    self.p = p
    self.t = t
    self.n = t.atomCount
    self.buf = buf
    self.mode = mode
    self.unique = unique
    self.maxMatches = maxMatches
    self.stepLimit = stepLimit
    let atoms = p.totalAtoms
    if buf.map.count < atoms {
      self.buf.map = [Int32](repeating: 0, count: atoms)
      self.buf.cursor = [Int32](repeating: 0, count: atoms)
    }
    let subs = p.subpatterns.count
    if self.buf.used.count < subs * n { self.buf.used = [Bool](repeating: false, count: subs * n) }
    if self.buf.generation >= (1 << 30) {
      self.buf.generation = 0
      for i in self.buf.atomCache.indices { self.buf.atomCache[i] = 0 }
      for i in self.buf.recursiveCache.indices { self.buf.recursiveCache[i] = 0 }
    }
    self.buf.generation += 1
    if self.buf.atomCache.count < atoms * n { self.buf.atomCache = [UInt32](repeating: 0, count: atoms * n) }
    if subs > 1 && self.buf.recursiveCache.count < subs * n {
      self.buf.recursiveCache = [UInt32](repeating: 0, count: subs * n)
    }
    self.buf.seenSets.removeAll(keepingCapacity: true)
    self.buf.seenTable.removeAll(keepingCapacity: true)
  }

  /// Runs the top-level pattern.
  mutating func run() {
    guard n > 0, maxMatches > 0 else { return }
    _ = search(0, anchor: -1, top: true)
  }

  // MARK: Queries

  @inline(__always)
  mutating func atomMatches(_ g: Int, _ a: Int) -> Bool {
    let index = g * n + a
    let entry = buf.atomCache[index]
    if entry >> 1 == buf.generation { return entry & 1 == 1 }
    let r = evaluateAtom(Int(p.atomQuery[g]), a)
    buf.atomCache[index] = buf.generation << 1 | (r ? 1 : 0)
    return r
  }

  mutating func evaluateAtom(_ q: Int, _ a: Int) -> Bool {
    let table = p.atomQueries
    for g in table.groups(q) {
      var any = false
      for term in table.terms(g) {
        var all = true
        for l in table.literalRange(term) where !atomLiteral(table.literals[l], a) {
          all = false
          break
        }
        if all {
          any = true
          break
        }
      }
      if !any { return false }
    }
    return true
  }

  @inline(__always)
  mutating func atomLiteral(_ l: SmartsLiteral, _ a: Int) -> Bool {
    let v = l.value
    let r: Bool
    switch l.kind {
    case AtomPrimitive.any: r = true
    case AtomPrimitive.aliphaticElement: r = t.element[a] == v && !t.aromatic[a]
    case AtomPrimitive.aromaticElement: r = t.element[a] == v && t.aromatic[a]
    case AtomPrimitive.atomicNumber: r = t.element[a] == v
    case AtomPrimitive.aromatic: r = t.aromatic[a]
    case AtomPrimitive.aliphatic: r = !t.aromatic[a]
    case AtomPrimitive.hydrogenCount: r = t.totalH[a] == v
    case AtomPrimitive.degree: r = t.degree[a] == v
    case AtomPrimitive.totalDegree: r = t.totalDegree[a] == v
    case AtomPrimitive.valence: r = t.valence[a] == v
    case AtomPrimitive.ringCount: r = v < 0 ? t.ringCount[a] > 0 : t.ringCount[a] == v
    case AtomPrimitive.ringSize: r = v < 0 ? t.smallestRing[a] > 0 : t.smallestRing[a] == v
    case AtomPrimitive.ringBondCount: r = v < 0 ? t.ringBondCount[a] > 0 : t.ringBondCount[a] == v
    case AtomPrimitive.charge: r = t.charge[a] == v
    case AtomPrimitive.isotope: r = t.isotope[a] == v
    case AtomPrimitive.recursive: r = recursiveMatches(Int(v), a)
    default: r = false
    }
    return r != l.negated
  }

  /// Whether subpattern `s` matches with its first atom on `a` (cached for the run).
  mutating func recursiveMatches(_ s: Int, _ a: Int) -> Bool {
    let index = s * n + a
    let entry = buf.recursiveCache[index]
    if entry >> 1 == buf.generation { return entry & 1 == 1 }
    let r = search(s, anchor: a, top: false)
    buf.recursiveCache[index] = buf.generation << 1 | (r ? 1 : 0)
    return r
  }

  @inline(__always)
  func bondMatches(_ q: Int, _ b: Int) -> Bool {
    let order = t.bondOrder[b]
    if q == 0 { return order == 1 || order == 12 }
    let table = p.bondQueries
    for g in table.groups(q) {
      var any = false
      for term in table.terms(g) {
        var all = true
        for l in table.literalRange(term) {
          let literal = table.literals[l]
          let r: Bool
          switch literal.kind {
          case BondPrimitive.any: r = true
          case BondPrimitive.single: r = order == 1
          case BondPrimitive.double: r = order == 2
          case BondPrimitive.triple: r = order == 3
          case BondPrimitive.aromatic: r = order == 12
          case BondPrimitive.ring: r = t.bondInRing[b]
          case BondPrimitive.singleOrAromatic: r = order == 1 || order == 12
          default: r = false
          }
          if r == literal.negated {
            all = false
            break
          }
        }
        if all {
          any = true
          break
        }
      }
      if !any { return false }
    }
    return true
  }

  // MARK: Search

  /// Candidate test for step `k` of subpattern `sub` (global atom `g`), molecule atom `a`
  /// reached over bond `bond` (-1 for a component's first atom).
  @inline(__always)
  mutating func candidate(_ sub: SmartsSubpattern, _ k: Int, _ g: Int, _ a: Int, _ usedBase: Int, bond: Int) -> Bool {
    steps += 1
    if buf.used[usedBase + a] { return false }
    let e = t.element[a]
    if e >= 0 && e < 64 {
      if p.elementMaskLow[g] & (1 << UInt64(e)) == 0 { return false }
    } else if e >= 64 && e < 128 {
      if p.elementMaskHigh[g] & (1 << UInt64(e - 64)) == 0 { return false }
    }
    if t.degree[a] < p.minDegree[g] { return false }
    if bond >= 0 && !bondMatches(Int(sub.parentQuery[k]), bond) { return false }
    if !atomMatches(g, a) { return false }
    let backEnd = Int(sub.backStart[k + 1])
    var j = Int(sub.backStart[k])
    if j < backEnd {
      let base = sub.atomBase
      let start = Int(t.neighborStart[a]), end = Int(t.neighborStart[a + 1])
      while j < backEnd {
        let other = buf.map[base + Int(sub.backStep[j])]
        var bondIndex = -1
        for x in start ..< end where t.neighborAtom[x] == other {
          bondIndex = Int(t.neighborBond[x])
          break
        }
        if bondIndex < 0 || !bondMatches(Int(sub.backQuery[j]), bondIndex) { return false }
        j += 1
      }
    }
    return true
  }

  /// Backtracking search of subpattern `s`; with `anchor` >= 0 its first atom is placed there.
  /// Top level: matches are recorded (``record``) until it says stop. Nested: stops at the first.
  mutating func search(_ s: Int, anchor: Int, top: Bool) -> Bool {
    let sub = p.subpatterns[s]
    let count = sub.atomCount
    let base = sub.atomBase
    let usedBase = s * n
    var k = 0
    var any = false
    buf.cursor[base] = 0
    while k >= 0 {
      let g = base + Int(sub.order[k])
      let parent = Int(sub.parentStep[k])
      var cur = Int(buf.cursor[base + k])
      var chosen = -1
      if parent < 0 {
        if k == 0 && anchor >= 0 {
          if cur == 0 {
            cur = 1
            if candidate(sub, k, g, anchor, usedBase, bond: -1) { chosen = anchor }
          }
        } else {
          while cur < n {
            let a = cur
            cur += 1
            if candidate(sub, k, g, a, usedBase, bond: -1) {
              chosen = a
              break
            }
          }
        }
      } else {
        let pa = Int(buf.map[base + parent])
        let start = Int(t.neighborStart[pa]), end = Int(t.neighborStart[pa + 1])
        while start + cur < end {
          let x = start + cur
          cur += 1
          let a = Int(t.neighborAtom[x])
          if candidate(sub, k, g, a, usedBase, bond: Int(t.neighborBond[x])) {
            chosen = a
            break
          }
        }
      }
      buf.cursor[base + k] = Int32(cur)
      if steps > stepLimit {
        truncated = true
        for j in 0 ..< k { buf.used[usedBase + Int(buf.map[base + j])] = false }
        return any
      }
      if chosen >= 0 {
        buf.map[base + k] = Int32(chosen)
        if k + 1 == count {
          any = true
          let stop = top ? record(sub) : true
          if stop {
            for j in 0 ..< k { buf.used[usedBase + Int(buf.map[base + j])] = false }
            return true
          }
        } else {
          buf.used[usedBase + chosen] = true
          k += 1
          buf.cursor[base + k] = 0
        }
      } else {
        k -= 1
        if k >= 0 { buf.used[usedBase + Int(buf.map[base + k])] = false }
      }
    }
    return any
  }

  /// A complete top-level match; returns whether to stop.
  mutating func record(_ sub: SmartsSubpattern) -> Bool {
    if mode == .first {
      found = 1
      collect(sub)
      return true
    }
    let count = sub.atomCount
    if unique && count > 1 && !insertUnique(sub) { return false }
    found += 1
    if mode == .collect { collect(sub) }
    return found >= maxMatches
  }

  mutating func collect(_ sub: SmartsSubpattern) {
    var match = [Int](repeating: 0, count: sub.atomCount)
    for step in 0 ..< sub.atomCount { match[Int(sub.order[step])] = Int(buf.map[sub.atomBase + step]) }
    results.append(match)
  }

  /// Adds the current match's atom set to the seen sets; false if it was there already.
  mutating func insertUnique(_ sub: SmartsSubpattern) -> Bool {
    let count = sub.atomCount
    let base = sub.atomBase
    // Sorted atom set (insertion sort: patterns are small).
    if buf.sortBuffer.count < count { buf.sortBuffer = [Int32](repeating: 0, count: count) }
    var hash: UInt64 = 0
    for i in 0 ..< count {
      let v = buf.map[base + i]
      var j = i
      while j > 0 && buf.sortBuffer[j - 1] > v {
        buf.sortBuffer[j] = buf.sortBuffer[j - 1]
        j -= 1
      }
      buf.sortBuffer[j] = v
    }
    for i in 0 ..< count {
      hash = (hash ^ UInt64(UInt32(bitPattern: buf.sortBuffer[i]))) &* 0x9E37_79B9_7F4A_7C15
      hash ^= hash >> 29
    }
    let stored = buf.seenSets.count / count
    if buf.seenTable.count < 2 * (stored + 1) {
      // Grow (or create) the table and re-insert the stored sets.
      let size = max(64, buf.seenTable.count * 2)
      buf.seenTable = [Int32](repeating: -1, count: size)
      for s in 0 ..< stored {
        var h: UInt64 = 0
        for i in 0 ..< count {
          h = (h ^ UInt64(UInt32(bitPattern: buf.seenSets[s * count + i]))) &* 0x9E37_79B9_7F4A_7C15
          h ^= h >> 29
        }
        var slot = Int(h & UInt64(size - 1))
        while buf.seenTable[slot] >= 0 { slot = (slot + 1) & (size - 1) }
        buf.seenTable[slot] = Int32(s)
      }
    }
    let mask = buf.seenTable.count - 1
    var slot = Int(hash & UInt64(mask))
    while true {
      let s = Int(buf.seenTable[slot])
      if s < 0 { break }
      var same = true
      for i in 0 ..< count where buf.seenSets[s * count + i] != buf.sortBuffer[i] {
        same = false
        break
      }
      if same { return false }
      slot = (slot + 1) & mask
    }
    buf.seenTable[slot] = Int32(stored)
    for i in 0 ..< count { buf.seenSets.append(buf.sortBuffer[i]) }
    return true
  }
}
