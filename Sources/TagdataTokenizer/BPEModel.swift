import Foundation

/// A byte-level BPE model: the id of each byte's token, the merges by rank, and a bounded cache of
/// the ids of pieces already seen.
final class BPEModel: @unchecked Sendable {
  /// The id of each byte's one-character token, -1 when the vocabulary lacks it.
  let byteIDs: [Int32]
  /// (left id << 32 | right id) -> (rank, id of the merged token).
  let merges: [UInt64: (rank: Int32, id: Int32)]
  /// The ids of tokens by the bytes they stand for (for `ignore_merges`).
  let vocabularyByBytes: [[UInt8]: Int32]
  let ignoreMerges: Bool
  let unknownID: Int32?
  let fuseUnknown: Bool
  /// SentencePiece-style BPE: the ids of the one-character tokens by scalar (the symbols are
  /// characters, not bytes); nil for byte-level BPE.
  let characterIDs: [UInt32: Int32]?
  /// With `byte_fallback`, the id of each byte's `<0xNN>` token (-1 when missing); empty without.
  let fallbackIDs: [Int32]

  /// Pieces up to this many bytes are cached; the cache is emptied when it holds `cacheCapacity`.
  static let cacheableLength = 256
  static let cacheCapacity = 10_000
  private var cache: [[UInt8]: [Int32]] = [:]
  private let lock = NSLock()

  init(byteIDs: [Int32], merges: [UInt64: (rank: Int32, id: Int32)], vocabularyByBytes: [[UInt8]: Int32],
       ignoreMerges: Bool, unknownID: Int32?, fuseUnknown: Bool, characterIDs: [UInt32: Int32]? = nil,
       fallbackIDs: [Int32] = [])
  {
    self.characterIDs = characterIDs
    self.fallbackIDs = fallbackIDs
    self.byteIDs = byteIDs
    self.merges = merges
    self.vocabularyByBytes = vocabularyByBytes
    self.ignoreMerges = ignoreMerges
    self.unknownID = unknownID
    self.fuseUnknown = fuseUnknown
  }

  /// Appends the ids of one pre-tokenized piece (its UTF-8 bytes).
  func encode(_ piece: ArraySlice<UInt8>, into out: inout [Int]) {
    if piece.isEmpty { return }
    let cacheable = piece.count <= Self.cacheableLength
    let key = cacheable ? Array(piece) : []
    if cacheable {
      lock.lock()
      let hit = cache[key]
      lock.unlock()
      if let hit {
        for id in hit { out.append(Int(id)) }
        return
      }
    }
    let ids = merge(piece)
    if cacheable {
      lock.lock()
      if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
      cache[key] = ids
      lock.unlock()
    }
    for id in ids { out.append(Int(id)) }
  }

  /// The ids of a piece: the whole piece when `ignore_merges` and it is a token, otherwise its bytes'
  /// tokens merged, lowest rank first and leftmost first among equal ranks.
  func merge(_ piece: ArraySlice<UInt8>) -> [Int32] {
    if ignoreMerges, let id = vocabularyByBytes[Array(piece)] { return [id] }
    // The symbols, a doubly linked list over arrays.
    var ids: [Int32] = []
    ids.reserveCapacity(piece.count)
    var lastUnknown = false
    if let characterIDs {
      symbols(piece, characterIDs, into: &ids)
    } else {
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
    let n = ids.count
    if n < 2 { return ids }
    var next = [Int32](repeating: -1, count: n)
    var prev = [Int32](repeating: -1, count: n)
    var alive = [Bool](repeating: true, count: n)
    for k in 0..<n {
      next[k] = k + 1 < n ? Int32(k + 1) : -1
      prev[k] = Int32(k - 1)
    }
    // A min-heap of (rank << 32 | position).
    var heap = MinHeap()
    @inline(__always) func pair(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }
    for k in 0..<(n - 1) {
      if let m = merges[pair(ids[k], ids[k + 1])] { heap.push(UInt64(UInt32(m.rank)) << 32 | UInt64(k)) }
    }
    while let top = heap.pop() {
      let rank = Int32(truncatingIfNeeded: top >> 32)
      let k = Int(truncatingIfNeeded: top & 0xFFFF_FFFF)
      guard alive[k], next[k] >= 0 else { continue }
      let r = Int(next[k])
      guard let m = merges[pair(ids[k], ids[r])], m.rank == rank else { continue }  // a stale entry
      ids[k] = m.id
      alive[r] = false
      next[k] = next[r]
      if next[r] >= 0 { prev[Int(next[r])] = Int32(k) }
      if prev[k] >= 0, let left = merges[pair(ids[Int(prev[k])], ids[k])] {
        heap.push(UInt64(UInt32(left.rank)) << 32 | UInt64(prev[k]))
      }
      if next[k] >= 0, let right = merges[pair(ids[k], ids[Int(next[k])])] {
        heap.push(UInt64(UInt32(right.rank)) << 32 | UInt64(k))
      }
    }
    var out: [Int32] = []
    var k = 0
    while k >= 0 && k < n {
      out.append(ids[k])
      k = Int(next[k])
    }
    return out
  }
}

extension BPEModel {
  /// The symbols of a SentencePiece-style piece (valid UTF-8), as the reference makes them: each
  /// character's token; else, with byte fallback, the `<0xNN>` tokens of its bytes when all exist;
  /// else the unknown token, one for a run of them with `fuse_unk`. A pending unknown token is
  /// written when the next character has a token (not before byte-fallback tokens), as the
  /// reference does.
  func symbols(_ piece: ArraySlice<UInt8>, _ characterIDs: [UInt32: Int32], into ids: inout [Int32]) {
    var pending = false
    var i = piece.startIndex
    let end = piece.endIndex
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
