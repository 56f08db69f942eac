import Foundation
import TagdataIO

/// Tag-LLM's ablations side by side (`tagdata eval compare`): several evaluation reports
/// (`report.json` of `tagdata eval`, one per separately trained variant: no tags, domain tags only,
/// function tag only, both, head against number as text) become one comparison:
///
/// - `Comparison`, as JSON: per task, one row per variant with the metrics and their intervals as
///   the reports give them (regression: `metrics`; language: perplexity and bits per token), and
///   each baseline (mean of train, nearest neighbours) as its own row;
/// - `markdown`: a summary of the main metrics with the variants side by side, then one table
///   per task;
/// - `chart`: per task an SVG bar chart of the main metrics (regression: Pearson r and RMSE;
///   language: perplexity) per variant, bootstrap intervals as error bars.
///
/// A task a variant's report does not have is a row marked `missing` ("–"), never an error.
/// Reports are decoded with `Evaluator.Report`'s `Codable`: fields added to it later are optional,
/// so older and newer reports both read. A new kind of result is one function in `sections`.
public enum EvalComparison {
  /// A labelled report: the label names the variant in every table and chart.
  public struct Variant: Sendable {
    public var label: String
    public var path: String
    public var report: Evaluator.Report
    public init(label: String, path: String, report: Evaluator.Report) {
      self.label = label
      self.path = path
      self.report = report
    }
  }

  /// One column of a task's table: a metric's key in the report, its title, and which direction
  /// is better (nil: neither).
  public struct Column: Codable, Sendable, Equatable {
    public var key: String
    public var title: String
    public var higherIsBetter: Bool?
  }

  /// One row of a task's table: a variant's model, or a baseline.
  public struct Row: Codable, Sendable, Equatable {
    /// The variant; nil for a baseline that every variant with the task reports identically.
    public var variant: String?
    /// `model`, or the baseline: `mean of train`, `Tanimoto kNN`, `k-mer kNN`.
    public var predictor: String
    /// The name shown in tables and charts.
    public var label: String
    public var head: String?
    public var count: Int?
    /// The variant's report has no such task: every cell is "–".
    public var missing: Bool
    /// By column key; a figure without value is undefined in the report.
    public var metrics: [String: Evaluator.Figure]
  }

  /// One task of one section (`regression`, `language`).
  public struct Table: Codable, Sendable, Equatable {
    public var section: String
    public var task: String
    public var columns: [Column]
    /// The keys of the columns drawn as bars.
    public var charted: [String]
    public var rows: [Row]
  }

  /// Where a variant's figures come from.
  public struct Source: Codable, Sendable, Equatable {
    public var label: String
    public var path: String
    public var split: String
    public var examples: Int
    public var resamples: Int
    public var level: Double
    public var seed: UInt64
    /// The evaluator's notes (e.g. why generation was not evaluated).
    public var notes: [String]? = nil
  }

  public struct Comparison: Codable, Sendable, Equatable {
    public var variants: [Source]
    public var tables: [Table]
    /// The tasks in the order of their first table.
    public var tasks: [String] {
      var seen: [String] = []
      for t in tables where !seen.contains(t.task) { seen.append(t.task) }
      return seen
    }
  }

  // MARK: loading

  /// Reads `LABEL=DIR` arguments (DIR holding `report.json`, or the file itself). Labels must be
  /// non-empty and distinct.
  public static func parseArguments(_ arguments: [String]) throws -> [(label: String, path: String)] {
    var out: [(label: String, path: String)] = []
    for a in arguments {
      guard let eq = a.firstIndex(of: "="), eq != a.startIndex, a.index(after: eq) != a.endIndex else {
        throw InputError.unsupported(file: a, message: "expected LABEL=DIR (a label, =, a folder with report.json)")
      }
      let label = String(a[..<eq]), path = String(a[a.index(after: eq)...])
      if out.contains(where: { $0.label == label }) {
        throw InputError.unsupported(file: path, message: "the label \(label) is given twice")
      }
      out.append((label, path))
    }
    return out
  }

  /// Decodes the report of one variant; errors name the file (and the key path of a bad value).
  public static func load(label: String, path: String) throws -> Variant {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw InputError.io(file: path, message: "does not exist (expected the output folder of tagdata eval, holding report.json)")
    }
    let file = isDirectory.boolValue ? path + "/report.json" : path
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: file))
    } catch {
      throw InputError.io(file: file, message: "cannot be read (\((error as NSError).localizedDescription))")
    }
    do {
      return Variant(label: label, path: path, report: try JSONDecoder().decode(Evaluator.Report.self, from: data))
    } catch let e as DecodingError {
      throw InputError.unsupported(file: file, message: "is not an evaluation report: " + describe(e))
    }
  }

  static func describe(_ e: DecodingError) -> String {
    func path(_ c: [CodingKey]) -> String {
      c.isEmpty ? "the top level" : c.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
    }
    switch e {
    case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])) is missing"
    case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(path(c.codingPath)): \(c.debugDescription)"
    case .dataCorrupted(let c):
      let underlying = c.underlyingError.map { " (\($0))" } ?? ""
      return "\(path(c.codingPath)): \(c.debugDescription)\(underlying)"
    @unknown default: return "\(e)"
    }
  }

  // MARK: comparing

  /// The comparison of the variants, in their order.
  public static func compare(_ variants: [Variant]) -> Comparison {
    let sources = variants.map {
      Source(label: $0.label, path: $0.path, split: $0.report.split, examples: $0.report.examples, resamples: $0.report.resamples,
             level: $0.report.level, seed: $0.report.seed, notes: $0.report.notes)
    }
    return Comparison(variants: sources, tables: sections.flatMap { $0(variants) })
  }

  /// The sections, each a function from the variants to its tables. A new kind of result in
  /// `Evaluator.Report` (generation metrics, tag-combination groups) is one more function here.
  static let sections: [@Sendable ([Variant]) -> [Table]] = [regressionTables, generationTables, languageTables]

  static let regressionColumns = [
    Column(key: "pearson", title: "Pearson r", higherIsBetter: true),
    Column(key: "spearman", title: "Spearman ρ", higherIsBetter: true),
    Column(key: "kendall_tau_b", title: "Kendall τ-b", higherIsBetter: true),
    Column(key: "r2", title: "R²", higherIsBetter: true),
    Column(key: "rmse", title: "RMSE", higherIsBetter: false),
    Column(key: "mae", title: "MAE", higherIsBetter: false),
    Column(key: "mse", title: "MSE", higherIsBetter: false),
  ]

  static let languageColumns = [
    Column(key: "perplexity", title: "perplexity", higherIsBetter: false),
    Column(key: "bits_per_token", title: "bits/token", higherIsBetter: false),
    Column(key: "perplexity_without_tags", title: "perplexity without tags", higherIsBetter: false),
    Column(key: "bits_per_token_without_tags", title: "bits/token without tags", higherIsBetter: false),
  ]

  static let generationColumns = [
    Column(key: "exact_match", title: "exact match", higherIsBetter: true),
    Column(key: "bleu", title: "BLEU", higherIsBetter: true),
    Column(key: "chrf", title: "chrF", higherIsBetter: true),
  ]

  /// Tasks in the order they first appear over the variants (each report's own order).
  static func orderedTasks(_ lists: [[String]]) -> [String] {
    var seen = Set<String>(), out: [String] = []
    for l in lists { for t in l where seen.insert(t).inserted { out.append(t) } }
    return out
  }

  /// A report's regression entries by task; a task with several heads is one entry per head,
  /// named task/head.
  static func regressionEntries(_ r: Evaluator.Report) -> [(String, Evaluator.RegressionTask)] {
    let counts = Dictionary(grouping: r.regression, by: \.task).mapValues(\.count)
    return r.regression.map { (counts[$0.task]! > 1 ? "\($0.task)/\($0.head)" : $0.task, $0) }
  }

  static func regressionTables(_ variants: [Variant]) -> [Table] {
    let entries = variants.map { Dictionary(regressionEntries($0.report), uniquingKeysWith: { a, _ in a }) }
    let asText = variants.map { v in Dictionary((v.report.numberAsText ?? []).map { ($0.task, $0) }, uniquingKeysWith: { a, _ in a }) }
    let tasks = orderedTasks(variants.map { regressionEntries($0.report).map(\.0) } + asText.map { Array($0.keys).sorted() })
    return tasks.map { task in
      var rows: [Row] = []
      for (k, (v, e)) in zip(variants, entries).enumerated() {
        if let t = e[task] {
          rows.append(Row(variant: v.label, predictor: "model", label: v.label, head: t.head, count: t.count, missing: false,
                          metrics: t.metrics))
        } else if let t = asText[k][task] {
          // The number decoded as text (Tag-LLM's alternative to the head): metrics on the parsed outputs.
          rows.append(Row(variant: v.label, predictor: "model", label: "\(v.label) (\(t.parsed)/\(t.count) parsed as text)",
                          head: nil, count: t.parsed, missing: false, metrics: t.metrics))
        } else {
          rows.append(Row(variant: v.label, predictor: "model", label: v.label, head: nil, count: nil, missing: true, metrics: [:]))
        }
      }
      // Baselines: one row when every variant with the task reports the same, else one per variant.
      let present = zip(variants, entries).compactMap { v, e in e[task].map { (v.label, $0) } }
      let baselines: [(String, (Evaluator.RegressionTask) -> [String: Evaluator.Figure]?)] = [
        ("mean of train", { $0.meanBaseline.isEmpty ? nil : $0.meanBaseline }),
        ("Tanimoto kNN", { $0.neighbourKind == "tanimoto" ? $0.neighbourBaseline : nil }),
        ("k-mer kNN", { $0.neighbourKind == "kmer" ? $0.neighbourBaseline : nil }),
      ]
      for (name, figures) in baselines {
        let found = present.compactMap { label, t in figures(t).map { (label, t, $0) } }
        guard let first = found.first else { continue }
        if found.allSatisfy({ $0.1.count == first.1.count && $0.2 == first.2 }) {
          rows.append(Row(variant: nil, predictor: name, label: name, head: first.1.head, count: first.1.count, missing: false,
                          metrics: first.2))
        } else {
          for (label, t, f) in found {
            rows.append(Row(variant: label, predictor: name, label: "\(name) (\(label))", head: t.head, count: t.count, missing: false,
                            metrics: f))
          }
        }
      }
      return Table(section: "regression", task: task, columns: regressionColumns, charted: ["pearson", "rmse"], rows: rows)
    }
  }

  /// Generated outputs scored against the references: exact match, BLEU, chrF (and any other
  /// metric a report gives, as further columns), each charted.
  static func generationTables(_ variants: [Variant]) -> [Table] {
    let tasks = orderedTasks(variants.map { ($0.report.generation ?? []).map(\.task) })
    return tasks.map { task in
      let rows = variants.map { v -> Row in
        guard let t = v.report.generation?.first(where: { $0.task == task }) else {
          return Row(variant: v.label, predictor: "model", label: v.label, head: nil, count: nil, missing: true, metrics: [:])
        }
        return Row(variant: v.label, predictor: "model", label: v.label, head: nil, count: t.count, missing: false, metrics: t.metrics)
      }
      let known = Set(generationColumns.map(\.key))
      let others = Set(rows.flatMap(\.metrics.keys)).subtracting(known).sorted().map { Column(key: $0, title: $0, higherIsBetter: nil) }
      return Table(section: "generation", task: task, columns: generationColumns + others, charted: generationColumns.map(\.key), rows: rows)
    }
  }

  static func languageTables(_ variants: [Variant]) -> [Table] {
    let tasks = orderedTasks(variants.map { $0.report.language.map(\.task) })
    return tasks.map { task in
      let rows = variants.map { v -> Row in
        guard let t = v.report.language.first(where: { $0.task == task }) else {
          return Row(variant: v.label, predictor: "model", label: v.label, head: nil, count: nil, missing: true, metrics: [:])
        }
        let values: [String: Double?] = ["perplexity": t.perplexity, "bits_per_token": t.bitsPerToken,
                                         "perplexity_without_tags": t.perplexityWithoutTags,
                                         "bits_per_token_without_tags": t.bitsPerTokenWithoutTags]
        return Row(variant: v.label, predictor: "model", label: v.label, head: nil, count: t.tokens, missing: false,
                   metrics: values.mapValues { Evaluator.Figure(value: $0) })
      }
      return Table(section: "language", task: task, columns: languageColumns, charted: ["perplexity"], rows: rows)
    }
  }

  // MARK: JSON

  public static func json(_ c: Comparison) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return try encoder.encode(c) + Data([0x0A])
  }

  // MARK: Markdown

  static func number(_ x: Double?) -> String {
    guard let x else { return "–" }
    if x != 0 && (abs(x) >= 1e5 || abs(x) < 1e-3) { return String(format: "%.3e", x) }
    return String(format: "%.4f", x)
  }

  /// A table cell: "–" for a missing task, "undefined" for a figure the report leaves out,
  /// else the value with its interval.
  public static func cell(_ row: Row, _ key: String) -> String {
    if row.missing { return "–" }
    guard let f = row.metrics[key], let v = f.value else { return row.metrics[key] == nil ? "–" : "undefined" }
    let interval = f.lower != nil || f.upper != nil ? " [\(number(f.lower)), \(number(f.upper))]" : ""
    return number(v) + interval
  }

  static func markdownEscape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }

  public static func markdown(_ c: Comparison) -> String {
    var out = "# Ablation comparison\n\n| variant | report | split | examples | intervals |\n|---|---|---|---:|---|\n"
    for v in c.variants {
      out += "| \(markdownEscape(v.label)) | `\(markdownEscape(v.path))` | \(v.split) | \(v.examples) | "
        + "\(String(format: "%g", v.level * 100))% bootstrap, \(v.resamples) resamples, seed \(v.seed) |\n"
    }
    let notes = c.variants.flatMap { v in (v.notes ?? []).map { "- \(markdownEscape(v.label)): \($0)\n" } }
    if !notes.isEmpty { out += "\nNotes of the reports:\n\n" + notes.joined() }
    if c.tables.isEmpty { return out + "\nNo task in any report.\n" }
    let labels = c.variants.map(\.label)
    let baselineNames = orderedTasks(c.tables.map { $0.rows.filter { $0.predictor != "model" }.map(\.predictor) })
    out += "\n## Summary\n\nThe main metric of each task per variant (value [interval]); – : the variant's report has no such task.\n\n"
    out += "| task | metric | " + (labels + baselineNames).map(markdownEscape).joined(separator: " | ") + " |\n"
    out += "|---|---|" + String(repeating: "---|", count: labels.count + baselineNames.count) + "\n"
    for t in c.tables {
      for key in t.charted {
        guard let column = t.columns.first(where: { $0.key == key }) else { continue }
        var cells = labels.map { label in t.rows.first { $0.predictor == "model" && $0.variant == label }.map { cell($0, key) } ?? "–" }
        for name in baselineNames {
          let rows = t.rows.filter { $0.predictor == name }
          cells.append(rows.isEmpty ? "–" : rows.count == 1 && rows[0].variant == nil ? cell(rows[0], key) : "per variant, below")
        }
        out += "| \(markdownEscape(t.task)) | \(column.title)\(arrow(column)) | " + cells.joined(separator: " | ") + " |\n"
      }
    }
    for t in c.tables {
      let heading = ["regression": "Regression", "generation": "Generation", "language": "Language modelling"][t.section] ?? t.section
      out += "\n## \(heading): "
        + "\(markdownEscape(t.task))\n\n"
      let countTitle = t.section == "language" ? "target tokens" : "n"
      out += "| variant | predictor | head | \(countTitle) | " + t.columns.map { $0.title + arrow($0) }.joined(separator: " | ") + " |\n"
      out += "|---|---|---|---:|" + String(repeating: "---|", count: t.columns.count) + "\n"
      for r in t.rows {
        out += "| \(markdownEscape(r.variant ?? "all")) | \(r.predictor) | \(markdownEscape(r.head ?? "–")) | "
          + "\(r.count.map(String.init) ?? "–") | " + t.columns.map { cell(r, $0.key) }.joined(separator: " | ") + " |\n"
      }
    }
    out += "\nPlots: " + c.tasks.map { "`\(chartName($0))`" }.joined(separator: ", ") + ".\n"
    return out
  }

  static func arrow(_ c: Column) -> String { c.higherIsBetter.map { $0 ? " ↑" : " ↓" } ?? "" }

  // MARK: SVG

  /// The chart's file name of a task.
  public static func chartName(_ task: String) -> String {
    "ablation-" + String(task.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }) + ".svg"
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      .replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func f(_ v: Double) -> String { String(format: "%.2f", v) }

  /// Round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 × 10^k), about `count` of them.
  public static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
    var lo = lo, hi = hi
    if !(hi - lo > 1e-12 * max(abs(lo), abs(hi), 1e-300)) {
      let pad = lo == 0 ? 1 : abs(lo) * 0.5
      lo -= pad
      hi += pad
    }
    let raw = (hi - lo) / Double(max(count, 1))
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * magnitude
    let first = (lo / step + 1e-9).rounded(.down), last = (hi / step - 1e-9).rounded(.up)
    return stride(from: first, through: last, by: 1).map { k in abs(k) < 0.5 ? 0 : k * step }
  }

  static func tickLabel(_ v: Double, step: Double) -> String {
    if v == 0 { return "0" }
    if abs(v) >= 1e5 || abs(step) < 1e-4 { return String(format: "%.3g", v) }
    let decimals = max(0, Int((-log10(step)).rounded(.up)) + (abs((step / pow(10, log10(step).rounded(.down))) - 2.5) < 1e-9 ? 1 : 0))
    return String(format: "%.\(decimals)f", v)
  }

  static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

  /// The bar chart of a task: one panel per charted metric of each of its tables (regression:
  /// Pearson r and RMSE; language: perplexity), one bar per row (variants in their colours,
  /// baselines grey), the interval as an error bar, "–" where a variant lacks the task and
  /// "undefined" where the report gives no value. Plain SVG 1.1.
  public static func chart(_ c: Comparison, task: String) -> String {
    let tables = c.tables.filter { $0.task == task }
    // One panel per charted metric that some row gives (a report may leave a metric out).
    let panels = tables.flatMap { t in
      t.charted.compactMap { key in t.columns.first { $0.key == key && t.rows.contains { $0.metrics[key] != nil } }.map { (t, $0) } }
    }
    let colours = Dictionary(uniqueKeysWithValues: c.variants.enumerated().map { ($1.label, palette[$0 % palette.count]) })
    let slot = 64.0, barWidth = 36.0, plotHeight = 220.0, top = 70.0, left = 70.0, gap = 90.0
    let longest = tables.flatMap { $0.rows.map(\.label.count) }.max() ?? 1
    let rotate = Double(longest) * 6.2 > slot - 6
    let bottom = rotate ? min(50 + Double(longest) * 4.6, 170) : 56
    let widths = panels.map { max(Double($0.0.rows.count) * slot + 16, 160) }
    let width = max(left + widths.reduce(0, +) + gap * Double(max(panels.count - 1, 0)) + 30, 680)
    let legendTop = top + plotHeight + bottom
    let height = legendTop + 40
    let levels = Set(c.variants.map(\.level)).sorted().map { String(format: "%g", $0 * 100) + "%" }
    let intervalText = levels.isEmpty ? "" : ", \(levels.joined(separator: "/")) bootstrap intervals as error bars"
    let titles = panels.map(\.1.title)
    let what = titles.count > 1 ? titles.dropLast().joined(separator: ", ") + " and " + titles.last! : titles.first ?? "no metric"
    let title = "\(task): \(what) per variant\(tables.contains { $0.section != "language" } ? intervalText : "")"
    var out = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(Int(width.rounded(.up)))" height="\(Int(height.rounded(.up)))" \
      font-family="sans-serif" font-size="11">
      <title>\(escape(title))</title>
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(f(left))" y="24" font-size="13" font-weight="bold">\(escape(title))</text>

      """
    var x0 = left
    for (k, (table, column)) in panels.enumerated() {
      let panelWidth = widths[k]
      let rows = table.rows
      let figures = rows.map { $0.missing ? nil : $0.metrics[column.key] }
      let extent = [0.0] + figures.flatMap { f in [f?.value, f?.lower, f?.upper].compactMap { $0 }.filter(\.isFinite) }
      let tick = ticks(extent.min()!, extent.max()!)
      let lo = tick.first!, hi = tick.last!
      let step = tick.count > 1 ? tick[1] - tick[0] : 1
      func y(_ v: Double) -> Double { top + plotHeight - (v - lo) / (hi - lo) * plotHeight }
      let better = column.higherIsBetter.map { $0 ? " (higher is better)" : " (lower is better)" } ?? ""
      out += "<g class=\"panel\">\n"
      out += "<text x=\"\(f(x0))\" y=\"\(f(top - 16))\" font-size=\"12\" font-weight=\"bold\">\(escape(column.title))\(better)</text>\n"
      // Axes, ticks and grid lines.
      out += "<line x1=\"\(f(x0))\" y1=\"\(f(top))\" x2=\"\(f(x0))\" y2=\"\(f(top + plotHeight))\" stroke=\"#666\"/>\n"
      for v in tick {
        out += "<line x1=\"\(f(x0 - 4))\" y1=\"\(f(y(v)))\" x2=\"\(f(x0 + panelWidth))\" y2=\"\(f(y(v)))\" "
          + "stroke=\"\(v == 0 ? "#666" : "#e5e5e5")\"/>\n"
        out += "<text x=\"\(f(x0 - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(tickLabel(v, step: step))</text>\n"
      }
      let axisX = x0 - 48, axisY = top + plotHeight / 2
      out += "<text x=\"\(f(axisX))\" y=\"\(f(axisY))\" text-anchor=\"middle\" transform=\"rotate(-90 \(f(axisX)) \(f(axisY)))\">"
        + "\(escape(column.title))</text>\n"
      for (i, (row, figure)) in zip(rows, figures).enumerated() {
        let centre = x0 + 8 + (Double(i) + 0.5) * slot
        let colour = row.predictor == "model" ? colours[row.variant ?? ""] ?? "#1f77b4" : "#999999"
        let tip = "\(row.label): " + (row.missing ? "not in the report" : cell(row, column.key))
        if row.missing {
          out += "<text class=\"missing\" x=\"\(f(centre))\" y=\"\(f(y(0) - 6))\" text-anchor=\"middle\" font-size=\"14\">–"
            + "<title>\(escape(tip))</title></text>\n"
        } else if let v = figure?.value, v.isFinite {
          let y0 = y(0), yv = y(v)
          out += "<rect class=\"bar\" x=\"\(f(centre - barWidth / 2))\" y=\"\(f(min(y0, yv)))\" width=\"\(f(barWidth))\" "
            + "height=\"\(f(abs(y0 - yv)))\" fill=\"\(colour)\"><title>\(escape(tip))</title></rect>\n"
          var labelY = v >= 0 ? yv - 4 : yv + 12
          if let l = figure?.lower, let u = figure?.upper, l.isFinite, u.isFinite {
            out += "<g class=\"error\" stroke=\"#222\" stroke-width=\"1.2\">"
              + "<line x1=\"\(f(centre))\" y1=\"\(f(y(u)))\" x2=\"\(f(centre))\" y2=\"\(f(y(l)))\"/>"
              + "<line x1=\"\(f(centre - 6))\" y1=\"\(f(y(u)))\" x2=\"\(f(centre + 6))\" y2=\"\(f(y(u)))\"/>"
              + "<line x1=\"\(f(centre - 6))\" y1=\"\(f(y(l)))\" x2=\"\(f(centre + 6))\" y2=\"\(f(y(l)))\"/></g>\n"
            labelY = v >= 0 ? min(labelY, y(u) - 4) : max(labelY, y(l) + 12)
          }
          out += "<text x=\"\(f(centre))\" y=\"\(f(labelY))\" text-anchor=\"middle\" font-size=\"9\">\(number(v))</text>\n"
        } else {
          out += "<text class=\"undefined\" x=\"\(f(centre))\" y=\"\(f(y(0) - 6))\" text-anchor=\"middle\" font-size=\"9\">undefined"
            + "<title>\(escape(tip))</title></text>\n"
        }
        let labelY = top + plotHeight + 14
        if rotate {
          out += "<text x=\"\(f(centre))\" y=\"\(f(labelY))\" text-anchor=\"end\" transform=\"rotate(-35 \(f(centre)) \(f(labelY)))\">"
            + "\(escape(row.label))</text>\n"
        } else {
          out += "<text x=\"\(f(centre))\" y=\"\(f(labelY))\" text-anchor=\"middle\">\(escape(row.label))</text>\n"
        }
      }
      out += "<text x=\"\(f(x0 + panelWidth / 2))\" y=\"\(f(top + plotHeight + bottom - 8))\" text-anchor=\"middle\">"
        + (rows.contains { $0.predictor != "model" } ? "variant (bars) and baselines (grey)" : "variant") + "</text>\n"
      out += "</g>\n"
      x0 += panelWidth + gap
    }
    out += "<text x=\"\(f(left))\" y=\"\(f(legendTop + 22))\" fill=\"#444\">"
      + "– : the variant's report has no such task; undefined: the report gives no value (e.g. Pearson r of a constant predictor)"
      + "</text>\n</svg>\n"
    return out
  }
}
