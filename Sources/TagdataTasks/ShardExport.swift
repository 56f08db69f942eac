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
                            gzip: Bool = false, memoryBudget: Int = 64 << 20, progress: ((Int) -> Void)? = nil) throws
    -> Summary
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
    // 1. The builder streams examples on this thread; a second thread takes them in batches, adds
    // each to the leakage report (task by task) and to one bounded-memory external sort, keyed by
    // its shard, task, identity (two hashes of the key), year, source and row.
    let sink = ExportSink(directory: tmp, memoryBudget: memoryBudget, shards: shards,
                          declared: Set(config.tags.map(\.name)), keysOf: keysOf)
    let queue = BlockingQueue<[TaskExample]>(capacity: 8)
    let worker = JoinableThread {
      while let batch = queue.pop() { sink.consume(batch) }
    }
    var made = 0
    var batch: [TaskExample] = []
    batch.reserveCapacity(256)
    let reports: [TaskReport]
    do {
      defer {
        queue.close()
        worker.join()
      }
      reports = try StageBuilder.build(catalog, plan: plan, assigned: assigned) { e in
        batch.append(e)
        if batch.count == 256 {
          if !queue.push(batch) { try sink.rethrow() }
          batch.removeAll(keepingCapacity: true)
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
    try sink.finishLeakage()
    progress?(made)
    let sorter = sink.sorter, leakage = sink.leakage, languages = sink.languages
    // Each language met in the data becomes a tag with its virtual tokens: a field of identifiers
    // taken for languages would add one per row.
    if languages.count > maxDataLanguages {
      throw TaskConfigError(file: nil, problems: [.init(keyPath: "tasks", message:
        "the data name \(languages.count) languages that are not declared tags (at most \(maxDataLanguages)): "
          + "is source_language or target_language the right field? (\(languages.sorted().prefix(5).joined(separator: ", ")), ...)")])
    }

    // 2. Write the shards in order as the sorted records come, dropping repeats of (task, key).
    var counts: [String: Counts] = [:]
    var shardCounts: [[String: Counts]] = []
    var duplicates: [String: Int] = [:]
    var shardRecords: [Int] = []
    var shardSHA: [String] = []
    var writer: ShardWriter?
    var perTask: [String: Counts] = [:]
    var last: [UInt8] = []
    func close() throws {
      guard let w = writer else { return }
      shardSHA.append(try w.finish())
      shardRecords.append(w.records)
      shardCounts.append(perTask)
      perTask = [:]
      writer = nil
    }
    func open(_ k: Int) throws {
      writer = try ShardWriter(path: tmp + "/" + shardName(k, of: shards, gzip: gzip), gzip: gzip)
    }
    try sorter.finish { key, value in
      let k = Int(key.loadUnaligned(fromByteOffset: 0, as: UInt32.self).bigEndian)
      while shardRecords.count + (writer == nil ? 0 : 1) <= k {
        try close()
        try open(shardRecords.count)
      }
      var at = 0
      let task = readPart(value, &at), split = readPart(value, &at)
      let identity = Array(UnsafeRawBufferPointer(rebasing: key[0..<(4 + task.count + 1 + 16)]))
      if identity == last {
        duplicates[String(decoding: task, as: UTF8.self), default: 0] += 1
        return true
      }
      last = identity
      let name = String(decoding: task, as: UTF8.self), splitName = String(decoding: split, as: UTF8.self)
      perTask[name, default: Counts()].add(splitName)
      counts[name, default: Counts()].add(splitName)
      try writer!.write(UnsafeRawBufferPointer(rebasing: value[at...]))
      return true
    }
    while shardRecords.count + (writer == nil ? 0 : 1) < shards {
      try close()
      try open(shardRecords.count)
    }
    try close()

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
      guard let report = leakage[task] else { continue }
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
    var out: [UInt8] = []
    appendRecordJSON(e, keyHash: StableHash.hash([e.task, e.key]), to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// Appends the record of `e` (``recordJSON(_:)``) to `out`; `keyHash` is `StableHash.hash([task, key])`.
  static func appendRecordJSON(_ e: TaskExample, keyHash: UInt64, to out: inout [UInt8]) {
    func raw(_ s: StaticString) { s.withUTF8Buffer { out.append(contentsOf: $0) } }
    func str(_ s: String) { JSONString.append(s, to: &out) }
    func text(_ s: String) { out.append(contentsOf: s.utf8) }
    raw("{\"task\":")
    str(e.task)
    raw(",\"stage\":")
    text(String(e.stage))
    raw(",\"split\":")
    str(e.split)
    e.regression ? raw(",\"regression\":true") : raw(",\"regression\":false")
    raw(",\"formulation\":\"")
    for seg in e.segments { JSONString.appendEscaped(seg.text, to: &out) }
    raw("\"")
    raw(",\"segments\":[")
    for (k, seg) in e.segments.enumerated() {
      if k > 0 { raw(",") }
      raw("{\"kind\":\"")
      text(seg.kind.rawValue)
      raw("\",\"text\":")
      str(seg.text)
      raw("}")
    }
    raw("],\"inputs\":[")
    for (k, x) in e.inputs.enumerated() {
      if k > 0 { raw(",") }
      str(x)
    }
    raw("],\"output\":")
    if let o = e.output { str(o) } else { raw("null") }
    raw(",\"target\":")
    if let t = e.target { text(jsonNumber(t)) } else { raw("null") }
    raw(",\"key\":\"")
    text(hex16(keyHash))
    raw("\",\"ids\":{\"molecules\":[")
    for (k, x) in e.molecules.enumerated() {
      if k > 0 { raw(",") }
      str(x)
    }
    raw("],\"proteins\":[")
    for (k, x) in e.proteins.enumerated() {
      if k > 0 { raw(",") }
      str(x)
    }
    raw("],\"source\":")
    if let s = e.source { str(s) } else { raw("null") }
    raw(",\"row\":")
    if let r = e.row { text(String(r)) } else { raw("null") }
    raw(",\"year\":")
    if let y = e.year { text(String(y)) } else { raw("null") }
    raw("}}\n")
    out.removeLast()
  }

  static func hex16(_ x: UInt64) -> String {
    let h = String(x, radix: 16)
    return String(repeating: "0", count: 16 - h.count) + h
  }

  /// A finite double as a JSON number that reads back to the same value (Python's repr).
  static func jsonNumber(_ x: Double) -> String { TagLLM.pythonRepr(x) ?? "null" }

  /// Languages the data may add to the declared tags.
  public static let maxDataLanguages = 256

  /// The seed of the second hash of an example's identity.
  static let identitySeed: UInt64 = 0x9E37_79B9_7F4A_7C15

  static func appendPart(_ out: inout [UInt8], _ part: [UInt8]) {
    withUnsafeBytes(of: UInt32(part.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: part)
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

/// The keys of an example that splits and the leakage report look at: its molecules and their
/// Bemis-Murcko scaffolds, its proteins (keys and sequences). Scaffolds are computed once per
/// molecule while it is asked for (a bounded cache).
final class SplitKeyMaker {
  /// Per molecule: its parent and its scaffold, computed from one parse (a bounded cache).
  private let known = SharedCache<String, (parent: String, scaffold: String)>(capacity: 1 << 16)

  func scaffold(_ smiles: String) -> String { entry(smiles).scaffold }

  /// The molecule a split groups by (its parent): the canonical SMILES, without stereo or
  /// isotopes, of its largest component (most heavy atoms; ties: the longer, then the smaller
  /// SMILES) after neutralising it (an O, S or N anion not next to a cation takes an H back, an
  /// N cation with an H gives it up). A salt form, a charged form, a stereoisomer and the
  /// molecule itself thus share a group and count as one molecule in the leakage report.
  func parent(_ smiles: String) -> String { entry(smiles).parent }

  func entry(_ smiles: String) -> (parent: String, scaffold: String) {
    if let e = known.value(for: smiles) { return e }
    var e = (parent: smiles, scaffold: "")
    if var mol = try? Smiles.read(smiles) {
      // The scaffold without stereo or isotopes (as chemprop's scaffold split, includeChirality
      // false): the stereoisomers of a molecule share a scaffold group.
      let scaffold = Scaffold.murckoSmiles(mol)
      e.scaffold = scaffold
      if scaffold.utf8.contains(where: { $0 == 0x40 || $0 == 0x2F || $0 == 0x5C || $0 == 0x5B }),
        let flat = try? Smiles.canonical(scaffold, isomeric: false)
      {
        e.scaffold = flat
      }
      // A canonical SMILES with no bracket atom, component, stereo or isotope is its own parent.
      if smiles.utf8.contains(where: { $0 == 0x5B || $0 == 0x2E || $0 == 0x40 || $0 == 0x2F || $0 == 0x5C }) {
        e.parent = Self.parent(of: &mol)
      }
    }
    known.insert(e, for: smiles)
    return e
  }

  static func parent(of mol: inout Molecule) -> String {
    for i in mol.atoms.indices where mol.atoms[i].charge != 0 {
      let a = mol.atoms[i]
      let near = mol.neighbors(i).map { mol.atoms[$0].charge }
      if a.charge == -1 && [7, 8, 16].contains(a.element) && !near.contains(where: { $0 > 0 }) {
        mol.atoms[i].charge = 0
        mol.atoms[i].hydrogens += 1
      } else if a.charge == 1 && a.element == 7 && a.hydrogens > 0 && !near.contains(where: { $0 < 0 }) {
        mol.atoms[i].charge = 0
        mol.atoms[i].hydrogens -= 1
      }
    }
    let written = SmilesWriter(isomeric: false).write(mol)
    let flat = (try? Smiles.canonical(written, isomeric: false)) ?? written
    let parts = flat.split(separator: ".")
    guard parts.count > 1 else { return flat }
    var best: (heavy: Int, text: Substring)?
    for part in parts {
      guard let m = try? Smiles.read(String(part)) else { continue }
      let heavy = m.atoms.reduce(0) { $0 + ($1.element != 1 ? 1 : 0) }
      if let b = best,
        (b.heavy, b.text.count) > (heavy, part.count) || ((b.heavy, b.text.count) == (heavy, part.count) && b.text <= part)
      {
        continue
      }
      best = (heavy, part)
    }
    return best.map { String($0.text) } ?? flat
  }

  /// The split keys of `e`; its example key is the hex of `StableHash.hash([task, groupKey])`,
  /// the record's `key` for all but regressions (the leakage report and the group splits' maps
  /// hold 16 characters, not the whole filled template). `keyHash`: that hash when known.
  func keys(_ e: TaskExample, keyHash: UInt64? = nil) -> SplitKeys {
    SplitKeys(exampleKey: ShardExport.hex16(keyHash ?? StableHash.hash([e.task, e.groupKey])), molecules: e.molecules.map(parent), scaffolds: e.molecules.map(scaffold), targets: e.proteins,
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

/// Writes one shard as it comes: plain or gzip-compressed (zlib level 6, no file name, a zero
/// time: the same bytes on every run with the same zlib), hashing what it writes.
final class ShardWriter {
  let path: String
  private let file: UnsafeMutablePointer<FILE>
  /// zlib's state points back at its stream: it must not move.
  private var stream: UnsafeMutablePointer<z_stream>?
  private var digest = StreamDigest()
  private var out = [UInt8](repeating: 0, count: 1 << 16)
  private(set) var records = 0
  private var closed = false

  init(path: String, gzip: Bool) throws {
    self.path = path
    guard let f = fopen(path, "wb") else { throw ShardExportError(path: path, message: String(cString: strerror(errno))) }
    setvbuf(f, nil, _IOFBF, 1 << 20)
    file = f
    if gzip {
      let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
      z.initialize(to: z_stream())
      guard tagdata_deflateInit2(z, 6, 15 + 16) == Z_OK else {
        z.deallocate()
        fclose(f)
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
    if !closed { fclose(file) }
  }

  private func emit(_ bytes: UnsafeRawBufferPointer) throws {
    guard !bytes.isEmpty else { return }
    digest.update(bytes)
    if fwrite(bytes.baseAddress, 1, bytes.count, file) != bytes.count {
      throw ShardExportError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
    }
  }

  private func compress(_ input: UnsafeRawBufferPointer, finish: Bool) throws {
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

  /// One record (its line, newline included).
  func write(_ record: UnsafeRawBufferPointer) throws {
    records += 1
    if stream != nil { try compress(record, finish: false) } else { try emit(record) }
  }

  /// Flushes and syncs the file; the SHA-256 of its bytes.
  func finish() throws -> String {
    if stream != nil { try compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true) }
    let ok = fflush(file) == 0 && fsync(fileno(file)) == 0
    closed = true
    fclose(file)
    if !ok { throw ShardExportError(path: path, message: "cannot write: \(String(cString: strerror(errno)))") }
    return SequenceDigest.hex(digest.finalize())
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
  var leakage: [String: LeakageReport] = [:]
  var accumulator: (task: String, LeakageAccumulator)?
  var languages = Set<String>()
  private var sortKey: [UInt8] = []
  private var payload: [UInt8] = []
  private let lock = NSLock()
  private var failure: Error?

  init(directory: String, memoryBudget: Int, shards: Int, declared: Set<String>, keysOf: SplitKeyMaker) {
    self.directory = directory
    self.memoryBudget = memoryBudget
    self.shards = shards
    self.declared = declared
    self.keysOf = keysOf
    // Up to 256 runs merged at once: a build of several GB is merged in one pass.
    sorter = ExternalSorter(directory: directory, memoryBudget: memoryBudget / 2, maxFanIn: 256)
  }

  /// Throws the consumer's first error, if any.
  func rethrow() throws {
    lock.lock()
    let e = failure
    lock.unlock()
    if let e { throw e }
  }

  func consume(_ batch: [TaskExample]) {
    lock.lock()
    let failed = failure != nil
    lock.unlock()
    if failed { return }
    do {
      for e in batch { try add(e) }
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

  private func add(_ e: TaskExample) throws {
    for seg in e.segments where seg.kind == .tag {
      let name = String(seg.text.dropFirst().dropLast())
      if !declared.contains(name) { languages.insert(name) }
    }
    if accumulator?.task != e.task {
      try finishLeakage()
      accumulator = (e.task, LeakageAccumulator(directory: directory, memoryBudget: memoryBudget / 2))
    }
    let (keyHash, identity) = StableHash.hash2([e.task, e.key], seeds: (0, ShardExport.identitySeed))
    try accumulator!.1.add(keysOf.keys(e, keyHash: e.splitKey == nil ? keyHash : nil), SplitName(rawValue: e.split))
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
    payload.removeAll(keepingCapacity: true)
    ShardExport.appendPart(&payload, Array(e.task.utf8))
    ShardExport.appendPart(&payload, Array(e.split.utf8))
    ShardExport.appendRecordJSON(e, keyHash: keyHash, to: &payload)
    payload.append(UInt8(ascii: "\n"))
    try sorter.add(key: sortKey, payload: payload)
  }
}
