import ArgumentParser
import Foundation
import TagdataBio
import TagdataChem
import TagdataEval
import TagdataIO
import TagdataShards
import TagdataTasks
import TagdataTokenizer
import TagdataTrain

#if canImport(Glibc)
import Glibc
#endif

struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
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
    var m: Model
    do {
      m = try Model.load(from: model)
      if let tags { try m.replaceTags(from: tags) }
    } catch {
      throw InputError.unsupported(file: tags ?? model, message: "cannot be loaded: \(error)")
    }
    var options = Evaluator.Options()
    options.split = split
    options.tasks = tasks.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
    options.length = length
    options.batch = batch
    options.resamples = resamples
    options.seed = seed
    options.margin = margin
    options.generate = !noGenerate
    options.text = try textTokenizer()
    switch inputs {
    case "bidirectional": options.bidirectional = ["*"]
    case "auto": options.bidirectional = try trainingRun.map { try Self.bidirectionalTasks(run: $0) } ?? []
    default: break
    }
    if let build { options.features = try Self.features(build: build) }
    let outcome: Evaluator.Outcome
    do {
      outcome = try Evaluator.evaluate(model: m, dataset: dataset, options: options)
    } catch let e as Evaluator.EvaluationError {
      throw InputError.unsupported(file: dataset, message: e.description)
    }
    var report = outcome.report
    let predictions = outcome.predictions
    var plot: Data?
    if let run = trainingRun {
      do {
        report.training = try TrainingRun.stageLosses(log: run + "/log.jsonl")
      } catch let e as TrainingRun.RunError {
        throw InputError.unsupported(file: run + "/log.jsonl", message: e.description)
      }
      plot = FileManager.default.contents(atPath: run + "/loss.svg")
      if plot != nil {
        report.lossPlot = "loss.svg"
      } else {
        report.notes = (report.notes ?? []) + ["\(run)/loss.svg: no loss plot in the training run"]
      }
    }
    do {
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
      let reportJSON = try encoder.encode(report)
      try write(reportJSON + Data([0x0A]), "report.json")
      try write(Data(EvalReport.markdown(report, model: model, dataset: dataset).utf8), "report.md")
      if let plot { try write(plot, "loss.svg") }
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      var lines = Data()
      for p in predictions {
        lines += try encoder.encode(p)
        lines.append(0x0A)
      }
      try write(lines, "predictions.jsonl")
      if report.generation != nil || report.numberAsText != nil {
        lines = Data()
        for g in outcome.generations {
          lines += try encoder.encode(g)
          lines.append(0x0A)
        }
        try write(lines, "generations.jsonl")
      }
      for t in report.regression { try write(Data(EvalReport.scatter(t, predictions).utf8), EvalReport.plotName(t)) }
      if !report.language.isEmpty { try write(Data(EvalReport.perplexityBars(report.language).utf8), "perplexity.svg") }
      if json { writeOut(String(decoding: reportJSON, as: UTF8.self) + "\n") }
    }
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
    warn("\(out): report.json, report.md, predictions.jsonl (\(predictions.count))"
      + (report.generation != nil || report.numberAsText != nil ? ", generations.jsonl (\(outcome.generations.count))" : "")
      + (report.lossPlot != nil ? ", loss.svg" : "") + ", plots")
  }

  /// The tasks a training run's stages trained with bidirectional input blocks, from its
  /// run-config.json (`*` for a stage that takes every task of its data).
  static func bidirectionalTasks(run: String) throws -> Set<String> {
    let path = run + "/run-config.json"
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let stages = (root["config"] as? [String: Any])?["stages"] as? [[String: Any]]
    else { throw InputError.unsupported(file: path, message: "not a training run's configuration (config.stages)") }
    var out = Set<String>()
    for stage in stages where stage["bidirectionalInputs"] as? Bool == true {
      if let tasks = (stage["data"] as? [String: Any])?["tasks"] as? [String] { out.formUnion(tasks) } else { out.insert("*") }
    }
    return out
  }

  /// The dataset's text tokenizer: --tokenizer, else the model's tokenizer.json when its SHA-256 is
  /// the dataset's, else nil (the byte tokenizer for a dataset made with it; otherwise the
  /// evaluator notes that it cannot decode).
  func textTokenizer() throws -> (any TextTokenizer)? {
    let info = try? JSONDecoder().decode(TokenShards.Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: dataset + "/dataset.json")))
    var path = tokenizer
    if path == nil, let sha = info?.vocabulary.textSHA256, let data = FileManager.default.contents(atPath: model + "/tokenizer.json"),
      SequenceDigest.hex(SequenceDigest.sha256(Array(data))) == sha
    {
      path = model + "/tokenizer.json"
    }
    guard let path else { return nil }
    let bytes: [UInt8]
    do {
      bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw InputError.unsupported(file: path, message: "cannot be read (\(error.localizedDescription))")
    }
    if let sha = info?.vocabulary.textSHA256, SequenceDigest.hex(SequenceDigest.sha256(bytes)) != sha {
      throw InputError.unsupported(file: path, message: "is not the dataset's text tokenizer (\(info?.vocabulary.text ?? "?"): its SHA-256 differs")
    }
    do {
      return try HFTokenizer(json: bytes, name: path)
    } catch {
      throw InputError.unsupported(file: path, message: "\(error)")
    }
  }

  /// Each record's input for the nearest-neighbour baseline: the OR of its molecules' circular
  /// fingerprints (radius 2, 2048 bits), else its sequence.
  static func features(build: String) throws -> [String: Evaluator.Feature] {
    var out: [String: Evaluator.Feature] = [:]
    for f in try TokenizedExport.readManifest(build).shardFiles {
      try TokenizedExport.forEachRecord(build + "/" + f) { r in
        guard let key = r.key, r.regression else { return }
        let smiles = r.segments.filter { $0.kind == .smiles }.map(\.text)
        if !smiles.isEmpty {
          var words = [UInt64](repeating: 0, count: 2048 / 64)
          for s in smiles {
            guard let m = try? Smiles.read(s) else { return }
            for (i, w) in Fingerprint(m).words.enumerated() { words[i] |= w }
          }
          out[key] = .fingerprint(words)
        } else if let p = r.segments.first(where: { $0.kind == .protein }) {
          out[key] = .sequence(Array(p.text.utf8.filter { $0 != 0x20 }))
        }
      }
    }
    return out
  }

  /// Written beside its place and renamed into it.
  func write(_ data: Data, _ name: String) throws {
    let path = out + "/" + name, tmp = path + ".partial"
    do {
      try data.write(to: URL(fileURLWithPath: tmp))
    } catch {
      throw OutputError(what: path, errno: errno)
    }
    guard rename(tmp, path) == 0 else { throw OutputError(what: path, errno: errno) }
  }
}
