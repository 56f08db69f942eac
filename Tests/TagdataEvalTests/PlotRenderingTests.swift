import Foundation
import TagdataEval
import TagdataIO
import TagdataTrain
import TestSupport
import Testing

/// The plots tagdata writes (evaluation scatter and perplexity bars, ablation bars, the training
/// loss) rendered by headless Chromium through `Scripts/check-plots`: each must parse, carry a
/// title and axis labels, and render to a screenshot that is not blank; a blank or unlabelled
/// SVG must be reported by name. Without Chromium the tests are skipped, unless
/// TAGDATA_REQUIRE_INTEROP=1, where they fail.
@Suite(.serialized, .enabled(if: CheckPlots.browser || TestSupport.interopRequired, "needs Chromium: apt-get install chromium"))
struct PlotRenderingTests {
  static let script = CheckPlots.script
  static let browser = CheckPlots.browser

  /// Fails the test when Chromium is missing (only reached when TAGDATA_REQUIRE_INTEROP=1).
  static func requireBrowser() -> Bool {
    if browser { return true }
    Issue.record("TAGDATA_REQUIRE_INTEROP=1 but check-plots finds no Chromium (apt-get install chromium, or set CHROMIUM)")
    return false
  }

  static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(json.utf8))
  }

  static func figure(_ v: Double, _ w: Double) -> String { "{\"value\": \(v), \"lower\": \(v - w), \"upper\": \(v + w)}" }

  static func report(pearson: Double, rmse: Double, perplexity: Double?) -> String {
    let language = perplexity.map {
      "[{\"task\": \"Descriptions\", \"examples\": 12, \"tokens\": 400, \"perplexity\": \($0), \"perplexityWithoutTags\": \($0 * 1.4)}]"
    } ?? "[]"
    return """
      {"split": "test", "examples": 60, "trimmed": 0, "resamples": 1000, "level": 0.95, "seed": 0, "bootstrap": "paired",
       "regression": [{"task": "QED", "head": "QED", "count": 48, "trainMean": 0.6,
                       "metrics": {"pearson": \(figure(pearson, 0.07)), "rmse": \(figure(rmse, 0.05))},
                       "meanBaseline": {"pearson": {}, "rmse": \(figure(0.21, 0.02))}}],
       "language": \(language)}
      """
  }

  /// Every kind of plot, written into `dir`.
  static func writePlots(_ dir: URL) throws -> [String] {
    var rng = SplitMix64(seed: 7)
    var predictions: [Evaluator.Prediction] = []
    for i in 0..<48 {
      let target = Double(rng.next() % 1000) / 1000
      let prediction = target * 0.8 + Double(rng.next() % 200) / 1000
      predictions.append(try decode(Evaluator.Prediction.self,
                                    "{\"key\": \"k\(i)\", \"task\": \"QED\", \"head\": \"QED\", \"target\": \(target), \"prediction\": \(prediction)}"))
    }
    let asText = """
      {"split": "test", "examples": 48, "trimmed": 0, "resamples": 1000, "level": 0.95, "seed": 0, "bootstrap": "paired",
       "regression": [], "language": [],
       "generation": [{"task": "QED", "count": 48, "stoppedAtEOS": 40, "metrics": {"exact_match": \(figure(0.06, 0.04)), "bleu": \(figure(35, 4)),
                                                                "chrf": \(figure(61, 3))}}]}
      """
    let reports = [("both", report(pearson: 0.82, rmse: 0.11, perplexity: 3.2)), ("no-tags", report(pearson: 0.41, rmse: 0.19, perplexity: 4.6)),
                   ("function-only", report(pearson: 0.77, rmse: 0.13, perplexity: nil)), ("as-text", asText)]
    let variants = try reports.map {
      EvalComparison.Variant(label: $0.0, path: "eval/\($0.0)", report: try decode(Evaluator.Report.self, $0.1))
    }
    let both = variants[0].report
    var files: [(String, String)] = [
      (EvalReport.plotName(both.regression[0]), EvalReport.scatter(both.regression[0], predictions)),
      ("perplexity.svg", EvalReport.perplexityBars(both.language)),
    ]
    let comparison = EvalComparison.compare(variants)
    for task in comparison.tasks { files.append((EvalComparison.chartName(task), EvalComparison.chart(comparison, task: task))) }
    var log: [StepLog] = []
    for (stage, steps) in [("stage-1", 40), ("stage-2", 25)] {
      for s in 1...steps {
        let loss = Float(3.0 * exp(-Double(s) / 12) + 0.4)
        log.append(StepLog(stage: stage, step: s, steps: steps, loss: loss, crossEntropy: loss, meanSquaredError: 0, learningRate: 1e-3,
                           gradientNorm: 1, tokens: 512 * s, tokensPerSecond: 1000, seconds: Double(s),
                           validationLoss: s % 10 == 0 ? loss + 0.1 : nil))
      }
    }
    files.append(("loss.svg", LossPlot.svg(log)))
    for (name, svg) in files { try Data(svg.utf8).write(to: dir.appendingPathComponent(name)) }
    return files.map(\.0)
  }

  @Test func everyPlotRendersWithTitleAndLabels() throws {
    guard Self.requireBrowser() else { return }
    let dir = TestSupport.tempDirectory()
    let names = try Self.writePlots(dir)
    #expect(names.count == 5, "\(names)")
    let r = try TestSupport.run(Self.script, [dir.path])
    #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    for name in names { #expect(r.stdout.contains("ok   \(dir.appendingPathComponent(name).path)"), "\(name): \(r.stdout)") }
  }

  @Test func blankAndUnlabelledPlotsAreReportedByName() throws {
    guard Self.requireBrowser() else { return }
    let dir = TestSupport.tempDirectory()
    // Titled and labelled, but every mark is white on white: it renders blank.
    let blank = """
      <svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" font-family="sans-serif">
      <title>QED: Pearson r per variant</title><rect width="100%" height="100%" fill="white"/>
      <text x="10" y="190" fill="white">variant</text><text x="10" y="20" fill="white">Pearson r</text>
      <rect x="40" y="40" width="30" height="100" fill="white"/></svg>
      """
    // Drawn, but with no title and no axis label.
    let unlabelled = """
      <svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="100%" height="100%" fill="white"/>
      <rect x="40" y="40" width="60" height="120" fill="#1f77b4"/></svg>
      """
    let good = EvalReport.perplexityBars([try Self.decode(Evaluator.LanguageTask.self,
                                                          "{\"task\": \"T\", \"examples\": 1, \"tokens\": 9, \"perplexity\": 2.5}")])
    for (name, svg) in [("blank.svg", blank), ("unlabelled.svg", unlabelled), ("good.svg", good)] {
      try Data(svg.utf8).write(to: dir.appendingPathComponent(name))
    }
    let r = try TestSupport.run(Self.script, [dir.path])
    #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
    let lines = r.stdout.split(separator: "\n").map(String.init)
    let blankLine = lines.first { $0.contains("blank.svg") } ?? ""
    #expect(blankLine.hasPrefix("FAIL") && (blankLine.contains("all one colour") || blankLine.contains("is blank")), "\(r.stdout)")
    let unlabelledLine = lines.first { $0.contains("unlabelled.svg") } ?? ""
    #expect(unlabelledLine.hasPrefix("FAIL") && unlabelledLine.contains("no title") && unlabelledLine.contains("axis labels"), "\(r.stdout)")
    #expect(!unlabelledLine.contains("blank"), "the unlabelled plot does render")
    #expect(lines.contains { $0.hasPrefix("ok") && $0.contains("good.svg") }, "\(r.stdout)")
    #expect(r.stderr.contains("2 of 3 plots failed") && r.stderr.contains("blank.svg") && r.stderr.contains("unlabelled.svg"), "\(r.stderr)")
  }
}

/// `Scripts/check-plots` and whether it finds a Chromium.
enum CheckPlots {
  static let script = TestSupport.root.appendingPathComponent("Scripts/check-plots").path
  static let browser: Bool = (try? TestSupport.run(script, ["--probe"]).status) == 0
}
