/// What one thread last worked out for strings, found by where the string's bytes are rather than
/// by hashing them: the builder hands over the same `String` (one protein's sequence, one
/// ligand's SMILES, out of the catalog's caches) row after row, and hashing 700 bytes to find it
/// again costs more than the work it saves. A slot per address (direct-mapped, `capacity` a power
/// of two); each slot holds its string, so no other string can have its bytes at that place while
/// it is there. Strings shorter than `minimumLength` (kept inline in the `String` itself, or
/// cheap to hash), longer than `maximumLength` (not kept alive here), or without contiguous
/// bytes are never memoized.
struct AddressMemo<Value> {
  /// Where each slot's string is and its value; the strings themselves, which keep those bytes
  /// alive, apart: a lookup then reads no reference count (another thread may be changing the
  /// counts of these very strings).
  private var slots: [(base: UnsafeRawPointer, count: Int, value: Value)?]
  private var strings: [String?]
  private let mask: Int
  let minimumLength: Int
  let maximumLength: Int

  init(capacity: Int, minimumLength: Int = 16, maximumLength: Int = 1 << 16) {
    var c = 1
    while c < capacity { c <<= 1 }
    slots = Array(repeating: nil, count: c)
    strings = Array(repeating: nil, count: c)
    mask = c - 1
    self.minimumLength = max(16, minimumLength)
    self.maximumLength = maximumLength
  }

  /// Where `s`'s bytes are and its slot; nil when `s` is not memoized.
  func place(_ s: String) -> (base: UnsafeRawPointer, slot: Int)? {
    let n = s.utf8.count
    guard n >= minimumLength, n <= maximumLength,
      let base = s.utf8.withContiguousStorageIfAvailable({ $0.baseAddress.map { UnsafeRawPointer($0) } }) ?? nil
    else { return nil }
    let h = UInt(bitPattern: base) >> 4
    return (base, Int(truncatingIfNeeded: h ^ (h >> 12)) & mask)
  }

  func value(_ s: String, at place: (base: UnsafeRawPointer, slot: Int)) -> Value? {
    guard let e = slots[place.slot], e.base == place.base, e.count == s.utf8.count else { return nil }
    return e.value
  }

  func value(_ s: String) -> Value? { place(s).flatMap { value(s, at: $0) } }

  mutating func insert(_ s: String, _ value: Value, at place: (base: UnsafeRawPointer, slot: Int)) {
    strings[place.slot] = s
    slots[place.slot] = (place.base, s.utf8.count, value)
  }

  mutating func insert(_ s: String, _ value: Value) {
    if let p = place(s) { insert(s, value, at: p) }
  }
}

/// Values by string for one thread, in bounded memory: long strings by where their bytes are
/// (``AddressMemo``), short ones (kept in the `String` itself, cheap to hash) by value. It may
/// forget a string, never give another's value.
struct StringMemo<Value> {
  private var long: AddressMemo<Value>
  private var short: [String: Value] = [:]
  private let shortCapacity: Int

  init(capacity: Int, shortCapacity: Int) {
    long = AddressMemo(capacity: capacity)
    self.shortCapacity = shortCapacity
  }

  func value(_ s: String) -> Value? {
    if let p = long.place(s) { return long.value(s, at: p) }
    // Long but not memoized (too long, or no contiguous bytes): hashing it would cost as much as
    // what it saves.
    return s.utf8.count < long.minimumLength ? short[s] : nil
  }

  mutating func insert(_ s: String, _ value: Value) {
    if let p = long.place(s) {
      long.insert(s, value, at: p)
    } else if s.utf8.count < long.minimumLength {
      if short.count >= shortCapacity { short.removeAll(keepingCapacity: true) }
      short[s] = value
    }
  }
}
