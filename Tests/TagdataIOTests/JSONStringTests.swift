import Foundation
import TagdataIO
import TestSupport
import Testing

@Suite struct JSONStringTests {
  /// The byte writer gives the bytes of `quoted`, and JSON parsers read the text back.
  @Test func appendEqualsQuotedAndReadsBack() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x4A53_4F4E))
    let alphabet: [Unicode.Scalar] = ["a", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "é", "\u{301}",
                                      "😀", "/", " ", "<", "\u{2028}"]
    for _ in 0..<5_000 {
      var s = ""
      for _ in 0..<Int(rng.next() % 40) { s.unicodeScalars.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
      var out: [UInt8] = []
      JSONString.append(s, to: &out)
      #expect(out == Array(JSONString.quoted(s).utf8), "\(s.debugDescription)")
      let back = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
      #expect(back.map { Array($0.unicodeScalars) } == Array(s.unicodeScalars), "\(s.debugDescription)")
    }
  }

  /// Long runs with nothing to escape (skipped eight bytes at a time) and a rare byte that needs
  /// one at every offset and near both ends: the same bytes as the scalar writer `quoted`.
  @Test func longCleanRunsWithRareEscapes() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5741_5246))
    let clean: [Unicode.Scalar] = ["A", "C", "G", "T", "=", "(", ")", "[", "]", "@", "#", "~", "\u{7F}", "é", "😀", " "]
    let rare: [Unicode.Scalar] = ["\"", "\\", "\n", "\u{0}", "\u{1F}", "\t", "\r"]
    for round in 0..<4_000 {
      let n = round < 64 ? round : Int(rng.next() % 300)
      var scalars: [Unicode.Scalar] = (0..<n).map { _ in clean[Int(rng.next() % UInt64(clean.count))] }
      // None, one or a few bytes to escape, at random places, the first or the last.
      for _ in 0..<Int(rng.next() % 4) where !scalars.isEmpty {
        let at = [0, scalars.count - 1, Int(rng.next() % UInt64(scalars.count))][Int(rng.next() % 3)]
        scalars[at] = rare[Int(rng.next() % UInt64(rare.count))]
      }
      var s = ""
      s.unicodeScalars.append(contentsOf: scalars)
      var out: [UInt8] = []
      JSONString.append(s, to: &out)
      #expect(out == Array(JSONString.quoted(s).utf8), "\(s.debugDescription)")
      // The same through the byte-buffer entry, from a buffer that does not start aligned.
      var bytes: [UInt8] = [0x41] + Array(s.utf8)
      var out2: [UInt8] = []
      bytes.withUnsafeBytes { JSONString.append(UnsafeRawBufferPointer(rebasing: $0[1...]), to: &out2) }
      #expect(out2 == out)
      bytes.removeAll()
    }
  }
}
