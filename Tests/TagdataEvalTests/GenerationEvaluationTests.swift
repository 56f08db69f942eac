import Foundation
@testable import TagdataEval
import TagdataIO
import TagdataShards
import TagdataTokenizer
import TagdataTrain
import TestSupport
import Testing

/// Generation in the evaluator, on a constructed model whose greedy continuations are known
/// (`GenerationFixture`): which examples are generated, from which prompt, how far, how the
/// ids become text, and that the scores are BLEU, chrF and exact match of those texts.
@Suite struct GenerationEvaluationTests {
  @Test func theConstructedModelDecodesItsChains() throws {
    let m = GenerationFixture.model()
    let r = try m.generate(prompt: [1] + GenerationFixture.tagIDs("T"), maxNewTokens: 20, stopTokens: [2])
    #expect(r.ids == GenerationFixture.ids("ab cd") + [2] && r.stopped == .eos)
    let q = try m.generate(prompt: GenerationFixture.ids("x 9"), maxNewTokens: 20, stopTokens: [2])
    #expect(q.ids == GenerationFixture.ids("efg") + [2])
  }

  @Test func generationsAndScores() throws {
    let m = GenerationFixture.model()
    let dir = try GenerationFixture.write(GenerationFixture.translations())
    var o = Evaluator.Options()
    o.resamples = 200
    let outcome = try Evaluator.evaluate(model: m, dataset: dir, options: o)
    let g = Dictionary(uniqueKeysWithValues: outcome.generations.map { ($0.key, $0) })
    // Test examples with an output only; the language example has none, train examples are not generated.
    #expect(Set(g.keys) == ["g1", "g2", "g3", "g4", "g5"])
    #expect(g["g1"]?.hypothesis == "ab cd" && g["g1"]?.reference == "ab cd" && g["g1"]?.stopped == "eos")
    #expect(g["g2"]?.hypothesis == "ab cd" && g["g2"]?.reference == "ab ce")
    // The prompt is everything before outputStart: here it ends with "9".
    #expect(g["g4"]?.hypothesis == "efg" && g["g4"]?.reference == "efg hij")
    // No outputStart recorded: the output begins after the last function tag.
    #expect(g["g5"]?.hypothesis == "ab cd" && g["g5"]?.reference == "xy cd")
    #expect(g["g3"]?.tags == ["DE", "EN", "T"])
    let t = try #require(outcome.report.generation?.first)
    #expect(t.task == "Translate" && t.count == 5 && t.stoppedAtEOS == 5)
    let order = outcome.generations
    let bleu = try BLEU().corpusScore(hypotheses: order.map(\.hypothesis), references: [order.map(\.reference)])
    let chrf = try CHRF().corpusScore(hypotheses: order.map(\.hypothesis), references: [order.map(\.reference)])
    #expect(t.metrics["bleu"]?.value == bleu.score && t.metrics["chrf"]?.value == chrf.score)
    #expect(t.metrics["exact_match"]?.value == 2.0 / 5)
    let lo = try #require(t.metrics["chrf"]?.lower), hi = try #require(t.metrics["chrf"]?.upper)
    #expect(lo <= chrf.score && chrf.score <= hi && lo < hi)
    // The same seed gives the same intervals.
    let again = try Evaluator.evaluate(model: m, dataset: dir, options: o)
    #expect(again.report == outcome.report)
    // Perplexity is still reported for the generation task and the language task.
    #expect(Set(outcome.report.language.map(\.task)) == ["Language", "Translate"])
  }

  @Test func generationStopsAtTheReferenceLengthPlusTheMargin() throws {
    let m = GenerationFixture.model()
    // The reference "a" + EOS is two tokens; with no margin the chain "ab cd" is cut after two.
    let dir = try GenerationFixture.write([GenerationFixture.translation(source: "EN", target: "FR", output: "a", split: "test", key: "s")])
    var o = Evaluator.Options()
    o.resamples = 0
    o.margin = 0
    let outcome = try Evaluator.evaluate(model: m, dataset: dir, options: o)
    #expect(outcome.generations.first?.hypothesis == "ab" && outcome.generations.first?.stopped == "length")
    #expect(outcome.report.generation?.first?.stoppedAtEOS == 0)
    // Turned off: a note, no generations.
    o.generate = false
    let off = try Evaluator.evaluate(model: m, dataset: dir, options: o)
    #expect(off.generations.isEmpty && off.report.notes?.first?.contains("turned off") == true)
  }

  @Test func aDatasetOfAnotherTokenizerNeedsIt() throws {
    var examples = GenerationFixture.translations()
    examples.removeAll { $0.task == "Language" }
    let dir = try GenerationFixture.write(examples)
    // Claim the dataset was made with a tokenizer.json: without it, generation is skipped with a note.
    let path = dir + "/dataset.json"
    var manifest = try JSONDecoder().decode(TokenShards.Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    manifest.vocabulary.text = "tokenizer.json"
    try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: path))
    var o = Evaluator.Options()
    o.resamples = 0
    let outcome = try Evaluator.evaluate(model: GenerationFixture.model(), dataset: dir, options: o)
    #expect(outcome.generations.isEmpty && outcome.report.generation == [])
    #expect(outcome.report.notes?.first?.contains("tokenizer.json") == true)
    // A text tokenizer of the wrong size is refused.
    #expect(throws: Evaluator.EvaluationError.self) {
      _ = try DatasetText(info: manifest.vocabulary, text: TwoTokens(), model: nil)
    }
  }

  struct TwoTokens: TextTokenizer {
    var vocabularySize: Int { 2 }
    func encodeText(_ text: String) -> [Int] { [] }
    func decodeText(_ ids: [Int]) -> String { "" }
    func tokenText(_ id: Int) -> String? { nil }
    func tokenID(_ token: String) -> Int? { nil }
  }

  /// Reports written before generation was evaluated still decode.
  @Test func olderReportsDecode() throws {
    let old = """
      {"split":"test","examples":3,"trimmed":0,"regression":[],"language":[],"resamples":10,"level":0.95,"seed":0,"bootstrap":"x"}
      """
    let r = try JSONDecoder().decode(Evaluator.Report.self, from: Data(old.utf8))
    #expect(r.generation == nil && r.notes == nil && r.examples == 3)
  }

  /// `tagdata eval` writes generations.jsonl and a Generation section, and prints a summary line.
  @Test func commandWritesGenerations() throws {
    let modelDir = TestSupport.tempDirectory().appendingPathComponent("model").path
    try GenerationFixture.model().save(to: modelDir)
    let dir = try GenerationFixture.write(GenerationFixture.translations())
    let out = TestSupport.tempDirectory().appendingPathComponent("eval").path
    let r = try TestSupport.tagdata(["eval", "--model", modelDir, "--dataset", dir, "--out", out, "--resamples", "50"])
    try #require(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("Translate: n 5, BLEU"), "\(r.stderr)")
    let lines = try String(contentsOfFile: out + "/generations.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 5)
    let g = try JSONDecoder().decode(Evaluator.Generation.self, from: Data(lines[0].utf8))
    #expect(g.task == "Translate" && !g.hypothesis.isEmpty)
    let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
    #expect(md.contains("## Generation") && md.contains("| Translate | 5 | 5 |"), "\(md)")
  }
}
