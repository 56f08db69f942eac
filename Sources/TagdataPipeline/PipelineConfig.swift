import Foundation
import TagdataIO
import TagdataTasks

/// What `tagdata run` runs (`Schemas/pipeline-config.schema.json`, YAML or JSON): ingest,
/// describe, builds, tokenized exports, training runs, evaluations and comparisons, in that
/// order, into one output folder. Paths are relative to the configuration's folder and are kept
/// resolved here; names are the folders the steps write under the output folder.
public struct PipelineConfig: Sendable {
  public struct Ingest: Sendable {
    /// Patterns as written (resolved against the configuration's folder).
    public var files: [String]
    public var exclude: [String] = []
    public var preset: String?
    public var columns: String?
  }

  public struct Build: Sendable {
    public var name: String
    public var preset: String?
    /// A task configuration file (resolved).
    public var config: String?
    public var tasks: [String]?
    public var split: SplitKind?
    public var seed: UInt64?
    public var ablation: TagLLM.Ablation?
    public var shards = 4
    /// Language → text file (resolved), in file order.
    public var texts: [(language: String, path: String)] = []
  }

  public struct Tokenize: Sendable {
    public var name: String
    public var build: String
    public var tokenizer: String?
    public var smilesTokens = false
    public var smilesMinimumCount = 1
    public var residueTokens = false
    public var regressionAsText = false
  }

  public struct Train: Sendable {
    public var name: String
    /// The training configuration file (resolved).
    public var config: String
    public var dataset: String?
  }

  public struct Eval: Sendable {
    public var name: String
    public var train: String
    public var stage: String?
    public var dataset: String
    public var build: String?
    public var split = "test"
    public var tasks: [String]?
    public var length = 512
    public var batch = 8
    public var resamples = 1000
    public var seed: UInt64 = 0
  }

  public struct Compare: Sendable {
    public var name: String
    /// Label and eval step name, in file order.
    public var reports: [(label: String, eval: String)]
  }

  /// The file it was read from, and its folder (what relative paths are resolved against).
  public var file: String
  public var directory: String
  public var catalog = "catalog.sqlite"
  public var ingest: [Ingest] = []
  public var describe: [String] = []
  public var builds: [Build] = []
  public var tokenize: [Tokenize] = []
  public var train: [Train] = []
  public var eval: [Eval] = []
  public var compare: [Compare] = []

  /// The line of each key path (for problems found after reading).
  var places: [String: (line: Int, column: Int)] = [:]

  /// Reads and checks a configuration: the schema, then names and references (a build,
  /// dataset, training run or eval step that does not exist, a name used twice, a pattern that
  /// matches no file). Problems name the key path and its line.
  /// - Throws: `TaskConfigError` (a configuration problem).
  public static func load(path: String) throws -> PipelineConfig {
    func fail(_ message: String) -> TaskConfigError { TaskConfigError(file: path, problems: [.init(keyPath: "", message: message)]) }
    if let why = TaskConfig.unusableTextFile(path) { throw fail(why) }
    guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
    guard data.count <= YAMLConfig.maximumSize else { throw fail("the file is \(data.count) bytes; a configuration may be at most 1 MiB") }
    return try parse(Array(data), file: path, json: path.hasSuffix(".json"))
  }

  public static func parse(_ bytes: [UInt8], file: String, json: Bool = false) throws -> PipelineConfig {
    let root = try TaskConfigError.document(bytes, file: file, json: json, schema: pipelineConfigSchemaText)
    let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
    var c = PipelineConfig(file: file, directory: (absolute as NSString).deletingLastPathComponent)
    c.read(root)
    let found = c.check()
    if !found.isEmpty { throw TaskConfigError(file: file, problems: found) }
    return c
  }

  /// A path of the configuration, resolved against its folder.
  public func resolve(_ path: String) -> String {
    path.hasPrefix("/") ? path : directory + "/" + path
  }

  // MARK: Reading (the schema has checked kinds and keys)

  mutating func read(_ root: ConfigJSON.Node) {
    func members(_ n: ConfigJSON.Node) -> [(key: String, value: ConfigJSON.Node)] {
      if case .object(let m) = n.value { return m }
      return []
    }
    func items(_ n: ConfigJSON.Node) -> [ConfigJSON.Node] {
      if case .array(let a) = n.value { return a }
      return []
    }
    func string(_ n: ConfigJSON.Node) -> String {
      if case .string(let s) = n.value { return s }
      return ""
    }
    func strings(_ n: ConfigJSON.Node) -> [String] { items(n).map(string) }
    func integer(_ n: ConfigJSON.Node) -> Int64 {
      if case .number(_, let i?) = n.value { return i }
      return 0
    }
    func bool(_ n: ConfigJSON.Node) -> Bool {
      if case .bool(let b) = n.value { return b }
      return false
    }
    func place(_ path: String, _ n: ConfigJSON.Node) { places[path] = (n.line, n.column) }
    for (key, value) in members(root) {
      place(key, value)
      switch key {
      case "catalog": catalog = string(value)
      case "describe": describe = strings(value)
      case "ingest":
        for (k, item) in items(value).enumerated() {
          var e = Ingest(files: [])
          place("ingest[\(k)]", item)
          for (f, v) in members(item) {
            place("ingest[\(k)].\(f)", v)
            switch f {
            case "files": e.files = strings(v)
            case "exclude": e.exclude = strings(v)
            case "preset": e.preset = string(v)
            case "columns": e.columns = string(v)
            default: break
            }
          }
          ingest.append(e)
        }
      case "builds":
        for (k, item) in items(value).enumerated() {
          var b = Build(name: "")
          place("builds[\(k)]", item)
          for (f, v) in members(item) {
            place("builds[\(k)].\(f)", v)
            switch f {
            case "name": b.name = string(v)
            case "preset": b.preset = string(v)
            case "config": b.config = resolve(string(v))
            case "tasks": b.tasks = strings(v)
            case "split": b.split = SplitKind(rawValue: string(v))
            case "seed": b.seed = UInt64(integer(v))
            case "ablation": b.ablation = TagLLM.Ablation(rawValue: string(v))
            case "shards": b.shards = Int(integer(v))
            case "text": b.texts = members(v).map { ($0.key, resolve(string($0.value))) }
            default: break
            }
          }
          builds.append(b)
        }
      case "tokenize":
        for (k, item) in items(value).enumerated() {
          var t = Tokenize(name: "", build: "")
          place("tokenize[\(k)]", item)
          for (f, v) in members(item) {
            place("tokenize[\(k)].\(f)", v)
            switch f {
            case "name": t.name = string(v)
            case "build": t.build = string(v)
            case "tokenizer": t.tokenizer = resolve(string(v))
            case "smiles_tokens": t.smilesTokens = bool(v)
            case "smiles_min_count": t.smilesMinimumCount = Int(integer(v))
            case "residue_tokens": t.residueTokens = bool(v)
            case "regression_as_text": t.regressionAsText = bool(v)
            default: break
            }
          }
          tokenize.append(t)
        }
      case "train":
        for (k, item) in items(value).enumerated() {
          var t = Train(name: "", config: "")
          place("train[\(k)]", item)
          for (f, v) in members(item) {
            place("train[\(k)].\(f)", v)
            switch f {
            case "name": t.name = string(v)
            case "config": t.config = resolve(string(v))
            case "dataset": t.dataset = string(v)
            default: break
            }
          }
          train.append(t)
        }
      case "eval":
        for (k, item) in items(value).enumerated() {
          var e = Eval(name: "", train: "", dataset: "")
          place("eval[\(k)]", item)
          for (f, v) in members(item) {
            place("eval[\(k)].\(f)", v)
            switch f {
            case "name": e.name = string(v)
            case "train": e.train = string(v)
            case "stage": e.stage = string(v)
            case "dataset": e.dataset = string(v)
            case "build": e.build = string(v)
            case "split": e.split = string(v)
            case "tasks": e.tasks = strings(v)
            case "length": e.length = Int(integer(v))
            case "batch": e.batch = Int(integer(v))
            case "resamples": e.resamples = Int(integer(v))
            case "seed": e.seed = UInt64(integer(v))
            default: break
            }
          }
          eval.append(e)
        }
      case "compare":
        for (k, item) in items(value).enumerated() {
          var c = Compare(name: "", reports: [])
          place("compare[\(k)]", item)
          for (f, v) in members(item) {
            place("compare[\(k)].\(f)", v)
            switch f {
            case "name": c.name = string(v)
            case "reports": c.reports = members(v).map { ($0.key, string($0.value)) }
            default: break
            }
          }
          compare.append(c)
        }
      default: break
      }
    }
  }

  // MARK: Checks the schema cannot make

  func problem(_ path: String, _ message: String) -> TaskConfigError.Problem {
    let at = places[path]
    return .init(keyPath: path, line: at?.line, column: at?.column, message: message)
  }

  func check() -> [TaskConfigError.Problem] {
    var out: [TaskConfigError.Problem] = []
    if catalog.contains("/") || catalog == "." || catalog == ".." {
      out.append(problem("catalog", "a file name inside the output folder, without '/'"))
    }
    for (k, e) in ingest.enumerated() {
      if e.preset != nil && e.columns != nil { out.append(problem("ingest[\(k)]", "preset and columns exclude each other")) }
      var unmatched = false
      for (j, pattern) in e.files.enumerated() where FileGlob.expand(resolve(pattern)).isEmpty {
        out.append(problem("ingest[\(k)].files", "'\(pattern)' (item \(j)) matches no file"))
        unmatched = true
      }
      if !unmatched && inputs(of: e).isEmpty {
        out.append(problem("ingest[\(k)].files", "every file is excluded"))
      }
    }
    func unique<T>(_ list: [T], _ section: String, _ name: (T) -> String) {
      var seen: Set<String> = []
      for (k, x) in list.enumerated() where !seen.insert(name(x)).inserted {
        out.append(problem("\(section)[\(k)].name", "the name '\(name(x))' is used twice in \(section)"))
      }
    }
    unique(builds, "builds", \.name)
    unique(tokenize, "tokenize", \.name)
    unique(train, "train", \.name)
    unique(eval, "eval", \.name)
    unique(compare, "compare", \.name)
    let buildNames = Set(builds.map(\.name)), datasetNames = Set(tokenize.map(\.name)), trainNames = Set(train.map(\.name))
    let evalNames = Set(eval.map(\.name))
    func known(_ set: Set<String>, _ what: String) -> String {
      set.isEmpty ? "none is configured" : "known: " + set.sorted().joined(separator: ", ")
    }
    for (k, b) in builds.enumerated() {
      if b.preset != nil && b.config != nil { out.append(problem("builds[\(k)]", "preset and config exclude each other")) }
      if let c = b.config, TaskConfig.unusableTextFile(c) != nil {
        out.append(problem("builds[\(k)].config", "\(c): \(TaskConfig.unusableTextFile(c)!)"))
      }
      for (lang, path) in b.texts where TaskConfig.unusableTextFile(path) != nil {
        out.append(problem("builds[\(k)].text", "\(lang): \(path): \(TaskConfig.unusableTextFile(path)!)"))
      }
    }
    for (k, t) in tokenize.enumerated() where !buildNames.contains(t.build) {
      out.append(problem("tokenize[\(k)].build", "no build '\(t.build)' (\(known(buildNames, "builds")))"))
    }
    for (k, t) in train.enumerated() {
      if let d = t.dataset, !datasetNames.contains(d) {
        out.append(problem("train[\(k)].dataset", "no tokenized dataset '\(d)' (\(known(datasetNames, "tokenize")))"))
      }
      if let why = TaskConfig.unusableTextFile(t.config) { out.append(problem("train[\(k)].config", "\(t.config): \(why)")) }
    }
    for (k, e) in eval.enumerated() {
      if !trainNames.contains(e.train) { out.append(problem("eval[\(k)].train", "no training run '\(e.train)' (\(known(trainNames, "train")))")) }
      if !datasetNames.contains(e.dataset) {
        out.append(problem("eval[\(k)].dataset", "no tokenized dataset '\(e.dataset)' (\(known(datasetNames, "tokenize")))"))
      }
      if let b = e.build, !buildNames.contains(b) { out.append(problem("eval[\(k)].build", "no build '\(b)' (\(known(buildNames, "builds")))")) }
    }
    for (k, c) in compare.enumerated() {
      for (label, name) in c.reports where !evalNames.contains(name) {
        out.append(problem("compare[\(k)].reports", "\(label): no eval step '\(name)' (\(known(evalNames, "eval")))"))
      }
    }
    return out
  }

  /// The files of an ingest entry: its patterns expanded (sorted per pattern, in pattern
  /// order, each file once), less the excluded ones.
  public func inputs(of e: Ingest) -> [String] {
    let excluded = Set(e.exclude.flatMap { FileGlob.expand(resolve($0)) })
    var seen: Set<String> = []
    var out: [String] = []
    for pattern in e.files {
      for f in FileGlob.expand(resolve(pattern)) where !excluded.contains(f) && seen.insert(f).inserted { out.append(f) }
    }
    return out
  }
}

/// Glob patterns over the file system (`glob(3)`: `*`, `?`, `[...]`), regular files only,
/// sorted; a path without pattern characters is itself if it exists.
public enum FileGlob {
  public static func expand(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard glob(pattern, 0, nil, &g) == 0 else { return [] }
    var out: [String] = []
    for i in 0..<Int(g.gl_pathc) {
      guard let p = g.gl_pathv[i] else { continue }
      let path = String(cString: p)
      var st = stat()
      if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { out.append(path) }
    }
    return out.sorted()
  }
}
