import TagdataBio
import TagdataCatalog
import TagdataLabels

/// One training example of a Tag-LLM task, with where it comes from in the catalog.
public struct TaskExample: Sendable, Equatable {
  public var task: TagLLM.Task
  /// What identifies the example within its task: its filled formulation (two examples with the
  /// same key are the same example). Shard and split follow from it alone.
  public var key: String
  /// The filled template, tags by name.
  public var formulation: String { segments.map(\.text).joined() }
  public var segments: [TagLLM.Segment]
  /// The template's inputs in Tag-LLM's order (BA: sequence, SMILES, Target_ID, Drug_ID).
  public var inputs: [String]
  /// The label string (regression), the translation (Translate), nil for stage 1.
  public var output: String?
  /// The exact value the label string was made from (regression only).
  public var target: Double?
  public var split: String = ""
  /// Catalog keys: molecules by canonical SMILES, proteins by SHA-256 (hex).
  public var molecules: [String] = []
  public var proteins: [String] = []
  /// Table rows: the source's path and the record number.
  public var source: String?
  public var row: Int?

  public init(task: TagLLM.Task, key: String, segments: [TagLLM.Segment], inputs: [String], output: String?,
              target: Double?, split: String = "", molecules: [String] = [], proteins: [String] = [],
              source: String? = nil, row: Int? = nil)
  {
    self.task = task
    self.key = key
    self.segments = segments
    self.inputs = inputs
    self.output = output
    self.target = target
    self.split = split
    self.molecules = molecules
    self.proteins = proteins
    self.source = source
    self.row = row
  }
}

/// What the builder did for one task.
public struct TaskReport: Sendable, Equatable {
  public var task: TagLLM.Task
  /// Examples made (before duplicates are dropped by the export).
  public var examples = 0
  /// Entities or rows that gave no example, by reason.
  public var rejected: [String: Int] = [:]
  /// Why the task has no examples at all (the catalog holds nothing it can use).
  public var skipped: String?
  /// Regression examples whose label string reads back more than 1% off the exact value
  /// (Tag-LLM regresses `float(label)`: 1e-05 gives 1e-50, 1234567.0 gives 123456).
  public var labelsOff = 0
  public init(task: TagLLM.Task) { self.task = task }
}

/// The options of a build.
public struct StageBuildOptions: Sendable, Equatable {
  public var ablation: TagLLM.Ablation = .both
  public var seed: UInt64 = 42
  /// Fractions of train and valid (test gets the rest).
  public var train = 0.8
  public var valid = 0.1
  /// Tag-LLM's filter: protein and SMILES strings longer than this (characters) give no example.
  public var maxLength = 512
  public var tasks: [TagLLM.Task] = TagLLM.Task.allCases
  /// How examples are split: random (by content) or by groups that must not straddle splits
  /// (scaffold, cold-drug, cold-target; see ``SplitKind``). Temporal needs years, which none of
  /// the preset's tasks carry.
  public var split: SplitKind = .random
  public init() {}

  /// The split plan of group splits, per task (seeded as the build).
  var plan: SplitPlan { SplitPlan(kind: split, train: train, valid: valid, test: max(0, 1 - train - valid), seed: seed) }

  /// The options as canonical JSON (fixed key order): what the manifest records and hashes.
  public var json: String {
    "{\"preset\":\"tag-llm\",\"ablation\":\"\(ablation.rawValue)\",\"seed\":\(seed),\"split\":{\"method\":\"\(split.rawValue)\","
      + "\"train\":\(train),\"valid\":\(valid),\"test\":\"rest\"},\"max_length\":\(maxLength),"
      + "\"tokens_per_tag\":\(TagLLM.tokensPerTag),\"tasks\":[" + tasks.map { "\"\($0.rawValue)\"" }.joined(separator: ",")
      + "]}"
  }
}

/// A fixed 64-bit hash of byte strings (FNV-1a, then SplitMix64's finalizer): the same on every
/// machine and run, unlike Swift's `Hasher`.
public enum StableHash {
  public static func hash(_ parts: [String], seed: UInt64 = 0) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
    for (k, p) in parts.enumerated() {
      if k > 0 {
        h ^= 0x1f
        h &*= 0x0000_0100_0000_01b3
      }
      for b in p.utf8 {
        h ^= UInt64(b)
        h &*= 0x0000_0100_0000_01b3
      }
    }
    h ^= h >> 30
    h &*= 0xbf58_476d_1ce4_e5b9
    h ^= h >> 27
    h &*= 0x94d0_49bb_1331_11eb
    h ^= h >> 31
    return h
  }
}

/// A seeded random split by the example's key: the same key always lands in the same split.
public struct SeededRandomSplit: Sendable {
  public var seed: UInt64
  public var train: Double
  public var valid: Double
  public init(seed: UInt64, train: Double, valid: Double) {
    self.seed = seed
    self.train = train
    self.valid = valid
  }
  public func split(task: String, key: String) -> String {
    let u = Double(StableHash.hash(["split", task, key], seed: seed) >> 11) / Double(UInt64(1) << 53)
    return u < train ? "train" : u < train + valid ? "valid" : "test"
  }
}

/// Builds Tag-LLM's stages from one catalog (FORMATS.md 7.1): stage 1 Protein, SMILES, Language;
/// stage 2 QED, Descriptor; stage 3 BA, DC, Translate. Streams: each example goes to `emit` as it
/// is made (split assigned); memory does not grow with the catalog.
public enum StageBuilder {
  public static let dtiTable = "tdc-dti"
  public static let drugcombTable = "tdc-drugcomb"
  public static let parallelTable = "parallel-text"

  /// `assigned`: the split of each example by task and key, from a group split made over all of
  /// them (``ShardExport`` makes it in a first pass); nil: the seeded random split by content.
  public static func build(_ catalog: Catalog, options: StageBuildOptions = StageBuildOptions(),
                           assigned: [TagLLM.Task: [String: SplitName]]? = nil,
                           emit: (TaskExample) throws -> Void) throws -> [TaskReport]
  {
    let splitter = SeededRandomSplit(seed: options.seed, train: options.train, valid: options.valid)
    var reports: [TaskReport] = []
    for task in TagLLM.Task.allCases where options.tasks.contains(task) {
      var report = TaskReport(task: task)
      var seen = 0
      func out(_ e: TaskExample) throws {
        var e = e
        // Every example was seen by the group split's first pass; the random split by content is
        // only a fallback for one that was not (the catalog changed between the passes).
        e.split = assigned?[task]?[e.key]?.rawValue ?? splitter.split(task: task.rawValue, key: e.key)
        report.examples += 1
        if let label = e.output, let x = e.target, !TagLLM.labelReadsBack(label, x) { report.labelsOff += 1 }
        try emit(e)
      }
      func reject(_ why: String) {
        let reason = why
        if report.rejected[reason] == nil && report.rejected.count >= maxReasons {
          report.rejected["other reasons", default: 0] += 1
        } else {
          report.rejected[reason, default: 0] += 1
        }
      }
      let ab = options.ablation
      switch task {
      case .protein, .descriptor:
        // BLOSUM1 is computed for every protein (a mean of per-residue values, cheaper than a
        // look-up, and equal to a stored label of the same definition version).
        let labeler = ProteinLabeler(DescriptorRegistry.named(ProteinAnalysis.tagLLMDescriptorName, kind: .protein).map { [$0] } ?? [])
        try catalog.forEachProtein { p in
          seen += 1
          if p.sequence.utf8.count > options.maxLength { reject("longer than \(options.maxLength) residues"); return true }
          let spaced = spaced(p.sequence)
          if task == .protein {
            try out(example(task, ab, inputs: [spaced], kinds: [.protein], output: nil, target: nil, proteins: [p.sha256]))
            return true
          }
          let value: LabelValue = labeler.label(sequence: Array(p.sequence.utf8)).first ?? .missing(reason: "no descriptor")
          try regression(task, ab, value, inputs: [spaced], kinds: [.protein], proteins: [p.sha256], out: out, reject: reject)
          return true
        }
        if seen == 0 { report.skipped = "no proteins in the catalog" }
      case .smiles:
        try catalog.forEachMolecule { m in
          seen += 1
          if m.smiles.utf8.count > options.maxLength { reject("SMILES longer than \(options.maxLength) characters"); return true }
          try out(example(task, ab, inputs: [m.smiles], kinds: [.smiles], output: nil, target: nil, molecules: [m.smiles]))
          return true
        }
        if seen == 0 { report.skipped = "no molecules in the catalog" }
      case .qed:
        // Stored labels of the current definition first (the label's key is the canonical SMILES),
        // then the molecules without one, computed page by page: memory stays flat.
        guard let def = DescriptorRegistry.named("qed", kind: .molecule) else { break }
        let labeler = MoleculeLabeler([def])
        func qed(_ smiles: String, _ value: () -> LabelValue) throws {
          seen += 1
          if smiles.utf8.count > options.maxLength { reject("SMILES longer than \(options.maxLength) characters"); return }
          try regression(task, ab, value(), inputs: [smiles], kinds: [.smiles], molecules: [smiles], out: out, reject: reject)
        }
        try catalog.forEachLabel(.molecule, names: [def.name]) { l in
          guard l.version == def.version else { return true }
          let v: LabelValue
          switch l.value {
          case let .number(x): v = .number(x)
          case let .text(t): v = .text(t)
          case let .missing(reason): v = .missing(reason: reason)
          }
          try qed(l.key) { v }
          return true
        }
        var after: Int64 = 0
        while true {
          let page = try catalog.pendingLabels(.molecule, [Catalog.LabelDefinition(name: def.name, version: def.version)],
                                               after: after, limit: 512)
          for p in page {
            try qed(p.input) { labeler.label(smiles: Array(p.input.utf8)).first ?? .missing(reason: "no QED") }
          }
          guard let last = page.last else { break }
          after = last.id
        }
        if seen == 0 { report.skipped = "no molecules in the catalog" }
      case .language, .translate:
        try catalog.forEachTableRow(name: parallelTable) { r in
          seen += 1
          guard let sl = text(r, "source_lang"), let s = text(r, "source"), let tl = text(r, "target_lang"),
                let t = text(r, "target"), !sl.isEmpty, !tl.isEmpty
          else { reject("row lacks source_lang, source, target_lang or target"); return true }
          let sides = [(sl.uppercased(), s), (tl.uppercased(), t)]
          for (k, side) in sides.enumerated() {
            if task == .language {
              try out(example(task, ab, inputs: [side.1], kinds: [.text], output: nil, target: nil, language: side.0,
                              source: r.path, row: r.recordNo))
            } else {
              let other = sides[1 - k]
              try out(example(task, ab, inputs: [side.1], kinds: [.text], output: other.1, outputKind: .text, target: nil,
                              language: side.0, targetLanguage: other.0, source: r.path, row: r.recordNo))
            }
          }
          return true
        }
        if seen == 0 { report.skipped = "no parallel-text table rows (tagdata ingest --preset parallel-text)" }
      case .ba:
        try catalog.forEachTableRow(name: dtiTable) { r in
          seen += 1
          guard let seq = text(r, "Target"), let smi = text(r, "Drug"), !seq.isEmpty, !smi.isEmpty
          else { reject("row lacks Target or Drug"); return true }
          guard let y = number(r, "Y") else { reject("Y is not a number"); return true }
          let inputs = [seq, smi, text(r, "Target_ID") ?? "", text(r, "Drug_ID") ?? ""]
          try regression(task, ab, .number(y), inputs: inputs, kinds: [.protein, .smiles, .text, .text], molecules: [smi],
                         proteins: [SequenceDigest.hex(SequenceDigest.sha256(Array(seq.utf8)))], source: r.path,
                         row: r.recordNo, out: out, reject: reject)
          return true
        }
        if seen == 0 { report.skipped = "no tdc-dti table rows (tagdata ingest --preset tdc-dti)" }
      case .dc:
        try catalog.forEachTableRow(name: drugcombTable) { r in
          seen += 1
          guard let d1 = text(r, "Drug1"), let d2 = text(r, "Drug2"), !d1.isEmpty, !d2.isEmpty
          else { reject("row lacks Drug1 or Drug2"); return true }
          guard let y = number(r, "Y") else { reject("Y is not a number"); return true }
          let inputs = [d1, d2, text(r, "Drug1_ID") ?? "", text(r, "Drug2_ID") ?? ""]
          try regression(task, ab, .number(TagLLM.dcScaled(y)), inputs: inputs, kinds: [.smiles, .smiles, .text, .text],
                         molecules: [d1, d2], source: r.path, row: r.recordNo, out: out, reject: reject)
          return true
        }
        if seen == 0 { report.skipped = "no tdc-drugcomb table rows (tagdata ingest --preset tdc-drugcomb)" }
      }
      reports.append(report)
    }
    return reports
  }

  /// Distinct rejection reasons kept per task; the rest are counted as "other reasons".
  static let maxReasons = 32

  /// A rejection reason as a class: numbers (positions, lengths) become `#`, at most 100 characters,
  /// so that the report counts kinds of rejections, not individual ones.
  static func reasonClass(_ why: String) -> String {
    var out: [UInt8] = []
    var inNumber = false
    for b in why.utf8 {
      if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
        if !inNumber { out.append(UInt8(ascii: "#")) }
        inNumber = true
      } else {
        inNumber = false
        out.append(b)
      }
      if out.count >= 100 { break }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// `' '.join(seq)`: residues separated by one space.
  static func spaced(_ s: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count * 2)
    for b in s.utf8 {
      if !out.isEmpty { out.append(UInt8(ascii: " ")) }
      out.append(b)
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// An example of `task`: its segments under the ablation, its key from the full template (so that
  /// an example keeps its split and shard whatever the ablation).
  static func example(_ task: TagLLM.Task, _ ablation: TagLLM.Ablation, inputs: [String], kinds: [TagLLM.Segment.Kind],
                      output: String?, outputKind: TagLLM.Segment.Kind = .label, target: Double?, language: String = "",
                      targetLanguage: String = "", molecules: [String] = [], proteins: [String] = [],
                      source: String? = nil, row: Int? = nil) -> TaskExample
  {
    let segs = TagLLM.fill(task, ablation: ablation, inputs: inputs, inputKinds: kinds, output: output,
                           outputKind: outputKind, source: language, target: targetLanguage)
    let key =
      ablation == .both
      ? segs.map(\.text).joined()
      : TagLLM.fill(task, ablation: .both, inputs: inputs, inputKinds: kinds, output: output, outputKind: outputKind,
                    source: language, target: targetLanguage).map(\.text).joined()
    return TaskExample(task: task, key: key, segments: segs, inputs: inputs, output: output, target: target,
                       molecules: molecules, proteins: proteins, source: source, row: row)
  }

  static func regression(_ task: TagLLM.Task, _ ablation: TagLLM.Ablation, _ value: LabelValue, inputs: [String],
                         kinds: [TagLLM.Segment.Kind], molecules: [String] = [], proteins: [String] = [],
                         source: String? = nil, row: Int? = nil, out: (TaskExample) throws -> Void,
                         reject: (String) -> Void) throws
  {
    let x: Double
    switch value {
    case let .number(v): x = v
    case let .missing(reason): reject("no label: \(reasonClass(reason))"); return
    case .text: reject("label is not a number"); return
    }
    guard let label = TagLLM.labelString(x) else { reject("label is not finite"); return }
    try out(example(task, ablation, inputs: inputs, kinds: kinds, output: label, target: x, molecules: molecules,
                    proteins: proteins, source: source, row: row))
  }

  static func text(_ r: Catalog.StoredTableRow, _ field: String) -> String? {
    guard let k = r.fields.firstIndex(of: field) else { return nil }
    switch r.values[k] {
    case let .text(t): return t
    case let .number(x): return TagLLM.pythonRepr(x)
    default: return nil
    }
  }

  static func number(_ r: Catalog.StoredTableRow, _ field: String) -> Double? {
    guard let k = r.fields.firstIndex(of: field) else { return nil }
    if case let .number(x) = r.values[k], x.isFinite { return x }
    if case let .text(t) = r.values[k] { return Double(t) }
    return nil
  }
}
