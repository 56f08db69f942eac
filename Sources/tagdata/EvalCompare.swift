import ArgumentParser
import Foundation
import TagdataEval
import TagdataIO

#if canImport(Glibc)
import Glibc
#endif

/// `tagdata eval compare`: Tag-LLM's ablations side by side, from the reports of separately
/// trained variants (`EvalComparison`).
struct EvalCompare: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Compare evaluation reports of ablation variants side by side: tables and bar charts with intervals.",
    discussion: """
      Each argument is LABEL=DIR, DIR being the output of `tagdata eval` (holding report.json) \
      of one separately trained variant: no tags, domain tags only, function tag only, both, a \
      regression head or the number as text. Per task, every variant's metrics with their \
      bootstrap intervals (regression) or perplexity (language), and the baselines (mean of \
      train, nearest neighbours) as rows of their own. A task a variant lacks shows as "–".

      OUT gets comparison.json (every figure, per task and variant), comparison.md (a summary \
      with the variants side by side, then one table per task) and ablation-TASK.svg (bars of \
      Pearson r and RMSE, or perplexity, per variant, intervals as error bars).

      Examples:
        tagdata eval compare both=eval/both no-tags=eval/none domain=eval/domain function=eval/function --out eval/ablation
        tagdata eval compare head=eval/head as-text=eval/text --out eval/head-vs-text --json
      """)

  @Argument(help: ArgumentHelp("The variants: a label, =, a folder with report.json (or the file).", valueName: "label=dir"))
  var variants: [String]

  @Option(help: ArgumentHelp("Where the comparison goes (created).", valueName: "dir"))
  var out: String

  @Flag(help: "Print comparison.json on standard output.")
  var json = false

  func validate() throws {
    if variants.isEmpty { throw ValidationError("give at least one LABEL=DIR") }
    for v in variants {
      guard let eq = v.firstIndex(of: "="), eq != v.startIndex, v.index(after: eq) != v.endIndex else {
        throw ValidationError("\(v): expected LABEL=DIR (a label, =, a folder with report.json)")
      }
    }
    let labels = variants.compactMap { $0.split(separator: "=", maxSplits: 1).first }
    if Set(labels).count != labels.count { throw ValidationError("each label may be given once") }
  }

  func run() throws {
    let loaded = try EvalComparison.parseArguments(variants).map { try EvalComparison.load(label: $0.label, path: $0.path) }
    let comparison = EvalComparison.compare(loaded)
    let data = try EvalComparison.json(comparison)
    do {
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    } catch {
      throw OutputError(what: out, errno: errno)
    }
    try write(data, "comparison.json")
    try write(Data(EvalComparison.markdown(comparison).utf8), "comparison.md")
    for task in comparison.tasks {
      try write(Data(EvalComparison.chart(comparison, task: task).utf8), EvalComparison.chartName(task))
    }
    if json { writeOut(String(decoding: data, as: UTF8.self)) }
    for t in comparison.tables {
      let missing = t.rows.filter(\.missing).compactMap(\.variant)
      warn("\(t.task) (\(t.section)): " + (missing.isEmpty ? "in every variant" : "not in \(missing.joined(separator: ", "))"))
    }
    warn("\(out): comparison.json, comparison.md, \(comparison.tasks.count) charts")
  }

  func write(_ data: Data, _ name: String) throws { try writeReplacing(data, out + "/" + name) }
}
