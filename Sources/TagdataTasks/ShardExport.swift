#if canImport(Glibc)
import Glibc
#endif
import CZlib
import Foundation
import TagdataBio
import TagdataCatalog
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
/// records are sorted by task, then the key's hash, then the key, and written with a fixed key order, an example that repeats
/// within its task is written once. The same catalog and options give byte-identical files.
///
/// Examples are first spilled unsorted into one file per shard, then each shard is sorted and
/// written on its own: memory holds one shard, not the build. Everything is written into a
/// temporary directory beside `out`, which then replaces `out`. Shards are plain JSON Lines, or
/// gzip-compressed ones on request; the manifest's SHA-256 is of the file as written.
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
  public static func export(_ catalog: Catalog, plan: CompiledConfig, shards: Int, out: String, toolVersion: String,
                            gzip: Bool = false, progress: ((Int) -> Void)? = nil) throws -> Summary
  {
    let config = plan.config
    let fm = FileManager.default
    let outURL = URL(fileURLWithPath: out).standardizedFileURL
    let parent = outURL.deletingLastPathComponent().path
    let tmp = parent + "/." + outURL.lastPathComponent + ".tmp-\(getpid())"
    removeAbandoned(parent: parent, name: outURL.lastPathComponent)
    try? fm.removeItem(atPath: tmp)
    do {
      try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    } catch {
      throw ShardExportError(path: tmp, message: "cannot create the output directory: \(error.localizedDescription)")
    }
    var cleanup = true
    defer { if cleanup { try? fm.removeItem(atPath: tmp) } }

    // 0. Group splits see every example of a task first: its keys (molecules, scaffolds,
    // targets), then the split of each whole group. Memory grows with the examples here (their
    // keys), not with the catalog's rows.
    let keysOf = SplitKeyMaker()
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
    // What the leakage report reads: each written example's keys and split, per task.
    var reportKeys: [String: [SplitKeys]] = [:]
    var reportSplits: [String: [SplitName?]] = [:]
    let declared = Set(config.tags.map(\.name))
    var languages = Set<String>()

    // 1. Spill: one unsorted file per shard, each entry length-prefixed (sort key, then record).
    var spills: [UnsafeMutablePointer<FILE>?] = []
    for k in 0..<shards {
      let p = tmp + "/spill-\(k)"
      guard let f = fopen(p, "w+b") else { throw ShardExportError(path: p, message: String(cString: strerror(errno))) }
      spills.append(f)
    }
    defer { for case let f? in spills { fclose(f) } }
    var made = 0
    let reports = try StageBuilder.build(catalog, plan: plan, assigned: assigned) { e in
      for seg in e.segments where seg.kind == .tag {
        let name = String(seg.text.dropFirst().dropLast())
        if !declared.contains(name) { languages.insert(name) }
      }
      reportKeys[e.task, default: []].append(keysOf.keys(e))
      reportSplits[e.task, default: []].append(SplitName(rawValue: e.split))
      let k = shard(task: e.task, key: e.key, shards: shards)
      // Task, then the key's 64-bit hash (comparisons end within a few bytes: keys share long
      // prefixes), then the key itself, then the row.
      var sortKey = Array(e.task.utf8)
      sortKey.append(0)
      withUnsafeBytes(of: StableHash.hash([e.task, e.key]).bigEndian) { sortKey.append(contentsOf: $0) }
      sortKey.append(contentsOf: e.key.utf8)
      sortKey.append(0)
      sortKey.append(contentsOf: (e.source ?? "").utf8)
      sortKey.append(0)
      let row = String(e.row ?? 0)
      sortKey.append(contentsOf: (String(repeating: "0", count: max(0, 12 - row.count)) + row).utf8)
      let record = Array(recordJSON(e).utf8)
      try writeEntry(spills[k]!, [UInt8](e.task.utf8), [UInt8](e.key.utf8), sortKey, [UInt8](e.split.utf8), record,
                     path: tmp + "/spill-\(k)")
      made += 1
      if made % 4096 == 0 { progress?(made) }
    }
    progress?(made)

    // 2. Each shard: sort, drop repeats of (task, key), write, hash.
    var counts: [String: Counts] = [:]
    var shardCounts: [[String: Counts]] = []
    var duplicates: [String: Int] = [:]
    var shardRecords: [Int] = []
    var shardSHA: [String] = []
    for k in 0..<shards {
      guard let spill = spills[k], fflush(spill) == 0 else {
        throw ShardExportError(path: tmp + "/spill-\(k)", message: "cannot write: \(String(cString: strerror(errno)))")
      }
      rewind(spill)
      var entries: [[[UInt8]]] = []
      while let e = try readEntry(spill, path: tmp + "/spill-\(k)") { entries.append(e) }
      entries.sort { a, b in
        a[2].withUnsafeBufferPointer { x in
          b[2].withUnsafeBufferPointer { y in
            let c = memcmp(x.baseAddress!, y.baseAddress!, min(x.count, y.count))  // never empty: the task name
            return c != 0 ? c < 0 : x.count < y.count
          }
        }
      }
      var bytes: [UInt8] = []
      var perTask: [String: Counts] = [:]
      var n = 0
      var last: ([UInt8], [UInt8])?
      for e in entries {
        let task = String(decoding: e[0], as: UTF8.self)
        if let l = last, l.0 == e[0], l.1 == e[1] {
          duplicates[task, default: 0] += 1
          continue
        }
        last = (e[0], e[1])
        let split = String(decoding: e[3], as: UTF8.self)
        perTask[task, default: Counts()].add(split)
        counts[task, default: Counts()].add(split)
        bytes.append(contentsOf: e[4])
        bytes.append(UInt8(ascii: "\n"))
        n += 1
      }
      let path = tmp + "/" + shardName(k, of: shards, gzip: gzip)
      if gzip { bytes = try gzipped(bytes, path: path) }
      try write(bytes, to: path)
      shardRecords.append(n)
      shardSHA.append(SequenceDigest.hex(SequenceDigest.sha256(bytes)))
      shardCounts.append(perTask)
      fclose(spill)
      spills[k] = nil
      unlink(tmp + "/spill-\(k)")
    }

    // 3. The manifest.
    var tags = config.tags.map { TagLLM.Tag(name: $0.name, kind: $0.kind, stage: 0, tokens: config.tokens($0)) }
    for l in languages.sorted() { tags.append(TagLLM.Tag(name: l, kind: .domain, stage: 0, tokens: config.tokensPerTag)) }
    // A tag's stage: the first stage of a task that uses it.
    for r in reports {
      for k in tags.indices where tags[k].stage == 0 || tags[k].stage > r.stage {
        if r.template.contains(tags[k].text) || (tags[k].kind == .domain && languages.contains(tags[k].name)
                                                   && (r.template.contains("<SRC>") || r.template.contains("<TGT>")))
        {
          tags[k].stage = r.stage
        }
      }
    }
    let configJSON = config.json
    var m = "{\n"
    m += "  \"format\": \"tagdata-tasks/1\",\n"
    m += "  \"preset\": \(config.preset.map { JSONString.quoted($0) } ?? "null"),\n"
    m += "  \"tool_version\": \(JSONString.quoted(toolVersion)),\n"
    m += "  \"config\": \(configJSON),\n"
    m += "  \"config_sha256\": \"\(SequenceDigest.hex(SequenceDigest.sha256(Array(configJSON.utf8))))\",\n"
    m += "  \"catalog_sha256\": \"\(try catalogDigest(catalog))\",\n"
    m += "  \"tokens_per_tag\": \(config.tokensPerTag),\n"
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
      let per = reports.compactMap { r in shardCounts[k][r.task].map { "\(JSONString.quoted(r.task)):\($0.json)" } }
      return "    {\"file\":\"\(shardName(k, of: shards, gzip: gzip))\",\"records\":\(shardRecords[k]),\"sha256\":\"\(shardSHA[k])\","
        + "\"tasks\":{\(per.joined(separator: ","))}}"
    }.joined(separator: ",\n")
    m += "\n  ],\n  \"total\": \(shardRecords.reduce(0, +))\n}\n"
    try write(Array(m.utf8), to: tmp + "/manifest.json")

    // The leakage report: per task, what the splits share (molecules, scaffolds, targets,
    // near-identical sequences), as JSON and as a short Markdown summary.
    var leakJSON = "{\n  \"split\": \"\(config.split.method.rawValue)\",\n  \"tasks\": {"
    var leakMD = "# Leakage report (\(config.split.method.rawValue) split)\n"
    var firstTask = true
    for task in reports.map(\.task) {
      guard let keys = reportKeys[task], let splits = reportSplits[task] else { continue }
      let report = leakageReport(keys, splits)
      let json = String(decoding: try report.jsonData(), as: UTF8.self)
      leakJSON += (firstTask ? "\n" : ",\n") + "  \(JSONString.quoted(task)): " + json
      firstTask = false
      leakMD += "\n" + report.markdown(heading: "## \(task)")
    }
    leakJSON += "\n  }\n}\n"
    try write(Array(leakJSON.utf8), to: tmp + "/leakage.json")
    try write(Array(leakMD.utf8), to: tmp + "/leakage.md")

    // 4. Replace `out` with the new directory.
    let old = parent + "/." + outURL.lastPathComponent + ".old-\(getpid())"
    var moved = false
    if fm.fileExists(atPath: outURL.path) {
      if rename(outURL.path, old) != 0 {
        throw ShardExportError(path: outURL.path, message: "cannot replace: \(String(cString: strerror(errno)))")
      }
      moved = true
    }
    if rename(tmp, outURL.path) != 0 {
      let err = String(cString: strerror(errno))
      if moved { _ = rename(old, outURL.path) }
      throw ShardExportError(path: outURL.path, message: "cannot move the build into place: \(err)")
    }
    cleanup = false
    if moved { try? fm.removeItem(atPath: old) }
    return Summary(reports: reports, counts: counts, duplicates: duplicates, tags: tags, shardRecords: shardRecords,
                   shardSHA256: shardSHA, manifest: m)
  }

  /// Removes the temporary directories of builds of `name` that were killed (their process is gone).
  static func removeAbandoned(parent: String, name: String) {
    guard let items = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
    for item in items {
      for marker in [".tmp-", ".old-"] where item.hasPrefix("." + name + marker) {
        guard let pid = Int32(item.dropFirst(name.count + 1 + marker.count)), pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: parent + "/" + item) }
      }
    }
  }

  /// SHA-256 of the catalog's content (its dump without provenance), streamed.
  public static func catalogDigest(_ catalog: Catalog) throws -> String {
    var d = StreamDigest()
    try catalog.dump(provenance: false) { line in d.update(UnsafeRawBufferPointer(line)) }
    return SequenceDigest.hex(d.finalize())
  }

  /// One exported record as JSON, keys in a fixed order (Schemas/task-record.schema.json).
  public static func recordJSON(_ e: TaskExample) -> String {
    var s = "{\"task\":\(JSONString.quoted(e.task)),\"stage\":\(e.stage),\"split\":\"\(e.split)\""
    s += ",\"regression\":\(e.regression)"
    s += ",\"formulation\":" + JSONString.quoted(e.formulation)
    s += ",\"segments\":[" + e.segments.map { "{\"kind\":\"\($0.kind.rawValue)\",\"text\":\(JSONString.quoted($0.text))}" }
      .joined(separator: ",") + "]"
    s += ",\"inputs\":[" + e.inputs.map(JSONString.quoted).joined(separator: ",") + "]"
    s += ",\"output\":" + (e.output.map(JSONString.quoted) ?? "null")
    s += ",\"target\":" + (e.target.map { jsonNumber($0) } ?? "null")
    s += ",\"key\":\"" + hex16(StableHash.hash([e.task, e.key])) + "\""
    s += ",\"ids\":{\"molecules\":[" + e.molecules.map(JSONString.quoted).joined(separator: ",") + "]"
    s += ",\"proteins\":[" + e.proteins.map(JSONString.quoted).joined(separator: ",") + "]"
    s += ",\"source\":" + (e.source.map(JSONString.quoted) ?? "null")
    s += ",\"row\":" + (e.row.map { String($0) } ?? "null")
    s += ",\"year\":" + (e.year.map { String($0) } ?? "null") + "}}"
    return s
  }

  static func hex16(_ x: UInt64) -> String {
    let h = String(x, radix: 16)
    return String(repeating: "0", count: 16 - h.count) + h
  }

  /// A finite double as a JSON number that reads back to the same value (Python's repr).
  static func jsonNumber(_ x: Double) -> String { TagLLM.pythonRepr(x) ?? "null" }

  static func writeEntry(_ f: UnsafeMutablePointer<FILE>, _ parts: [UInt8]..., path: String) throws {
    for p in parts {
      var n = UInt32(p.count).littleEndian
      let ok = withUnsafeBytes(of: &n) { fwrite($0.baseAddress, 1, 4, f) == 4 } && (p.isEmpty || p.withUnsafeBytes {
        fwrite($0.baseAddress, 1, p.count, f) == p.count
      })
      if !ok { throw ShardExportError(path: path, message: "cannot write: \(String(cString: strerror(errno)))") }
    }
  }

  static func readEntry(_ f: UnsafeMutablePointer<FILE>, path: String) throws -> [[UInt8]]? {
    var parts: [[UInt8]] = []
    for k in 0..<5 {
      var n: UInt32 = 0
      let got = withUnsafeMutableBytes(of: &n) { fread($0.baseAddress, 1, 4, f) }
      if got == 0 && k == 0 { return nil }
      if got != 4 { throw ShardExportError(path: path, message: "spill file truncated") }
      var p = [UInt8](repeating: 0, count: Int(UInt32(littleEndian: n)))
      if !p.isEmpty {
        let r = p.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if r != p.count { throw ShardExportError(path: path, message: "spill file truncated") }
      }
      parts.append(p)
    }
    return parts
  }

  /// `bytes` as one gzip member.
  static func gzipped(_ bytes: [UInt8], path: String) throws -> [UInt8] {
    var stream = z_stream()
    guard tagdata_deflateInit2(&stream, 6, 15 + 16) == Z_OK else {
      throw ShardExportError(path: path, message: "zlib could not start compressing")
    }
    defer { deflateEnd(&stream) }
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
    var input = bytes
    let status = input.withUnsafeMutableBufferPointer { inp in
      out.withUnsafeMutableBufferPointer { o in
        stream.next_in = inp.baseAddress
        stream.avail_in = UInt32(inp.count)
        stream.next_out = o.baseAddress
        stream.avail_out = UInt32(o.count)
        return deflate(&stream, Z_FINISH)
      }
    }
    guard status == Z_STREAM_END else { throw ShardExportError(path: path, message: "zlib could not compress (\(status))") }
    out.removeLast(out.count - Int(stream.total_out))
    return out
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

/// The keys of an example that splits and the leakage report look at: its molecules and their
/// Bemis-Murcko scaffolds, its proteins (keys and sequences). Scaffolds are computed once per
/// molecule while it is asked for (a bounded cache).
final class SplitKeyMaker {
  private let labeler = MoleculeLabeler(DescriptorRegistry.named("scaffold", kind: .molecule).map { [$0] } ?? [])
  private let scaffolds = SharedCache<String, String>(capacity: 1 << 16)

  func scaffold(_ smiles: String) -> String {
    if let s = scaffolds.value(for: smiles) { return s }
    var s = ""
    if case let .text(t)? = labeler.label(smiles: Array(smiles.utf8)).first { s = t }
    scaffolds.insert(s, for: smiles)
    return s
  }

  func keys(_ e: TaskExample) -> SplitKeys {
    SplitKeys(exampleKey: e.key, molecules: e.molecules, scaffolds: e.molecules.map(scaffold), targets: e.proteins,
              sequences: e.sequences, year: e.year)
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
