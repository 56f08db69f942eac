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
  private let findProtein, insertProtein, findEntry, insertEntry, updateEntry, insertAccession, insertName,
    insertComment, insertRecord, insertQuarantine: Statement

  public init(catalog: Catalog) throws {
    db = catalog.db
    findProtein = try db.prepare("SELECT id FROM proteins WHERE sha256 = ?")
    insertProtein = try db.prepare("INSERT INTO proteins(sha256, crc64, length, sequence) VALUES (?, ?, ?, ?)")
    findEntry = try db.prepare("SELECT id FROM entries WHERE accession = ? AND protein_id = ?")
    insertEntry = try db.prepare("""
      INSERT INTO entries(protein_id, accession, entry_name, reviewed, protein_name, gene, organism, taxon_id,
        lineage, existence, keywords, sequence_version, entry_version, fragment, declared_mass)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """)
    updateEntry = try db.prepare("""
      UPDATE entries SET entry_name = COALESCE(entry_name, ?), reviewed = COALESCE(reviewed, ?),
        protein_name = COALESCE(protein_name, ?), gene = COALESCE(gene, ?), organism = COALESCE(organism, ?),
        taxon_id = COALESCE(taxon_id, ?), lineage = COALESCE(lineage, ?), existence = COALESCE(existence, ?),
        keywords = COALESCE(keywords, ?), sequence_version = COALESCE(sequence_version, ?),
        entry_version = COALESCE(entry_version, ?), fragment = MAX(fragment, ?),
        declared_mass = COALESCE(declared_mass, ?)
      WHERE id = ?
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
    try findProtein.bind([.blob(sha256)])
    if try findProtein.step() { return findProtein.int(0) }
    try insertProtein.bind([.blob(sha256), .text(crc64), .int(Int64(sequence.count))])
    try sequence.withUnsafeBufferPointer { try insertProtein.bindText(bytes: $0, at: 4) }
    while try insertProtein.step() {}
    newProteins += 1
    return db.lastInsertRowID
  }

  /// Returns the id of the entry (accession, protein), inserting or completing it.
  public func entry(_ e: EntryRow, protein: Int64) throws -> Int64 {
    func opt(_ v: Int?) -> SQLValue { v.map { .int(Int64($0)) } ?? .null }
    func opt(_ v: String?) -> SQLValue { v.map { .text($0) } ?? .null }
    func opt(_ v: Bool?) -> SQLValue { v.map { .int($0 ? 1 : 0) } ?? .null }
    let keywords: SQLValue = e.keywords.isEmpty ? .null : .text(e.keywords.joined(separator: "; "))
    let fields: [SQLValue] = [
      opt(e.entryName), opt(e.reviewed), opt(e.proteinName), opt(e.gene), opt(e.organism), opt(e.taxonID),
      opt(e.lineage), opt(e.existence), keywords, opt(e.sequenceVersion), opt(e.entryVersion),
      .int(e.fragment ? 1 : 0), opt(e.declaredMass),
    ]
    try findEntry.bind([.text(e.accession), .int(protein)])
    let id: Int64
    if try findEntry.step() {
      id = findEntry.int(0)
      try updateEntry.run(fields + [.int(id)])
    } else {
      try insertEntry.run([.int(protein), .text(e.accession)] + fields)
      id = db.lastInsertRowID
    }
    try insertAccession.run([.text(e.accession), .int(id), .int(1)])
    for a in e.secondaryAccessions { try insertAccession.run([.text(a), .int(id), .int(0)]) }
    for n in e.names { try insertName.run([.int(id), .text(n.kind), .text(n.value)]) }
    for (i, c) in e.comments.enumerated() {
      try insertComment.run([.int(id), .int(Int64(i)), .text(c.topic), .text(c.text)])
    }
    return id
  }

  /// Provenance of one record.
  public func record(source: Int64, recordNo: Int, line: Int, offset: Int64, protein: Int64, entry: Int64?,
                     label: String?, run: Int64) throws
  {
    try insertRecord.run([
      .int(source), .int(Int64(recordNo)), .int(Int64(line)), .int(offset), .int(protein),
      entry.map { .int($0) } ?? .null, label.map { .text($0) } ?? .null, .int(run),
    ])
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
