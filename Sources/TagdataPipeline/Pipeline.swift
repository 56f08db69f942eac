import Foundation
import TagdataBio
import TagdataCatalog
import TagdataEval
import TagdataIngest
import TagdataLabels
import TagdataSources
import TagdataTasks
import TagdataTrain

#if canImport(Glibc)
import Glibc
#endif

/// `tagdata run`: every step of a ``PipelineConfig`` into one output folder, in order:
///
///     OUT/catalog.sqlite        ingest, then describe (labels)
///     OUT/builds/NAME/          tagdata build
///     OUT/tokens/NAME/          tagdata export --tokenized
///     OUT/train/NAME/           tagdata train (the stages of its config)
///     OUT/eval/NAME/            tagdata eval
///     OUT/compare/NAME/         tagdata eval compare
///     OUT/pipeline-state.json   each step's key, status and output hash
///     OUT/run.json, run.md      what this run did: each step ran or skipped, and its time
///
/// A step's key is the SHA-256 of what it reads: its part of the configuration, the content of
/// its input files and the output hashes of the steps before it. A step whose key and output
/// hash are those of its last completed run is skipped; a changed input re-runs the step and,
/// where its output changes, the steps that read it. A step is marked running before it starts
/// and done after its output is complete: after an interruption (even SIGKILL) the next run
/// resumes the interrupted step (ingest continues where its last batch ended, training from its
/// last checkpoint; builds, exports and reports are written whole or not at all) and skips the
/// completed ones, so it ends with what an uninterrupted run gives.
public final class Pipeline {
  public let config: PipelineConfig
  public let output: String
  public let toolVersion: String

  public enum Status: String, Codable, Sendable {
    case ran, skipped, resumed
  }

  public enum Event: Sendable {
    /// A step begins (`index` from 0 of `total`).
    case started(id: String, index: Int, total: Int)
    /// A line of progress inside a step.
    case progress(id: String, text: String)
    case finished(id: String, status: Status, seconds: Double)
  }

  public var onEvent: ((Event) -> Void)?

  public struct StepSummary: Codable, Sendable {
    public var id: String
    public var status: Status
    public var seconds: Double
    public var key: String
    public var output: String
  }

  public struct Summary: Codable, Sendable {
    public var steps: [StepSummary]
    public var seconds: Double
    public var output: String
  }

  /// A step that could not be done; `underlying` is the library error it came from, if any.
  public struct Failure: Error, CustomStringConvertible, Sendable {
    public var step: String
    public var message: String
    public var underlying: (any Error)?
    public init(step: String, message: String, underlying: (any Error)? = nil) {
      self.step = step
      self.message = message
      self.underlying = underlying
    }
    public var description: String { "step \(step): \(message)" }
  }

  public init(config: PipelineConfig, output: String, toolVersion: String) {
    self.config = config
    self.output = output.hasPrefix("/") ? output : FileManager.default.currentDirectoryPath + "/" + output
    self.toolVersion = toolVersion
  }

  // MARK: State

  struct StepRecord: Codable {
    var key: String
    var status: String
    var output: String?
    var seconds: Double?
  }

  struct State: Codable {
    var version = 1
    var steps: [String: StepRecord] = [:]
    /// The catalog's content hash after the last step that wrote it.
    var catalog: String?
    var fingerprints: [String: Fingerprints.Entry] = [:]
  }

  var statePath: String { output + "/pipeline-state.json" }
  var catalogPath: String { output + "/" + config.catalog }

  func loadState() -> State {
    guard let data = FileManager.default.contents(atPath: statePath),
      let s = try? JSONDecoder().decode(State.self, from: data), s.version == 1
    else { return State() }
    return s
  }

  func save(_ state: State) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    try writeAtomically(try encoder.encode(state), to: statePath)
  }

  // MARK: Steps

  struct Step {
    var id: String
    /// The key from the outputs of earlier steps.
    var key: (_ upstream: [String: String]) throws -> String
    /// Does the work; `resume`: the same key was interrupted here before.
    var run: (_ resume: Bool) throws -> Void
    /// The output's hash now (throws or nil when the output is missing).
    var digest: () throws -> String?
  }

  /// The steps of the configuration, in order.
  func steps() throws -> [Step] {
    var out: [Step] = []
    let fp = fingerprints
    let ingestEntries = config.ingest.map { e in (e, config.inputs(of: e)) }
    out.append(
      Step(
        id: "ingest",
        key: { _ in
          var text = "ingest\n\(self.toolVersion)\n\(self.config.catalog)\n"
          for (e, files) in ingestEntries {
            text += "entry preset=\(e.preset ?? "") columns=\(e.columns ?? "")\n"
            for f in files { text += "\(f)\t\(try fp.file(f))\n" }
          }
          return Fingerprints.hash(text)
        },
        run: { resume in try self.ingest(ingestEntries, resume: resume) },
        digest: { try self.catalogDigest() }))
    if !config.describe.isEmpty {
      out.append(
        Step(
          id: "describe",
          key: { up in Fingerprints.hash("describe\n\(self.toolVersion)\n\(self.config.describe.joined(separator: ","))\n\(up["ingest"]!)") },
          run: { _ in try self.describe() }, digest: { try self.catalogDigest() }))
    }
    let catalogStep = config.describe.isEmpty ? "ingest" : "describe"
    for b in config.builds {
      let dir = output + "/builds/" + b.name
      out.append(
        Step(
          id: "build:" + b.name,
          key: { up in
            let c = try self.taskConfig(b)
            var text = "build\n\(self.toolVersion)\n\(c.yaml)\nshards=\(b.shards)\n\(up[catalogStep]!)\n"
            for t in c.tasks {
              if case let .text(path, _) = t.source { text += "\(path)\t\(try fp.file(path))\n" }
            }
            return Fingerprints.hash(text)
          },
          run: { _ in try self.build(b, into: dir) }, digest: { try fp.folder(dir) }))
    }
    for t in config.tokenize {
      let dir = output + "/tokens/" + t.name
      out.append(
        Step(
          id: "tokenize:" + t.name,
          key: { up in
            var text = "tokenize\n\(self.toolVersion)\n\(up["build:" + t.build]!)\nsmiles=\(t.smilesTokens) \(t.smilesMinimumCount) residues=\(t.residueTokens) text=\(t.regressionAsText)\n"
            if let path = t.tokenizer { text += "tokenizer \(try self.tokenizerDigest(path))\n" }
            return Fingerprints.hash(text)
          },
          run: { _ in try self.tokenize(t, into: dir) }, digest: { try fp.folder(dir) }))
    }
    for t in config.train {
      let dir = output + "/train/" + t.name
      out.append(
        Step(
          id: "train:" + t.name,
          key: { up in
            let (c, inputs) = try self.trainConfig(t)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var text = "train\n\(self.toolVersion)\n" + String(decoding: try encoder.encode(c), as: UTF8.self) + "\n"
            if let d = t.dataset { text += "dataset \(up["tokenize:" + d]!)\n" }
            for path in inputs { text += "\(path)\t\(try fp.folder(path))\n" }
            return Fingerprints.hash(text)
          },
          run: { _ in try self.train(t, into: dir) },
          digest: { try fp.folder(dir, skip: Self.trainingScratch) }))
    }
    for e in config.eval {
      let dir = output + "/eval/" + e.name
      out.append(
        Step(
          id: "eval:" + e.name,
          key: { up in
            var text = "eval\n\(self.toolVersion)\n\(up["train:" + e.train]!)\n\(up["tokenize:" + e.dataset]!)\n"
            text += "stage=\(e.stage ?? "") split=\(e.split) tasks=\(e.tasks?.joined(separator: ",") ?? "") length=\(e.length) "
            text += "batch=\(e.batch) resamples=\(e.resamples) seed=\(e.seed)\n"
            if let b = e.build { text += "build \(up["build:" + b]!)\n" }
            return Fingerprints.hash(text)
          },
          run: { _ in try self.evaluate(e, into: dir) }, digest: { try fp.folder(dir) }))
    }
    for c in config.compare {
      let dir = output + "/compare/" + c.name
      out.append(
        Step(
          id: "compare:" + c.name,
          key: { up in
            Fingerprints.hash("compare\n\(self.toolVersion)\n" + c.reports.map { "\($0.label)=\(up["eval:" + $0.eval]!)" }.joined(separator: "\n"))
          },
          run: { _ in try self.compare(c, into: dir) }, digest: { try fp.folder(dir) }))
    }
    return out
  }

  /// Files of a training run that are not its result: checkpoints (removed as training goes
  /// on), the step log and its plot (they carry timings).
  static func trainingScratch(_ relative: String) -> Bool {
    relative.contains("checkpoint-") || relative.hasSuffix("/latest") || relative == "log.jsonl" || relative == "loss.svg"
  }

  let fingerprints = Fingerprints()

  /// The steps the configuration gives, in the order they run.
  public func stepIDs() throws -> [String] { try steps().map(\.id) }

  // MARK: Running

  /// Runs every step whose inputs changed since its last completed run.
  public func run() throws -> Summary {
    let started = Date()
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    let lock = try OutputLock(output + "/.lock")
    defer { lock.release() }
    var state = loadState()
    fingerprints.load(state.fingerprints)
    let plan = try steps()
    var upstream: [String: String] = [:]
    var summaries: [StepSummary] = []
    for (index, step) in plan.enumerated() {
      onEvent?(.started(id: step.id, index: index, total: plan.count))
      let t0 = Date()
      let key: String
      do {
        key = try step.key(upstream)
      } catch let f as Failure {
        throw f
      } catch {
        throw Failure(step: step.id, message: "\(error)", underlying: error)
      }
      let record = state.steps[step.id]
      let catalogStep = step.id == "ingest" || step.id == "describe"
      if let record, record.status == "done", record.key == key, let stored = record.output {
        // Done before with the same inputs: skip when its output is still what it wrote.
        let now = catalogStep ? (state.catalog == (try? catalogDigest()) ? stored : nil) : (try? step.digest()) ?? nil
        if now == stored {
          upstream[step.id] = stored
          let s = StepSummary(id: step.id, status: .skipped, seconds: Date().timeIntervalSince(t0), key: key, output: stored)
          summaries.append(s)
          onEvent?(.finished(id: step.id, status: .skipped, seconds: s.seconds))
          continue
        }
      }
      let resume = record?.status == "running" && record?.key == key
      state.steps[step.id] = StepRecord(key: key, status: "running")
      state.fingerprints = fingerprints.cache
      try save(state)
      if catalogStep { knownCatalogDigest = nil }
      do {
        try step.run(resume)
      } catch let f as Failure {
        throw f
      } catch {
        throw Failure(step: step.id, message: "\(error)", underlying: error)
      }
      guard let digest = try step.digest() else { throw Failure(step: step.id, message: "the step left no output") }
      let seconds = Date().timeIntervalSince(t0)
      if catalogStep { state.catalog = digest }
      state.steps[step.id] = StepRecord(key: key, status: "done", output: digest, seconds: seconds)
      state.fingerprints = fingerprints.cache
      try save(state)
      upstream[step.id] = digest
      let status: Status = resume ? .resumed : .ran
      summaries.append(StepSummary(id: step.id, status: status, seconds: seconds, key: key, output: digest))
      onEvent?(.finished(id: step.id, status: status, seconds: seconds))
    }
    // Steps no longer in the configuration are forgotten (their folders stay).
    let ids = Set(plan.map(\.id))
    for id in state.steps.keys where !ids.contains(id) { state.steps[id] = nil }
    fingerprints.prune(below: output + "/")
    state.fingerprints = fingerprints.cache
    try save(state)
    let summary = Summary(steps: summaries, seconds: Date().timeIntervalSince(started), output: output)
    try writeSummary(summary)
    return summary
  }

  func writeSummary(_ s: Summary) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    try writeAtomically(try encoder.encode(s) + Data([0x0A]), to: output + "/run.json")
    var md = "# tagdata run\n\nConfiguration `\(config.file)`, output `\(output)`, \(String(format: "%.1f", s.seconds)) s in all.\n\n"
    md += "| step | status | seconds | output hash |\n|---|---|---:|---|\n"
    for step in s.steps {
      md += "| \(step.id) | \(step.status.rawValue) | \(String(format: "%.2f", step.seconds)) | `\(step.output.prefix(12))` |\n"
    }
    if !config.eval.isEmpty {
      md += "\nReports: " + config.eval.map { "[`eval/\($0.name)/report.md`](eval/\($0.name)/report.md)" }.joined(separator: ", ") + ".\n"
    }
    if !config.compare.isEmpty {
      md += "\nComparisons: " + config.compare.map { "[`compare/\($0.name)/comparison.md`](compare/\($0.name)/comparison.md)" }
        .joined(separator: ", ") + ".\n"
    }
    try writeAtomically(Data(md.utf8), to: output + "/run.md")
  }

  // MARK: Catalog steps

  /// The catalog's content hash (its dump without provenance), computed once until a catalog
  /// step writes it again.
  func catalogDigest() throws -> String? {
    if let known = knownCatalogDigest { return known }
    guard FileManager.default.fileExists(atPath: catalogPath) else { return nil }
    knownCatalogDigest = try ShardExport.catalogDigest(try Catalog(path: catalogPath, readOnly: true))
    return knownCatalogDigest
  }

  var knownCatalogDigest: String?

  func ingest(_ entries: [(PipelineConfig.Ingest, [String])], resume: Bool) throws {
    if !resume {
      // A new set of inputs: a new catalog (an input left out must leave the catalog too).
      for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: catalogPath + suffix) }
    }
    let catalog = try Catalog(path: catalogPath)
    let ingestor = try Ingestor(catalog: catalog, options: IngestOptions(), arguments: "tagdata run --config \(config.file)")
    ingestor.onProgress = { p in self.onEvent?(.progress(id: "ingest", text: "\((p.path as NSString).lastPathComponent): \(p.records) records")) }
    for (e, files) in entries {
      let mapping: TableMapping?
      if let name = e.preset {
        mapping = TableMapping.presets[name]
      } else if let spec = e.columns {
        do {
          mapping = try TableMapping.parse(spec)
        } catch {
          throw Failure(step: "ingest", message: "columns '\(spec)': \(error.description)")
        }
      } else {
        mapping = nil
      }
      for f in files {
        let r = try mapping.map { try ingestor.ingestTable(path: f, mapping: $0) } ?? ingestor.ingest(path: f)
        if r.status == .failed {
          throw Failure(step: "ingest", message: "\(f): \(r.error ?? "not read") (leave it out with `exclude:`)")
        }
        onEvent?(.progress(id: "ingest", text: "\((f as NSString).lastPathComponent): \(r.records) records, \(r.quarantined) quarantined"))
      }
    }
    try ingestor.close()
    // Molecules' parents and scaffolds, read by the builds that follow.
    try ingestor.catalog.fillMoleculeGroups { done in
      self.onEvent?(.progress(id: "ingest", text: "parents and scaffolds of \(done) molecules"))
    }
  }

  func describe() throws {
    let chosen: [DescriptorInfo]
    do {
      chosen = try DescriptorRegistry.resolve(config.describe.joined(separator: ","), kinds: LabelKind.allCases)
    } catch {
      throw Failure(step: "describe", message: error.description)
    }
    let catalog = try Catalog(path: catalogPath)
    let run = try catalog.beginRun(toolVersion: toolVersion, arguments: "tagdata run --config \(config.file)", now: Clock.isoNow())
    _ = try CatalogLabeling.label(catalog, chosen, run: run) { kind, done in
      self.onEvent?(.progress(id: "describe", text: "\(kind.rawValue)s labelled: \(done)"))
    }
    try catalog.finishRun(run, now: Clock.isoNow())
  }

  // MARK: Build and tokenize

  func taskConfig(_ b: PipelineConfig.Build) throws -> TaskConfig {
    let base = try b.config.map { try TaskConfig.load(path: $0) } ?? TaskConfig.tagLLM
    var o = BuildOverrides()
    o.ablation = b.ablation
    o.seed = b.seed
    o.split = b.split
    o.texts = b.texts
    o.tasks = b.tasks
    do {
      return try base.applying(o, file: b.config)
    } catch let p as BuildOverrides.Problem {
      throw Failure(step: "build:" + b.name, message: p.description)
    }
  }

  func build(_ b: PipelineConfig.Build, into dir: String) throws {
    let c = try taskConfig(b)
    let catalog = try Catalog(path: catalogPath, readOnly: true)
    let plan = try c.compile(for: catalog, file: b.config)
    try FileManager.default.createDirectory(atPath: output + "/builds", withIntermediateDirectories: true)
    _ = try ShardExport.export(catalog, plan: plan, shards: b.shards, out: dir, toolVersion: toolVersion) { n in
      self.onEvent?(.progress(id: "build:" + b.name, text: "examples: \(n)"))
    }
  }

  /// A tokenizer given as a file or as a model folder: the hash of its `tokenizer.json` and
  /// `tokenizer_config.json`.
  func tokenizerDigest(_ path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw Failure(step: "tokenize", message: "\(path): no such file")
    }
    if !isDirectory.boolValue { return try fingerprints.file(path) }
    var text = ""
    for name in ["tokenizer.json", "tokenizer_config.json"] where FileManager.default.fileExists(atPath: path + "/" + name) {
      text += name + " " + (try fingerprints.file(path + "/" + name)) + "\n"
    }
    return Fingerprints.hash(text)
  }

  func tokenize(_ t: PipelineConfig.Tokenize, into dir: String) throws {
    var options = try TokenizedExport.Options.load(tokenizer: t.tokenizer)
    options.smilesTokens = t.smilesTokens
    options.smilesMinimumCount = t.smilesMinimumCount
    options.residueTokens = t.residueTokens
    options.regressionAsText = t.regressionAsText
    options.toolVersion = toolVersion
    try FileManager.default.createDirectory(atPath: output + "/tokens", withIntermediateDirectories: true)
    _ = try TokenizedExport.run(build: output + "/builds/" + t.build, out: dir, options: options) { n in
      self.onEvent?(.progress(id: "tokenize:" + t.name, text: "examples: \(n)"))
    }
  }

  // MARK: Train and evaluate

  /// The training configuration as the pipeline runs it: stages that read a token dataset by
  /// path read the run's dataset (`tokens/NAME`, relative to the output folder), and the base
  /// model and corpora are resolved against the configuration's folder. Also the folders it
  /// reads besides the dataset (base model, corpora), whose content is part of the key.
  func trainConfig(_ t: PipelineConfig.Train) throws -> (TrainConfig, [String]) {
    var c = try TrainConfig.load(from: t.config)
    let folder = (t.config as NSString).deletingLastPathComponent
    func resolved(_ p: String) -> String { p.hasPrefix("/") ? p : folder + "/" + p }
    var inputs: [String] = []
    if let base = c.base {
      c.base = resolved(base)
      inputs.append(c.base!)
    }
    if let corpora = c.corpora {
      c.corpora = resolved(corpora)
      if c.stages.contains(where: { $0.data.builtin != nil }) { inputs.append(c.corpora!) }
    }
    for k in c.stages.indices where c.stages[k].data.path != nil {
      if let d = t.dataset {
        c.stages[k].data.path = "tokens/" + d
      } else {
        c.stages[k].data.path = resolved(c.stages[k].data.path!)
        inputs.append(c.stages[k].data.path!)
      }
    }
    c.origin = nil
    return (c, Array(Set(inputs)).sorted())
  }

  func train(_ t: PipelineConfig.Train, into dir: String) throws {
    let (c, _) = try trainConfig(t)
    try FileManager.default.createDirectory(atPath: output + "/train", withIntermediateDirectories: true)
    // Stages whose config, data and earlier stages are unchanged are kept; an interrupted stage
    // resumes from its last checkpoint.
    let trainer = Trainer(config: c, output: dir, configDirectory: output)
    trainer.keepUnchangedStages = true
    trainer.builtinDatasets = { name, corpora, tags, vocabularySize, length in
      try CorpusExamples.build(name, corpora: corpora, tags: tags, vocabularySize: vocabularySize, length: length)
    }
    var last = 0.0
    trainer.onStep = { s in
      let now = Date().timeIntervalSince1970
      guard now - last > 0.2 || s.step == s.steps else { return }
      last = now
      self.onEvent?(.progress(id: "train:" + t.name, text: "\(s.stage): step \(s.step)/\(s.steps), loss \(String(format: "%.4f", Double(s.loss)))"))
    }
    _ = try trainer.run()
  }

  /// The model folder of a stage of a training run (the last stage by default).
  func modelDirectory(_ e: PipelineConfig.Eval) throws -> String {
    guard let t = config.train.first(where: { $0.name == e.train }) else { throw Failure(step: "eval:" + e.name, message: "no training run \(e.train)") }
    let (c, _) = try trainConfig(t)
    let index: Int
    if let name = e.stage {
      guard let k = c.stages.firstIndex(where: { $0.name == name }) else {
        throw Failure(step: "eval:" + e.name, message: "the training run \(e.train) has no stage '\(name)' (stages: \(c.stages.map(\.name).joined(separator: ", ")))")
      }
      index = k
    } else {
      index = c.stages.count - 1
    }
    return Trainer.modelDirectory(output: output + "/train/" + e.train, index: index, stage: c.stages[index])
  }

  func evaluate(_ e: PipelineConfig.Eval, into dir: String) throws {
    let modelPath = try modelDirectory(e)
    var request = EvaluationRun.Request(model: modelPath, dataset: output + "/tokens/" + e.dataset)
    request.run = output + "/train/" + e.train
    request.build = e.build.map { output + "/builds/" + $0 }
    request.options.split = e.split
    request.options.tasks = e.tasks.map(Set.init)
    request.options.length = e.length
    request.options.batch = e.batch
    request.options.resamples = e.resamples
    request.options.seed = e.seed
    onEvent?(.progress(id: "eval:" + e.name, text: "evaluating \(relative(modelPath))"))
    let result = try EvaluationRun.perform(request)
    try writeFolder(try EvaluationRun.files(result, model: relative(modelPath), dataset: "tokens/" + e.dataset), to: dir)
  }

  func compare(_ c: PipelineConfig.Compare, into dir: String) throws {
    let variants = try c.reports.map { try EvalComparison.load(label: $0.label, path: output + "/eval/" + $0.eval) }
    let comparison = EvalComparison.compare(variants)
    var files: [(String, Data)] = [("comparison.json", try EvalComparison.json(comparison)),
                                   ("comparison.md", Data(EvalComparison.markdown(comparison).utf8))]
    for task in comparison.tasks { files.append((EvalComparison.chartName(task), Data(EvalComparison.chart(comparison, task: task).utf8))) }
    try writeFolder(files, to: dir)
  }

  func relative(_ path: String) -> String {
    path.hasPrefix(output + "/") ? String(path.dropFirst(output.count + 1)) : path
  }
}

/// An exclusive lock on a file (`flock`): two runs into one folder would overwrite each other.
final class OutputLock {
  let fd: Int32

  init(_ path: String) throws {
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw Pipeline.Failure(step: "start", message: "\(path): \(String(cString: strerror(errno)))") }
    if flock(fd, LOCK_EX | LOCK_NB) != 0 {
      close(fd)
      throw Pipeline.Failure(step: "start", message: "another tagdata run is writing into \((path as NSString).deletingLastPathComponent)")
    }
  }

  func release() {
    flock(fd, LOCK_UN)
    close(fd)
  }
}

/// Writes the files into a new folder that then replaces `dir` whole.
func writeFolder(_ files: [(name: String, data: Data)], to dir: String) throws {
  let fm = FileManager.default
  let parent = (dir as NSString).deletingLastPathComponent, name = (dir as NSString).lastPathComponent
  try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
  let tmp = parent + "/." + name + ".partial", old = parent + "/." + name + ".old"
  try? fm.removeItem(atPath: tmp)
  try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
  for f in files { try f.data.write(to: URL(fileURLWithPath: tmp + "/" + f.name)) }
  try? fm.removeItem(atPath: old)
  if fm.fileExists(atPath: dir) { try fm.moveItem(atPath: dir, toPath: old) }
  try fm.moveItem(atPath: tmp, toPath: dir)
  try? fm.removeItem(atPath: old)
}

/// Writes a file beside its place and renames it into it.
func writeAtomically(_ data: Data, to path: String) throws {
  let tmp = path + ".partial"
  try data.write(to: URL(fileURLWithPath: tmp))
  guard rename(tmp, path) == 0 else {
    throw Pipeline.Failure(step: "output", message: "cannot rename \(tmp): \(String(cString: strerror(errno)))")
  }
}
