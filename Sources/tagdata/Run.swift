import ArgumentParser
import Foundation
import TagdataIngest
import TagdataPipeline

#if canImport(Glibc)
import Glibc
#endif

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the whole pipeline from a configuration: ingest, describe, build, tokenize, train, evaluate.",
    discussion: """
      A pipeline configuration (YAML or JSON, Schemas/pipeline-config.schema.json) names the \
      dumps and tables to ingest, the descriptors to label, the builds (presets or task \
      configurations, splits, ablations), their tokenized exports, the training runs (training \
      configurations whose stages read the named dataset), the evaluations and the comparisons \
      of their reports. Everything goes into one folder:

        OUT/catalog.sqlite   OUT/builds/NAME   OUT/tokens/NAME   OUT/train/NAME
        OUT/eval/NAME        OUT/compare/NAME  OUT/run.md, run.json (what ran, what was skipped, how long)

      Each step is keyed by the content of what it reads (input files, its part of the \
      configuration, the outputs of the steps before it). Running again skips every step whose \
      key and output are unchanged; changing an input re-runs the steps that depend on it. An \
      interrupted run (Ctrl-C, even kill -9) resumes: the interrupted step continues (ingest from \
      its last batch, training from its last checkpoint) or starts over (builds, exports and \
      reports are written whole or not at all), and the result is the one an uninterrupted run \
      gives. Paths in the configuration are relative to its folder.

      Examples:
        tagdata run --config Examples/pipeline.yaml --out pipeline
        tagdata run --config my-pipeline.yaml --out runs/p1 --json
      """)

  @Option(help: ArgumentHelp("The pipeline configuration (YAML, or JSON for a .json name).", valueName: "file"))
  var config: String

  @Option(help: ArgumentHelp("The output folder (created; a later run into it skips what is done).", valueName: "dir"))
  var out: String

  @Flag(help: "Check the configuration (schema, names, files) and print the steps, without running them.")
  var check = false

  @Flag(help: "Print run.json (each step's status, time and output hash) on standard output.")
  var json = false

  @Flag(help: "No progress lines, even on a terminal.")
  var quiet = false

  func run() throws {
    let parsed = try PipelineConfig.load(path: config)
    let pipeline = Pipeline(config: parsed, output: out, toolVersion: tagdataVersion)
    if check {
      for id in try pipeline.stepIDs() { writeOut(id + "\n") }
      return
    }
    let tty = isatty(2) == 1 && !quiet
    var current = ""
    pipeline.onEvent = { event in
      switch event {
      case let .started(id, index, total):
        current = "[\(index + 1)/\(total)] \(id)"
        if tty { writeFD(2, "\r\u{1B}[K\(current)") }
      case let .progress(_, text):
        if tty { writeFD(2, "\r\u{1B}[K\(current): \(text.prefix(100))") }
      case let .finished(id, status, seconds):
        if tty { writeFD(2, "\r\u{1B}[K") }
        if !quiet { warn("\(current.isEmpty ? id : current): \(status.rawValue) (\(String(format: "%.1f", seconds)) s)") }
      }
    }
    let summary: Pipeline.Summary
    do {
      summary = try pipeline.run()
    } catch {
      if tty { writeFD(2, "\r\u{1B}[K") }
      throw error
    }
    let ran = summary.steps.filter { $0.status != .skipped }.count
    warn("\(out): \(summary.steps.count) steps, \(ran) run, \(summary.steps.count - ran) skipped, "
      + "\(String(format: "%.1f", summary.seconds)) s; run.md" + (parsed.eval.isEmpty ? "" : ", eval/*/report.md"))
    if json, let data = FileManager.default.contents(atPath: pipeline.output + "/run.json") {
      writeOut(String(decoding: data, as: UTF8.self))
    }
  }
}
