import Foundation
import TagdataIO

/// An invalid training configuration, or one that does not match an existing run's output:
/// every problem with its key path (`stages[1].batch`) and, when known, its line and column.
public struct TrainConfigError: Error, CustomStringConvertible, Sendable {
  public struct Problem: Sendable, Equatable {
    /// The key path of the value at fault (`stages[1].batch`); empty for the whole config.
    public var keyPath: String
    public var line: Int?
    public var column: Int?
    public var message: String
  }

  /// The config file, if the config came from one.
  public var file: String?
  public var problems: [Problem]

  public init(file: String?, problems: [Problem]) {
    self.file = file
    self.problems = problems
  }

  public init(file: String?, keyPath: String, line: Int? = nil, column: Int? = nil, _ message: String) {
    self.init(file: file, problems: [Problem(keyPath: keyPath, line: line, column: column, message: message)])
  }

  public var description: String {
    problems.map { p in
      var s = file ?? "config"
      if let l = p.line, let c = p.column { s += ":\(l):\(c)" }
      s += ": "
      if !p.keyPath.isEmpty { s += p.keyPath + ": " }
      return s + p.message
    }.joined(separator: "\n")
  }
}

/// The output directory could not be created or written (exit 74).
public struct TrainOutputError: Error, CustomStringConvertible, Sendable {
  public var path: String
  public var reason: String
  public var description: String { "cannot create or write the output directory \(path): \(reason)" }
}

/// Training stopped because the loss (or the gradient) is no longer finite.
public struct TrainingDiverged: Error, CustomStringConvertible, Sendable {
  public var stage: String
  public var step: Int
  public var what: String
  public var value: Float
  public var description: String {
    "stage \(stage), step \(step): the \(what) is \(value) (training diverged); nothing of this step was saved. "
      + "Lower the stage's learningRate (or raise warmup) and run again: training resumes from the last checkpoint."
  }
}

/// Names that become file and tensor names: letters, digits, '.', '_', '-', not starting with '.'.
public func isSafeName(_ name: String) -> Bool {
  let bytes = Array(name.utf8)
  guard !bytes.isEmpty, bytes.count <= 100, bytes[0] != UInt8(ascii: ".") else { return false }
  return bytes.allSatisfy { b in
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
  }
}

extension TrainConfig {
  /// The built-in datasets and the tags and heads each needs.
  public static let builtinDatasets: [String: (tags: [String], heads: [String])] = [
    "uniprot-text": ([], []),
    "protein-sequences": (["Protein"], []),
    "protein-hydrophobicity": (["Protein", "Hydrophobic"], ["Hydrophobic"]),
    "protein-length": (["Protein", "Length"], ["Length"]),
  ]

  /// A new model's text vocabulary when its config names none: the byte tokenizer's 260 tokens
  /// (4 special, then one per byte), which the built-in datasets use.
  public static let defaultVocabularySize = 260

  /// The largest tensor the trainer will make (elements); larger shapes are refused up front.
  public static let maximumTensorElements = 1 << 31

  /// Reads, checks against `Schemas/train-config.schema.json` and the model's constraints, and
  /// decodes a config file. Every problem is reported with its key path, line and column.
  public static func load(from path: String) throws -> TrainConfig {
    guard let data = FileManager.default.contents(atPath: path) else {
      var isDirectory: ObjCBool = false
      let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
      throw TrainConfigError(file: path, keyPath: "",
                             exists ? (isDirectory.boolValue ? "is a directory, not a config file" : "cannot be read (permissions?)")
                               : "no such file")
    }
    return try parse([UInt8](data), file: path)
  }

  /// As ``load(from:)``, for the bytes of a config.
  public static func parse(_ bytes: [UInt8], file: String? = nil) throws -> TrainConfig {
    let root: ConfigJSON.Node
    do {
      root = try ConfigJSON.parse(bytes)
    } catch let e as ConfigJSON.SyntaxError {
      throw TrainConfigError(file: file, keyPath: "", line: e.line, column: e.column, "not valid JSON: \(e.message)")
    }
    var checker = SchemaChecker()
    checker.config(root)
    if !checker.problems.isEmpty { throw TrainConfigError(file: file, problems: checker.problems) }
    var config: TrainConfig
    do {
      config = try JSONDecoder().decode(TrainConfig.self, from: Data(bytes))
    } catch {
      throw TrainConfigError(file: file, keyPath: "", "cannot be read as a config: \(error)")
    }
    config.origin = Origin(file: file, locations: checker.locations)
    try config.validate()
    return config
  }

  /// Where a config came from: its file and the line and column of every key path.
  public struct Origin: Sendable {
    public var file: String?
    public var locations: [String: (line: Int, column: Int)]
  }

  /// A config error at a key path, located in the file when the config came from one.
  public func error(_ keyPath: String, _ message: String) -> TrainConfigError {
    TrainConfigError(file: origin?.file, problems: [problem(keyPath, message)])
  }

  func problem(_ keyPath: String, _ message: String) -> TrainConfigError.Problem {
    let at = origin?.locations[keyPath]
    return TrainConfigError.Problem(keyPath: keyPath, line: at?.line, column: at?.column, message: message)
  }

  /// Checks what the schema says (for a config made in code) and what it cannot say: the model's
  /// constraints (the dimension a multiple of 2 × heads, tensors of a size this trainer can
  /// hold), unique stage names, and that every built-in dataset finds the vocabulary, tags and
  /// heads it needs (declared in its stage or an earlier one).
  public func validate() throws {
    var problems: [TrainConfigError.Problem] = []
    func fail(_ keyPath: String, _ message: String) { problems.append(problem(keyPath, message)) }
    if let t = threads, t < 1 || t > 256 { fail("threads", "must be between 1 and 256 (got \(t))") }
    if model == nil && base == nil { fail("", "needs `model` (a new model's shape) or `base` (a model directory)") }
    if model != nil && base != nil { fail("", "has both `model` and `base`: give one") }
    var vocabulary: Int? = nil
    var dimension = 1
    if let m = model {
      problems += Self.shapeProblems(vocabularySize: m.vocabularySize ?? TrainConfig.defaultVocabularySize, dimension: m.dimension,
                                     layers: m.layers, heads: m.heads, feedForward: m.feedForward, at: "model", problem)
      vocabulary = m.vocabularySize ?? TrainConfig.defaultVocabularySize
      dimension = max(1, m.dimension)
    }
    if stages.isEmpty { fail("stages", "needs at least one stage") }
    var names: Set<String> = []
    // Tags (name → rows) and heads the model has before each stage, when it is known (a new model).
    var tags: [(name: String, rows: Int)] = []
    var heads: Set<String> = []
    for (i, s) in stages.enumerated() {
      let at = "stages[\(i)]"
      if !isSafeName(s.name) {
        fail(at + ".name", "\"\(s.name)\" is not a safe name: use letters, digits, '.', '_' and '-' (not first '.'), at most 100")
      } else if !names.insert(s.name).inserted {
        fail(at + ".name", "\"\(s.name)\" names an earlier stage too")
      }
      if s.steps < 1 { fail(at + ".steps", "must be at least 1 (got \(s.steps))") }
      if s.batch < 1 { fail(at + ".batch", "must be at least 1 (got \(s.batch))") }
      if s.length < 2 { fail(at + ".length", "must be at least 2 (got \(s.length))") }
      if !(s.learningRate.isFinite && s.learningRate > 0 && s.learningRate <= 10) {
        fail(at + ".learningRate", "must be above 0 and at most 10 (got \(s.learningRate))")
      }
      if let w = s.warmup, w < 0 { fail(at + ".warmup", "must be at least 0 (got \(w))") }
      if let a = s.accumulate, a < 1 { fail(at + ".accumulate", "must be at least 1 (got \(a))") }
      if let v = s.validateEvery, v < 1 { fail(at + ".validateEvery", "must be at least 1 (got \(v))") }
      if let c = s.checkpointEvery, c < 1 { fail(at + ".checkpointEvery", "must be at least 1 (got \(c))") }
      if let r = s.regressionScale, !(r.isFinite && r >= 0 && r <= 1e6) {
        fail(at + ".regressionScale", "must be between 0 and 1e6 (got \(r))")
      }
      if let f = s.data.validationFraction, !(f > 0 && f < 1) {
        fail(at + ".data.validationFraction", "must be above 0 and below 1 (got \(f))")
      }
      if (s.data.path == nil) == (s.data.builtin == nil) { fail(at + ".data", "needs exactly one of `path` and `builtin`") }
      if s.data.tasks != nil && s.data.path == nil { fail(at + ".data.tasks", "needs a token dataset `path`") }
      if let b = s.data.builtin, Self.builtinDatasets[b] == nil {
        fail(at + ".data.builtin", "unknown built-in dataset \"\(b)\" (\(Self.builtinDatasets.keys.sorted().joined(separator: ", ")))")
      }
      // The tensors of a step: logits (batch × length × vocabulary) and attention scores.
      let v = Double(vocabulary ?? TrainConfig.defaultVocabularySize)
      let elements = Double(max(s.batch, 1)) * Double(max(s.length, 1)) * max(v, Double(dimension) * 4)
      if elements > Double(Self.maximumTensorElements) {
        fail(at + ".batch", "batch × length × vocabulary (\(elements)) is more than this trainer holds in one tensor (2^31)")
      }
      if let size = s.vocabularySize {
        if size < 1 { fail(at + ".vocabularySize", "must be at least 1 (got \(size))") }
        if let current = vocabulary, size < current {
          fail(at + ".vocabularySize", "\(size) would shrink the vocabulary (the model has \(current) tokens before this stage)")
        } else if let current = vocabulary, size > current, s.kind != .domain {
          fail(at + ".vocabularySize", "only a domain stage may grow the vocabulary (this is a \(s.kind.rawValue) stage)")
        } else if s.kind == .domain {
          if Double(size) * Double(dimension) > Double(Self.maximumTensorElements) {
            fail(at + ".vocabularySize", "vocabularySize × dimension is more than this trainer holds in one tensor (2^31)")
          }
          if vocabulary != nil { vocabulary = max(vocabulary!, size) }
        }
      }
      var seenTags: Set<String> = []
      for (k, t) in (s.tags ?? []).enumerated() {
        if !isSafeName(t.name) {
          fail(at + ".tags[\(k)].name", "\"\(t.name)\" is not a safe name: use letters, digits, '.', '_' and '-' (not first '.'), at most 100")
        } else if !seenTags.insert(t.name).inserted {
          fail(at + ".tags[\(k)].name", "tag \"\(t.name)\" is declared twice in this stage")
        }
        if t.rows < 1 || t.rows > 4096 { fail(at + ".tags[\(k)].rows", "must be between 1 and 4096 (got \(t.rows))") }
        if let earlier = tags.first(where: { $0.name == t.name }) {
          if earlier.rows != t.rows {
            fail(at + ".tags[\(k)].rows", "tag \"\(t.name)\" has \(earlier.rows) rows from an earlier stage, not \(t.rows)")
          }
        } else {
          tags.append((t.name, t.rows))
        }
      }
      var seenHeads: Set<String> = []
      for (k, h) in (s.heads ?? []).enumerated() {
        if !isSafeName(h) {
          fail(at + ".heads[\(k)]", "\"\(h)\" is not a safe name: use letters, digits, '.', '_' and '-' (not first '.'), at most 100")
        } else if !seenHeads.insert(h).inserted {
          fail(at + ".heads[\(k)]", "head \"\(h)\" is declared twice in this stage")
        }
        heads.insert(h)
      }
      // What a built-in dataset needs (known for a new model; a base brings its own).
      if base == nil, let b = s.data.builtin, let needs = Self.builtinDatasets[b] {
        if let current = vocabulary, current < TrainConfig.defaultVocabularySize {
          fail(model?.vocabularySize != nil ? "model.vocabularySize" : at + ".data.builtin",
               "the built-in dataset \(b) uses the byte tokenizer's \(TrainConfig.defaultVocabularySize) tokens; the model has \(current)")
        }
        for t in needs.tags where !tags.contains(where: { $0.name == t }) {
          fail(at + ".tags", "the built-in dataset \(b) needs the tag \"\(t)\" (declare it in this stage or an earlier one)")
        }
        for h in needs.heads where !heads.contains(h) {
          fail(at + ".heads", "the built-in dataset \(b) regresses on the head \"\(h)\" (declare it in this stage or an earlier one)")
        }
      }
    }
    if !problems.isEmpty { throw TrainConfigError(file: origin?.file, problems: problems) }
  }

  /// What a model shape must satisfy: positive sizes, the dimension a multiple of 2 × heads
  /// (rotary embeddings turn pairs within each head), tensors this trainer can hold.
  /// `headDimension`: a loaded model's own head width (Hugging Face `head_dim`), which need not
  /// be dimension / heads; it must be even (rotary embeddings rotate pairs).
  static func shapeProblems(vocabularySize: Int, dimension: Int, layers: Int, heads: Int, feedForward: Int, headDimension: Int? = nil,
                            at: String, _ problem: (String, String) -> TrainConfigError.Problem) -> [TrainConfigError.Problem]
  {
    var out: [TrainConfigError.Problem] = []
    if vocabularySize < 1 { out.append(problem(at + ".vocabularySize", "must be at least 1 (got \(vocabularySize))")) }
    if dimension < 2 { out.append(problem(at + ".dimension", "must be at least 2 (got \(dimension))")) }
    if layers < 1 || layers > 1024 { out.append(problem(at + ".layers", "must be between 1 and 1024 (got \(layers))")) }
    if heads < 1 { out.append(problem(at + ".heads", "must be at least 1 (got \(heads))")) }
    if feedForward < 1 { out.append(problem(at + ".feedForward", "must be at least 1 (got \(feedForward))")) }
    if let h = headDimension {
      if h < 2 || h % 2 != 0 { out.append(problem(at + ".head_dim", "must be even and at least 2 (got \(h))")) }
    } else if dimension >= 2 && heads >= 1 && dimension % (2 * heads) != 0 {
      out.append(problem(at + ".dimension", "\(dimension) is not a multiple of 2 × heads (\(2 * heads)): each head needs an even width"))
    }
    let limit = Double(maximumTensorElements)
    if Double(max(vocabularySize, feedForward, dimension)) * Double(max(dimension, 1)) > limit {
      out.append(problem(at, "the shape gives a tensor of more than 2^31 elements, more than this trainer holds"))
    }
    return out
  }

  /// The canonical text of the config (sorted keys, no whitespace), which a run stores and
  /// compares on resume.
  public func canonicalJSON() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return [UInt8](try encoder.encode(self))
  }
}

/// Checks a parsed config against `Schemas/train-config.schema.json` (kept in step with it by a
/// test that runs jsonschema on the same configs), and records where each key path is.
struct SchemaChecker {
  var problems: [TrainConfigError.Problem] = []
  var locations: [String: (line: Int, column: Int)] = [:]

  mutating func fail(_ path: String, _ node: ConfigJSON.Node, _ message: String) {
    problems.append(TrainConfigError.Problem(keyPath: path, line: node.line, column: node.column, message: message))
  }

  static func typeName(_ v: ConfigJSON) -> String {
    switch v {
    case .null: return "null"
    case .bool: return "a boolean"
    case let .number(_, integer): return integer != nil ? "an integer" : "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  enum Kind {
    case integer(min: Int64, max: Int64?)
    /// A number above `above` (or at least `atLeast`), below `below` (or at most `atMost`).
    case number(atLeast: Double?, above: Double?, atMost: Double?, below: Double?)
    case string(safeName: Bool)
    case bool
    case oneOf([String])
  }

  mutating func scalar(_ node: ConfigJSON.Node, _ path: String, _ kind: Kind) {
    locations[path] = (node.line, node.column)
    switch (kind, node.value) {
    case let (.integer(lo, hi), .number(_, integer)):
      guard let n = integer else { return fail(path, node, "must be an integer") }
      if n < lo { fail(path, node, "must be at least \(lo) (got \(n))") }
      if let hi, n > hi { fail(path, node, "must be at most \(hi) (got \(n))") }
    case let (.number(atLeast, above, atMost, below), .number(x, _)):
      if let a = atLeast, !(x >= a) { fail(path, node, "must be at least \(a) (got \(x))") }
      if let a = above, !(x > a) { fail(path, node, "must be above \(a) (got \(x))") }
      if let b = atMost, !(x <= b) { fail(path, node, "must be at most \(b) (got \(x))") }
      if let b = below, !(x < b) { fail(path, node, "must be below \(b) (got \(x))") }
    case let (.string(safe), .string(s)):
      if safe && !isSafeName(s) {
        fail(path, node, "\"\(s)\" is not a safe name: use letters, digits, '.', '_' and '-' (not first '.'), at most 100")
      }
    case (.bool, .bool): break
    case let (.oneOf(values), .string(s)):
      if !values.contains(s) { fail(path, node, "\"\(s)\" is not one of \(values.joined(separator: ", "))") }
    case (.oneOf, _): fail(path, node, "must be a string, one of the names listed in the schema (got \(Self.typeName(node.value)))")
    case (.integer, _): fail(path, node, "must be an integer (got \(Self.typeName(node.value)))")
    case (.number, _): fail(path, node, "must be a number (got \(Self.typeName(node.value)))")
    case (.string, _): fail(path, node, "must be a string (got \(Self.typeName(node.value)))")
    case (.bool, _): fail(path, node, "must be true or false (got \(Self.typeName(node.value)))")
    }
  }

  /// The members of an object, after checking required and unknown keys; nil if not an object.
  mutating func members(_ node: ConfigJSON.Node, _ path: String, required: [String], known: [String]) -> [String: ConfigJSON.Node]? {
    locations[path] = (node.line, node.column)
    guard case let .object(m) = node.value else {
      fail(path, node, "must be an object (got \(Self.typeName(node.value)))")
      return nil
    }
    var out: [String: ConfigJSON.Node] = [:]
    let prefix = path.isEmpty ? "" : path + "."
    for (k, v) in m {
      if !known.contains(k) { fail(prefix + k, v, "unknown key (known: \(known.joined(separator: ", ")))") }
      out[k] = v
    }
    for r in required where out[r] == nil { fail(prefix + r, node, "is required") }
    return out
  }

  mutating func config(_ root: ConfigJSON.Node) {
    guard let m = members(root, "", required: ["seed", "stages"], known: ["seed", "threads", "model", "base", "corpora", "stages"]) else {
      return
    }
    if let v = m["seed"] { scalar(v, "seed", .integer(min: 0, max: nil)) }
    if let v = m["threads"] { scalar(v, "threads", .integer(min: 1, max: 256)) }
    if let v = m["base"] { scalar(v, "base", .string(safeName: false)) }
    if let v = m["corpora"] { scalar(v, "corpora", .string(safeName: false)) }
    if m["model"] == nil && m["base"] == nil { fail("", root, "needs `model` (a new model's shape) or `base` (a model directory)") }
    if m["model"] != nil && m["base"] != nil { fail("", root, "has both `model` and `base`: give one") }
    if let v = m["model"],
      let model = members(v, "model", required: ["dimension", "layers", "heads", "feedForward"],
                          known: ["vocabularySize", "dimension", "layers", "heads", "feedForward"])
    {
      if let x = model["vocabularySize"] { scalar(x, "model.vocabularySize", .integer(min: 1, max: 1 << 24)) }
      if let x = model["dimension"] { scalar(x, "model.dimension", .integer(min: 2, max: 1 << 16)) }
      if let x = model["layers"] { scalar(x, "model.layers", .integer(min: 1, max: 1024)) }
      if let x = model["heads"] { scalar(x, "model.heads", .integer(min: 1, max: 1 << 15)) }
      if let x = model["feedForward"] { scalar(x, "model.feedForward", .integer(min: 1, max: 1 << 20)) }
    }
    guard let v = m["stages"] else { return }
    locations["stages"] = (v.line, v.column)
    guard case let .array(stages) = v.value else { return fail("stages", v, "must be an array (got \(Self.typeName(v.value)))") }
    if stages.isEmpty { fail("stages", v, "needs at least one stage") }
    for (i, s) in stages.enumerated() { stage(s, "stages[\(i)]") }
  }

  mutating func stage(_ node: ConfigJSON.Node, _ at: String) {
    let known = ["name", "kind", "data", "steps", "batch", "length", "learningRate", "warmup", "accumulate", "validateEvery",
                 "checkpointEvery", "regressionScale", "tags", "heads", "trainEarlierTags", "standardizeTargets", "optimizer", "tagInitialization", "bidirectionalInputs", "vocabularySize"]
    guard let m = members(node, at, required: ["name", "kind", "data", "steps", "batch", "length", "learningRate"], known: known) else {
      return
    }
    let big: Int64 = 1 << 40
    if let v = m["name"] { scalar(v, at + ".name", .string(safeName: true)) }
    if let v = m["kind"] { scalar(v, at + ".kind", .oneOf(["base", "domain", "function"])) }
    if let v = m["steps"] { scalar(v, at + ".steps", .integer(min: 1, max: big)) }
    if let v = m["batch"] { scalar(v, at + ".batch", .integer(min: 1, max: 1 << 20)) }
    if let v = m["length"] { scalar(v, at + ".length", .integer(min: 2, max: 1 << 20)) }
    if let v = m["learningRate"] { scalar(v, at + ".learningRate", .number(atLeast: nil, above: 0, atMost: 10, below: nil)) }
    if let v = m["warmup"] { scalar(v, at + ".warmup", .integer(min: 0, max: big)) }
    if let v = m["accumulate"] { scalar(v, at + ".accumulate", .integer(min: 1, max: 1 << 20)) }
    if let v = m["validateEvery"] { scalar(v, at + ".validateEvery", .integer(min: 1, max: big)) }
    if let v = m["checkpointEvery"] { scalar(v, at + ".checkpointEvery", .integer(min: 1, max: big)) }
    if let v = m["regressionScale"] { scalar(v, at + ".regressionScale", .number(atLeast: 0, above: nil, atMost: 1e6, below: nil)) }
    if let v = m["trainEarlierTags"] { scalar(v, at + ".trainEarlierTags", .bool) }
    if let v = m["standardizeTargets"] { scalar(v, at + ".standardizeTargets", .bool) }
    if let v = m["bidirectionalInputs"] { scalar(v, at + ".bidirectionalInputs", .bool) }
    if let v = m["tagInitialization"] { scalar(v, at + ".tagInitialization", .oneOf(Model.TagInitialization.allCases.map(\.rawValue))) }
    if let v = m["optimizer"],
      let o = members(v, at + ".optimizer", required: [], known: ["weightDecay", "tagWeightDecay", "clipNorm", "beta1", "beta2", "epsilon"])
    {
      for k in ["weightDecay", "tagWeightDecay", "clipNorm"] {
        if let x = o[k] { scalar(x, at + ".optimizer." + k, .number(atLeast: 0, above: nil, atMost: 1e6, below: nil)) }
      }
      for k in ["beta1", "beta2"] {
        if let x = o[k] { scalar(x, at + ".optimizer." + k, .number(atLeast: 0, above: nil, atMost: nil, below: 1)) }
      }
      if let x = o["epsilon"] { scalar(x, at + ".optimizer.epsilon", .number(atLeast: nil, above: 0, atMost: 1, below: nil)) }
    }
    if let v = m["vocabularySize"] { scalar(v, at + ".vocabularySize", .integer(min: 1, max: 1 << 24)) }
    if let v = m["data"], let d = members(v, at + ".data", required: [], known: ["path", "tasks", "builtin", "validationFraction"]) {
      if let x = d["path"] { scalar(x, at + ".data.path", .string(safeName: false)) }
      if let x = d["tasks"] {
        locations[at + ".data.tasks"] = (x.line, x.column)
        if case let .array(names) = x.value, !names.isEmpty {
          for (k, n) in names.enumerated() { scalar(n, at + ".data.tasks[\(k)]", .string(safeName: false)) }
        } else {
          fail(at + ".data.tasks", x, "must be a non-empty array of task names")
        }
      }
      if let x = d["builtin"] { scalar(x, at + ".data.builtin", .oneOf(TrainConfig.builtinDatasets.keys.sorted())) }
      if let x = d["validationFraction"] {
        scalar(x, at + ".data.validationFraction", .number(atLeast: nil, above: 0, atMost: nil, below: 1))
      }
      if (d["path"] == nil) == (d["builtin"] == nil) { fail(at + ".data", v, "needs exactly one of `path` and `builtin`") }
    }
    if let v = m["tags"] {
      locations[at + ".tags"] = (v.line, v.column)
      if case let .array(tags) = v.value {
        for (k, t) in tags.enumerated() {
          let p = at + ".tags[\(k)]"
          if let tm = members(t, p, required: ["name", "rows"], known: ["name", "rows"]) {
            if let x = tm["name"] { scalar(x, p + ".name", .string(safeName: true)) }
            if let x = tm["rows"] { scalar(x, p + ".rows", .integer(min: 1, max: 4096)) }
          }
        }
      } else {
        fail(at + ".tags", v, "must be an array (got \(Self.typeName(v.value)))")
      }
    }
    if let v = m["heads"] {
      locations[at + ".heads"] = (v.line, v.column)
      if case let .array(heads) = v.value {
        for (k, h) in heads.enumerated() { scalar(h, at + ".heads[\(k)]", .string(safeName: true)) }
      } else {
        fail(at + ".heads", v, "must be an array (got \(Self.typeName(v.value)))")
      }
    }
  }
}
