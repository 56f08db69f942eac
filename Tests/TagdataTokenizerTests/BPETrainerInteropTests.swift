import Foundation
import TagdataIO
import TagdataTokenizer
import TestSupport
import Testing

/// BPETrainer against Hugging Face `tokenizers`: Tests/Interop/hf_bpe_trained.py gathers training
/// texts from the shipped corpora (UniProt free text, SMILES, protein sequences) and 12,000
/// segments; BPETrainer trains a 2,000-token tokenizer on the texts; `tokenizers` reads its
/// tokenizer.json with `Tokenizer.from_file` and encodes the segments, which must give the ids
/// HFTokenizer gives with the same file; with GPT-2's split and with LLaMA-3's. The merges of
/// `tokenizers`' own BpeTrainer (same split) on the same texts are compared and reported (not
/// asserted).
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct BPETrainerInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/hf_bpe_trained.py").path

  static func escaped(_ s: String) -> String { "\"" + s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\"" }

  static func lines(_ url: URL) throws -> [ConfigJSON.Node] {
    let data = try [UInt8](Data(contentsOf: url))
    return try data.split(separator: 0x0A, omittingEmptySubsequences: true).map { try ConfigJSON.parse(Array($0)) }
  }

  static func member(_ n: ConfigJSON.Node, _ key: String) -> ConfigJSON.Node? {
    guard case .object(let m) = n.value else { return nil }
    return m.last { $0.key == key }?.value
  }

  static func string(_ n: ConfigJSON.Node?) -> String? {
    if case .string(let s)? = n?.value { return s }
    return nil
  }

  static func ints(_ n: ConfigJSON.Node?) -> [Int]? {
    guard case .array(let items)? = n?.value else { return nil }
    return items.compactMap { if case .number(_, let i?) = $0.value { Int(i) } else { nil } }
  }

  @Test func tokenizersReadsTheTrainedFileAndGivesTheSameIDs() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let prepared = try TestSupport.run(python, [Self.script, "prepare", TestSupport.corpus("").path, dir.path, "4000"])
    if prepared.status == 3 && !TestSupport.interopRequired {
      print("skipped: \(prepared.stdout)")
      return
    }
    try #require(prepared.status == 0, "\(prepared.stdout)\n\(prepared.stderr)")
    print(prepared.stdout.trimmingCharacters(in: .whitespacesAndNewlines))

    let texts = try Self.lines(dir.appendingPathComponent("train.jsonl")).map { try #require(Self.string($0)) }
    var tokenizers: [(String, HFTokenizer)] = []
    for pre in BPETrainer.PreTokenization.allCases {
      var trainer = try BPETrainer(.init(vocabularySize: 2000, minimumFrequency: 2,
                                         specialTokens: ["<|endoftext|>", "<SMILES>", "</SMILES>", "<Protein>", "</Protein>"],
                                         preTokenization: pre))
      for text in texts { trainer.add(text) }
      let start = Date()
      let model = trainer.train()
      print("\(pre): trained \(model.merges.count) merges from \(trainer.statistics.texts) texts, \(trainer.statistics.bytes) bytes, "
            + "\(trainer.distinctWords) distinct words in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
      #expect(model.tokens.count == 2000)
      let json = model.tokenizerJSON()
      try Data(json).write(to: dir.appendingPathComponent("ours-\(pre).json"))
      tokenizers.append((pre.rawValue, try HFTokenizer(json: json, name: "ours-\(pre).json")))
    }

    let encoded = try TestSupport.run(python, [Self.script, "encode", dir.path])
    try #require(encoded.status == 0, "\(encoded.stdout)\n\(encoded.stderr)")
    print(encoded.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    let segments = try Self.lines(dir.appendingPathComponent("segments.jsonl"))
    let ids = try Self.lines(dir.appendingPathComponent("ids.jsonl"))
    try #require(segments.count == ids.count)
    var total: [String: Int] = [:], agree: [String: Int] = [:], roundTrips: [String: Int] = [:]
    var printed = 0
    for (segment, record) in zip(segments, ids) {
      let kind = try #require(Self.string(Self.member(segment, "kind")))
      let text = try #require(Self.string(Self.member(segment, "text")))
      for (name, tokenizer) in tokenizers {
        let key = "\(name) \(kind)"
        let theirs = try #require(Self.ints(Self.member(record, name)))
        let ours = tokenizer.encode(text)
        total[key, default: 0] += 1
        if ours == theirs {
          agree[key, default: 0] += 1
        } else if printed < 20 {
          printed += 1
          print("IDS \(key) \(Self.escaped(text)): ours \(ours) tokenizers \(theirs)")
        }
        if tokenizer.decode(ours).utf8.elementsEqual(text.utf8) {
          roundTrips[key, default: 0] += 1
        } else if printed < 20 {
          printed += 1
          print("DECODE \(key) \(Self.escaped(text)): \(Self.escaped(tokenizer.decode(ours)))")
        }
      }
    }
    for key in total.keys.sorted() {
      print("\(key): ids \(agree[key, default: 0])/\(total[key]!), decode(encode(x)) == x \(roundTrips[key, default: 0])/\(total[key]!)")
      #expect(agree[key, default: 0] == total[key]!, "\(key)")
      #expect(roundTrips[key, default: 0] == total[key]!, "\(key)")
    }
    #expect(total.values.reduce(0, +) >= 2 * 10_000)
    #expect(total.count == 6)
  }
}
