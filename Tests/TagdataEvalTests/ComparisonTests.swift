import Foundation
import TagdataEval
import TagdataIO
import TestSupport
import Testing

/// `EvalComparison` on hand-made reports: table cells, bars proportional to their values with
/// error bars ending at the interval ends, tasks missing from a variant shown as "–", and
/// reports without the optional fields.
@Suite struct ComparisonTests {
  /// A report as `tagdata eval` writes it, with the figures given.
  static func report(regression: [String], language: [String], level: Double = 0.95) -> String {
    """
    {"split": "test", "examples": 120, "trimmed": 0, "resamples": 1000, "level": \(level), "seed": 0,
     "bootstrap": "paired resampling", "regression": [\(regression.joined(separator: ","))],
     "language": [\(language.joined(separator: ","))]}
    """
  }

  static func figure(_ v: Double, _ lo: Double? = nil, _ hi: Double? = nil) -> String {
    var s = "{\"value\": \(v)"
    if let lo { s += ", \"lower\": \(lo)" }
    if let hi { s += ", \"upper\": \(hi)" }
    return s + "}"
  }

  static func regression(_ task: String, pearson: String, rmse: String, mean: String = "{}", count: Int = 40) -> String {
    """
    {"task": "\(task)", "head": "\(task)", "count": \(count), "trainMean": 0.5,
     "metrics": {"pearson": \(pearson), "rmse": \(rmse), "mae": \(figure(0.5, 0.4, 0.6))},
     "meanBaseline": \(mean)}
    """
  }

  static func language(_ task: String, _ perplexity: Double) -> String {
    """
    {"task": "\(task)", "examples": 10, "tokens": 300, "perplexity": \(perplexity), "bitsPerToken": \(log2(perplexity)),
     "perplexityWithoutTags": \(perplexity * 1.5)}
    """
  }

  static let meanBaseline = "{\"pearson\": {}, \"rmse\": \(figure(2.0, 1.8, 2.2))}"

  /// both: QED and Desc; no-tags: QED only (and a negative correlation); function: QED without intervals.
  static func fixture() throws -> EvalComparison.Comparison {
    let dir = TestSupport.tempDirectory()
    let reports = [
      ("both", report(regression: [regression("QED", pearson: figure(0.8, 0.7, 0.9), rmse: figure(1.0, 0.9, 1.2), mean: meanBaseline)],
                      language: [language("Desc", 4.0)])),
      ("no-tags", report(regression: [regression("QED", pearson: figure(-0.4, -0.5, -0.2), rmse: figure(1.5, 1.3, 1.7), mean: meanBaseline)],
                         language: [])),
      ("function", report(regression: [regression("QED", pearson: figure(0.6), rmse: figure(1.25), mean: meanBaseline)],
                          language: [language("Desc", 8.0)])),
    ]
    var variants: [EvalComparison.Variant] = []
    for (label, json) in reports {
      let d = dir.appendingPathComponent(label)
      try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
      try Data(json.utf8).write(to: d.appendingPathComponent("report.json"))
      variants.append(try EvalComparison.load(label: label, path: d.path))
    }
    return EvalComparison.compare(variants)
  }

  @Test func tablesHoldEveryVariantAndTheSharedBaseline() throws {
    let c = try Self.fixture()
    #expect(c.tasks == ["QED", "Desc"])
    let qed = try #require(c.tables.first { $0.task == "QED" })
    #expect(qed.section == "regression")
    #expect(qed.rows.map(\.label) == ["both", "no-tags", "function", "mean of train"])
    #expect(qed.rows[3].variant == nil, "one baseline row: every variant reports the same mean predictor")
    #expect(qed.rows[0].metrics["pearson"]?.lower == 0.7 && qed.rows[0].metrics["pearson"]?.upper == 0.9)
    let desc = try #require(c.tables.first { $0.task == "Desc" })
    #expect(desc.section == "language")
    #expect(desc.rows.map(\.missing) == [false, true, false])
    #expect(desc.rows[2].metrics["perplexity"]?.value == 8.0)

    let md = EvalComparison.markdown(c)
    #expect(md.contains("| QED | Pearson r ↑ | 0.8000 [0.7000, 0.9000] | -0.4000 [-0.5000, -0.2000] | 0.6000 | undefined |"), "\(md)")
    #expect(md.contains("| QED | RMSE ↓ | 1.0000 [0.9000, 1.2000] | 1.5000 [1.3000, 1.7000] | 1.2500 | 2.0000 [1.8000, 2.2000] |"), "\(md)")
    #expect(md.contains("| Desc | perplexity ↓ | 4.0000 | – | 8.0000 | – |"), "\(md)")
    #expect(md.contains("| no-tags | model | – | – | – | – | – | – |"), "the missing language task's row: \(md)")
    #expect(md.contains("| all | mean of train | QED | 40 | undefined | – | – | – | 2.0000 [1.8000, 2.2000] | – | – |"), "\(md)")

    // The JSON carries the same figures and decodes back.
    let data = try EvalComparison.json(c)
    let back = try JSONDecoder().decode(EvalComparison.Comparison.self, from: data)
    #expect(back == c)
    let text = String(decoding: data, as: UTF8.self)
    #expect(text.contains("\"missing\" : true"))
  }

  @Test func baselinesThatDifferAreOneRowPerVariant() throws {
    let a = Self.report(regression: [Self.regression("LogP", pearson: Self.figure(0.5), rmse: Self.figure(1), mean: Self.meanBaseline)], language: [])
    let b = Self.report(regression: [Self.regression("LogP", pearson: Self.figure(0.5), rmse: Self.figure(1),
                                                     mean: "{\"rmse\": \(Self.figure(3.0))}", count: 39)], language: [])
    let dir = TestSupport.tempDirectory()
    try Data(a.utf8).write(to: dir.appendingPathComponent("a.json"))
    try Data(b.utf8).write(to: dir.appendingPathComponent("b.json"))
    let c = EvalComparison.compare([try EvalComparison.load(label: "a", path: dir.appendingPathComponent("a.json").path),
                                    try EvalComparison.load(label: "b", path: dir.appendingPathComponent("b.json").path)])
    #expect(c.tables[0].rows.map(\.label) == ["a", "b", "mean of train (a)", "mean of train (b)"])
    #expect(EvalComparison.markdown(c).contains("| LogP | RMSE ↓ | 1.0000 | 1.0000 | per variant, below |"))
  }

  // MARK: charts

  struct Bar {
    var y: Double, height: Double, label: String
  }

  struct ErrorBar {
    var top: Double, bottom: Double
  }

  static func attribute(_ name: String, _ element: Substring) -> Double? {
    guard let r = element.range(of: " \(name)=\"") else { return nil }
    return Double(element[r.upperBound...].prefix { $0 != "\"" })
  }

  /// The panels of a chart: their bars (in order) and error bars.
  static func panels(_ svg: String) -> [(bars: [Bar], errors: [ErrorBar], missing: Int, undefined: Int)] {
    svg.components(separatedBy: "<g class=\"panel\">").dropFirst().map { panel in
      let bars = panel.components(separatedBy: "<rect class=\"bar\"").dropFirst().map { s -> Bar in
        let e = Substring(s)
        let label = s.components(separatedBy: "<title>")[1].components(separatedBy: ":")[0]
        return Bar(y: attribute("y", e)!, height: attribute("height", e)!, label: label)
      }
      let errors = panel.components(separatedBy: "<g class=\"error\"").dropFirst().map { s -> ErrorBar in
        let e = Substring(s)
        return ErrorBar(top: attribute("y1", e)!, bottom: attribute("y2", e)!)
      }
      return (bars, errors, panel.components(separatedBy: "class=\"missing\"").count - 1,
              panel.components(separatedBy: "class=\"undefined\"").count - 1)
    }
  }

  @Test func barsAreProportionalAndErrorBarsEndAtTheInterval() throws {
    let c = try Self.fixture()
    let svg = EvalComparison.chart(c, task: "QED")
    #expect(svg.contains("<title>QED: Pearson r and RMSE per variant, 95% bootstrap intervals as error bars</title>"))
    #expect(!svg.contains("<script") && !svg.contains("@import") && !svg.contains("href"))
    let p = Self.panels(svg)
    try #require(p.count == 2)

    // Pearson r: 0.8, -0.4, 0.6 and the mean predictor undefined.
    let pearson = p[0]
    #expect(pearson.bars.map(\.label) == ["both", "no-tags", "function"])
    #expect(pearson.undefined == 1 && pearson.missing == 0)
    let scale = pearson.bars[0].height / 0.8
    #expect(abs(pearson.bars[1].height / scale - 0.4) < 0.01)
    #expect(abs(pearson.bars[2].height / scale - 0.6) < 0.01)
    // The zero line: the bottom of a positive bar, the top of a negative one.
    let zero = pearson.bars[0].y + pearson.bars[0].height
    #expect(abs(pearson.bars[1].y - zero) < 0.02, "a negative bar hangs from zero")
    #expect(abs(pearson.bars[2].y + pearson.bars[2].height - zero) < 0.02)
    // Error bars at the interval ends: only the two variants with intervals.
    try #require(pearson.errors.count == 2)
    #expect(abs(pearson.errors[0].top - (zero - 0.9 * scale)) < 0.02 && abs(pearson.errors[0].bottom - (zero - 0.7 * scale)) < 0.02)
    #expect(abs(pearson.errors[1].top - (zero + 0.2 * scale)) < 0.02 && abs(pearson.errors[1].bottom - (zero + 0.5 * scale)) < 0.02)

    // RMSE: 1.0, 1.5, 1.25 and the mean predictor 2.0 as a bar of its own.
    let rmse = p[1]
    #expect(rmse.bars.map(\.label) == ["both", "no-tags", "function", "mean of train"])
    let k = rmse.bars[0].height / 1.0
    for (bar, v) in zip(rmse.bars, [1.0, 1.5, 1.25, 2.0]) { #expect(abs(bar.height - v * k) < 0.02, "\(bar.label)") }
    let base = rmse.bars[0].y + rmse.bars[0].height
    try #require(rmse.errors.count == 3)
    for (e, (lo, hi)) in zip(rmse.errors, [(0.9, 1.2), (1.3, 1.7), (1.8, 2.2)]) {
      #expect(abs(e.top - (base - hi * k)) < 0.02 && abs(e.bottom - (base - lo * k)) < 0.02)
    }
    // The axis has tick labels covering the highest interval end, and a label.
    #expect(svg.contains(">2.5</text>") && svg.contains(">0</text>"))
    #expect(svg.contains("rotate(-90") && svg.contains(">RMSE</text>"))
  }

  @Test func missingTasksAreDashesNotErrors() throws {
    let c = try Self.fixture()
    let svg = EvalComparison.chart(c, task: "Desc")
    let p = Self.panels(svg)
    try #require(p.count == 1)
    #expect(p[0].missing == 1)
    #expect(p[0].bars.map(\.label) == ["both", "function"])
    #expect(abs(p[0].bars[1].height / p[0].bars[0].height - 2) < 0.01)
    #expect(p[0].errors.isEmpty, "language figures have no intervals")
    #expect(svg.contains("no-tags: not in the report"))
    #expect(svg.contains("<title>Desc: perplexity per variant</title>"))
    #expect(EvalComparison.chartName("BA/Kd") == "ablation-BA_Kd.svg")
  }

  @Test func errorsNameTheFile() throws {
    let dir = TestSupport.tempDirectory()
    let bad = dir.appendingPathComponent("report.json")
    try Data("{\"split\": \"test\", \"examples\": \"many\"}".utf8).write(to: bad)
    #expect {
      _ = try EvalComparison.load(label: "x", path: dir.path)
    } throws: { error in
      "\(error)".contains(bad.path) && "\(error)".contains("examples")
    }
    #expect {
      _ = try EvalComparison.load(label: "x", path: dir.appendingPathComponent("absent").path)
    } throws: { error in
      "\(error)".contains("absent")
    }
    #expect(throws: InputError.self) { _ = try EvalComparison.parseArguments(["a=x", "a=y"]) }
    #expect(throws: InputError.self) { _ = try EvalComparison.parseArguments(["=x"]) }
    #expect(try EvalComparison.parseArguments(["no-tags=eval/a=b"]).map(\.path) == ["eval/a=b"])
  }

  @Test func ticksAreRoundAndCoverTheRange() {
    #expect(EvalComparison.ticks(0, 2.2) == [0, 0.5, 1, 1.5, 2, 2.5])
    #expect(EvalComparison.ticks(-0.5, 0.9) == [-0.5, 0, 0.5, 1])
    #expect(EvalComparison.ticks(0, 0) == [-1, -0.5, 0, 0.5, 1])
    let t = EvalComparison.ticks(0, 1234)
    #expect(t.first == 0 && t.last! >= 1234 && t.count <= 7)
  }
}

/// Generation metrics (`generation` in report.json: exact match, BLEU, chrF per task) and notes,
/// as the number-as-text variant reports them, beside a head variant whose report has none.
@Suite struct GenerationComparisonTests {
  @Test func numberAsTextBesideTheHead() throws {
    let head = ComparisonTests.report(regression: [ComparisonTests.regression("QED", pearson: ComparisonTests.figure(0.8, 0.7, 0.9),
                                                                              rmse: ComparisonTests.figure(0.1, 0.08, 0.12))], language: [])
    let asText = """
      {"split": "test", "examples": 40, "trimmed": 0, "resamples": 1000, "level": 0.95, "seed": 0, "bootstrap": "paired",
       "regression": [], "language": [], "notes": ["generation of 2 examples stopped at the length limit"],
       "generation": [{"task": "QED", "count": 40, "stoppedAtEOS": 38,
                       "metrics": {"exact_match": \(ComparisonTests.figure(0.05, 0.0, 0.1)), "bleu": \(ComparisonTests.figure(31.5, 28.25, 34.75)),
                                   "chrf": \(ComparisonTests.figure(60, 55, 65))}}]}
      """
    let dir = TestSupport.tempDirectory()
    var variants: [EvalComparison.Variant] = []
    for (label, json) in [("head", head), ("as-text", asText)] {
      let file = dir.appendingPathComponent("\(label).json")
      try Data(json.utf8).write(to: file)
      variants.append(try EvalComparison.load(label: label, path: file.path))
    }
    let c = EvalComparison.compare(variants)
    #expect(c.tables.map(\.section) == ["regression", "generation"])
    #expect(c.tables[0].rows.map(\.missing) == [false, true])
    #expect(c.tables[1].rows.map(\.missing) == [true, false])
    let md = EvalComparison.markdown(c)
    #expect(md.contains("- as-text: generation of 2 examples stopped at the length limit"), "\(md)")
    #expect(md.contains("## Generation: QED"), "\(md)")
    #expect(md.contains("| as-text | model | – | 40 | 0.0500 [0.0000, 0.1000] | 31.5000 [28.2500, 34.7500] | 60.0000 [55.0000, 65.0000] |"), "\(md)")
    #expect(md.contains("| QED | BLEU ↑ | – | 31.5000 [28.2500, 34.7500] |"), "\(md)")
    let svg = EvalComparison.chart(c, task: "QED")
    #expect(svg.contains("<title>QED: Pearson r, RMSE, exact match, BLEU and chrF per variant, 95% bootstrap intervals as error bars</title>"))
    let panels = ComparisonTests.panels(svg)
    try #require(panels.count == 5)
    #expect(panels[0].missing == 1 && panels[2].missing == 1)
    #expect(panels[3].bars.map(\.label) == ["as-text"] && panels[3].errors.count == 1)
  }
}
