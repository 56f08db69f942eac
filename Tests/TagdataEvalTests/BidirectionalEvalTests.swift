import Foundation
@testable import TagdataEval
import TagdataIO
import TagdataShards
import TagdataTrain
import TestSupport
import Testing

/// Heads and perplexity computed with Tag-LLM's bidirectional input blocks for the tasks that
/// were trained so (`Options.bidirectional`, `tagdata eval --inputs`, or a run's stages).
@Suite struct BidirectionalEvalTests {
  static func fixture() throws -> (Model, String, [TokenDataset.Example]) {
    // Two layers: a block changes what its positions pass on to the next layer, which the head reads.
    var m = Model(config: ModelConfig(vocabularySize: 30, dimension: 16, layers: 2, heads: 2, feedForward: 24), seed: 3)
    m.addTag("D", rows: 2, seed: 4)
    m.addTag("F", rows: 2, seed: 5)
    m.addHead("F", seed: 6)
    var rng = SplitMix64(seed: 21)
    var examples: [TokenDataset.Example] = []
    for i in 0..<24 {
      let body = (0..<(4 + Int(rng.next() % 6))).map { _ in 4 + Int(rng.next() % 20) }
      let split = i % 2 == 0 ? "test" : "train"
      if i % 3 == 0 {
        let tokens = [1, 30, 31] + body
        var e = TokenDataset.Example(tokens: tokens, lossMask: [false, false, false] + body.map { _ in true }, task: "Lang", split: split, key: "l\(i)")
        e.spans = [1..<tokens.count]
        examples.append(e)
      } else {
        let tokens = [1, 30, 31] + body + [9, 32, 33]
        var e = TokenDataset.Example(tokens: tokens, lossMask: tokens.map { _ in false }, task: "Reg",
                                     regression: [.init(head: "F", position: tokens.count - 1, target: Double(body.reduce(0, +)) / 10)],
                                     split: split, key: "r\(i)")
        e.spans = [1..<(3 + body.count)]
        examples.append(e)
      }
    }
    let dir = try GenerationFixture.write(examples, textSize: 30, tags: [("D", "domain", 30, 2), ("F", "function", 32, 2)])
    return (m, dir, examples)
  }

  @Test func headsAndPerplexityWithBlocks() throws {
    let (m, dir, examples) = try Self.fixture()
    var o = Evaluator.Options()
    o.resamples = 0
    let causal = try Evaluator.evaluate(model: m, dataset: dir, options: o)
    o.bidirectional = ["Reg"]
    let blocks = try Evaluator.evaluate(model: m, dataset: dir, options: o)
    #expect(blocks.report.bidirectional == ["Reg"] && causal.report.bidirectional == nil)
    let test = Dictionary(uniqueKeysWithValues: examples.filter { $0.split == "test" }.map { ($0.key!, $0) })
    for (c, b) in zip(causal.predictions, blocks.predictions) {
      let e = test[b.key]!
      let withBlocks = m.forward(TokenDataset.batch([e], length: 512, bidirectional: true)).predictions[0]
      let without = m.forward(TokenDataset.batch([e], length: 512)).predictions[0]
      #expect(c.key == b.key && abs(b.prediction - Double(withBlocks)) < 1e-5 && abs(c.prediction - Double(without)) < 1e-5)
      #expect(abs(Double(withBlocks - without)) > 1e-6, "the blocks change what the head reads")
    }
    // Perplexity of "Lang" is unchanged (not listed); "*" takes every task.
    #expect(blocks.report.language == causal.report.language)
    o.bidirectional = ["*"]
    let all = try Evaluator.evaluate(model: m, dataset: dir, options: o)
    let lang = examples.filter { $0.split == "test" && $0.task == "Lang" }
    let s = m.summedLosses(lang, length: 512, batch: 8, bidirectional: true)
    let l = try #require(all.report.language.first)
    #expect(abs(l.perplexity! - exp(s.crossEntropy / s.targets)) < 1e-9 * l.perplexity! && l.perplexity != causal.report.language.first?.perplexity)
    #expect(EvalReport.markdown(all.report, model: "m", dataset: "d").contains("Domain inputs attend both ways"))
  }

  /// `--run`: the run's stages with bidirectionalInputs name the tasks; `--inputs causal` turns it off.
  @Test func runConfigDecides() throws {
    let (m, dir, _) = try Self.fixture()
    let root = TestSupport.tempDirectory()
    let model = root.appendingPathComponent("model").path, run = root.appendingPathComponent("run").path
    try m.save(to: model)
    try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
    try Data(#"{"stage":"s","step":1,"loss":1.0}"#.utf8).write(to: URL(fileURLWithPath: run + "/log.jsonl"))
    let config = #"{"config": {"stages": [{"name": "a", "data": {"path": "x", "tasks": ["Lang"]}}, "#
      + #"{"name": "s", "bidirectionalInputs": true, "data": {"path": "x", "tasks": ["Reg"]}}]}, "sha256": "0"}"#
    try Data(config.utf8).write(to: URL(fileURLWithPath: run + "/run-config.json"))
    func eval(_ extra: [String]) throws -> Evaluator.Report {
      let out = root.appendingPathComponent("eval-\(extra.count)").path
      let r = try TestSupport.tagdata(["eval", "--model", model, "--dataset", dir, "--out", out, "--resamples", "0", "--run", run, "--json"] + extra)
      try #require(r.status == 0, "\(r.stderr)")
      return try JSONDecoder().decode(Evaluator.Report.self, from: Data(r.stdout.utf8))
    }
    #expect(try eval([]).bidirectional == ["Reg"])
    #expect(try eval(["--inputs", "causal"]).bidirectional == nil)
    #expect(try eval(["--inputs", "bidirectional", "--margin", "4"]).bidirectional == ["*"])
  }
}
