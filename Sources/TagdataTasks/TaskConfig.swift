import Foundation
import TagdataBio
import TagdataIO
import TagdataLabels

/// A build's task configuration (`Schemas/task-config.schema.json`, YAML or JSON): the tags, the
/// tasks (where their inputs come from, their template, their label), the split and the seed.
/// `tagdata build --preset tag-llm` is the configuration ``TaskConfig/tagLLM`` (print it with
/// `tagdata build --print-config`), and any other is a file given with `--config`.
public struct TaskConfig: Sendable, Equatable {
  public var seed: UInt64 = 42
  /// Virtual tokens of a tag that does not say (`num_token_per_tag` of Tag-LLM's task configs).
  public var tokensPerTag = TagLLM.tokensPerTag
  public var ablation: TagLLM.Ablation = .both
  /// The `max_length` of a task that gives none (read from a file; each task keeps its own).
  public var maxLength: Int? = 512
  public var split = SplitSpec()
  /// Declared tags in allocation order. Language tags met in the data that are not declared are
  /// added after them (upper-cased, sorted) with `tokensPerTag` tokens.
  public var tags: [TagSpec] = []
  public var tasks: [TaskSpec] = []
  /// The preset this configuration reproduces, or nil for a user's file.
  public var preset: String?
  /// Where each key path of the file it was read from is (empty for a configuration made in code).
  public var locations = Locations()

  public init() {}

  /// Line and column (from 1) of each key path of a configuration file (`tasks[2].label`), so
  /// that a problem found after reading (a table's missing column) still names its line. Not
  /// part of the configuration's meaning: any two compare equal.
  public struct Locations: Sendable, Equatable {
    public struct Place: Sendable, Equatable {
      public var line: Int
      public var column: Int
    }
    public var places: [String: Place] = [:]
    public init() {}
    public static func == (a: Locations, b: Locations) -> Bool { true }
    /// The place of `keyPath`, else of the nearest enclosing key path that has one.
    public func place(_ keyPath: String) -> Place? {
      var p = keyPath
      while true {
        if let at = places[p] { return at }
        guard let cut = p.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
        p = String(p[..<cut])
      }
    }
  }

  /// The index of a task in the file it was read from (nil: a task added in code or on the
  /// command line). Not part of the task's meaning: any two compare equal.
  public struct Origin: Sendable, Equatable {
    public var index: Int?
    public init(index: Int? = nil) { self.index = index }
    public static func == (a: Origin, b: Origin) -> Bool { true }
  }

  public struct SplitSpec: Sendable, Equatable {
    public var method: SplitKind = .random
    public var train = 0.8
    public var valid = 0.1
    /// Temporal split: TDC's BindingDB_Patent years unless configured.
    public var temporal: TemporalRule = .bindingDBPatent
    public init() {}
  }

  public struct TagSpec: Sendable, Equatable {
    public var name: String
    public var kind: TagLLM.TagKind
    /// Virtual tokens (p); nil: the configuration's `tokens_per_tag`.
    public var tokens: Int?
    /// A language tag (a `<SRC>`/`<TGT>` of a template can be it).
    public var language = false
    public init(name: String, kind: TagLLM.TagKind, tokens: Int? = nil, language: Bool = false) {
      self.name = name
      self.kind = kind
      self.tokens = tokens
      self.language = language
    }
  }

  /// Where a task's examples come from.
  public enum Source: Sendable, Equatable {
    /// Every molecule of the catalog (field `smiles`).
    case molecules
    /// Every protein of the catalog (fields `sequence`, `spaced_sequence`).
    case proteins
    /// The rows of an ingested table (fields: its mapped columns).
    case table(String)
    /// Aggregated BindingDB measurements, one per (molecule, target) (fields `smiles`,
    /// `sequence`, `target`).
    case measurements(MeasurementSpec)
    /// A plain text file, one example per non-blank line (field `text`), in one language.
    case text(path: String, language: String)

    public var name: String {
      switch self {
      case .molecules: return "molecules"
      case .proteins: return "proteins"
      case .table: return "table"
      case .measurements: return "measurements"
      case .text: return "text"
      }
    }
  }

  public struct MeasurementSpec: Sendable, Equatable {
    /// Ki, IC50, Kd or EC50.
    public var kind: String
    public var aggregate: String = "median"
    /// `raw` (nM) or `pX` (9 − log10 nM).
    public var scale: String = "pX"
    public var censored: String = "exclude"
    public init(kind: String) { self.kind = kind }
  }

  public struct InputSpec: Sendable, Equatable {
    public var field: String
    /// The segment kind of the input: smiles, protein or text.
    public var kind: TagLLM.Segment.Kind
    /// Residues joined by one space (Tag-LLM's `' '.join(seq)`).
    public var spaced = false
    public init(field: String, kind: TagLLM.Segment.Kind, spaced: Bool = false) {
      self.field = field
      self.kind = kind
      self.spaced = spaced
    }
  }

  public enum Output: String, Sendable, Equatable {
    /// No output (stage 1: the text itself is learned).
    case none
    /// A number regressed from the function tag's hidden state.
    case regression
    /// Text generated after the template.
    case generation
  }

  public enum LabelSource: Sendable, Equatable {
    /// A descriptor of the task's molecule or protein (stored by `tagdata describe`, computed when missing).
    case descriptor(String)
    /// A table column.
    case column(String)
    /// The aggregated measurement of a `measurements` task.
    case measurement
  }

  public struct TaskSpec: Sendable, Equatable {
    public var name: String
    public var stage: Int
    public var source: Source
    public var inputs: [InputSpec]
    /// The template as written (`<input 0>`, `<output>`, `<TAG>`, `<SRC>`, `<TGT>`).
    public var template: String
    public var output: Output
    public var label: LabelSource?
    /// The label is multiplied by this (Tag-LLM's DC: 0.1).
    public var labelScale = 1.0
    /// Filter: SMILES and protein inputs longer than this (characters, before spacing) give no
    /// example; nil: no limit. A file's task without `max_length` takes the file's `max_length`.
    public var maxLength: Int?
    /// Fields naming the source and target languages (`<SRC>`, `<TGT>`).
    public var sourceLanguage: String?
    public var targetLanguage: String?
    /// Each row gives a second example with these fields exchanged (both translation directions).
    public var mirror: [[String]] = []
    /// The field holding the example's year (temporal split).
    public var year: String?
    /// Where the task was in its file (its key paths are `tasks[index]...` there).
    public var origin = Origin()
    public init(name: String, stage: Int, source: Source, inputs: [InputSpec], template: String, output: Output,
                label: LabelSource? = nil)
    {
      self.name = name
      self.stage = stage
      self.source = source
      self.inputs = inputs
      self.template = template
      self.output = output
      self.label = label
    }
    public var regression: Bool { output == .regression }
  }

  /// The split plan of group splits.
  public var plan: SplitPlan {
    SplitPlan(kind: split.method, train: split.train, valid: split.valid, test: max(0, 1 - split.train - split.valid),
              seed: seed, temporal: split.temporal)
  }

  /// Sets the split method. The tag-llm preset's BA, under a temporal split, reads the
  /// tdc-dti-patent table (TDC's BindingDB_Patent layout), whose Year column dates each row.
  public mutating func setSplit(_ kind: SplitKind) {
    split.method = kind
    guard kind == .temporal, preset == "tag-llm" else { return }
    for k in tasks.indices where tasks[k].name == TagLLM.Task.ba.rawValue {
      tasks[k].source = .table(StageBuilder.dtiPatentTable)
      tasks[k].year = "Year"
    }
  }

  /// Tokens of tag `t`.
  public func tokens(_ t: TagSpec) -> Int { t.tokens ?? tokensPerTag }

  /// The configuration as canonical JSON (fixed key order, defaults written out): what the
  /// manifest records and hashes. Two configurations with the same meaning give the same text.
  public var json: String {
    func q(_ s: String) -> String { JSONString.quoted(s) }
    func num(_ x: Double) -> String { TagLLM.pythonRepr(x) ?? "null" }
    var s = "{\"preset\":" + (preset.map(q) ?? "null") + ",\"seed\":\(seed),\"tokens_per_tag\":\(tokensPerTag)"
    s += ",\"ablation\":\"\(ablation.rawValue)\""
    s += ",\"split\":{\"method\":\"\(split.method.rawValue)\",\"train\":\(num(split.train)),\"valid\":\(num(split.valid))"
    if split.method == .temporal {
      let r = split.temporal
      s += ",\"temporal\":{\"train_valid_years\":[\(r.trainValidYears.lowerBound),\(r.trainValidYears.upperBound)]"
        + ",\"test_years\":[\(r.testYears.lowerBound),\(r.testYears.upperBound)],\"valid_fraction\":\(num(r.validFraction))"
        + (r.validYears.map { ",\"valid_years\":[\($0.lowerBound),\($0.upperBound)]" } ?? "") + "}"
    }
    s += "},\"tags\":[" + tags.map { t in
      "{\"name\":\(q(t.name)),\"kind\":\"\(t.kind.rawValue)\",\"tokens\":\(tokens(t))"
        + (t.language ? ",\"language\":true" : "") + "}"
    }.joined(separator: ",") + "]"
    s += ",\"tasks\":[" + tasks.map { t in
      var x = "{\"name\":\(q(t.name)),\"stage\":\(t.stage),\"from\":\"\(t.source.name)\""
      switch t.source {
      case let .table(name): x += ",\"table\":\(q(name))"
      case let .measurements(m):
        x += ",\"measurement\":{\"kind\":\(q(m.kind)),\"aggregate\":\(q(m.aggregate)),\"scale\":\(q(m.scale)),"
          + "\"censored\":\(q(m.censored))}"
      case let .text(path, language): x += ",\"file\":\(q(path)),\"language\":\(q(language))"
      default: break
      }
      x += ",\"inputs\":[" + t.inputs.map { i in
        "{\"field\":\(q(i.field)),\"kind\":\"\(i.kind.rawValue)\"" + (i.spaced ? ",\"spaced\":true" : "") + "}"
      }.joined(separator: ",") + "]"
      x += ",\"template\":\(q(t.template)),\"output\":\"\(t.output.rawValue)\""
      if let l = t.label {
        switch l {
        case let .descriptor(d): x += ",\"label\":{\"descriptor\":\(q(d))"
        case let .column(c): x += ",\"label\":{\"column\":\(q(c))"
        case .measurement: x += ",\"label\":{\"measurement\":true"
        }
        x += ",\"scale\":\(num(t.labelScale))}"
      }
      x += ",\"max_length\":" + (t.maxLength.map { String($0) } ?? "null")
      if let l = t.sourceLanguage { x += ",\"source_language\":\(q(l))" }
      if let l = t.targetLanguage { x += ",\"target_language\":\(q(l))" }
      if !t.mirror.isEmpty {
        x += ",\"mirror\":[" + t.mirror.map { "[" + $0.map(q).joined(separator: ",") + "]" }.joined(separator: ",") + "]"
      }
      if let y = t.year { x += ",\"year\":\(q(y))" }
      return x + "}"
    }.joined(separator: ",") + "]}"
    return s
  }
}

// MARK: - The Tag-LLM preset

extension TaskConfig {
  /// Tag-LLM's eight tasks from tagdata's sources (FORMATS.md 7): stage 1 Language (the
  /// parallel-text table, each side), Protein, SMILES; stage 2 Descriptor (BLOSUM1), QED;
  /// stage 3 BA (the tdc-dti table), DC (tdc-drugcomb, Y × 0.1), Translate (parallel-text, both
  /// directions). Templates and tags are Tag-LLM's, byte for byte.
  public static var tagLLM: TaskConfig {
    var c = TaskConfig()
    c.preset = "tag-llm"
    c.tags = TagLLM.languages.map { TagSpec(name: $0, kind: .domain, language: true) }
      + [TagSpec(name: "Protein", kind: .domain), TagSpec(name: "SMILES", kind: .domain)]
      + ["Descriptor", "QED", "BA", "DC", "Translate"].map { TagSpec(name: $0, kind: .function) }
    let smiles = InputSpec(field: "smiles", kind: .smiles)
    let spaced = InputSpec(field: "sequence", kind: .protein, spaced: true)
    for task in TagLLM.Task.allCases {
      let template = TagLLM.templateString(task)
      var t: TaskSpec
      switch task {
      case .language:
        t = TaskSpec(name: task.rawValue, stage: 1, source: .table(StageBuilder.parallelTable),
                     inputs: [InputSpec(field: "source", kind: .text)], template: template, output: .none)
        t.sourceLanguage = "source_lang"
        t.mirror = [["source_lang", "target_lang"], ["source", "target"]]
      case .protein:
        t = TaskSpec(name: task.rawValue, stage: 1, source: .proteins, inputs: [spaced], template: template, output: .none)
        t.maxLength = 512
      case .smiles:
        t = TaskSpec(name: task.rawValue, stage: 1, source: .molecules, inputs: [smiles], template: template, output: .none)
        t.maxLength = 512
      case .descriptor:
        t = TaskSpec(name: task.rawValue, stage: 2, source: .proteins, inputs: [spaced], template: template,
                     output: .regression, label: .descriptor(ProteinAnalysis.tagLLMDescriptorName))
        t.maxLength = 512
      case .qed:
        t = TaskSpec(name: task.rawValue, stage: 2, source: .molecules, inputs: [smiles], template: template,
                     output: .regression, label: .descriptor("qed"))
        t.maxLength = 512
      case .ba:
        t = TaskSpec(name: task.rawValue, stage: 3, source: .table(StageBuilder.dtiTable),
                     inputs: [InputSpec(field: "Target", kind: .protein), InputSpec(field: "Drug", kind: .smiles),
                              InputSpec(field: "Target_ID", kind: .text), InputSpec(field: "Drug_ID", kind: .text)],
                     template: template, output: .regression, label: .column("Y"))
      case .dc:
        t = TaskSpec(name: task.rawValue, stage: 3, source: .table(StageBuilder.drugcombTable),
                     inputs: [InputSpec(field: "Drug1", kind: .smiles), InputSpec(field: "Drug2", kind: .smiles),
                              InputSpec(field: "Drug1_ID", kind: .text), InputSpec(field: "Drug2_ID", kind: .text)],
                     template: template, output: .regression, label: .column("Y"))
        t.labelScale = 0.1
      case .translate:
        t = TaskSpec(name: task.rawValue, stage: 3, source: .table(StageBuilder.parallelTable),
                     inputs: [InputSpec(field: "source", kind: .text)], template: template, output: .generation,
                     label: .column("target"))
        t.sourceLanguage = "source_lang"
        t.targetLanguage = "target_lang"
        t.mirror = [["source_lang", "target_lang"], ["source", "target"]]
      }
      c.tasks.append(t)
    }
    return c
  }
}

// MARK: - As YAML

extension TaskConfig {
  /// `s` as a YAML double-quoted scalar: JSON's form, with the characters YAML reads otherwise
  /// escaped too (DEL and the C1 controls are refused by libyaml; NEL, LS and PS are line breaks
  /// that a quoted scalar folds into a space; a BOM inside the text is dropped).
  static func yamlQuoted(_ s: String) -> String {
    let json = JSONString.quoted(s)
    guard json.unicodeScalars.contains(where: { needsEscape($0) }) else { return json }
    var out = String.UnicodeScalarView()
    for u in json.unicodeScalars {
      if needsEscape(u) {
        let hex = String(u.value, radix: 16, uppercase: true)
        out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
      } else {
        out.append(u)
      }
    }
    return String(out)
  }

  static func needsEscape(_ u: Unicode.Scalar) -> Bool {
    (u.value >= 0x7F && u.value <= 0x9F) || u.value == 0x2028 || u.value == 0x2029 || u.value == 0xFEFF
  }

  /// The configuration as a YAML file that `tagdata build --config` reads back to the same
  /// configuration (strings in JSON's double-quoted form, which YAML reads alike).
  public var yaml: String {
    func q(_ s: String) -> String { Self.yamlQuoted(s) }
    func num(_ x: Double) -> String { TagLLM.pythonRepr(x) ?? "0" }
    var y = "# tagdata task configuration (Schemas/task-config.schema.json)\n"
    if let preset { y += "# The \(preset) preset: tagdata build --preset \(preset) builds exactly this.\n" }
    y += "seed: \(seed)\ntokens_per_tag: \(tokensPerTag)\nablation: \(ablation.rawValue)\n"
    y += "max_length: " + (maxLength.map { String($0) } ?? "null") + "\n"
    y += "split:\n  method: \(split.method.rawValue)\n  train: \(num(split.train))\n  valid: \(num(split.valid))\n"
    // Years given for another method are kept: --split temporal uses them.
    if split.method == .temporal || split.temporal != .bindingDBPatent {
      let r = split.temporal
      y += "  temporal:\n    train_valid_years: [\(r.trainValidYears.lowerBound), \(r.trainValidYears.upperBound)]\n"
        + "    test_years: [\(r.testYears.lowerBound), \(r.testYears.upperBound)]\n    valid_fraction: \(num(r.validFraction))\n"
      if let v = r.validYears { y += "    valid_years: [\(v.lowerBound), \(v.upperBound)]\n" }
    }
    y += "tags:\n"
    for t in tags {
      y += "  - {name: \(q(t.name)), kind: \(t.kind.rawValue)" + (t.tokens.map { ", tokens: \($0)" } ?? "")
        + (t.language ? ", language: true" : "") + "}\n"
    }
    y += "tasks:\n"
    for t in tasks {
      y += "  - name: \(q(t.name))\n    stage: \(t.stage)\n    from: \(t.source.name)\n"
      switch t.source {
      case let .table(name): y += "    table: \(q(name))\n"
      case let .measurements(m):
        y += "    measurement: {kind: \(m.kind), aggregate: \(m.aggregate), scale: \(m.scale), censored: \(m.censored)}\n"
      case let .text(path, language): y += "    file: \(q(path))\n    language: \(q(language))\n"
      default: break
      }
      y += "    inputs:\n"
      for i in t.inputs {
        y += "      - {field: \(q(i.field)), kind: \(i.kind.rawValue)" + (i.spaced ? ", spaced: true" : "") + "}\n"
      }
      y += "    template: \(q(t.template))\n    output: \(t.output.rawValue)\n"
      if let l = t.label {
        switch l {
        case let .descriptor(d): y += "    label: {descriptor: \(q(d))"
        case let .column(c): y += "    label: {column: \(q(c))"
        case .measurement: y += "    label: {measurement: true"
        }
        y += (t.labelScale != 1 ? ", scale: \(num(t.labelScale))" : "") + "}\n"
      }
      y += "    max_length: " + (t.maxLength.map { String($0) } ?? "null") + "\n"
      if let l = t.sourceLanguage { y += "    source_language: \(q(l))\n" }
      if let l = t.targetLanguage { y += "    target_language: \(q(l))\n" }
      if !t.mirror.isEmpty { y += "    mirror: [" + t.mirror.map { "[" + $0.map(q).joined(separator: ", ") + "]" }.joined(separator: ", ") + "]\n" }
      if let f = t.year { y += "    year: \(q(f))\n" }
    }
    return y
  }
}
