import Foundation
import TagdataBio
import TagdataCatalog
import TagdataIO
import TagdataLabels
import TagdataSources

/// One training example of a task, with where it comes from in the catalog.
public struct TaskExample: Sendable, Equatable {
  public var task: String { didSet { hashes.value = nil } }
  public var stage: Int
  public var regression: Bool
  /// What identifies the example within its task: its formulation with every tag (two examples
  /// with the same key are the same example). Shard and split follow from it alone.
  public var key: String {
    get { keyText ?? ExampleMaker.text(keySegments) }
    set {
      if splitSkipsLabels {
        splitKeyText = ExampleMaker.text(keySegments, skipLabels: true)
        splitSkipsLabels = false
      }
      keyText = newValue
      keySegments = []
      hashes.value = nil
    }
  }
  /// What the example's split follows: the key without a regression's label (nil: the key).
  public var splitKey: String? {
    get { splitSkipsLabels ? ExampleMaker.text(keySegments, skipLabels: true) : splitKeyText }
    set {
      if keyText == nil { keyText = ExampleMaker.text(keySegments) }
      splitKeyText = newValue
      splitSkipsLabels = false
      hashes.value = nil
    }
  }
  /// The key and split key as given, or (the builder's examples) the segments of the full
  /// template they are the text of, made into strings only when asked for: most examples are
  /// only hashed (``ExampleHashes``).
  private var keyText: String?
  private var splitKeyText: String?
  private var keySegments: [TagLLM.Segment] = []
  private var splitSkipsLabels = false
  /// The key its split follows.
  public var groupKey: String { splitKey ?? key }
  /// `StableHash.hash([task, key])`: the example's shard, and its `key` in the record.
  var keyHash: UInt64 { hashes.value?.key ?? StableHash.hash([task, key]) }
  /// `StableHash.hash([task, groupKey])`: what the leakage report and group splits key on.
  var groupHash: UInt64 { hashes.value?.group ?? StableHash.hash([task, groupKey]) }
  /// The shard hash and the second, independent hash of (task, key): the example's identity.
  var identityHashes: (UInt64, UInt64) {
    if let h = hashes.value { return (h.key, h.identity) }
    return StableHash.hash2([task, key], seeds: (0, ShardExport.identitySeed))
  }
  /// The filled template, tags by name.
  public var formulation: String { segments.map(\.text).joined() }
  public var segments: [TagLLM.Segment]
  /// The template's inputs in the task's order (BA: sequence, SMILES, Target_ID, Drug_ID).
  public var inputs: [String]
  /// The label string (regression), the generated text (Translate), nil for stage 1.
  public var output: String?
  /// The exact value the label string was made from (regression only).
  public var target: Double?
  public var split: String = ""
  /// Catalog keys: molecules by canonical SMILES, proteins by SHA-256 (hex).
  public var molecules: [String] = []
  public var proteins: [String] = []
  /// The protein sequences of the example (for near-duplicate checks), without spaces.
  public var sequences: [String] = []
  /// Patent or deposition year (temporal split).
  public var year: Int?
  /// Table rows and text files: the source's path and the record number.
  public var source: String?
  public var row: Int?
  /// Where the builder made it: the position of its source unit (a protein, a molecule, a table
  /// row, a measurement, a line of text) in its task's source, and its place among that unit's
  /// examples. A partitioned build takes every `count`-th unit, and its merge restores this order.
  public var unit = 0
  public var sub = 0
  /// The hashes of `key` and `groupKey`, made by the builder in one pass over their bytes (none:
  /// computed from the strings when asked). Not part of the example's value: equal examples are
  /// equal with or without them.
  var hashes = ExampleHashes.Memo()

  public init(task: String, stage: Int, regression: Bool, key: String, segments: [TagLLM.Segment], inputs: [String],
              output: String?, target: Double?)
  {
    self.task = task
    self.stage = stage
    self.regression = regression
    self.keyText = key
    self.segments = segments
    self.inputs = inputs
    self.output = output
    self.target = target
  }

  /// An example whose key is the text of `full` (the template with every tag) and whose split key,
  /// with `skipLabels`, is that text without its label segments.
  init(task: String, stage: Int, regression: Bool, full: [TagLLM.Segment], skipLabels: Bool,
       segments: [TagLLM.Segment], inputs: [String], output: String?, target: Double?)
  {
    self.init(task: task, stage: stage, regression: regression, key: "", segments: segments, inputs: inputs,
              output: output, target: target)
    keyText = nil
    keySegments = full
    splitSkipsLabels = skipLabels
  }

  /// Makes the hashes now, for an example whose builder left them (and its split) to the thread
  /// that takes it (``StageBuilder/build(_:plan:assigned:partition:deferSplits:emit:)``).
  mutating func makeHashes(_ prefix: ExampleHashes.Prefix, memo: ExampleHashes.SegmentMemo?) {
    if keyText == nil {
      hashes.value = ExampleHashes(prefix, segments: keySegments, regression: splitSkipsLabels, memo: memo)
    }
  }

  public static func == (a: TaskExample, b: TaskExample) -> Bool {
    a.task == b.task && a.stage == b.stage && a.regression == b.regression && a.key == b.key && a.splitKey == b.splitKey
      && a.segments == b.segments && a.inputs == b.inputs && a.output == b.output && a.target == b.target
      && a.split == b.split && a.molecules == b.molecules && a.proteins == b.proteins && a.sequences == b.sequences
      && a.year == b.year && a.source == b.source && a.row == b.row && a.unit == b.unit && a.sub == b.sub
  }
}

/// What the builder did for one task.
public struct TaskReport: Sendable, Equatable {
  public var task: String
  public var stage: Int
  public var regression: Bool
  /// The template under the build's ablation.
  public var template: String
  /// Examples made (before duplicates are dropped by the export).
  public var examples = 0
  /// Entities or rows that gave no example, by reason.
  public var rejected: [String: Int] = [:]
  /// Why the task has no examples at all (the catalog holds nothing it can use).
  public var skipped: String?
  /// The first rejections with where they are (`file:line: reason`, `file row N: reason`).
  public var firstRejections: [String] = []
  /// Regression examples whose label string reads back more than 1% off the exact value
  /// (Tag-LLM regresses `float(label)`: 1e-05 gives 1e-50, 1234567.0 gives 123456).
  public var labelsOff = 0
  /// Source units read (those of every partition: a partition reads them all and makes the
  /// examples of its own).
  public var seen = 0
  /// Per rejection reason, where it was first met; the unit of each first rejection.
  var reasonFirstPlace: [String: BuildPartial.Place] = [:]
  public var firstRejectionUnits: [Int] = []
  public init(task: String, stage: Int, regression: Bool, template: String) {
    self.task = task
    self.stage = stage
    self.regression = regression
    self.template = template
  }
}

/// A fixed 64-bit hash of byte strings (FNV-1a, then SplitMix64's finalizer): the same on every
/// machine and run, unlike Swift's `Hasher`.
public enum StableHash {
  static let offset: UInt64 = 0xcbf2_9ce4_8422_2325
  static let prime: UInt64 = 0x0000_0100_0000_01b3
  /// Separates the parts.
  static let separator: UInt8 = 0x1f

  public static func hash(_ parts: [String], seed: UInt64 = 0) -> UInt64 {
    var h = offset ^ seed
    for (k, p) in parts.enumerated() {
      if k > 0 { h = step(h, separator) }
      for b in p.utf8 { h = step(h, b) }
    }
    return finish(h)
  }

  /// `hash(parts, seed:)` for two seeds in one pass over the bytes.
  public static func hash2(_ parts: [String], seeds: (UInt64, UInt64)) -> (UInt64, UInt64) {
    var h = offset ^ seeds.0
    var g = offset ^ seeds.1
    for (k, p) in parts.enumerated() {
      if k > 0 {
        h = step(h, separator)
        g = step(g, separator)
      }
      var p = p
      p.withUTF8 { b in
        for x in b {
          h = step(h, x)
          g = step(g, x)
        }
      }
    }
    return (finish(h), finish(g))
  }

  /// One byte of FNV-1a.
  @inline(__always) static func step(_ h: UInt64, _ b: UInt8) -> UInt64 { (h ^ UInt64(b)) &* prime }

  /// SplitMix64's finalizer.
  static func finish(_ x: UInt64) -> UInt64 {
    var x = x
    x ^= x >> 30
    x &*= 0xbf58_476d_1ce4_e5b9
    x ^= x >> 27
    x &*= 0x94d0_49bb_1331_11eb
    x ^= x >> 31
    return x
  }
}

/// The hashes of an example that the build needs, made in one pass over the bytes of its full
/// template (four interleaved FNV-1a lanes): the shard and identity hashes of (task, key), the
/// group hash of (task, group key) that the leakage report and group splits key on, and the split
/// hash of ("split", task, group key) under the configuration's seed.
struct ExampleHashes: Sendable {
  var key: UInt64
  var identity: UInt64
  var group: UInt64
  var split: UInt64
  /// The seed `split` was made with.
  var seed: UInt64

  /// An optional `ExampleHashes` that compares equal to any other: what the builder worked out,
  /// not part of the example.
  struct Memo: Sendable, Equatable {
    var value: ExampleHashes?
    static func == (_: Memo, _: Memo) -> Bool { true }
  }

  /// The lanes' states after the parts before the key (the task's name and separators).
  struct Prefix: Sendable {
    let key: UInt64, identity: UInt64, split: UInt64, seed: UInt64
    init(task: String, seed: UInt64) {
      func run(_ h: UInt64, _ bytes: some Sequence<UInt8>) -> UInt64 { bytes.reduce(h) { StableHash.step($0, $1) } }
      let sep = StableHash.separator
      key = StableHash.step(run(StableHash.offset, task.utf8), sep)
      identity = StableHash.step(run(StableHash.offset ^ ShardExport.identitySeed, task.utf8), sep)
      split = StableHash.step(run(StableHash.step(run(StableHash.offset ^ seed, "split".utf8), sep), task.utf8), sep)
      self.seed = seed
    }
  }

  /// The hashes of an example whose full template is `segments`: the key is their text, the group
  /// key their text without label segments (the key when `regression` is false).
  /// The lanes' states after a long segment (a protein sequence), by the states before it, for
  /// the segments' strings by address: the same sequence after the same template head, row after
  /// row, is hashed once. One builder thread's.
  final class SegmentMemo {
    typealias Lanes = (UInt64, UInt64, UInt64, UInt64)
    @exclusivity(unchecked) var memo = AddressMemo<(before: Lanes, after: Lanes)>(capacity: 1024, minimumLength: 64)
  }

  init(_ p: Prefix, segments: [TagLLM.Segment], regression: Bool, memo: SegmentMemo? = nil) {
    var k = p.key, i = p.identity, g = p.key, s = p.split
    // The segments are read where they are (no copy of a segment or its string, no reference
    // count touched): they are the builder's, and this runs on another thread.
    segments.withUnsafeBufferPointer { segs in
      for j in segs.indices {
        let grouped = !regression || segs[j].kind != .label
        let place = grouped ? memo?.memo.place(segs[j].text) : nil
        if let memo, let place, let e = memo.memo.value(segs[j].text, at: place), e.before == (k, i, g, s) {
          (k, i, g, s) = e.after
          continue
        }
        let before = (k, i, g, s)
        defer { if let memo, let place { memo.memo.insert(segs[j].text, (before, (k, i, g, s)), at: place) } }
        let lanes = (k, i, g, s)
        if let after = segs[j].text.utf8.withContiguousStorageIfAvailable({ Self.run($0, lanes, grouped: grouped) }) {
          (k, i, g, s) = after
        } else {
          var t = segs[j].text
          (k, i, g, s) = t.withUTF8 { Self.run($0, lanes, grouped: grouped) }
        }
      }
    }
    key = StableHash.finish(k)
    identity = StableHash.finish(i)
    group = StableHash.finish(g)
    split = StableHash.finish(s)
    seed = p.seed
  }

  /// The four lanes after `b` (the group lanes only when `grouped`), kept in registers.
  @inline(__always)
  static func run(_ b: UnsafeBufferPointer<UInt8>, _ lanes: SegmentMemo.Lanes, grouped: Bool) -> SegmentMemo.Lanes {
    var (k, i, g, s) = lanes
    if grouped {
      for x in b {
        k = StableHash.step(k, x)
        i = StableHash.step(i, x)
        g = StableHash.step(g, x)
        s = StableHash.step(s, x)
      }
    } else {
      for x in b {
        k = StableHash.step(k, x)
        i = StableHash.step(i, x)
      }
    }
    return (k, i, g, s)
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
    split(hash: StableHash.hash(["split", task, key], seed: seed))
  }
  /// The split of a key whose hash `StableHash.hash(["split", task, key], seed: seed)` is `hash`.
  func split(hash: UInt64) -> String {
    let u = Double(hash >> 11) / Double(UInt64(1) << 53)
    return u < train ? "train" : u < train + valid ? "valid" : "test"
  }
  /// The split of `e` (its hashes when the builder made them with this seed).
  func split(_ e: TaskExample) -> String {
    if let h = e.hashes.value, h.seed == seed { return split(hash: h.split) }
    return split(task: e.task, key: e.groupKey)
  }
}

/// Builds a configuration's tasks from one catalog (for the preset, Tag-LLM's stages, FORMATS.md
/// 7.1). Streams: each example goes to `emit` as it is made (split assigned); memory does not
/// grow with the catalog.
public enum StageBuilder {
  public static let dtiTable = "tdc-dti"
  public static let dtiPatentTable = "tdc-dti-patent"
  public static let drugcombTable = "tdc-drugcomb"
  public static let parallelTable = "parallel-text"

  /// `assigned`: the split of each example by task and key, from a group split made over all of
  /// them (``ShardExport`` makes it in a first pass); nil: the seeded random split by content.
  /// Examples that a temporal split leaves out (no year, or a year in neither range) get no split
  /// and are not emitted.
  ///
  /// `partition` (index, count): make only the examples of every `count`-th source unit of each
  /// task, starting at `index` (every unit is still read, cheaply; templates, labels and keys are
  /// made for the partition's own). Its reports then keep every rejection reason with the unit it
  /// was first met at, uncapped, and leave a task's "no example in the temporal ranges" to the merge.
  ///
  /// `deferSplits`: with no `assigned` split, the examples come without hashes and split (an
  /// empty `split`), for the thread that takes them to make (``TaskExample/makeHashes(_:memo:)``,
  /// then ``SeededRandomSplit``): that work leaves the thread that reads the catalog.
  public static func build(_ catalog: Catalog, plan: CompiledConfig, assigned: [String: [String: SplitName]]? = nil,
                           partition: (index: Int, count: Int)? = nil, deferSplits: Bool = false,
                           emit: (consuming TaskExample) throws -> Void) throws -> [TaskReport]
  {
    let deferring = deferSplits && assigned == nil
    let config = plan.config
    let splitter = SeededRandomSplit(seed: config.seed, train: config.split.train, valid: config.split.valid)
    var reports: [TaskReport] = []
    for task in plan.tasks {
      let spec = task.spec
      var report = TaskReport(task: spec.name, stage: spec.stage, regression: spec.regression,
                              template: TaskTemplate.string(task.ablated))
      if let why = task.skipped {
        report.skipped = why
        reports.append(report)
        continue
      }
      var seen = 0
      var unit = 0, sub = 0, rejectsInUnit = 0
      /// Starts the next source unit: false when it belongs to another partition.
      func next() -> Bool {
        unit = seen
        sub = 0
        rejectsInUnit = 0
        seen += 1
        guard let p = partition else { return true }
        return unit % p.count == p.index
      }
      func reject(_ why: String, at: String? = nil, detail: String? = nil) {
        if let at, report.firstRejections.count < 5 {
          report.firstRejections.append("\(at): \(detail ?? why)")
          report.firstRejectionUnits.append(unit)
        }
        if report.rejected[why] == nil {
          if partition == nil && report.rejected.count >= maxReasons {
            report.rejected["other reasons", default: 0] += 1
            return
          }
          report.reasonFirstPlace[why] = BuildPartial.Place(unit: unit, order: rejectsInUnit)
        }
        rejectsInUnit += 1
        report.rejected[why, default: 0] += 1
      }
      func out(_ e: consuming TaskExample) throws {
        e.unit = unit
        e.sub = sub
        sub += 1
        if let a = assigned {
          // A group split saw every example in its first pass; one it left out (a temporal split's
          // example without a year in range) is not written.
          guard let s = a[spec.name]?[ShardExport.hex16(e.groupHash)] else {
            if config.split.method == .temporal { reject("no year in the temporal split's ranges"); return }
            e.split = splitter.split(e)
            report.examples += 1
            try emit(consume e)
            return
          }
          e.split = s.rawValue
        } else if !deferring {
          e.split = splitter.split(e)
        }
        report.examples += 1
        if let label = e.output, let x = e.target, !TagLLM.labelReadsBack(label, x) { report.labelsOff += 1 }
        try emit(consume e)
      }
      // A constant: the closures below then use it in place, where a variable would be copied
      // (every reference it holds retained and released) for each example.
      let maker = ExampleMaker(task: task, ablation: config.ablation, seed: config.seed, makesHashes: !deferring)
      switch spec.source {
      case .proteins:
        let labeler: ProteinLabeler?
        if case let .descriptor(name)? = spec.label {
          labeler = ProteinLabeler(DescriptorRegistry.named(name, kind: .protein).map { [$0] } ?? [])
        } else {
          labeler = nil
        }
        try catalog.forEachProtein { p in
          guard next() else { return true }
          if p.sequence.utf8.count > task.maxLength { reject("longer than \(task.maxLength) residues"); return true }
          let fields: Fields = ["sequence": .text(p.sequence)]
          var value: LabelValue?
          if let labeler { value = labeler.label(sequence: Array(p.sequence.utf8)).first ?? .missing(reason: "no descriptor") }
          try maker.make(fields, label: value, molecules: [], proteinKeys: [p.sha256], sequences: [p.sequence], out: out, reject: { reject($0) })
          return true
        }
        if seen == 0 { report.skipped = "no proteins in the catalog" }
      case .molecules:
        func one(_ smiles: String, _ value: () -> LabelValue?) throws {
          guard next() else { return }
          if smiles.utf8.count > task.maxLength { reject("SMILES longer than \(task.maxLength) characters"); return }
          try maker.make(["smiles": .text(smiles)], label: value(), molecules: [smiles], proteinKeys: [], sequences: [], out: out,
                         reject: { reject($0) })
        }
        if case let .descriptor(name)? = spec.label, let def = DescriptorRegistry.named(name, kind: .molecule) {
          // Stored labels of the current definition first (the label's key is the canonical
          // SMILES), then the molecules without one, computed page by page: memory stays flat.
          let labeler = MoleculeLabeler([def])
          try catalog.forEachLabel(.molecule, names: [def.name]) { l in
            guard l.version == def.version else { return true }
            switch l.value {
            case let .number(x): try one(l.key) { .number(x) }
            case let .text(t): try one(l.key) { .text(t) }
            case let .missing(reason): try one(l.key) { .missing(reason: reason) }
            }
            return true
          }
          var after: Int64 = 0
          while true {
            let page = try catalog.pendingLabels(.molecule, [Catalog.LabelDefinition(name: def.name, version: def.version)],
                                                 after: after, limit: 512)
            for p in page {
              let smiles = p.input
              // A SMILES over the length is rejected before its label is computed.
              try one(smiles) { labeler.label(smiles: Array(smiles.utf8)).first ?? .missing(reason: "no \(def.name)") }
            }
            guard let last = page.last else { break }
            after = last.id
          }
        } else {
          try catalog.forEachMolecule { m in
            try one(m.smiles) { nil }
            return true
          }
        }
        if seen == 0 { report.skipped = "no molecules in the catalog" }
      case let .table(name):
        // The fields' storage, reused from row to row.
        var fields = Fields()
        try catalog.forEachTableRow(name: name) { r in
          guard next() else { return true }
          fields.removeAll()
          fields.reserveCapacity(r.fields.count)
          for (k, f) in r.fields.enumerated() {
            switch r.values[k] {
            case let .text(t):
              switch r.kinds[k] {
              case "smiles": fields[f] = .smiles(t)
              case "protein": fields[f] = .protein(t, digest: k < r.proteinKeys.count ? r.proteinKeys[k] : "")
              default: fields[f] = .text(t)
              }
            case let .number(x): fields[f] = .number(x)
            default: break
            }
          }
          func emit(_ f: Fields) throws {
            var label: LabelValue?
            if case let .column(c)? = spec.label {
              switch f[c] {
              case let .number(x)?: label = .number(x)
              case let .text(t)?, let .smiles(t)?, let .protein(t, _)?:
                label = spec.regression ? (Double(t).map { .number($0) } ?? .text(t)) : .text(t)
              case nil: label = .missing(reason: "no \(c)")
              }
            }
            var molecules: [String] = [], proteins: [String] = [], sequences: [String] = []
            for i in spec.inputs {
              switch f[i.field] {
              case let .smiles(t)?: molecules.append(t)
              case let .protein(t, digest)?:
                proteins.append(digest.isEmpty ? SequenceDigest.hex(SequenceDigest.sha256(Array(t.utf8))) : digest)
                sequences.append(t)
              default: break
              }
            }
            try maker.make(f, label: label, molecules: molecules, proteinKeys: proteins, sequences: sequences,
                           source: r.path, row: r.recordNo, out: out,
                           reject: { reject($0, at: "\(r.path) record \(r.recordNo)") })
          }
          try emit(fields)
          if !spec.mirror.isEmpty {
            var m = fields
            for pair in spec.mirror where pair.count == 2 {
              m[pair[0]] = fields[pair[1]]
              m[pair[1]] = fields[pair[0]]
            }
            try emit(m)
          }
          return true
        }
        if seen == 0 { report.skipped = "no \(name) table rows (tagdata ingest --preset \(name))" }
      case let .measurements(m):
        var chains: [String: [(sha256: String, sequence: String)]] = [:]
        try catalog.forEachAggregatedMeasurement(
          kind: m.kind, policy: Catalog.AggregationPolicy(rawValue: m.aggregate) ?? .median,
          censored: Catalog.CensoredPolicy(rawValue: m.censored) ?? .exclude,
          scale: Catalog.MeasurementScale(rawValue: m.scale) ?? .pX
        ) { a in
          guard next() else { return true }
          let c: [(sha256: String, sequence: String)]
          if let known = chains[a.target] {
            c = known
          } else {
            c = try catalog.targetChains(a.target)
            if chains.count >= 1 << 16 { chains.removeAll(keepingCapacity: true) }
            chains[a.target] = c
          }
          guard c.count == 1 else { reject("target of \(c.count) chains (one sequence needed)"); return true }
          if c[0].sequence.utf8.count > task.maxLength { reject("longer than \(task.maxLength) residues"); return true }
          if a.smiles.utf8.count > task.maxLength { reject("SMILES longer than \(task.maxLength) characters"); return true }
          let fields: Fields = ["smiles": .smiles(a.smiles), "sequence": .protein(c[0].sequence, digest: c[0].sha256),
                                "target": .text(a.target), "count": .number(Double(a.count))]
          try maker.make(fields, label: .number(a.value), molecules: [a.smiles], proteinKeys: [c[0].sha256],
                         sequences: [c[0].sequence], out: out, reject: { reject($0) })
          return true
        }
        if seen == 0 { report.skipped = "no \(m.kind) measurements in the catalog (tagdata ingest a BindingDB file)" }
      case let .text(path, language):
        let reader = PlainTextReader(source: try openInput(path).source)
        while let event = try reader.next() {
          guard next() else { continue }
          switch event {
          case let .record(r):
            try maker.make(["text": .text(r.string)], label: nil, molecules: [], proteinKeys: [], sequences: [], language: language,
                           source: path, row: r.location.line, out: out, reject: { reject($0, at: "\(path):\(r.location.line)") })
          case let .malformed(d):
            reject(reasonClass(d.reason), at: "\(path):\(d.line)", detail: d.reason)
          }
        }
        if seen == 0 { report.skipped = "\(path) holds no text" }
      }
      report.seen = seen
      if partition == nil { finishReport(&report, temporal: config.split.method == .temporal) }
      reports.append(report)
    }
    return reports
  }

  /// What is known only once every unit of a task is done (a partitioned build's merge calls it).
  static func finishReport(_ report: inout TaskReport, temporal: Bool) {
    if report.seen > 0 && report.examples == 0 && report.skipped == nil && temporal {
      report.skipped = "no example has a year in the temporal split's ranges"
    }
  }

  /// Distinct rejection reasons kept per task; the rest are counted as "other reasons".
  static let maxReasons = 32

  /// A rejection reason as a class: numbers (positions, lengths) become `#`, a hexadecimal byte
  /// (`0x9A`) `0x#`, at most 100 characters, so that the report counts kinds of rejections, not
  /// individual ones. The 8 of UTF-8 stays.
  static func reasonClass(_ why: String) -> String {
    let b = Array(why.utf8)
    var out: [UInt8] = []
    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    func isHex(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) }
    var i = 0
    while i < b.count && out.count < 100 {
      let c = b[i]
      if c == UInt8(ascii: "0"), i + 2 < b.count, b[i + 1] == UInt8(ascii: "x"), isHex(b[i + 2]) {
        out += Array("0x#".utf8)
        i += 2
        while i < b.count, isHex(b[i]) { i += 1 }
      } else if isDigit(c) {
        if i >= 4 && b[(i - 4)..<i].elementsEqual("UTF-".utf8) {
          while i < b.count, isDigit(b[i]) { out.append(b[i]); i += 1 }
        } else {
          out.append(UInt8(ascii: "#"))
          while i < b.count, isDigit(b[i]) { i += 1 }
        }
      } else {
        out.append(c)
        i += 1
      }
    }
    return String(decoding: out.prefix(100), as: UTF8.self)
  }

  /// A tag name as the schema's `name` says: a letter, then at most 63 letters, digits, `_.+-`.
  static func isTagName(_ s: String) -> Bool {
    let b = Array(s.utf8)
    guard let first = b.first, b.count <= 64, (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7A else { return false }
    return b.allSatisfy { c in
      (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2B || c == 0x2D
    }
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
}

/// A source row's fields by name. A row has a handful: they are found by comparing names, which
/// costs less than hashing them (a row with more than 16 fields also gets a dictionary of where
/// each name is, so that lookups stay constant-time however wide the table).
struct Fields: ExpressibleByDictionaryLiteral {
  private var names: [String] = []
  private var values: [FieldValue] = []
  private var index: [String: Int]?
  private static let linearLimit = 16

  init() {}

  init(dictionaryLiteral elements: (String, FieldValue)...) {
    for (k, v) in elements { self[k] = v }
  }

  mutating func reserveCapacity(_ n: Int) {
    names.reserveCapacity(n)
    values.reserveCapacity(n)
  }

  /// No fields; the storage is kept.
  mutating func removeAll() {
    names.removeAll(keepingCapacity: true)
    values.removeAll(keepingCapacity: true)
    index = nil
  }

  private func position(_ name: String) -> Int? {
    if let index { return index[name] }
    return names.firstIndex(of: name)
  }

  subscript(name: String) -> FieldValue? {
    get { position(name).map { values[$0] } }
    set {
      if let i = position(name) {
        if let v = newValue {
          values[i] = v
        } else {
          // The last field takes the removed one's place (the order does not matter).
          let last = names.count - 1
          names.swapAt(i, last)
          values.swapAt(i, last)
          names.removeLast()
          values.removeLast()
          index?[name] = nil
          if i < last { index?[names[i]] = i }
        }
      } else if let v = newValue {
        names.append(name)
        values.append(v)
        if index != nil {
          index![name] = names.count - 1
        } else if names.count > Self.linearLimit {
          index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        }
      }
    }
  }
}

/// A field of a source row: text, or a molecule or protein (canonical), or a number.
enum FieldValue: Equatable {
  case text(String)
  case smiles(String)
  /// A protein's canonical sequence and its catalog key (SHA-256, hex; "" when not known).
  case protein(String, digest: String)
  case number(Double)

  var string: String {
    switch self {
    case let .text(t), let .smiles(t), let .protein(t, _): return t
    case let .number(x): return TagLLM.pythonRepr(x) ?? ""
    }
  }
}

/// Makes one task's examples from source fields.
struct ExampleMaker {
  let task: CompiledTask
  let ablation: TagLLM.Ablation
  let prefix: ExampleHashes.Prefix
  let inputKinds: [TagLLM.Segment.Kind]
  /// The task's template under the ablation, and in full, ready to fill.
  let preparedAblated: TaskTemplate.Prepared
  let preparedFull: TaskTemplate.Prepared
  let hashMemo = ExampleHashes.SegmentMemo()
  /// Where label strings are made (reused: no allocation per label).
  let scratch = Scratch()
  final class Scratch {
    var bytes: [UInt8] = []
  }
  /// Whether examples get their hashes here (else ``TaskExample/makeHashes(_:memo:)`` later).
  let makesHashes: Bool

  init(task: CompiledTask, ablation: TagLLM.Ablation, seed: UInt64 = 0, makesHashes: Bool = true) {
    self.task = task
    self.makesHashes = makesHashes
    self.ablation = ablation
    preparedAblated = TaskTemplate.Prepared(task.ablated)
    preparedFull = TaskTemplate.Prepared(task.pieces)
    inputKinds = task.spec.inputs.map(\.kind)
    prefix = ExampleHashes.Prefix(task: task.spec.name, seed: seed)
  }

  /// The text of `segments` (without label segments when `skipLabels`), in storage reserved once
  /// (appending valid strings copies their bytes without checking them again).
  static func text(_ segments: [TagLLM.Segment], skipLabels: Bool = false) -> String {
    var n = 0
    for seg in segments where !(skipLabels && seg.kind == .label) { n += seg.text.utf8.count }
    var s = ""
    s.reserveCapacity(n)
    for seg in segments where !(skipLabels && seg.kind == .label) { s += seg.text }
    return s
  }

  /// The example of one source unit (rejected with a reason instead when it cannot make one):
  /// `molecules` by canonical SMILES, its proteins' catalog keys and sequences, in order.
  func make(_ fields: Fields, label: LabelValue?, molecules: [String], proteinKeys: [String], sequences: [String],
            language: String? = nil, source: String? = nil, row: Int? = nil, out: (consuming TaskExample) throws -> Void,
            reject: (String) -> Void) throws
  {
    let spec = task.spec
    var inputs: [String] = []
    inputs.reserveCapacity(spec.inputs.count)
    for i in spec.inputs {
      guard let v = fields[i.field] else { reject("no \(i.field)"); return }
      var s = v.string
      if s.isEmpty && i.kind != .text { reject("empty \(i.field)"); return }
      if i.kind != .text && s.utf8.count > task.maxLength {
        reject("\(i.field) longer than \(task.maxLength) characters")
        return
      }
      if i.spaced { s = StageBuilder.spaced(s) }
      inputs.append(s)
    }
    var src = language ?? ""
    var tgt = ""
    // A language becomes a tag (`<EN>`, with virtual tokens of its own): a value that is no tag
    // name (a SMILES, a sentence) is not a language.
    if let f = spec.sourceLanguage {
      guard let l = fields[f]?.string, !l.isEmpty else { reject("no \(f)"); return }
      guard StageBuilder.isTagName(l) else { reject("\(f) is not a language tag name"); return }
      src = l.uppercased()
    }
    if let f = spec.targetLanguage {
      guard let l = fields[f]?.string, !l.isEmpty else { reject("no \(f)"); return }
      guard StageBuilder.isTagName(l) else { reject("\(f) is not a language tag name"); return }
      tgt = l.uppercased()
    }
    var output: String?
    var target: Double?
    switch spec.output {
    case .none: break
    case .regression:
      switch label {
      case let .number(x)?:
        let v = x * spec.labelScale
        guard let s = TagLLM.labelString(v, scratch: &scratch.bytes) else { reject("label is not finite"); return }
        // str(value)[:6] of a value of 1e16 or more cuts its exponent ("1.42e+"): Tag-LLM's
        // float(label) would fail on it.
        guard TagLLM.labelStringIsNumber(s) else { reject("label string is not a number (str(value)[:6] cuts the exponent)"); return }
        output = s
        target = v
      case let .missing(reason)?: reject("no label: \(StageBuilder.reasonClass(reason))"); return
      case .text?: reject("label is not a number"); return
      case nil: reject("no label"); return
      }
    case .generation:
      switch label {
      case let .text(t)?: output = t
      case let .number(x)?: output = TagLLM.pythonRepr(x)
      case let .missing(reason)?: reject("no label: \(StageBuilder.reasonClass(reason))"); return
      case nil: reject("no label"); return
      }
    }
    var year: Int?
    if let y = spec.year {
      switch fields[y] {
      case let .number(x)? where x.isFinite && x.rounded() == x && abs(x) < 1e6: year = Int(x)
      case let .text(t)?: year = Int(t.trimmingCharacters(in: .whitespaces))
      default: year = nil
      }
    }
    let kinds = inputKinds
    let outputKind: TagLLM.Segment.Kind = spec.output == .regression ? .label : .text
    let segs = TaskTemplate.fill(preparedAblated, inputs: inputs, inputKinds: kinds, output: output, outputKind: outputKind,
                                 source: src, target: tgt)
    // The key is the full template's text, so that an example keeps its shard whatever the
    // ablation; its split follows the same text without a regression's label, so that two values
    // for the same inputs (a pair measured twice, a drug pair on two cell lines) are two examples
    // in one split, never one in train and one in test.
    let full =
      ablation == .both
      ? segs : TaskTemplate.fill(preparedFull, inputs: inputs, inputKinds: kinds, output: output, outputKind: outputKind,
                                 source: src, target: tgt)
    // The full template's text without its label segment is the template filled without output.
    let regression = spec.output == .regression
    var e = TaskExample(task: spec.name, stage: spec.stage, regression: spec.regression, full: full, skipLabels: regression,
                        segments: segs, inputs: inputs, output: output, target: target)
    if makesHashes { e.hashes.value = ExampleHashes(prefix, segments: full, regression: regression, memo: hashMemo) }
    e.molecules = molecules
    e.proteins = proteinKeys
    e.sequences = sequences
    e.year = year
    e.source = source
    e.row = row
    try out(e)
  }
}
