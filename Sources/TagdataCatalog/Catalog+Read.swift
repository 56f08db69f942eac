/// The catalog's read API: what the stage builders and the CLI read, streamed row by row (one
/// query, no row kept after `body` returns) in a stable order, with filters. `body` returns false
/// to stop early.
extension Catalog {
  /// A distinct canonical sequence.
  public struct StoredProtein: Sendable, Equatable {
    /// SHA-256 of the canonical sequence, 64 lower-case hex digits: the protein's key.
    public var sha256: String
    /// UniProt's CRC64 of the sequence, 16 upper-case hex digits.
    public var crc64: String
    public var length: Int
    public var sequence: String
  }

  /// Which proteins to read.
  public struct ProteinFilter: Sendable {
    public var minLength: Int?
    public var maxLength: Int?
    public init(minLength: Int? = nil, maxLength: Int? = nil) {
      self.minLength = minLength
      self.maxLength = maxLength
    }
  }

  /// Proteins in the order of their key (SHA-256).
  public func forEachProtein(_ filter: ProteinFilter = ProteinFilter(), _ body: (StoredProtein) throws -> Bool) throws {
    let s = try db.prepare("""
      SELECT lower(hex(sha256)), crc64, length, sequence FROM proteins
      WHERE (?1 IS NULL OR length >= ?1) AND (?2 IS NULL OR length <= ?2) ORDER BY sha256
      """)
    s.bind(1, filter.minLength)
    s.bind(2, filter.maxLength)
    while try s.step() {
      let row = StoredProtein(sha256: s.text(0) ?? "", crc64: s.text(1) ?? "", length: Int(s.int(2)), sequence: s.text(3) ?? "")
      if try !body(row) { break }
    }
  }

  /// A UniProt entry (an accession of a protein) with the fields the stage builders use.
  public struct StoredEntry: Sendable, Equatable {
    public var accession: String
    /// The key of its protein (``StoredProtein/sha256``).
    public var proteinSHA256: String
    public var entryName: String?
    public var reviewed: Bool?
    public var proteinName: String?
    public var gene: String?
    public var organism: String?
    public var taxonID: Int?
    /// Protein existence level, 1 (evidence at protein level) to 5 (uncertain).
    public var existence: Int?
    /// Keywords joined with "; ", sorted.
    public var keywords: String?
    public var fragment: Bool
  }

  /// Which entries to read.
  public struct EntryFilter: Sendable {
    /// Only Swiss-Prot (true) or only TrEMBL (false) entries.
    public var reviewed: Bool?
    public var taxonID: Int?
    public init(reviewed: Bool? = nil, taxonID: Int? = nil) {
      self.reviewed = reviewed
      self.taxonID = taxonID
    }
  }

  /// Entries in the order of accession, then protein.
  public func forEachEntry(_ filter: EntryFilter = EntryFilter(), _ body: (StoredEntry) throws -> Bool) throws {
    let s = try db.prepare("""
      SELECT e.accession, lower(hex(p.sha256)), e.entry_name, e.reviewed, e.protein_name, e.gene, e.organism, e.taxon_id,
        e.existence, e.keywords, e.fragment
      FROM entries e JOIN proteins p ON p.id = e.protein_id
      WHERE (?1 IS NULL OR e.reviewed = ?1) AND (?2 IS NULL OR e.taxon_id = ?2)
      ORDER BY e.accession, p.sha256
      """)
    s.bind(1, filter.reviewed.map { $0 ? 1 : 0 })
    s.bind(2, filter.taxonID)
    while try s.step() {
      func int(_ i: Int32) -> Int? { s.isNull(i) ? nil : Int(s.int(i)) }
      let row = StoredEntry(accession: s.text(0) ?? "", proteinSHA256: s.text(1) ?? "", entryName: s.text(2),
                            reviewed: int(3).map { $0 != 0 }, proteinName: s.text(4), gene: s.text(5), organism: s.text(6),
                            taxonID: int(7), existence: int(8), keywords: s.text(9), fragment: s.int(10) != 0)
      if try !body(row) { break }
    }
  }

  /// A distinct molecule (canonical isomeric SMILES).
  public struct StoredMolecule: Sendable, Equatable {
    public var smiles: String
    /// The canonical SMILES without stereo and isotopes.
    public var connectivitySmiles: String
    /// Hill formula.
    public var formula: String
    public var heavyAtoms: Int
  }

  /// Which molecules to read.
  public struct MoleculeFilter: Sendable {
    public var minHeavyAtoms: Int?
    public var maxHeavyAtoms: Int?
    public init(minHeavyAtoms: Int? = nil, maxHeavyAtoms: Int? = nil) {
      self.minHeavyAtoms = minHeavyAtoms
      self.maxHeavyAtoms = maxHeavyAtoms
    }
  }

  /// Molecules in the order of their SMILES.
  public func forEachMolecule(_ filter: MoleculeFilter = MoleculeFilter(), _ body: (StoredMolecule) throws -> Bool) throws {
    let s = try db.prepare("""
      SELECT smiles, connectivity_smiles, formula, heavy_atoms FROM molecules
      WHERE (?1 IS NULL OR heavy_atoms >= ?1) AND (?2 IS NULL OR heavy_atoms <= ?2) ORDER BY smiles
      """)
    s.bind(1, filter.minHeavyAtoms)
    s.bind(2, filter.maxHeavyAtoms)
    while try s.step() {
      let row = StoredMolecule(smiles: s.text(0) ?? "", connectivitySmiles: s.text(1) ?? "", formula: s.text(2) ?? "",
                               heavyAtoms: Int(s.int(3)))
      if try !body(row) { break }
    }
  }

  /// A record that could not be used, where it is and why.
  public struct QuarantinedRecord: Sendable, Equatable {
    /// The input as the source was identified (absolute path, or `-` for standard input).
    public var path: String
    /// 0-based position among the file's records.
    public var recordIndex: Int
    /// The line of the damage.
    public var line: Int
    /// Byte offset of the record in the decompressed input.
    public var offset: Int64
    public var reason: String
    public var excerpt: String
  }

  /// Quarantined records by input path and record; `path` nil: of every input.
  public func forEachQuarantined(path: String? = nil, _ body: (QuarantinedRecord) throws -> Bool) throws {
    let s = try db.prepare("""
      SELECT s.path, q.record_no, q.line, q.byte_offset, q.reason, q.excerpt FROM quarantine q
      JOIN sources s ON s.id = q.source_id WHERE (?1 IS NULL OR s.path = ?1) ORDER BY s.path, q.record_no
      """)
    s.bind(1, path)
    while try s.step() {
      let row = QuarantinedRecord(path: s.text(0) ?? "", recordIndex: Int(s.int(1)), line: Int(s.int(2)), offset: s.int(3),
                                  reason: s.text(4) ?? "", excerpt: s.text(5) ?? "")
      if try !body(row) { break }
    }
  }
}
