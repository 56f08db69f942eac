import Foundation

/// A byte-level BPE model: the id of each byte's token, the merges by rank, and bounded caches of
/// the ids of pieces already seen.
final class BPEModel: @unchecked Sendable {
  /// The id of each byte's one-character token, -1 when the vocabulary lacks it.
  let byteIDs: [Int32]
  /// (left id, right id) -> (rank, id of the merged token).
  let merges: MergeTable
  /// The ids of tokens by the bytes they stand for (for `ignore_merges`; empty without).
  let vocabularyByBytes: ByteKeyTable
  let ignoreMerges: Bool
  let unknownID: Int32?
  let fuseUnknown: Bool
  /// SentencePiece-style BPE: the ids of the one-character tokens by scalar (the symbols are
  /// characters, not bytes); nil for byte-level BPE.
  let characterIDs: [UInt32: Int32]?
  /// With `byte_fallback`, the id of each byte's `<0xNN>` token (-1 when missing); empty without.
  let fallbackIDs: [Int32]

  /// Pieces up to this many bytes are cached; a cache is emptied when it holds `cacheCapacity`.
  static let cacheableLength = 256
  static let cacheCapacity = 16_384
  /// Pieces longer than this are merged with a heap; shorter ones by scanning their pairs.
  static let scanLength = 64

  /// The caches, each for one encoding at a time: an encoding takes the first free one (none when
  /// all are taken: it then merges every piece).
  private final class CacheSlot: @unchecked Sendable {
    let lock = NSLock()
    var table = ByteKeyTable(maxEntries: BPEModel.cacheCapacity, maxBytes: 1 << 22)
  }
  private let slots: [CacheSlot] = (0..<4).map { _ in CacheSlot() }

  init(byteIDs: [Int32], merges: [UInt64: (rank: Int32, id: Int32)], vocabularyByBytes: [[UInt8]: Int32],
       ignoreMerges: Bool, unknownID: Int32?, fuseUnknown: Bool, characterIDs: [UInt32: Int32]? = nil,
       fallbackIDs: [Int32] = [])
  {
    self.characterIDs = characterIDs
    self.fallbackIDs = fallbackIDs
    self.byteIDs = byteIDs
    self.merges = MergeTable(merges)
    var byBytes = ByteKeyTable(maxEntries: Int.max)
    for (key, id) in vocabularyByBytes {
      key.withUnsafeBufferPointer { k in
        let h = ByteKeyTable.hash(k)
        if byBytes.find(k, hash: h) == nil { byBytes.insert(k, hash: h, values: CollectionOfOne(id)) }
      }
    }
    self.vocabularyByBytes = byBytes
    self.ignoreMerges = ignoreMerges
    self.unknownID = unknownID
    self.fuseUnknown = fuseUnknown
  }

  /// Runs `body` with a cache of this model to itself (a disabled one when all are taken).
  func withCache<R>(_ body: (inout ByteKeyTable) -> R) -> R {
    for slot in slots where slot.lock.try() {
      var table = ByteKeyTable(maxEntries: 0)
      swap(&table, &slot.table)
      let r = body(&table)
      swap(&table, &slot.table)
      slot.lock.unlock()
      return r
    }
    var none = ByteKeyTable(maxEntries: 0)
    return body(&none)
  }

  /// Appends the ids of one pre-tokenized piece (its UTF-8 bytes), through `cache`.
  @inline(__always)
  func encode(_ piece: UnsafeBufferPointer<UInt8>, cache: inout ByteKeyTable, into out: inout [Int]) {
    if piece.isEmpty { return }
    let cacheable = piece.count <= Self.cacheableLength && cache.maxEntries > 0
    var h: UInt64 = 0
    if cacheable {
      h = ByteKeyTable.hash(piece)
      if cache.appendValues(of: piece, hash: h, to: &out) { return }
    }
    let start = out.count
    merge(piece, into: &out)
    if cacheable {
      if cache.isFull { cache.removeAll() }
      out.withUnsafeBufferPointer { o in
        cache.insert(piece, hash: h, values: o[start...].lazy.map { Int32(truncatingIfNeeded: $0) })
      }
    }
  }

  /// Appends the ids of a piece: the whole piece when `ignore_merges` and it is a token, otherwise
  /// its bytes' tokens merged, lowest rank first and leftmost first among equal ranks.
  func merge(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
    if ignoreMerges, let r = vocabularyByBytes.find(piece, hash: ByteKeyTable.hash(piece)) {
      out.append(Int(vocabularyByBytes.value(at: r.lowerBound)))
      return
    }
    var ids: [Int32] = []
    ids.reserveCapacity(piece.count)
    if let characterIDs {
      symbols(piece, characterIDs, into: &ids)
    } else {
      var lastUnknown = false
      for b in piece {
        let id = byteIDs[Int(b)]
        if id >= 0 {
          ids.append(id)
          lastUnknown = false
        } else if let unk = unknownID {
          // With `fuse_unk`, consecutive unknown bytes make one unknown token.
          if !(fuseUnknown && lastUnknown) { ids.append(unk) }
          lastUnknown = true
        }
        // No unknown token: the byte is dropped, as the reference does.
      }
    }
    if ids.count <= Self.scanLength {
      mergeByScanning(&ids)
      for id in ids { out.append(Int(id)) }
    } else {
      mergeWithHeap(ids, into: &out)
    }
  }

  /// Merges a short list of symbols in place: the ranks of the adjacent pairs are kept in an array
  /// and scanned for the lowest (leftmost among equals) before each merge.
  func mergeByScanning(_ ids: inout [Int32]) {
    var n = ids.count
    if n < 2 { return }
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { ranks in
      // ranks[k]: the merge of ids[k], ids[k + 1] as rank << 32 | merged id, or UInt64.max.
      for k in 0..<(n - 1) { ranks[k] = merges.find(ids[k], ids[k + 1]) }
      while n > 1 {
        var best = UInt64.max, at = -1
        for k in 0..<(n - 1) where ranks[k] < best {
          best = ranks[k]
          at = k
        }
        if at < 0 { break }
        ids[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
        // Remove symbol at + 1.
        var k = at + 1
        while k + 1 < n {
          ids[k] = ids[k + 1]
          ranks[k] = ranks[k + 1]
          k += 1
        }
        n -= 1
        if at > 0 { ranks[at - 1] = merges.find(ids[at - 1], ids[at]) }
        if at + 1 < n { ranks[at] = merges.find(ids[at], ids[at + 1]) }
      }
    }
    ids.removeLast(ids.count - n)
  }

  /// Merges a long list of symbols: a doubly linked list over arrays and a min-heap of
  /// (rank << 32 | position), stale entries skipped.
  func mergeWithHeap(_ symbols: [Int32], into out: inout [Int]) {
    var ids = symbols
    let n = ids.count
    var next = [Int32](repeating: -1, count: n)
    var prev = [Int32](repeating: -1, count: n)
    var alive = [Bool](repeating: true, count: n)
    for k in 0..<n {
      next[k] = k + 1 < n ? Int32(k + 1) : -1
      prev[k] = Int32(k - 1)
    }
    var heap = MinHeap()
    for k in 0..<(n - 1) {
      let m = merges.find(ids[k], ids[k + 1])
      if m != UInt64.max { heap.push((m & 0xFFFF_FFFF_0000_0000) | UInt64(k)) }
    }
    while let top = heap.pop() {
      let rank = top >> 32
      let k = Int(truncatingIfNeeded: top & 0xFFFF_FFFF)
      guard alive[k], next[k] >= 0 else { continue }
      let r = Int(next[k])
      let m = merges.find(ids[k], ids[r])
      guard m != UInt64.max, m >> 32 == rank else { continue }  // a stale entry
      ids[k] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
      alive[r] = false
      next[k] = next[r]
      if next[r] >= 0 { prev[Int(next[r])] = Int32(k) }
      if prev[k] >= 0 {
        let left = merges.find(ids[Int(prev[k])], ids[k])
        if left != UInt64.max { heap.push((left & 0xFFFF_FFFF_0000_0000) | UInt64(prev[k])) }
      }
      if next[k] >= 0 {
        let right = merges.find(ids[k], ids[Int(next[k])])
        if right != UInt64.max { heap.push((right & 0xFFFF_FFFF_0000_0000) | UInt64(k)) }
      }
    }
    var k = 0
    while k >= 0 && k < n {
      out.append(Int(ids[k]))
      k = Int(next[k])
    }
  }
}

extension BPEModel {
  /// The symbols of a SentencePiece-style piece (valid UTF-8), as the reference makes them: each
  /// character's token; else, with byte fallback, the `<0xNN>` tokens of its bytes when all exist;
  /// else the unknown token, one for a run of them with `fuse_unk`. A pending unknown token is
  /// written when the next character has a token (not before byte-fallback tokens), as the
  /// reference does.
  func symbols(_ piece: UnsafeBufferPointer<UInt8>, _ characterIDs: [UInt32: Int32], into ids: inout [Int32]) {
    var pending = false
    var i = 0
    let end = piece.count
    while i < end {
      let lead = piece[i]
      let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
      let stop = min(i + length, end)
      var scalar = length == 1 ? UInt32(lead) : UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
      if length > 1 { for k in (i + 1)..<stop { scalar = scalar << 6 | UInt32(piece[k] & 0x3F) } }
      if let id = characterIDs[scalar] {
        if pending, let unk = unknownID { ids.append(unk) }
        pending = false
        ids.append(id)
      } else if !fallbackIDs.isEmpty && piece[i..<stop].allSatisfy({ fallbackIDs[Int($0)] >= 0 }) {
        for b in piece[i..<stop] { ids.append(fallbackIDs[Int(b)]) }
      } else if let unk = unknownID {
        if pending && !fuseUnknown { ids.append(unk) }
        pending = true
      }
      i = stop
    }
    if pending, let unk = unknownID { ids.append(unk) }
  }
}

/// The merges as an open-addressing hash table: (left id, right id) -> rank << 32 | merged id.
struct MergeTable: Sendable {
  private var keys: [UInt64]
  private var values: [UInt64]
  private let shift: UInt64

  init(_ merges: [UInt64: (rank: Int32, id: Int32)]) {
    var bits: UInt64 = 4
    while (1 << bits) < merges.count * 2 { bits += 1 }
    shift = 64 - bits
    keys = [UInt64](repeating: UInt64.max, count: 1 << bits)
    values = [UInt64](repeating: UInt64.max, count: 1 << bits)
    let mask = (1 << Int(bits)) - 1
    for (key, m) in merges {
      var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
      while keys[i] != UInt64.max { i = (i + 1) & mask }
      keys[i] = key
      values[i] = UInt64(UInt32(bitPattern: m.rank)) << 32 | UInt64(UInt32(bitPattern: m.id))
    }
  }

  /// The merge of a pair as rank << 32 | merged id, UInt64.max when the pair is no merge.
  @inline(__always) func find(_ a: Int32, _ b: Int32) -> UInt64 {
    let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    return keys.withUnsafeBufferPointer { k in
      let mask = k.count - 1
      var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
      while true {
        let found = k[i]
        if found == key { return values[i] }
        if found == UInt64.max { return UInt64.max }
        i = (i + 1) & mask
      }
    }
  }
}

/// An open-addressing hash table from byte strings to lists of Int32, with its keys and values in
/// two arrays: the BPE pieces' cache and the tokens of a vocabulary by their bytes. At most
/// `maxEntries` entries (0: a table that stays empty) and `maxBytes` key bytes and values.
struct ByteKeyTable: Sendable {
  let maxEntries: Int
  let maxBytes: Int
  /// The entry of each slot, -1 for none; allocated at the first insertion.
  private var slots: [Int32] = []
  private var hashes: [UInt64] = []
  /// Entry e's key is keys[keyStarts[e]..<keyStarts[e + 1]], its values likewise.
  private var keyStarts: [Int32] = [0]
  private var valueStarts: [Int32] = [0]
  private var keys: [UInt8] = []
  private var values: [Int32] = []

  init(maxEntries: Int, maxBytes: Int = Int.max) {
    self.maxEntries = maxEntries
    self.maxBytes = maxBytes
  }

  var count: Int { hashes.count }
  var isFull: Bool { hashes.count >= maxEntries || keys.count >= maxBytes || values.count >= maxBytes }

  mutating func removeAll() {
    for k in slots.indices { slots[k] = -1 }
    hashes.removeAll(keepingCapacity: true)
    keyStarts.removeAll(keepingCapacity: true)
    keyStarts.append(0)
    valueStarts.removeAll(keepingCapacity: true)
    valueStarts.append(0)
    keys.removeAll(keepingCapacity: true)
    values.removeAll(keepingCapacity: true)
  }

  /// A hash of bytes (eight at a time, multiply and rotate, then a finalizer).
  @inline(__always) static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    let n = bytes.count
    var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
    guard let p = bytes.baseAddress else { return h }
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 8 <= n {
      let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
      h = ((h << 5 | h >> 59) ^ w) &* 0x517C_C1B7_2722_0A95
      i += 8
    }
    if i < n {
      var w: UInt64 = 0
      var s: UInt64 = 0
      while i < n {
        w |= UInt64(p[i]) << s
        s += 8
        i += 1
      }
      h = ((h << 5 | h >> 59) ^ w) &* 0x517C_C1B7_2722_0A95
    }
    h ^= h >> 32
    h = h &* 0xD6E8_FEB8_6659_FD93
    return h ^ h >> 32
  }

  /// The range in the values of `key`'s values, nil when `key` is not in the table.
  @inline(__always) func find(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Range<Int>? {
    if slots.isEmpty { return nil }
    return slots.withUnsafeBufferPointer { s in
      let mask = s.count - 1
      var i = Int(truncatingIfNeeded: h) & mask
      while true {
        let e = Int(s[i])
        if e < 0 { return nil }
        if hashes[e] == h {
          let a = Int(keyStarts[e]), b = Int(keyStarts[e + 1])
          if b - a == key.count && keys.withUnsafeBufferPointer({ k in
            key.isEmpty || Self.equal(UnsafeRawPointer(k.baseAddress! + a), UnsafeRawPointer(key.baseAddress!), key.count)
          }) {
            return Int(valueStarts[e])..<Int(valueStarts[e + 1])
          }
        }
        i = (i + 1) & mask
      }
    }
  }

  @inline(__always) func value(at k: Int) -> Int32 { values[k] }

  /// Whether `n` bytes at `a` and `b` are equal (eight at a time).
  @inline(__always) static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
      if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
      i += 8
    }
    while i < n {
      if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
      i += 1
    }
    return true
  }

  /// Appends the values of `key` to `out` when it is in the table.
  @inline(__always) func appendValues(of key: UnsafeBufferPointer<UInt8>, hash h: UInt64, to out: inout [Int]) -> Bool {
    guard let r = find(key, hash: h) else { return false }
    values.withUnsafeBufferPointer { v in
      for k in r { out.append(Int(v[k])) }
    }
    return true
  }

  /// Adds `key` (not in the table) with its values, unless the table is full.
  mutating func insert(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64, values list: some Sequence<Int32>) {
    if isFull { return }
    if slots.isEmpty || (hashes.count + 1) * 2 > slots.count {
      var size = max(slots.count * 2, 64)
      while size < (hashes.count + 1) * 2 { size *= 2 }
      slots = [Int32](repeating: -1, count: size)
      for (e, eh) in hashes.enumerated() { place(Int32(e), eh) }
    }
    let e = Int32(hashes.count)
    hashes.append(h)
    keys.append(contentsOf: key)
    keyStarts.append(Int32(keys.count))
    values.append(contentsOf: list)
    valueStarts.append(Int32(values.count))
    place(e, h)
  }

  private mutating func place(_ e: Int32, _ h: UInt64) {
    let mask = slots.count - 1
    var i = Int(truncatingIfNeeded: h) & mask
    while slots[i] >= 0 { i = (i + 1) & mask }
    slots[i] = e
  }
}

/// A binary min-heap of UInt64.
struct MinHeap {
  private var a: [UInt64] = []

  mutating func push(_ v: UInt64) {
    a.append(v)
    var i = a.count - 1
    while i > 0 {
      let p = (i - 1) / 2
      if a[p] <= a[i] { break }
      a.swapAt(p, i)
      i = p
    }
  }

  mutating func pop() -> UInt64? {
    guard let first = a.first else { return nil }
    let last = a.removeLast()
    if a.isEmpty { return first }
    a[0] = last
    var i = 0
    let n = a.count
    while true {
      let l = 2 * i + 1, r = l + 1
      var m = i
      if l < n && a[l] < a[m] { m = l }
      if r < n && a[r] < a[m] { m = r }
      if m == i { break }
      a.swapAt(i, m)
      i = m
    }
    return first
  }
}
