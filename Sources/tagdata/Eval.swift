import ArgumentParser
import Foundation
import TagdataEval
import TagdataIO
import TagdataPipeline

#if canImport(Glibc)
import Glibc
#endif

/// `tagdata eval`: a model on a token dataset (`tagdata eval --model ...`, the default), or the
/// reports of ablation variants side by side (`tagdata eval compare`).
struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Evaluate a trained model (tagdata eval --model ...), or compare the reports of ablation variants (tagdata eval compare).",
    subcommands: [EvalModel.self, EvalCompare.self], defaultSubcommand: EvalModel.self)
}

struct EvalModel: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "model",
    abstract: "Evaluate a trained model on a split of a token dataset: metrics with intervals, baselines, plots.",
    discussion: """
      Regression tasks: the head's prediction (read at the function tag's last virtual token) \
      against the exact target: MSE, RMSE, MAE, R², Pearson r, Spearman rho, Kendall tau-b, each \
      with a seeded bootstrap interval, beside the mean predictor (the training split's mean). \
      Language tasks: perplexity and bits per token on the target tokens, with the tags and with \
      every tag token removed (Tag-LLM's no-tag ablation on the same text). Metrics are the ones \
      scipy, scikit-learn and numpy compute (interop tests). Generation tasks with an output \
      (Translate): the prompt before the output greedily continued (key/value cache) until the \
      EOS or the reference's length plus --margin tokens, decoded through the dataset's \
      vocabulary (--tokenizer for a dataset made with a tokenizer.json), scored with corpus BLEU \
      and chrF (sacrebleu's defaults) and the exact-match rate, intervals resampling sentences. \
      Regression records exported as text (export --regression-as-text): the label decoded the \
      same way, its first number parsed and compared with the exact target (the regression \
      metrics on the parsed outputs, and the share parsed), as "number as text".
      Tag combinations: per task, the test examples whose set of tags the training split has \
      (seen) and the others (unseen, zero-shot composition) are scored apart. With --run, \
      the heads and perplexity of tasks its stages trained with bidirectional input blocks are \
      computed with them too (--inputs).

      OUT gets report.json (every figure), report.md (tables), predictions.jsonl (key, task, \
      head, target, prediction: compute your own metrics), scatter-TASK.svg (predicted against \
      true with the least-squares line), perplexity.svg and generations.jsonl (key, task, \
      reference, hypothesis: run sacrebleu on them), and with --run the training's loss.svg \
      (report.md shows it beside the last training and validation loss of each stage). Every \
      figure comes from this run.

      Examples:
        tagdata eval --model runs/tag-llm/stage-4-multi-domain/model --dataset tokens/tag-llm --build build/tag-llm --out eval/tag-llm
        tagdata eval --model M --dataset D --split valid --tasks QED,BA --resamples 2000 --json
        tagdata eval --model runs/tag-llm/stage-4-multi-domain/model --run runs/tag-llm --dataset tokens/tag-llm --out eval/tag-llm
      """)

  @Option(help: ArgumentHelp("The trained model directory (a stage's model: config.json, model.safetensors, tags).", valueName: "dir"))
  var model: String

  @Option(help: ArgumentHelp("Take the tags and heads from this model directory instead (a later stage's).", valueName: "dir"))
  var tags: String?

  @Option(help: ArgumentHelp("The token dataset (tagdata export --tokenized).", valueName: "dir"))
  var dataset: String

  @Option(help: ArgumentHelp("The build the dataset was tokenized from: its inputs give the nearest-neighbour baseline "
                               + "(Tanimoto on molecule fingerprints, else k-mer profiles of sequences).", valueName: "dir"))
  var build: String?

  @Option(help: ArgumentHelp("Where the report goes (created).", valueName: "dir"))
  var out: String

  @Option(name: .customLong("run"), help: ArgumentHelp("The tagdata train output the model comes from: its loss.svg is copied into the report and "
                               + "log.jsonl gives the last training and validation loss per stage.", valueName: "dir"))
  var trainingRun: String?

  @Option(help: ArgumentHelp("The split to evaluate: train, valid or test.", valueName: "split"))
  var split = "test"

  @Option(help: ArgumentHelp("Only these tasks (comma separated).", valueName: "tasks"))
  var tasks: String?

  @Option(help: ArgumentHelp("Context length: longer examples are cut as in training.", valueName: "n"))
  var length = 512

  @Option(help: ArgumentHelp("Examples per forward pass.", valueName: "n"))
  var batch = 8

  @Option(help: ArgumentHelp("Bootstrap resamples (0: no intervals).", valueName: "n"))
  var resamples = 1000

  @Option(help: ArgumentHelp("Seed of the bootstrap.", valueName: "n"))
  var seed: UInt64 = 0

  @Option(help: ArgumentHelp("The dataset's text tokenizer.json, to decode generations (default: the model's tokenizer.json "
                               + "when it is the dataset's, the byte tokenizer for a dataset made with it).", valueName: "file"))
  var tokenizer: String?

  @Option(help: ArgumentHelp("Generation: new tokens allowed past the reference's length.", valueName: "n"))
  var margin = 16

  @Flag(help: "Do not generate (heads and perplexity only).")
  var noGenerate = false

  @Option(help: ArgumentHelp("Attention over the domain inputs for the heads and perplexity: causal, bidirectional (Tag-LLM's "
                               + "blocks, every task), or auto: as the --run's stages trained each task (bidirectionalInputs), "
                               + "else causal.", valueName: "auto|causal|bidirectional"))
  var inputs = "auto"

  @Flag(help: "Print report.json on standard output.")
  var json = false

  func validate() throws {
    if !["train", "valid", "test"].contains(split) { throw ValidationError("--split is train, valid or test") }
    if length < 2 || batch < 1 || resamples < 0 { throw ValidationError("--length must be at least 2, --batch at least 1, --resamples at least 0") }
    if margin < 0 { throw ValidationError("--margin must be at least 0") }
    if !["auto", "causal", "bidirectional"].contains(inputs) { throw ValidationError("--inputs is auto, causal or bidirectional") }
  }

  func run() throws {
    var request = EvaluationRun.Request(model: model, dataset: dataset)
    request.tags = tags
    request.build = build
    request.run = trainingRun
    request.tokenizer = tokenizer
    request.inputs = inputs
    request.options.split = split
    request.options.tasks = tasks.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
    request.options.length = length
    request.options.batch = batch
    request.options.resamples = resamples
    request.options.seed = seed
    request.options.margin = margin
    request.options.generate = !noGenerate
    let result = try EvaluationRun.perform(request)
    let report = result.outcome.report
    do {
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    } catch {
      throw OutputError(what: out, errno: errno)
    }
    for f in try EvaluationRun.files(result, model: model, dataset: dataset) { try write(f.data, f.name) }
    if json, let data = FileManager.default.contents(atPath: out + "/report.json") { writeOut(String(decoding: data, as: UTF8.self)) }
    for t in report.regression {
      let r = t.metrics["pearson"]?.value.map { String(format: "%.3f", $0) } ?? "–"
      let rmse = t.metrics["rmse"]?.value.map { String(format: "%.4g", $0) } ?? "–"
      let base = t.meanBaseline["rmse"]?.value.map { String(format: "%.4g", $0) } ?? "–"
      warn("\(t.task): n \(t.count), RMSE \(rmse) (mean predictor \(base)), Pearson r \(r)")
    }
    for t in report.language {
      let p = t.perplexity.map { String(format: "%.3f", $0) } ?? "–", q = t.perplexityWithoutTags.map { String(format: "%.3f", $0) } ?? "–"
      warn("\(t.task): perplexity \(p) with tags, \(q) without, on \(t.tokens) tokens")
    }
    for t in report.generation ?? [] {
      func s(_ k: String) -> String { t.metrics[k]?.value.map { String(format: "%.2f", $0) } ?? "–" }
      warn("\(t.task): n \(t.count), BLEU \(s("bleu")), chrF \(s("chrf")), exact match \(s("exact_match")) (\(t.stoppedAtEOS) ended by EOS)")
    }
    for t in report.numberAsText ?? [] {
      let r = t.metrics["pearson"]?.value.map { String(format: "%.3f", $0) } ?? "–"
      let rmse = t.metrics["rmse"]?.value.map { String(format: "%.4g", $0) } ?? "–"
      warn("\(t.task) (number as text): n \(t.count), parsed \(t.parsed), RMSE \(rmse), Pearson r \(r) on the parsed")
    }
    for s in report.training ?? [] {
      let t = s.trainingLoss.map { String(format: "%.4f", $0) } ?? "–", v = s.validationLoss.map { String(format: "%.4f", $0) } ?? "–"
      warn("training \(s.stage): step \(s.step), loss \(t), validation loss \(v)")
    }
    for n in report.notes ?? [] { warn(n) }
    warn("\(out): report.json, report.md, predictions.jsonl (\(result.outcome.predictions.count))"
      + (report.generation != nil || report.numberAsText != nil ? ", generations.jsonl (\(result.outcome.generations.count))" : "")
      + (report.lossPlot != nil ? ", loss.svg" : "") + ", plots")
  }

  func write(_ data: Data, _ name: String) throws { try writeReplacing(data, out + "/" + name) }
}
