import Foundation
import TestSupport
import Testing

@testable import TagdataTokenizer

/// HFTokenizer on small tokenizer.json files written here: the byte map, the merge order, the
/// split patterns, added tokens, and the refusal of what it does not support or cannot read.
@Suite struct HFTokenizerTests {
  /// A JSON string literal.
  static func quoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
      switch c {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case _ where c.value < 0x20: out += String(format: "\\u%04x", c.value)
      default: out.unicodeScalars.append(c)
      }
    }
    return out + "\""
  }

  /// A byte-level BPE tokenizer.json: the 256 byte tokens (ids 0–255 in byte order), then `extra`
  /// tokens (written with the byte map: " " stands for "Ġ"), the merges as JSON text.
  static func json(extra: [String] = [], merges: String = "[]", model: String = "", preTokenizer: String? = nil,
                   normalizer: String = "null", added: String = "[]", decoder: String = #"{"type": "ByteLevel"}"#,
                   postProcessor: String = "null", top: String = "") -> [UInt8]
  {
    var vocab: [String] = ByteLevelMap.characters.map { String(Character($0)) }
    vocab += extra.map { ByteLevelMap.string(of: Array($0.utf8)) }
    let entries = vocab.enumerated().map { "\(quoted($0.element)): \($0.offset)" }.joined(separator: ",\n    ")
    let pre = preTokenizer ?? #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#
    let text = """
      {
        "version": "1.0",\(top)
        "truncation": null,
        "padding": null,
        "added_tokens": \(added),
        "normalizer": \(normalizer),
        "pre_tokenizer": \(pre),
        "post_processor": \(postProcessor),
        "decoder": \(decoder),
        "model": {
          "type": "BPE",\(model)
          "vocab": {
          \(entries)
          },
          "merges": \(merges)
        }
      }
      """
    return Array(text.utf8)
  }

  /// The tokens of the ids, spelled as bytes (" " for "Ġ").
  static func pieces(_ t: HFTokenizer, _ text: String) -> [String] {
    t.encode(text).map { t.decode([$0]) }
  }

  static func error(_ bytes: [UInt8]) -> HFTokenizerError? {
    do {
      _ = try HFTokenizer(json: bytes, name: "t.json")
      return nil
    } catch let e as HFTokenizerError {
      return e
    } catch {
      return nil
    }
  }

  // MARK: The byte map

  @Test func byteMapIsGPT2s() {
    let c = ByteLevelMap.characters
    #expect(c.count == 256 && Set(c).count == 256)
    #expect(c[0x20] == "\u{0120}")  // space: Ġ
    #expect(c[0x0A] == "\u{010A}")  // line feed: Ċ
    #expect(c[0x00] == "\u{0100}")
    #expect(c[0x7F] == "\u{0121}")  // DEL follows the 33 bytes 0–32
    #expect(c[0x80] == "\u{0122}" && c[0xA0] == "\u{0142}")
    #expect(c[0xAD] == "\u{0143}")  // the soft hyphen is the last one moved
    #expect(c[0x41] == "A" && c[0x7E] == "~" && c[0xA1] == "\u{00A1}" && c[0xE9] == "\u{00E9}" && c[0xFF] == "\u{00FF}")
    for b in 0..<256 { #expect(ByteLevelMap.byte(of: c[b]) == UInt8(b)) }
    #expect(ByteLevelMap.byte(of: " ") == nil && ByteLevelMap.byte(of: "\u{0144}") == nil && ByteLevelMap.byte(of: "\u{00AD}") == nil)
    #expect(ByteLevelMap.bytes(of: "\u{0120}hello\u{010A}") == Array(" hello\n".utf8))
    #expect(ByteLevelMap.bytes(of: "<TAG 0>") == nil)
    #expect(ByteLevelMap.string(of: Array("é ".utf8)) == "\u{00C3}\u{00A9}\u{0120}")
  }

  // MARK: Merges

  @Test func lowestRankMergesFirst() throws {
    // (b, c) has rank 0 and wins over (a, b), rank 1, although it lies to the right.
    let bcFirst = try HFTokenizer(json: Self.json(extra: ["ab", "bc", "abc"], merges: #"["b c", "a b"]"#))
    #expect(Self.pieces(bcFirst, "abc") == ["a", "bc"])
    let abFirst = try HFTokenizer(json: Self.json(extra: ["ab", "bc", "abc"], merges: #"["a b", "b c"]"#))
    #expect(Self.pieces(abFirst, "abc") == ["ab", "c"])
    // A merge of merged tokens.
    let whole = try HFTokenizer(json: Self.json(extra: ["ab", "bc", "abc"], merges: #"["b c", "a b", "a bc"]"#))
    #expect(whole.encode("abc") == [whole.id(forToken: "abc")!])
    // The same merges as [a, b] pairs.
    let pairs = try HFTokenizer(json: Self.json(extra: ["ab", "bc", "abc"], merges: #"[["b", "c"], ["a", "b"]]"#))
    #expect(Self.pieces(pairs, "abc") == ["a", "bc"])
  }

  @Test func equalRanksMergeLeftmostFirst() throws {
    let t = try HFTokenizer(json: Self.json(extra: ["aa", "aaaa"], merges: #"["a a", "aa aa"]"#))
    #expect(Self.pieces(t, "aaa") == ["aa", "a"])
    #expect(Self.pieces(t, "aaaaa") == ["aaaa", "a"])
    #expect(Self.pieces(t, "aaaaaaa") == ["aaaa", "aa", "a"])
    // A long piece (not cached) and the same piece again (cached) give the same ids.
    let long = String(repeating: "a", count: 1001)
    let first = t.encode(long)
    #expect(first.count == 251 && t.encode(long) == first)
    #expect(t.decode(first) == long)
  }

  @Test func ignoreMergesTakesWholeTokens() throws {
    let merging = try HFTokenizer(json: Self.json(extra: ["ab", "abc"], merges: #"["a b"]"#))
    #expect(Self.pieces(merging, "abc") == ["ab", "c"])
    let whole = try HFTokenizer(json: Self.json(extra: ["ab", "abc"], merges: #"["a b"]"#, model: #" "ignore_merges": true,"#))
    #expect(whole.encode("abc") == [whole.id(forToken: "abc")!])
    #expect(Self.pieces(whole, "abcc") == ["ab", "c", "c"])
  }

  // MARK: Split patterns

  static func split(_ p: SplitPattern, _ s: String) -> [String] {
    let scalars = Array(s.unicodeScalars)
    var ranges: [Range<Int>] = []
    p.split(scalars, scalars.map(SplitPattern.classOf), 0..<scalars.count, into: &ranges)
    return ranges.map { String(String.UnicodeScalarView(scalars[$0])) }
  }

  /// Expected pieces are those of `tokenizers`' Split(Regex(pattern), "isolated").
  @Test func gpt2PatternPieces() {
    let cases: [(String, [String])] = [
      ("it's THEY'RE we'll 'S", ["it", "'s", " THEY", "'", "RE", " we", "'ll", " '", "S"]),
      ("a \t\n \n  b  c   ", ["a", " \t\n \n ", " b", " ", " c", "   "]),
      (" 123abc!!  ?x", [" 123", "abc", "!!", " ", " ?", "x"]),
      ("x\r\n\r\n\ty", ["x", "\r\n\r\n", "\t", "y"]),
      ("e\u{301}t\u{E9} \u{A0}\u{A0}y", ["e", "\u{301}", "t\u{E9}", " \u{A0}", "\u{A0}", "y"]),
      ("CC(=O)O [Na+]", ["CC", "(=", "O", ")", "O", " [", "Na", "+]"]),
    ]
    for (text, expected) in cases {
      let got = Self.split(.gpt2, text)
      #expect(got.map { Array($0.unicodeScalars) } == expected.map { Array($0.unicodeScalars) }, "\(text.debugDescription)")
    }
  }

  @Test func llama3PatternPieces() {
    let cases: [(String, [String])] = [
      ("'\u{17F} 'S 'Re 'LL '\u{FB05}", ["'\u{17F}", " '", "S", " '", "Re", " '", "LL", " '", "\u{FB05}"]),
      ("a \t\n \n  b  c   ", ["a", " \t\n \n", " ", " b", " ", " c", "   "]),
      ("x\r\n\r\n\ty", ["x", "\r\n\r\n", "\ty"]),
      ("12345 \u{661}\u{662}\u{663}", ["123", "45", " ", "\u{661}\u{662}\u{663}"]),
      ("\u{85}x\u{A0}y\u{2028}z", ["\u{85}x", "\u{A0}y", "\u{2028}z"]),
      ("x\u{200B}q", ["x", "\u{200B}q"]),
      ("'\u{212A} 'k '\u{2BC}s", ["'\u{212A}", " '", "k", " '", "\u{2BC}s"]),
      ("e\u{301}e", ["e", "\u{301}e"]),
    ]
    for (text, expected) in cases {
      let got = Self.split(.llama3, text)
      #expect(got.map { Array($0.unicodeScalars) } == expected.map { Array($0.unicodeScalars) }, "\(text.debugDescription)")
    }
  }

  /// SmolLM's Sequence: Digits, then ByteLevel with GPT-2's regex.
  @Test func digitsSplitNumbers() throws {
    func digits(_ individual: Bool) throws -> HFTokenizer {
      try HFTokenizer(json: Self.json(extra: ["12", "ab"], merges: #"["1 2", "a b"]"#, preTokenizer: """
        {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": \(individual)},
          {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}]}
        """))
    }
    #expect(Self.pieces(try digits(true), "ab12x12") == ["ab", "1", "2", "x", "1", "2"])
    #expect(Self.pieces(try digits(false), "ab12 12") == ["ab", "12", " ", "12"])
  }

  /// Long runs of one kind (one piece of 100,000 scalars, or 100,000 pieces) encode in time
  /// that grows with the length, not its square, and decode back.
  @Test func longRunsStayLinear() throws {
    let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"#
    let split = """
      {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\(llama3)"}, "behavior": "Isolated", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}
      """
    let merges = #"["a a", "aa aa", "Ġ Ġ", "ĠĠ ĠĠ"]"#
    let tokenizers = [
      try HFTokenizer(json: Self.json(extra: ["aa", "aaaa", "  ", "    "], merges: merges)),
      try HFTokenizer(json: Self.json(extra: ["aa", "aaaa", "  ", "    "], merges: merges, preTokenizer: split)),
    ]
    let n = 100_000
    let inputs = [String(repeating: "a", count: n), String(repeating: " ", count: n), String(repeating: " \t", count: n / 2),
                  String(repeating: "'", count: n), String(repeating: "1", count: n), String(repeating: "\u{E9}", count: n),
                  String(repeating: "a ", count: n / 2), String(repeating: " \n", count: n / 2) + "x",
                  String(repeating: "\r\n", count: n / 2), String(repeating: "'s", count: n / 2)]
    for t in tokenizers {
      for x in inputs {
        let start = Date()
        let ids = t.encode(x)
        let seconds = Date().timeIntervalSince(start)
        #expect(Self.same(t.decode(ids), x), "\(x.prefix(4).debugDescription)…")
        #expect(seconds < 10, "\(x.prefix(4).debugDescription)… took \(seconds) s")
      }
    }
  }

  static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

  /// One tokenizer shared by threads (its cache behind a lock) gives each the ids it gives alone.
  @Test func concurrentEncodingAgrees() throws {
    let t = try HFTokenizer(json: Self.json(extra: ["aa", "ab", "aab"], merges: #"["a a", "a b", "aa b"]"#))
    let parts: [String] = ["a", "b", " ", "ab", "é", "aab "]
    let texts: [String] = (0..<200).map { k in
      var text = ""
      for j in 0...(k % 17) { text += parts[(j * 7 + k) % 6] }
      return text
    }
    let alone = texts.map { t.encode($0) }
    let results = LockedArray(count: 8)
    DispatchQueue.concurrentPerform(iterations: 8) { worker in
      var ok = true
      for round in 0..<20 {
        for (k, text) in texts.enumerated() where (k + round + worker) % 3 == 0 { ok = ok && t.encode(text) == alone[k] }
      }
      results.set(worker, ok)
    }
    #expect(results.all)
  }

  /// The byte API gives the String API's ids, appended; bytes that are not UTF-8 are read as
  /// `String(decoding:as:)` reads them.
  @Test func bytesGiveTheIdsOfTheirText() throws {
    let t = try HFTokenizer(json: Self.json(extra: ["aa", "ab", "aab"], merges: #"["a a", "a b", "aa b"]"#, added: Self.addedTokens))
    let cases: [[UInt8]] = [
      Array("aab <S> ab é sw".utf8), [0x61, 0xFF, 0x61, 0x62], [0xE2, 0x82], [0xED, 0xA0, 0x80, 0x61], [0xC0, 0xAF, 0x20],
      [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98, 0x80, 0x61], [0xE0, 0x9F, 0xBF], Array("abababababab\u{1F600}".utf8), [],
    ]
    for bytes in cases {
      var ids: [Int] = [7]
      bytes.withUnsafeBufferPointer { t.encode(bytes: $0, into: &ids) }
      #expect(ids == [7] + t.encode(String(decoding: bytes, as: UTF8.self)), "\(bytes)")
    }
    // The validation agrees with the standard library's decoding on random bytes.
    var state: UInt64 = 0x0DDB1A5E5
    for _ in 0..<20_000 {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      let n = Int(state >> 60)
      var bytes: [UInt8] = []
      for k in 0..<n {
        let r = UInt8(truncatingIfNeeded: (state >> UInt64(k * 4 % 56)) &* 0x9E3779B97F4A7C15 >> 56)
        bytes.append(k % 3 == 0 ? r | 0x80 : r)
      }
      let valid = String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes)
      #expect(bytes.withUnsafeBufferPointer { UTF8Bytes.isValid($0) } == valid, "\(bytes)")
    }
  }

  /// Ids of many texts appended to one array: the array grows geometrically, not by what each
  /// text needs (which copies the whole array at every text: quadratic).
  @Test func appendingManyTextsGrowsGeometrically() throws {
    let t = try HFTokenizer(json: Self.json(extra: ["aa", "ab", "aab"], merges: #"["a a", "a b", "aa b"]"#))
    let text = Array("aabaabaab".utf8)  // fewer tokens than bytes
    var ids: [Int] = []
    var growths = 0
    text.withUnsafeBufferPointer { b in
      for _ in 0..<30_000 {
        let capacity = ids.capacity
        t.encode(bytes: b, into: &ids)
        if ids.capacity != capacity { growths += 1 }
      }
    }
    #expect(ids.count == 30_000 * t.encode("aabaabaab").count)
    #expect(growths <= 40, "the array grew \(growths) times for 30,000 texts")
  }

  /// More distinct pieces than the cache holds: the cache is emptied and filled again, and every
  /// pass gives the ids of a tokenizer that has seen nothing.
  @Test func cacheOverflowKeepsTheIds() throws {
    let json = Self.json(extra: ["aa", "ab", "aab", "bb"], merges: #"["a a", "a b", "aa b", "b b"]"#)
    let t = try HFTokenizer(json: json)
    let words = (0..<(BPEModel.cacheCapacity + 3_000)).map { k in
      String(String(k, radix: 2).map { $0 == "0" ? "a" : "b" })
    }
    let text = words.joined(separator: " ")
    let first = t.encode(text)
    #expect(t.encode(text) == first)
    var fresh: [Int] = []
    for chunk in stride(from: 0, to: words.count, by: 5_000) {
      let u = try HFTokenizer(json: json)
      let part = (chunk > 0 ? " " : "") + words[chunk..<min(chunk + 5_000, words.count)].joined(separator: " ")
      fresh += u.encode(part)
    }
    #expect(fresh == first)
  }

  // MARK: Added tokens

  static let addedTokens = """
    [{"id": 300, "content": "<S>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
     {"id": 301, "content": "sw", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false},
     {"id": 302, "content": "<L>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": true, "special": false},
     {"id": 303, "content": "<R>", "single_word": false, "lstrip": false, "rstrip": true, "normalized": true, "special": false},
     {"id": 304, "content": "<TAG 0>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false}]
    """

  @Test func addedTokensFollowTheirFlags() throws {
    let t = try HFTokenizer(json: Self.json(added: Self.addedTokens))
    #expect(t.vocabularySize == 305)
    #expect(t.encode("x sw y").contains(301))
    #expect(t.encode("-sw-").contains(301))
    #expect(t.encode("\u{BD}sw\u{B2}").contains(301))  // ½ and ² are not word characters
    for glued in ["xsw y", "_sw", "\u{E9}sw", "1sw", "a\u{301}sw", "sw\u{2160}"] { #expect(!t.encode(glued).contains(301), "\(glued)") }
    // lstrip takes the white space before, rstrip the white space after.
    #expect(t.encode("a  <L>b") == [0x61, 302, 0x62])
    #expect(t.encode("a<R> \t b") == [0x61, 303, 0x62])
    #expect(t.decode(t.encode("a  <L>b")) == "a<L>b")
    // Special or not, an added token is one id; decode spells it, or leaves special ones out.
    let ids = t.encode("x<S>y<TAG 0>z")
    #expect(ids == [0x78, 300, 0x79, 304, 0x7A])
    #expect(t.decode(ids) == "x<S>y<TAG 0>z")
    #expect(t.decode(ids, skipSpecialTokens: true) == "xy<TAG 0>z")
    #expect(t.id(forToken: "<TAG 0>") == 304 && t.token(forID: 304) == "<TAG 0>" && t.id(forToken: "\u{0120}") == 32)
    #expect(t.decode([-1, 400, 0x61]) == "a")  // ids that name nothing are left out
  }

  /// NFC composes a Hangul LV syllable with a following trailing consonant into its LVT syllable
  /// (as the reference does; Foundation on Linux leaves the pair apart).
  @Test func nfcComposesHangulSyllableAndTrailingJamo() {
    for (text, nfc) in [("\u{ACC4}\u{11B5}", "\u{ACD2}"), ("\u{AC00}\u{11A8}x", "\u{AC01}x"), ("\u{1100}\u{1161}\u{11A8}", "\u{AC01}"),
                        ("\u{AC01}\u{11A8}", "\u{AC01}\u{11A8}"), ("\u{AC00}\u{11A7}", "\u{AC00}\u{11A7}"), ("e\u{301}", "\u{E9}")] {
      let ours = HFTokenizer.nfc(text)
      #expect(ours.unicodeScalars.elementsEqual(nfc.unicodeScalars), "\(text.debugDescription): \(ours.debugDescription)")
    }
  }

  /// single_word's word characters are those of the reference's Unicode 16 tables: a letter new in
  /// Unicode 17 (CJK extension J) does not keep a single-word token from matching beside it.
  @Test func wordCharactersFollowUnicode16() {
    #expect(!AddedTokenMatcher.isWordCharacter("\u{33289}"))
    #expect(AddedTokenMatcher.isWordCharacter("\u{1C89}"))  // Unicode 16
    #expect(AddedTokenMatcher.isWordCharacter("\u{1E5D0}"))  // Unicode 16
    #expect(AddedTokenMatcher.isWordCharacter("\u{31350}"))  // Unicode 15
    #expect(AddedTokenMatcher.isWordCharacter("a") && !AddedTokenMatcher.isWordCharacter("\u{BD}"))
  }

  /// The split patterns' classes are those of the reference's Unicode 16 tables: a letter new in
  /// Unicode 17 is neither a letter nor a number there.
  @Test func splitClassesFollowUnicode16() {
    #expect(SplitPattern.classOf("\u{33289}") == 0)
    #expect(SplitPattern.classOf("\u{1C89}") == SplitPattern.letter)  // Unicode 16
    #expect(SplitPattern.classOf("\u{31350}") == SplitPattern.letter)  // Unicode 15
  }

  @Test func normalizedAddedTokensMatchAfterNFC() throws {
    let added = #"[{"id": 300, "content": "\u00e9t\u00e9", "normalized": true, "special": false}]"#
    let nfc = try HFTokenizer(json: Self.json(normalizer: #"{"type": "NFC"}"#, added: added))
    #expect(nfc.encode("e\u{301}te\u{301}!") == [300, 0x21])
    #expect(nfc.encode("caf\u{E9}") == nfc.encode("cafe\u{301}"))
    let plain = try HFTokenizer(json: Self.json(added: added))
    #expect(plain.encode("e\u{301}te\u{301}") == [0x65, 0xCC, 0x81, 0x74, 0x65, 0xCC, 0x81])
  }

  @Test func prefixSpaceAndUnknownBytes() throws {
    let prefix = try HFTokenizer(json: Self.json(
      preTokenizer: #"{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true}"#, added: Self.addedTokens))
    // Each piece between added tokens gets its space.
    #expect(prefix.encode("a<S>b") == [0x20, 0x61, 300, 0x20, 0x62])
    #expect(prefix.encode(" a") == [0x20, 0x61])
    // Bytes without a token: the unknown token (one for a run with fuse_unk), or nothing.
    func small(_ model: String) throws -> HFTokenizer {
      try HFTokenizer(json: Array("""
        {"model": {"type": "BPE", "vocab": {"a": 0, "<unk>": 1}, "merges": [], \(model)},
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"}}
        """.utf8))
    }
    #expect(try small(#""unk_token": "<unk>""#).encode("abba") == [0, 1, 1, 0])
    #expect(try small(#""unk_token": "<unk>", "fuse_unk": true"#).encode("abba") == [0, 1, 0])
    #expect(try small(#""unk_token": null"#).encode("abba") == [0, 0])
    #expect(Self.error(Array(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}"#.utf8))?.key
              == "model.unk_token")
  }

  // MARK: Refusals and malformed files

  @Test func unsupportedComponentsAreRefusedByName() throws {
    let cases: [([UInt8], String, String)] = [
      (Self.json(preTokenizer: #"{"type": "Whitespace"}"#), "pre_tokenizer.type", "Whitespace"),
      (Self.json(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "Punctuation", "behavior": "Isolated"}]}"#),
       "pre_tokenizer.pretokenizers[1].type", "Punctuation"),
      (Self.json(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "use_regex": false}]}"#),
       "pre_tokenizer.pretokenizers[0].pattern.Regex", "\\s+"),
      (Self.json(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"String": " "}, "behavior": "Isolated"}, {"type": "ByteLevel"}]}"#),
       "pre_tokenizer.pretokenizers[0].pattern.String", "Regex"),
      (Self.json(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}, "behavior": "Removed"}, {"type": "ByteLevel"}]}"#),
       "pre_tokenizer.pretokenizers[0].behavior", "Removed"),
      (Self.json(preTokenizer: "null"), "decoder.type", "ByteLevel"),
      (Self.json(preTokenizer: #"{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "sometimes"}"#),
       "pre_tokenizer.prepend_scheme", "sometimes"),
      (Self.json(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "Metaspace"}, {"type": "Digits"}]}"#),
       "pre_tokenizer", "Metaspace"),
      (Self.json(preTokenizer: "null", decoder: #"{"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "CTC"}]}"#),
       "decoder.decoders[1].type", "CTC"),
      (Self.json(normalizer: #"{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"Regex": " +"}, "content": "\u2581"}]}"#),
       "normalizer.normalizers[1].pattern.Regex", "String"),
      (Self.json(normalizer: #"{"type": "Lowercase"}"#), "normalizer.type", "Lowercase"),
      (Self.json(model: #" "byte_fallback": true,"#), "model.byte_fallback", "byte fallback"),
      (Self.json(model: #" "dropout": 0.1,"#), "model.dropout", "dropout"),
      (Self.json(decoder: #"{"type": "Metaspace"}"#), "decoder.type", "Metaspace"),
      (Self.json(postProcessor: #"{"type": "BertProcessing"}"#), "post_processor.type", "BertProcessing"),
      (Self.json(model: #" "byte_fallback": false, "dropout": null,"#, postProcessor: #"{"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "RobertaProcessing"}]}"#),
       "post_processor.processors[1].type", "RobertaProcessing"),
      (Array(#"{"model": {"type": "WordPiece", "vocab": {}}}"#.utf8), "model.type", "WordPiece"),
    ]
    for (bytes, key, word) in cases {
      let e = try #require(Self.error(bytes), "accepted: \(key)")
      #expect(e.key == key, "\(e)")
      #expect(e.description.contains(word) && e.description.hasPrefix("t.json: line "), "\(e)")
    }
  }

  @Test func malformedFilesNameTheKeyAndPlace() throws {
    let good = Self.json(extra: ["ab"], merges: "[\"a b\"]")
    _ = try HFTokenizer(json: good)
    // Truncated: a syntax error at the end.
    let cut = Array(good.prefix(good.count / 2))
    let e1 = try #require(Self.error(cut))
    #expect(e1.key == "" && e1.line > 1 && e1.message.contains("end of the file"), "\(e1)")
    // A merge of a token that is not in the vocabulary, on its own line.
    let bad = Self.json(extra: ["ab"], merges: "[\"a b\",\n  \"a zz\"]")
    let e2 = try #require(Self.error(bad))
    let mergeLine = String(decoding: bad, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
      .firstIndex { $0.contains("a zz") }! + 1
    #expect(e2.key == "model.merges[1]" && e2.line == mergeLine && e2.message.contains("zz"), "\(e2)")
    // The merged token missing.
    let e3 = try #require(Self.error(Self.json(merges: #"["a b"]"#)))
    #expect(e3.key == "model.merges[0]" && e3.message.contains("\"ab\""), "\(e3)")
    // An id that is not a number; a huge id; a merge that is not two tokens.
    let e4 = try #require(Self.error(Array(#"{"model": {"type": "BPE", "vocab": {"x": "1"}, "merges": []}}"#.utf8)))
    #expect(e4.key == #"model.vocab["x"]"# && e4.line == 1 && e4.column == 42, "\(e4)")
    let e5 = try #require(Self.error(Array(#"{"model": {"type": "BPE", "vocab": {"x": 99999999999}, "merges": []}}"#.utf8)))
    #expect(e5.key == #"model.vocab["x"]"# && e5.message.contains("out of the ids"), "\(e5)")
    let e5b = try #require(Self.error(Array(#"{"model": {"type": "BPE", "vocab": {"x": 16777216}, "merges": []}}"#.utf8)))
    #expect(e5b.key == #"model.vocab["x"]"#, "\(e5b)")
    let e6 = try #require(Self.error(Self.json(extra: ["ab"], merges: #"["a b c"]"#)))
    #expect(e6.key == "model.merges[0]", "\(e6)")
    // Not an object; invalid UTF-8 in a string; a lone surrogate; a missing vocabulary.
    let e7 = try #require(Self.error(Array("[1, 2]".utf8)))
    #expect(e7.message.contains("not an object"), "\(e7)")
    let e8 = try #require(Self.error(Array(#"{"model": {"vocab": {""#.utf8) + [0xFF, 0x22] + Array(#": 0}}}"#.utf8)))
    #expect(e8.message.contains("UTF-8") && e8.line == 1, "\(e8)")
    let e9 = try #require(Self.error(Array(#"{"added_tokens": [{"content": "\ud800x"}]}"#.utf8)))
    #expect(e9.message.contains("surrogate"), "\(e9)")
    let e10 = try #require(Self.error(Array(#"{"model": {"type": "BPE", "merges": []}}"#.utf8)))
    #expect(e10.key == "model.vocab" && e10.message.contains("missing"), "\(e10)")
    // A key given twice (here "truncation", which the template also gives).
    let e12 = try #require(Self.error(Self.json(top: #" "truncation": {"max_length": 8},"#)))
    #expect(e12.line == 3 && e12.column == 3 && e12.message.contains("duplicate key \"truncation\""), "\(e12)")
    let e13 = try #require(Self.error(Array(#"{"truncation": {"max_length": 8}}"#.utf8)))
    #expect(e13.key == "truncation" && e13.column == 16, "\(e13)")
    // Nesting deeper than the limit is an error, not a stack overflow.
    let deep = Array(String(repeating: "[", count: 100_000).utf8)
    let e11 = try #require(Self.error(deep))
    #expect(e11.message.contains("nested"), "\(e11)")
  }

  @Test func readsFilesAndNamesThem() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("tokenizer.json")
    try Data(Self.json(extra: ["ab"], merges: "[\"a b\"]")).write(to: url)
    let t = try HFTokenizer(contentsOf: url)
    #expect(t.encode("abab") == [256, 256] && t.vocabularySize == 257)
    do {
      _ = try HFTokenizer(contentsOf: dir.appendingPathComponent("missing.json"))
      Issue.record("a missing file was read")
    } catch let e as HFTokenizerError {
      #expect(e.file.hasSuffix("missing.json") && e.message.contains("cannot be read"), "\(e)")
    }
  }
}

/// Booleans written by threads.
final class LockedArray: @unchecked Sendable {
  private var values: [Bool]
  private let lock = NSLock()
  init(count: Int) { values = Array(repeating: false, count: count) }
  func set(_ i: Int, _ v: Bool) { lock.lock(); values[i] = v; lock.unlock() }
  var all: Bool { lock.lock(); defer { lock.unlock() }; return values.allSatisfy { $0 } }
}
