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

/// Reads protein and molecule files into a catalog: detect the container and format, read
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
  private let canonicalizer: ProteinCanonicalizer
  private let run: Int64
  /// Called about ten times a second while a file is read.
  public var onProgress: ((IngestProgress) -> Void)?

  public init(catalog: Catalog, options: IngestOptions = IngestOptions(), arguments: String = "") throws {
    self.catalog = catalog
    self.options = options
    writer = try ProteinWriter(catalog: catalog)
    moleculeWriter = try MoleculeWriter(catalog: catalog)
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
    try ingest(path: path, into: &report)
    report.seconds = Clock.seconds() - started
    return report
  }

  private func ingest(path: String, into report: inout FileReport) throws {
    var source: Catalog.SourceState?
    do {
      // The input is opened and read once: its first 64 KiB identify it and are then parsed
      // from memory, so pipes and FIFOs lose nothing.
      let opened = try openInput(path, headBytes: Self.identityBytes)
      let key = sourceKey(path: path, opened: opened)
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
      let prefetch = PrefetchSource(opened.source) { digest.update($0) }
      let head = try prefetch.readPrefix(InputFormat.detectionBytes)
      let format = try InputFormat.detect(head, file: opened.source.name)
      report.format = format.rawValue
      let content = PrefixedSource(prefix: head, inner: prefetch)
      let state = try source ?? catalog.db.transaction {
        try catalog.addSource(key, compression: opened.compression.rawValue, format: format.rawValue, run: run)
      }
      source = state
      let resume = state.recordsDone > 0
        ? ResumePoint(recordIndex: state.recordsDone, offset: format.resumesByOffset ? state.nextOffset : 0,
                      line: state.nextLine)
        : nil
      report.resumedAfter = state.recordsDone
      let next: (inout ProteinArena) throws -> (RecordLocation, WriteItem)?
      var closeWorkers: (() -> Void)?
      switch format.reader(source: content, resume: resume, limits: ReaderLimits(maxRecordBytes: options.maxRecordBytes)) {
      case let .proteins(reader):
        let reader = try reader()
        next = { arena in
          guard let event = try reader.next(into: &arena) else { return nil }
          switch event {
          case let .record(r): return (r.location, .unprepared(r))
          case let .malformed(m): return (m.location, .quarantine(m.location, line: m.line, reason: m.reason, excerpt: m.excerpt))
          }
        }
      case let .molecules(reader):
        let parallel = ParallelMoleculeSource(reader: try reader(), workers: options.workers)
        closeWorkers = parallel.close
        next = { _ in try parallel.next() }
      }
      defer { closeWorkers?() }
      try pump(next, source: state.id, file: opened.source.name, prefetch: prefetch, totalBytes: opened.file.size,
               report: &report)
      report.bytes = prefetch.bytesProduced
      try catalog.db.transaction {
        try catalog.finishSource(state.id, status: "complete", contentSHA256: digest.hex(), error: nil)
      }
      if report.records == 0 && report.quarantined > 0 && report.resumedAfter == 0 {
        report.status = .failed
        report.error = "\(opened.source.name): no usable record: all \(report.quarantined) records were quarantined "
          + "(see `tagdata catalog quarantine`)"
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
        try catalog.db.transaction {
          try catalog.finishSource(source.id, status: "failed", contentSHA256: nil, error: "\(error)")
        }
      }
    }
  }

  /// Raw bytes that identify an input (with its path, size and modification time).
  static let identityBytes = 1 << 16

  private func sourceKey(path: String, opened: OpenedInput) -> Catalog.SourceKey {
    // The ambiguity policy is part of a source's identity (it changes which protein records are
    // kept); molecule files are read the same way under every policy, so this is harmless there.
    let policy = options.ambiguity.rawValue
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

  /// A batch is also cut at about this many bytes of input, so that memory stays flat.
  static let maxBatchBytes = 8 << 20

  /// The input bytes at which to cut the next batch. The first batches are small, so that the
  /// writer starts early, and so are the last ones (when the input's size is known), so that
  /// the writer is not left alone with a large batch once reading is done: 1, 2, 4, then 8 MiB,
  /// and never over a quarter of what is estimated to remain (nor under 1 MiB).
  static func batchLimit(index: Int, readSoFar: Int64, rawConsumed: Int64, rawTotal: Int64?) -> Int {
    let ramp = min(maxBatchBytes, (1 << 20) << min(index, 3))
    guard let rawTotal, rawTotal > 0, rawConsumed > 0, rawConsumed <= rawTotal else { return ramp }
    // Raw (possibly compressed) bytes left, in bytes of input at the rate seen so far.
    let remaining = Double(readSoFar) * Double(rawTotal - rawConsumed) / Double(rawConsumed)
    return max(1 << 20, min(ramp, Int(remaining / 4)))
  }

  /// One transaction's worth of writes, and where to resume once it is committed. Protein
  /// records keep their bytes in the batch's arena.
  struct WriteBatch: Sendable {
    var items: [WriteItem] = []
    var arena = ProteinArena()
    var checkpoint: RecordLocation?
  }

  enum WriteItem: Sendable {
    /// A protein record as read; the writer thread checks and prepares it.
    case unprepared(PackedProtein)
    case protein(PreparedProtein)
    case molecule(PreparedMolecule)
    case quarantine(RecordLocation, line: Int, reason: String, excerpt: String)

    var location: RecordLocation {
      switch self {
      case let .unprepared(p): return p.location
      case let .protein(p): return p.record.location
      case let .molecule(m): return m.location
      case let .quarantine(loc, _, _, _): return loc
      }
    }
  }

  /// A protein record checked and canonicalized, ready to write: the record and the forms the
  /// catalog stores, all as ranges in the batch's arena.
  struct PreparedProtein: Sendable {
    var record: PackedProtein
    var canonical: ByteRange
    var sha256: ByteRange
    var crc64: ByteRange
    var names: ByteRange
    var comments: ByteRange
    var keywords: ByteRange

    /// The same record after its bytes moved by `shift` (see ``ProteinArena/moveTail(from:to:)``).
    func shifted(_ shift: ProteinArena.Shift) -> PreparedProtein {
      var p = self
      p.record = record.shifted(shift)
      for k in [\PreparedProtein.canonical, \.sha256, \.crc64, \.names, \.comments, \.keywords] {
        p[keyPath: k] = p[keyPath: k].shifted(shift.bytes)
      }
      return p
    }
  }

  /// A molecule record read, checked and canonicalized, ready to write.
  struct PreparedMolecule: Sendable {
    var location: RecordLocation
    var molecule: MoleculeRow
    var compound: CompoundRow?
    var title: String?
  }

  /// Reads, checks and canonicalizes records on this thread while a writer thread stores them,
  /// one transaction per batch with a checkpoint. On an input error everything read before it
  /// is committed, then the error is rethrown.
  private func pump(_ next: (inout ProteinArena) throws -> (RecordLocation, WriteItem)?, source: Int64, file: String,
                    prefetch: PrefetchSource, totalBytes: Int64?, report: inout FileReport) throws
  {
    // The writer inserts every parent row before its children, in the same transaction; SQLite
    // checking each reference again costs a tenth of the write time. Checks are off while this
    // file is written (on again after), and the tests run `PRAGMA foreign_key_check` on every
    // catalog they build (``Catalog/foreignKeyViolations()``).
    try catalog.db.execute("PRAGMA foreign_keys=OFF")
    defer { try? catalog.db.execute("PRAGMA foreign_keys=ON") }
    let queue = BlockingQueue<WriteBatch>(capacity: 1)
    // Written batches come back emptied, their buffers' capacity kept: in steady state a batch
    // costs no allocation (and no fresh pages from the kernel) at all.
    let spare = BlockingQueue<WriteBatch>(capacity: 2)
    // Committed pages go from the write-ahead log into the catalog file on a thread and
    // connection of their own while ingest goes on, so that the checkpoint at the end (which
    // waits for the disk) has little left to do.
    let walCheckpoints = BlockingQueue<Bool>(capacity: 1)
    let catalogPath = catalog.db.path
    let checkpointer = JoinableThread {
      let db = try? Database(path: catalogPath)
      // A connection sees the log only once it has read the database.
      _ = try? db?.scalar("SELECT count(*) FROM sqlite_schema")
      while walCheckpoints.pop() != nil { db?.checkpointWAL() }
    }
    defer {
      walCheckpoints.close()
      checkpointer.join()
    }
    let shared = UncheckedBox((catalog: catalog, writer: writer, molecules: moleculeWriter, run: run, error: nil as Error?,
                               newProteins: 0, newMolecules: 0, rejected: 0, preparer: ProteinPreparer(canonicalizer)))
    // Protein records are checked and prepared on the writer thread, unless it is behind (a
    // whole batch waits for it): then this thread prepares them, so that neither thread is left
    // with a backlog when the other is done.
    let localPreparer = ProteinPreparer(canonicalizer)
    let writerThread = JoinableThread {
      let (catalog, writer, molecules, run) = (shared.value.catalog, shared.value.writer, shared.value.molecules, shared.value.run)
      let preparer = shared.value.preparer
      let before = (writer.newProteins, molecules.newMolecules)
      defer {
        shared.value.newProteins = writer.newProteins - before.0
        shared.value.newMolecules = molecules.newMolecules - before.1
      }
      var lastCheckpointed: Int64 = 0
      while var batch = queue.pop() {
        var current: RecordLocation?
        do {
          try catalog.db.transaction {
            for var item in batch.items {
              current = item.location
              if case let .unprepared(r) = item {
                item = preparer.prepare(r, in: &batch.arena)
                if case .quarantine = item { shared.value.rejected += 1 }
              }
              switch item {
              case .unprepared: preconditionFailure("prepared above")
              case let .protein(p): try Self.write(p, arena: batch.arena, source: source, writer: writer, run: run)
              case let .molecule(m): try Self.write(m, source: source, writer: molecules, run: run)
              case let .quarantine(loc, line, reason, excerpt):
                try writer.quarantine(source: source, recordNo: loc.index, line: line, offset: loc.offset, reason: reason,
                                      excerpt: excerpt, run: run)
              }
            }
            try writer.flush()
            if let cp = batch.checkpoint {
              try catalog.checkpoint(source: source, recordsDone: cp.index, nextOffset: cp.offset, nextLine: cp.line, run: run)
            }
          }
          // The log is copied into the catalog file every 4 MiB of input or so (fewer, larger
          // checkpoints cost less), and after the last batch.
          let readTo = batch.checkpoint?.offset ?? .max
          if readTo - lastCheckpointed >= 4 << 20 {
            lastCheckpointed = readTo
            walCheckpoints.tryPush(true)
          }
          batch.items.removeAll(keepingCapacity: true)
          batch.arena.removeAll()
          batch.checkpoint = nil
          spare.tryPush(batch)
        } catch {
          shared.value.error = IngestError.catalog(file: file, record: current, underlying: error)
          queue.close()
          return
        }
      }
    }
    var batch = WriteBatch()
    var batchBytes = 0
    var batchIndex = 0
    var limit = Self.batchLimit(index: 0, readSoFar: 0, rawConsumed: 0, rawTotal: nil)
    var lastOffset: Int64 = 0
    var lastProgress = Clock.seconds()
    let started = lastProgress
    var inputError: Error?
    do {
      while true {
        let mark = batch.arena.mark
        guard let read = try next(&batch.arena) else { break }
        let loc = read.0
        var item = read.1
        batchBytes += Int(max(0, loc.offset - lastOffset))
        lastOffset = loc.offset
        if batch.items.count >= options.batchSize || batchBytes >= limit {
          batchBytes = 0
          batch.checkpoint = loc
          // The record just read opens the next batch: its bytes move to that batch's arena.
          var fresh = spare.tryPop() ?? WriteBatch()
          let shift = batch.arena.moveTail(from: mark, to: &fresh.arena)
          if case let .unprepared(p) = item { item = .unprepared(p.shifted(shift)) }
          if !queue.push(batch) { break }
          batch = fresh
          batchIndex += 1
          limit = Self.batchLimit(index: batchIndex, readSoFar: loc.offset, rawConsumed: prefetch.rawBytesConsumed,
                                  rawTotal: totalBytes)
        }
        if case let .unprepared(r) = item, queue.waiting > 0 { item = localPreparer.prepare(r, in: &batch.arena) }
        if case .quarantine = item { report.quarantined += 1 } else { report.records += 1 }
        batch.items.append(item)
        if let onProgress, (report.records + report.quarantined) & 63 == 0 {
          let now = Clock.seconds()
          if now - lastProgress >= 0.1 {
            lastProgress = now
            onProgress(IngestProgress(path: report.path, rawBytes: prefetch.rawBytesConsumed, totalBytes: totalBytes,
                                      records: report.records, quarantined: report.quarantined, seconds: now - started))
          }
        }
      }
    } catch {
      inputError = error
    }
    // The last batch carries no checkpoint: a re-run re-reads it, and every write is idempotent.
    if !batch.items.isEmpty { queue.push(batch) }
    queue.close()
    writerThread.join()
    report.newProteins = shared.value.newProteins
    // Records the writer thread found bad were counted as stored when read.
    report.records -= shared.value.rejected
    report.quarantined += shared.value.rejected
    report.newMolecules = shared.value.newMolecules
    if let error = shared.value.error { throw error }
    if let inputError { throw inputError }
  }

  private static func write(_ m: PreparedMolecule, source: Int64, writer: MoleculeWriter, run: Int64) throws {
    let molecule = try writer.molecule(m.molecule)
    let compound = try m.compound.map { try writer.compound($0, molecule: molecule) }
    try writer.record(source: source, recordNo: m.location.index, line: m.location.line, offset: m.location.offset,
                      molecule: molecule, compound: compound, title: m.title, run: run)
  }

  private static func write(_ p: PreparedProtein, arena: ProteinArena, source: Int64, writer: ProteinWriter,
                            run: Int64) throws
  {
    let r = p.record
    try arena.bytes.withUnsafeBufferPointer { b in
      let protein = try writer.protein(sha256: ProteinArena.view(b, p.sha256)!, crc64: ProteinArena.view(b, p.crc64)!,
                                       sequence: ProteinArena.view(b, p.canonical)!)
      var entryID: Int64?
      if r.accessions.count > 0 {
        var e = EntryBytes()
        e.entryName = ProteinArena.view(b, r.entryName)
        e.reviewed = r.reviewed
        e.proteinName = ProteinArena.view(b, r.proteinName)
        e.gene = ProteinArena.view(b, r.gene)
        e.organism = ProteinArena.view(b, r.organism)
        e.taxonID = r.taxonID
        e.lineage = ProteinArena.view(b, r.lineage)
        e.existence = r.existence
        e.keywords = ProteinArena.view(b, p.keywords)
        e.sequenceVersion = r.sequenceVersion
        e.entryVersion = r.entryVersion
        e.fragment = r.fragment
        e.declaredMass = r.declaredMass
        e.names = ProteinArena.view(b, p.names)
        e.comments = ProteinArena.view(b, p.comments)
        entryID = try writer.entry(e, protein: protein, accessions: Int(r.accessions.count)) {
          ProteinArena.view(b, arena.pieces[Int(r.accessions.start) + $0])!
        }
      }
      try writer.record(source: source, recordNo: r.location.index, line: r.location.line, offset: r.location.offset,
                        protein: protein, entry: entryID, label: ProteinArena.view(b, r.label), run: run)
    }
  }
}

/// Checks protein records and lays out what the catalog stores of them. Not thread-safe (it
/// keeps scratch buffers): one per thread.
final class ProteinPreparer {
  private let canonicalizer: ProteinCanonicalizer
  init(_ canonicalizer: ProteinCanonicalizer) { self.canonicalizer = canonicalizer }

  /// Scratch space for ``prepare(_:in:)`` (canonical residues, JSON), reused record to record.
  private var scratch: [UInt8] = []

  /// Checks a record's declared length and CRC64, canonicalizes its sequence and lays out the
  /// forms the catalog stores, in the same arena as the record.
  func prepare(_ r: PackedProtein, in arena: inout ProteinArena) -> Ingestor.WriteItem {
    let loc = r.location
    // A declared length or checksum that does not match is named at the line declaring it.
    func reject(_ reason: String, line: Int? = nil) -> Ingestor.WriteItem {
      let name = [r.accessions.count > 0 ? arena.pieces[Int(r.accessions.start)] : .none, r.entryName, r.label]
        .first { !$0.isNone }.flatMap { arena.string($0) }
      let at = line ?? loc.line
      return .quarantine(loc, line: at, reason: line == nil ? reason : "\(reason) (line \(at))",
                         excerpt: name.map { "record \($0)" } ?? "")
    }
    let length = Int(max(0, r.sequence.count))
    if let declared = r.declaredLength, declared != length {
      return reject("sequence has \(length) residues but the entry declares \(declared)", line: r.checksumLine)
    }
    if let declared = r.declaredCRC32 {
      let crc32 = arena.bytes.withUnsafeBufferPointer { b in
        SwissProtCRC32.checksum(ProteinArena.view(b, r.sequence) ?? UnsafeBufferPointer(start: nil, count: 0))
      }
      if crc32 != declared {
        return reject("CRC32 mismatch: sequence gives \(SwissProtCRC32.hex(crc32)), the entry declares "
          + SwissProtCRC32.hex(declared), line: r.checksumLine)
      }
    }
    scratch.removeAll(keepingCapacity: true)
    let (rawCRC, failure) = arena.bytes.withUnsafeBufferPointer { b in
      let raw = ProteinArena.view(b, r.sequence) ?? UnsafeBufferPointer(start: nil, count: 0)
      return (CRC64.checksum(raw), canonicalizer.canonicalize(raw, appendingTo: &scratch))
    }
    if let declared = r.declaredCRC64, rawCRC != declared {
      return reject("CRC64 mismatch: sequence gives \(CRC64.hex(rawCRC)), the entry declares \(CRC64.hex(declared))",
                    line: r.checksumLine)
    }
    if let failure { return reject("sequence: \(failure)") }
    // The raw residues are the canonical ones whenever canonicalization changed nothing; then
    // so is their CRC.
    let unchanged = scratch.count == length && length > 0 && arena.bytes.withUnsafeBufferPointer { b in
      scratch.withUnsafeBufferPointer { memcmp($0.baseAddress!, b.baseAddress! + Int(r.sequence.start), length) == 0 }
    }
    let canonical = unchanged ? r.sequence : scratch.withUnsafeBufferPointer { arena.append($0) }
    let crc = unchanged ? rawCRC : scratch.withUnsafeBufferPointer { CRC64.checksum($0) }
    scratch.removeAll(keepingCapacity: true)
    arena.bytes.withUnsafeBufferPointer { b in SequenceDigest.sha256(ProteinArena.view(b, canonical)!, appendingTo: &scratch) }
    let digestStart = arena.bytes.count
    arena.bytes.append(contentsOf: scratch)
    let sha256 = arena.range(from: digestStart)
    CRC64.appendHex(crc, to: &arena.bytes)
    let crcText = arena.range(from: Int(sha256.start + sha256.count))
    var prepared = Ingestor.PreparedProtein(record: r, canonical: canonical, sha256: sha256, crc64: crcText,
                                            names: .none, comments: .none, keywords: .none)
    if r.accessions.count > 0 {
      prepared.names = pairsJSON(r.names, distinct: true, in: &arena)
      prepared.comments = pairsJSON(r.comments, distinct: false, in: &arena)
      scratch.removeAll(keepingCapacity: true)
      let joined = arena.bytes.withUnsafeBufferPointer { b in
        JSONText.appendKeywords(count: Int(r.keywords.count), into: &scratch) {
          ProteinArena.view(b, arena.pieces[Int(r.keywords.start) + $0])!
        }
      }
      if joined { prepared.keywords = scratch.withUnsafeBufferPointer { arena.append($0) } }
    }
    return .protein(prepared)
  }

  /// The catalog's JSON for a list of pairs, appended to the arena.
  private func pairsJSON(_ list: PieceRange, distinct: Bool, in arena: inout ProteinArena) -> ByteRange {
    scratch.removeAll(keepingCapacity: true)
    let made = arena.bytes.withUnsafeBufferPointer { b in
      JSONText.appendPairs(count: Int(list.count) / 2, distinct: distinct, into: &scratch) { k in
        let i = Int(list.start) + 2 * k
        return (ProteinArena.view(b, arena.pieces[i])!, ProteinArena.view(b, arena.pieces[i + 1])!)
      }
    }
    return made ? scratch.withUnsafeBufferPointer { arena.append($0) } : .none
  }
}

/// A failure that is not the input's fault: the catalog could not be read or written. It names
/// the input file and the record being written when it happened.
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
  private var digest = StreamDigest()
  func update(_ bytes: UnsafeRawBufferPointer) { digest.update(bytes) }
  func hex() -> String { SequenceDigest.hex(digest.finalize()) }
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

/// Reads molecule records' structures into canonical rows. Not thread-safe (its SMILES writers
/// keep scratch state): one per thread.
final class MoleculePreparer {
  private let isomericWriter = SmilesWriter(isomeric: true)
  private let plainWriter = SmilesWriter(isomeric: false)

  /// Reads a molecule record's structure, canonicalizes it, and canonicalizes PubChem's own
  /// isomeric SMILES for comparison. Unreadable structures are quarantined with the reason and
  /// the line it points to.
  func prepare(_ r: MoleculeRecord) -> Ingestor.WriteItem {
    let loc = r.location
    func reject(_ reason: String, line: Int? = nil) -> Ingestor.WriteItem {
      let name = r.cid.map { "CID \($0)" } ?? r.title.map { "record \($0)" } ?? ""
      return Ingestor.WriteItem.quarantine(loc, line: line ?? loc.line, reason: reason, excerpt: name)
    }
    let mol: Molecule
    switch r.structure {
    case let .molfile(block):
      do {
        mol = try Molfile.read(block: block).molecule
      } catch {
        return reject("molfile: \(error.message)", line: error.line > 0 ? loc.line + error.line - 1 : loc.line)
      }
    case let .smiles(text):
      do {
        mol = try Smiles.read(text)
      } catch {
        return reject("SMILES '\(text.prefix(80))': \(error)")
      }
    case let .table(table):
      do {
        mol = try table.molecule()
      } catch {
        return reject("structure: \(error.message)")
      }
    }
    guard !mol.atoms.isEmpty else { return reject("the structure has no atoms") }
    let smiles = isomericWriter.write(mol)
    let row = MoleculeRow(smiles: smiles, connectivitySmiles: mol.hasStereoOrIsotopes ? plainWriter.write(mol) : smiles,
                          formula: mol.formula, heavyAtoms: mol.atoms.reduce(0) { $0 + ($1.element == 1 ? 0 : 1) })
    var compound: CompoundRow?
    if let cid = r.cid {
      var c = CompoundRow(cid: cid)
      c.inchi = r.inchi
      c.inchikey = r.inchikey
      c.formula = r.formula
      c.weight = r.weight
      if let theirs = r.pubchemSmiles {
        c.pubchemSmiles = theirs
        if case let .smiles(text) = r.structure, text == theirs {
          c.pubchemSmilesCanonical = smiles
        } else {
          do {
            c.pubchemSmilesCanonical = isomericWriter.write(try Smiles.read(theirs))
          } catch {
            c.pubchemSmilesError = "\(error)"
          }
        }
      }
      compound = c
    }
    return .molecule(Ingestor.PreparedMolecule(location: loc, molecule: row, compound: compound, title: r.title))
  }
}

/// Reads molecule records on the calling thread and prepares them on worker threads, handing
/// the results back in file order. A read error is thrown after every record read before it
/// has been handed back.
final class ParallelMoleculeSource {
  private let reader: MoleculeReader
  private let pool: OrderedPool<[MoleculeEvent], [(RecordLocation, Ingestor.WriteItem)]>
  private var ready: [(RecordLocation, Ingestor.WriteItem)] = []
  private var readyIndex = 0
  private var finished = false
  private var readError: Error?
  static let chunk = 16

  init(reader: MoleculeReader, workers: Int) {
    self.reader = reader
    pool = OrderedPool(workers: workers) {
      let preparer = MoleculePreparer()
      return { events in
        events.map { event in
          switch event {
          case let .record(r): return (r.location, preparer.prepare(r))
          case let .malformed(m):
            return (m.location, .quarantine(m.location, line: m.line, reason: m.reason, excerpt: m.excerpt))
          }
        }
      }
    }
  }

  func next() throws -> (RecordLocation, Ingestor.WriteItem)? {
    while readyIndex == ready.count {
      while !finished && pool.inFlight < pool.depth {
        var events: [MoleculeEvent] = []
        do {
          while events.count < Self.chunk, let e = try reader.next() { events.append(e) }
        } catch {
          readError = error
        }
        if events.count < Self.chunk { finished = true }
        if !events.isEmpty { pool.submit(events) }
      }
      guard let results = pool.next() else {
        if let e = readError {
          readError = nil
          throw e
        }
        return nil
      }
      ready = results
      readyIndex = 0
    }
    defer { readyIndex += 1 }
    return ready[readyIndex]
  }

  func close() { pool.close() }
}
