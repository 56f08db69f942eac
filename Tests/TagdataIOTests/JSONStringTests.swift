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
}
