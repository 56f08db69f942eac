import Foundation
import Testing

@testable import TagdataTokenizer

/// SentencePiece-style BPE (byte fallback, Metaspace) on a small hand-made tokenizer.json; the
/// expected ids and texts are what `tokenizers` 0.23.3 gives for the same file.
struct HFSentencePieceTests {
  static let llama2Normalizer = #"{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}"#
  static let llama2Decoder = #"{"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}"#
  static let metaspaceFirst = #"{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": false}"#
  static let metaspaceSplit = #"{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}"#

  /// <unk> 0, <s> 1, </s> 2, <0x00>...<0xFF> 3...258, then ▁ a b ▁a ab ▁ab (259...264); merges
  /// "▁ a", "a b", "▁a b"; added tokens <unk>, <s> (special, raw) and "zz" (265, normalized).
  static func json(byteFallback: Bool = true, fuse: Bool = true, normalizer: String = llama2Normalizer,
                   pre: String = "null", decoder: String = llama2Decoder) -> [UInt8]
  {
    var vocab = [#""<unk>": 0"#, #""<s>": 1"#, #""</s>": 2"#]
    for b in 0..<256 { vocab.append("\"<0x\(String(format: "%02X", b))>\": \(3 + b)") }
    for (k, t) in ["\\u2581", "a", "b", "\\u2581a", "ab", "\\u2581ab"].enumerated() { vocab.append("\"\(t)\": \(259 + k)") }
    func added(_ id: Int, _ content: String, normalized: Bool, special: Bool) -> String {
      #"{"id": \#(id), "content": "\#(content)", "single_word": false, "lstrip": false, "rstrip": false, "normalized": \#(normalized), "special": \#(special)}"#
    }
    let text = """
      {"version": "1.0", "truncation": null, "padding": null,
       "added_tokens": [\(added(0, "<unk>", normalized: false, special: true)), \(added(1, "<s>", normalized: false, special: true)),
                        \(added(265, "zz", normalized: true, special: false))],
       "normalizer": \(normalizer), "pre_tokenizer": \(pre), "post_processor": null, "decoder": \(decoder),
       "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "fuse_unk": \(fuse), "byte_fallback": \(byteFallback),
                 "ignore_merges": false, "vocab": {\(vocab.joined(separator: ", "))},
                 "merges": [["\\u2581", "a"], ["a", "b"], ["\\u2581a", "b"]]}}
      """
    return Array(text.utf8)
  }

  /// A text, its ids, and their decoding without special tokens.
  typealias Case = (text: String, ids: [Int], decoded: String)

  static func check(_ t: HFTokenizer, _ cases: [Case], _ name: String) {
    for c in cases {
      let ids = t.encode(c.text)
      #expect(ids == c.ids, "\(name) \(c.text.debugDescription)")
      // `decoded` is tokenizers' decode with skip_special_tokens (its default).
      let back = t.decode(ids, skipSpecialTokens: true)
      #expect(back.unicodeScalars.elementsEqual(c.decoded.unicodeScalars), "\(name) \(c.text.debugDescription): \(back.debugDescription)")
    }
  }

  @Test func llama2ByteFallback() throws {
    let t = try HFTokenizer(json: Self.json())
    #expect(t.vocabularySize == 266)
    Self.check(t, [
      ("ab ab", [264, 264], "ab ab"), ("a  b", [262, 259, 259, 261], "a  b"),
      ("aé", [262, 198, 172], "aé"), ("éa", [259, 198, 172, 260], "éa"),
      ("aé€b", [262, 198, 172, 229, 133, 175, 261], "aé€b"), ("<s>ab", [1, 264], "ab"),
      ("ab<s> ab", [264, 1, 259, 264], "ab  ab"), ("zz", [265], "zz"), ("a zz", [262, 265], "a zz"),
      (" ", [259, 259], " "), ("", [], ""), ("b\u{301} a", [259, 261, 207, 132, 262], "b\u{301} a"),
    ], "llama2")
    // A cut character decodes to U+FFFD per byte; Strip takes one space, not a space with a mark.
    #expect(t.decode([259, 3 + 0xC3, 260]) == "\u{FFFD}a")
    #expect(t.decode([3 + 0xC3, 3 + 0xA9, 259]) == "é ")
    #expect(t.decode([265, 1], skipSpecialTokens: true) == "zz")
    #expect(t.token(forID: 265) == "\u{2581}zz")
    #expect(t.decode([264, 1, 259, 264]) == "ab<s>  ab")
    #expect(t.decode([262, 0, 0, 261]) == "a<unk><unk>b")
  }

  @Test func unknownCharactersWithoutByteFallback() throws {
    let fused = try HFTokenizer(json: Self.json(byteFallback: false))
    Self.check(fused, [("aé", [262, 0], "a"), ("éa", [259, 0, 260], "a"), ("aé€b", [262, 0, 261], "ab"),
                       ("b\u{301} a", [259, 261, 0, 262], "b a")], "fuse_unk")
    let apart = try HFTokenizer(json: Self.json(byteFallback: false, fuse: false))
    Self.check(apart, [("aé€b", [262, 0, 0, 261], "ab")], "no fuse_unk")
  }

  @Test func metaspacePreTokenizer() throws {
    let mistral = try HFTokenizer(json: Self.json(normalizer: "null", pre: Self.metaspaceFirst, decoder: Self.metaspaceFirst))
    Self.check(mistral, [
      ("ab ab", [264, 264], "ab ab"), ("aé", [262, 198, 172], "a<0xC3><0xA9>"), ("<s>ab", [1, 263], "ab"),
      ("ab<s> ab", [264, 1, 264], "ab ab"), ("a zz", [262, 259, 265], "a zz"), (" ", [259], ""),
      ("b\u{301} a", [259, 261, 207, 132, 262], "b<0xCC><0x81> a"),
    ], "mistral")
    let split = try HFTokenizer(json: Self.json(normalizer: "null", pre: Self.metaspaceSplit))
    Self.check(split, [
      ("a  b", [262, 259, 259, 261], "a  b"), ("ab<s> ab", [264, 1, 264], "ab ab"), ("a zz", [262, 259, 265], "a zz"),
      (" ", [259], ""), ("aé€b", [262, 198, 172, 229, 133, 175, 261], "aé€b"),
    ], "metaspace split")
  }

  @Test func unsupportedSentencePieceOptionsAreRefusedByName() throws {
    let cases: [([UInt8], String)] = [
      (Self.json(decoder: #"{"type": "ByteLevel"}"#), "decoder.type"),
      (Self.json(pre: #"{"type": "Metaspace", "replacement": "ab"}"#), "pre_tokenizer.replacement"),
      (Self.json(decoder: #"{"type": "Sequence", "decoders": [{"type": "Strip", "content": " ", "start": -1}]}"#), "decoder.decoders[0].start"),
      (Self.json(normalizer: #"{"type": "Lowercase"}"#), "normalizer.type"),
      (Self.json(pre: #"{"type": "Whitespace"}"#), "pre_tokenizer.type"),
    ]
    for (bytes, key) in cases {
      do {
        _ = try HFTokenizer(json: bytes, name: "t.json")
        Issue.record("accepted: \(key)")
      } catch let e as HFTokenizerError {
        #expect(e.key == key, "\(e)")
        #expect(e.line > 0, "\(e)")
      }
    }
  }

  /// Without a pre-tokenizer the whole text is one piece for the model: its merging must stay
  /// near linear (a heap, no rescans), so 8 times the text takes about 8 times as long.
  @Test func longTextStaysLinear() throws {
    let t = try HFTokenizer(json: Self.json())
    func seconds(_ n: Int) -> Double {
      let text = String(repeating: "ab a é€ ", count: n)
      let start = Date()
      let ids = t.encode(text)
      #expect(ids.count == 8 * n + 1)  // ▁ab ▁a ▁ and five byte tokens each time, the last ▁ alone
      return Date().timeIntervalSince(start)
    }
    let small = seconds(5_000), large = seconds(40_000)
    #expect(large < 30 * small + 0.5, "\(small) s for 5,000 repeats, \(large) s for 40,000")
  }
}
