import Foundation
@testable import TagdataEval
import TagdataIO
import TagdataShards
import TagdataTrain
import TestSupport
import Testing

/// Seen and unseen tag combinations: datasets where a combination is held out of the training
/// split; the groups' figures are the metrics of their own examples.
@Suite struct CombinationTests {
  @Test func generationAndLanguageGroups() throws {
    let examples = GenerationFixture.translations()
    let dir = try GenerationFixture.write(examples)
    var o = Evaluator.Options()
    o.resamples = 50
    let outcome = try Evaluator.evaluate(model: GenerationFixture.model(), dataset: dir, options: o)
    let c = try #require(outcome.report.combinations)
    // Translate is trained on EN+FR (both directions); DE→EN is unseen.
    let gen = try #require(c.first { $0.task == "Translate" && $0.kind == "generation" })
    #expect(gen.combinations == [.init(tags: ["EN", "FR", "T"], seen: true, count: 4, train: 2), .init(tags: ["DE", "EN", "T"], seen: false, count: 1, train: 0)])
    #expect(gen.seen?.count == 4 && gen.unseen?.count == 1)
    let byKey = Dictionary(uniqueKeysWithValues: outcome.generations.map { ($0.key, $0) })
    let seen = ["g1", "g2", "g4", "g5"].map { byKey[$0]! }
    let bleu = try BLEU().corpusScore(hypotheses: seen.map(\.hypothesis), references: [seen.map(\.reference)]).score
    #expect(gen.seen?.metrics["bleu"]?.value == bleu && gen.seen?.metrics["exact_match"]?.value == 0.25)
    #expect(gen.unseen?.metrics["exact_match"]?.value == 1 && gen.unseen?.metrics["bleu"]?.lower == nil)
    // Perplexity of each group is the perplexity of its examples alone.
    let lang = try #require(c.first { $0.task == "Translate" && $0.kind == "language" })
    let m = GenerationFixture.model()
    let unseenExample = examples.first { $0.key == "g3" }!
    let s = m.summedLosses([unseenExample], length: 512, batch: 8)
    #expect(lang.unseen?.tokens == Int(s.targets))
    let expected = exp(s.crossEntropy / s.targets)
    #expect(abs((lang.unseen?.metrics["perplexity"]?.value ?? 0) - expected) <= 1e-9 * expected)
    // A task without training examples: every combination is unseen.
    let language = try #require(c.first { $0.task == "Language" })
    #expect(language.seen == nil && language.unseen?.count == 1 && language.combinations.first?.tags == ["EN"])
    let md = EvalReport.markdown(outcome.report, model: "m", dataset: "d")
    #expect(md.contains("## Tag combinations") && md.contains("- Translate: <DE> <EN> <T> (1 test examples)"), "\(md)")
    #expect(md.contains("| Translate | generation | unseen | 1 | 1 | BLEU"), "\(md)")
  }

  /// Regression heads: test examples without the domain tag form a combination the training
  /// split lacks; their metrics are those of their predictions.
  @Test func headGroups() throws {
    var m = Model(config: ModelConfig(vocabularySize: 30, dimension: 16, layers: 1, heads: 2, feedForward: 24), seed: 3)
    m.addTag("D", rows: 2, seed: 4, initialization: .tagLLM)
    m.addTag("F", rows: 2, seed: 5, initialization: .tagLLM)
    m.addHead("F", seed: 6, initialization: .random)
    var rng = SplitMix64(seed: 12)
    var examples: [TokenDataset.Example] = []
    for i in 0..<40 {
      let body = (0..<(4 + Int(rng.next() % 6))).map { _ in 4 + Int(rng.next() % 20) }
      let split = i % 2 == 0 ? "test" : "train"
      let held = split == "test" && i % 4 == 0
      let tokens = [1] + (held ? [] : [30, 31]) + body + [32, 33]
      examples.append(TokenDataset.Example(tokens: tokens, lossMask: tokens.map { _ in false }, task: "Reg",
                                           regression: [.init(head: "F", position: tokens.count - 1, target: Double(body.reduce(0, +)) / 10)],
                                           split: split, key: "r\(i)"))
    }
    let dir = try GenerationFixture.write(examples, textSize: 30, tags: [("D", "domain", 30, 2), ("F", "function", 32, 2)])
    var o = Evaluator.Options()
    o.resamples = 0
    let (report, predictions) = try Evaluator.run(model: m, dataset: dir, options: o)
    let c = try #require(report.combinations?.first { $0.task == "Reg" && $0.kind == "head" })
    #expect(c.combinations == [.init(tags: ["D", "F"], seen: true, count: 10, train: 20), .init(tags: ["F"], seen: false, count: 10, train: 0)])
    let heldKeys = Set(examples.filter { !$0.tokens.contains(30) }.compactMap(\.key))
    let unseen = predictions.filter { heldKeys.contains($0.key) }, seen = predictions.filter { !heldKeys.contains($0.key) }
    let u = try Metrics.regressionReport(unseen.map(\.target), unseen.map(\.prediction))
    let s = try Metrics.regressionReport(seen.map(\.target), seen.map(\.prediction))
    #expect(c.unseen?.metrics["mae"]?.value == u.mae && c.unseen?.metrics["pearson"]?.value == u.pearson && c.unseen?.count == 10)
    #expect(c.seen?.metrics["rmse"]?.value == s.rmse && c.seen?.count == 10)
  }

  /// Number as text: the share parsed and the metrics per group.
  @Test func numberGroups() throws {
    var examples = NumberTextTests.examples()
    var e = GenerationFixture.translation(source: "DE", target: "FR", function: "Q", output: "300.", split: "test", key: "n5")
    e.lossMask = e.tokens.indices.map { $0 >= e.outputStart! }
    e.numberTarget = 290
    examples.append(e)
    let dir = try GenerationFixture.write(examples)
    var o = Evaluator.Options()
    o.resamples = 0
    let outcome = try Evaluator.evaluate(model: GenerationFixture.model(), dataset: dir, options: o)
    let c = try #require(outcome.report.combinations?.first { $0.task == "Num" && $0.kind == "number as text" })
    #expect(c.unseen?.count == 1 && c.unseen?.metrics["mae"]?.value == 10 && c.unseen?.metrics["parsed"]?.value == 1)
    #expect(c.seen?.count == 4 && c.seen?.metrics["parsed"]?.value == 0.75)
    let direct = try Metrics.regressionReport([250, 310, 420.5], [300, 300, 300])
    #expect(c.seen?.metrics["mae"]?.value == direct.mae)
  }

  /// Older reports (no combinations) still decode; the new fields round-trip.
  @Test func reportRoundTrip() throws {
    let dir = try GenerationFixture.write(GenerationFixture.translations())
    var o = Evaluator.Options()
    o.resamples = 20
    let r = try Evaluator.evaluate(model: GenerationFixture.model(), dataset: dir, options: o).report
    let back = try JSONDecoder().decode(Evaluator.Report.self, from: JSONEncoder().encode(r))
    #expect(back == r && back.combinations != nil)
  }
}
