import Foundation
import TestSupport
import Testing

@testable import TagdataTokenizer

@Suite struct DomainTokenizerTests {
  @Test func smilesTokensByScheme() {
    #expect(SmilesTokenizer.split("CC(=O)Oc1ccccc1C(=O)O")
      == ["C", "C", "(", "=", "O", ")", "O", "c", "1", "c", "c", "c", "c", "c", "1", "C", "(", "=", "O", ")", "O"])
    #expect(SmilesTokenizer.split("[NH4+].[Cl-]") == ["[NH4+]", ".", "[Cl-]"])
    #expect(SmilesTokenizer.split("BrCCl%12C1") == ["Br", "C", "Cl", "%12", "C", "1"])
    #expect(SmilesTokenizer.split("C[C@@H](N)/C=C\\C") == ["C", "[C@@H]", "(", "N", ")", "/", "C", "=", "C", "\\", "C"])
    let odd = SmilesTokenizer.tokens(Array("X[é%1[".utf8))
    #expect(odd.map(\.unknown) == [true, true, true, true, false, true], "\(odd)")
    #expect(odd.map(\.range.count) == [1, 1, 2, 1, 1, 1], "one unknown token per character")
    #expect(SmilesTokenizer.split("[é%1[]") == ["[é%1[]"], "a bracket atom runs to the first ]")
    #expect(SmilesTokenizer.tokens([UInt8]()).isEmpty)
  }

  @Test func residuesOnePerLetter() {
    let t = ResidueTokenizer.tokens(Array("MKV*x😀".utf8))
    #expect(t.map(\.range.count) == [1, 1, 1, 1, 1, 4])
    #expect(t.map(\.unknown) == [false, false, false, true, false, true])
  }

  /// A run of `[` without `]` is tokenized in linear time (each `[` used to look for its `]` to the
  /// end of the input).
  @Test func unclosedBracketsStayLinear() {
    let b = [UInt8](repeating: UInt8(ascii: "["), count: 60_000) + Array("C".utf8)
    let start = Date()
    let t = SmilesTokenizer.tokens(b)
    let seconds = Date().timeIntervalSince(start)
    #expect(t.count == 60_001 && t.dropLast().allSatisfy(\.unknown) && t.last! == .init(range: 60_000..<60_001, unknown: false))
    #expect(seconds < 1.5, "\(seconds) s for 60,001 bytes")
    #expect(SmilesTokenizer.split("[[[C]C") == ["[[[C]", "C"], "a bracket atom runs from the first [ to the first ]")
  }

  /// The bit set of one-byte tokens is the set.
  @Test func singleByteTokensBitSet() {
    for c in 0...255 { #expect(SmilesTokenizer.isSingle(UInt8(c)) == SmilesTokenizer.single.contains(UInt8(c)), "\(c)") }
  }

  /// The ids are the vocabulary's ids of the tokens, the unknown id for unknown tokens and tokens
  /// the vocabulary lacks (bracket atoms and one-byte tokens alike).
  @Test func idsFollowTheTokens() throws {
    let smilesVocabulary = DomainVocabulary(["C": 1, "c": 2, "1": 3, "(": 4, ")": 5, "=": 6, "O": 7, "[NH4+]": 8, "Cl": 9, "%12": 10, "[C@@H]": 11],
                                            unknownID: 0)
    let texts = ["CC(=O)Oc1ccccc1C(=O)O", "[NH4+].[Cl-]", "BrCCl%12C1", "C[C@@H](N)/C=C\\C", "X[é%1[", "", "[[[]C", "é😀c"]
    for s in texts {
      let bytes = Array(s.utf8)
      let expected = SmilesTokenizer.tokens(bytes).map { t in
        t.unknown ? 0 : smilesVocabulary.id(forToken: String(decoding: bytes[t.range], as: UTF8.self)) ?? 0
      }
      #expect(SmilesTokenizer.encode(s, vocabulary: smilesVocabulary) == expected, "\(s)")
    }
    #expect(SmilesTokenizer.encode("CCl[NH4+]", vocabulary: smilesVocabulary) == [1, 9, 8])
    let residueVocabulary = DomainVocabulary(["M": 1, "K": 2, "V": 3, "x": 4, "*": 5], unknownID: 0)
    for s in ["MKV*x😀", "", "MKVA", "é\u{0}M", "mkv"] {
      let bytes = Array(s.utf8)
      let expected = ResidueTokenizer.tokens(bytes).map { t in
        t.unknown ? 0 : residueVocabulary.id(forToken: String(decoding: bytes[t.range], as: UTF8.self)) ?? 0
      }
      var ids = [99]
      bytes.withUnsafeBufferPointer { ResidueTokenizer.encode($0, vocabulary: residueVocabulary, into: &ids) }
      #expect(ids == [99] + expected, "\(s)")
    }
    #expect(ResidueTokenizer.encode("MK*A", vocabulary: residueVocabulary) == [1, 2, 0, 0], "* is no residue, A is not in the vocabulary")
  }

  /// Ids of many records appended to one array: the array grows geometrically, not by what each
  /// record needs (which copies the whole array at every record: quadratic).
  @Test func appendingManyRecordsGrowsGeometrically() {
    let vocabulary = DomainVocabulary(["C": 1, "O": 2], unknownID: 0)
    let record = Array("CCO".utf8)
    for smiles in [true, false] {
      var ids: [Int] = []
      var growths = 0
      record.withUnsafeBufferPointer { r in
        for _ in 0..<100_000 {
          let capacity = ids.capacity
          if smiles {
            SmilesTokenizer.encode(r, vocabulary: vocabulary, into: &ids)
          } else {
            ResidueTokenizer.encode(r, vocabulary: vocabulary, into: &ids)
          }
          if ids.capacity != capacity { growths += 1 }
        }
      }
      #expect(ids.count == 300_000 && ids.suffix(3) == [1, 1, 2])
      #expect(growths <= 40, "\(smiles ? "SMILES" : "residues"): the array grew \(growths) times for 100,000 records")
    }
  }

  /// Every random byte string is cut into tokens covering it exactly.
  @Test func totalOnAnyBytes() {
    var rng = SplitMix64State(seed: TestSupport.fuzzSeed(default: 0x5A11E5))
    for _ in 0..<5_000 {
      let n = Int(rng.next() % 40)
      let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      for t in [SmilesTokenizer.tokens(bytes), ResidueTokenizer.tokens(bytes)] {
        var at = 0
        for x in t {
          #expect(x.range.lowerBound == at && !x.range.isEmpty)
          at = x.range.upperBound
        }
        #expect(at == n)
      }
    }
  }

  /// The known tokens equal Python's `re.findall` with the published pattern, on the 47k ChEMBL
  /// SMILES and the SMILES edge cases of the corpora.
  @Test func smilesTokensEqualThePublishedRegex() throws {
    guard let python = TestSupport.python else {
      if TestSupport.interopRequired { Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)") }
      return
    }
    var lines: [String] = []
    let all = TestSupport.tempDirectory().appendingPathComponent("chembl.smi")
    _ = try TestSupport.shell("gzip -dc '\(TestSupport.corpus("smiles/nextmove_chembl.smi.gz").path)' > '\(all.path)'")
    lines += try String(contentsOf: all, encoding: .utf8).split(whereSeparator: \.isNewline).map {
      String($0.split(separator: " ").first ?? "")
    }
    for f in TestSupport.corpusFiles("smiles") where f.pathExtension == "smi" {
      let text = try String(contentsOf: f, encoding: .utf8)
      lines += text.split(whereSeparator: \.isNewline).map { String($0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") }
    }
    lines = lines.filter { !$0.isEmpty }
    let r = try TestSupport.run(python, [TestSupport.root.appendingPathComponent("Tests/Interop/smiles_regex_tokens.py").path],
                                input: Data((lines.joined(separator: "\n") + "\n").utf8))
    #expect(r.status == 0, "\(r.stderr)")
    let expected = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var differ = 0
    for (k, line) in lines.enumerated() {
      let ours = SmilesTokenizer.tokens(Array(line.utf8)).filter { !$0.unknown }.map {
        String(decoding: Array(line.utf8)[$0.range], as: UTF8.self)
      }.joined(separator: " ")
      if k < expected.count, ours != expected[k] {
        differ += 1
        if differ <= 20 { print("differs: \(line)\n  ours:   \(ours)\n  python: \(expected[k])") }
      }
    }
    print("SMILES regex tokens: \(lines.count) SMILES, \(differ) differ")
    #expect(lines.count > 47_000 && expected.count >= lines.count && differ == 0)
  }
}

/// SplitMix64, local to the tests.
struct SplitMix64State {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
