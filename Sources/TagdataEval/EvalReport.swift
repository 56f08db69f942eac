import Foundation

/// The evaluation report as people read it: Markdown tables and SVG plots (predicted against
/// true per regression task, with the least-squares line and the diagonal; perplexity with and
/// without tags per language task).
public enum EvalReport {
  static func number(_ x: Double?) -> String {
    guard let x else { return "–" }
    if x != 0 && (abs(x) >= 1e5 || abs(x) < 1e-3) { return String(format: "%.3e", x) }
    return String(format: "%.4f", x)
  }

  public static func markdown(_ r: Evaluator.Report, model: String, dataset: String) -> String {
    var out = "# Evaluation\n\nModel `\(model)` on the `\(r.split)` split of `\(dataset)`: \(r.examples) examples"
    out += r.trimmed > 0 ? " (\(r.trimmed) examples of the dataset longer than the context were cut).\n" : ".\n"
    out += "Intervals: \(Int(r.level * 100))% bootstrap, \(r.resamples) resamples, seed \(r.seed) (\(r.bootstrap)).\n"
    if let b = r.bidirectional {
      out += "Domain inputs attend both ways (Tag-LLM's blocks, as trained) in " + (b.contains("*") ? "every task" : b.joined(separator: ", "))
        + "; generation's prefill is causal.\n"
    }
    if !r.regression.isEmpty {
      out += "\n## Regression\n\n| task | head | n | predictor | MSE | RMSE | MAE | R² | Pearson r | Spearman ρ |\n|---|---|---:|---|---|---|---|---|---|---|\n"
      for t in r.regression {
        let knn = t.neighbourBaseline.map { [("\(t.neighbourKind == "kmer" ? "k-mer" : "Tanimoto") kNN", $0)] } ?? []
        for (name, f) in [("model", t.metrics), ("mean of train", t.meanBaseline)] + knn where !f.isEmpty {
          let cells = ["mse", "rmse", "mae", "r2", "pearson", "spearman"].map { k -> String in
            guard let v = f[k] else { return "–" }
            let interval = v.lower != nil || v.upper != nil ? " [\(number(v.lower)), \(number(v.upper))]" : ""
            return number(v.value) + interval
          }
          out += "| \(t.task) | \(t.head) | \(t.count) | \(name) | " + cells.joined(separator: " | ") + " |\n"
        }
      }
      out += "\nPlots: " + r.regression.map { "`\(plotName($0))`" }.joined(separator: ", ") + ".\n"
    }
    if !r.language.isEmpty {
      out += "\n## Language modelling\n\n| task | examples | target tokens | perplexity | bits/token | perplexity without tags | bits/token without tags |\n|---|---:|---:|---|---|---|---|\n"
      for t in r.language {
        out += "| \(t.task) | \(t.examples) | \(t.tokens) | \(number(t.perplexity)) | \(number(t.bitsPerToken)) | "
          + "\(number(t.perplexityWithoutTags)) | \(number(t.bitsPerTokenWithoutTags)) |\n"
      }
      out += "\nPlot: `perplexity.svg`.\n"
    }
    out += generationSection(r)
    out += numberTextSection(r)
    out += combinationSection(r)
    out += trainingSection(r)
    if let notes = r.notes, !notes.isEmpty {
      out += "\n## Notes\n\n" + notes.map { "- \($0)\n" }.joined()
    }
    return out
  }

  /// A figure with its interval: `value [lower, upper]`.
  static func cell(_ f: Evaluator.Figure?, _ format: (Double?) -> String = number) -> String {
    guard let f else { return "–" }
    let interval = f.lower != nil || f.upper != nil ? " [\(format(f.lower)), \(format(f.upper))]" : ""
    return format(f.value) + interval
  }

  static func score(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "–" }

  /// The training run's losses per stage and its loss plot.
  static func trainingSection(_ r: Evaluator.Report) -> String {
    guard let stages = r.training else { return "" }
    var out = "\n## Training\n\n"
    if let plot = r.lossPlot { out += "![Training and validation loss per stage](\(plot))\n\n" }
    if stages.isEmpty { return out + "The training log has no record.\n" }
    out += "| stage | last step | training loss (last step) | mean training loss | validation loss | at step |\n|---|---:|---|---|---|---:|\n"
    for s in stages {
      out += "| \(s.stage) | \(s.step) | \(number(s.trainingLoss)) | \(number(s.meanTrainingLoss)) | \(number(s.validationLoss)) | "
        + "\(s.validationStep.map(String.init) ?? "–") |\n"
    }
    return out
  }

  /// Seen and unseen tag combinations per task: the figures of each group and the unseen combinations.
  static func combinationSection(_ r: Evaluator.Report) -> String {
    guard let tasks = r.combinations, !tasks.isEmpty else { return "" }
    var out = "\n## Tag combinations\n\nEach test example's tag combination is the set of tags in its formulation (function tag, "
      + "domain tags, Translate's source and target languages). A combination the task's training split never has is unseen "
      + "(Tag-LLM's zero-shot composition); the seen and unseen examples are scored apart.\n\n"
    out += "| task | figures | group | combinations | n | metrics |\n|---|---|---|---:|---:|---|\n"
    func metrics(_ kind: String, _ g: Evaluator.GroupFigures) -> String {
      let m = g.metrics
      switch kind {
      case "generation":
        return "BLEU \(cell(m["bleu"], score)), chrF \(cell(m["chrf"], score)), exact match \(cell(m["exact_match"]))"
      case "language":
        return "perplexity \(number(m["perplexity"]?.value)), bits/token \(number(m["bits_per_token"]?.value)) on \(g.tokens ?? 0) tokens"
      default:
        let parsed = m["parsed"].map { "parsed \(number($0.value)), " } ?? ""
        return parsed + "MAE \(cell(m["mae"])), RMSE \(cell(m["rmse"])), Pearson r \(cell(m["pearson"]))"
      }
    }
    for t in tasks {
      for (name, g, seen) in [("seen", t.seen, true), ("unseen", t.unseen, false)] {
        let n = t.combinations.filter { $0.seen == seen }.count
        // A task whose test combinations are all seen (or all unseen) has one row.
        guard let g else { continue }
        out += "| \(t.task) | \(t.kind) | \(name) | \(n) | \(g.count) | \(metrics(t.kind, g)) |\n"
      }
    }
    let unseen = tasks.flatMap { t in t.combinations.filter { !$0.seen }.map { (t, $0) } }
    var listed = Set<String>()
    var lines: [String] = []
    for (t, c) in unseen {
      let line = "- \(t.task): " + c.tags.map { "<\($0)>" }.joined(separator: " ") + " (\(c.count) test examples)"
      if listed.insert(line).inserted { lines.append(line) }
    }
    out += lines.isEmpty ? "\nEvery test combination occurs in its task's training split.\n" : "\nUnseen combinations:\n\n" + lines.joined(separator: "\n") + "\n"
    return out
  }

  /// Regression tasks exported as text: the decoded number against the exact target.
  static func numberTextSection(_ r: Evaluator.Report) -> String {
    guard let tasks = r.numberAsText else { return "" }
    var out = "\n## Regression: number as text\n\nThe label string decoded greedily after the prompt (Tag-LLM's text formulation, "
      + "instead of the regression head) and the first number of the output parsed (`1e-050` reads as 1e-50, as Python's "
      + "`float`). Metrics are on the parsed outputs only (n parsed); the mean of train is scored on the same examples.\n\n"
    if tasks.isEmpty { return out + "No output was generated.\n" }
    out += "| task | n | parsed | predictor | MSE | RMSE | MAE | R² | Pearson r | Spearman ρ |\n|---|---:|---|---|---|---|---|---|---|---|\n"
    for t in tasks {
      let parsed = "\(t.parsed) (\(String(format: "%.1f", 100 * t.parsedFraction))%)"
      for (name, f) in [("number as text", t.metrics), ("mean of train", t.meanBaseline)] where !f.isEmpty || name == "number as text" {
        let cells = ["mse", "rmse", "mae", "r2", "pearson", "spearman"].map { cell(f[$0]) }
        out += "| \(t.task) | \(t.count) | \(parsed) | \(name) | " + cells.joined(separator: " | ") + " |\n"
      }
    }
    let unparsed = tasks.filter { $0.parsed < $0.count }
    if !unparsed.isEmpty {
      out += "\nUnparsed outputs (no finite number): " + unparsed.map { "\($0.task) \($0.count - $0.parsed)" }.joined(separator: ", ")
        + "; they are left out of the metrics (`generations.jsonl` has them with `parsed` absent).\n"
    }
    return out
  }

  /// Generation tasks: corpus BLEU and chrF (0–100) and the exact-match rate.
  static func generationSection(_ r: Evaluator.Report) -> String {
    guard let tasks = r.generation else { return "" }
    var out = "\n## Generation\n\nGreedy decoding from the prompt (the tokens before the output) until the EOS or the reference's "
      + "length plus a margin; hypotheses and references decoded through the dataset's vocabulary and stripped "
      + "(`generations.jsonl`). BLEU and chrF are sacrebleu's corpus scores with its defaults (13a, chrF β 2); intervals "
      + "resample sentences.\n\n"
    if tasks.isEmpty { return out + "No output was generated.\n" }
    out += "| task | n | ended by EOS | BLEU | chrF | exact match |\n|---|---:|---:|---|---|---|\n"
    for t in tasks {
      out += "| \(t.task) | \(t.count) | \(t.stoppedAtEOS) | \(cell(t.metrics["bleu"], score)) | \(cell(t.metrics["chrf"], score)) | "
        + "\(cell(t.metrics["exact_match"])) |\n"
    }
    return out
  }

  public static func plotName(_ t: Evaluator.RegressionTask) -> String {
    "scatter-" + String(t.task.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }) + ".svg"
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
  }

  static func f(_ v: Double) -> String { String(format: "%.2f", v) }

  /// Predicted against true values of one task: points, the least-squares line, the diagonal.
  public static func scatter(_ t: Evaluator.RegressionTask, _ predictions: [Evaluator.Prediction]) -> String {
    let p = predictions.filter { $0.task == t.task && $0.head == t.head }
    let w = 420.0, h = 420.0, left = 64.0, top = 44.0, size = 320.0
    let xs = p.map(\.target), ys = p.map(\.prediction)
    let all = xs + ys
    var lo = all.min() ?? 0, hi = all.max() ?? 1
    if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
    let pad = (hi - lo) * 0.05
    lo -= pad
    hi += pad
    func sx(_ v: Double) -> Double { left + (v - lo) / (hi - lo) * size }
    func sy(_ v: Double) -> Double { top + size - (v - lo) / (hi - lo) * size }
    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" font-size="11">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(left)" y="24" font-size="13" font-weight="bold">\(escape(t.task)): predicted against true (n = \(p.count))</text>
      <rect x="\(left)" y="\(top)" width="\(size)" height="\(size)" fill="none" stroke="#999"/>
      <line x1="\(f(sx(lo)))" y1="\(f(sy(lo)))" x2="\(f(sx(hi)))" y2="\(f(sy(hi)))" stroke="#bbb" stroke-dasharray="4 3"/>

      """
    for (x, y) in zip(xs, ys) {
      out += "<circle cx=\"\(f(sx(x)))\" cy=\"\(f(sy(y)))\" r=\"3\" fill=\"#1f77b4\" fill-opacity=\"0.6\"/>\n"
    }
    // Least-squares line of predicted on true.
    if xs.count >= 2 {
      let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
      let sxx = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +), sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
      if sxx > 0 {
        let slope = sxy / sxx, intercept = my - slope * mx
        let a = max(lo, xs.min()!), b = min(hi, xs.max()!)
        out += "<line x1=\"\(f(sx(a)))\" y1=\"\(f(sy(slope * a + intercept)))\" x2=\"\(f(sx(b)))\" y2=\"\(f(sy(slope * b + intercept)))\" "
          + "stroke=\"#d62728\" stroke-width=\"1.5\"/>\n"
        out += "<text x=\"\(left + 6)\" y=\"\(top + 14)\" fill=\"#d62728\">fit: predicted = \(number(slope)) × true + \(number(intercept))</text>\n"
      }
    }
    let r = t.metrics["pearson"]?.value, rmse = t.metrics["rmse"]?.value
    out += "<text x=\"\(left + 6)\" y=\"\(top + 28)\">Pearson r \(number(r)), RMSE \(number(rmse))</text>\n"
    for (k, v) in [lo, (lo + hi) / 2, hi].enumerated() {
      out += "<text x=\"\(f(sx(v)))\" y=\"\(top + size + 16)\" text-anchor=\"\(k == 0 ? "start" : k == 1 ? "middle" : "end")\">\(number(v))</text>\n"
      out += "<text x=\"\(left - 4)\" y=\"\(f(sy(v) + 4))\" text-anchor=\"end\">\(number(v))</text>\n"
    }
    out += "<text x=\"\(left + size / 2)\" y=\"\(top + size + 34)\" text-anchor=\"middle\">true value (target)</text>\n"
    out += "<text x=\"16\" y=\"\(top + size / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + size / 2))\">predicted value</text>\n"
    out += "</svg>\n"
    return out
  }

  /// Perplexity per language task, with the tags and without them, as bars.
  public static func perplexityBars(_ tasks: [Evaluator.LanguageTask]) -> String {
    let barWidth = 26.0, gap = 24.0, left = 64.0, top = 44.0, height = 240.0
    let w = left + Double(tasks.count) * (2 * barWidth + gap) + 40, h = top + height + 70
    let hi = max(tasks.flatMap { [$0.perplexity ?? 0, $0.perplexityWithoutTags ?? 0] }.max() ?? 1, 1e-9) * 1.1
    func y(_ v: Double) -> Double { top + height - v / hi * height }
    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(max(w, 360)))" height="\(Int(h))" font-family="sans-serif" font-size="11">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(left)" y="24" font-size="13" font-weight="bold">Perplexity of the target tokens, with and without tags</text>
      <line x1="\(left)" y1="\(top + height)" x2="\(w - 20)" y2="\(top + height)" stroke="#999"/>
      <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(top + height)" stroke="#999"/>
      <text x="\(left - 4)" y="\(top + 4)" text-anchor="end">\(number(hi))</text>
      <text x="\(left - 4)" y="\(top + height)" text-anchor="end">0</text>
      <text x="16" y="\(top + height / 2)" text-anchor="middle" transform="rotate(-90 16 \(top + height / 2))">perplexity</text>

      """
    for (k, t) in tasks.enumerated() {
      let x0 = left + 12 + Double(k) * (2 * barWidth + gap)
      for (j, (v, color)) in [(t.perplexity, "#1f77b4"), (t.perplexityWithoutTags, "#ff7f0e")].enumerated() {
        guard let v else { continue }
        out += "<rect x=\"\(f(x0 + Double(j) * barWidth))\" y=\"\(f(y(v)))\" width=\"\(barWidth - 2)\" height=\"\(f(top + height - y(v)))\" fill=\"\(color)\"/>\n"
        out += "<text x=\"\(f(x0 + Double(j) * barWidth + barWidth / 2))\" y=\"\(f(y(v) - 3))\" text-anchor=\"middle\" font-size=\"9\">\(number(v))</text>\n"
      }
      out += "<text x=\"\(f(x0 + barWidth))\" y=\"\(top + height + 16)\" text-anchor=\"middle\">\(escape(t.task))</text>\n"
    }
    out += "<rect x=\"\(left)\" y=\"\(top + height + 32)\" width=\"10\" height=\"10\" fill=\"#1f77b4\"/><text x=\"\(left + 14)\" y=\"\(top + height + 41)\">with tags</text>\n"
    out += "<rect x=\"\(left + 90)\" y=\"\(top + height + 32)\" width=\"10\" height=\"10\" fill=\"#ff7f0e\"/><text x=\"\(left + 104)\" y=\"\(top + height + 41)\">tags removed</text>\n"
    out += "</svg>\n"
    return out
  }
}
