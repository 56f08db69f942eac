#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TagdataBio
import TagdataCatalog
import TagdataChem
import TagdataIO
import TagdataSources

/// Options for ``Ingestor``.
public struct IngestOptions: Sendable {
  /// Records per transaction. Smaller batches lose less work to a crash; larger ones are faster.
  public var batchSize = 5000
  /// What to do with ambiguity codes in sequences.
  public var ambiguity = AmbiguityPolicy.keep
  /// Threads that read molecule structures and canonicalize them (records are still stored in
  /// file order). Defaults to the number of processors.
  public var workers = Ingestor.processors
  /// Records larger than this (bytes of record text) are quarantined with the reason, and their
  /// bytes skipped without being held in memory.
  public var maxRecordBytes = 256 << 20
  /// Molecules with more atoms than this are quarantined with the reason.
  public var maxAtoms = 1_000_000
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
  /// Molecules (distinct canonical isomeric SMILES) this run added to the catalog.
  public var newMolecules = 0
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

/// Reads protein, molecule and binding-measurement files into a catalog: detect the container and format, read
/// records, check them (declared lengths and CRC64s of proteins; connection tables and SMILES of
/// molecules), canonicalize, write rows, provenance and quarantine in batches, and checkpoint
/// after every batch so that an interrupted run resumes where the last committed batch ended.
///
/// Running the same file again is a no-op (the file is recognised by path, size, mtime and the
/// hash of its first 64 KiB, and every write is idempotent besides).
public final class Ingestor {
  public let catalog: Catalog
  public let options: IngestOptions
  private let writer: ProteinWriter
  private let moleculeWriter: MoleculeWriter
  private let bindingWriter: BindingWriter
  private let tableWriter: TableWriter
  private let quarantine: QuarantineWriter
  private let canonicalizer: ProteinCanonicalizer
  private let run: Int64
  /// Called about ten times a second while a file is read.
  public var onProgress: ((IngestProgress) -> Void)?

  public init(catalog: Catalog, options: IngestOptions = IngestOptions(), arguments: String = "") throws {
    self.catalog = catalog
    self.options = options
    if try catalog.labelPartition() != nil {
      throw IngestError.catalog(file: catalog.db.path, record: nil, underlying: LabelsPartIsNotACatalog(path: catalog.db.path))
    }
    writer = try ProteinWriter(catalog: catalog)
    moleculeWriter = try MoleculeWriter(catalog: catalog)
    bindingWriter = try BindingWriter(catalog: catalog)
    tableWriter = try TableWriter(catalog: catalog)
    quarantine = try QuarantineWriter(catalog: catalog)
    canonicalizer = ProteinCanonicalizer(ambiguity: options.ambiguity)
    // Batch buffers, SQLite's page cache and decompression buffers come and go by the megabyte.
    Allocator.keepFreedMemory()
    run = try catalog.beginRun(toolVersion: tagdataVersion, arguments: arguments, now: Clock.isoNow())
  }

  /// Processors available to this process.
  public static var processors: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

  /// Marks the run finished.
  public func close() throws { try catalog.finishRun(run, now: Clock.isoNow()) }

  /// Ingests one file (`-` for standard input). Input errors end up in the report, not thrown;
  /// catalog (SQLite) errors are thrown.
  public func ingest(path: String) throws -> FileReport {
    let started = Clock.seconds()
    var report = FileReport(path: path, status: .complete)
    try ingest(path: path, table: nil, into: &report)
    report.seconds = Clock.seconds() - started
    return report
  }

  /// Ingests one CSV/TSV table (`-` for standard input) read with `mapping`: its SMILES and
  /// sequence columns become the catalog's molecules and proteins, the other mapped cells are
  /// kept with each row. The same file read with another mapping is another source.
  public func ingestTable(path: String, mapping: TableMapping) throws -> FileReport {
    let started = Clock.seconds()
    var report = FileReport(path: path, status: .complete)
    try ingest(path: path, table: mapping, into: &report)
    report.seconds = Clock.seconds() - started
    return report
  }

  /// Ingests one work unit of partition `partition` (see ``PartitionPlan``): a whole file, or a
  /// byte range of one, whose records keep the file's byte offsets and are numbered from the
  /// range's start. The unit, its counts and the partition are recorded in `partition_ranges`.
  public func ingest(unit: WorkUnit, partition: PartitionSpec, table: TableMapping? = nil) throws -> FileReport {
    let started = Clock.seconds()
    var report = FileReport(path: unit.description, status: .complete)
    try ingest(path: unit.path, table: table, range: unit.range, members: unit.members, partition: partition, into: &report)
    report.seconds = Clock.seconds() - started
    return report
  }

  private func ingest(path: String, table: TableMapping?, range: Range<Int64>? = nil, members: MemberSpan? = nil,
                      partition: PartitionSpec? = nil, into report: inout FileReport) throws
  {
    var source: Catalog.SourceState?
    // What a failed unit of a partition records (see the end).
    var failedUnit: (policy: String, lines: () -> Int64)?
    do {
      // The input is opened and read once: its first 64 KiB identify it and are then parsed
      // from memory, so pipes and FIFOs lose nothing.
      let opened = try openInput(path, headBytes: Self.identityBytes)
      let fileKey = sourceKey(path: path, opened: opened, table: table)
      var key = fileKey
      if let range {
        guard opened.compression == (members == nil ? .none : .gzip), table == nil else {
          throw InputError.unsupported(
            file: path, message: members == nil ? "only an uncompressed file of records can be read by byte range"
              : "only a gzip file of records can be read by spans of members")
        }
        key.policy += " range \(range.lowerBound)-\(range.upperBound)"
      }
      if let existing = try catalog.findSource(key) {
        if existing.status == "complete" {
          // A regular file with the same path, size, time and first bytes is the same file. A
          // stream is known only by reading it to the end: the same content is nothing to do.
          if key.size == nil {
            try checkSameContent(opened, as: existing)
          }
          report.status = .alreadyIngested
          return
        }
        source = existing
      }
      report.compression = opened.compression.rawValue
      // Decompression and content hashing run on their own thread, a chunk ahead of parsing.
      let digest = DigestBox()
      // A byte range or span of members is recognised by the file's first (decompressed) bytes,
      // and read from its start.
      let head = try range == nil ? nil : opened.source.readPrefix(InputFormat.detectionBytes)
      let headFormat = try head.map { try InputFormat.detect($0, file: opened.source.name) }
      if range != nil, headFormat?.recordBoundary == nil {
        throw InputError.unsupported(file: path, message: "\(headFormat?.rawValue ?? "table") files cannot be read by byte range")
      }
      var format = headFormat
      var wholeHead: [UInt8]?
      var whole: PrefetchSource?
      if range == nil {
        let prefetch = PrefetchSource(opened.source) { digest.update($0) }
        // A table is read as its mapping says; anything else is recognised by its content.
        wholeHead = try prefetch.readPrefix(InputFormat.detectionBytes)
        if table == nil { format = try InputFormat.detect(wholeHead!, file: opened.source.name) }
        whole = prefetch
      }
      let formatName = format?.rawValue ?? "table"
      report.format = formatName
      // Looked up again under the write lock: another ingest of the same input may have added it
      // since (then both write the same idempotent rows).
      let state = try source ?? catalog.transaction {
        try catalog.findSource(key)
          ?? catalog.addSource(key, compression: opened.compression.rawValue, format: formatName, run: run)
      }
      source = state
      var rangeSource: RangeSource?
      var spanSource: MemberSpanSource?
      let lineFeeds: () -> Int64 = { rangeSource?.lineFeeds ?? spanSource?.lineFeeds ?? 0 }
      if partition != nil { failedUnit = (fileKey.policy, lineFeeds) }
      if let range, let headFormat {
        if let members {
          // The members from the span's first to the end of the file: the span's last record
          // may go on into the members after it.
          let compressed = try RangeSource(path: path, start: range.lowerBound, end: .max)
          spanSource = try MemberSpanSource(decompressed: GzipSource(compressed), span: members.decompressedStart,
                                            end: members.decompressedEnd, format: headFormat)
        } else {
          rangeSource = try RangeSource(path: path, start: range.lowerBound, end: range.upperBound)
        }
      }
      let prefetch = whole ?? PrefetchSource(rangeSource ?? spanSource ?? opened.source) { digest.update($0) }
      let content: ByteSource = wholeHead.map { PrefixedSource(prefix: $0, inner: prefetch) } ?? prefetch
      // Where to go on: the first record not yet stored (its index, line and byte offset).
      let resume = state.recordsDone > 0
        ? RecordLocation(index: state.recordsDone, line: state.nextLine,
                         offset: format?.resumesByOffset == true ? state.nextOffset : 0)
        : nil
      report.resumedAfter = state.recordsDone
      let pump = Pump(catalog: catalog, run: run, batchSize: options.batchSize, onProgress: onProgress)
      let totalBytes = range.map { $0.upperBound - $0.lowerBound } ?? opened.file.size
      // Where the unit's records start: a byte range's start, or a span's first record boundary.
      let unitStart = spanSource?.start ?? range?.lowerBound ?? 0
      let file = opened.source.name
      let readerLimits = ReaderLimits(maxRecordBytes: options.maxRecordBytes)
      guard let format else {
        let reader = try TableReader(source: content, mapping: table!, limits: readerLimits)
        let limits = MoleculeLimits(maxAtoms: options.maxAtoms, maxBytes: options.maxRecordBytes)
        let pipeline = TablePipeline(reader: reader, firstRecordIndex: resume?.index ?? 0, workers: options.workers,
                                     limits: limits, canonicalizer: canonicalizer, molecules: moleculeWriter, proteins: writer,
                                     tables: tableWriter, quarantine: quarantine)
        defer { pipeline.close() }
        try pump.run(pipeline, source: state.id, file: file, prefetch: prefetch, totalBytes: totalBytes, report: &report)
        try finish(state: state, prefetch: prefetch, digest: digest, opened: opened, report: &report)
        if let partition {
          try catalog.transaction {
            try catalog.recordPartitionRange(
              source: state.id, partition: partition.index, partitions: partition.count, filePolicy: fileKey.policy,
              start: 0, end: nil, records: report.resumedAfter + report.records + report.quarantined, lines: 0, run: run)
          }
        }
        return
      }
      let made: InputFormat.Reader
      if range != nil {
        // An interrupted range or span goes on at its checkpoint: the bytes before it are read again
        // (and hashed, and their lines counted), not parsed.
        if let resume, resume.offset > unitStart {
          let ahead = resume.offset - unitStart
          guard try content.skip(ahead) == ahead else {
            throw InputError.io(file: path, message: "file is shorter than when it was last read; cannot resume")
          }
        }
        made = try format.reader(positionedSource: content,
                                 at: resume ?? RecordLocation(index: 0, line: 1, offset: unitStart),
                                 headerSource: { try openInput(path).source }, limits: readerLimits)
      } else {
        made = format.reader(source: content, resume: resume, limits: readerLimits)
      }
      switch made {
      case let .proteins(reader):
        let pipeline = ProteinPipeline(reader: try reader(), writer: writer, quarantine: quarantine, canonicalizer: canonicalizer,
                                       maxValueBytes: catalog.maxValueBytes)
        try pump.run(pipeline, source: state.id, file: file, prefetch: prefetch, totalBytes: totalBytes, report: &report)
      case let .molecules(reader):
        let limits = MoleculeLimits(maxAtoms: options.maxAtoms, maxBytes: options.maxRecordBytes)
        let pipeline = MoleculePipeline(reader: try reader(), workers: options.workers, limits: limits,
                                        writer: moleculeWriter, quarantine: quarantine)
        defer { pipeline.close() }
        try pump.run(pipeline, source: state.id, file: file, prefetch: prefetch, totalBytes: totalBytes, report: &report)
      case let .measurements(reader):
        let limits = MoleculeLimits(maxAtoms: options.maxAtoms, maxBytes: options.maxRecordBytes)
        let pipeline = BindingPipeline(reader: try reader(), workers: options.workers, limits: limits,
                                       canonicalizer: canonicalizer, molecules: moleculeWriter, proteins: writer,
                                       bindings: bindingWriter, quarantine: quarantine)
        defer { pipeline.close() }
        try pump.run(pipeline, source: state.id, file: file, prefetch: prefetch, totalBytes: totalBytes, report: &report)
      }
      try finish(state: state, prefetch: prefetch, digest: digest, opened: opened, report: &report)
      if let partition {
        let lines = lineFeeds()
        try catalog.transaction {
          try catalog.recordPartitionRange(
            source: state.id, partition: partition.index, partitions: partition.count, filePolicy: fileKey.policy,
            start: range?.lowerBound ?? 0, end: range?.upperBound,
            records: report.resumedAfter + report.records + report.quarantined, lines: lines, run: run)
        }
      }
    } catch let error as IngestError {
      throw error
    } catch let error as SQLiteError {
      // The catalog failed: not the input's fault.
      throw IngestError.catalog(file: path == "-" ? "<stdin>" : path, record: nil, underlying: error)
    } catch {
      // The input could not be read to the end (input, format and parse errors).
      report.status = .failed
      report.error = "\(error)"
      if let source {
        try catalog.transaction {
          try catalog.finishSource(source.id, status: "failed", contentSHA256: nil, error: "\(error)")
          // A partition's unit is recorded failed too, with what it read, so that the merge
          // knows it as part of its file (and, as one read stops at the damage, refuses the
          // file when units of it follow).
          if let partition, let failedUnit {
            try catalog.recordPartitionRange(
              source: source.id, partition: partition.index, partitions: partition.count, filePolicy: failedUnit.policy,
              start: range?.lowerBound ?? 0, end: range?.upperBound,
              records: report.resumedAfter + report.records + report.quarantined, lines: failedUnit.lines(), run: run)
          }
        }
      }
    }
  }

  /// Marks a source read to its end.
  private func finish(state: Catalog.SourceState, prefetch: PrefetchSource, digest: DigestBox, opened: OpenedInput,
                      report: inout FileReport) throws
  {
    report.bytes = prefetch.bytesProduced
    try catalog.transaction {
      try catalog.finishSource(state.id, status: "complete", contentSHA256: digest.hex(), error: nil)
    }
    if report.records == 0 && report.quarantined > 0 && report.resumedAfter == 0 {
      report.status = .failed
      report.error = "\(opened.source.name): no usable record: all \(report.quarantined) records were quarantined "
        + "(see `tagdata catalog quarantine`)"
    }
  }

  /// Raw bytes that identify an input (with its path, size and modification time).
  static let identityBytes = 1 << 16

  private func sourceKey(path: String, opened: OpenedInput, table: TableMapping?) -> Catalog.SourceKey {
    // The ambiguity policy is part of a source's identity (it changes which protein records are
    // kept); molecule files are read the same way under every policy, so this is harmless there.
    // So is a table's mapping: the same file read with other columns is another source.
    var policy = options.ambiguity.rawValue
    if let table { policy += " table " + SequenceDigest.hex(SequenceDigest.sha256(Array(table.json.utf8))) }
    let head = SequenceDigest.hex(SequenceDigest.sha256(opened.rawHead))
    // Standard input is known by its content alone, whether it is a pipe or a redirected file:
    // `cat f | tagdata ingest -` and `tagdata ingest - < f` are the same source.
    if path == "-" {
      return Catalog.SourceKey(path: "-", size: nil, mtimeNanoseconds: nil, headSHA256: head, policy: policy)
    }
    return Catalog.SourceKey(path: Clock.absolutePath(path), size: opened.file.size,
                             mtimeNanoseconds: opened.file.modificationTimeNanoseconds, headSHA256: head, policy: policy)
  }

  /// Reads a stream to its end and checks that it is the content of a source already ingested.
  private func checkSameContent(_ opened: OpenedInput, as existing: Catalog.SourceState) throws {
    var digest = StreamDigest()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let n = try opened.source.read(into: buffer)
      if n == 0 { break }
      digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
    let hex = SequenceDigest.hex(digest.finalize())
    guard hex == existing.contentSHA256 else {
      throw InputError.unsupported(
        file: opened.source.name,
        message: "starts like a stream already ingested (same first \(Self.identityBytes / 1024) KiB) but its content "
          + "differs after that, and a stream cannot be read twice; ingest it from a file instead")
    }
  }
}

/// A failure that is not the input's fault: the catalog could not be read or written. It names
/// the input file and the record being written when it happened.
/// A labels part (`tagdata describe --partition`) holds some entities of its catalog with their
/// labels, and is merged into that catalog: nothing is ingested into it (its merge would refuse it).
public struct LabelsPartIsNotACatalog: Error, CustomStringConvertible {
  public var path: String
  public var description: String {
    "\(path): is a labels part (tagdata describe --partition), not a catalog to ingest into: "
      + "merge it into its catalog (tagdata catalog merge --out CATALOG PARTS...) and ingest into that"
  }
}

public enum IngestError: Error, CustomStringConvertible {
  case catalog(file: String, record: RecordLocation?, underlying: Error)

  public var underlying: Error {
    switch self { case let .catalog(_, _, e): return e }
  }

  public var description: String {
    switch self {
    case let .catalog(file, record, underlying):
      var s = "\(underlying)"
      s += "\n  while ingesting \(file)"
      if let record { s += ", record \(record.index + 1) (line \(record.line), byte \(record.offset))" }
      return s
    }
  }
}

/// The SHA-256 of a source's decompressed content, fed from the prefetch thread.
final class DigestBox: @unchecked Sendable {
  @exclusivity(unchecked) private var digest = StreamDigest()
  func update(_ bytes: UnsafeRawBufferPointer) { digest.update(bytes) }
  func hex() -> String { SequenceDigest.hex(digest.finalize()) }
}

/// The version recorded in every run.
public let tagdataVersion = "0.1.0"

/// Time and path helpers (no Foundation needed).
public enum Clock {
  static func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  /// The time now in UTC, ISO 8601 to the second (how runs are stamped).
  public static func isoNow() -> String {
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
