/// One UniProt entry's annotations, as the catalog stores them.
public struct EntryRow: Sendable {
  public var accession: String
  public var secondaryAccessions: [String] = []
  public var entryName: String?
  public var reviewed: Bool?
  public var proteinName: String?
  public var names: [(kind: String, value: String)] = []
  public var gene: String?
  public var organism: String?
  public var taxonID: Int?
  public var lineage: String?
  public var existence: Int?
  public var keywords: [String] = []
  public var comments: [(topic: String, text: String)] = []
  public var sequenceVersion: Int?
  public var entryVersion: Int?
  public var fragment = false
  public var declaredMass: Int?

  public init(accession: String) { self.accession = accession }
}

/// Writes proteins, entries, provenance and quarantine rows with prepared statements.
/// Callers group calls into transactions (see ``Database/transaction(_:)``).
///
/// Every write is idempotent: proteins are keyed by sequence hash, entries by (accession,
/// protein), provenance and quarantine by (source, record number). Writing the same record
/// twice changes nothing; an entry seen again fills fields that were still empty.
public final class ProteinWriter {
  let db: Database
  /// Proteins this writer inserted (not found already in the catalog).
  public private(set) var newProteins = 0
  private let findProtein, insertProtein, upsertEntry, insertAccession, insertName,
    insertComment, insertRecord, insertQuarantine: Statement

  public init(catalog: Catalog) throws {
    db = catalog.db
    findProtein = try db.prepare("SELECT id FROM proteins WHERE sha256 = ?")
    insertProtein = try db.prepare("""
      INSERT INTO proteins(sha256, crc64, length, sequence) VALUES (?, ?, ?, ?)
      ON CONFLICT (sha256) DO NOTHING RETURNING id
      """)
    // One statement inserts a new entry or fills the empty fields of an existing one.
    upsertEntry = try db.prepare("""
      INSERT INTO entries(protein_id, accession, entry_name, reviewed, protein_name, gene, organism, taxon_id,
        lineage, existence, keywords, sequence_version, entry_version, fragment, declared_mass)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (accession, protein_id) DO UPDATE SET
        entry_name = COALESCE(entry_name, excluded.entry_name), reviewed = COALESCE(reviewed, excluded.reviewed),
        protein_name = COALESCE(protein_name, excluded.protein_name), gene = COALESCE(gene, excluded.gene),
        organism = COALESCE(organism, excluded.organism), taxon_id = COALESCE(taxon_id, excluded.taxon_id),
        lineage = COALESCE(lineage, excluded.lineage), existence = COALESCE(existence, excluded.existence),
        keywords = COALESCE(keywords, excluded.keywords),
        sequence_version = COALESCE(sequence_version, excluded.sequence_version),
        entry_version = COALESCE(entry_version, excluded.entry_version), fragment = MAX(fragment, excluded.fragment),
        declared_mass = COALESCE(declared_mass, excluded.declared_mass)
      RETURNING id
      """)
    insertAccession = try db.prepare("INSERT OR IGNORE INTO accessions(accession, entry_id, is_primary) VALUES (?, ?, ?)")
    insertName = try db.prepare("INSERT OR IGNORE INTO names(entry_id, kind, value) VALUES (?, ?, ?)")
    insertComment = try db.prepare("INSERT OR IGNORE INTO comments(entry_id, ordinal, topic, text) VALUES (?, ?, ?, ?)")
    insertRecord = try db.prepare("""
      INSERT OR IGNORE INTO records(source_id, record_no, line, byte_offset, protein_id, entry_id, label, run_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      """)
    insertQuarantine = try db.prepare("""
      INSERT OR IGNORE INTO quarantine(source_id, record_no, line, byte_offset, reason, excerpt, run_id)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      """)
  }

  /// Returns the id of the protein with this canonical sequence, inserting it if new.
  public func protein(sha256: [UInt8], crc64: String, sequence: [UInt8]) throws -> Int64 {
    insertProtein.bind(1, blob: sha256)
    insertProtein.bind(2, crc64)
    insertProtein.bind(3, Int64(sequence.count))
    try sequence.withUnsafeBufferPointer { try insertProtein.bindText(bytes: $0, at: 4) }
    defer { insertProtein.reset() }
    if try insertProtein.step() {
      newProteins += 1
      return insertProtein.int(0)
    }
    findProtein.bind(1, blob: sha256)
    defer { findProtein.reset() }
    guard try findProtein.step() else { throw SQLiteError(code: 0, message: "protein vanished during insert", sql: nil) }
    return findProtein.int(0)
  }

  /// Returns the id of the entry (accession, protein), inserting or completing it.
  public func entry(_ e: EntryRow, protein: Int64) throws -> Int64 {
    let s = upsertEntry
    s.bind(1, protein)
    s.bind(2, e.accession)
    s.bind(3, e.entryName)
    s.bind(4, e.reviewed.map { $0 ? 1 : 0 })
    s.bind(5, e.proteinName)
    s.bind(6, e.gene)
    s.bind(7, e.organism)
    s.bind(8, e.taxonID)
    s.bind(9, e.lineage)
    s.bind(10, e.existence)
    s.bind(11, e.keywords.isEmpty ? nil : e.keywords.joined(separator: "; "))
    s.bind(12, e.sequenceVersion)
    s.bind(13, e.entryVersion)
    s.bind(14, Int64(e.fragment ? 1 : 0))
    s.bind(15, e.declaredMass)
    guard try s.step() else { throw SQLiteError(code: 0, message: "entry upsert returned no id", sql: nil) }
    let id = s.int(0)
    s.reset()
    func accession(_ a: String, primary: Bool) throws {
      insertAccession.bind(1, a)
      insertAccession.bind(2, id)
      insertAccession.bind(3, Int64(primary ? 1 : 0))
      try insertAccession.execute()
    }
    try accession(e.accession, primary: true)
    for a in e.secondaryAccessions { try accession(a, primary: false) }
    for n in e.names {
      insertName.bind(1, id)
      insertName.bind(2, n.kind)
      insertName.bind(3, n.value)
      try insertName.execute()
    }
    for (i, c) in e.comments.enumerated() {
      insertComment.bind(1, id)
      insertComment.bind(2, Int64(i))
      insertComment.bind(3, c.topic)
      insertComment.bind(4, c.text)
      try insertComment.execute()
    }
    return id
  }

  /// Provenance of one record.
  public func record(source: Int64, recordNo: Int, line: Int, offset: Int64, protein: Int64, entry: Int64?,
                     label: String?, run: Int64) throws
  {
    insertRecord.bind(1, source)
    insertRecord.bind(2, Int64(recordNo))
    insertRecord.bind(3, Int64(line))
    insertRecord.bind(4, offset)
    insertRecord.bind(5, protein)
    insertRecord.bind(6, entry.map { Int($0) })
    insertRecord.bind(7, label)
    insertRecord.bind(8, run)
    try insertRecord.execute()
  }

  /// A record that could not be used.
  public func quarantine(source: Int64, recordNo: Int, line: Int, offset: Int64, reason: String, excerpt: String,
                         run: Int64) throws
  {
    try insertQuarantine.run([
      .int(source), .int(Int64(recordNo)), .int(Int64(line)), .int(offset), .text(reason),
      .text(String(excerpt.prefix(200))), .int(run),
    ])
  }
}
