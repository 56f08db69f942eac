import TagdataIO
import Testing

@testable import TagdataTasks

/// The memo that finds strings by where their bytes are: it may forget, never mistake.
@Suite struct AddressMemoTests {
  /// Long strings, each its own object (the memo keys on where the bytes are).
  static func strings(_ n: Int) -> [String] {
    (0..<n).map { i in String(decoding: Array("a string long enough to be kept \(i)".utf8), as: UTF8.self) }
  }

  @Test func aSlotKeepsTheLatestString() {
    // One slot: each string takes it from the one before.
    var memo = AddressMemo<Int>(capacity: 1)
    let s = Self.strings(2)
    memo.insert(s[0], 0)
    #expect(memo.value(s[0]) == 0)
    memo.insert(s[1], 1)
    #expect(memo.value(s[0]) == nil && memo.value(s[1]) == 1)
    memo.insert(s[1], 10)
    #expect(memo.value(s[1]) == 10)
    // Equal text in another string is another key; short strings are never kept.
    let copy = String(decoding: Array(s[1].utf8), as: UTF8.self)
    #expect(memo.value(copy) == nil)
    memo.insert("short", 5)
    #expect(memo.value("short") == nil)
  }

  @Test func lookupsGiveTheLatestValueOrNothing() {
    var rng = SplitMix64(seed: 0xADD0_0001)
    let s = Self.strings(3000)
    for capacity in [1, 64, 4096] {
      var memo = AddressMemo<Int>(capacity: capacity)
      var latest = [Int?](repeating: nil, count: s.count)
      var found = 0
      for step in 0..<40_000 {
        let i = rng.below(rng.below(4) == 0 ? s.count : 50)
        if rng.below(3) == 0 {
          memo.insert(s[i], step)
          latest[i] = step
        } else if let v = memo.value(s[i]) {
          #expect(v == latest[i], "string \(i) with capacity \(capacity)")
          found += 1
        }
      }
      // It does find what it was given.
      #expect(found > (capacity >= 64 ? 10_000 : 100))
    }
  }
}
