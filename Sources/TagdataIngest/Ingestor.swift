#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TagdataBio
import TagdataCatalog
import TagdataIO
import TagdataSources

/// Options for ``Ingestor``.
public struct IngestOptions: Sendable {
  /// Records per transaction. Smaller batches lose less work to a crash; larger ones are faster.
  public var batchSize = 5000
  /// What to do with ambiguity codes in sequences.
  public var ambiguity = AmbiguityPolicy.keep
  public init() {}
}

/// The outcome for one input file.
public struct FileReport: Sendable, Codable, Equatable {
  public enum Status: String, Sendable, Codable {
    /// Read to the end.
    case complete
    /// Already ingested by an earlier run; nothing was read.
    case alreadyIngested = "already-ingested"
    /// Stopped by an input error (truncated or corrupt stream, unreadable file, unknown format).
    case failed
  }
  public var path: String
  public var status: Status
  public var format: String?
  public var compression: String?
  /// Records stored in this run (with provenance).
  public var records = 0
  /// Records quarantined in this run.
  public var quarantined = 0
  /// Proteins this run added to the catalog.
  public var newProteins = 0
  /// Records skipped because an earlier, interrupted run had stored them.
  public var resumedAfter = 0
  public var bytes: Int64 = 0
  public var seconds = 0.0
  public var error: String?
}

/// Progress of the file being ingested, for a progress line.
public struct IngestProgress: Sendable {
  public var path: String
  public var rawBytes: Int64
  public var totalBytes: Int64?
  public var records: Int
  public var quarantined: Int
  public var seconds: Double
}

/// Reads protein files into a catalog: detect the container and format, read records, check
/// declared lengths and CRC64s, canonicalize sequences, write proteins, entries, provenance and
/// quarantine rows in batches, and checkpoint after every batch so that an interrupted run
/// resumes where the last committed batch ended.
///
/// Running the same file again is a no-op (the file is recognised by path, size, mtime and the
/// hash of its first 64 KiB, and every write is idempotent besides).
public final class Ingestor {
  public let catalog: Catalog
  public let options: IngestOptions
  private let writer: ProteinWriter
  private let canonicalizer: ProteinCanonicalizer
  private let run: Int64
  /// Called about ten times a second while a file is read.
  public var onProgress: ((IngestProgress) -> Void)?

  public init(catalog: Catalog, options: IngestOptions = IngestOptions(), arguments: String = "") throws {
    self.catalog = catalog
    self.options = options
    writer = try ProteinWriter(catalog: catalog)
    canonicalizer = ProteinCanonicalizer(ambiguity: options.ambiguity)
    run = try catalog.beginRun(toolVersion: tagdataVersion, arguments: arguments, now: Clock.isoNow())
  }

  /// Marks the run finished.
  public func close() throws { try catalog.finishRun(run, now: Clock.isoNow()) }

  /// Ingests one file (`-` for standard input). Input errors end up in the report, not thrown;
  /// catalog (SQLite) errors are thrown.
  public func ingest(path: String) throws -> FileReport {
    let started = Clock.seconds()
    var report = FileReport(path: path, status: .complete)
    try ingest(path: path, into: &report)
    report.seconds = Clock.seconds() - started
    return report
  }

  private func ingest(path: String, into report: inout FileReport) throws {
    let absolute = path == "-" ? "-" : Clock.absolutePath(path)
    var source: Catalog.SourceState?
    do {
      let key = try sourceKey(path: path, absolute: absolute)
      if let existing = try catalog.findSource(key) {
        if existing.status == "complete" {
          report.status = .alreadyIngested
          return
        }
        source = existing
      }
      let opened = try openInput(path)
      report.compression = opened.compression.rawValue
      let hashing = HashingSource(opened.source)
      let head = try hashing.readPrefix(4096)
      guard let format = ProteinFormat.detect(head) else {
        throw InputError.unsupported(file: opened.source.name,
                                     message: "not a recognised protein format (expected a UniProt flat file, UniProt/UniRef XML or FASTA)")
      }
      report.format = format.rawValue
      let content = PrefixedSource(prefix: head, inner: hashing)
      let state = try source ?? catalog.db.transaction {
        try catalog.addSource(key, compression: opened.compression.rawValue, format: format.rawValue, run: run)
      }
      source = state
      let resume = state.recordsDone > 0
        ? ResumePoint(recordIndex: state.recordsDone, offset: format == .uniprotXML ? 0 : state.nextOffset, line: state.nextLine)
        : nil
      report.resumedAfter = state.recordsDone
      let reader = try makeProteinReader(format: format, source: content, resume: resume)
      try read(reader, source: state.id, file: opened.file, report: &report)
      report.bytes = hashing.bytesProduced
      try catalog.db.transaction {
        try catalog.finishSource(state.id, status: "complete", contentSHA256: hashing.hexDigest(), error: nil)
      }
    } catch let error as SQLiteError {
      throw error
    } catch {
      report.status = .failed
      report.error = "\(error)"
      if let source {
        try catalog.db.transaction {
          try catalog.finishSource(source.id, status: "failed", contentSHA256: nil, error: "\(error)")
        }
      }
    }
  }

  private func sourceKey(path: String, absolute: String) throws -> Catalog.SourceKey {
    let policy = options.ambiguity.rawValue
    if path == "-" {
      return Catalog.SourceKey(path: "-", size: nil, mtimeNanoseconds: nil, headSHA256: "stdin", policy: policy)
    }
    var st = stat()
    guard stat(path, &st) == 0 else { throw InputError.io(file: path, message: String(cString: strerror(errno))) }
    let file = try FileSource(path: path)
    let head = try file.readPrefix(1 << 16)
    let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    return Catalog.SourceKey(path: absolute, size: Int64(st.st_size), mtimeNanoseconds: mtime,
                             headSHA256: SequenceDigest.hex(SequenceDigest.sha256(head)), policy: policy)
  }

  /// Reads every record, writing in batches with a checkpoint per batch. On an input error the
  /// records handled so far are committed and the error is rethrown.
  private func read(_ reader: ProteinReader, source: Int64, file: FileSource, report: inout FileReport) throws {
    let db = catalog.db
    var inBatch = 0
    var lastProgress = Clock.seconds()
    let started = lastProgress
    let newBefore = writer.newProteins
    try db.execute("BEGIN IMMEDIATE")
    var open = true
    defer { if open { try? db.execute("ROLLBACK") } }
    do {
      while let event = try reader.next() {
        let loc = event.location
        if inBatch >= options.batchSize {
          try catalog.checkpoint(source: source, recordsDone: loc.index, nextOffset: loc.offset, nextLine: loc.line, run: run)
          try db.execute("COMMIT")
          try db.execute("BEGIN IMMEDIATE")
          inBatch = 0
        }
        inBatch += 1
        switch event {
        case let .record(r): try store(r, source: source, report: &report)
        case let .malformed(m):
          try writer.quarantine(source: source, recordNo: loc.index, line: m.line, offset: loc.offset, reason: m.reason,
                                excerpt: m.excerpt, run: run)
          report.quarantined += 1
        }
        if let onProgress, (report.records + report.quarantined) & 255 == 0 {
          let now = Clock.seconds()
          if now - lastProgress >= 0.1 {
            lastProgress = now
            onProgress(IngestProgress(path: report.path, rawBytes: file.bytesProduced, totalBytes: file.size,
                                      records: report.records, quarantined: report.quarantined, seconds: now - started))
          }
        }
      }
    } catch let error as SQLiteError {
      throw error
    } catch {
      // Keep what was read before the damage.
      report.newProteins = writer.newProteins - newBefore
      try db.execute("COMMIT")
      open = false
      throw error
    }
    report.newProteins = writer.newProteins - newBefore
    try db.execute("COMMIT")
    open = false
  }

  private func store(_ r: ProteinRecord, source: Int64, report: inout FileReport) throws {
    let loc = r.location
    func reject(_ reason: String) throws {
      let excerpt = [r.accession, r.entryName, r.label].compactMap { $0 }.first.map { "record \($0)" } ?? ""
      try writer.quarantine(source: source, recordNo: loc.index, line: loc.line, offset: loc.offset, reason: reason,
                            excerpt: excerpt, run: run)
      report.quarantined += 1
    }
    if let declared = r.declaredLength, declared != r.sequence.count {
      return try reject("sequence has \(r.sequence.count) residues but the entry declares \(declared)")
    }
    if let declared = r.declaredCRC64 {
      let crc = CRC64.checksum(r.sequence)
      if crc != declared {
        return try reject("CRC64 mismatch: sequence gives \(CRC64.hex(crc)), the entry declares \(CRC64.hex(declared))")
      }
    }
    let canonical: [UInt8]
    switch canonicalizer.canonicalize(r.sequence) {
    case let .success(s): canonical = s
    case let .failure(e): return try reject("sequence: \(e)")
    }
    let sha = SequenceDigest.sha256(canonical)
    let protein = try writer.protein(sha256: sha, crc64: CRC64.hex(CRC64.checksum(canonical)), sequence: canonical)
    var entryID: Int64?
    if let accession = r.accession {
      var e = EntryRow(accession: accession)
      e.secondaryAccessions = r.secondaryAccessions
      e.entryName = r.entryName
      e.reviewed = r.reviewed
      e.proteinName = r.proteinName
      e.names = r.names.map { ($0.kind, $0.value) }
      e.gene = r.gene
      e.organism = r.organism
      e.taxonID = r.taxonID
      e.lineage = r.lineage
      e.existence = r.existence
      e.keywords = r.keywords
      e.comments = r.comments
      e.sequenceVersion = r.sequenceVersion
      e.entryVersion = r.entryVersion
      e.fragment = r.fragment
      e.declaredMass = r.declaredMass
      entryID = try writer.entry(e, protein: protein)
    }
    try writer.record(source: source, recordNo: loc.index, line: loc.line, offset: loc.offset, protein: protein,
                      entry: entryID, label: r.label, run: run)
    report.records += 1
  }
}

/// Hashes the decompressed stream as it passes (the source's content identity).
final class HashingSource: ByteSource {
  private let inner: ByteSource
  private var digest = StreamDigest()
  private(set) var bytesProduced: Int64 = 0
  var name: String { inner.name }
  var rawBytesConsumed: Int64 { inner.rawBytesConsumed }

  init(_ inner: ByteSource) { self.inner = inner }

  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = try inner.read(into: buffer)
    if n > 0 { digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
    bytesProduced += Int64(n)
    return n
  }

  func hexDigest() -> String { SequenceDigest.hex(digest.finalize()) }
}

/// The version recorded in every run.
public let tagdataVersion = "0.1.0"

/// Time and path helpers (no Foundation needed).
enum Clock {
  static func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  static func isoNow() -> String {
    var t = time(nil)
    var tmv = tm()
    gmtime_r(&t, &tmv)
    var buf = [CChar](repeating: 0, count: 32)
    let n = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%SZ", &tmv)
    return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  static func absolutePath(_ path: String) -> String {
    if let p = realpath(path, nil) {
      defer { free(p) }
      return String(cString: p)
    }
    return path
  }
}
