import Foundation
import TagdataIO
import TagdataShards
import TagdataTrain
import TestSupport

/// A constructed model whose greedy decoding is known, and a token dataset (byte tokenizer) to
/// evaluate it on.
///
/// The model's token and tag embeddings are one-hot, its attention and MLP outputs are zero, so
/// the final hidden state of a position is its own token's one-hot (scaled by the norm) and the
/// LM head, whose row j is the one-hot of the token that j follows, makes the next token a
/// fixed successor of the current one. The chains (byte tokenizer ids are byte + 4, EOS 2):
///
/// - after the last token of the function tag `<T>`: `ab cd`, then EOS;
/// - after `9`: `efg`, then EOS;
/// - after `8`: `op,qr;st!uv`, then EOS (seven words to sacrebleu's 13a tokenizer);
/// - after the last token of the function tag `<Q>`: `3E+2x`, then EOS (the number 300);
/// - after `z`: EOS at once.
enum GenerationFixture {
  static let textSize = 260
  /// Tags in registry order with their two rows each: EN, FR, DE (domain), T, Q (function).
  static let tags: [(name: String, kind: String)] = [("EN", "domain"), ("FR", "domain"), ("DE", "domain"), ("T", "function"),
                                                      ("Q", "function")]
  static func tagIDs(_ name: String) -> [Int] {
    let k = tags.firstIndex { $0.name == name }!
    return [textSize + 2 * k, textSize + 2 * k + 1]
  }
  static let bos = 1, eos = 2

  static func ids(_ s: String) -> [Int] { s.utf8.map { Int($0) + 4 } }

  static func model() -> Model {
    let d = 272
    var m = Model(config: ModelConfig(vocabularySize: textSize, dimension: d, layers: 1, heads: 2, feedForward: 8), seed: 1)
    for t in tags { m.addTag(t.name, rows: 2, seed: 2) }
    var embed = Tensor(zeros: [textSize, d])
    for i in 0..<textSize { embed.data[i * d + i] = 1 }
    m.parameters["model.embed_tokens.weight"] = embed
    for (k, t) in tags.enumerated() {
      var rows = Tensor(zeros: [2, d])
      rows.data[0 * d + textSize + 2 * k] = 1
      rows.data[1 * d + textSize + 2 * k + 1] = 1
      m.parameters["tags.\(t.name)"] = rows
    }
    for l in 0..<m.config.layers {
      for part in ["self_attn.o_proj.weight", "mlp.down_proj.weight"] {
        let name = Model.layerName(l, part)
        m.parameters[name] = Tensor(zeros: m.parameters[name].shape)
      }
    }
    // successor[j] = the dimensions whose token is followed by j.
    var head = Tensor(zeros: [textSize, d])
    func chain(from dimension: Int, _ text: String) {
      var previous = dimension
      for id in ids(text) + [eos] {
        head.data[id * d + previous] = 1
        previous = id
      }
    }
    chain(from: tagIDs("T")[1], "ab cd")
    chain(from: ids("9")[0], "efg")
    chain(from: ids("8")[0], "op,qr;st!uv")
    chain(from: tagIDs("Q")[1], "3E+2x")
    head.data[eos * d + ids("z")[0]] = 1
    m.parameters["lm_head.weight"] = head
    return m
  }

  /// A generation example: BOS, `# `, the source language tag, ` source `, the target language
  /// tag, the function tag, `end` (prompt text after the tag), then the output and EOS.
  static func translation(source: String, target: String, function: String = "T", end: String = "", output: String, split: String,
                          key: String, recordStart: Bool = true) -> TokenDataset.Example
  {
    let prompt = [bos] + ids("# ") + tagIDs(source) + ids(" hello ") + tagIDs(target) + tagIDs(function) + ids(end)
    let tokens = prompt + ids(output) + [eos]
    let mask = tokens.map { !($0 >= textSize || $0 == bos) }
    var e = TokenDataset.Example(tokens: tokens, lossMask: mask, task: function == "T" ? "Translate" : "Num", split: split, key: key)
    if recordStart { e.outputStart = prompt.count }
    return e
  }

  /// Writes `examples` as a one-shard version-2 dataset with the fixture's vocabulary (or the
  /// given text size and tags: name, kind, first id, tokens).
  static func write(_ examples: [TokenDataset.Example], textSize: Int = textSize, tags given: [(String, String, Int, Int)]? = nil) throws
    -> String
  {
    let dir = TestSupport.tempDirectory().appendingPathComponent("tokens").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let w = try TokenShards.Writer(directory: dir, name: "shard-0", wide: false)
    for e in examples { try w.append(e) }
    try w.finish()
    let list = given ?? tags.map { ($0.name, $0.kind, tagIDs($0.name)[0], 2) }
    var tagMap: [String: [Int]] = [:]
    for t in list { tagMap[t.0] = Array(t.2..<(t.2 + t.3)) }
    let size = list.map { $0.2 + $0.3 }.max() ?? textSize
    let info = TokenShards.VocabularyInfo(size: size, text: "bytes", textSize: textSize, textSHA256: nil, bos: bos, eos: eos,
                                          tagList: list.map { .init(name: $0.0, text: "<\($0.0)>", kind: $0.1, firstID: $0.2, tokens: $0.3) },
                                          smiles: nil, residues: nil)
    let manifest = TokenShards.Manifest(vocabularySize: textSize, tags: tagMap, examples: examples.count, tokens: w.tokens, tokenType: "uint16",
                                        vocabulary: info, shards: [.init(name: "shard-0", examples: examples.count, tokens: w.tokens, sha256: [:])],
                                        counts: [:], unknown: [:],
                                        source: .init(build: "t", buildManifestSHA256: String(repeating: "0", count: 64), configSHA256: nil,
                                                      toolVersion: "test"))
    try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: dir + "/dataset.json"))
    return dir
  }

  /// Translate examples: train EN→FR and FR→EN; test EN→FR (twice), DE→EN (a combination the
  /// training split never has), one whose output begins after `9`, one without `outputStart`
  /// (found after the function tag), and a language example with no output.
  static func translations() -> [TokenDataset.Example] {
    [
      translation(source: "EN", target: "FR", output: "ab cd", split: "train", key: "t1"),
      translation(source: "FR", target: "EN", output: "ab cd", split: "train", key: "t2"),
      translation(source: "EN", target: "FR", output: "ab cd", split: "test", key: "g1"),
      translation(source: "EN", target: "FR", output: "ab ce", split: "test", key: "g2"),
      translation(source: "DE", target: "EN", output: "ab cd", split: "test", key: "g3"),
      translation(source: "FR", target: "EN", end: " 9", output: "efg hij", split: "test", key: "g4"),
      translation(source: "EN", target: "FR", output: "xy cd", split: "test", key: "g5", recordStart: false),
      TokenDataset.Example(tokens: [bos] + tagIDs("EN") + ids(" some text"), lossMask: [false, false, false] + ids(" some text").map { _ in true },
                           task: "Language", split: "test", key: "l1"),
    ]
  }
}
