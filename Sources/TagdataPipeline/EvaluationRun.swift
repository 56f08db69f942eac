import Foundation
import TagdataBio
import TagdataChem
import TagdataEval
import TagdataIO
import TagdataShards
import TagdataTasks
import TagdataTokenizer
import TagdataTrain

/// The inputs of a build's regression records for the nearest-neighbour baseline: the OR of
/// each record's molecules' circular fingerprints (radius 2, 2048 bits), else its protein
/// sequence.
public enum BaselineFeatures {
  public static func load(build: String) throws -> [String: Evaluator.Feature] {
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
}

/// One evaluation as `tagdata eval` and `tagdata run` do it: the model (with another stage's
/// tags if asked), the dataset's text tokenizer for decoding, the attention its training used
/// per task, the nearest-neighbour inputs from the build, the training run's losses and plot;
/// then the report's files.
public enum EvaluationRun {
  public struct Request: Sendable {
    public var model: String
    public var tags: String?
    public var dataset: String
    /// The build the dataset was tokenized from (nearest-neighbour baseline).
    public var build: String?
    /// The `tagdata train` output the model comes from (loss plot, per-stage losses, attention).
    public var run: String?
    /// The dataset's text tokenizer.json (default: the model's when it is the dataset's).
    public var tokenizer: String?
    /// `auto` (as the run trained each task), `causal` or `bidirectional`.
    public var inputs = "auto"
    public var options = Evaluator.Options()
    public init(model: String, dataset: String) {
      self.model = model
      self.dataset = dataset
    }
  }

  public struct Result: Sendable {
    public var outcome: Evaluator.Outcome
    public var lossPlot: Data?
  }

  /// Runs the evaluation. Inputs that cannot be used are `InputError`s naming the file.
  public static func perform(_ r: Request) throws -> Result {
    var m: Model
    do {
      m = try Model.load(from: r.model)
      if let tags = r.tags { try m.replaceTags(from: tags) }
    } catch {
      throw InputError.unsupported(file: r.tags ?? r.model, message: "cannot be loaded: \(error)")
    }
    var options = r.options
    options.text = try textTokenizer(dataset: r.dataset, model: r.model, tokenizer: r.tokenizer)
    switch r.inputs {
    case "bidirectional": options.bidirectional = ["*"]
    case "auto": options.bidirectional = try r.run.map { try bidirectionalTasks(run: $0) } ?? []
    default: options.bidirectional = []
    }
    if let build = r.build { options.features = try BaselineFeatures.load(build: build) }
    var outcome: Evaluator.Outcome
    do {
      outcome = try Evaluator.evaluate(model: m, dataset: r.dataset, options: options)
    } catch let e as Evaluator.EvaluationError {
      throw InputError.unsupported(file: r.dataset, message: e.description)
    }
    var plot: Data?
    if let run = r.run {
      do {
        outcome.report.training = try TrainingRun.stageLosses(log: run + "/log.jsonl")
      } catch let e as TrainingRun.RunError {
        throw InputError.unsupported(file: run + "/log.jsonl", message: e.description)
      }
      plot = FileManager.default.contents(atPath: run + "/loss.svg")
      if plot != nil {
        outcome.report.lossPlot = "loss.svg"
      } else {
        outcome.report.notes = (outcome.report.notes ?? []) + ["\(run)/loss.svg: no loss plot in the training run"]
      }
    }
    return Result(outcome: outcome, lossPlot: plot)
  }

  /// The report's files: report.json, report.md, predictions.jsonl, generations.jsonl (when
  /// something was generated), the loss plot and the SVG plots. `model` and `dataset` are the
  /// names report.md gives.
  public static func files(_ result: Result, model: String, dataset: String) throws -> [(name: String, data: Data)] {
    let report = result.outcome.report
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    var files: [(name: String, data: Data)] = [("report.json", try encoder.encode(report) + Data([0x0A])),
                                                ("report.md", Data(EvalReport.markdown(report, model: model, dataset: dataset).utf8))]
    if let plot = result.lossPlot { files.append(("loss.svg", plot)) }
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    func lines<T: Encodable>(_ items: [T]) throws -> Data {
      var d = Data()
      for item in items {
        d += try encoder.encode(item)
        d.append(0x0A)
      }
      return d
    }
    files.append(("predictions.jsonl", try lines(result.outcome.predictions)))
    if report.generation != nil || report.numberAsText != nil {
      files.append(("generations.jsonl", try lines(result.outcome.generations)))
    }
    for t in report.regression {
      files.append((EvalReport.plotName(t), Data(EvalReport.scatter(t, result.outcome.predictions).utf8)))
    }
    if !report.language.isEmpty { files.append(("perplexity.svg", Data(EvalReport.perplexityBars(report.language).utf8))) }
    return files
  }

  /// The tasks a training run's stages trained with bidirectional input blocks, from its
  /// run-config.json (`*` for a stage that takes every task of its data).
  public static func bidirectionalTasks(run: String) throws -> Set<String> {
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

  /// The dataset's text tokenizer: `tokenizer`, else the model's tokenizer.json when its SHA-256
  /// is the dataset's, else nil (the byte tokenizer for a dataset made with it; otherwise the
  /// evaluator notes that it cannot decode).
  public static func textTokenizer(dataset: String, model: String, tokenizer: String?) throws -> (any TextTokenizer)? {
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
}
