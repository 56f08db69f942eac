/// One UniProt entry's annotations as bytes the caller owns, for writing without a `String`
/// per field: `names` and `comments` hold the JSON the catalog stores (see
/// ``JSONText/appendPairs(count:distinct:into:pair:)``), `keywords` the joined text
/// (``JSONText/appendKeywords(count:into:keyword:)``). The memory must stay
/// valid for the duration of the ``ProteinWriter/entry(_:protein:accessions:accession:)`` call.
public struct EntryBytes {
  public var entryName, proteinName, gene, organism, lineage, keywords, names, comments: UnsafeBufferPointer<UInt8>?
  public var reviewed: Bool?
  public var taxonID, existence, sequenceVersion, entryVersion, declaredMass: Int?
  public var fragment = false
  /// The checksum the entry declared: its kind (`crc64`, `crc32`) and value as written in the file.
  public var checksumKind, declaredChecksum: String?
  public init() {}
}

/// JSON text for the catalog's array columns, written byte by byte.
public enum JSONText {
  /// Appends `[["a","b"],["c","d"]]` for `count` pairs to `out`; when `distinct`, a pair equal
  /// to an earlier one is left out. Returns false (and appends nothing) for no pairs.
  public static func appendPairs(count: Int, distinct: Bool, into out: inout [UInt8],
                                 pair: (Int) -> (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>)) -> Bool
  {
    guard count > 0 else { return false }
    out.append(UInt8(ascii: "["))
    for k in 0..<count {
      let (a, b) = pair(k)
      // A handful of pairs per entry: a scan, no hashing.
      if distinct && (0..<k).contains(where: { let (x, y) = pair($0); return x.elementsEqual(a) && y.elementsEqual(b) }) { continue }
      if k > 0 { out.append(UInt8(ascii: ",")) }
      out.append(UInt8(ascii: "["))
      string(a, into: &out)
      out.append(UInt8(ascii: ","))
      string(b, into: &out)
      out.append(UInt8(ascii: "]"))
    }
    out.append(UInt8(ascii: "]"))
    return true
  }

  /// Appends the catalog's keyword text (`a; b; c`) for `count` keywords to `out`. Returns
  /// false (and appends nothing) for none.
  public static func appendKeywords(count: Int, into out: inout [UInt8], keyword: (Int) -> UnsafeBufferPointer<UInt8>)
    -> Bool
  {
    for k in 0..<count {
      if k > 0 { out.append(contentsOf: [UInt8(ascii: ";"), 0x20]) }
      out.append(contentsOf: keyword(k))
    }
    return count > 0
  }

  static let hexDigits = Array("0123456789abcdef".utf8)
  static let needsEscape: [Bool] = (0..<256).map { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }

  static func string(_ s: String, into out: inout [UInt8]) {
    var s = s
    s.withUTF8 { string($0, into: &out) }
  }

  static func string(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    // Most text needs no escape: copy it whole.
    let escapes = needsEscape.withUnsafeBufferPointer { table in bytes.contains { table[Int($0)] } }
    if !escapes {
      out.append(contentsOf: bytes)
    } else {
      for b in bytes {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
        case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
        case 0..<0x20:
          out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
          out.append(hexDigits[Int(b >> 4)])
          out.append(hexDigits[Int(b & 15)])
        default: out.append(b)
        }
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}

/// Writes proteins, entries (names and comments as JSON on the entry), provenance and
/// quarantine rows with prepared statements.
/// Callers group calls into transactions (see ``Database/transaction(_:)``).
///
/// Every write is idempotent: proteins are keyed by sequence hash, entries by (accession,
/// protein), provenance and quarantine by (source, record number). Writing the same record
/// twice changes nothing; an entry seen again fills fields that were still empty (its names and
/// comments too: the first sighting that has any keeps them).
///
/// Accession and provenance rows, which nothing else refers to, are collected and inserted many
/// per statement: call ``flush()`` before the transaction that holds them commits.
public final class ProteinWriter {
  let db: Database
  /// Proteins this writer inserted (not found already in the catalog).
  @exclusivity(unchecked) public private(set) var newProteins = 0
  private let findProtein, insertProtein, insertEntry, fillEntry, findEntry: Statement
  private let insertAccession, insertRecord: MultiRowInsert

  // Rows waiting for ``flush()``; their text (accessions, labels) is copied into `pendingText`.
  @exclusivity(unchecked) private var pendingText: [UInt8] = []
  @exclusivity(unchecked) private var pendingAccessions: [(text: Range<Int>, entry: Int64, primary: Bool)] = []
  @exclusivity(unchecked) private var pendingRecords: [PendingRecord] = []
  private struct PendingRecord {
    var source, recordNo, line, offset, protein: Int64
    var entry: Int64?
    var label: Range<Int>?
    var run: Int64
  }
  /// Rows collected before they are written without waiting for ``flush()``.
  static let pendingLimit = 64

  public init(catalog: Catalog) throws {
    db = catalog.db
    findProtein = try db.prepare("SELECT id FROM proteins WHERE sha256 = ?")
    insertProtein = try db.prepare("""
      INSERT INTO proteins(sha256, crc64, length, sequence) VALUES (?, ?, ?, ?)
      ON CONFLICT (sha256) DO NOTHING
      """)
    // A new entry is inserted; an entry already there (same accession and protein) has its
    // empty fields filled by the same values, through the upsert form.
    let entryInsert = """
      INSERT INTO entries(protein_id, accession, entry_name, reviewed, protein_name, gene, organism, taxon_id,
        lineage, existence, keywords, sequence_version, entry_version, fragment, declared_mass, names, comments,
        checksum_kind, declared_checksum)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """
    insertEntry = try db.prepare(entryInsert + " ON CONFLICT (accession, protein_id) DO NOTHING")
    fillEntry = try db.prepare(entryInsert + """
      ON CONFLICT (accession, protein_id) DO UPDATE SET
        entry_name = COALESCE(entry_name, excluded.entry_name), reviewed = COALESCE(reviewed, excluded.reviewed),
        protein_name = COALESCE(protein_name, excluded.protein_name), gene = COALESCE(gene, excluded.gene),
        organism = COALESCE(organism, excluded.organism), taxon_id = COALESCE(taxon_id, excluded.taxon_id),
        lineage = COALESCE(lineage, excluded.lineage), existence = COALESCE(existence, excluded.existence),
        keywords = COALESCE(keywords, excluded.keywords),
        sequence_version = COALESCE(sequence_version, excluded.sequence_version),
        entry_version = COALESCE(entry_version, excluded.entry_version), fragment = MAX(fragment, excluded.fragment),
        declared_mass = COALESCE(declared_mass, excluded.declared_mass),
        names = COALESCE(names, excluded.names), comments = COALESCE(comments, excluded.comments),
        checksum_kind = COALESCE(checksum_kind, excluded.checksum_kind),
        declared_checksum = COALESCE(declared_checksum, excluded.declared_checksum)
      """)
    findEntry = try db.prepare("SELECT id FROM entries WHERE accession = ? AND protein_id = ?")
    insertAccession = MultiRowInsert(db, "INSERT OR IGNORE INTO accessions(accession, entry_id, is_primary) VALUES",
                                     columns: 3, maxRows: Self.pendingLimit)
    insertRecord = MultiRowInsert(
      db, "INSERT OR IGNORE INTO records(source_id, record_no, line, byte_offset, protein_id, entry_id, label, run_id) VALUES",
      columns: 8, maxRows: Self.pendingLimit)
  }

  /// Returns the id of the protein with this canonical sequence, inserting it if new.
  public func protein(sha256: [UInt8], crc64: String, sequence: [UInt8]) throws -> Int64 {
    var crc = crc64
    return try sha256.withUnsafeBufferPointer { d in
      try crc.withUTF8 { c in try sequence.withUnsafeBufferPointer { try protein(sha256: d, crc64: c, sequence: $0) } }
    }
  }

  /// ``protein(sha256:crc64:sequence:)`` from bytes the caller owns for the duration of the call.
  public func protein(sha256: UnsafeBufferPointer<UInt8>, crc64: UnsafeBufferPointer<UInt8>,
                      sequence: UnsafeBufferPointer<UInt8>) throws -> Int64
  {
    insertProtein.bind(1, borrowedBlob: sha256)
    insertProtein.bind(2, borrowedText: crc64)
    insertProtein.bind(3, Int64(sequence.count))
    insertProtein.bind(4, borrowedText: sequence)
    if let id = try insertProtein.insertedRowID() {
      newProteins += 1
      return id
    }
    findProtein.bind(1, borrowedBlob: sha256)
    defer { findProtein.reset() }
    guard try findProtein.step() else { throw SQLiteError(code: 0, message: "protein vanished during insert", sql: nil) }
    return findProtein.int(0)
  }

  /// Returns the id of the entry (the first of `accessions` accessions, protein), inserting or
  /// completing it, and records its accessions (the first is the primary one).
  public func entry(_ e: EntryBytes, protein: Int64, accessions: Int,
                    accession: (Int) -> UnsafeBufferPointer<UInt8>) throws -> Int64
  {
    precondition(accessions > 0, "an entry has a primary accession")
    let primary = accession(0)
    let id: Int64
    if let new = try bindEntry(insertEntry, e, primary, protein: protein).insertedRowID() {
      id = new
    } else {
      try bindEntry(fillEntry, e, primary, protein: protein).execute()
      findEntry.bind(1, borrowedText: primary)
      findEntry.bind(2, protein)
      defer { findEntry.reset() }
      guard try findEntry.step() else { throw SQLiteError(code: 0, message: "entry vanished during upsert", sql: nil) }
      id = findEntry.int(0)
    }
    for k in 0..<accessions {
      pendingAccessions.append((keep(accession(k)), id, k == 0))
    }
    if pendingAccessions.count >= Self.pendingLimit { try flush() }
    return id
  }

  private func keep(_ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
    let start = pendingText.count
    pendingText.append(contentsOf: bytes)
    return start..<pendingText.count
  }

  /// Writes the accession and provenance rows collected so far.
  public func flush() throws {
    try pendingText.withUnsafeBufferPointer { text in
      func view(_ r: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: text[r]) }
      try insertAccession.insert(rows: pendingAccessions.count) { s, row, p in
        let a = pendingAccessions[row]
        s.bind(p, borrowedText: view(a.text))
        s.bind(p + 1, a.entry)
        s.bind(p + 2, Int64(a.primary ? 1 : 0))
      }
      try insertRecord.insert(rows: pendingRecords.count) { s, row, p in
        let r = pendingRecords[row]
        s.bind(p, r.source)
        s.bind(p + 1, r.recordNo)
        s.bind(p + 2, r.line)
        s.bind(p + 3, r.offset)
        s.bind(p + 4, r.protein)
        s.bind(p + 5, r.entry.map { Int($0) })
        s.bind(p + 6, borrowedText: r.label.map(view))
        s.bind(p + 7, r.run)
      }
    }
    pendingAccessions.removeAll(keepingCapacity: true)
    pendingRecords.removeAll(keepingCapacity: true)
    pendingText.removeAll(keepingCapacity: true)
  }

  private func bindEntry(_ s: Statement, _ e: EntryBytes, _ accession: UnsafeBufferPointer<UInt8>, protein: Int64)
    -> Statement
  {
    s.bind(1, protein)
    s.bind(2, borrowedText: accession)
    s.bind(3, borrowedText: e.entryName)
    s.bind(4, e.reviewed.map { $0 ? 1 : 0 })
    s.bind(5, borrowedText: e.proteinName)
    s.bind(6, borrowedText: e.gene)
    s.bind(7, borrowedText: e.organism)
    s.bind(8, e.taxonID)
    s.bind(9, borrowedText: e.lineage)
    s.bind(10, e.existence)
    s.bind(11, borrowedText: e.keywords)
    s.bind(12, e.sequenceVersion)
    s.bind(13, e.entryVersion)
    s.bind(14, Int64(e.fragment ? 1 : 0))
    s.bind(15, e.declaredMass)
    s.bind(16, borrowedText: e.names)
    s.bind(17, borrowedText: e.comments)
    s.bind(18, e.checksumKind)
    s.bind(19, e.declaredChecksum)
    return s
  }

  /// Provenance of one record (written by ``flush()`` at the latest).
  public func record(source: Int64, recordNo: Int, line: Int, offset: Int64, protein: Int64, entry: Int64?,
                     label: String?, run: Int64) throws
  {
    guard var label else {
      return try record(source: source, recordNo: recordNo, line: line, offset: offset, protein: protein, entry: entry,
                        label: nil as UnsafeBufferPointer<UInt8>?, run: run)
    }
    try label.withUTF8 {
      try record(source: source, recordNo: recordNo, line: line, offset: offset, protein: protein, entry: entry,
                 label: $0, run: run)
    }
  }

  /// ``record(source:recordNo:line:offset:protein:entry:label:run:)`` with the label as bytes.
  public func record(source: Int64, recordNo: Int, line: Int, offset: Int64, protein: Int64, entry: Int64?,
                     label: UnsafeBufferPointer<UInt8>?, run: Int64) throws
  {
    pendingRecords.append(PendingRecord(source: source, recordNo: Int64(recordNo), line: Int64(line), offset: offset,
                                        protein: protein, entry: entry, label: label.map(keep), run: run))
    if pendingRecords.count >= Self.pendingLimit { try flush() }
  }
}

/// Inserts several rows per statement (`VALUES (...), (...), ...`): SQLite's per-statement
/// overhead then counts once per group instead of once per row. Statements for each group size
/// are prepared on first use and kept.
final class MultiRowInsert {
  private let db: Database
  private let prefix: String
  private let columns: Int
  private let maxRows: Int
  @exclusivity(unchecked) private var statements: [Int: Statement] = [:]

  init(_ db: Database, _ prefix: String, columns: Int, maxRows: Int = 16) {
    self.db = db
    self.prefix = prefix
    self.columns = columns
    self.maxRows = maxRows
  }

  private func statement(rows: Int) throws -> Statement {
    if let s = statements[rows] { return s }
    let group = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
    let s = try db.prepare(prefix + " " + Array(repeating: group, count: rows).joined(separator: ", "))
    statements[rows] = s
    return s
  }

  /// Inserts `rows` rows; `bind(statement, row, firstParameter)` binds one row's columns.
  func insert(rows: Int, bind: (Statement, Int, Int32) -> Void) throws {
    var start = 0
    while start < rows {
      let n = min(maxRows, rows - start)
      let s = try statement(rows: n)
      for r in 0..<n { bind(s, start + r, Int32(r * columns + 1)) }
      try s.execute()
      start += n
    }
  }
}
