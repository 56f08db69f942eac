#if canImport(Glibc)
import Glibc
#endif
import CZlib
import Foundation
import TagdataBio
import TagdataCatalog
import TagdataChem
import TagdataIO
import TagdataLabels

/// A build that could not be written (the output directory, a shard, the manifest).
public struct ShardExportError: Error, CustomStringConvertible {
  public var path: String
  public var message: String
  public var description: String { "\(path): \(message)" }
}

/// Writes a build as sharded JSON Lines plus `manifest.json`, deterministically: an example goes
/// to shard `StableHash(task, key) % shards` (so it stays there when the catalog grows), a shard's
/// records are sorted by task, then two independent 64-bit hashes of the key (its identity), and
/// written with a fixed key order; an example that repeats within its task is written once (the
/// earliest year's, then the first source row's). The same catalog and configuration give
/// byte-identical files.
///
/// Every example goes through one bounded-memory external sort (``ExternalSorter``), keyed by
/// shard first; the shards are then written in order as the sorted records come, and the leakage
/// report is accumulated task by task the same way (``LeakageAccumulator``): memory does not grow
/// with the catalog. Everything is written into a temporary directory beside `out`, which then
/// replaces `out`. Shards are plain JSON Lines, or gzip-compressed ones on request; the manifest's
/// SHA-256 is of the file as written.
public enum ShardExport {
  public struct Counts: Sendable, Equatable {
    public var train = 0
    public var valid = 0
    public var test = 0
    public var total: Int { train + valid + test }
    public init() {}
    mutating func add(_ split: String) {
      switch split {
      case "train": train += 1
      case "valid": valid += 1
      default: test += 1
      }
    }
    var json: String { "{\"train\":\(train),\"valid\":\(valid),\"test\":\(test)}" }
    mutating func add(_ other: Counts) {
      train += other.train
      valid += other.valid
      test += other.test
    }
  }

  public struct Summary: Sendable {
    public var reports: [TaskReport]
    /// Written examples per task and split (duplicates dropped).
    public var counts: [String: Counts]
    public var duplicates: [String: Int]
    /// The tag registry of the build (declared tags, then languages met in the data).
    public var tags: [TagLLM.Tag]
    public var shardRecords: [Int]
    public var shardSHA256: [String]
    public var manifest: String
  }

  public static func shardName(_ k: Int, of n: Int, gzip: Bool = false) -> String {
    let w = max(5, String(n).count)
    func pad(_ x: Int) -> String { let s = String(x); return String(repeating: "0", count: max(0, w - s.count)) + s }
    return "shard-\(pad(k))-of-\(pad(n)).jsonl" + (gzip ? ".gz" : "")
  }

  public static func shard(task: String, key: String, shards: Int) -> Int {
    Int(StableHash.hash([task, key]) % UInt64(max(shards, 1)))
  }

  /// Builds from `catalog` and writes the result into the directory `out`.
  /// With `gzip`, shards are written gzip-compressed (`.jsonl.gz`, zlib level 6, no file name and
  /// a zero time in the header: the same bytes on every run with the same zlib).
  ///
  /// With `partition` (index, count), only that partition of every task's source units is built
  /// (``StageBuilder/build(_:plan:assigned:partition:emit:)``) and `out` becomes a partial build
  /// (``BuildPartial``): its shards with the sort key of each record, the leakage keys in the
  /// order they were made, and `partition.json`; ``merge(parts:out:toolVersion:memoryBudget:progress:)``
  /// makes of the `count` partial builds the build this function writes without a partition.
  ///
  /// The shards are written by `writers` threads (default: one per core, at most one per shard),
  /// each merging the sorted records of a range of shards; the output does not depend on it.
  public static func export(_ catalog: Catalog, plan: CompiledConfig, shards: Int, out: String, toolVersion: String,
                            gzip: Bool = false, memoryBudget: Int = 64 << 20, partition: (index: Int, count: Int)? = nil,
                            writers: Int? = nil, progress: ((Int) -> Void)? = nil) throws -> Summary
  {
    let mergeParts = max(1, writers ?? ProcessInfo.processInfo.activeProcessorCount)
    let config = plan.config
    if let p = partition, p.count < 1 || p.index < 0 || p.index >= p.count {
      throw ShardExportError(path: out, message: "partition \(p.index)/\(p.count) does not exist (0 <= index < count)")
    }
    if try catalog.labelPartition() != nil {
      throw ShardExportError(path: catalog.db.path, message: "is a labels part (tagdata describe --partition), which holds "
                               + "some of its catalog's entities only: merge it into its catalog (tagdata catalog merge) "
                               + "and build from that")
    }
    if let problem = OutputGuard.problem(out: out, inputs: [("the catalog", catalog.db.path)]) {
      throw ShardExportError(path: out, message: problem)
    }
    // A partition records the content of the text files it reads, read before it reads them.
    var texts: [String: String] = [:]
    if partition != nil {
      for task in config.tasks {
        if case let .text(path, _) = task.source, let sha = try? BuildPartial.fileSHA256(path) { texts[path] = sha }
      }
    }
    let target = try OutputDirectory(out)
    // 0. Group splits see every example of a task first: its keys (molecules, scaffolds,
    // targets), then the split of each whole group. Memory grows with the examples here (their
    // keys), not with the catalog's rows. Every partition makes this first pass over all units.
    // Molecules' parents and scaffolds as the catalog stores them (`tagdata catalog groups`), on a
    // connection of the reader's own: the sink's thread asks while this one reads rows.
    let keysOf = SplitKeyMaker(stored: MoleculeGroupReader(path: catalog.db.path, version: MoleculeGroups.version))
    var assigned: [String: [String: SplitName]]?
    if config.split.method != .random {
      var keys: [String: [SplitKeys]] = [:]
      _ = try StageBuilder.build(catalog, plan: plan) { e in keys[e.task, default: []].append(keysOf.keys(e)) }
      var map: [String: [String: SplitName]] = [:]
      for (task, k) in keys {
        let splits = assignSplits(k, plan: config.plan)
        var m: [String: SplitName] = [:]
        m.reserveCapacity(k.count)
        for (key, s) in zip(k, splits) { if let s { m[key.exampleKey] = s } }
        map[task] = m
      }
      assigned = map
    }
    // 1. The builder streams examples on this thread; a second thread takes them in batches, adds
    // each to the leakage report (task by task; a partition writes their keys instead) and to one
    // bounded-memory external sort, keyed by its shard, task, identity (two hashes of the key),
    // year, source, row and where it was made.
    let leakageKeys = partition == nil ? nil : try BuildPartial.KeyWriter(path: target.temporary + "/" + BuildPartial.leakageFile)
    let sink = ExportSink(directory: target.temporary, memoryBudget: memoryBudget, shards: shards,
                          declared: Set(config.tags.map(\.name)), keysOf: keysOf,
                          tasks: plan.tasks.map(\.spec.name), leakageKeys: leakageKeys,
                          splitter: SeededRandomSplit(seed: config.seed, train: config.split.train, valid: config.split.valid))
    // Batches of 1,024 examples: each hand-over takes the queue's lock and may wake the other thread.
    let batchSize = 1024
    let queue = BlockingQueue<[TaskExample]>(capacity: 4)
    // Spent batches come back to this thread, which made their examples, to be freed here: glibc
    // then keeps the memory in this thread's cache for the next examples, where frees from the
    // sink's thread would each take this thread's arena lock and leave it chunks to sort.
    let spent = BlockingQueue<[TaskExample]>(capacity: 4)
    let worker = JoinableThread {
      while var batch = queue.pop() {
        sink.consume(&batch)
        _ = spent.tryPush(batch)
      }
    }
    var made = 0
    var batch: [TaskExample] = []
    batch.reserveCapacity(batchSize)
    let reports: [TaskReport]
    do {
      defer {
        queue.close()
        worker.join()
      }
      reports = try StageBuilder.build(catalog, plan: plan, assigned: assigned, partition: partition, deferSplits: true) { e in
        batch.append(consume e)
        if batch.count == batchSize {
          if !queue.tryPush(batch) {
            // The sink is behind (a run of new molecules, whose parents and scaffolds are most of
            // its work when the catalog does not store them). Rather than wait, this thread looks
            // up those of this batch, which the sink reaches only after the queued ones: it then
            // finds them made.
            for x in batch { for m in x.molecules { _ = keysOf.entry(m) } }
            if !queue.push(batch) { try sink.rethrow() }
          }
          batch.removeAll(keepingCapacity: true)
          while spent.tryPop() != nil {}
        }
        made += 1
        if made % 4096 == 0 {
          try sink.rethrow()
          progress?(made)
        }
      }
      if !batch.isEmpty { _ = queue.push(batch) }
    }
    try sink.rethrow()
    // The last task's leakage report is worked out while the shards are written.
    let leakageDone = UncheckedBox<(any Error)?>(nil)
    let leakageThread = JoinableThread {
      do { try sink.finishLeakage() } catch { leakageDone.value = error }
    }
    defer { leakageThread.join() }
    progress?(made)
    let header = BuildHeader(config)
    let catalogSHA = try catalogDigest(catalog)
    try header.checkLanguages(sink.languages)

    // 2. Write the shards in order as the sorted records come, dropping repeats of (task, key).
    let sorter = sink.sorter
    // The shards are shared out among the cores, each range merged and written on a thread of its own.
    let written = try writeShards(directory: target.temporary, shards: shards, gzip: gzip, sortKeys: partition != nil,
                                  strings: sink.strings, compact: true, parts: mergeParts) { bounds, handle in
      try sorter.finish(parts: bounds, handle)
    }
    leakageThread.join()
    if let e = leakageDone.value { throw e }
    if let p = partition, let leakageKeys {
      // 3. A partition's own manifest, written last: the merge takes only complete partitions.
      let keysFile = try leakageKeys.finish()
      try BuildPartial.write(directory: target.temporary, partition: p, shards: shards, gzip: gzip, header: header,
                             toolVersion: toolVersion, catalogSHA: catalogSHA, texts: texts, reports: reports,
                             languages: sink.languages,
                             written: written, leakageKeys: keysFile)
      try target.commit()
      return Summary(reports: reports, counts: written.counts, duplicates: written.duplicates,
                     tags: header.tags(languages: sink.languages, reports: reports), shardRecords: written.records,
                     shardSHA256: written.sha256, manifest: "")
    }
    // 3. The manifest and the leakage report, then `out` is replaced by the new directory.
    let summary = try finishBuild(directory: target.temporary, header: header, toolVersion: toolVersion,
                                  catalogSHA: catalogSHA, reports: reports, languages: sink.languages, written: written,
                                  leakage: sink.leakage, shards: shards, gzip: gzip)
    try target.commit()
    return summary
  }

  /// What a build's shards came to.
  struct WrittenShards {
    var counts: [String: Counts] = [:]
    var shardCounts: [[String: Counts]] = []
    var duplicates: [String: Int] = [:]
    var records: [Int] = []
    var sha256: [String] = []
  }

  /// Writes shards 0..<shards from records sorted by shard, task and identity (`feed` hands them
  /// to its handler: the key, then the payload: task and split as parts, then the record's line,
  /// or with `compact` its ``RecordCodec`` record, whose long strings are in `strings`),
  /// dropping every repeat of an identity after its first. With `sortKeys`, each shard gets a
  /// sidecar (``BuildPartial``) with the sort key and split of each record it holds.
  static func writeShards(directory: String, shards: Int, gzip: Bool, sortKeys: Bool, strings: RecordStrings? = nil,
                          compact: Bool = false,
                          feed: ((UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws -> Void) throws
    -> WrittenShards
  {
    try writeShards(directory: directory, shards: shards, gzip: gzip, sortKeys: sortKeys, strings: strings, compact: compact,
                    parts: 1) { _, handle in
      try withoutActuallyEscaping(handle) { handle in try feed { key, value in try handle(0, key, value) } }
    }
  }

  /// ``writeShards(directory:shards:gzip:sortKeys:strings:compact:feed:)`` with the shards shared
  /// out in `parts` consecutive ranges, each written on a thread of its own: `feed` gets the keys
  /// where parts 1... start (a shard's first key: its number, 4 bytes big-endian) and a handler to
  /// call with each record and the part it belongs to, from that part's thread.
  static func writeShards(directory: String, shards: Int, gzip: Bool, sortKeys: Bool, strings: RecordStrings?,
                          compact: Bool, parts: Int,
                          feed: ([[UInt8]], @Sendable (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool)
                            throws -> Void) throws -> WrittenShards
  {
    let parts = max(1, min(parts, shards))
    let syncs = ShardSyncs()
    defer { syncs.wait() }
    let firsts = (0..<parts).map { $0 * shards / parts }
    let ranges = (0..<parts).map { ShardRangeWriter(directory: directory, shards: shards,
                                                    range: firsts[$0]..<($0 + 1 < parts ? firsts[$0 + 1] : shards),
                                                    gzip: gzip, sortKeys: sortKeys, strings: strings, compact: compact,
                                                    syncs: syncs) }
    let bounds = firsts.dropFirst().map { k in withUnsafeBytes(of: UInt32(k).bigEndian) { Array($0) } }
    try feed(bounds) { part, key, value in try ranges[part].take(key, value) }
    var w = WrittenShards()
    for r in ranges {
      let x = try r.finish()
      w.records += x.records
      w.sha256 += x.sha256
      w.shardCounts += x.shardCounts
      for (t, c) in x.counts { w.counts[t, default: Counts()].add(c) }
      for (t, n) in x.duplicates { w.duplicates[t, default: 0] += n }
    }
    try syncs.finish()
    return w
  }

  /// Writes a whole build's manifest and leakage report into `directory`.
  static func finishBuild(directory: String, header: BuildHeader, toolVersion: String, catalogSHA: String,
                          reports: [TaskReport], languages: Set<String>, written: WrittenShards,
                          leakage: [String: LeakageReport], shards: Int, gzip: Bool) throws -> Summary
  {
    let counts = written.counts, duplicates = written.duplicates
    let tags = header.tags(languages: languages, reports: reports)
    var m = "{\n"
    m += "  \"format\": \"tagdata-tasks/1\",\n"
    m += "  \"preset\": \(header.preset.map { JSONString.quoted($0) } ?? "null"),\n"
    m += "  \"tool_version\": \(JSONString.quoted(toolVersion)),\n"
    m += "  \"config\": \(header.configJson),\n"
    m += "  \"config_sha256\": \"\(header.configSha256)\",\n"
    m += "  \"catalog_sha256\": \"\(catalogSHA)\",\n"
    m += "  \"tokens_per_tag\": \(header.tokensPerTag),\n"
    m += "  \"tags\": [\n"
    var first = 0
    m += tags.map { t in
      defer { first += t.tokens }
      return "    {\"name\":\(JSONString.quoted(t.name)),\"text\":\(JSONString.quoted(t.text)),\"kind\":\"\(t.kind.rawValue)\","
        + "\"stage\":\(t.stage == 0 ? "null" : String(t.stage)),\"first_token\":\(first),\"tokens\":\(t.tokens)}"
    }.joined(separator: ",\n")
    m += "\n  ],\n  \"tasks\": [\n"
    m += reports.map { r in
      let c = counts[r.task] ?? Counts()
      let rejected = r.rejected.keys.sorted().map { "\(JSONString.quoted($0)):\(r.rejected[$0]!)" }.joined(separator: ",")
      return "    {\"task\":\(JSONString.quoted(r.task)),\"stage\":\(r.stage),\"regression\":\(r.regression),"
        + "\"template\":\(JSONString.quoted(r.template)),"
        + "\"examples\":\(c.total),\"splits\":\(c.json),\"duplicates\":\(duplicates[r.task] ?? 0),"
        + "\"labels_off\":\(r.labelsOff),\"rejected\":{\(rejected)},\"skipped\":\(r.skipped.map(JSONString.quoted) ?? "null")}"
    }.joined(separator: ",\n")
    m += "\n  ],\n  \"shards\": [\n"
    m += (0..<shards).map { k in
      let per = reports.compactMap { r in written.shardCounts[k][r.task].map { "\(JSONString.quoted(r.task)):\($0.json)" } }
      return "    {\"file\":\"\(shardName(k, of: shards, gzip: gzip))\",\"records\":\(written.records[k]),"
        + "\"sha256\":\"\(written.sha256[k])\",\"tasks\":{\(per.joined(separator: ","))}}"
    }.joined(separator: ",\n")
    m += "\n  ],\n  \"total\": \(written.records.reduce(0, +))\n}\n"
    try write(Array(m.utf8), to: directory + "/manifest.json")

    // The leakage report: per task, what the splits share (molecules, scaffolds, targets,
    // near-identical sequences), as JSON and as a short Markdown summary.
    var leakJSON = "{\n  \"split\": \"\(header.splitMethod)\",\n  \"tasks\": {"
    var leakMD = "# Leakage report (\(header.splitMethod) split)\n"
    var firstTask = true
    for task in reports.map(\.task) {
      guard let report = leakage[task] else { continue }
      let json = String(decoding: try report.jsonData(), as: UTF8.self)
      leakJSON += (firstTask ? "\n" : ",\n") + "  \(JSONString.quoted(task)): " + json
      firstTask = false
      leakMD += "\n" + report.markdown(heading: "## \(task)")
    }
    leakJSON += "\n  }\n}\n"
    try write(Array(leakJSON.utf8), to: directory + "/leakage.json")
    try write(Array(leakMD.utf8), to: directory + "/leakage.md")
    return Summary(reports: reports, counts: counts, duplicates: duplicates, tags: tags, shardRecords: written.records,
                   shardSHA256: written.sha256, manifest: m)
  }

  /// Removes the temporary directories of builds and tokenized exports of `name` that were
  /// killed (their process is gone): `.NAME.tmp-PID`, `.NAME.old-PID`, `.NAME.partial-PID` and
  /// `.NAME.partial-PID.old`.
  static func removeAbandoned(parent: String, name: String) {
    guard let items = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
    for item in items {
      for marker in [".tmp-", ".old-", ".partial-"] where item.hasPrefix("." + name + marker) {
        var rest = item.dropFirst(name.count + 1 + marker.count)
        if marker == ".partial-" && rest.hasSuffix(".old") { rest = rest.dropLast(4) }
        guard let pid = Int32(rest), pid > 0, pid != getpid() else { continue }
        if !processIsRunning(pid) { try? FileManager.default.removeItem(atPath: parent + "/" + item) }
      }
    }
  }

  /// Whether process `pid` exists and is not a zombie (killed, not yet reaped: where the process
  /// that adopts orphans does not reap them, as in a container without an init, a killed
  /// writer stays a zombie, and writes no more).
  static func processIsRunning(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 && errno == ESRCH { return false }
    // /proc/PID/stat: "pid (comm) S ...", the state after the last ')'.
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
  }

  /// SHA-256 of the catalog's content (its dump without provenance), streamed.
  public static func catalogDigest(_ catalog: Catalog) throws -> String {
    var d = StreamDigest()
    try catalog.dump(provenance: false) { line in d.update(UnsafeRawBufferPointer(line)) }
    return SequenceDigest.hex(d.finalize())
  }

  /// One exported record as JSON, keys in a fixed order (Schemas/task-record.schema.json): the
  /// line a build writes of the example's compact record, without its newline.
  public static func recordJSON(_ e: TaskExample) -> String {
    var record: [UInt8] = [], out: [UInt8] = []
    RecordCodec.encode(e, keyHash: e.keyHash, strings: nil, to: &record)
    var split = e.split
    record.withUnsafeBytes { r in
      split.withUTF8 { s in RecordCodec.render(r, split: UnsafeRawBufferPointer(s), strings: nil, to: &out) }
    }
    return String(decoding: out.dropLast(), as: UTF8.self)
  }

  static func hex16(_ x: UInt64) -> String {
    String(unsafeUninitializedCapacity: 16) { b in
      for k in 0..<16 { b[k] = hexDigit(x, k) }
      return 16
    }
  }

  /// ``hex16(_:)``'s digits, appended to `out`.
  static func appendHex16(_ x: UInt64, to out: inout [UInt8]) {
    for k in 0..<16 { out.append(hexDigit(x, k)) }
  }

  /// Digit `k` (0: the most significant) of `x` in lowercase hex, computed rather than read from
  /// a global table (whose reference count threads rendering at once would share).
  @inline(__always) static func hexDigit(_ x: UInt64, _ k: Int) -> UInt8 {
    let d = UInt8(truncatingIfNeeded: (x >> UInt64(60 - 4 * k)) & 15)
    return d < 10 ? 0x30 + d : 0x57 + d
  }

  /// A finite double as a JSON number that reads back to the same value (Python's repr).

  /// Languages the data may add to the declared tags.
  public static let maxDataLanguages = 256

  /// The seed of the second hash of an example's identity.
  static let identitySeed: UInt64 = 0x9E37_79B9_7F4A_7C15

  static func appendPart(_ out: inout [UInt8], _ part: [UInt8]) {
    withUnsafeBytes(of: UInt32(part.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: part)
  }

  /// ``appendPart(_:_:)`` of a string's UTF-8 bytes.
  static func appendPart(_ out: inout [UInt8], _ part: String) {
    withUnsafeBytes(of: UInt32(part.utf8.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: part.utf8)
  }

  static func readPart(_ b: UnsafeRawBufferPointer, _ at: inout Int) -> [UInt8] {
    let n = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
    defer { at += 4 + n }
    return Array(b[(at + 4)..<(at + 4 + n)])
  }

  static func write(_ bytes: [UInt8], to path: String) throws {
    guard let f = fopen(path, "wb") else { throw ShardExportError(path: path, message: String(cString: strerror(errno))) }
    let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
    fclose(f)
    if n != bytes.count || !flushed {
      throw ShardExportError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
    }
  }
}

/// The keys of an example that splits and the leakage report look at: its molecules' parents and
/// Bemis-Murcko scaffolds (``MoleculeGroups``), its proteins (keys and sequences). A molecule's
/// are read from the catalog where it stores them (`stored`), else worked out; either way once per
/// molecule while it is asked for (a bounded cache).
final class SplitKeyMaker {
  /// Per molecule: its parent and its scaffold (a bounded cache).
  private let known = SharedCache<String, (parent: String, scaffold: String)>(capacity: 1 << 16)
  /// The catalog's stored keys (nil: every molecule's are worked out).
  let stored: MoleculeGroupReader?

  init(stored: MoleculeGroupReader? = nil) { self.stored = stored }

  func scaffold(_ smiles: String) -> String { entry(smiles).scaffold }

  /// The molecule a split groups by (its parent, ``MoleculeGroups/keys(smiles:)``): a salt form, a
  /// charged form, a stereoisomer and the molecule itself share a group and count as one molecule
  /// in the leakage report.
  func parent(_ smiles: String) -> String { entry(smiles).parent }

  func entry(_ smiles: String) -> (parent: String, scaffold: String) {
    if let e = known.value(for: smiles) { return e }
    let e = stored?.keys(smiles: smiles) ?? MoleculeGroups.keys(smiles: smiles)
    known.insert(e, for: smiles)
    return e
  }

  /// The split keys of `e`; its example key is the hex of `StableHash.hash([task, groupKey])`,
  /// the record's `key` for all but regressions (the leakage report and the group splits' maps
  /// hold 16 characters, not the whole filled template).
  func keys(_ e: TaskExample) -> SplitKeys { keys(e, entry: entry) }

  /// ``keys(_:)``, looking molecules up in `memo` first: one thread's, by the address of their
  /// SMILES (the catalog hands the same `String` over for a ligand row after row).
  func keys(_ e: TaskExample, memo: inout Memo) -> SplitKeys {
    keys(e) { entry($0, memo: &memo) }
  }

  /// One thread's memo in front of the shared cache, without its lock: long SMILES by the address
  /// of their bytes, short ones by value. Twice as many slots as a catalog's usual count of
  /// distinct molecules keeps most of them from evicting each other.
  typealias Memo = StringMemo<(parent: String, scaffold: String)>
  static func memo() -> Memo { Memo(capacity: 1 << 17, shortCapacity: 1 << 16) }

  /// ``entry(_:)``, looked up in `memo` first (see ``keys(_:memo:)``).
  func entry(_ m: String, memo: inout Memo) -> (parent: String, scaffold: String) {
    if let x = memo.value(m) { return x }
    let x = entry(m)
    memo.insert(m, x)
    return x
  }

  private func keys(_ e: TaskExample, entry: (String) -> (parent: String, scaffold: String)) -> SplitKeys {
    var molecules: [String] = [], scaffolds: [String] = []
    molecules.reserveCapacity(e.molecules.count)
    scaffolds.reserveCapacity(e.molecules.count)
    for m in e.molecules {
      let x = entry(m)
      molecules.append(x.parent)
      scaffolds.append(x.scaffold)
    }
    return SplitKeys(exampleKey: ShardExport.hex16(e.groupHash), molecules: molecules, scaffolds: scaffolds,
                     targets: e.proteins, sequences: e.sequences, year: e.year)
  }
}

extension ShardExport {
  /// Checks `config` against `catalog` (``TaskConfig/compile(for:file:)``), then builds and writes it.
  public static func export(_ catalog: Catalog, config: TaskConfig, shards: Int, out: String, toolVersion: String,
                            gzip: Bool = false, progress: ((Int) -> Void)? = nil) throws -> Summary
  {
    try export(catalog, plan: config.compile(for: catalog), shards: shards, out: out, toolVersion: toolVersion, gzip: gzip,
               progress: progress)
  }
}

/// Writes one shard as it comes: plain or gzip-compressed (zlib level 6, no file name, a zero
/// time: the same bytes on every run with the same zlib), hashing what it writes. Records are
/// gathered into blocks of 1 MiB that a thread of its own compresses, hashes and writes, while the
/// caller makes the next ones.
final class ShardWriter {
  /// The file's side, used by the writing thread only until it has been joined.
  final class File: @unchecked Sendable {
    let path: String
    /// Direct I/O where the file system takes it: the shards are not read again by the build, and
    /// a copy of every byte into the page cache was most of what writing them cost.
    let file: SequentialFileWriter
    /// zlib's state points back at its stream: it must not move.
    var stream: UnsafeMutablePointer<z_stream>?
    var digest = StreamDigest()
    var out = [UInt8](repeating: 0, count: 1 << 16)
    private let lock = NSLock()
    private var failure: Error?

    init(path: String, gzip: Bool) throws {
      self.path = path
      file = try Self.reporting { try SequentialFileWriter(path: path) }
      if gzip {
        let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        z.initialize(to: z_stream())
        guard tagdata_deflateInit2(z, 6, 15 + 16) == Z_OK else {
          z.deallocate()
          throw ShardExportError(path: path, message: "zlib could not start compressing")
        }
        stream = z
      }
    }

    deinit {
      if let z = stream {
        deflateEnd(z)
        z.deallocate()
      }
    }

    /// `body`, a file it cannot write reported as the build's error (same path and message).
    static func reporting<T>(_ body: () throws -> T) throws -> T {
      do {
        return try body()
      } catch let e as FileWriteError {
        throw ShardExportError(path: e.path, message: e.message)
      }
    }

    func fail(_ error: Error) {
      lock.lock()
      if failure == nil { failure = error }
      lock.unlock()
    }

    func rethrow() throws {
      lock.lock()
      let e = failure
      lock.unlock()
      if let e { throw e }
    }

    func emit(_ bytes: UnsafeRawBufferPointer, hash: Bool = true) throws {
      guard !bytes.isEmpty else { return }
      if hash { digest.update(bytes) }
      try Self.reporting { try file.write(bytes) }
    }

    func compress(_ input: UnsafeRawBufferPointer, finish: Bool) throws {
      let outCount = out.count
      var status = Z_OK
      try out.withUnsafeMutableBytes { o in
        stream!.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream!.pointee.avail_in = UInt32(input.count)
        repeat {
          stream!.pointee.next_out = o.baseAddress!.assumingMemoryBound(to: UInt8.self)
          stream!.pointee.avail_out = UInt32(outCount)
          status = CZlib.deflate(stream!, finish ? Z_FINISH : Z_NO_FLUSH)
          guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
            throw ShardExportError(path: path, message: "zlib could not compress (\(status))")
          }
          try emit(UnsafeRawBufferPointer(rebasing: o[0..<(outCount - Int(stream!.pointee.avail_out))]))
        } while stream!.pointee.avail_out == 0 || (finish && status != Z_STREAM_END)
      }
    }
  }

  var path: String { file.path }
  private let file: File
  private(set) var records = 0
  private var block: [UInt8] = []
  private static let blockSize = 1 << 20
  private let queue = BlockingQueue<[UInt8]>(capacity: 4)
  private var thread: JoinableThread?
  private let hashQueue: BlockingQueue<[UInt8]>?
  private var hashThread: JoinableThread?
  init(path: String, gzip: Bool) throws {
    let file = try File(path: path, gzip: gzip)
    self.file = file
    block.reserveCapacity(Self.blockSize + (1 << 16))
    let queue = self.queue
    // A plain shard is hashed on a thread of its own beside the one that writes it: the two are
    // about equal work. A gzip shard's thread compresses, then hashes and writes what comes out.
    let hashing = gzip ? nil : BlockingQueue<[UInt8]>(capacity: 4)
    hashQueue = hashing
    if let hashing {
      let digest = UncheckedBox(StreamDigest())
      hashThread = JoinableThread {
        while let bytes = hashing.pop() { bytes.withUnsafeBytes { digest.value.update($0) } }
        file.digest = digest.value
      }
    }
    thread = JoinableThread {
      while let bytes = queue.pop() {
        do {
          try bytes.withUnsafeBytes { b in
            if file.stream != nil { try file.compress(b, finish: false) } else { try file.emit(b, hash: hashing == nil) }
          }
        } catch {
          file.fail(error)
          queue.close()
          hashing?.close()
        }
      }
    }
  }

  deinit {
    queue.close()
    hashQueue?.close()
    thread?.join()
    hashThread?.join()
  }

  /// Hands the gathered block to the writing (and hashing) threads.
  private func flushBlock() throws {
    guard !block.isEmpty else { return }
    var next: [UInt8] = []
    next.reserveCapacity(Self.blockSize + (1 << 16))
    swap(&next, &block)
    _ = hashQueue?.push(next)
    _ = queue.push(next)
    try file.rethrow()
  }

  /// One record (its line, newline included).
  func write(_ record: UnsafeRawBufferPointer) throws {
    records += 1
    block.append(contentsOf: record)
    if block.count >= Self.blockSize { try flushBlock() }
  }

  /// One record, appended by `render` to the shard's bytes (its line, newline included).
  func write(render: (inout [UInt8]) -> Void) throws {
    records += 1
    render(&block)
    if block.count >= Self.blockSize { try flushBlock() }
  }

  /// Flushes and (with `sync`) syncs the file; the SHA-256 of its bytes.
  func finish(sync: Bool = true) throws -> String {
    try flushBlock()
    queue.close()
    hashQueue?.close()
    thread?.join()
    hashThread?.join()
    thread = nil
    hashThread = nil
    try file.rethrow()
    if file.stream != nil { try file.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true) }
    try File.reporting { try file.file.close(sync: sync) }
    return SequenceDigest.hex(file.digest.finalize())
  }
}

/// The shards of one range (`range`, of `shards` in all), written as their sorted records come,
/// by one thread: each record goes to the shard its key starts with (opening the shards before it
/// that get none), and each repeat of an identity after its first is dropped (counted).
final class ShardRangeWriter: @unchecked Sendable {
  let directory: String
  let shards: Int
  let range: Range<Int>
  let gzip: Bool
  let sortKeys: Bool
  let strings: RecordStrings?
  /// `strings` for reading, made once: rendering a record then touches no reference count.
  let stringsView: RecordStrings.View?
  let compact: Bool
  let syncs: ShardSyncs
  private var w = ShardExport.WrittenShards()
  private var writer: ShardWriter?
  private var keys: BuildPartial.KeyWriter?
  private var perTask: [String: ShardExport.Counts] = [:]
  private var last: [UInt8] = []

  init(directory: String, shards: Int, range: Range<Int>, gzip: Bool, sortKeys: Bool, strings: RecordStrings?,
       compact: Bool, syncs: ShardSyncs)
  {
    self.directory = directory
    self.shards = shards
    self.range = range
    self.gzip = gzip
    self.sortKeys = sortKeys
    self.strings = strings
    stringsView = strings?.view
    self.compact = compact
    self.syncs = syncs
  }

  /// Shards opened so far (the last one may still be open).
  private var opened: Int { range.lowerBound + w.records.count + (writer == nil ? 0 : 1) }

  private func close() throws {
    guard let s = writer else { return }
    // Each finished shard is synced to disk by `syncs`' thread while the next ones are written.
    w.sha256.append(try s.finish(sync: false))
    syncs.start(s.path)
    w.records.append(s.records)
    w.shardCounts.append(perTask)
    _ = try keys?.finish()
    perTask = [:]
    writer = nil
    keys = nil
  }

  private func open(_ k: Int) throws {
    let name = ShardExport.shardName(k, of: shards, gzip: gzip)
    writer = try ShardWriter(path: directory + "/" + name, gzip: gzip)
    if sortKeys { keys = try BuildPartial.KeyWriter(path: directory + "/" + BuildPartial.keysName(k, of: shards)) }
  }

  /// One sorted record (its key, then its payload).
  func take(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool {
    let k = Int(key.loadUnaligned(fromByteOffset: 0, as: UInt32.self).bigEndian)
    guard range.contains(k), k >= opened - 1 else {
      throw ShardExportError(path: directory, message: "a record sorted for shard \(k) came after shard \(opened - 1) "
                               + "(shards \(range.lowerBound)..<\(range.upperBound) here): its sort key is damaged")
    }
    while opened <= k {
      try close()
      try open(range.lowerBound + w.records.count)
    }
    var at = 0
    let task = ShardExport.readPart(value, &at), split = ShardExport.readPart(value, &at)
    let identity = UnsafeRawBufferPointer(rebasing: key[0..<(4 + task.count + 1 + 16)])
    if identity.elementsEqual(last) {
      w.duplicates[String(decoding: task, as: UTF8.self), default: 0] += 1
      return true
    }
    last.removeAll(keepingCapacity: true)
    last.append(contentsOf: identity)
    let name = String(decoding: task, as: UTF8.self), splitName = String(decoding: split, as: UTF8.self)
    perTask[name, default: ShardExport.Counts()].add(splitName)
    w.counts[name, default: ShardExport.Counts()].add(splitName)
    let rest = UnsafeRawBufferPointer(rebasing: value[at...])
    if compact {
      try split.withUnsafeBytes { s in try writer!.write { RecordCodec.render(rest, split: s, strings: stringsView, to: &$0) } }
    } else {
      try writer!.write(rest)
    }
    try keys?.write(key, split)
    return true
  }

  /// Opens and closes the range's shards that got no record; what the range came to.
  func finish() throws -> ShardExport.WrittenShards {
    while opened < range.upperBound {
      try close()
      try open(range.lowerBound + w.records.count)
    }
    try close()
    return w
  }
}

/// Syncs finished files to disk, one after another on a thread of its own, while the caller goes
/// on writing the next ones; reports the first failure.
final class ShardSyncs {
  /// The first failure, set by the syncing thread.
  final class Failure: @unchecked Sendable {
    private let lock = NSLock()
    private var error: ShardExportError?
    func set(_ e: ShardExportError) {
      lock.lock()
      if error == nil { error = e }
      lock.unlock()
    }
    func get() -> ShardExportError? {
      lock.lock()
      defer { lock.unlock() }
      return error
    }
  }

  private let paths = BlockingQueue<String>(capacity: 1 << 16)
  private var thread: JoinableThread?
  private let failure = Failure()

  init() {
    let paths = self.paths, failure = self.failure
    thread = JoinableThread {
      while let path = paths.pop() {
        let fd = open(path, O_RDONLY)
        if fd < 0 || fsync(fd) != 0 {
          failure.set(ShardExportError(path: path, message: "cannot write: \(String(cString: strerror(errno)))"))
        }
        if fd >= 0 { close(fd) }
      }
    }
  }

  deinit { wait() }

  func start(_ path: String) { _ = paths.push(path) }

  /// Waits for every sync started.
  func wait() {
    paths.close()
    thread?.join()
    thread = nil
  }

  /// Waits for every sync started; throws the first failure.
  func finish() throws {
    wait()
    if let e = failure.get() { throw e }
  }
}

/// The consuming side of an export: leakage report and external sort, on a thread of its own.
/// Only that thread touches it until the producer has joined it.
final class ExportSink: @unchecked Sendable {
  let directory: String
  let memoryBudget: Int
  let shards: Int
  let declared: Set<String>
  let keysOf: SplitKeyMaker
  let sorter: ExternalSorter
  /// The long strings of the sorted records (a quarter of the memory budget).
  let strings: RecordStrings
  var leakage: [String: LeakageReport] = [:]
  var accumulator: (task: String, LeakageAccumulator)?
  var languages = Set<String>()
  /// Tag texts already looked at (a bounded few).
  private var seenTags: [String] = []
  private var sortKey: [UInt8] = []
  private var payload: [UInt8] = []
  private var memo = SplitKeyMaker.memo()
  /// The current example's molecules' parents and scaffolds (reused).
  private var molecules: [(parent: String, scaffold: String)] = []
  private let lock = NSLock()
  private var failure: Error?

  /// A partition's sink writes each example's leakage keys here, with where it was made, instead
  /// of accumulating the report (`tasks`: the configuration's task names, in order).
  let leakageKeys: BuildPartial.KeyWriter?
  let taskIndex: [String: Int]

  /// Examples that come without a split (``StageBuilder``'s `deferSplits`) get their hashes and
  /// seeded random split here.
  let splitter: SeededRandomSplit?
  private var prefix: (task: String, prefix: ExampleHashes.Prefix)?
  private let hashMemo = ExampleHashes.SegmentMemo()

  init(directory: String, memoryBudget: Int, shards: Int, declared: Set<String>, keysOf: SplitKeyMaker,
       tasks: [String] = [], leakageKeys: BuildPartial.KeyWriter? = nil, splitter: SeededRandomSplit? = nil)
  {
    self.splitter = splitter
    self.leakageKeys = leakageKeys
    var index: [String: Int] = [:]
    for (k, t) in tasks.enumerated() where index[t] == nil { index[t] = k }
    taskIndex = index
    self.directory = directory
    self.memoryBudget = memoryBudget
    self.shards = shards
    self.declared = declared
    self.keysOf = keysOf
    // Up to 256 runs merged at once: a build of several GB is merged in one pass.
    sorter = ExternalSorter(directory: directory, memoryBudget: memoryBudget / 2, maxFanIn: 256)
    strings = RecordStrings(budget: memoryBudget / 4)
  }

  /// Throws the consumer's first error, if any.
  func rethrow() throws {
    lock.lock()
    let e = failure
    lock.unlock()
    if let e { throw e }
  }

  /// Takes `batch`'s examples in place: their strings are the builder's, and neither copying an
  /// example nor retaining its strings here (each a count the builder's thread also changes)
  /// is needed to read them.
  func consume(_ batch: inout [TaskExample]) {
    lock.lock()
    let failed = failure != nil
    lock.unlock()
    if failed { return }
    do {
      try batch.withUnsafeMutableBufferPointer { batch in
        guard let base = batch.baseAddress else { return }
        for i in batch.indices {
          // Moved out of the batch and back: a bitwise move, where passing the element itself
          // would copy it (the callee could otherwise reach it through the buffer).
          var e = (base + i).move()
          if e.split.isEmpty, let splitter {
            // A task's examples come one after another: its prefix is made once for them.
            if prefix?.task != e.task { prefix = (e.task, ExampleHashes.Prefix(task: e.task, seed: splitter.seed)) }
            e.makeHashes(prefix!.prefix, memo: hashMemo)
            e.split = splitter.split(e)
          }
          var failed: Error?
          do { try add(e) } catch { failed = error }
          (base + i).initialize(to: e)
          if let failed { throw failed }
        }
      }
    } catch {
      lock.lock()
      failure = error
      lock.unlock()
    }
  }

  func finishLeakage() throws {
    if let (task, acc) = accumulator { leakage[task] = try acc.finish() }
    accumulator = nil
  }

  private func add(_ e: borrowing TaskExample) throws {
    // Tags not declared are languages. An example has a few tags, the same ones example after
    // example: those already looked at are recognized by comparing them.
    for seg in e.segments where seg.kind == .tag && !seenTags.contains(seg.text) {
      let name = String(seg.text.dropFirst().dropLast())
      if !declared.contains(name) { languages.insert(name) }
      if seenTags.count < 64 { seenTags.append(seg.text) }
    }
    let (keyHash, identity) = e.identityHashes
    if let leakageKeys {
      try leakageKeys.writeLeakage(task: UInt32(taskIndex[e.task] ?? 0), unit: e.unit, sub: e.sub,
                                   keys: keysOf.keys(e, memo: &memo), split: SplitName(rawValue: e.split))
    } else {
      if accumulator?.task != e.task {
        try finishLeakage()
        accumulator = (e.task, LeakageAccumulator(directory: directory, memoryBudget: memoryBudget / 2))
      }
      // The example's split keys as ``SplitKeyMaker/keys(_:memo:)`` makes them, without making them.
      molecules.removeAll(keepingCapacity: true)
      for m in e.molecules { molecules.append(keysOf.entry(m, memo: &memo)) }
      try accumulator!.1.add(exampleHash: e.groupHash, molecules: molecules.count, { self.molecules[$0] },
                             targets: e.proteins, sequences: e.sequences, split: SplitName(rawValue: e.split))
    }
    let k = Int(keyHash % UInt64(max(shards, 1)))
    sortKey.removeAll(keepingCapacity: true)
    withUnsafeBytes(of: UInt32(k).bigEndian) { sortKey.append(contentsOf: $0) }
    sortKey.append(contentsOf: e.task.utf8)
    sortKey.append(0)
    // The example's identity: two 64-bit hashes of (task, key), independent (a collision of
    // both, about n^2 / 2^129, would drop an example as a repeat).
    withUnsafeBytes(of: keyHash.bigEndian) { sortKey.append(contentsOf: $0) }
    withUnsafeBytes(of: identity.bigEndian) { sortKey.append(contentsOf: $0) }
    // Of examples with one identity, the one kept is the earliest year's (none counts as
    // latest, as the split's own deduplication), then the first source and row.
    withUnsafeBytes(of: UInt64(bitPattern: Int64(e.year ?? Int.max) ^ Int64.min).bigEndian) { sortKey.append(contentsOf: $0) }
    sortKey.append(contentsOf: (e.source ?? "").utf8)
    sortKey.append(0)
    withUnsafeBytes(of: UInt64(bitPattern: Int64(e.row ?? 0) ^ Int64.min).bigEndian) { sortKey.append(contentsOf: $0) }
    // Then where it was made: what the sort's stability gives a single build, written out so that
    // the merge of a partitioned build orders equal keys the same way.
    withUnsafeBytes(of: UInt64(e.unit).bigEndian) { sortKey.append(contentsOf: $0) }
    withUnsafeBytes(of: UInt32(e.sub).bigEndian) { sortKey.append(contentsOf: $0) }
    payload.removeAll(keepingCapacity: true)
    ShardExport.appendPart(&payload, e.task)
    ShardExport.appendPart(&payload, e.split)
    RecordCodec.encode(e, keyHash: keyHash, strings: strings, to: &payload)
    try sorter.add(key: sortKey, payload: payload)
  }
}
