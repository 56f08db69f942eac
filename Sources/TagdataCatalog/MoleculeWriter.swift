/// One distinct structure, as the catalog stores it.
public struct MoleculeRow: Sendable {
  /// Canonical isomeric SMILES: the key.
  public var smiles: String
  /// Canonical SMILES without stereo and isotopes.
  public var connectivitySmiles: String
  public var formula: String
  public var heavyAtoms: Int

  public init(smiles: String, connectivitySmiles: String, formula: String, heavyAtoms: Int) {
    self.smiles = smiles
    self.connectivitySmiles = connectivitySmiles
    self.formula = formula
    self.heavyAtoms = heavyAtoms
  }
}

/// PubChem's identifiers and statements about one compound.
public struct CompoundRow: Sendable {
  public var cid: Int
  public var inchi: String?
  public var inchikey: String?
  public var formula: String?
  public var weight: String?
  /// PubChem's isomeric SMILES as given.
  public var pubchemSmiles: String?
  /// Our canonical form of it.
  public var pubchemSmilesCanonical: String?
  /// Why it could not be read, when it could not.
  public var pubchemSmilesError: String?

  public init(cid: Int) { self.cid = cid }
}

/// Writes molecules, PubChem compounds and molecule provenance with prepared statements, inside
/// the caller's transactions. Every write is idempotent: molecules are keyed by canonical
/// SMILES, compounds by (CID, molecule), provenance by (source, record number); a compound seen
/// again fills fields that were still empty.
public final class MoleculeWriter {
  let db: Database
  /// Molecules this writer inserted (not found already in the catalog).
  @exclusivity(unchecked) public private(set) var newMolecules = 0
  private let insertMolecule, findMolecule, insertCompound, fillCompound, findCompound, insertRecord: Statement

  public init(catalog: Catalog) throws {
    db = catalog.db
    insertMolecule = try db.prepare("""
      INSERT INTO molecules(smiles, connectivity_smiles, formula, heavy_atoms) VALUES (?, ?, ?, ?)
      ON CONFLICT (smiles) DO NOTHING
      """)
    findMolecule = try db.prepare("SELECT id FROM molecules WHERE smiles = ?")
    // A new compound is inserted; one already there has its empty fields filled by the upsert.
    let compoundInsert = """
      INSERT INTO compounds(molecule_id, cid, inchi, inchikey, formula, weight, pubchem_smiles,
        pubchem_smiles_canonical, pubchem_smiles_error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      """
    insertCompound = try db.prepare(compoundInsert + " ON CONFLICT (cid, molecule_id) DO NOTHING")
    fillCompound = try db.prepare(compoundInsert + """
      ON CONFLICT (cid, molecule_id) DO UPDATE SET
        inchi = COALESCE(inchi, excluded.inchi), inchikey = COALESCE(inchikey, excluded.inchikey),
        formula = COALESCE(formula, excluded.formula), weight = COALESCE(weight, excluded.weight),
        pubchem_smiles = COALESCE(pubchem_smiles, excluded.pubchem_smiles),
        pubchem_smiles_canonical = COALESCE(pubchem_smiles_canonical, excluded.pubchem_smiles_canonical),
        pubchem_smiles_error = COALESCE(pubchem_smiles_error, excluded.pubchem_smiles_error)
      """)
    findCompound = try db.prepare("SELECT id FROM compounds WHERE cid = ? AND molecule_id = ?")
    insertRecord = try db.prepare("""
      INSERT OR IGNORE INTO molecule_records(source_id, record_no, line, byte_offset, molecule_id, compound_id, title, run_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      """)
  }

  /// Returns the id of the molecule with this canonical SMILES, inserting it if new.
  public func molecule(_ m: MoleculeRow) throws -> Int64 {
    insertMolecule.bind(1, m.smiles)
    insertMolecule.bind(2, m.connectivitySmiles)
    insertMolecule.bind(3, m.formula)
    insertMolecule.bind(4, Int64(m.heavyAtoms))
    if let id = try insertMolecule.insertedRowID() {
      newMolecules += 1
      return id
    }
    findMolecule.bind(1, m.smiles)
    defer { findMolecule.reset() }
    guard try findMolecule.step() else { throw SQLiteError(code: 0, message: "molecule vanished during insert", sql: nil) }
    return findMolecule.int(0)
  }

  /// Returns the id of the compound (CID, molecule), inserting or completing it.
  public func compound(_ c: CompoundRow, molecule: Int64) throws -> Int64 {
    if let id = try bindCompound(insertCompound, c, molecule: molecule).insertedRowID() { return id }
    try bindCompound(fillCompound, c, molecule: molecule).execute()
    findCompound.bind(1, Int64(c.cid))
    findCompound.bind(2, molecule)
    defer { findCompound.reset() }
    guard try findCompound.step() else { throw SQLiteError(code: 0, message: "compound vanished during upsert", sql: nil) }
    return findCompound.int(0)
  }

  private func bindCompound(_ s: Statement, _ c: CompoundRow, molecule: Int64) -> Statement {
    s.bind(1, molecule)
    s.bind(2, Int64(c.cid))
    s.bind(3, c.inchi)
    s.bind(4, c.inchikey)
    s.bind(5, c.formula)
    s.bind(6, c.weight)
    s.bind(7, c.pubchemSmiles)
    s.bind(8, c.pubchemSmilesCanonical)
    s.bind(9, c.pubchemSmilesError)
    return s
  }

  /// Provenance of one molecule record.
  public func record(source: Int64, recordNo: Int, line: Int, offset: Int64, molecule: Int64, compound: Int64?,
                     title: String?, run: Int64) throws
  {
    insertRecord.bind(1, source)
    insertRecord.bind(2, Int64(recordNo))
    insertRecord.bind(3, Int64(line))
    insertRecord.bind(4, offset)
    insertRecord.bind(5, molecule)
    insertRecord.bind(6, compound.map { Int($0) })
    insertRecord.bind(7, title)
    insertRecord.bind(8, run)
    try insertRecord.execute()
  }
}
