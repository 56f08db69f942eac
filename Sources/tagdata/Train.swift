import ArgumentParser
import Foundation
import TagdataTasks
import TagdataTrain

#if canImport(Glibc)
import Glibc
#endif

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a compact decoder, its Tag-LLM tags and regression heads, stage by stage.",
    discussion: """
      The config (JSON, Schemas/train-config.schema.json) names the model shape (or a base \
      model directory: ours, or Hugging Face LLaMA layout with config.json and \
      model.safetensors) and the stages to run. Stage kinds: `base` trains the model itself; \
      `domain` freezes it and learns domain tags; `function` freezes it and learns function \
      tags and regression heads (tags of earlier stages stay frozen unless trainEarlierTags). \
      Data: a token dataset directory (see Schemas/training-data.schema.json) or a built-in \
      set made from the shipped corpora.

      Output: OUT/stage-N-NAME/model (config.json, model.safetensors, and the tag dictionary \
      tags.safetensors + tags.json), checkpoints every few steps, OUT/log.jsonl with every \
      step, OUT/loss.svg charting training and validation loss per stage. Re-running the same command after an interruption (even kill -9) resumes from the \
      last checkpoint; finished stages are not run again. The config is stored with its SHA-256 \
      in OUT/run-config.json: a run into an --out of another config is refused (exit 78) unless \
      --restart discards the earlier output.

      Example (about a minute on a laptop):
        tagdata train --config Examples/train-small.json --out runs/small
      """)

  @Option(help: ArgumentHelp("The training config (JSON).", valueName: "file")) var config: String
  @Option(help: ArgumentHelp("The output directory.", valueName: "dir")) var out: String
  @Flag(help: "No progress line, even on a terminal.") var quiet = false
  @Flag(help: "Print the stage results as JSON.") var json = false
  @Flag(help: ArgumentHelp("Discard what an earlier run left in --out and start over (needed when the config changed).",
                           discussion: "")) var restart = false

  func run() throws {
    // Read and check the whole config (schema and model constraints) before any work.
    let parsed = try TrainConfig.load(from: config)
    let directory = (config as NSString).deletingLastPathComponent
    let trainer = Trainer(config: parsed, output: out, configDirectory: directory.isEmpty ? "." : directory, restart: restart)
    trainer.builtinDatasets = { name, corpora, tags, vocabularySize, length in
      try CorpusExamples.build(name, corpora: corpora, tags: tags, vocabularySize: vocabularySize, length: length)
    }
    let tty = isatty(2) == 1 && !quiet
    if tty {
      var last = 0.0
      trainer.onStep = { s in
        let now = Date().timeIntervalSince1970
        guard now - last > 0.1 || s.step == s.steps else { return }
        last = now
        let eta = s.seconds / Double(s.step) * Double(s.steps - s.step)
        var line = "\(s.stage): step \(s.step)/\(s.steps), loss \(fmt(s.loss))"
        if let v = s.validationLoss { line += ", validation \(fmt(v))" }
        line += ", \(Int(s.tokensPerSecond)) tokens/s, ETA \(Int(eta.rounded())) s"
        writeFD(2, "\r\u{1B}[K" + line)
      }
    }
    let results = try trainer.run()
    if tty { writeFD(2, "\r\u{1B}[K") }
    if json {
      let rows = results.map { ["stage": $0.name, "firstValidationLoss": Double($0.firstValidationLoss),
                                "lastValidationLoss": Double($0.lastValidationLoss), "model": $0.model, "trimmed": $0.trimmed] as [String: Any] }
      writeOut(String(decoding: try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys]), as: UTF8.self) + "\n")
    } else {
      for r in results {
        warn("\(r.name): validation loss \(fmt(r.firstValidationLoss)) → \(fmt(r.lastValidationLoss)); model in \(r.model)")
        if r.trimmed > 0 { warn("\(r.name): \(r.trimmed) examples longer than the stage's length were cut to fit") }
      }
    }
  }

  func fmt(_ x: Float) -> String { String(format: "%.4f", Double(x)) }
}
