import Foundation
import TagdataIO
@testable import TagdataTokenizer
import TestSupport
import Testing

@Suite struct BPETrainerTests {
  static func trainer(_ texts: [String], vocabularySize: Int = 1000, minimumFrequency: Int = 1,
                      specials: [String] = ["<|endoftext|>"], pre: BPETrainer.PreTokenization = .gpt2) throws -> BPETrainer
  {
    var t = try BPETrainer(.init(vocabularySize: vocabularySize, minimumFrequency: minimumFrequency,
                                 specialTokens: specials, preTokenization: pre))
    for s in texts { t.add(s) }
    return t
  }

  static func merges(_ m: TrainedBPE) -> [String] { m.mergeStrings.map { "\($0.0) \($0.1)" } }

  /// "aaabdaaabac", one GPT-2 word: a a a b d a a a b a c. Pairs: (a,a) 4, (a,b) 2, the rest 1.
  /// 1. (a,a) → "aa a b d aa a b a c" (left to right, no overlap): (aa,a) 2, (a,b) 2.
  /// 2. tie: (a,b) before (aa,a), as the id of "a" is below the id of the new "aa" →
  ///    "aa ab d aa ab a c": (aa,ab) 2, the rest 1.
  /// 3. (aa,ab) → "aaab d aaab a c": all 1; the smallest first id is "a" → (a,c).
  /// 4. "aaab d aaab ac": first ids "aaab" (id 259), "d" (id 69) → (d,aaab).
  /// 5. "aaab daaab ac": (aaab,daaab) (first id 259 < 261). 6. then the last pair.
  @Test func mergesOfAHandComputedCorpus() throws {
    let all = try Self.trainer(["aaabdaaabac"]).train()
    #expect(Self.merges(all) == ["a a", "a b", "aa ab", "a c", "d aaab", "aaab daaab", "aaabdaaab ac"])
    #expect(all.tokens.count == 1 + 256 + 7)
    #expect(all.tokens.last == "aaabdaaabac")
    // Only pairs seen twice or more.
    #expect(Self.merges(try Self.trainer(["aaabdaaabac"], minimumFrequency: 2).train()) == ["a a", "a b", "aa ab"])
    // The vocabulary size stops it: two merges.
    let two = try Self.trainer(["aaabdaaabac"], vocabularySize: 259).train()
    #expect(Self.merges(two) == ["a a", "a b"])
    #expect(two.tokens.count == 259)
    // The ids: the special token, then the byte symbols by code point ("!" first), then merges.
    #expect(all.tokens[0] == "<|endoftext|>")
    #expect(all.tokens[1] == "!")
    #expect(all.tokens[256] == "Ń")  // U+0143, the last byte symbol
    #expect(all.tokens[257] == "aa")
  }

  /// Separate texts are separate words, and a pair's count is summed over them.
  @Test func minimumFrequencyIsHonoured() throws {
    let texts = Array(repeating: "ab", count: 5) + Array(repeating: "cd", count: 3) + ["ef"]
    for (m, expected) in [(0, ["a b", "c d", "e f"]), (1, ["a b", "c d", "e f"]), (3, ["a b", "c d"]), (4, ["a b"]),
                          (5, ["a b"]), (6, [])]
    {
      #expect(Self.merges(try Self.trainer(texts.shuffled(), minimumFrequency: m).train()) == expected, "min \(m)")
    }
    // A byte that is not UTF-8 splits a word: "ab\u{FF}ab" is the word "ab" twice.
    var t = try BPETrainer(.init(minimumFrequency: 2, specialTokens: []))
    t.add([0x61, 0x62, 0xFF, 0x61, 0x62])
    #expect(Self.merges(t.train()) == ["a b"])
    #expect(t.statistics.invalidBytes == 1)
    #expect(t.statistics.words == 3)
  }

  /// Random text of many words, for the larger tests.
  static func corpus(seed: UInt64, lines: Int) -> [String] {
    var rng = SplitMix64(seed: seed)
    let syllables = ["ka", "to", "ri", "mun", "ez", "ch", "ée", "日本", "ß", "O", "C(", "=O)", "12", "3", " ", "  ", "'s",
                     "\n", "\t", "!", "...", "😀", "xy", "qu", "ion", "ing", "th", "e", "a"]
    var out: [String] = []
    for _ in 0..<lines {
      var s = ""
      for _ in 0..<(1 + rng.below(30)) { s += syllables[rng.below(syllables.count)] }
      out.append(s)
    }
    return out
  }

  @Test func theSameInputGivesTheSameBytes() throws {
    let texts = Self.corpus(seed: 7, lines: 3000)
    let a = try Self.trainer(texts, vocabularySize: 600, minimumFrequency: 2).tokenizerJSON()
    let b = try Self.trainer(texts, vocabularySize: 600, minimumFrequency: 2).tokenizerJSON()
    #expect(a == b)
    // The order of the texts does not matter (without a cap on distinct words): many words have
    // equal counts, and pairs equal counts, so any order-dependence would show.
    var rng = SplitMix64(seed: 11)
    var shuffled = texts
    for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.below(i + 1)) }
    let c = try Self.trainer(shuffled, vocabularySize: 600, minimumFrequency: 2).tokenizerJSON()
    #expect(a == c)
    // Ties: every word once, many pairs of count 1.
    let unique = (0..<500).map { "w\($0)x\($0 * 7919 % 1000)" }
    let u1 = try Self.trainer(unique, vocabularySize: 2000).tokenizerJSON()
    let u2 = try Self.trainer(unique.reversed(), vocabularySize: 2000).tokenizerJSON()
    #expect(u1 == u2)
    // With a cap on distinct words, pruning is by count then bytes, never by the hash table's
    // order (each trainer seeds its hash anew): the same texts give the same file.
    func capped() throws -> [UInt8] {
      var t = try BPETrainer(.init(vocabularySize: 600, minimumFrequency: 2, maximumDistinctWords: 300))
      for s in texts { t.add(s) }
      #expect(t.statistics.droppedWords > 0)
      return t.tokenizerJSON()
    }
    #expect(try capped() == capped())
  }

  @Test func theVocabularySizeIsExact() throws {
    let texts = Self.corpus(seed: 3, lines: 2000)
    for size in [257, 300, 777] {
      let model = try Self.trainer(texts, vocabularySize: size).train()
      #expect(model.tokens.count == size)
      let tokenizer = try HFTokenizer(json: model.tokenizerJSON())
      #expect(tokenizer.vocabularySize == size)
      #expect(Set(model.tokens).count == size)
    }
    // Too few pairs: fewer tokens, no failure.
    let small = try Self.trainer(["abc"], vocabularySize: 5000).train()
    #expect(small.tokens.count == 257 + 2)
  }

  @Test func theTokenizerReadsBackAndEncodesAnyBytes() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 20261206))
    let pieces: [[UInt8]] = [[0], [0x0D], [0x0D, 0x0A], [0xEF, 0xBB, 0xBF], [0xFF], [0xC3], [0xC3, 0xA9], [0xED, 0xA0, 0x80],
                             [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x80, 0xA8], [0x20], [0x20, 0x20, 0x20],
                             Array("<|endoftext|>".utf8), Array("C(=O)O".utf8), Array("protein".utf8), [0xF0, 0x9F, 0x98, 0x80],
                             Array("it's".utf8), [0x09], [0x7F], [0x80]]
    var inputs: [[UInt8]] = []
    for _ in 0..<3000 {
      var b: [UInt8] = []
      for _ in 0..<rng.below(20) {
        if rng.below(3) == 0 {
          for _ in 0..<(1 + rng.below(4)) { b.append(UInt8(rng.below(256))) }
        } else {
          b += pieces[rng.below(pieces.count)]
        }
      }
      inputs.append(b)
    }
    for pre in BPETrainer.PreTokenization.allCases {
      var t = try BPETrainer(.init(vocabularySize: 1200, minimumFrequency: 2, specialTokens: ["<|endoftext|>", "<pad>"],
                                   preTokenization: pre))
      for b in inputs { t.add(b) }
      #expect(t.statistics.invalidBytes > 0)
      let model = t.train()
      #expect(model.merges.count > 100)
      let tokenizer = try HFTokenizer(json: model.tokenizerJSON(), name: "trained-\(pre)")
      #expect(tokenizer.vocabularySize == model.tokens.count)
      #expect(tokenizer.id(forToken: "<pad>") == 1)
      #expect(tokenizer.encode("a<|endoftext|>b<pad>") == [tokenizer.id(forToken: "a")!, 0, tokenizer.id(forToken: "b")!, 1])
      var failures = 0
      for b in inputs {
        let s = String(decoding: b, as: UTF8.self)  // invalid UTF-8 as U+FFFD, as a String holds it
        let ids = tokenizer.encode(s)
        if tokenizer.decode(ids) != s || ids.contains(where: { $0 < 0 || $0 >= model.tokens.count }) {
          failures += 1
          if failures < 10 { print("\(pre) \(b): \(ids)") }
        }
      }
      #expect(failures == 0)
      // Every byte alone encodes to its byte symbol.
      for byte in 0..<128 {
        let s = String(UnicodeScalar(UInt8(byte)))
        #expect(tokenizer.decode(tokenizer.encode(s)) == s)
      }
    }
  }

  @Test func theInputCapTruncates() throws {
    var t = try BPETrainer(.init(minimumFrequency: 1, maximumInputBytes: 10))
    t.add("abcdef")
    t.add("ghijkl")
    t.add("mnop")
    #expect(t.statistics.bytes == 10)
    #expect(t.statistics.truncated)
    #expect(t.statistics.texts == 3)
    // "abcdef" and "ghij"; all counts 1, so the smallest first id: a, c, e, g, i, then the new tokens
    // by age (ab, then gh before abcd).
    #expect(Self.merges(t.train()) == ["a b", "c d", "e f", "g h", "i j", "ab cd", "gh ij", "abcd ef"])
  }

  @Test func badConfigurationsAreRefused() {
    #expect(throws: BPETrainerError.self) { try BPETrainer(.init(vocabularySize: 256)) }  // 256 + 1 special needed
    #expect(throws: BPETrainerError.self) { try BPETrainer(.init(specialTokens: ["<s>", "<s>"])) }
    #expect(throws: BPETrainerError.self) { try BPETrainer(.init(specialTokens: [""])) }
    #expect(throws: BPETrainerError.self) { try BPETrainer(.init(minimumFrequency: -1)) }
    #expect(throws: BPETrainerError.self) { try BPETrainer(.init(maximumDistinctWords: 2)) }
    #expect((try? BPETrainer(.init(vocabularySize: 256, specialTokens: []))) != nil)
  }

  /// JSON escaping of special tokens (quotes, backslashes, control characters, non-ASCII), and a
  /// special token that is also a byte symbol keeps one id.
  @Test func specialTokensAreEscapedAndKeepTheirIDs() throws {
    let specials = ["<\"q\">", "a\\b", "tab\there", "é", "!"]
    let model = try Self.trainer(["hello hello world"], specials: specials).train()
    #expect(model.tokens.count == Set(model.tokens).count)
    let tokenizer = try HFTokenizer(json: model.tokenizerJSON())
    for (k, s) in specials.enumerated() { #expect(tokenizer.id(forToken: s) == k, "\(s)") }
    #expect(tokenizer.encode("x<\"q\">y!") == [tokenizer.id(forToken: "x")!, 0, tokenizer.id(forToken: "y")!, 4])
  }

  /// Past the limit of the distinct words' bytes (2 GiB, as training numbers symbols with Int32),
  /// the rarest words are dropped, as with the cap on their number.
  @Test func theDistinctWordBytesStayBelowTheLimit() throws {
    var t = try BPETrainer(.init(minimumFrequency: 1, specialTokens: []))
    t.tableByteLimit = 200
    for _ in 0..<20 { t.add("frequent words") }
    for k in 0..<300 { t.add("x\(String(k, radix: 2).map { $0 == "0" ? "a" : "b" }.joined())") }
    #expect(t.statistics.droppedWords > 0)
    #expect(t.distinctWords < 40)
    let model = t.train()
    #expect(model.tokens.contains("frequent") && model.tokens.contains("Ġwords"))
  }

  /// The cap on distinct words drops the rarest first and keeps memory bounded.
  @Test func theDistinctWordCapDropsTheRarest() throws {
    var t = try BPETrainer(.init(minimumFrequency: 1, specialTokens: [], maximumDistinctWords: 8))
    for _ in 0..<50 { t.add("common") }
    for k in 0..<100 { t.add("rare" + String(k).map { String(UnicodeScalar(UInt8(ascii: "a") + UInt8(String($0))!)) }.joined()) }
    #expect(t.distinctWords <= 8)
    #expect(t.statistics.droppedWords > 0)
    let first = t.train().mergeStrings.prefix(5)
    #expect(first.count == 5)
    #expect(first.allSatisfy { "common".contains($0.0 + $0.1) }, "\(first)")
  }
}
