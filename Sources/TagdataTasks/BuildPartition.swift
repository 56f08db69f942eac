#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TagdataBio
import TagdataIO

/// What a build's manifest says of its configuration: enough to write the manifest again
/// without the configuration (a partitioned build's merge reads it from the partitions).
struct BuildHeader: Codable, Equatable, Sendable {
  struct DeclaredTag: Codable, Equatable, Sendable {
    var name: String
    var kind: TagLLM.TagKind
    var tokens: Int
  }
  var preset: String?
  var configJson: String
  var configSha256: String
  var tokensPerTag: Int
  var declared: [DeclaredTag]
  var splitMethod: String

  init(_ config: TaskConfig) {
    preset = config.preset
    configJson = config.json
    configSha256 = SequenceDigest.hex(SequenceDigest.sha256(Array(configJson.utf8)))
    tokensPerTag = config.tokensPerTag
    declared = config.tags.map { DeclaredTag(name: $0.name, kind: $0.kind, tokens: config.tokens($0)) }
    splitMethod = config.split.method.rawValue
  }

  /// What differs between two configurations, for a message: the top-level settings of their
  /// JSON whose values differ, each with both values when they are short (`seed 43, not 42`),
  /// the task names when the tasks differ in them.
  static func difference(_ a: BuildHeader, _ b: BuildHeader) -> String {
    func object(_ h: BuildHeader) -> [String: Any] {
      (try? JSONSerialization.jsonObject(with: Data(h.configJson.utf8))) as? [String: Any] ?? [:]
    }
    func text(_ v: Any?) -> String {
      guard let v else { return "none" }
      if let s = v as? String { return s }
      guard JSONSerialization.isValidJSONObject([v]),
        let d = try? JSONSerialization.data(withJSONObject: [v], options: [.sortedKeys])
      else { return "\(v)" }
      return String(decoding: d.dropFirst().dropLast(), as: UTF8.self)
    }
    func names(_ v: Any?) -> [String] { (v as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? [] }
    let x = object(a), y = object(b)
    var parts: [String] = []
    for key in Set(x.keys).union(y.keys).sorted() {
      let (u, v) = (text(x[key]), text(y[key]))
      guard u != v else { continue }
      if key == "tasks", names(x[key]) != names(y[key]) {
        parts.append("tasks " + names(x[key]).joined(separator: ",") + ", not " + names(y[key]).joined(separator: ","))
      } else if u.count <= 60 && v.count <= 60 {
        parts.append("\(key) \(u), not \(v)")
      } else {
        parts.append(key)
      }
    }
    if parts.isEmpty {
      if a.declared != b.declared { parts.append("the declared tags") }
      if a.tokensPerTag != b.tokensPerTag { parts.append("tokens per tag \(a.tokensPerTag), not \(b.tokensPerTag)") }
      if a.splitMethod != b.splitMethod { parts.append("split \(a.splitMethod), not \(b.splitMethod)") }
    }
    return parts.isEmpty ? "SHA-256 \(a.configSha256)" : parts.joined(separator: "; ")
  }

  /// Each language met in the data becomes a tag with its virtual tokens: a field of identifiers
  /// taken for languages would add one per row.
  func checkLanguages(_ languages: Set<String>) throws {
    guard languages.count > ShardExport.maxDataLanguages else { return }
    throw TaskConfigError(file: nil, problems: [.init(keyPath: "tasks", message:
      "the data name \(languages.count) languages that are not declared tags (at most \(ShardExport.maxDataLanguages)): "
        + "is source_language or target_language the right field? (\(languages.sorted().prefix(5).joined(separator: ", ")), ...)")])
  }

  /// The tag registry: the declared tags, then the languages met in the data; a tag's stage is
  /// the first stage of a task that uses it.
  func tags(languages: Set<String>, reports: [TaskReport]) -> [TagLLM.Tag] {
    var tags = declared.map { TagLLM.Tag(name: $0.name, kind: $0.kind, stage: 0, tokens: $0.tokens) }
    for l in languages.sorted() { tags.append(TagLLM.Tag(name: l, kind: .domain, stage: 0, tokens: tokensPerTag)) }
    for r in reports {
      for k in tags.indices where tags[k].stage == 0 || tags[k].stage > r.stage {
        if r.template.contains(tags[k].text) || (tags[k].kind == .domain && languages.contains(tags[k].name)
                                                   && (r.template.contains("<SRC>") || r.template.contains("<TGT>")))
        {
          tags[k].stage = r.stage
        }
      }
    }
    return tags
  }
}

/// A directory written beside its final place (`.NAME.tmp-PID`) and moved there whole by
/// `commit`, replacing what was there; removed when it is dropped uncommitted. Temporary
/// directories of killed writers of the same name are removed first.
final class OutputDirectory {
  let path: String
  let parent: String
  let name: String
  let temporary: String
  private var committed = false

  init(_ out: String) throws {
    let url = URL(fileURLWithPath: out).standardizedFileURL
    path = url.path
    parent = url.deletingLastPathComponent().path
    name = url.lastPathComponent
    temporary = parent + "/." + name + ".tmp-\(getpid())"
    ShardExport.removeAbandoned(parent: parent, name: name)
    let fm = FileManager.default
    try? fm.removeItem(atPath: temporary)
    do {
      try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
    } catch {
      throw ShardExportError(path: temporary, message: "cannot create the output directory: \(error.localizedDescription)")
    }
  }

  deinit { if !committed { try? FileManager.default.removeItem(atPath: temporary) } }

  func commit() throws {
    let fm = FileManager.default
    let old = parent + "/." + name + ".old-\(getpid())"
    var moved = false
    if fm.fileExists(atPath: path) {
      if rename(path, old) != 0 {
        throw ShardExportError(path: path, message: "cannot replace: \(String(cString: strerror(errno)))")
      }
      moved = true
    }
    if rename(temporary, path) != 0 {
      let err = String(cString: strerror(errno))
      if moved { _ = rename(old, path) }
      throw ShardExportError(path: path, message: "cannot move the build into place: \(err)")
    }
    committed = true
    if moved { try? fm.removeItem(atPath: old) }
  }
}

/// A partition of a build (`tagdata build --partition i/N`) and the merge of N of them
/// (`tagdata export --merge`) into the build a single `tagdata build` writes, byte for byte.
///
/// A partition makes the examples of every N-th source unit of each task (a protein, a
/// molecule, a table row, a measurement, a line of text: ``StageBuilder``), sorted and
/// deduplicated as a whole build's, and writes into its directory:
/// - its shards (`shard-K-of-S.jsonl[.gz]`, the records of shard K it made: valid shards of their
///   own) and beside each a sidecar `shard-K-of-S.keys` with each record's sort key and split;
/// - `leakage-keys.bin`: the split keys of every example it made, in the order it made them, with
///   that order (task, unit, place in the unit);
/// - `partition.json`, last: the partition, the configuration (``BuildHeader``), the catalog's
///   content hash, the tool version, per task its report (counts, every rejection reason with
///   where it was first met, the first rejections with their units), and records and SHA-256 of
///   every file. A directory without it is not a finished partition.
///
/// The merge checks that the N partitions are one build's (configuration, catalog, shards,
/// compression, tool version, every index once), merges each shard's records by sort key
/// (dropping the repeats of an example that two partitions made, keeping the one a single build
/// keeps), feeds the leakage report the examples in the single build's order, and combines the
/// reports as a single build would have counted them. Memory: one record per partition per
/// shard, and the leakage report's budget.
public enum BuildPartial {
  public static let manifestFile = "partition.json"
  static let leakageFile = "leakage-keys.bin"
  static let format = "tagdata-build-partition/1"

  static func keysName(_ k: Int, of n: Int) -> String {
    var s = ShardExport.shardName(k, of: n)
    s.removeLast(".jsonl".count)
    return s + ".keys"
  }

  /// Where a rejection reason was first met: its unit, and how many rejections that unit had before.
  struct Place: Codable, Equatable, Sendable, Comparable {
    var unit: Int
    var order: Int
    static func < (a: Place, b: Place) -> Bool { (a.unit, a.order) < (b.unit, b.order) }
  }

  struct Manifest: Codable {
    struct Reason: Codable {
      var reason: String
      var count: Int
      var first: Place
    }
    struct Rejection: Codable {
      var unit: Int
      var text: String
    }
    struct Task: Codable {
      var task: String
      var stage: Int
      var regression: Bool
      var template: String
      var examples: Int
      var seen: Int
      var labelsOff: Int
      var skipped: String?
      var rejected: [Reason]
      var firstRejections: [Rejection]
      var duplicates: Int
    }
    struct File: Codable {
      var file: String
      var records: Int
      var sha256: String
      var keys: String?
      var keysSha256: String?
    }
    var format: String
    var partition: Int
    var partitions: Int
    var shards: Int
    var gzip: Bool
    var toolVersion: String
    var header: BuildHeader
    var catalogSha256: String
    /// The SHA-256 of each text file the tasks read (by path as configured): a file changed
    /// between partitions is refused by the merge. Absent in manifests of builds without them.
    var textSha256: [String: String]?
    var languages: [String]
    var tasks: [Task]
    var files: [File]
    var leakageKeys: File
  }

  /// Length-prefixed binary records (a little-endian `UInt32` length, then the bytes), hashed
  /// as written.
  final class KeyWriter: @unchecked Sendable {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var digest = StreamDigest()
    private var record: [UInt8] = []
    private(set) var records = 0
    private var closed = false

    init(path: String) throws {
      self.path = path
      guard let f = fopen(path, "wb") else { throw ShardExportError(path: path, message: String(cString: strerror(errno))) }
      setvbuf(f, nil, _IOFBF, 1 << 20)
      file = f
    }

    deinit { if !closed { fclose(file) } }

    private func emit() throws {
      records += 1
      var header = [UInt8]()
      withUnsafeBytes(of: UInt32(record.count).littleEndian) { header.append(contentsOf: $0) }
      for bytes in [header, record] {
        try bytes.withUnsafeBytes { b in
          digest.update(b)
          if fwrite(b.baseAddress, 1, b.count, file) != b.count {
            throw ShardExportError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
          }
        }
      }
    }

    /// A shard record's sort key and split.
    func write(_ key: UnsafeRawBufferPointer, _ split: [UInt8]) throws {
      record.removeAll(keepingCapacity: true)
      ShardExport.appendPart(&record, Array(key))
      ShardExport.appendPart(&record, split)
      try emit()
    }

    /// An example's leakage keys, after its place in the build's order (16 bytes, big-endian).
    func writeLeakage(task: UInt32, unit: Int, sub: Int, keys: SplitKeys, split: SplitName?) throws {
      record.removeAll(keepingCapacity: true)
      withUnsafeBytes(of: task.bigEndian) { record.append(contentsOf: $0) }
      withUnsafeBytes(of: UInt64(unit).bigEndian) { record.append(contentsOf: $0) }
      withUnsafeBytes(of: UInt32(sub).bigEndian) { record.append(contentsOf: $0) }
      record.append(split.map { UInt8($0.index) } ?? 0xFF)
      ShardExport.appendPart(&record, Array(keys.exampleKey.utf8))
      for list in [keys.molecules, keys.scaffolds, keys.targets, keys.sequences] {
        withUnsafeBytes(of: UInt32(list.count).littleEndian) { record.append(contentsOf: $0) }
        for x in list { ShardExport.appendPart(&record, Array(x.utf8)) }
      }
      record.append(keys.year == nil ? 0 : 1)
      withUnsafeBytes(of: Int64(keys.year ?? 0).littleEndian) { record.append(contentsOf: $0) }
      try emit()
    }

    /// Flushes and syncs; the file's records and SHA-256.
    func finish() throws -> Manifest.File {
      let ok = fflush(file) == 0 && fsync(fileno(file)) == 0
      closed = true
      fclose(file)
      if !ok { throw ShardExportError(path: path, message: "cannot write: \(String(cString: strerror(errno)))") }
      return Manifest.File(file: (path as NSString).lastPathComponent, records: records,
                           sha256: SequenceDigest.hex(digest.finalize()))
    }
  }

  /// Reads a ``KeyWriter``'s records back, checking their lengths against the file.
  final class KeyReader {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private(set) var records = 0

    /// A merge holds one reader per partition: small buffers.
    init(path: String) throws {
      self.path = path
      guard let f = fopen(path, "rb") else { throw ShardExportError(path: path, message: String(cString: strerror(errno))) }
      setvbuf(f, nil, _IOFBF, 1 << 16)
      file = f
    }

    deinit { fclose(file) }

    /// The next record into `into`; false at the end of the file.
    func next(into: inout [UInt8]) throws -> Bool {
      var n: UInt32 = 0
      let got = withUnsafeMutableBytes(of: &n) { fread($0.baseAddress, 1, 4, file) }
      if got == 0 && feof(file) != 0 { return false }
      guard got == 4 else { throw ShardExportError(path: path, message: "cut short after record \(records)") }
      let count = Int(UInt32(littleEndian: n))
      into.removeAll(keepingCapacity: true)
      into.append(contentsOf: repeatElement(0, count: count))
      let read = into.withUnsafeMutableBytes { fread($0.baseAddress, 1, count, file) }
      guard read == count else { throw ShardExportError(path: path, message: "cut short in record \(records + 1)") }
      records += 1
      return true
    }
  }

  /// Writes `partition.json` into `directory`, atomically (last: it marks the partition done).
  static func write(directory: String, partition: (index: Int, count: Int), shards: Int, gzip: Bool,
                    header: BuildHeader, toolVersion: String, catalogSHA: String, texts: [String: String] = [:],
                    reports: [TaskReport],
                    languages: Set<String>, written: ShardExport.WrittenShards, leakageKeys: Manifest.File) throws
  {
    let tasks = reports.map { r in
      Manifest.Task(task: r.task, stage: r.stage, regression: r.regression, template: r.template, examples: r.examples,
                    seen: r.seen, labelsOff: r.labelsOff, skipped: r.skipped,
                    rejected: r.rejected.keys.sorted().map { why in
                      Manifest.Reason(reason: why, count: r.rejected[why]!, first: r.reasonFirstPlace[why] ?? Place(unit: 0, order: 0))
                    },
                    firstRejections: zip(r.firstRejectionUnits, r.firstRejections).map { Manifest.Rejection(unit: $0, text: $1) },
                    duplicates: written.duplicates[r.task] ?? 0)
    }
    var files: [Manifest.File] = []
    for k in 0..<shards {
      let keys = keysName(k, of: shards)
      files.append(Manifest.File(file: ShardExport.shardName(k, of: shards, gzip: gzip), records: written.records[k],
                                 sha256: written.sha256[k], keys: keys,
                                 keysSha256: try fileSHA256(directory + "/" + keys)))
    }
    let m = Manifest(format: format, partition: partition.index, partitions: partition.count, shards: shards, gzip: gzip,
                     toolVersion: toolVersion, header: header, catalogSha256: catalogSHA,
                     textSha256: texts.isEmpty ? nil : texts, languages: languages.sorted(),
                     tasks: tasks, files: files, leakageKeys: leakageKeys)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    try ShardExport.write(Array(try encoder.encode(m)) + [0x0A], to: directory + "/" + manifestFile)
  }

  static func fileSHA256(_ path: String) throws -> String { try TokenizedExport.fileDigest(path) }

  /// Reads a partition's manifest.
  static func manifest(_ dir: String) throws -> Manifest {
    let path = dir + "/" + manifestFile
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ShardExportError(path: dir, message: "not a finished build partition (no \(manifestFile): still running, "
                               + "killed, or not made by tagdata build --partition)")
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    do {
      let m = try decoder.decode(Manifest.self, from: data)
      guard m.format == format else {
        throw ShardExportError(path: path, message: "format \(m.format), this tagdata reads \(format)")
      }
      guard m.partitions >= 1, m.partition >= 0, m.partition < m.partitions else {
        throw ShardExportError(path: path, message: "partition \(m.partition) of \(m.partitions) does not exist (damaged?)")
      }
      guard m.shards >= 1, m.files.count == m.shards else {
        throw ShardExportError(path: path, message: "lists \(m.files.count) shard files for \(m.shards) shards (damaged?)")
      }
      return m
    } catch let e as ShardExportError {
      throw e
    } catch {
      throw ShardExportError(path: path, message: "not a build partition's manifest: \(error)")
    }
  }

  /// Merges the partial builds `parts` (every partition of one build, in any order) into the
  /// build directory `out` (replaced atomically), equal byte for byte to the build made without
  /// partitions.
  public static func merge(parts: [String], out: String, memoryBudget: Int = 64 << 20,
                           progress: ((Int) -> Void)? = nil) throws -> ShardExport.Summary
  {
    guard !parts.isEmpty else { throw ShardExportError(path: out, message: "no partitions to merge") }
    let outPath = URL(fileURLWithPath: out).standardizedFileURL.path
    if let p = parts.first(where: { URL(fileURLWithPath: $0).standardizedFileURL.path == outPath }) {
      throw ShardExportError(path: p, message: "is both a partition and the merge's output")
    }
    if let problem = OutputGuard.problem(out: out, inputs: parts.map { ("the partition", $0) }) {
      throw ShardExportError(path: out, message: problem)
    }
    // Two files per partition are open while a shard is merged: allow as many as the system does.
    var limit = rlimit()
    if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
      limit.rlim_cur = limit.rlim_max
      _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    // Refused before anything is read or written, rather than failing at the shard where the
    // limit is met.
    let needed = 2 * parts.count + 32
    if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max
      && UInt64(limit.rlim_cur) < UInt64(needed)
    {
      throw ShardExportError(path: out, message: "merging \(parts.count) partitions keeps two files of each open (about "
                               + "\(needed) in all), but this process may open \(limit.rlim_cur) (its hard limit): raise it "
                               + "(ulimit -Hn, or the cluster's limits), or build with fewer partitions")
    }
    var loaded: [(dir: String, m: Manifest)] = []
    for p in parts { loaded.append((p, try manifest(p))) }
    let first = loaded[0].m
    for (dir, m) in loaded.dropFirst() {
      func differ(_ what: String) -> ShardExportError {
        ShardExportError(path: dir, message: "\(what) differs from \(loaded[0].dir)'s: the partitions are not of one build")
      }
      if m.partitions != first.partitions { throw differ("the number of partitions (\(m.partitions))") }
      if m.header != first.header { throw differ("the configuration (\(BuildHeader.difference(m.header, first.header)))") }
      if m.catalogSha256 != first.catalogSha256 { throw differ("the catalog (\(m.catalogSha256))") }
      if m.textSha256 != first.textSha256 {
        let (a, b) = (m.textSha256 ?? [:], first.textSha256 ?? [:])
        let changed = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        throw differ("the text file \(changed.joined(separator: ", ")) (changed between the partitions?)")
      }
      if m.shards != first.shards { throw differ("the number of shards (\(m.shards))") }
      if m.gzip != first.gzip { throw differ("the compression") }
      if m.toolVersion != first.toolVersion { throw differ("the tool version (\(m.toolVersion))") }
      if m.tasks.map(\.task) != first.tasks.map(\.task) { throw differ("the task list") }
    }
    if let missing = PartitionIndexes.missing(loaded.map(\.m.partition), of: first.partitions) {
      throw ShardExportError(path: out, message: missing)
    }
    var byIndex = [String?](repeating: nil, count: first.partitions)
    for (dir, m) in loaded {
      guard m.partition >= 0 && m.partition < first.partitions else {
        throw ShardExportError(path: dir, message: "partition \(m.partition) of \(m.partitions) does not exist")
      }
      if let other = byIndex[m.partition] {
        throw ShardExportError(path: dir, message: "partition \(m.partition)/\(m.partitions) given twice (also \(other))")
      }
      byIndex[m.partition] = dir
    }
    let missing = byIndex.indices.filter { byIndex[$0] == nil }
    if !missing.isEmpty {
      throw ShardExportError(path: out, message: "partitions missing: "
                               + missing.map { "\($0)/\(first.partitions)" }.joined(separator: ", ")
                               + " (merge needs every partition of the build)")
    }
    loaded.sort { $0.m.partition < $1.m.partition }
    // Every file as its partition wrote it (the sort keys and leakage keys are read as trusted
    // binary records after this).
    for (dir, m) in loaded {
      var files: [(String, String)] = [(m.leakageKeys.file, m.leakageKeys.sha256)]
      for f in m.files {
        files.append((f.file, f.sha256))
        if let k = f.keys, let sha = f.keysSha256 { files.append((k, sha)) }
      }
      for (name, sha) in files where try fileSHA256(dir + "/" + name) != sha {
        throw ShardExportError(path: dir + "/" + name, message: "is not the file its partition wrote (its SHA-256 differs): "
                                 + "build that partition again")
      }
    }
    let header = first.header, shards = first.shards, gzip = first.gzip
    let target = try OutputDirectory(out)

    // The shards: each merged from the partitions' records of it, by sort key.
    var merged = 0
    let written = try ShardExport.writeShards(directory: target.temporary, shards: shards, gzip: gzip, sortKeys: false) {
      handle in
      for k in 0..<shards {
        try mergeShard(k, parts: loaded) { key, payload in
          merged += 1
          if merged % 65536 == 0 { progress?(merged) }
          return try handle(key, payload)
        }
      }
    }
    progress?(merged)
    var duplicates = written.duplicates
    for (_, m) in loaded { for t in m.tasks where t.duplicates > 0 { duplicates[t.task, default: 0] += t.duplicates } }
    var written2 = written
    written2.duplicates = duplicates

    // The leakage report, fed in the order a single build makes the examples.
    let leakage = try mergeLeakage(parts: loaded, directory: target.temporary, memoryBudget: memoryBudget)

    // The reports, counted as one build counts them.
    var reports: [TaskReport] = []
    for t in first.tasks.indices {
      let perPart = loaded.map(\.m.tasks[t])
      for (i, pt) in perPart.enumerated() where pt.skipped != perPart[0].skipped || pt.seen != perPart[0].seen {
        throw ShardExportError(path: loaded[i].dir, message: "read the task \(pt.task) differently from partition 0 "
                                 + "(\(pt.seen) units, skipped: \(pt.skipped ?? "no")): was the catalog changed?")
      }
      var r = combine(perPart)
      StageBuilder.finishReport(&r, temporal: header.splitMethod == SplitKind.temporal.rawValue)
      reports.append(r)
    }
    let languages = Set(loaded.flatMap(\.m.languages))
    try header.checkLanguages(languages)
    let summary = try ShardExport.finishBuild(directory: target.temporary, header: header, toolVersion: first.toolVersion,
                                              catalogSHA: first.catalogSha256, reports: reports, languages: languages,
                                              written: written2, leakage: leakage, shards: shards, gzip: gzip)
    try target.commit()
    return summary
  }

  /// One task's report from the reports of its partitions (in partition order), as a single
  /// build counts: examples and labels summed; the first ``StageBuilder/maxReasons`` rejection
  /// reasons met (by unit, then order in the unit) keep their names, later ones are "other
  /// reasons"; the first five rejections by unit.
  static func combine(_ parts: [Manifest.Task]) -> TaskReport {
    let task = parts[0]
    var r = TaskReport(task: task.task, stage: task.stage, regression: task.regression, template: task.template)
    r.seen = task.seen
    r.skipped = task.skipped
    var reasons: [String: (count: Int, first: Place)] = [:]
    var rejections: [Manifest.Rejection] = []
    for pt in parts {
      r.examples += pt.examples
      r.labelsOff += pt.labelsOff
      for why in pt.rejected {
        if let known = reasons[why.reason] {
          reasons[why.reason] = (known.count + why.count, min(known.first, why.first))
        } else {
          reasons[why.reason] = (why.count, why.first)
        }
      }
      rejections += pt.firstRejections
    }
    let ordered = reasons.sorted { ($0.value.first, $0.key) < ($1.value.first, $1.key) }
    for (k, (why, v)) in ordered.enumerated() {
      if k < StageBuilder.maxReasons { r.rejected[why] = v.count } else { r.rejected["other reasons", default: 0] += v.count }
    }
    // Stable: a unit's rejections come from one partition, in its order.
    let firsts = rejections.enumerated().sorted { ($0.element.unit, $0.offset) < ($1.element.unit, $1.offset) }.prefix(5)
    r.firstRejections = firsts.map(\.element.text)
    return r
  }

  /// Hands the records of shard `k` of every partition to `handle` in sort-key order (key, then
  /// the payload ``ShardExport/writeShards`` reads: task and split as parts, then the line).
  static func mergeShard(_ k: Int, parts: [(dir: String, m: Manifest)],
                         handle: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws
  {
    final class Stream {
      let shard: String
      let lines: LineReader
      let keys: KeyReader
      let expected: Int
      var read = 0
      var record: [UInt8] = []
      var key: [UInt8] = []
      var split: [UInt8] = []
      var line: [UInt8] = []
      init(dir: String, file: Manifest.File) throws {
        shard = dir + "/" + file.file
        lines = LineReader(try openInput(shard).source, bufferSize: 1 << 16)
        keys = try KeyReader(path: dir + "/" + (file.keys ?? ""))
        expected = file.records
      }
      /// Advances to the next record; false at the end (checked against the manifest).
      func advance() throws -> Bool {
        guard try keys.next(into: &record) else {
          if try lines.nextLine() != nil || read != expected {
            throw ShardExportError(path: shard, message: "holds other records than its sort keys and manifest say "
                                     + "(\(read) keys, \(expected) in the manifest)")
          }
          return false
        }
        guard let l = try lines.nextLine() else {
          throw ShardExportError(path: shard, message: "ends after \(read) records; its sort keys go on (cut short?)")
        }
        read += 1
        var at = 0
        record.withUnsafeBytes { b in
          key = ShardExport.readPart(b, &at)
          split = ShardExport.readPart(b, &at)
        }
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: l)
        line.append(0x0A)
        return true
      }
    }
    var streams: [Stream] = []
    for (dir, m) in parts {
      guard k < m.files.count else { throw ShardExportError(path: dir, message: "has no shard \(k)") }
      streams.append(try Stream(dir: dir, file: m.files[k]))
    }
    // A binary heap of the streams that have a record, smallest key on top (ties: the lower
    // partition, which cannot happen: keys end with the unit, and units are partitioned).
    var heap = MergeHeap { a, b in
      let x = streams[a].key, y = streams[b].key
      let n = min(x.count, y.count)
      let c = n == 0 ? 0 : x.withUnsafeBytes { xa in y.withUnsafeBytes { ya in memcmp(xa.baseAddress!, ya.baseAddress!, n) } }
      return c != 0 ? c < 0 : (x.count != y.count ? x.count < y.count : a < b)
    }
    for s in streams.indices where try streams[s].advance() { heap.push(s) }
    var payload: [UInt8] = []
    while let top = heap.top {
      let s = streams[top]
      // The task is the key's text after the shard number, up to its 0 byte.
      let task = s.key[4...].prefix { $0 != 0 }
      payload.removeAll(keepingCapacity: true)
      ShardExport.appendPart(&payload, Array(task))
      ShardExport.appendPart(&payload, s.split)
      payload.append(contentsOf: s.line)
      let go = try s.key.withUnsafeBytes { kb in try payload.withUnsafeBytes { pb in try handle(kb, pb) } }
      if !go { return }
      if try s.advance() { heap.topChanged() } else { heap.popTop() }
    }
  }

  /// The leakage report per task from the partitions' leakage keys, merged into the order of a
  /// single build (task, unit, place in the unit).
  static func mergeLeakage(parts: [(dir: String, m: Manifest)], directory: String, memoryBudget: Int) throws
    -> [String: LeakageReport]
  {
    let tasks = parts[0].m.tasks.map(\.task)
    var readers: [KeyReader] = []
    var heads: [[UInt8]?] = []
    for (dir, m) in parts {
      let r = try KeyReader(path: dir + "/" + m.leakageKeys.file)
      var rec: [UInt8] = []
      heads.append(try r.next(into: &rec) ? rec : nil)
      readers.append(r)
    }
    var reports: [String: LeakageReport] = [:]
    var current: (task: Int, acc: LeakageAccumulator)?
    // The heads by their place in the build (16 bytes, big-endian); no two are equal.
    var heap = MergeHeap { a, b in heads[a]!.prefix(16).lexicographicallyPrecedes(heads[b]!.prefix(16)) }
    for i in heads.indices where heads[i] != nil { heap.push(i) }
    while let b = heap.top {
      let rec = heads[b]!
      var keys = SplitKeys(exampleKey: "")
      var split: SplitName?
      let task = rec.withUnsafeBytes { p -> Int in
        let t = Int(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        split = rec[16] == 0xFF ? nil : SplitName.allCases[Int(rec[16])]
        var at = 17
        keys.exampleKey = String(decoding: ShardExport.readPart(p, &at), as: UTF8.self)
        func list() -> [String] {
          let n = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
          at += 4
          return (0..<n).map { _ in String(decoding: ShardExport.readPart(p, &at), as: UTF8.self) }
        }
        keys.molecules = list()
        keys.scaffolds = list()
        keys.targets = list()
        keys.sequences = list()
        let hasYear = p[at] == 1
        let year = Int(Int64(littleEndian: p.loadUnaligned(fromByteOffset: at + 1, as: Int64.self)))
        keys.year = hasYear ? year : nil
        return t
      }
      guard task < tasks.count else {
        throw ShardExportError(path: parts[b].dir + "/" + leakageFile, message: "names task \(task) of \(tasks.count)")
      }
      if current?.task != task {
        if let (t, acc) = current { reports[tasks[t]] = try acc.finish() }
        current = (task, LeakageAccumulator(directory: directory, memoryBudget: memoryBudget / 2))
      }
      try current!.acc.add(keys, split)
      var next: [UInt8] = []
      if try readers[b].next(into: &next) {
        heads[b] = next
        heap.topChanged()
      } else {
        heads[b] = nil
        heap.popTop()
      }
    }
    if let (t, acc) = current { reports[tasks[t]] = try acc.finish() }
    for (i, r) in readers.enumerated() where r.records != parts[i].m.leakageKeys.records {
      throw ShardExportError(path: parts[i].dir + "/" + leakageFile,
                             message: "does not match its manifest (\(r.records) records, \(parts[i].m.leakageKeys.records) expected)")
    }
    return reports
  }
}

/// The partitions' indexes checked before anything is sized by their count (which a damaged
/// manifest may make huge).
enum PartitionIndexes {
  /// "partitions missing: ..." (at most 10 named) when fewer indexes than `count` are given, else nil.
  static func missing(_ given: [Int], of count: Int) -> String? {
    guard count > given.count else { return nil }
    let present = Set(given)
    var names: [String] = []
    var k = 0
    while k < count && names.count < 10 {
      if !present.contains(k) { names.append("\(k)/\(count)") }
      k += 1
    }
    let more = count - present.filter { $0 >= 0 && $0 < count }.count - names.count
    return "partitions missing: " + names.joined(separator: ", ") + (more > 0 ? " and \(more) more" : "")
      + " (merge needs every partition of the build)"
  }
}

/// A binary min-heap of indices under a comparison of what they index (which may change for the
/// top only: ``topChanged()``).
struct MergeHeap {
  private var items: [Int] = []
  private let less: (Int, Int) -> Bool

  init(less: @escaping (Int, Int) -> Bool) { self.less = less }

  var top: Int? { items.first }

  mutating func push(_ i: Int) {
    items.append(i)
    var k = items.count - 1
    while k > 0 {
      let p = (k - 1) / 2
      guard less(items[k], items[p]) else { break }
      items.swapAt(k, p)
      k = p
    }
  }

  /// The top's value grew: moves it down to its place.
  mutating func topChanged() { siftDown(0) }

  mutating func popTop() {
    guard !items.isEmpty else { return }
    items[0] = items[items.count - 1]
    items.removeLast()
    if !items.isEmpty { siftDown(0) }
  }

  private mutating func siftDown(_ start: Int) {
    var i = start
    while true {
      let l = 2 * i + 1, r = l + 1
      var m = i
      if l < items.count && less(items[l], items[m]) { m = l }
      if r < items.count && less(items[r], items[m]) { m = r }
      if m == i { return }
      items.swapAt(i, m)
      i = m
    }
  }
}
