import Foundation
import TagdataIO
@testable import TagdataTokenizer
import Testing

/// One vocabulary, disjoint ranges: text, tags, SMILES tokens, residues.
@Suite struct VocabularyTests {
  static let tags = [Vocabulary.Tag(name: "SMILES", text: "<SMILES>", kind: .domain, first: 0, count: 3),
                     Vocabulary.Tag(name: "QED", text: "<QED>", kind: .function, first: 3, count: 2)]
  static let smiles = [Vocabulary.smilesUnknown, "C", "O", "(", ")", "=", "c", "1", "Cl", "[C@@H]"]

  static func domain() throws -> Vocabulary {
    try Vocabulary(text: ByteTextTokenizer(), tags: tags, smilesTokens: smiles, residues: true, bos: 1, eos: 2)
  }

  @Test func rangesAreDisjointAndCoverEveryID() throws {
    let v = try Self.domain()
    #expect(v.textSize == 260 && v.tagEnd == 265 && v.smilesEnd == 275 && v.size == 275 + 26)
    var seen: [String: Int] = [:]
    for id in 0..<v.size {
      let r = v.range(of: id)
      #expect(r != .outside, "id \(id)")
      let s = v.tokenString(id)
      #expect(s != nil, "id \(id)")
      if case .tag = r { #expect(s == "<TAG \(id - 260)>") }
      seen["\(r)", default: 0] += 1
    }
    #expect(seen["text"] == 260 && seen["smiles"] == 10 && seen["residue"] == 26)
    #expect(v.range(of: v.size) == .outside && v.range(of: -1) == .outside)
    #expect(v.tagIDs("<QED>") == 263..<265)
  }

  @Test func segmentsAreTokenizedByTheirOwnRule() throws {
    let v = try Self.domain()
    let e = try v.encode([.init(.text, "Q: "), .init(.tag, "<SMILES>"), .init(.text, " "), .init(.smiles, "CC(=O)Br[C@@H]"),
                          .init(.protein, "M K x é"), .init(.tag, "<QED>"), .init(.label, "0.5")], eos: true)
    let text = ByteTokenizer.encode("Q: ")
    #expect(Array(e.ids.prefix(4)) == [1] + text)
    #expect(Array(e.ids[4..<7]) == [260, 261, 262])
    #expect(e.ids[7] == ByteTokenizer.encode(" ")[0])
    // C C ( = O ) then Br (not in the range: unknown) then [C@@H]
    #expect(Array(e.ids[8..<16]) == [266, 266, 268, 270, 267, 269, 265, 274])
    // M, K, then x (lowercase: unknown) and é (unknown); spaces are not tokens
    #expect(Array(e.ids[16..<20]) == [275 + 11, 275 + 9, 275, 275])
    #expect(e.unknownSmiles == 1 && e.unknownResidues == 2)
    #expect(Array(e.ids[20..<22]) == [263, 264])
    #expect(e.ids.last == 2)
    #expect(e.tagEnds.map(\.tag) == [0, 1] && e.tagEnds.map(\.position) == [6, 21])
    // Loss on everything but BOS and tags.
    for (i, id) in e.ids.enumerated() {
      let isTag = (260..<265).contains(id)
      #expect(e.lossMask[i] == !(i == 0 || isTag), "position \(i)")
    }
    #expect(v.decode(Array(e.ids.dropFirst().prefix(3))) == "Q: ")
    #expect(v.decode([260, 266, 274, 286]) == "<TAG 0>C[C@@H]M")
  }

  @Test func withoutDomainRangesEverythingIsText() throws {
    let v = try Vocabulary(text: ByteTextTokenizer(), tags: Self.tags)
    let e = try v.encode([.init(.smiles, "CCO"), .init(.protein, "M K")], eos: false)
    #expect(e.ids == ByteTokenizer.encode("CCOM K"))
  }

  @Test func badVocabulariesAreRefused() throws {
    #expect(throws: VocabularyError.self) {
      try Vocabulary(text: ByteTextTokenizer(), tags: [Self.tags[0], .init(name: "X", text: "<X>", kind: .domain, first: 2, count: 2)])
    }
    #expect(throws: VocabularyError.self) {
      try Vocabulary(text: ByteTextTokenizer(), tags: [Self.tags[0], .init(name: "S", text: "<SMILES>", kind: .domain, first: 5, count: 2)])
    }
    #expect(throws: VocabularyError.self) { try Vocabulary(text: ByteTextTokenizer(), tags: [], smilesTokens: ["C"]) }
    #expect(throws: VocabularyError.self) {
      try Vocabulary(text: ByteTextTokenizer(), tags: [], smilesTokens: [Vocabulary.smilesUnknown, "C", "C"])
    }
    let v = try Vocabulary(text: ByteTextTokenizer(), tags: Self.tags)
    #expect(throws: VocabularyError.self) { try v.encode([.init(.tag, "<BA>")], eos: false) }
  }

  /// The byte tokenizer as a tokenizer.json (`HFExport`) gives the byte tokenizer's ids, and the
  /// tagged one the tag ids for `<TAG i>`.
  @Test func byteTokenizerExportAgrees() throws {
    let json = try HFExport.taggedTokenizer(base: nil, textSize: 260, tagTokens: 5)
    let hf = try HFTokenizer(json: json)
    var rng = SplitMix64(seed: 11)
    for _ in 0..<300 {
      let n = Int(rng.next() % 40)
      let s = String(decoding: (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, as: UTF8.self)
      #expect(hf.encode(s) == ByteTokenizer.encode(s), "\(s.debugDescription)")
    }
    #expect(hf.encode("a<TAG 4>b<TAG 5>") == [101, 264, 102] + ByteTokenizer.encode("<TAG 5>"))
    let v = try Vocabulary(text: ByteTextTokenizer(), tagged: hf, tags: Self.tags)
    let e = try v.encode([.init(.text, "x"), .init(.tag, "<QED>"), .init(.text, "y")], eos: false)
    #expect(e.ids == [124, 263, 264, 125] && e.tagEnds.map(\.position) == [2] && e.lossMask == [true, false, false, true])
    #expect(throws: VocabularyError.self) { try HFExport.taggedTokenizer(base: json, textSize: 265, tagTokens: 1) }
  }

  @Test func serializedConfigJSONReadsBackEqual() throws {
    let text = #"{"a":[1,2.5,-3e-7,true,null,"x\"\\\n\u0001é"],"b":{"c":{}},"d":[]}"#
    let n = try ConfigJSON.parse(Array(text.utf8))
    let once = n.value.serialized()
    #expect(try ConfigJSON.parse(once).value.serialized() == once)
    #expect(String(decoding: once, as: UTF8.self) == #"{"a":[1,2.5,-3e-07,true,null,"x\"\\\n\u0001é"],"b":{"c":{}},"d":[]}"#)
  }
}
