import Crypto
import Foundation
import TagdataIO
import TagdataShards

/// One line of the training log (`log.jsonl`, one per optimizer step, plus validation lines).
public struct StepLog: Codable, Sendable {
  public var stage: String
  public var step: Int
  public var steps: Int
  public var loss: Float
  public var crossEntropy: Float
  public var meanSquaredError: Float
  public var learningRate: Float
  public var gradientNorm: Float
  public var tokens: Int
  /// Training tokens per second, validation and checkpoint time excluded.
  public var tokensPerSecond: Double
  public var seconds: Double
  /// Epochs of the stage's training examples seen (examples drawn / training examples).
  public var epoch: Double = 0
  /// Set when the step was followed by a validation (logged as its own record).
  public var validationLoss: Float?

  /// Hugging Face Trainer's names where it has one (`loss`, `grad_norm`, `learning_rate`,
  /// `epoch`, `step`), ours for the rest.
  enum CodingKeys: String, CodingKey {
    case stage, step, loss, epoch
    case steps = "max_steps", crossEntropy = "cross_entropy", meanSquaredError = "mse", learningRate = "learning_rate"
    case gradientNorm = "grad_norm", tokens = "num_input_tokens", tokensPerSecond = "train_tokens_per_second"
    case seconds = "elapsed"
  }

  public init(stage: String, step: Int, steps: Int, loss: Float, crossEntropy: Float, meanSquaredError: Float, learningRate: Float,
              gradientNorm: Float, tokens: Int, tokensPerSecond: Double, seconds: Double, epoch: Double = 0,
              validationLoss: Float? = nil)
  {
    self.stage = stage
    self.step = step
    self.steps = steps
    self.loss = loss
    self.crossEntropy = crossEntropy
    self.meanSquaredError = meanSquaredError
    self.learningRate = learningRate
    self.gradientNorm = gradientNorm
    self.tokens = tokens
    self.tokensPerSecond = tokensPerSecond
    self.seconds = seconds
    self.epoch = epoch
    self.validationLoss = validationLoss
  }
}

/// An evaluation record of the log, as Hugging Face Trainer writes one.
struct EvalLog: Codable {
  var stage: String
  var step: Int
  var epoch: Double
  var eval_loss: Float
  var eval_runtime: Double
  var eval_samples_per_second: Double
  var eval_steps_per_second: Double
}

/// The end-of-stage record (Hugging Face Trainer's end-of-training keys).
struct StageEndLog: Codable {
  var stage: String
  var step: Int
  var epoch: Double
  var train_runtime: Double
  var train_samples_per_second: Double
  var train_steps_per_second: Double
  var train_loss: Float
  /// Examples of the stage's data longer than its length, cut to fit.
  var trimmed_examples: Int
}

/// Any line of the log: what the plot and the resume logic read.
struct LogLine: Decodable {
  var stage: String
  var step: Int
  var loss: Float?
  var eval_loss: Float?
  var train_runtime: Double?
}

/// Runs the stages of a ``TrainConfig`` into an output directory:
///
///     OUT/stage-1-NAME/checkpoint-STEP/   model + optimizer state + data cursor, every few steps
///     OUT/stage-1-NAME/latest             name of the newest complete checkpoint
///     OUT/stage-1-NAME/model/             the stage's final model (ours + tag dictionary)
///     OUT/log.jsonl                       every step
///     OUT/run-config.json                 the config (canonical JSON) and its SHA-256
///     OUT/loss.svg                        the log as a chart (training and validation loss per stage)
///
/// Stages run in order; a completed stage is not run again. An interrupted stage resumes from
/// its latest checkpoint and, in deterministic mode (one BLAS thread, the default), reaches the
/// same weights an uninterrupted run reaches. Resuming needs the same config: an output of
/// another config (or of none recorded) is refused unless `restart` discards it.
public final class Trainer {
  public let config: TrainConfig
  public let output: String
  public let configDirectory: String
  /// Called after every step (for a progress line).
  public var onStep: ((StepLog) -> Void)?

  /// Worker threads (batch shards computed in parallel).
  var workers: Int { max(1, config.threads ?? 1) }

  /// Discard what an earlier run left in the output (of any config) and start over.
  @exclusivity(unchecked) public var restart: Bool

  /// With another config than the output's: keep the stages whose config, data and earlier
  /// stages are unchanged (their fingerprints agree) and train the rest again, instead of
  /// refusing the output (what `tagdata run` does when one task of a build changes).
  @exclusivity(unchecked) public var keepUnchangedStages = false

  /// The fingerprint of the stages so far (``stageFingerprint``).
  @exclusivity(unchecked) var chainFingerprint = ""

  /// Makes a dataset a config names by `builtin`: name, corpora folder, the model's tags (name →
  /// token ids), its text vocabulary size, the stage's length. The trainer reads no corpus
  /// itself: the caller passes a maker (the CLI passes the tasks module's corpus examples).
  public typealias DatasetMaker = (_ name: String, _ corpora: String, _ tags: [String: [Int]], _ vocabularySize: Int,
                                   _ length: Int) throws -> TokenDataset
  /// nil: a stage naming a built-in dataset is a config error.
  @exclusivity(unchecked) public var builtinDatasets: DatasetMaker?

  public init(config: TrainConfig, output: String, configDirectory: String, restart: Bool = false) {
    self.config = config
    self.output = output
    self.configDirectory = configDirectory
    self.restart = restart
  }

  /// `OUT/run-config.json`.
  struct RunRecord: Codable {
    var sha256: String
    var config: TrainConfig
  }

  var recordPath: String { output + "/run-config.json" }

  /// Checks that the output holds nothing or a run of this same config (which then resumes);
  /// with `restart`, removes what an earlier run wrote. Then records the config.
  func prepareOutput() throws {
    let canonical = try config.canonicalJSON()
    let hash = SHA256.hash(data: canonical).map { String(format: "%02x", $0) }.joined()
    let fm = FileManager.default
    let entries = (try? fm.contentsOfDirectory(atPath: output)) ?? []
    let earlier = entries.filter { $0.hasPrefix("stage-") || ["log.jsonl", "loss.svg", "run-config.json"].contains($0) }
    if !earlier.isEmpty && !restart {
      guard let data = fm.contents(atPath: recordPath), let stored = try? JSONDecoder().decode(RunRecord.self, from: data) else {
        throw config.error("", "\(output) holds the output of an earlier run whose config is not recorded: resuming it could "
                             + "mix two configs. Pass --restart to discard it and start over, or choose another --out")
      }
      if stored.sha256 == hash { return }
      if keepUnchangedStages {
        // Stages that are not in this config go; the others are checked one by one as they run.
        let current = Set(config.stages.enumerated().map { "stage-\($0.offset + 1)-\($0.element.name)" })
        let names = Set(config.stages.map(\.name))
        for entry in entries where entry.hasPrefix("stage-") && !current.contains(entry) {
          try? fm.removeItem(atPath: output + "/" + entry)
        }
        try filterLog { names.contains($0.stage) }
        try recordConfig(hash)
        return
      }
      throw config.error("", "\(output) holds a run of another config (sha256 \(stored.sha256.prefix(12))…, this config "
                           + "\(hash.prefix(12))…; \(Self.difference(stored.config, config))): its results are not this "
                           + "config's. Pass --restart to discard it and start over, or choose another --out")
    }
    do {
      for entry in earlier { try fm.removeItem(atPath: output + "/" + entry) }
    } catch {
      throw TrainOutputError(path: output, reason: "\(error)")
    }
    try recordConfig(hash)
  }

  /// Writes `OUT/run-config.json`.
  func recordConfig(_ hash: String) throws {
    let fm = FileManager.default
    do {
      try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
      try encoder.encode(RunRecord(sha256: hash, config: config)).write(to: URL(fileURLWithPath: recordPath + ".partial"))
      if rename(recordPath + ".partial", recordPath) != 0 { throw TrainError("cannot rename \(recordPath).partial: errno \(errno)") }
    } catch {
      throw TrainOutputError(path: output, reason: "\(error)")
    }
  }

  /// Where two configs first differ, in words.
  static func difference(_ a: TrainConfig, _ b: TrainConfig) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    func text<T: Encodable>(_ v: T) -> Data { (try? encoder.encode(v)) ?? Data() }
    if a.seed != b.seed { return "seed differs" }
    if a.threads != b.threads { return "threads differs" }
    if text(a.model) != text(b.model) { return "model differs" }
    if a.base != b.base || a.corpora != b.corpora { return "base or corpora differs" }
    for i in 0..<max(a.stages.count, b.stages.count) {
      guard i < a.stages.count, i < b.stages.count else { return "\(a.stages.count) stages before, \(b.stages.count) now" }
      if text(a.stages[i]) != text(b.stages[i]) { return "stages[\(i)] (\(b.stages[i].name)) differs" }
    }
    return "the configs differ"
  }

  public struct StageResult: Sendable {
    public var name: String
    public var firstValidationLoss: Float
    public var lastValidationLoss: Float
    public var model: String
    /// Examples longer than the stage's length, cut to fit: regression examples keep the tokens
    /// that end at their head's position (Tag-LLM's left trim), others their first tokens.
    public var trimmed = 0
  }

  public func run() throws -> [StageResult] {
    // The whole config is checked before any work.
    try config.validate()
    // Parallelism is over batch shards (one per worker thread); BLAS runs single-threaded in
    // each, which keeps both cores busy outside the matrix multiplies too.
    try Gemm.load()
    Gemm.setThreads(1)
    // Every step allocates and frees the same large activation buffers (measured: about a
    // sixth of step time went to faulting them in again).
    Allocator.keepFreedMemory()
    try prepareOutput()
    var model: Model
    if let base = config.base {
      do {
        model = try Model.load(from: base.hasPrefix("/") ? base : configDirectory + "/" + base)
      } catch {
        throw config.error("base", "cannot load the base model: \(error)")
      }
      let c = model.config
      let problems = TrainConfig.shapeProblems(vocabularySize: c.vocabularySize, dimension: c.dimension, layers: c.layers,
                                               heads: c.heads, feedForward: c.feedForward, headDimension: c.headDimension,
                                               at: "base", config.problem)
      if !problems.isEmpty {
        throw TrainConfigError(file: config.origin?.file, problems: problems.map { p in
          var p = p
          p.message = "the base model's " + p.keyPath.dropFirst(5) + " " + p.message
          p.keyPath = "base"
          return p
        })
      }
    } else {
      guard let m = config.model else { throw TrainError("the config needs `model` or `base`") }
      model = Model(config: ModelConfig(vocabularySize: m.vocabularySize ?? TrainConfig.defaultVocabularySize, dimension: m.dimension, layers: m.layers,
                                        heads: m.heads, feedForward: m.feedForward), seed: config.seed)
    }
    var results: [StageResult] = []
    chainFingerprint = ""
    for (index, stage) in config.stages.enumerated() {
      let (result, trained) = try runStage(index: index, stage: stage, model: model)
      results.append(result)
      model = trained
    }
    try writePlot()
    return results
  }

  /// `OUT/loss.svg`: the log as a chart, one panel per stage.
  func writePlot() throws {
    guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return }
    let decoder = JSONDecoder()
    var log: [StepLog] = []
    for line in text.split(separator: "\n") {
      if let l = try? decoder.decode(LogLine.self, from: Data(line.utf8)), l.train_runtime == nil {
        if let v = l.eval_loss, let k = log.lastIndex(where: { $0.stage == l.stage && $0.step == l.step }) {
          log[k].validationLoss = v
        } else if l.eval_loss == nil, let s = try? decoder.decode(StepLog.self, from: Data(line.utf8)) {
          log.append(s)
        }
      }
    }
    try Data(LossPlot.svg(log).utf8).write(to: URL(fileURLWithPath: output + "/loss.svg"))
  }


  struct TrainError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
  }

  func stageDirectory(_ index: Int, _ stage: TrainConfig.Stage) -> String { output + "/stage-\(index + 1)-\(stage.name)" }

  /// The folder of stage `index`'s final model in a run's output.
  public static func modelDirectory(output: String, index: Int, stage: TrainConfig.Stage) -> String {
    output + "/stage-\(index + 1)-\(stage.name)/model"
  }

  func runStage(index: Int, stage: TrainConfig.Stage, model start: Model) throws -> (StageResult, Model) {
    let dir = stageDirectory(index, stage)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var model = start
    // New vocabulary rows, tags and heads for this stage (deterministic from the seed and the stage).
    var newRows: [String: Range<Int>] = [:]
    if let size = stage.vocabularySize, size > model.config.vocabularySize {
      guard stage.kind == .domain else { throw TrainError("stage \(stage.name): only a domain stage may grow the vocabulary") }
      let first = model.growVocabulary(to: size, seed: config.seed &* 3_000_017 &+ UInt64(index))
      newRows = ["model.embed_tokens.weight": first..<size, "lm_head.weight": first..<size]
    }
    let earlierTags = model.tagNames
    for (k, tag) in (stage.tags ?? []).enumerated() where !model.tagNames.contains(tag.name) {
      model.addTag(tag.name, rows: tag.rows, seed: config.seed &* 1_000_003 &+ UInt64(index * 100 + k),
                   initialization: stage.tagInitialization ?? .tagLLM)
    }
    for (k, head) in (stage.heads ?? []).enumerated() where !model.headNames.contains(head) {
      model.addHead(head, seed: config.seed &* 2_000_003 &+ UInt64(index * 100 + k), initialization: stage.tagInitialization ?? .tagLLM)
    }
    let data = try dataset(stage, index: index, model: model)
    var train: [TokenDataset.Example], validation: [TokenDataset.Example]
    let (fitted, trimmed) = Self.fitted(data.examples, length: stage.length)
    if fitted.contains(where: { $0.split != nil }) {
      // A build's splits: train on `train`, validate on `valid`.
      train = fitted.filter { $0.split == "train" }
      validation = fitted.filter { $0.split == "valid" }
      guard !train.isEmpty, !validation.isEmpty else {
        throw config.error("stages[\(index)].data", "the dataset has \(train.count) training and \(validation.count) validation "
                             + "examples for this stage's tasks; both are needed")
      }
    } else {
      let fraction = stage.data.validationFraction ?? 0.1
      let validationCount = max(1, Int(Double(fitted.count) * fraction))
      guard fitted.count > validationCount else {
        throw config.error("stages[\(index)].data", "too few examples (\(fitted.count)) for a training and a validation part")
      }
      train = Array(fitted.dropLast(validationCount))
      validation = Array(fitted.suffix(validationCount))
    }
    // Standardized targets for this stage's heads: (y - mean) / sd during the stage, folded back
    // into the heads' weights when it ends.
    var standardization: [String: (mean: Double, sd: Double)] = [:]
    if stage.standardizeTargets == true {
      for head in stage.heads ?? [] {
        var ys: [Double] = []
        for e in train { for r in e.regression where r.head == head { ys.append(r.target) } }
        guard !ys.isEmpty else { continue }
        var sum = 0.0, squares = 0.0
        for y in ys { sum += y }
        let mean = sum / Double(ys.count)
        for y in ys { squares += (y - mean) * (y - mean) }
        let sd = (squares / Double(ys.count)).squareRoot()
        standardization[head] = (mean, sd > 0 && sd.isFinite ? sd : 1)
      }
      func standardized(_ e: TokenDataset.Example) -> TokenDataset.Example {
        var e = e
        for k in e.regression.indices {
          if let s = standardization[e.regression[k].head] { e.regression[k].target = (e.regression[k].target - s.mean) / s.sd }
        }
        return e
      }
      train = train.map(standardized)
      validation = validation.map(standardized)
    }
    let trainable = trainableNames(stage, model: model, earlierTags: earlierTags) + newRows.keys.sorted()
    // Frozen weights get no gradient buffers and no weight-gradient products.
    let trainableSet = Set(trainable)
    let finalDirectory = dir + "/model"
    try checkFingerprint(stage: stage, index: index, dir: dir, examples: fitted)
    if FileManager.default.fileExists(atPath: finalDirectory + "/complete") {
      let done = try Model.load(from: finalDirectory)
      let summary = try JSONDecoder().decode(StageSummary.self, from: Data(contentsOf: URL(fileURLWithPath: finalDirectory + "/complete")))
      return (StageResult(name: stage.name, firstValidationLoss: summary.first, lastValidationLoss: summary.last, model: finalDirectory,
                          trimmed: trimmed), done)
    }
    let o = stage.optimizer
    var optimizer = AdamW(weightDecay: o?.weightDecay ?? 0.01, clipNorm: o?.clipNorm ?? 1.0)
    optimizer.tagWeightDecay = o?.tagWeightDecay ?? 0
    if let b = o?.beta1 { optimizer.beta1 = b }
    if let b = o?.beta2 { optimizer.beta2 = b }
    if let e = o?.epsilon { optimizer.epsilon = e }
    var rng = SplitMix64(seed: config.seed &+ UInt64(index) &* 7919)
    var step = 0
    var firstValidation: Float?
    // Resume from the latest checkpoint.
    if let latest = try? String(contentsOfFile: dir + "/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
      !latest.isEmpty
    {
      let state = try loadCheckpoint(dir + "/" + latest, into: &model, optimizer: &optimizer)
      step = state.step
      rng.state = state.rng
      firstValidation = state.firstValidation
    }
    try truncateLog(stage: stage.name, after: step)
    let schedule = Schedule(peak: stage.learningRate, minimum: stage.learningRate * 0.1, warmup: stage.warmup ?? max(1, stage.steps / 10),
                            total: stage.steps)
    let scale = stage.regressionScale ?? 100
    if firstValidation == nil { firstValidation = validationLoss(model, validation, stage) }
    var lastValidation = firstValidation!
    let started = Date()
    var tokensSeen = 0
    var excluded = 0.0  // seconds of validation and checkpoints: not training throughput
    let examplesPerStep = Double(stage.batch * max(1, stage.accumulate ?? 1))
    let stepsAtStart = step
    while step < stage.steps {
      step += 1
      let accumulate = max(1, stage.accumulate ?? 1)
      var sum = Parameters()
      var loss = Model.Loss(crossEntropy: 0, meanSquaredError: 0, total: 0)
      var tokens = 0
      for _ in 0..<accumulate {
        let picked = (0..<stage.batch).map { _ in train[Int(rng.next() % UInt64(train.count))] }
        // Data parallel: the batch is cut into one shard per worker; each shard's loss is
        // normalized by the whole batch, so the shard gradients add up to the batch's.
        let whole = TokenDataset.batch(picked, length: stage.length, bidirectional: stage.bidirectionalInputs == true)
        tokens += whole.keyMask.filter { $0 }.count
        let normalizers = Model.Normalizers(crossEntropy: whole.lossWeights.reduce(0, +),
                                            regression: Float(max(whole.regression.count, 1)))
        let shardCount = min(workers, picked.count)
        let shards = (0..<shardCount).map { s in
          TokenDataset.batch(Array(picked[(s * picked.count / shardCount)..<((s + 1) * picked.count / shardCount)]),
                             length: stage.length, bidirectional: stage.bidirectionalInputs == true)
        }
        let results = UncheckedResults(count: shardCount)
        let current = model
        let threads = (1..<shardCount).map { s in
          JoinableThread {
            results.set(s, current.gradients(shards[s], regressionScale: scale, normalizers: normalizers, trainable: trainableSet))
          }
        }
        results.set(0, current.gradients(shards[0], regressionScale: scale, normalizers: normalizers, trainable: trainableSet))
        for t in threads { t.join() }
        for s in 0..<shardCount {
          let (l, g) = results.get(s)
          let share = 1 / Float(accumulate)
          for name in trainable {
            let gt = g[name]
            if !sum.contains(name) {
              sum[name] = accumulate == 1 ? gt : Tensor(shape: gt.shape, data: gt.data.map { $0 * share })
              continue
            }
            sum[name].data.withUnsafeMutableBufferPointer { acc in
              gt.data.withUnsafeBufferPointer { gp in
                for i in 0..<acc.count { acc[i] += gp[i] * share }
              }
            }
          }
          loss.crossEntropy += l.crossEntropy / Float(accumulate)
          loss.meanSquaredError += l.meanSquaredError / Float(accumulate)
          loss.total += l.total / Float(accumulate)
        }
      }
      // A loss or gradient that is no longer finite: stop before it reaches the weights or the log.
      if !loss.total.isFinite { throw TrainingDiverged(stage: stage.name, step: step, what: "training loss", value: loss.total) }
      let rate = schedule.rate(step)
      var gradientFinite = true
      for name in trainable where gradientFinite {
        sum[name].data.withUnsafeBufferPointer { g in
          for x in g where !x.isFinite {
            gradientFinite = false
            break
          }
        }
      }
      if !gradientFinite { throw TrainingDiverged(stage: stage.name, step: step, what: "gradient", value: .nan) }
      let norm = optimizer.update(&model.parameters, gradients: sum, trainable: trainable, rate: rate, rows: newRows)
      tokensSeen += tokens
      let elapsed = Date().timeIntervalSince(started)
      let epoch = Double(step) * examplesPerStep / Double(train.count)
      var log = StepLog(stage: stage.name, step: step, steps: stage.steps, loss: loss.total, crossEntropy: loss.crossEntropy,
                        meanSquaredError: loss.meanSquaredError, learningRate: rate, gradientNorm: norm, tokens: tokens,
                        tokensPerSecond: Double(tokensSeen) / max(elapsed - excluded, 1e-9), seconds: elapsed, epoch: epoch)
      try appendLog(log)
      if step % max(1, stage.validateEvery ?? 20) == 0 || step == stage.steps {
        let t0 = Date()
        lastValidation = validationLoss(model, validation, stage)
        if !lastValidation.isFinite {
          throw TrainingDiverged(stage: stage.name, step: step, what: "validation loss", value: lastValidation)
        }
        let runtime = Date().timeIntervalSince(t0)
        excluded += runtime
        log.validationLoss = lastValidation
        let batches = Double((validation.count + stage.batch - 1) / stage.batch)
        try appendLog(EvalLog(stage: stage.name, step: step, epoch: epoch, eval_loss: lastValidation, eval_runtime: runtime,
                              eval_samples_per_second: Double(validation.count) / max(runtime, 1e-9),
                              eval_steps_per_second: batches / max(runtime, 1e-9)))
      }
      onStep?(log)
      if step % max(1, stage.checkpointEvery ?? 20) == 0 && step < stage.steps {
        let t0 = Date()
        try saveCheckpoint(dir: dir, step: step, model: model, optimizer: optimizer, rng: rng.state, firstValidation: firstValidation!)
        excluded += Date().timeIntervalSince(t0)
      }
    }
    let runtime = Date().timeIntervalSince(started)
    let losses = stageLosses(stage.name)
    try appendLog(StageEndLog(stage: stage.name, step: step, epoch: Double(step) * examplesPerStep / Double(train.count),
                              train_runtime: runtime,
                              train_samples_per_second: Double(step - stepsAtStart) * examplesPerStep / max(runtime, 1e-9),
                              train_steps_per_second: Double(step - stepsAtStart) / max(runtime, 1e-9),
                              train_loss: losses.isEmpty ? .nan : losses.reduce(0, +) / Float(losses.count),
                              trimmed_examples: trimmed))
    for (head, st) in standardization {
      let scale = Float(st.sd), shift = Float(st.mean)
      let w: [Float] = model.parameters["heads.\(head).weight"].data, b: [Float] = model.parameters["heads.\(head).bias"].data
      model.parameters["heads.\(head).weight"].data = w.map { $0 * scale }
      model.parameters["heads.\(head).bias"].data = b.map { $0 * scale + shift }
    }
    try? FileManager.default.removeItem(atPath: finalDirectory)
    try model.save(to: finalDirectory)
    try JSONEncoder().encode(StageSummary(first: firstValidation!, last: lastValidation))
      .write(to: URL(fileURLWithPath: finalDirectory + "/complete"))
    return (StageResult(name: stage.name, firstValidationLoss: firstValidation!, lastValidationLoss: lastValidation,
                        model: finalDirectory, trimmed: trimmed), model)
  }

  /// A stage's fingerprint: SHA-256 of the earlier stages' fingerprint, the run-wide settings,
  /// the stage's config and the examples it reads (tokens as mapped, masks, targets, splits,
  /// spans). A stage's result follows from these alone (training is deterministic).
  static func stageFingerprint(previous: String, config: TrainConfig, stage: TrainConfig.Stage, examples: [TokenDataset.Example]) throws
    -> String
  {
    var hasher = SHA256()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var global = config
    global.stages = []
    global.origin = nil
    hasher.update(data: Array(previous.utf8) + [0x0A])
    hasher.update(data: try encoder.encode(global) + Data([0x0A]))
    hasher.update(data: try encoder.encode(stage) + Data([0x0A]))
    var buffer: [UInt8] = []
    func int(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { buffer.append(contentsOf: $0) } }
    for e in examples {
      buffer.removeAll(keepingCapacity: true)
      buffer.append(contentsOf: e.task.utf8)
      buffer.append(0)
      buffer.append(contentsOf: (e.split ?? "").utf8)
      buffer.append(0)
      int(e.tokens.count)
      for t in e.tokens { int(t) }
      for m in e.lossMask { buffer.append(m ? 1 : 0) }
      int(e.regression.count)
      for r in e.regression {
        buffer.append(contentsOf: r.head.utf8)
        buffer.append(0)
        int(r.position)
        withUnsafeBytes(of: r.target.bitPattern.littleEndian) { buffer.append(contentsOf: $0) }
      }
      int(e.spans.count)
      for sp in e.spans {
        int(sp.lowerBound)
        int(sp.upperBound)
      }
      hasher.update(data: buffer)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }

  /// Checks `DIR/fingerprint` against the stage's fingerprint now: a stage trained (or begun)
  /// from other data or after other earlier stages is trained again with `keepUnchangedStages`,
  /// and refused otherwise (its config is the same, so its data changed under it).
  func checkFingerprint(stage: TrainConfig.Stage, index: Int, dir: String, examples: [TokenDataset.Example]) throws {
    let fingerprint = try Self.stageFingerprint(previous: chainFingerprint, config: config, stage: stage, examples: examples)
    chainFingerprint = fingerprint
    let path = dir + "/fingerprint"
    let fm = FileManager.default
    let stored = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    let begun = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).contains { $0 == "model" || $0 == "latest" || $0.hasPrefix("checkpoint-") }
    if begun && stored != fingerprint && (stored != nil || keepUnchangedStages) {
      guard keepUnchangedStages else {
        throw config.error("stages[\(index)]", "stage \(stage.name) in \(dir) was trained on other data or after other earlier "
                             + "stages than this run gives it (its fingerprint differs): pass --restart to train again")
      }
      for entry in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] { try fm.removeItem(atPath: dir + "/" + entry) }
      try filterLog { $0.stage != stage.name }
    }
    if stored != fingerprint { try Data((fingerprint + "\n").utf8).write(to: URL(fileURLWithPath: path)) }
  }



  struct StageSummary: Codable {
    var first: Float
    var last: Float
  }

  /// Which tensors a stage trains: everything but tags and heads in a base stage; the stage's
  /// own tags and heads (and earlier tags if asked) otherwise.
  func trainableNames(_ stage: TrainConfig.Stage, model: Model, earlierTags: [String]) -> [String] {
    switch stage.kind {
    case .base:
      return model.parameters.names.filter { !$0.hasPrefix("tags.") && !$0.hasPrefix("heads.") }
    case .domain, .function:
      var names = (stage.tags ?? []).map { "tags.\($0.name)" }
      for h in stage.heads ?? [] { names += ["heads.\(h).weight", "heads.\(h).bias"] }
      if stage.trainEarlierTags == true { names += earlierTags.map { "tags.\($0)" } }
      return names.filter { model.parameters.contains($0) }
    }
  }

  func validationLoss(_ model: Model, _ examples: [TokenDataset.Example], _ stage: TrainConfig.Stage) -> Float {
    // Per target, not per batch: a short last batch weighs what its targets weigh.
    let s = model.summedLosses(examples, length: stage.length, batch: stage.batch, bidirectional: stage.bidirectionalInputs == true)
    let scale = Double(stage.regressionScale ?? 100)
    return Float(s.crossEntropy / max(s.targets, 1) + scale * s.squaredError / max(s.regressions, 1))
  }



  /// The stage's examples, checked against the model: every token id in its vocabulary or a
  /// tag, every regression head one the model has.
  func dataset(_ stage: TrainConfig.Stage, index: Int, model: Model) throws -> TokenDataset {
    let at = "stages[\(index)].data"
    let data: TokenDataset
    if let path = stage.data.path {
      let full = path.hasPrefix("/") ? path : configDirectory + "/" + path
      do {
        if try TokenShards.isVersion2(full) {
          data = try remapped(TokenShards.read(from: full, tasks: stage.data.tasks.map(Set.init)), model: model, at: at)
          if data.examples.isEmpty {
            throw config.error(at + ".tasks", "no example of the tasks \(stage.data.tasks ?? []) in \(full)")
          }
        } else {
          data = try TokenDataset.read(from: full)
        }
      } catch let e as TrainConfigError {
        throw e
      } catch {
        throw config.error(at + ".path", "cannot read the token dataset \(full): \(error)")
      }
    } else {
      guard let builtin = stage.data.builtin else { throw config.error(at, "needs `path` or `builtin`") }
      let given = config.corpora ?? "../Corpora"
      let corpora = given.hasPrefix("/") ? given : configDirectory + "/" + given
      do {
        guard let make = builtinDatasets else { throw BuiltinUnavailable() }
        var tags: [String: [Int]] = [:]
        for t in model.tagNames { tags[t] = model.tagTokens(t) }
        data = try make(builtin, corpora, tags, model.config.vocabularySize, stage.length)
      } catch {
        throw config.error(at + ".builtin", "\(error)" + (config.corpora == nil ? "" : " (corpora: \(corpora))"))
      }
    }
    let limit = model.config.vocabularySize + model.tagNames.reduce(0) { $0 + model.tagTokens($1).count }
    let heads = Set(model.headNames)
    for (n, e) in data.examples.enumerated() {
      if e.tokens.count != e.lossMask.count { throw config.error(at, "example \(n + 1): tokens and loss mask differ in length") }
      if let bad = e.tokens.first(where: { $0 < 0 || $0 >= limit }) {
        throw config.error(at, "example \(n + 1) has token id \(bad), but the model has \(model.config.vocabularySize) tokens "
                             + "and \(limit - model.config.vocabularySize) tag rows (a vocabulary too small for this data?)")
      }
      for r in e.regression where !heads.contains(r.head) {
        throw config.error(at, "example \(n + 1) regresses on the head \"\(r.head)\", which the model does not have "
                             + "(declare it in `heads` of this stage or an earlier one)")
      }
    }
    return data
  }

  /// Examples cut to `length` tokens: a regression example keeps the `length` tokens that end
  /// at its last head position (its positions move with them; heads before the cut are
  /// dropped), a generation example with an output (`outputStart`) the `length` tokens that end
  /// with it, any other its first `length` tokens. Returns them and how many were cut.
  public static func fitted(_ examples: [TokenDataset.Example], length: Int) -> ([TokenDataset.Example], Int) {
    var trimmed = 0
    let out = examples.map { e -> TokenDataset.Example in
      guard e.tokens.count > length else { return e }
      trimmed += 1
      var f = e
      // A regression keeps the tokens that end at its last head, a generation record with an
      // output (a translation, a label as text) those that end with the output; others their start.
      let window: Range<Int>
      if let last = e.regression.map(\.position).max() {
        let end = min(last + 1, e.tokens.count)
        window = max(0, end - length)..<end
      } else if e.outputStart != nil {
        window = max(0, e.tokens.count - length)..<e.tokens.count
      } else {
        window = 0..<length
      }
      let start = window.lowerBound, end = window.upperBound
      f.tokens = Array(e.tokens[window])
      f.lossMask = Array(e.lossMask[window])
      f.regression = e.regression.filter { $0.position >= start }.map {
        var r = $0
        r.position -= start
        return r
      }
      f.outputStart = e.outputStart.map { max(0, $0 - start) }
      f.spans = e.spans.compactMap { s in
        let a = max(s.lowerBound, start), b = min(s.upperBound, end)
        return a < b ? (a - start)..<(b - start) : nil
      }
      return f
    }
    return (out, trimmed)
  }

  /// A version-2 dataset's examples with their ids mapped to the model's: text ids unchanged,
  /// each tag's ids to the model's rows of the tag of that name, the domain ranges (SMILES
  /// tokens, residues) to the vocabulary rows the model grew after the text ones.
  func remapped(_ read: (manifest: TokenShards.Manifest, examples: [TokenDataset.Example]), model: Model, at: String) throws
    -> TokenDataset
  {
    let v = read.manifest.vocabulary
    // A base model that brings its tokenizer: the dataset must have been tokenized with it.
    if let base = config.base {
      let dir = base.hasPrefix("/") ? base : configDirectory + "/" + base
      if let data = FileManager.default.contents(atPath: dir + "/tokenizer.json") {
        let sha = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        if v.textSHA256 != sha {
          throw config.error(at, "the dataset was tokenized with \(v.text) (\(v.textSize) tokens), not with the base model's "
                               + "tokenizer.json: export it again with --tokenizer \(dir)/tokenizer.json")
        }
      }
    }
    let examples: [TokenDataset.Example]
    do {
      examples = try DatasetMapping.map(read.examples, vocabulary: v, model: model)
    } catch let e as DatasetMapping.MappingError {
      throw config.error(at, e.description)
    }
    var tags: [String: [Int]] = [:]
    for t in model.tagNames { tags[t] = model.tagTokens(t) }
    return TokenDataset(vocabularySize: model.config.vocabularySize, tags: tags, examples: examples)
  }

  // MARK: Checkpoints and log.

  func saveCheckpoint(dir: String, step: Int, model: Model, optimizer: AdamW, rng: UInt64, firstValidation: Float) throws {
    let name = "checkpoint-\(step)"
    let tmp = dir + "/" + name + ".partial"
    try? FileManager.default.removeItem(atPath: tmp)
    try model.save(to: tmp)
    var moments: [(String, Tensor)] = []
    for name in optimizer.moments.keys.sorted() {
      let s = optimizer.moments[name]!
      moments.append(("m." + name, Tensor(shape: [s.m.count], data: s.m)))
      moments.append(("v." + name, Tensor(shape: [s.v.count], data: s.v)))
    }
    try Safetensors.write(moments, metadata: ["step": "\(optimizer.step)"], to: tmp + "/optimizer.safetensors")
    let state = CheckpointState(step: step, rng: rng, optimizerStep: optimizer.step, firstValidation: firstValidation)
    try JSONEncoder().encode(state).write(to: URL(fileURLWithPath: tmp + "/state.json"))
    try? FileManager.default.removeItem(atPath: dir + "/" + name)
    try FileManager.default.moveItem(atPath: tmp, toPath: dir + "/" + name)
    // Point `latest` at it atomically, then drop older checkpoints.
    try Data(name.utf8).write(to: URL(fileURLWithPath: dir + "/latest.partial"))
    if rename(dir + "/latest.partial", dir + "/latest") != 0 { throw TrainError("cannot update \(dir)/latest") }
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where entry.hasPrefix("checkpoint-") && entry != name {
      try? FileManager.default.removeItem(atPath: dir + "/" + entry)
    }
  }

  struct CheckpointState: Codable {
    var step: Int
    var rng: UInt64
    var optimizerStep: Int
    var firstValidation: Float
  }

  func loadCheckpoint(_ path: String, into model: inout Model, optimizer: inout AdamW) throws -> CheckpointState {
    let saved = try Model.load(from: path)
    for name in model.parameters.names {
      guard saved.parameters.contains(name) else { throw TrainError("\(path): checkpoint lacks \(name)") }
      model.parameters[name] = saved.parameters[name]
    }
    let state = try JSONDecoder().decode(CheckpointState.self, from: Data(contentsOf: URL(fileURLWithPath: path + "/state.json")))
    let (tensors, _) = try Safetensors.read(path + "/optimizer.safetensors")
    var moments: [String: (m: [Float], v: [Float])] = [:]
    for (key, t) in tensors where key.hasPrefix("m.") {
      let name = String(key.dropFirst(2))
      moments[name] = (t.data, tensors["v." + name]?.data ?? [])
    }
    optimizer.restore(step: state.optimizerStep, moments: moments)
    return state
  }

  var logPath: String { output + "/log.jsonl" }

  /// The training losses of a stage's steps in the log.
  func stageLosses(_ stage: String) -> [Float] {
    guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
    let decoder = JSONDecoder()
    return text.split(separator: "\n").compactMap { line in
      guard let l = try? decoder.decode(LogLine.self, from: Data(line.utf8)), l.stage == stage, l.train_runtime == nil else { return nil }
      return l.loss
    }
  }

  func appendLog(_ log: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var line = try encoder.encode(log)
    line.append(0x0A)
    if let h = FileHandle(forWritingAtPath: logPath) {
      defer { try? h.close() }
      try h.seekToEnd()
      try h.write(contentsOf: line)
    } else {
      try line.write(to: URL(fileURLWithPath: logPath))
    }
  }

  /// Drops log lines of this stage past `step` (written after the checkpoint an interrupted run
  /// resumes from), so that the log has each step once.
  func truncateLog(stage: String, after step: Int) throws {
    // A stage's end record goes with its steps when it resumes.
    try filterLog { $0.stage != stage || ($0.step <= step && $0.train_runtime == nil) }
  }

  /// Keeps the log lines `keep` accepts (unreadable lines go).
  func filterLog(_ keep: (LogLine) -> Bool) throws {
    guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return }
    let decoder = JSONDecoder()
    let kept = text.split(separator: "\n").filter { line in
      guard let l = try? decoder.decode(LogLine.self, from: Data(line.utf8)) else { return false }
      return keep(l)
    }
    try Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8).write(to: URL(fileURLWithPath: logPath))
  }

}

/// Per-shard results written by worker threads, each slot by one thread.
final class UncheckedResults: @unchecked Sendable {
  @exclusivity(unchecked) private var slots: [(Model.Loss, Parameters)?]
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ value: (Model.Loss, Parameters)) { slots[i] = value }
  func get(_ i: Int) -> (Model.Loss, Parameters) { slots[i]! }
}

/// A stage names a built-in dataset, but the trainer was given no maker for them.
struct BuiltinUnavailable: Error, CustomStringConvertible {
  var description: String { "built-in datasets are not available to this trainer (no dataset maker given)" }
}
