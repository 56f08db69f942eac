/// What the catalog keeps of one BindingDB row besides its ligand, target and measurements:
/// identifiers, names and the publication.
public struct BindingRow: Sendable {
  public var reactantSetID: Int64?
  public var monomerID: Int64?
  public var pubchemCID: Int64?
  public var chemblID: String?
  public var inchikey: String?
  public var ligandName: String?
  public var targetName: String?
  public var organism: String?
  /// The chains' UniProt ids as written: JSON array of [accession, entry name, name].
  public var chains: String?
  public var curation: String?
  public var doi: String?
  public var pmid: Int64?
  public var patent: String?
  public var institution: String?
  public var pubchemAID: Int64?
  public init() {}
}

/// One measured kind of a row: a relation and value, or (a cell that could not be read) the error.
public struct MeasurementRow: Sendable, Equatable {
  /// `Ki`, `IC50`, `Kd`, `EC50`, `kon`, `koff`, `pH` or `temp`.
  public var kind: String
  public var relation: String?
  public var value: Double?
  /// The cell as written.
  public var text: String
  public var error: String?
  /// pX = 9 − log10(nM) of an affinity; nil with the reason for a value that has none (≤ 0).
  public var pX: Double?
  public var pXReason: String?

  public init(kind: String, relation: String?, value: Double?, text: String, error: String?, pX: Double? = nil,
              pXReason: String? = nil)
  {
    self.kind = kind
    self.relation = relation
    self.value = value
    self.text = text
    self.error = error
    self.pX = pX
    self.pXReason = pXReason
  }
}

/// Writes targets, BindingDB rows and their measurements with prepared statements, inside the
/// caller's transactions. Every write is idempotent: targets are keyed by their chains, rows by
/// (source, record number), measurements by (source, record number, kind). Ligands and chains are
/// the catalog's molecules and proteins (``MoleculeWriter``, ``ProteinWriter``): one row each
/// whichever source brought them.
public final class BindingWriter {
  let db: Database
  private let insertTarget, findTarget, insertChain, insertRecord, insertMeasurement: Statement

  public init(catalog: Catalog) throws {
    db = catalog.db
    insertTarget = try db.prepare("INSERT INTO targets(key, chains) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
    findTarget = try db.prepare("SELECT id FROM targets WHERE key = ?")
    insertChain = try db.prepare("INSERT OR IGNORE INTO target_chains(target_id, ordinal, protein_id) VALUES (?, ?, ?)")
    insertRecord = try db.prepare("""
      INSERT OR IGNORE INTO binding_records(source_id, record_no, line, byte_offset, molecule_id, target_id,
        reactant_set_id, monomer_id, pubchem_cid, chembl_id, inchikey, ligand_name, target_name, organism, chains,
        curation, doi, pmid, patent, institution, pubchem_aid, run_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """)
    insertMeasurement = try db.prepare("""
      INSERT OR IGNORE INTO measurements(source_id, record_no, kind, molecule_id, target_id, relation, value, text, error,
        px, px_reason)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """)
  }

  /// Returns the id of the target with this key (the SHA-256 over its chains' sorted sequence
  /// digests), inserting it with its chains (protein ids in key order) if new.
  public func target(key: [UInt8], proteins: [Int64]) throws -> Int64 {
    try key.withUnsafeBufferPointer { k in
      insertTarget.bind(1, borrowedBlob: k)
      insertTarget.bind(2, Int64(proteins.count))
      if let id = try insertTarget.insertedRowID() {
        for (ordinal, protein) in proteins.enumerated() {
          try insertChain.run([.int(id), .int(Int64(ordinal)), .int(protein)])
        }
        return id
      }
      findTarget.bind(1, borrowedBlob: k)
      defer { findTarget.reset() }
      guard try findTarget.step() else { throw SQLiteError(code: 0, message: "target vanished", path: db.path, operation: "find target") }
      return findTarget.int(0)
    }
  }

  public func record(source: Int64, recordNo: Int, line: Int, offset: Int64, molecule: Int64, target: Int64,
                     _ r: BindingRow, run: Int64) throws
  {
    func int(_ v: Int64?) -> SQLValue { v.map { .int($0) } ?? .null }
    func text(_ v: String?) -> SQLValue { v.map { .text($0) } ?? .null }
    try insertRecord.run([
      .int(source), .int(Int64(recordNo)), .int(Int64(line)), .int(offset), .int(molecule), .int(target),
      int(r.reactantSetID), int(r.monomerID), int(r.pubchemCID), text(r.chemblID), text(r.inchikey), text(r.ligandName),
      text(r.targetName), text(r.organism), text(r.chains), text(r.curation), text(r.doi), int(r.pmid), text(r.patent),
      text(r.institution), int(r.pubchemAID), .int(run),
    ])
  }

  public func measurement(source: Int64, recordNo: Int, molecule: Int64, target: Int64, _ m: MeasurementRow) throws {
    try insertMeasurement.run([
      .int(source), .int(Int64(recordNo)), .text(m.kind), .int(molecule), .int(target),
      m.relation.map { .text($0) } ?? .null, m.value.map { .real($0) } ?? .null, .text(m.text),
      m.error.map { .text($0) } ?? .null, m.pX.map { .real($0) } ?? .null, m.pXReason.map { .text($0) } ?? .null,
    ])
  }
}
