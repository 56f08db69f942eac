#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TagdataBio
import TagdataCatalog
import TagdataIO
import TagdataSources

/// A protein record on its way to the catalog.
enum ProteinItem: Sendable {
  /// As read; preparation (checks, canonical form, digests) is still to do.
  case raw(PackedProtein)
  case prepared(PreparedProtein)
  case quarantine(Quarantined)
}

/// What preparing a protein record gives.
enum ProteinOutcome {
  case prepared(PreparedProtein)
  case rejected(Quarantined)
}

/// Protein records of a batch, their bytes in the batch's arena.
struct ProteinBatch: PipelineBatch {
  var items: [ProteinItem] = []
  var arena = ProteinArena()
  /// The arena's end before the record read last.
  var lastMark = (bytes: 0, pieces: 0)
  var count: Int { items.count }

  mutating func moveLast(to other: inout ProteinBatch) {
    var item = items.removeLast()
    let shift = arena.moveTail(from: lastMark, to: &other.arena)
    if case let .raw(p) = item { item = .raw(p.shifted(shift)) }
    other.items.append(item)
  }

  mutating func removeAll() {
    items.removeAll(keepingCapacity: true)
    arena.removeAll()
  }
}

/// Proteins from a ``ProteinReader`` into the catalog: records are checked (declared length and
/// checksum), canonicalized and digested on the writer thread, or on the reading thread when the
/// writer is behind (each thread has its own ``ProteinPreparer``).
final class ProteinPipeline: RecordPipeline, @unchecked Sendable {
  private let reader: ProteinReader
  private let writer: ProteinWriter
  private let quarantine: QuarantineWriter
  /// Used by the reading thread only.
  private let readingPreparer: ProteinPreparer
  /// Used by the writer thread only.
  private let writingPreparer: ProteinPreparer
  @exclusivity(unchecked) private var proteinsBefore = 0

  /// The largest text or blob the catalog stores (SQLite's length limit): a record with a longer
  /// field is quarantined before any of its rows is written.
  private let maxValueBytes: Int

  init(reader: ProteinReader, writer: ProteinWriter, quarantine: QuarantineWriter, canonicalizer: ProteinCanonicalizer,
       maxValueBytes: Int)
  {
    self.reader = reader
    self.writer = writer
    self.quarantine = quarantine
    self.maxValueBytes = maxValueBytes
    readingPreparer = ProteinPreparer(canonicalizer)
    writingPreparer = ProteinPreparer(canonicalizer)
  }

  func read(into batch: inout ProteinBatch) throws -> ReadRecord? {
    batch.lastMark = batch.arena.mark
    guard let event = try reader.next(into: &batch.arena) else { return nil }
    switch event {
    case let .record(r):
      batch.items.append(.raw(r))
      return ReadRecord(location: r.location, quarantined: false)
    case let .malformed(m):
      batch.items.append(.quarantine(Quarantined(location: m.location, line: m.line, reason: m.reason, excerpt: m.excerpt)))
      return ReadRecord(location: m.location, quarantined: true)
    }
  }

  func prepareAhead(last batch: inout ProteinBatch) -> Bool {
    guard case let .raw(r) = batch.items.last else { return false }
    switch readingPreparer.prepare(r, in: &batch.arena) {
    case let .prepared(p):
      batch.items[batch.items.count - 1] = .prepared(p)
      return false
    case let .rejected(q):
      batch.items[batch.items.count - 1] = .quarantine(q)
      return true
    }
  }

  func write(_ batch: inout ProteinBatch, source: Int64, run: Int64, current: inout RecordLocation?) throws -> Int {
    var rejected = 0
    for item in batch.items {
      var ready: ProteinOutcome
      switch item {
      case let .raw(r):
        current = r.location
        ready = writingPreparer.prepare(r, in: &batch.arena)
        if case .rejected = ready { rejected += 1 }
      case let .prepared(p): ready = .prepared(p)
      case let .quarantine(q): ready = .rejected(q)
      }
      if case let .prepared(p) = ready, let longest = p.longestField, longest > maxValueBytes {
        rejected += 1
        ready = .rejected(Quarantined(location: p.record.location, line: p.record.location.line,
                                      reason: "a field of \(longest) bytes is larger than the catalog stores "
                                        + "(\(maxValueBytes) bytes, SQLite's length limit)", excerpt: ""))
      }
      switch ready {
      case let .prepared(p):
        current = p.record.location
        try Self.write(p, arena: batch.arena, source: source, writer: writer, run: run)
      case let .rejected(q):
        current = q.location
        try quarantine.write(q, source: source, run: run)
      }
    }
    try writer.flush()
    return rejected
  }

  func writerStarted() { proteinsBefore = writer.newProteins }
  func writerFinished(_ report: inout FileReport) { report.newProteins = writer.newProteins - proteinsBefore }

  private static func write(_ p: PreparedProtein, arena: ProteinArena, source: Int64, writer: ProteinWriter,
                            run: Int64) throws
  {
    let (protein, entryID) = try writeRows(p, arena: arena, writer: writer)
    let r = p.record
    try arena.bytes.withUnsafeBufferPointer { b in
      try writer.record(source: source, recordNo: r.location.index, line: r.location.line, offset: r.location.offset,
                        protein: protein, entry: entryID, label: ProteinArena.view(b, r.label), run: run)
    }
  }

  /// Writes a prepared record's protein row and, for a record with an accession, its entry rows:
  /// the one mapping from a packed record's fields to the catalog's columns.
  static func writeRows(_ p: PreparedProtein, arena: ProteinArena, writer: ProteinWriter) throws
    -> (protein: Int64, entry: Int64?)
  {
    let r = p.record
    return try arena.bytes.withUnsafeBufferPointer { b in
      let protein = try writer.protein(sha256: ProteinArena.view(b, p.sha256)!, crc64: ProteinArena.view(b, p.crc64)!,
                                       sequence: ProteinArena.view(b, p.canonical)!)
      guard r.accessions.count > 0 else { return (protein, nil) }
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
      e.checksumKind = r.checksumKind?.rawValue
      e.declaredChecksum = r.declaredCRC64.map(CRC64.hex) ?? r.declaredCRC32.map(SwissProtCRC32.hex)
      e.names = ProteinArena.view(b, p.names)
      e.comments = ProteinArena.view(b, p.comments)
      let entry = try writer.entry(e, protein: protein, accessions: Int(r.accessions.count)) {
        ProteinArena.view(b, arena.pieces[Int(r.accessions.start) + $0])!
      }
      return (protein, entry)
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

  /// The length of the longest text the catalog would store for this record.
  var longestField: Int? {
    let r = record
    var m = max(canonical.count, names.count, comments.count, keywords.count, r.entryName.count, r.proteinName.count)
    m = max(m, r.gene.count, r.organism.count, r.lineage.count, r.label.count, r.headerDescription.count)
    return Int(m)
  }

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

/// Checks protein records and lays out what the catalog stores of them. Not thread-safe (it
/// keeps scratch buffers): one per thread.
final class ProteinPreparer {
  private let canonicalizer: ProteinCanonicalizer
  init(_ canonicalizer: ProteinCanonicalizer) { self.canonicalizer = canonicalizer }

  /// Scratch space for ``prepare(_:in:)`` (canonical residues, JSON), reused record to record.
  @exclusivity(unchecked) private var scratch: [UInt8] = []

  /// Checks a record's declared length and CRC64, canonicalizes its sequence and lays out the
  /// forms the catalog stores, in the same arena as the record.
  func prepare(_ r: PackedProtein, in arena: inout ProteinArena) -> ProteinOutcome {
    let loc = r.location
    // A declared length or checksum that does not match is named at the line declaring it: the
    // quarantine row's line (the reason does not repeat it, so that a partition's lines, numbered
    // from its range's start, are renumbered by the merge like every other line).
    func reject(_ reason: String, line: Int? = nil) -> ProteinOutcome {
      let name = [r.accessions.count > 0 ? arena.pieces[Int(r.accessions.start)] : .none, r.entryName, r.label]
        .first { !$0.isNone }.flatMap { arena.string($0) }
      return .rejected(Quarantined(location: loc, line: line ?? loc.line, reason: reason, excerpt: name.map { "record \($0)" } ?? ""))
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
    var prepared = PreparedProtein(record: r, canonical: canonical, sha256: sha256, crc64: crcText,
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
    return .prepared(prepared)
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
