import Foundation
import TagdataEval
import TagdataIO
import TagdataShards
import TestSupport
import Testing

/// `tagdata eval`'s generation scores against sacrebleu on the generations it wrote
/// (Tests/Interop/eval_generations.py): the constructed model of `GenerationFixture` continues
/// prompts with known text, the references are the shipped parallel text's sentences with and
/// without those words, and the report's BLEU, chrF and exact-match rate must be sacrebleu's on
/// generations.jsonl.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct EvalGenerationInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/eval_generations.py").path

  static func sentences() throws -> [String] {
    let text = try String(contentsOf: TestSupport.corpus("tables/parallel_text_sample.tsv"), encoding: .utf8)
    return text.split(separator: "\n").dropFirst().flatMap { line -> [String] in
      let f = line.split(separator: "\t", omittingEmptySubsequences: false)
      return f.count == 4 ? [String(f[1]), String(f[3])] : []
    }
  }

  /// Runs `tagdata eval` on `examples` and the checking script on its output.
  static func check(_ examples: [TokenDataset.Example]) throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let modelDir = TestSupport.tempDirectory().appendingPathComponent("model").path
    try GenerationFixture.model().save(to: modelDir)
    let dir = try GenerationFixture.write(examples)
    let out = TestSupport.tempDirectory().appendingPathComponent("eval").path
    let e = try TestSupport.tagdata(["eval", "--model", modelDir, "--dataset", dir, "--out", out, "--resamples", "20"])
    try #require(e.status == 0, "\(e.stderr)")
    let r = try TestSupport.run(python, [script, out])
    if r.status == 3 && !TestSupport.interopRequired {
      print("skipped: \(r.stdout)")
      return
    }
    print(r.stdout.split(separator: "\n").suffix(20).joined(separator: "\n"))
    #expect(r.status == 0, "\(r.stdout.prefix(20_000))\n\(r.stderr.suffix(5000))")
    #expect(r.stdout.contains("SUMMARY problems=0"), "\(r.stdout.suffix(5000))")
  }

  @Test func reportEqualsSacrebleuOnTheWrittenGenerations() throws {
    let s = try Self.sentences()
    try #require(s.count >= 40)
    var examples: [TokenDataset.Example] = []
    let chain = "op,qr;st!uv"
    for (k, sentence) in s.prefix(40).enumerated() {
      // References: the generated words alone, with a sentence, partly, or a sentence only.
      let reference = [chain, chain + " " + sentence, "op,qr " + sentence, sentence, "st!uv"][k % 5]
      examples.append(GenerationFixture.translation(source: k % 2 == 0 ? "EN" : "FR", target: k % 2 == 0 ? "FR" : "EN", end: " 8",
                                                    output: reference, split: "test", key: "p\(k)"))
    }
    examples.append(GenerationFixture.translation(source: "EN", target: "FR", output: "ab cd", split: "test", key: "q"))
    try Self.check(examples)
  }
}
