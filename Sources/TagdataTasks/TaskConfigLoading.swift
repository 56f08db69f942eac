#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TagdataCatalog
import TagdataIO
import TagdataLabels

/// A task configuration that cannot be used: every problem with its key path
/// (`tasks[2].label.descriptor`) and, for a file, its line and column.
public struct TaskConfigError: Error, CustomStringConvertible, Sendable {
  public struct Problem: Sendable, Equatable {
    public var keyPath: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public init(keyPath: String, line: Int? = nil, column: Int? = nil, message: String) {
      self.keyPath = keyPath
      self.line = line
      self.column = column
      self.message = message
    }
  }
  public var file: String?
  public var problems: [Problem]

  /// A configuration document (YAML, or JSON with `json`) read into a tree and checked against
  /// `schema` (the text of a JSON Schema); a syntax error or a schema problem is thrown as this
  /// error, naming the file, the key path and the line.
  public static func document(_ bytes: [UInt8], file: String, json: Bool, schema: String) throws -> ConfigJSON.Node {
    let root: ConfigJSON.Node
    do {
      root = json ? try ConfigJSON.parse(bytes) : try YAMLConfig.parse(bytes, file: file)
    } catch let e as ConfigJSON.SyntaxError {
      throw TaskConfigError(file: file, problems: [.init(keyPath: "", line: e.line, column: e.column, message: e.message)])
    } catch let e as YAMLConfigError {
      throw TaskConfigError(file: file, problems: [.init(keyPath: "", line: e.line, column: e.column, message: e.message)])
    }
    let problems = try JSONSchema(ConfigJSON.parse(Array(schema.utf8))).validate(root)
    if !problems.isEmpty {
      throw TaskConfigError(file: file, problems: problems.map {
        .init(keyPath: $0.keyPath, line: $0.line, column: $0.column, message: $0.message)
      })
    }
    return root
  }
  /// At most this many problems are kept; the rest are counted in one more problem, at the
  /// place of the first one left out (a file of 10,000 broken tasks gives a readable report).
  public static let maximumProblems = 100

  public init(file: String?, problems: [Problem]) {
    self.file = file
    if problems.count > Self.maximumProblems {
      let first = problems[Self.maximumProblems]
      self.problems = Array(problems.prefix(Self.maximumProblems))
        + [Problem(keyPath: first.keyPath, line: first.line, column: first.column,
                   message: "and \(problems.count - Self.maximumProblems) more problems (the first \(Self.maximumProblems) are shown)")]
    } else {
      self.problems = problems
    }
  }
  public var description: String {
    problems.map { p in
      var s = file ?? "configuration"
      if let l = p.line { s += ":\(l)" + (p.column.map { ":\($0)" } ?? "") }
      s += ": "
      if !p.keyPath.isEmpty { s += p.keyPath + ": " }
      return s + p.message
    }.joined(separator: "\n")
  }
}

/// One task ready to build: its template as pieces (in full, and under the ablation), its filter,
/// and why it has no examples when its source is absent from the catalog.
public struct CompiledTask: Sendable {
  public var spec: TaskConfig.TaskSpec
  public var pieces: [TagLLM.Piece]
  public var ablated: [TagLLM.Piece]
  public var maxLength: Int
  public var skipped: String?
}

/// A configuration checked against a catalog: everything it names exists.
public struct CompiledConfig: Sendable {
  public var config: TaskConfig
  public var tasks: [CompiledTask]
}

extension TaskConfig {
  /// Reads a configuration file (YAML, or JSON for a `.json` name), checks it against
  /// `Schemas/task-config.schema.json` and for what the schema cannot say (tags that templates
  /// use, placeholders, descriptors, fields of each source, a year for a temporal split).
  public static func load(path: String) throws -> TaskConfig {
    func fail(_ message: String) -> TaskConfigError { TaskConfigError(file: path, problems: [.init(keyPath: "", message: message)]) }
    // A regular file of bounded size only: the whole file is read before it is parsed.
    if let why = unusableTextFile(path) { throw fail(why) }
    var st = stat()
    if stat(path, &st) == 0, Int(st.st_size) > YAMLConfig.maximumSize {
      throw fail("the file is \(st.st_size) bytes; a configuration may be at most \(YAMLConfig.maximumSize) bytes")
    }
    guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
    return try parse(Array(data), file: path, json: path.hasSuffix(".json"))
  }

  public static func parse(_ bytes: [UInt8], file: String, json: Bool = false) throws -> TaskConfig {
    let root = try TaskConfigError.document(bytes, file: file, json: json, schema: taskConfigSchemaText)
    var reader = NodeReader()
    reader.source = (bytes, json)
    var c = reader.config(root)
    c.locations.places = reader.locations
    let baseDirectory = URL(fileURLWithPath: file).deletingLastPathComponent().path
    for k in c.tasks.indices {
      c.tasks[k].origin = Origin(index: k)
      // A text file's path is relative to the configuration's folder.
      if case let .text(p, l) = c.tasks[k].source, !p.isEmpty, !p.hasPrefix("/") {
        c.tasks[k].source = .text(path: baseDirectory + "/" + p, language: l)
      }
    }
    let all = reader.problems + c.problems()
    if !all.isEmpty { throw TaskConfigError(file: file, problems: all) }
    return c
  }

  /// The most tasks a configuration may have.
  public static let maximumTasks = 256

  /// Fields each source gives (tables: checked against the catalog).
  static func fields(of source: Source) -> [String]? {
    switch source {
    case .molecules: return ["smiles"]
    case .proteins: return ["sequence"]
    case .measurements: return ["smiles", "sequence", "target", "count"]
    case .text: return ["text"]
    case .table: return nil
    }
  }

  /// What the schema cannot say, as problems by key path (no catalog needed).
  public func problems() -> [TaskConfigError.Problem] {
    var out: [TaskConfigError.Problem] = []
    func fail(_ path: String, _ message: String, located: Bool = true) {
      var p = TaskConfigError.Problem(keyPath: path, message: message)
      if located, let at = locations.place(path) {
        p.line = at.line
        p.column = at.column
      }
      out.append(p)
    }
    var kinds: [String: TagLLM.TagKind] = [:]
    for (k, t) in tags.enumerated() {
      if kinds[t.name] != nil { fail("tags[\(k)].name", "tag \(t.name) is declared twice") }
      if ["SRC", "TGT", "input", "output"].contains(t.name) { fail("tags[\(k)].name", "\(t.name) is a template placeholder") }
      if t.language && t.kind != .domain {
        fail("tags[\(k)]", "a language tag is a domain tag (kind: domain): <SRC> and <TGT> become it, and the ablation treats them so")
      }
      if t.language && t.name != t.name.uppercased() {
        fail("tags[\(k)]", "a language tag is named in upper case (\(t.name.uppercased())): the languages of the data are upper-cased")
      }
      kinds[t.name] = t.kind
    }
    let tagList = TaskTemplate.tagList(kinds)
    if tasks.count > Self.maximumTasks {
      fail("tasks", "\(tasks.count) tasks; a configuration has at most \(Self.maximumTasks) (each task reads its whole source)")
    }
    // Names are compared without case: --tasks selects a task by its name in any case.
    var names = Set<String>()
    for (k, t) in tasks.enumerated() {
      // Key paths of the file the task was read from (a task added on the command line has no line).
      let at = "tasks[\(t.origin.index ?? k)]"
      func failTask(_ suffix: String, _ message: String) { fail(at + suffix, message, located: t.origin.index != nil) }
      if !names.insert(t.name.lowercased()).inserted {
        failTask(".name", "task \(t.name) is defined twice (names are compared without case: --tasks selects either)")
      }
      var mirrored = Set<String>()
      for (i, pair) in t.mirror.enumerated() {
        if pair.count == 2 && pair[0] == pair[1] {
          failTask(".mirror[\(i)]", "a mirror pair exchanges two different fields (\(pair[0]) twice)")
        } else if let again = pair.first(where: { mirrored.contains($0) }) {
          failTask(".mirror[\(i)]", "\(again) is in two mirror pairs: each field is exchanged with one other")
        }
        mirrored.formUnion(pair)
      }
      if !t.mirror.isEmpty, t.source.name != "table" {
        failTask(".mirror", "mirror exchanges the fields of table rows: from: table (this task is from: \(t.source.name))")
      }
      let pieces: [TagLLM.Piece]
      do {
        pieces = try TaskTemplate.parse(t.template, kinds: kinds, tagList: tagList)
      } catch {
        failTask(".template", error.message)
        continue
      }
      var outputs = 0
      for p in pieces {
        switch p {
        case let .input(i, placeholder) where i >= t.inputs.count:
          failTask(".template", "<\(placeholder)> but the task has \(t.inputs.count) input(s)")
        case .output: outputs += 1
        case .sourceLanguage where t.sourceLanguage == nil && !isText(t.source):
          failTask(".template", "<SRC> needs source_language (the field naming the language)")
        case .targetLanguage where t.targetLanguage == nil:
          failTask(".template", "<TGT> needs target_language (the field naming the language)")
        default: break
        }
      }
      func hasInput(_ p: [TagLLM.Piece]) -> Bool { p.contains { if case .input = $0 { return true } else { return false } } }
      if !hasInput(pieces) {
        failTask(".template", "the template uses none of the task's inputs (<input>, <input N>): every example would be the same text")
      } else if !hasInput(TaskTemplate.ablate(pieces, stage: t.stage, regression: t.regression, ablation)) {
        failTask(".template", "under the ablation \(ablation.rawValue) the template keeps none of its inputs (a regression template "
                   + "then ends before its function tag: put the inputs before it)")
      }
      if t.output == .none && outputs > 0 { failTask(".template", "<output> in a task whose output is none") }
      if t.output != .none && outputs != 1 { failTask(".template", "a \(t.output.rawValue) task needs <output> once") }
      let functions = pieces.indices.filter { if case .function = pieces[$0] { return true } else { return false } }
      if t.output == .regression && functions.isEmpty {
        failTask(".template", "a regression task needs a function tag (its hidden state is regressed)")
      } else if t.output == .regression && functions.count > 1 {
        failTask(".template", "a regression template has one function tag (its hidden state is regressed), not \(functions.count)")
      }
      // What is regressed or generated follows the prompt.
      if t.output != .none, outputs == 1, let at = pieces.firstIndex(of: .output) {
        let lastInput = pieces.lastIndex { if case .input = $0 { return true } else { return false } }
        if let lastInput, lastInput > at {
          failTask(".template", "<output> comes after the inputs (what is \(t.output == .regression ? "regressed" : "generated") follows the prompt)")
        } else if t.output == .regression, functions.count == 1, functions[0] > at {
          failTask(".template", "<output> comes after the function tag (whose hidden state is regressed)")
        }
      }
      if t.output == .none && t.label != nil { failTask(".label", "a task whose output is none has no label") }
      if t.label != nil && t.output != .regression && t.labelScale != 1 {
        failTask(".label.scale", "a scale multiplies a regression's label; this task's output is \(t.output.rawValue)")
      } else if t.label != nil && !(t.labelScale.isFinite && t.labelScale != 0) {
        failTask(".label.scale", "the scale \(t.labelScale) would make every label \(t.labelScale == 0 ? "0" : "infinite or not a number")")
      }
      if t.output != .none && t.label == nil { failTask(".label", "a \(t.output.rawValue) task needs a label") }
      if t.stage == 1 && t.output != .none { failTask(".output", "stage 1 learns domain tags from unlabelled text: output none") }
      switch (t.source, t.label) {
      case (.molecules, .descriptor(let d)?), (.proteins, .descriptor(let d)?):
        let kind: LabelKind = t.source == .molecules ? .molecule : .protein
        if DescriptorRegistry.named(d, kind: kind) == nil {
          failTask(".label.descriptor", DescriptorNameError(name: d, kind: kind).description)
        }
      case (_, .descriptor?): failTask(".label.descriptor", "descriptors label molecules and proteins (from: molecules or proteins)")
      case (.table, .column?), (_, nil): break
      case (_, .column?): failTask(".label.column", "columns label table rows (from: table)")
      case (.measurements, .measurement?): break
      case (_, .measurement?): failTask(".label.measurement", "the measurement labels a task from: measurements")
      }
      if case .measurements = t.source, t.label != .measurement { failTask(".label", "from: measurements is labelled by the measurement") }
      if let known = Self.fields(of: t.source) {
        for (i, input) in t.inputs.enumerated() where !known.contains(input.field) {
          failTask(".inputs[\(i)].field", "from: \(t.source.name) gives no field \(input.field) (its fields: \(known.joined(separator: ", ")))")
        }
        // A SMILES or protein input reads a field of that kind.
        let kindOf: [String: TagLLM.Segment.Kind] = ["smiles": .smiles, "sequence": .protein]
        for (i, input) in t.inputs.enumerated() where input.kind != .text && known.contains(input.field) && kindOf[input.field] != input.kind {
          failTask(".inputs[\(i)].kind", "the field \(input.field) of from: \(t.source.name) is "
                     + "\(kindOf[input.field].map(\.rawValue) ?? "text"), not \(input.kind.rawValue) (kind: text reads any field)")
        }
        for f in [t.sourceLanguage, t.targetLanguage, t.year].compactMap({ $0 }) where !known.contains(f) {
          failTask("", "from: \(t.source.name) gives no field \(f) (its fields: \(known.joined(separator: ", ")))")
        }
      }
      if case let .text(path, _) = t.source, path.utf8.contains(0) {
        failTask(".file", "a file name cannot hold the character NUL")
      } else if case let .text(path, _) = t.source, !path.isEmpty, let why = Self.unusableTextFile(path) {
        failTask(".file", why)
      }
      if split.method == .temporal && t.year == nil {
        failTask("", "task \(t.name) has no year field, and the temporal split dates every example (give year: FIELD"
               + (preset == "tag-llm" ? "; in the tag-llm preset only BA has one: --tasks BA)" : ")"))
      }
    }
    let plan = self.plan
    for p in plan.problems { fail("split", p) }
    if split.method != .temporal, split.train.isFinite, split.valid.isFinite, split.train + split.valid > 1 + 1e-9 {
      fail("split", "train \(split.train) and valid \(split.valid) add up to more than 1")
    }
    return out
  }

  /// Why a text task's file cannot be read line by line to its end, or nil: only a readable
  /// regular file (a symbolic link is followed) can; opening a FIFO would block until a writer
  /// comes, a device such as /dev/zero never ends, a directory fails only once the build has begun.
  public static func unusableTextFile(_ path: String) -> String? {
    var st = stat()
    guard stat(path, &st) == 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
    switch st.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: return "\(path) is a directory, not a file"
    case S_IFIFO: return "\(path) is a pipe (FIFO): give a regular file"
    default: return "\(path) is not a regular file (a device or socket)"
    }
    guard access(path, R_OK) == 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
    return nil
  }

  func isText(_ s: Source) -> Bool { if case .text = s { return true } else { return false } }

  /// Checks the configuration against `catalog`: the columns a table task names exist in the
  /// table's mapping (a table the catalog lacks makes its task report "skipped"). Throws before
  /// any example is made.
  public func compile(for catalog: Catalog, file: String? = nil) throws -> CompiledConfig {
    var problems = self.problems()
    var kinds: [String: TagLLM.TagKind] = [:]
    for t in tags { kinds[t.name] = t.kind }
    var columns: [String: Set<String>] = [:]
    /// The kind of each column (smiles, protein, number, text, id, language), by table.
    var columnKinds: [String: [String: String]] = [:]
    for (name, mapping) in try catalog.tableMappings() {
      guard let node = try? ConfigJSON.parse(Array(mapping.utf8)), case let .object(m) = node.value,
        let cols = m.first(where: { $0.key == "columns" })?.value, case let .array(list) = cols.value
      else { continue }
      for c in list {
        if case let .array(pair) = c.value, let first = pair.first, case let .string(h) = first.value {
          columns[name, default: []].insert(h)
          if pair.count > 1, case let .string(kind) = pair[1].value { columnKinds[name, default: [:]][h] = kind }
        }
      }
    }
    var compiled: [CompiledTask] = []
    for (k, t) in tasks.enumerated() {
      let at = "tasks[\(t.origin.index ?? k)]"
      guard let pieces = try? TaskTemplate.parse(t.template, kinds: kinds, tagList: "") else { continue }
      var task = CompiledTask(spec: t, pieces: pieces,
                              ablated: TaskTemplate.ablate(pieces, stage: t.stage, regression: t.regression, ablation),
                              maxLength: t.maxLength ?? Int.max)
      if case let .table(name) = t.source {
        if let have = columns[name] {
          var named: [(path: String, field: String)] = t.inputs.enumerated().map { (".inputs[\($0.offset)].field", $0.element.field) }
          if let f = t.sourceLanguage { named.append((".source_language", f)) }
          if let f = t.targetLanguage { named.append((".target_language", f)) }
          if let f = t.year { named.append((".year", f)) }
          if case let .column(c)? = t.label { named.append((".label.column", c)) }
          for (i, pair) in t.mirror.enumerated() {
            for (j, f) in pair.enumerated() { named.append((".mirror[\(i)][\(j)]", f)) }
          }
          func fail(_ path: String, _ message: String) {
            var p = TaskConfigError.Problem(keyPath: at + path, message: message)
            if t.origin.index != nil, let place = locations.place(p.keyPath) {
              p.line = place.line
              p.column = place.column
            }
            problems.append(p)
          }
          for (path, f) in named where !have.contains(f) {
            fail(path, "the \(name) table has no column \(f) (its columns: \(have.sorted().joined(separator: ", ")))")
          }
          // What each column is used as fits its kind.
          let kindOf = columnKinds[name] ?? [:]
          for (i, input) in t.inputs.enumerated() {
            guard let kind = kindOf[input.field], input.kind != .text, kind != input.kind.rawValue else { continue }
            fail(".inputs[\(i)].kind", "the \(name) column \(input.field) is \(kind), not \(input.kind.rawValue) (kind: text reads any column)")
          }
          if t.output == .regression, case let .column(c)? = t.label, let kind = kindOf[c], ["smiles", "protein", "language"].contains(kind) {
            fail(".label.column", "a regression regresses a number: the \(name) column \(c) is \(kind)")
          }
          for (path, f) in [(".source_language", t.sourceLanguage), (".target_language", t.targetLanguage)] {
            if let f, let kind = kindOf[f], ["smiles", "protein", "number"].contains(kind) {
              fail(path, "a language comes from a column of language names: the \(name) column \(f) is \(kind)")
            }
          }
          if let y = t.year, let kind = kindOf[y], ["smiles", "protein", "language"].contains(kind) {
            fail(".year", "a year comes from a number or text column: the \(name) column \(y) is \(kind)")
          }
        } else {
          task.skipped = "no \(name) table rows (tagdata ingest --preset \(name))"
        }
      }
      compiled.append(task)
    }
    if !problems.isEmpty { throw TaskConfigError(file: file, problems: problems) }
    return CompiledConfig(config: self, tasks: compiled)
  }
}

/// Turns a schema-valid tree into a ``TaskConfig``, keeping where each key path is.
struct NodeReader {
  var locations: [String: TaskConfig.Locations.Place] = [:]
  var problems: [TaskConfigError.Problem] = []

  func member(_ n: ConfigJSON.Node, _ key: String) -> ConfigJSON.Node? {
    if case let .object(m) = n.value { return m.first(where: { $0.key == key })?.value }
    return nil
  }
  func string(_ n: ConfigJSON.Node?) -> String? { if let n, case let .string(s) = n.value { return s } else { return nil } }
  func int(_ n: ConfigJSON.Node?) -> Int? {
    if let n, case let .number(x, i) = n.value { return i.map { Int($0) } ?? (x.rounded() == x && abs(x) < 1e15 ? Int(x) : nil) }
    return nil
  }
  /// The file's bytes and whether it is JSON (whose columns count bytes; YAML's count characters).
  var source: (bytes: [UInt8], json: Bool) = ([], false)

  /// The exact value of an integer too large for Int64 but not for UInt64, read from the digits
  /// written at the node's place (the tree keeps such a number as a Double only).
  func unsignedLiteral(_ n: ConfigJSON.Node) -> UInt64? {
    guard case let .number(x, nil) = n.value, x >= 9.2e18, x <= 1.9e19 else { return nil }
    let b = source.bytes
    var line = 1, i = b.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    while i < b.count, line < n.line {
      if b[i] == 0x0A { line += 1 }
      i += 1
    }
    var column = 1
    while i < b.count, column < n.column, b[i] != 0x0A {
      i += 1
      if source.json || (i < b.count && b[i] & 0xC0 != 0x80) { column += 1 }
    }
    if !source.json { while i < b.count, b[i] & 0xC0 == 0x80 { i += 1 } }
    var j = i
    if j < b.count, b[j] == UInt8(ascii: "+") { j += 1 }
    var digits: [UInt8] = []
    while j < b.count, b[j] >= 0x30 && b[j] <= 0x39 {
      digits.append(b[j])
      j += 1
    }
    guard let u = UInt64(String(decoding: digits, as: UTF8.self)), Double(u) == x else { return nil }
    return u
  }

  /// An integer that must be exact (a seed, a year): a number the schema calls an integer but
  /// that does not fit 64 bits (1e20) is a problem at `path`, not silently the default.
  mutating func exactInt(_ n: ConfigJSON.Node?, at path: String) -> Int? {
    guard let n, case let .number(x, _) = n.value else { return nil }
    if let i = int(n) { return i }
    problems.append(.init(keyPath: path, line: n.line, column: n.column,
                          message: "\(TagLLM.pythonRepr(x) ?? "the number") is too large (at most \(Int.max))"))
    return nil
  }
  func double(_ n: ConfigJSON.Node?) -> Double? { if let n, case let .number(x, _) = n.value { return x } else { return nil } }
  func bool(_ n: ConfigJSON.Node?) -> Bool? { if let n, case let .bool(b) = n.value { return b } else { return nil } }
  func array(_ n: ConfigJSON.Node?) -> [ConfigJSON.Node] { if let n, case let .array(a) = n.value { return a } else { return [] } }
  func isNull(_ n: ConfigJSON.Node?) -> Bool { if let n, case .null = n.value { return true } else { return false } }

  mutating func note(_ path: String, _ n: ConfigJSON.Node?) {
    guard let n else { return }
    locations[path] = .init(line: n.line, column: n.column)
    if case let .object(m) = n.value {
      for (k, v) in m { note(path.isEmpty ? k : path + "." + k, v) }
    } else if case let .array(a) = n.value {
      for (i, v) in a.enumerated() { note(path + "[\(i)]", v) }
    }
  }

  mutating func config(_ root: ConfigJSON.Node) -> TaskConfig {
    note("", root)
    var c = TaskConfig()
    if let n = member(root, "seed") {
      // A seed above Int64.max (the CLI's --seed takes any UInt64, --print-config writes it) is read from its digits.
      if let u = unsignedLiteral(n) { c.seed = u } else if let s = exactInt(n, at: "seed"), s >= 0 { c.seed = UInt64(s) }
    }
    if let p = int(member(root, "tokens_per_tag")) { c.tokensPerTag = p }
    if let a = string(member(root, "ablation")), let ab = TagLLM.Ablation(rawValue: a) { c.ablation = ab }
    if let m = member(root, "max_length") { c.maxLength = isNull(m) ? nil : int(m) }
    if let s = member(root, "split") {
      if let m = string(member(s, "method")), let kind = SplitKind(rawValue: m) { c.split.method = kind }
      if let x = double(member(s, "train")) { c.split.train = x }
      if let x = double(member(s, "valid")) { c.split.valid = x }
      if let t = member(s, "temporal") {
        func years(_ key: String) -> ClosedRange<Int>? {
          let a = array(member(t, key))
          guard a.count == 2 else { return nil }
          let path = "split.temporal." + key
          let first = exactInt(a[0], at: path + "[0]"), last = exactInt(a[1], at: path + "[1]")
          guard let lo = first, let hi = last else { return nil }
          if lo > hi {
            problems.append(.init(keyPath: "split.temporal." + key, line: a[0].line, column: a[0].column,
                                  message: "the first year \(lo) is after the last \(hi)"))
            return nil
          }
          return lo...hi
        }
        let tv = years("train_valid_years"), te = years("test_years"), valid = years("valid_years")
        if let tv, let te {
          c.split.temporal = TemporalRule(trainValidYears: tv, testYears: te,
                                          validFraction: double(member(t, "valid_fraction")) ?? 0.2,
                                          validYears: valid)
        }
      }
    }
    for t in array(member(root, "tags")) {
      c.tags.append(TaskConfig.TagSpec(name: string(member(t, "name")) ?? "",
                                       kind: string(member(t, "kind")) == "function" ? .function : .domain,
                                       tokens: int(member(t, "tokens")), language: bool(member(t, "language")) ?? false))
    }
    for (k, t) in array(member(root, "tasks")).enumerated() {
      let from = string(member(t, "from")) ?? ""
      // The keys of one kind of source: needed by it, and meaningless (so a mistake) for the others.
      for (kind, keys) in [("table", ["table"]), ("text", ["file", "language"]), ("measurements", ["measurement"])] {
        for key in keys {
          let node = member(t, key)
          if from == kind && node == nil {
            problems.append(.init(keyPath: "tasks[\(k)]", line: t.line, column: t.column, message: "from: \(kind) needs \(key)"))
          } else if from != kind, let node {
            problems.append(.init(keyPath: "tasks[\(k)].\(key)", line: node.line, column: node.column,
                                  message: "\(key) belongs to from: \(kind) (this task is from: \(from))"))
          }
        }
      }
      let source: TaskConfig.Source
      switch from {
      case "molecules": source = .molecules
      case "proteins": source = .proteins
      case "table": source = .table(string(member(t, "table")) ?? "")
      case "measurements":
        let m = member(t, "measurement")
        var spec = TaskConfig.MeasurementSpec(kind: string(m.flatMap { member($0, "kind") }) ?? "Kd")
        if let m {
          spec.aggregate = string(member(m, "aggregate")) ?? spec.aggregate
          spec.scale = string(member(m, "scale")) ?? spec.scale
          spec.censored = string(member(m, "censored")) ?? spec.censored
        }
        source = .measurements(spec)
      default: source = .text(path: string(member(t, "file")) ?? "", language: (string(member(t, "language")) ?? "").uppercased())
      }
      let inputs = array(member(t, "inputs")).map { i -> TaskConfig.InputSpec in
        let field = string(member(i, "field")) ?? ""
        let kind = string(member(i, "kind")).flatMap(TagLLM.Segment.Kind.init(rawValue:))
          ?? (field == "smiles" ? .smiles : field == "sequence" ? .protein : .text)
        return TaskConfig.InputSpec(field: field, kind: kind, spaced: bool(member(i, "spaced")) ?? false)
      }
      var spec = TaskConfig.TaskSpec(name: string(member(t, "name")) ?? "", stage: int(member(t, "stage")) ?? 1,
                                     source: source, inputs: inputs, template: string(member(t, "template")) ?? "",
                                     output: TaskConfig.Output(rawValue: string(member(t, "output")) ?? "none") ?? .none)
      if let l = member(t, "label") {
        if let d = string(member(l, "descriptor")) {
          spec.label = .descriptor(d)
        } else if let col = string(member(l, "column")) {
          spec.label = .column(col)
        } else {
          spec.label = .measurement
        }
        spec.labelScale = double(member(l, "scale")) ?? 1
      }
      if let m = member(t, "max_length") { spec.maxLength = isNull(m) ? nil : int(m) } else { spec.maxLength = c.maxLength }
      spec.sourceLanguage = string(member(t, "source_language"))
      spec.targetLanguage = string(member(t, "target_language"))
      spec.mirror = array(member(t, "mirror")).map { array($0).compactMap { string($0) } }
      spec.year = string(member(t, "year"))
      c.tasks.append(spec)
    }
    return c
  }
}
