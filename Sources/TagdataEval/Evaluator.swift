import Foundation
import TagdataIO
import TagdataShards
import TagdataTokenizer
import TagdataTrain

/// `tagdata eval`: a trained model on a split of a token dataset (`tagdata export --tokenized`).
///
/// - Regression tasks: the head's prediction at the function tag's last virtual token against
///   the exact target, with MSE, RMSE, MAE, R², Pearson, Spearman (and Kendall τ-b), each with a
///   seeded bootstrap interval; beside them the mean predictor (the training split's mean).
/// - Language tasks (every other task with next-token targets): perplexity and bits per token
///   on the target tokens, with the domain tags as trained and with every tag token removed
///   (Tag-LLM's "no tag" ablation on the same text).
/// - Generation tasks with an output (Translate: the target sentence): the prompt (the tokens
///   before the output) greedily continued with the key/value-cache generator until the EOS or
///   the reference's length plus a margin, decoded through the dataset's vocabulary, scored with
///   corpus BLEU and chrF (sacrebleu's defaults) and the exact-match rate, with intervals.
///
/// Every figure of the report comes from this run; predictions are returned for
/// `predictions.jsonl`.
public enum Evaluator {
  public struct Options: Sendable {
    public var split = "test"
    public var tasks: Set<String>?
    public var length = 512
    public var batch = 8
    public var resamples = 1000
    public var level = 0.95
    public var seed: UInt64 = 0
    /// Inputs of examples by key, for the nearest-neighbour baseline (none without them).
    public var features: [String: Feature] = [:]
    public var neighbours = 5
    /// The dataset's text tokenizer, to decode generated ids (nil: the byte tokenizer, when the
    /// dataset was made with it; otherwise generation is skipped with a note).
    public var text: (any TextTokenizer)?
    /// Generation: new tokens allowed past the reference's length.
    public var margin = 16
    /// Generate for the examples with an output (off: perplexity and heads only).
    public var generate = true
    /// Tasks whose domain inputs attend to themselves both ways (Tag-LLM's blocks, as a stage
    /// trained with `bidirectionalInputs`): their heads and perplexity are computed so; `*` is
    /// every task. Generation's prefill stays causal.
    public var bidirectional: Set<String> = []
    public init() {}

    func isBidirectional(_ task: String) -> Bool { bidirectional.contains(task) || bidirectional.contains("*") }
  }

  /// What the nearest-neighbour baseline compares: a molecule's fingerprint (Tanimoto) or a
  /// sequence (k-mer profile cosine).
  public enum Feature: Sendable, Equatable {
    case fingerprint([UInt64])
    case sequence([UInt8])
  }

  public struct Prediction: Codable, Sendable, Equatable {
    public var key: String
    public var task: String
    public var head: String
    public var target: Double
    public var prediction: Double
  }

  /// A metric with its interval (nil where undefined: constant predictions, n < 2).
  public struct Figure: Codable, Sendable, Equatable {
    public var value: Double?
    public var lower: Double?
    public var upper: Double?
  }

  public struct RegressionTask: Codable, Sendable, Equatable {
    public var task: String
    public var head: String
    public var count: Int
    /// mse, rmse, mae, r2, pearson, spearman, kendall_tau_b.
    public var metrics: [String: Figure]
    /// The same metrics for the mean predictor (the training split's mean target).
    public var meanBaseline: [String: Figure]
    public var trainMean: Double?
    /// The same metrics for the k-nearest-neighbour baseline on the training split
    /// (`tanimoto` on fingerprints or `kmer` on sequences), when the inputs were given.
    public var neighbourBaseline: [String: Figure]? = nil
    public var neighbourKind: String? = nil
  }

  public struct LanguageTask: Codable, Sendable, Equatable {
    public var task: String
    public var examples: Int
    public var tokens: Int
    public var perplexity: Double?
    public var bitsPerToken: Double?
    /// The same text with every tag token removed.
    public var perplexityWithoutTags: Double?
    public var bitsPerTokenWithoutTags: Double?
  }

  public struct Report: Codable, Sendable, Equatable {
    public var split: String
    public var examples: Int
    public var trimmed: Int
    public var regression: [RegressionTask]
    public var language: [LanguageTask]
    public var resamples: Int
    public var level: Double
    public var seed: UInt64
    public var bootstrap: String
    /// Generation tasks (absent in reports written before they were evaluated).
    public var generation: [GenerationTask]? = nil
    /// Regression tasks exported as text, their decoded numbers against the exact targets.
    public var numberAsText: [NumberTextTask]? = nil
    /// Per task and kind of figure: the test examples' tag combinations, seen in the task's
    /// training split or not, and the figures of each group.
    public var combinations: [CombinationTask]? = nil
    /// The training run the model comes from (`tagdata eval --run`): its losses per stage, and
    /// the loss plot copied beside the report (`loss.svg`), when there is one.
    public var training: [TrainingRun.StageLoss]? = nil
    public var lossPlot: String? = nil
    /// Tasks evaluated with bidirectional input blocks (`*`: all), when any.
    public var bidirectional: [String]? = nil
    /// What was not evaluated and why.
    public var notes: [String]? = nil
  }

  /// Everything one evaluation gives: the report and what it was computed from.
  public struct Outcome: Sendable {
    public var report: Report
    public var predictions: [Prediction]
    public var generations: [Generation]
  }

  public struct EvaluationError: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  /// Evaluates `model` on `dataset` (a version-2 token dataset directory).
  public static func run(model: Model, dataset: String, options: Options) throws -> (Report, [Prediction]) {
    let o = try evaluate(model: model, dataset: dataset, options: options)
    return (o.report, o.predictions)
  }

  /// Evaluates `model` on `dataset`: the report, the head predictions and the generations.
  public static func evaluate(model: Model, dataset: String, options: Options) throws -> Outcome {
    let (manifest, all) = try TokenShards.read(from: dataset, tasks: options.tasks)
    let mapped: [TokenDataset.Example]
    do {
      mapped = try DatasetMapping.map(all, vocabulary: manifest.vocabulary, model: model)
    } catch {
      throw EvaluationError(description: "\(dataset): \(error)")
    }
    let (fitted, trimmed) = Trainer.fitted(mapped, length: options.length)
    guard fitted.contains(where: { $0.split == options.split }) else {
      throw EvaluationError(description: "\(dataset): no example in the \(options.split) split"
                              + (options.tasks.map { " of the tasks \($0.sorted().joined(separator: ", "))" } ?? ""))
    }
    let testIndices = fitted.indices.filter { fitted[$0].split == options.split }
    // Each example's tag combination, and each task's combinations in its training split.
    let lookup = TagLookup(manifest.vocabulary)
    let combinations = all.map { lookup.combination($0.tokens) }
    var trainCombinations: [String: [[String]: Int]] = [:]
    for (i, e) in all.enumerated() where e.split == "train" { trainCombinations[e.task, default: [:]][combinations[i], default: 0] += 1 }
    let heads = Set(model.headNames)
    let trainTargets = Dictionary(grouping: fitted.filter { $0.split == "train" }.flatMap { $0.regression }, by: \.head)
      .mapValues { $0.map(\.target) }

    // Regression: predictions in batches, no output projection.
    var predictions: [Prediction] = []
    var predictionCombinations: [[String]] = []
    let regression0 = testIndices.filter { !fitted[$0].regression.isEmpty }
    // Batches hold examples of one attention kind: the bidirectional ones after the others.
    let regressionIndices = regression0.filter { !options.isBidirectional(fitted[$0].task) }
      + regression0.filter { options.isBidirectional(fitted[$0].task) }
    var start = 0
    while start < regressionIndices.count {
      let both = options.isBidirectional(fitted[regressionIndices[start]].task)
      var end = start + 1
      while end < min(start + max(1, options.batch), regressionIndices.count)
        && options.isBidirectional(fitted[regressionIndices[end]].task) == both { end += 1 }
      let chunkIndices = Array(regressionIndices[start..<end])
      start = end
      let chunk = chunkIndices.map { fitted[$0] }
      let b = TokenDataset.batch(chunk, length: options.length, bidirectional: both)
      let usable = b.regression.filter { heads.contains($0.head) }
      guard usable.count == b.regression.count else {
        let missing = Set(b.regression.map(\.head)).subtracting(heads).sorted()
        throw EvaluationError(description: "the model has no head \(missing.joined(separator: ", ")) for the dataset's regression tasks")
      }
      let out = model.forward(b, logitRows: [])
      var k = 0
      for (e, i) in zip(chunk, chunkIndices) {
        for r in e.regression where r.position < options.length {
          predictions.append(Prediction(key: e.key ?? "", task: e.task, head: r.head, target: r.target,
                                        prediction: Double(out.predictions[k])))
          predictionCombinations.append(combinations[i])
          k += 1
        }
      }
    }
    var regression: [RegressionTask] = []
    for (task, head) in Set(predictions.map { TaskHead(task: $0.task, head: $0.head) }).sorted(by: { ($0.task, $0.head) < ($1.task, $1.head) })
      .map({ ($0.task, $0.head) })
    {
      let p = predictions.filter { $0.task == task && $0.head == head }
      let yTrue = p.map(\.target), yPred = p.map(\.prediction)
      let train = trainTargets[head] ?? []
      let mean = train.isEmpty ? nil : train.reduce(0, +) / Double(train.count)
      var entry = RegressionTask(
        task: task, head: head, count: p.count, metrics: try figures(yTrue, yPred, options),
        meanBaseline: try mean.map { try figures(yTrue, [Double](repeating: $0, count: yTrue.count), options) } ?? [:], trainMean: mean)
      if let (kind, knn) = try neighbourPredictions(task: task, head: head, test: p, train: fitted, options) {
        entry.neighbourKind = kind
        entry.neighbourBaseline = try figures(yTrue, knn, options)
      }
      regression.append(entry)
    }

    // Language: target-token NLL with the tags and without them.
    var language: [LanguageTask] = []
    var combinationTasks: [CombinationTask] = []
    let generation = testIndices.filter { fitted[$0].regression.isEmpty && fitted[$0].lossMask.contains(true) }
    let tagIDs = Set(model.tagNames.flatMap { model.tagTokens($0) })
    func ppl(_ r: (Double, Int)) -> Double? { r.1 > 0 ? exp(r.0 / Double(r.1)) : nil }
    func bits(_ r: (Double, Int)) -> Double? { r.1 > 0 ? r.0 / Double(r.1) / log(2) : nil }
    for task in Set(generation.map { fitted[$0].task }).sorted() {
      let indices = generation.filter { fitted[$0].task == task }
      let ex = indices.map { fitted[$0] }
      let with = nll(model, ex, options)
      let stripped = ex.map { e -> TokenDataset.Example in
        var s = e
        let keep = e.tokens.indices.filter { !tagIDs.contains(e.tokens[$0]) }
        s.tokens = keep.map { e.tokens[$0] }
        s.lossMask = keep.map { e.lossMask[$0] }
        s.spans = []
        return s
      }
      let without = nll(model, stripped, options)
      // Seen and unseen tag combinations: perplexity of each group (the task's figure when all are seen).
      let g = group(indices.map { combinations[$0] }, train: trainCombinations[task] ?? [:])
      func figures(_ members: [Int]) -> GroupFigures? {
        guard !members.isEmpty else { return nil }
        let r = members.count == ex.count ? with : nll(model, members.map { ex[$0] }, options)
        return GroupFigures(count: members.count, metrics: ["perplexity": Figure(value: ppl(r)), "bits_per_token": Figure(value: bits(r))],
                            tokens: r.1)
      }
      combinationTasks.append(CombinationTask(task: task, kind: "language", combinations: g.combinations, seen: figures(g.seen),
                                              unseen: figures(g.unseen)))
      language.append(LanguageTask(task: task, examples: ex.count, tokens: with.1, perplexity: ppl(with), bitsPerToken: bits(with),
                                   perplexityWithoutTags: ppl(without), bitsPerTokenWithoutTags: bits(without)))
    }
    var report = Report(split: options.split, examples: testIndices.count, trimmed: trimmed, regression: regression, language: language,
                        resamples: options.resamples, level: options.level, seed: options.seed, bootstrap: BootstrapResult.generator)

    // Generation: greedy continuations of the prompts of examples with an output.
    var notes: [String] = []
    var generations: [Generation] = []
    if !options.bidirectional.isEmpty { report.bidirectional = options.bidirectional.sorted() }
    let functionIDs = Set(manifest.vocabulary.tagList.filter { $0.kind == "function" }.flatMap { $0.firstID..<($0.firstID + $0.tokens) })
    let wanted = outputs(all, indices: testIndices, functionIDs: functionIDs)
    if !wanted.isEmpty && options.generate {
      do {
        let text = try DatasetText(info: manifest.vocabulary, text: options.text, model: model)
        let stop = Set([manifest.vocabulary.eos].compactMap { $0 }.filter { $0 < model.config.vocabularySize })
        for (i, start) in wanted {
          let raw = all[i], ids = mapped[i]
          let referenceIDs = raw.tokens[start...]
          let maxNew = referenceIDs.count + options.margin
          let (out, why) = try decode(model, prompt: Array(ids.tokens[..<start]), maxNew: maxNew, length: options.length, stop: stop)
          var g = Generation(key: raw.key ?? "", task: raw.task, reference: text.text(datasetIDs: referenceIDs),
                             hypothesis: text.text(modelIDs: out), stopped: why.rawValue, tags: combinations[i])
          if let target = raw.numberTarget {
            g.target = target
            g.parsed = NumberText.firstNumber(g.hypothesis)
          }
          generations.append(g)
        }
      } catch let e as EvaluationError {
        notes.append("generation not evaluated (\(wanted.count) examples): \(e.description)")
      }
    } else if !wanted.isEmpty {
      notes.append("generation not evaluated (\(wanted.count) examples): turned off")
    }
    var generationTasks: [GenerationTask] = []
    for task in Set(generations.filter { $0.target == nil }.map(\.task)).sorted() {
      let g = generations.filter { $0.task == task && $0.target == nil }
      let scores = try TextScores(hypotheses: g.map(\.hypothesis), references: g.map(\.reference))
      generationTasks.append(GenerationTask(task: task, count: g.count, stoppedAtEOS: g.filter { $0.stopped == StopReason.eos.rawValue }.count,
                                            metrics: scores.figures(resamples: options.resamples, level: options.level, seed: options.seed)))
      let c = group(g.map(\.tags), train: trainCombinations[task] ?? [:])
      func figures(_ members: [Int]) -> GroupFigures? {
        members.isEmpty ? nil : GroupFigures(count: members.count, metrics: scores.figures(members, resamples: options.resamples,
                                                                                             level: options.level, seed: options.seed))
      }
      combinationTasks.append(CombinationTask(task: task, kind: "generation", combinations: c.combinations, seen: figures(c.seen),
                                              unseen: figures(c.unseen)))
    }
    let trainNumbers = Dictionary(grouping: fitted.filter { $0.split == "train" && $0.numberTarget != nil }, by: \.task)
      .mapValues { $0.map { $0.numberTarget! } }
    var numberTasks: [NumberTextTask] = []
    for task in Set(generations.filter { $0.target != nil }.map(\.task)).sorted() {
      let g = generations.filter { $0.task == task && $0.target != nil }
      numberTasks.append(try numberFigures(task: task, g, train: trainNumbers[task] ?? [], options))
      let c = group(g.map(\.tags), train: trainCombinations[task] ?? [:])
      func figures(_ members: [Int]) throws -> GroupFigures? {
        guard !members.isEmpty else { return nil }
        let t = try numberFigures(task: task, members.map { g[$0] }, train: [], options)
        return GroupFigures(count: members.count, metrics: t.metrics.merging(["parsed": Figure(value: t.parsedFraction)]) { a, _ in a })
      }
      combinationTasks.append(CombinationTask(task: task, kind: "number as text", combinations: c.combinations, seen: try figures(c.seen),
                                              unseen: try figures(c.unseen)))
    }
    for task in Set(predictions.map(\.task)).sorted() {
      let members = predictions.indices.filter { predictions[$0].task == task }
      let c = group(members.map { predictionCombinations[$0] }, train: trainCombinations[task] ?? [:])
      func figures(_ m: [Int]) throws -> GroupFigures? {
        try regressionGroup(m.map { predictions[members[$0]].target }, m.map { predictions[members[$0]].prediction }, options)
      }
      combinationTasks.append(CombinationTask(task: task, kind: "head", combinations: c.combinations, seen: try figures(c.seen),
                                              unseen: try figures(c.unseen)))
    }
    report.combinations = combinationTasks.sorted { ($0.task, $0.kind) < ($1.task, $1.kind) }
    if wanted.contains(where: { all[$0.0].numberTarget == nil }) { report.generation = generationTasks }
    if wanted.contains(where: { all[$0.0].numberTarget != nil }) { report.numberAsText = numberTasks }
    if !notes.isEmpty { report.notes = notes }
    return Outcome(report: report, predictions: predictions, generations: generations)
  }

  struct TaskHead: Hashable {
    var task: String
    var head: String
  }

  static let statistics: [(String, PairedStatistic)] = [("mse", .mse), ("rmse", .rmse), ("mae", .mae), ("r2", .r2),
                                                         ("pearson", .pearson), ("spearman", .spearman), ("kendall_tau_b", .kendallTauB)]

  static func figures(_ yTrue: [Double], _ yPred: [Double], _ o: Options) throws -> [String: Figure] {
    var out: [String: Figure] = [:]
    let point = try Metrics.regressionReport(yTrue, yPred)
    let values: [String: Double] = ["mse": point.mse, "rmse": point.rmse, "mae": point.mae, "r2": point.r2, "pearson": point.pearson,
                                    "spearman": point.spearman, "kendall_tau_b": point.kendallTauB]
    for (name, statistic) in statistics {
      var f = Figure(value: finite(values[name]!))
      if yTrue.count >= 2 && o.resamples > 0,
        let b = try? Bootstrap.interval(statistic, yTrue: yTrue, yPred: yPred, resamples: o.resamples, level: o.level, seed: o.seed)
      {
        f.lower = finite(b.lower)
        f.upper = finite(b.upper)
      }
      out[name] = f
    }
    return out
  }

  static func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }

  /// k-nearest-neighbour predictions of the test examples from the task's training examples,
  /// when every one of them has an input of one kind.
  static func neighbourPredictions(task: String, head: String, test: [Prediction], train: [TokenDataset.Example], _ o: Options) throws
    -> (String, [Double])?
  {
    guard !o.features.isEmpty else { return nil }
    var trainFeatures: [Feature] = [], targets: [Double] = []
    for e in train where e.split == "train" && e.task == task {
      for r in e.regression where r.head == head {
        guard let f = o.features[e.key ?? ""] else { return nil }
        trainFeatures.append(f)
        targets.append(r.target)
      }
    }
    let queries = test.compactMap { o.features[$0.key] }
    guard !targets.isEmpty, queries.count == test.count else { return nil }
    switch trainFeatures[0] {
    case .fingerprint:
      let fps = trainFeatures.compactMap { if case .fingerprint(let w) = $0 { return w } else { return nil } }
      let q = queries.compactMap { if case .fingerprint(let w) = $0 { return w } else { return nil } }
      guard fps.count == trainFeatures.count, q.count == queries.count else { return nil }
      let knn = try TanimotoKNN(fingerprints: fps, targets: targets, k: o.neighbours)
      return ("tanimoto", try knn.predict(q))
    case .sequence:
      let seqs = trainFeatures.compactMap { if case .sequence(let s) = $0 { return s } else { return nil } }
      let q = queries.compactMap { if case .sequence(let s) = $0 { return s } else { return nil } }
      guard seqs.count == trainFeatures.count, q.count == queries.count else { return nil }
      let knn = try KmerKNN(sequences: seqs, targets: targets, kmer: 3, k: o.neighbours)
      return ("kmer", try q.map { try knn.predict($0) })
    }
  }

  /// Summed natural-log NLL of the target tokens and their count (the examples of one task).
  static func nll(_ model: Model, _ examples: [TokenDataset.Example], _ o: Options) -> (Double, Int) {
    let s = model.summedLosses(examples, length: o.length, batch: o.batch, bidirectional: examples.first.map { o.isBidirectional($0.task) } ?? false)
    return (s.crossEntropy, Int(s.targets))
  }

}
