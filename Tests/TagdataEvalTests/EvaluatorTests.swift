import Foundation
@testable import TagdataEval
import TagdataIO
import TagdataShards
import TagdataTrain
import TestSupport
import Testing

/// The evaluator on a small model and a generated version-2 token dataset: predictions are the
/// model's own head outputs, metrics equal `Metrics` on them, the mean baseline uses the
/// training split, perplexity without tags is the same text with the tag tokens removed, and
/// `tagdata eval` writes the report, the predictions and the plots.
@Suite struct EvaluatorTests {
  static func fixture() throws -> (Model, String, [TokenDataset.Example]) {
    var m = Model(config: ModelConfig(vocabularySize: 30, dimension: 16, layers: 1, heads: 2, feedForward: 24), seed: 3)
    m.addTag("D", rows: 2, seed: 4, initialization: .tagLLM)
    m.addTag("F", rows: 2, seed: 5, initialization: .tagLLM)
    m.addHead("F", seed: 6, initialization: .random)
    var rng = SplitMix64(seed: 12)
    var examples: [TokenDataset.Example] = []
    for i in 0..<60 {
      let body = (0..<(4 + Int(rng.next() % 6))).map { _ in 4 + Int(rng.next() % 20) }
      let split = i % 3 == 0 ? "test" : "train"
      if i % 2 == 0 {
        let tokens = [1, 30, 31] + body + [32, 33]
        examples.append(TokenDataset.Example(tokens: tokens, lossMask: [Bool](repeating: false, count: tokens.count), task: "Reg",
                                             regression: [TokenDataset.Regression(head: "F", position: tokens.count - 1,
                                                                                  target: Double(body.reduce(0, +)) / 10)],
                                             split: split, key: "r\(i)"))
      } else {
        let tokens = [1, 30, 31] + body
        examples.append(TokenDataset.Example(tokens: tokens, lossMask: [false, false, false] + body.map { _ in true }, task: "Lang",
                                             split: split, key: "l\(i)"))
      }
    }
    let dir = TestSupport.tempDirectory().appendingPathComponent("tokens").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let w = try TokenShards.Writer(directory: dir, name: "shard-0", wide: false)
    for e in examples { try w.append(e) }
    try w.finish()
    let info = TokenShards.VocabularyInfo(size: 34, text: "bytes", textSize: 30, textSHA256: nil, bos: 1, eos: nil,
                                          tagList: [.init(name: "D", text: "<D>", kind: "domain", firstID: 30, tokens: 2),
                                                    .init(name: "F", text: "<F>", kind: "function", firstID: 32, tokens: 2)],
                                          smiles: nil, residues: nil)
    let manifest = TokenShards.Manifest(vocabularySize: 30, tags: ["D": [30, 31], "F": [32, 33]], examples: examples.count,
                                        tokens: w.tokens, tokenType: "uint16", vocabulary: info,
                                        shards: [.init(name: "shard-0", examples: examples.count, tokens: w.tokens, sha256: [:])],
                                        counts: [:], unknown: [:], source: .init(build: "t", buildManifestSHA256: String(repeating: "0", count: 64),
                                                                                 configSHA256: nil, toolVersion: "test"))
    try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: dir + "/dataset.json"))
    return (m, dir, examples)
  }

  @Test func figuresComeFromTheModelAndTheMetrics() throws {
    let (m, dir, examples) = try Self.fixture()
    var o = Evaluator.Options()
    o.resamples = 200
    let (report, predictions) = try Evaluator.run(model: m, dataset: dir, options: o)
    let test = examples.filter { $0.split == "test" }
    #expect(report.examples == test.count)
    // Predictions: the head on the forward pass of each example alone.
    let reg = test.filter { !$0.regression.isEmpty }
    #expect(predictions.count == reg.count)
    for (p, e) in zip(predictions, reg) {
      let alone = m.forward(TokenDataset.batch([e], length: 512)).predictions[0]
      #expect(abs(p.prediction - Double(alone)) < 1e-5 && p.target == e.regression[0].target && p.key == e.key)
    }
    let t = try #require(report.regression.first)
    let direct = try Metrics.regressionReport(predictions.map(\.target), predictions.map(\.prediction))
    #expect(t.metrics["rmse"]?.value == direct.rmse && t.metrics["pearson"]?.value == direct.pearson)
    let lo = try #require(t.metrics["rmse"]?.lower), hi = try #require(t.metrics["rmse"]?.upper)
    #expect(lo <= direct.rmse && direct.rmse <= hi)
    let trainMean = examples.filter { $0.split == "train" }.flatMap(\.regression).map(\.target)
    #expect(abs(t.trainMean! - trainMean.reduce(0, +) / Double(trainMean.count)) < 1e-12)
    // Language: perplexity with tags from the loss; without tags on the stripped text.
    let l = try #require(report.language.first)
    let lang = test.filter { $0.regression.isEmpty }
    var nll = 0.0, count = 0
    for e in lang {
      let b = TokenDataset.batch([e], length: 512)
      let w = b.lossWeights.reduce(0, +)
      nll += Double(m.loss(b, regressionScale: 0).crossEntropy) * Double(w)
      count += Int(w)
    }
    #expect(l.tokens == count && abs(l.perplexity! - exp(nll / Double(count))) < 1e-3 * l.perplexity!)
    #expect(l.perplexityWithoutTags != nil && l.perplexityWithoutTags != l.perplexity)
  }

  @Test func commandWritesTheReport() throws {
    let (m, dir, _) = try Self.fixture()
    let modelDir = TestSupport.tempDirectory().appendingPathComponent("model").path
    try m.save(to: modelDir)
    let out = TestSupport.tempDirectory().appendingPathComponent("eval").path
    let r = try TestSupport.tagdata(["eval", "--model", modelDir, "--dataset", dir, "--out", out, "--resamples", "100", "--json"])
    try #require(r.status == 0, "\(r.stderr)")
    let report = try JSONDecoder().decode(Evaluator.Report.self, from: Data(r.stdout.utf8))
    #expect(report.regression.count == 1 && report.language.count == 1)
    for f in ["report.json", "report.md", "predictions.jsonl", "scatter-Reg.svg", "perplexity.svg"] {
      #expect(FileManager.default.fileExists(atPath: out + "/" + f), "\(f)")
    }
    let svg = try String(contentsOfFile: out + "/scatter-Reg.svg", encoding: .utf8)
    #expect(svg.hasPrefix("<svg") && svg.contains("predicted against true") && svg.contains("true value") && svg.contains("<circle"))
    let lines = try String(contentsOfFile: out + "/predictions.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == report.regression[0].count)
    // An empty split is an error naming it.
    let e = try TestSupport.tagdata(["eval", "--model", modelDir, "--dataset", dir, "--out", out, "--split", "valid"])
    #expect(e.status == 1 && e.stderr.contains("valid"), "\(e.stderr)")
  }

  /// With inputs, the nearest-neighbour baseline: the training split's examples of the task
  /// predict the test examples (Tanimoto on fingerprints), and its figures are the metrics of
  /// those predictions; a k-mer baseline for sequences.
  @Test func nearestNeighbourBaseline() throws {
    let (m, dir, examples) = try Self.fixture()
    var rng = SplitMix64(seed: 77)
    var o = Evaluator.Options()
    o.resamples = 0
    for e in examples where !e.regression.isEmpty {
      o.features[e.key!] = .fingerprint((0..<4).map { _ in rng.next() & rng.next() })
    }
    let (report, predictions) = try Evaluator.run(model: m, dataset: dir, options: o)
    let t = try #require(report.regression.first)
    #expect(t.neighbourKind == "tanimoto")
    let train = examples.filter { $0.split == "train" && !$0.regression.isEmpty }
    let knn = try TanimotoKNN(fingerprints: train.map { if case .fingerprint(let w) = o.features[$0.key!]! { return w } else { return [] } },
                              targets: train.map { $0.regression[0].target }, k: 5)
    let expected = try predictions.map { p -> Double in
      guard case .fingerprint(let w) = o.features[p.key]! else { return .nan }
      return try knn.predict(w)
    }
    let direct = try Metrics.regressionReport(predictions.map(\.target), expected)
    #expect(t.neighbourBaseline?["mae"]?.value == direct.mae && t.neighbourBaseline?["r2"]?.value == direct.r2)
    // Sequences: the k-mer baseline.
    var s = Evaluator.Options()
    s.resamples = 0
    for e in examples where !e.regression.isEmpty { s.features[e.key!] = .sequence(e.tokens.map { UInt8(65 + $0 % 20) }) }
    #expect(try Evaluator.run(model: m, dataset: dir, options: s).0.regression.first?.neighbourKind == "kmer")
    // A missing input: no baseline rather than a partial one.
    o.features.removeValue(forKey: predictions[0].key)
    #expect(try Evaluator.run(model: m, dataset: dir, options: o).0.regression.first?.neighbourBaseline == nil)
  }
}
