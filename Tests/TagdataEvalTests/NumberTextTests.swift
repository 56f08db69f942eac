import Foundation
@testable import TagdataEval
import TagdataIO
import TagdataShards
import TagdataTrain
import TestSupport
import Testing

/// Number as text: the first number of a decoded output (Tag-LLM's label strings and hostile
/// text), and the evaluator's regression metrics on the parsed outputs of regression records
/// exported as text.
@Suite struct NumberTextTests {
  @Test func labelStrings() {
    // Tag-LLM's labels (FORMATS 7.3), as decoded after the function tag.
    #expect(NumberText.firstNumber("0.1234.") == 0.1234)
    #expect(NumberText.firstNumber(" 1e-050.") == 1e-50)
    #expect(NumberText.firstNumber("-1.500") == -1.5)
    #expect(NumberText.firstNumber("12.345") == 12.345)
    #expect(NumberText.firstNumber("5.0000.") == 5)
    #expect(NumberText.firstNumber("-0.725") == -0.725)
    #expect(NumberText.firstNumber("49453..") == 49453)
  }

  @Test func hostileText() {
    let cases: [(String, Double?)] = [
      ("", nil), (".", nil), ("-", nil), ("+", nil), ("e", nil), ("-e5", 5), ("abc", nil), ("nan", nil), ("inf", nil), ("Infinity", nil),
      ("--5", -5), ("+.5e+2x", 50), ("5e", 5), ("5e+", 5), ("5E-", 5), ("1e999", nil), ("-1e999", nil), ("1e-999", 0),
      ("0x1F", 0), ("1,234", 1), ("1 234", 1), (".e5", 5), ("1.2.3", 1.2), ("-.5", -0.5), ("\u{2212}5", 5), ("\u{0661}\u{0662}3", 3),
      ("score: <TAG 3> 7", 3), ("\u{0}\u{1}9\u{0}", 9), ("5.", 5), ("  0007.50", 7.5),
      (String(repeating: "9", count: 400), nil), ("0." + String(repeating: "0", count: 400) + "1", 0),
      (String(repeating: "-", count: 10_000) + "1", -1), (String(repeating: ".", count: 10_000), nil),
    ]
    for (text, expected) in cases {
      #expect(NumberText.firstNumber(text) == expected, "\(text.prefix(40))")
    }
    // A long text of near-starts: a point not followed by a digit, an exponent sign without digits.
    #expect(NumberText.firstNumber(String(repeating: "e.+", count: 500_000) + "42") == 42)
    #expect(NumberText.firstNumber(String(repeating: "e.+", count: 500_000) + ".42") == 0.42)
  }

  /// The parser against Python's `float` of the first match of the documented pattern, on
  /// random strings over the characters that matter (Tests/Interop/eval_generations.py).
  @Test(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
  func parserEqualsPython() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 7_301))
    let alphabet = Array("0123456789..--++eeEE xa,\u{2212}\u{0661}")
    var lines = ""
    for _ in 0..<20_000 {
      let n = Int(rng.next() % 12)
      let s = String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
      let v = NumberText.firstNumber(s)
      lines += "{\"text\":\(JSONString.quoted(s)),\"parsed\":\(v.map { "\($0)" } ?? "null")}\n"
    }
    for (s, _) in [("1e999", 0), ("9" + String(repeating: "9", count: 320), 0), ("1e-400", 0)] {
      lines += "{\"text\":\(JSONString.quoted(s)),\"parsed\":\(NumberText.firstNumber(s).map { "\($0)" } ?? "null")}\n"
    }
    let path = TestSupport.tempDirectory().appendingPathComponent("numbers.jsonl").path
    try Data(lines.utf8).write(to: URL(fileURLWithPath: path))
    let r = try TestSupport.run(python, [EvalGenerationInteropTests.script, "--numbers", path])
    if r.status == 3 && !TestSupport.interopRequired { return }
    #expect(r.status == 0 && r.stdout.contains("SUMMARY problems=0"), "\(r.stdout.suffix(5000))\n\(r.stderr.suffix(2000))")
  }

  /// Examples of the fixture whose prompt ends with `<Q>` decode `3E+2x` (300); one ends with
  /// `z` and decodes nothing (unparsed). Metrics are on the parsed ones; the mean predictor is
  /// the training split's mean of the exact targets.
  static func examples() -> [TokenDataset.Example] {
    func number(_ target: Double, split: String, key: String, end: String = "") -> TokenDataset.Example {
      var e = GenerationFixture.translation(source: "EN", target: "FR", function: "Q", end: end, output: "300.", split: split, key: key)
      e.lossMask = e.tokens.indices.map { $0 >= e.outputStart! }
      e.numberTarget = target
      return e
    }
    return [number(1, split: "train", key: "a"), number(3, split: "train", key: "b"),
            number(250, split: "test", key: "n1"), number(310, split: "test", key: "n2"), number(420.5, split: "test", key: "n3"),
            number(5, split: "test", key: "n4", end: " z")]
  }

  @Test func evaluatorScoresTheParsedNumbers() throws {
    let dir = try GenerationFixture.write(Self.examples())
    var o = Evaluator.Options()
    o.resamples = 100
    let outcome = try Evaluator.evaluate(model: GenerationFixture.model(), dataset: dir, options: o)
    let t = try #require(outcome.report.numberAsText?.first)
    #expect(outcome.report.generation == nil)
    #expect(t.task == "Num" && t.count == 4 && t.parsed == 3 && t.parsedFraction == 0.75 && t.trainMean == 2)
    let g = Dictionary(uniqueKeysWithValues: outcome.generations.map { ($0.key, $0) })
    #expect(g["n1"]?.hypothesis == "3E+2x" && g["n1"]?.parsed == 300 && g["n1"]?.target == 250)
    #expect(g["n4"]?.hypothesis == "" && g["n4"]?.parsed == nil && g["n4"]?.target == 5)
    let direct = try Metrics.regressionReport([250, 310, 420.5], [300, 300, 300])
    #expect(t.metrics["mae"]?.value == direct.mae && t.metrics["rmse"]?.value == direct.rmse)
    #expect(t.metrics["pearson"]?.value == nil)  // a constant prediction: undefined
    let base = try Metrics.regressionReport([250, 310, 420.5], [2, 2, 2])
    #expect(t.meanBaseline["mae"]?.value == base.mae)
    let md = EvalReport.markdown(outcome.report, model: "m", dataset: "d")
    #expect(md.contains("## Regression: number as text") && md.contains("| Num | 4 | 3 (75.0%) | number as text |"), "\(md)")
    #expect(md.contains("Unparsed outputs (no finite number): Num 1"))
  }

  /// `tagdata eval` writes the parsed numbers to generations.jsonl; Python's parse of the
  /// written hypotheses agrees with them and with the report's parsed count.
  @Test(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
  func commandAndPythonAgree() throws {
    try EvalGenerationInteropTests.check(Self.examples() + GenerationFixture.translations())
  }
}
