#if canImport(Glibc)
import Glibc
#endif
import CSQLite3

/// The tagdata catalog: one SQLite file holding deduplicated proteins, their UniProt entries,
/// and the provenance of every record ever ingested.
///
/// Tables (schema version 1; see `Schemas/catalog.sql` for the annotated DDL):
/// - `runs`: one row per `tagdata ingest` invocation.
/// - `sources`: one row per input file, with its ingest checkpoint (`records_done`,
///   `next_offset`, `next_line`), status and, once complete, the SHA-256 of its decompressed
///   content.
/// - `proteins`: canonical sequences, keyed by their SHA-256; CRC64 and length alongside.
/// - `entries`: UniProt entries (accession + protein), with names, organism and free text in
///   `accessions`, `names` and `comments`.
/// - `records`: provenance, one row per record read (source, record number, line, byte offset).
/// - `quarantine`: records that could not be used, with the reason and an excerpt.
///
/// Schema version 2 adds molecules:
/// - `molecules`: distinct structures keyed by canonical isomeric SMILES, with the canonical
///   SMILES without stereo and isotopes (`connectivity_smiles`), formula and heavy-atom count.
/// - `compounds`: PubChem identifiers of a molecule (CID, InChI, InChIKey, formula, weight as
///   PubChem states them) and PubChem's own isomeric SMILES with our canonical form of it; the
///   view `pubchem_smiles_disagreements` lists the compounds where that differs from the
///   structure read from the connection table.
/// - `molecule_records`: provenance of every molecule record.
///
/// Schema version 3 keeps an entry's protein names and free-text comments on the entry itself,
/// as JSON arrays of `[kind, value]` and `[topic, text]` (`entries.names`, `entries.comments`):
/// one row per entry instead of a dozen, which was most of the write time of an ingest. The
/// views `names` and `comments` give them back as rows, with the columns the tables had.
///
/// Schema version 4 keeps the checksum an entry declared; version 5 adds `labels`: computed
/// descriptors of molecules and proteins (a number, a text, or no value and the reason), each
/// with the version of the definition that computed it.
///
/// Schema version 6 adds binding measurements: `targets` (a set of protein chains, keyed by the
/// SHA-256 of its chains' sequence digests in sorted order), `target_chains`, `binding_records`
/// (provenance of each BindingDB row, with its identifiers and publication) and `measurements`
/// (one per measured kind of a row: relation, value in the kind's unit, the cell as written; a
/// cell that could not be read keeps its text and the error instead of a value).
///
/// Schema version 7 adds labelled tables: `tables` (a source read as a table, with the name and
/// JSON of its column mapping), `table_rows` (provenance) and `table_values` (one per mapped cell:
/// a molecule, a protein, a text, a language code, a number or an identifier).
///
/// Schema version 8 adds `partition_ranges`: for each source read by a partitioned ingest
/// (`tagdata ingest --partition i/N`), the partition, the byte range of the file it read (NULL
/// end: the whole file), and the records and lines in that range. The source of a range is keyed
/// by the file's identity with ` range START-END` appended to its policy; its records are
/// numbered from 0 and its lines from 1 at the range's start, and its byte offsets are the
/// file's. `tagdata catalog merge` turns them back into one source per file, records and lines
/// numbered as a single read of the whole file numbers them.
public final class Catalog {
  /// The connection. Package code (tests) may query it; callers outside use the catalog's API.
  package let db: Database
  public static let schemaVersion: Int64 = 9

  /// Opens or creates a catalog and brings its schema up to date.
  ///
  /// A database that is neither empty nor a tagdata catalog is refused, unchanged (kind
  /// `.notACatalog`). Creation and migration hold the write lock (`BEGIN IMMEDIATE`, waiting
  /// for other writers up to the busy timeout), so processes that create the same new catalog
  /// at once all succeed: the first creates it, the others find it made.
  public init(path: String, readOnly: Bool = false) throws {
    Database.configureLibrary()
    db = try Database(path: path, readOnly: readOnly)
    // Before anything writes to the file: is it ours (or empty)?
    let empty = try checkIsCatalogOrEmpty(readOnly: readOnly)
    if !readOnly {
      do {
        if empty {
          // 16 KiB pages: a quarter of the write calls of the 4 KiB default for bulk loads (set before WAL, on a new file).
          try db.execute("PRAGMA page_size=16384")
          // A new, empty file is set up without waiting for the disk (half a dozen syncs): a power
          // cut in these milliseconds can only cost an empty catalog. Then the usual durability.
          try db.execute("PRAGMA synchronous=OFF")
        }
        // Switching to WAL takes an exclusive lock; another process creating the same catalog may
        // hold it for a moment (SQLite does not always wait here on its own).
        if try db.text("PRAGMA journal_mode") != "wal" { try retryWhileBusy { try db.execute("PRAGMA journal_mode=WAL") } }
        try db.execute("PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=2048")
        try migrate()
        try db.execute("PRAGMA synchronous=NORMAL")
      } catch var e as SQLiteError {
        if e.operation == nil || e.operation?.hasPrefix("PRAGMA") == true { e.operation = "set up the catalog" }
        throw e
      }
    }
  }

  /// Runs `body`, again while it fails with SQLITE_BUSY, for up to ten seconds.
  private func retryWhileBusy(_ body: () throws -> Void) throws {
    var start = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    while true {
      do {
        return try body()
      } catch let e as SQLiteError where e.kind == .busy {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        if now.tv_sec - start.tv_sec >= 10 { throw e }
        usleep(10_000)
      }
    }
  }

  /// Throws `.notACatalog` for a database with tables that is not a tagdata catalog (or not a
  /// database at all); returns whether it is empty.
  private func checkIsCatalogOrEmpty(readOnly: Bool) throws -> Bool {
    var version: Int64 = 0, tables: Int64 = 0, ours: Int64 = 0
    do {
      // One statement: one consistent snapshot, even while another process creates the catalog.
      let s = try db.prepare("""
        SELECT (SELECT user_version FROM pragma_user_version), count(*),
          COALESCE(sum(type = 'table' AND name IN ('runs', 'sources')), 0) FROM sqlite_schema
        """)
      if try s.step() {
        version = s.int(0)
        tables = s.int(1)
        ours = s.int(2)
      }
    } catch var e as SQLiteError {
      e.operation = "read the schema"
      if e.kind == .notACatalog { e.message = "not an SQLite database" }
      throw e
    }
    let notOurs = SQLiteError(code: SQLITE_NOTADB, message: tables == 0 ? "an empty database, not a tagdata catalog"
                                : "a database with \(tables) tables and indexes of its own, not a tagdata catalog (left unchanged)",
                              path: db.path, operation: "open", kind: .notACatalog)
    if tables == 0 && version == 0 {
      if readOnly { throw notOurs }
      return true
    }
    if version > Int64(Self.migrations.count) {
      throw SQLiteError(code: 0, message: "schema version \(version), newer than this tagdata's (\(Self.migrations.count))",
                        path: db.path, operation: "open", kind: .newerSchema)
    }
    if version == 0 || ours < 2 { throw notOurs }
    return false
  }

  /// Ordered migrations; migration i brings the schema from version i to i + 1.
  public static let migrations: [String] = [
    """
    CREATE TABLE runs(
      id INTEGER PRIMARY KEY,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      tool_version TEXT NOT NULL,
      arguments TEXT NOT NULL);
    CREATE TABLE sources(
      id INTEGER PRIMARY KEY,
      path TEXT NOT NULL,
      size INTEGER,
      mtime_ns INTEGER,
      head_sha256 TEXT NOT NULL,
      compression TEXT NOT NULL,
      format TEXT NOT NULL,
      policy TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('partial', 'complete', 'failed')),
      records_done INTEGER NOT NULL DEFAULT 0,
      next_offset INTEGER NOT NULL DEFAULT 0,
      next_line INTEGER NOT NULL DEFAULT 1,
      content_sha256 TEXT,
      error TEXT,
      first_run INTEGER NOT NULL REFERENCES runs(id),
      last_run INTEGER NOT NULL REFERENCES runs(id),
      UNIQUE (path, size, mtime_ns, head_sha256, policy));
    CREATE TABLE proteins(
      id INTEGER PRIMARY KEY,
      sha256 BLOB NOT NULL UNIQUE,
      crc64 TEXT NOT NULL,
      length INTEGER NOT NULL,
      sequence TEXT NOT NULL);
    CREATE TABLE entries(
      id INTEGER PRIMARY KEY,
      protein_id INTEGER NOT NULL REFERENCES proteins(id),
      accession TEXT NOT NULL,
      entry_name TEXT,
      reviewed INTEGER,
      protein_name TEXT,
      gene TEXT,
      organism TEXT,
      taxon_id INTEGER,
      lineage TEXT,
      existence INTEGER,
      keywords TEXT,
      sequence_version INTEGER,
      entry_version INTEGER,
      fragment INTEGER NOT NULL DEFAULT 0,
      declared_mass INTEGER,
      UNIQUE (accession, protein_id));
    CREATE TABLE accessions(
      accession TEXT NOT NULL,
      entry_id INTEGER NOT NULL REFERENCES entries(id),
      is_primary INTEGER NOT NULL,
      PRIMARY KEY (accession, entry_id)) WITHOUT ROWID;
    CREATE TABLE names(
      entry_id INTEGER NOT NULL REFERENCES entries(id),
      kind TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (entry_id, kind, value)) WITHOUT ROWID;
    CREATE TABLE comments(
      entry_id INTEGER NOT NULL REFERENCES entries(id),
      ordinal INTEGER NOT NULL,
      topic TEXT NOT NULL,
      text TEXT NOT NULL,
      PRIMARY KEY (entry_id, ordinal)) WITHOUT ROWID;
    CREATE TABLE records(
      source_id INTEGER NOT NULL REFERENCES sources(id),
      record_no INTEGER NOT NULL,
      line INTEGER NOT NULL,
      byte_offset INTEGER NOT NULL,
      protein_id INTEGER NOT NULL REFERENCES proteins(id),
      entry_id INTEGER REFERENCES entries(id),
      label TEXT,
      run_id INTEGER NOT NULL REFERENCES runs(id),
      PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
    CREATE INDEX records_by_protein ON records(protein_id);
    CREATE TABLE quarantine(
      source_id INTEGER NOT NULL REFERENCES sources(id),
      record_no INTEGER NOT NULL,
      line INTEGER NOT NULL,
      byte_offset INTEGER NOT NULL,
      reason TEXT NOT NULL,
      excerpt TEXT NOT NULL,
      run_id INTEGER NOT NULL REFERENCES runs(id),
      PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
    """,
    """
    CREATE TABLE molecules(
      id INTEGER PRIMARY KEY,
      smiles TEXT NOT NULL UNIQUE,
      connectivity_smiles TEXT NOT NULL,
      formula TEXT NOT NULL,
      heavy_atoms INTEGER NOT NULL);
    CREATE INDEX molecules_by_connectivity ON molecules(connectivity_smiles);
    CREATE TABLE compounds(
      id INTEGER PRIMARY KEY,
      molecule_id INTEGER NOT NULL REFERENCES molecules(id),
      cid INTEGER NOT NULL,
      inchi TEXT,
      inchikey TEXT,
      formula TEXT,
      weight TEXT,
      pubchem_smiles TEXT,
      pubchem_smiles_canonical TEXT,
      pubchem_smiles_error TEXT,
      UNIQUE (cid, molecule_id));
    CREATE INDEX compounds_by_inchikey ON compounds(inchikey);
    CREATE TABLE molecule_records(
      source_id INTEGER NOT NULL REFERENCES sources(id),
      record_no INTEGER NOT NULL,
      line INTEGER NOT NULL,
      byte_offset INTEGER NOT NULL,
      molecule_id INTEGER NOT NULL REFERENCES molecules(id),
      compound_id INTEGER REFERENCES compounds(id),
      title TEXT,
      run_id INTEGER NOT NULL REFERENCES runs(id),
      PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
    CREATE INDEX molecule_records_by_molecule ON molecule_records(molecule_id);
    CREATE VIEW pubchem_smiles_disagreements AS
      SELECT c.cid, m.smiles AS smiles, c.pubchem_smiles_canonical, c.pubchem_smiles, c.pubchem_smiles_error
      FROM compounds c JOIN molecules m ON m.id = c.molecule_id
      WHERE c.pubchem_smiles IS NOT NULL
        AND (c.pubchem_smiles_canonical IS NULL OR c.pubchem_smiles_canonical <> m.smiles);
    """,
    """
    ALTER TABLE entries ADD COLUMN names TEXT;
    ALTER TABLE entries ADD COLUMN comments TEXT;
    UPDATE entries SET
      names = (SELECT NULLIF(json_group_array(json_array(kind, value)), '[]')
               FROM (SELECT kind, value FROM names n WHERE n.entry_id = entries.id ORDER BY kind, value)),
      comments = (SELECT NULLIF(json_group_array(json_array(topic, text)), '[]')
                  FROM (SELECT topic, text FROM comments c WHERE c.entry_id = entries.id ORDER BY ordinal));
    DROP TABLE names;
    DROP TABLE comments;
    CREATE VIEW names(entry_id, kind, value) AS
      SELECT e.id, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')
      FROM entries e, json_each(e.names) j;
    CREATE VIEW comments(entry_id, ordinal, topic, text) AS
      SELECT e.id, j.key, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')
      FROM entries e, json_each(e.comments) j;
    """,
    // Which checksum the entry declared (crc64, or crc32 for Swiss-Prot before 2001) and its value.
    """
    ALTER TABLE entries ADD COLUMN checksum_kind TEXT CHECK (checksum_kind IN ('crc64', 'crc32'));
    ALTER TABLE entries ADD COLUMN declared_checksum TEXT;
    """,
    // Computed labels (descriptors) of molecules and proteins.
    """
    CREATE TABLE labels(
      entity TEXT NOT NULL CHECK (entity IN ('molecule', 'protein')),
      name TEXT NOT NULL,
      entity_id INTEGER NOT NULL,
      value REAL,
      text TEXT,
      reason TEXT,
      version TEXT NOT NULL,
      run_id INTEGER REFERENCES runs(id),
      CHECK ((value IS NOT NULL) + (text IS NOT NULL) + (reason IS NOT NULL) = 1),
      PRIMARY KEY (entity, name, entity_id)) WITHOUT ROWID;
    CREATE INDEX labels_by_entity ON labels(entity, entity_id);
    """,    // Binding measurements (BindingDB): targets as sets of protein chains, one provenance row
    // per BindingDB row, one measurement row per measured kind of the row.
    """
    CREATE TABLE targets(
      id INTEGER PRIMARY KEY,
      key BLOB NOT NULL UNIQUE,
      chains INTEGER NOT NULL);
    CREATE TABLE target_chains(
      target_id INTEGER NOT NULL REFERENCES targets(id),
      ordinal INTEGER NOT NULL,
      protein_id INTEGER NOT NULL REFERENCES proteins(id),
      PRIMARY KEY (target_id, ordinal)) WITHOUT ROWID;
    CREATE INDEX target_chains_by_protein ON target_chains(protein_id);
    CREATE TABLE binding_records(
      source_id INTEGER NOT NULL REFERENCES sources(id),
      record_no INTEGER NOT NULL,
      line INTEGER NOT NULL,
      byte_offset INTEGER NOT NULL,
      molecule_id INTEGER NOT NULL REFERENCES molecules(id),
      target_id INTEGER NOT NULL REFERENCES targets(id),
      reactant_set_id INTEGER,
      monomer_id INTEGER,
      pubchem_cid INTEGER,
      chembl_id TEXT,
      inchikey TEXT,
      ligand_name TEXT,
      target_name TEXT,
      organism TEXT,
      chains TEXT,
      curation TEXT,
      doi TEXT,
      pmid INTEGER,
      patent TEXT,
      institution TEXT,
      pubchem_aid INTEGER,
      run_id INTEGER NOT NULL REFERENCES runs(id),
      PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
    CREATE INDEX binding_records_by_pair ON binding_records(molecule_id, target_id);
    CREATE TABLE measurements(
      source_id INTEGER NOT NULL,
      record_no INTEGER NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('Ki', 'IC50', 'Kd', 'EC50', 'kon', 'koff', 'pH', 'temp')),
      molecule_id INTEGER NOT NULL REFERENCES molecules(id),
      target_id INTEGER NOT NULL REFERENCES targets(id),
      relation TEXT CHECK (relation IN ('=', '<', '>', '<=', '>=', '~')),
      value REAL,
      text TEXT NOT NULL,
      error TEXT,
      px REAL,
      px_reason TEXT,
      CHECK ((value IS NULL) = (error IS NOT NULL) AND (value IS NULL) = (relation IS NULL)),
      PRIMARY KEY (source_id, record_no, kind),
      FOREIGN KEY (source_id, record_no) REFERENCES binding_records(source_id, record_no)) WITHOUT ROWID;
    CREATE INDEX measurements_by_pair ON measurements(molecule_id, target_id, kind);
    """,    // Labelled tables (TDC layouts, parallel text, users' own CSV/TSV).
    """
    CREATE TABLE tables(
      source_id INTEGER PRIMARY KEY REFERENCES sources(id),
      name TEXT NOT NULL,
      mapping TEXT NOT NULL);
    CREATE TABLE table_rows(
      source_id INTEGER NOT NULL REFERENCES sources(id),
      record_no INTEGER NOT NULL,
      line INTEGER NOT NULL,
      byte_offset INTEGER NOT NULL,
      run_id INTEGER NOT NULL REFERENCES runs(id),
      PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
    CREATE TABLE table_values(
      source_id INTEGER NOT NULL,
      record_no INTEGER NOT NULL,
      ordinal INTEGER NOT NULL,
      field TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('smiles', 'protein', 'text', 'language', 'number', 'id')),
      molecule_id INTEGER REFERENCES molecules(id),
      protein_id INTEGER REFERENCES proteins(id),
      text TEXT,
      number REAL,
      PRIMARY KEY (source_id, record_no, ordinal),
      FOREIGN KEY (source_id, record_no) REFERENCES table_rows(source_id, record_no)) WITHOUT ROWID;
    CREATE INDEX table_values_by_molecule ON table_values(molecule_id) WHERE molecule_id IS NOT NULL;
    CREATE INDEX table_values_by_protein ON table_values(protein_id) WHERE protein_id IS NOT NULL;
    """,
    // Partitioned ingest: the work unit each source of a partition's catalog read (a whole file,
    // or a byte range of one), with the counts the merge numbers records and lines by.
    """
    CREATE TABLE partition_ranges(
      source_id INTEGER PRIMARY KEY REFERENCES sources(id),
      partition INTEGER NOT NULL,
      partitions INTEGER NOT NULL,
      file_policy TEXT NOT NULL,
      range_start INTEGER NOT NULL,
      range_end INTEGER,
      records INTEGER NOT NULL,
      lines INTEGER NOT NULL,
      run_id INTEGER NOT NULL REFERENCES runs(id));
    """,
    // What each molecule is grouped by in leakage-free splits (its parent and Bemis-Murcko
    // scaffold), worked out once per molecule (`tagdata catalog groups`), under the definition's version.
    """
    CREATE TABLE molecule_groups(
      molecule_id INTEGER PRIMARY KEY REFERENCES molecules(id),
      parent TEXT NOT NULL,
      scaffold TEXT NOT NULL,
      version TEXT NOT NULL);
    """,
  ]

  /// Brings the schema up to date under the write lock: the version is read inside the
  /// transaction, so a concurrent creator's work is seen, not repeated.
  func migrate() throws {
    // Up to date already (the common case): no write lock needed.
    if try db.scalar("PRAGMA user_version") ?? 0 == Int64(Self.migrations.count) { return }
    do {
      try db.transaction {
        let version = try db.scalar("PRAGMA user_version") ?? 0
        if version > Int64(Self.migrations.count) {
          throw SQLiteError(code: 0, message: "schema version \(version), newer than this tagdata's (\(Self.migrations.count))",
                            path: db.path, operation: "open", kind: .newerSchema)
        }
        for v in Int(version)..<Self.migrations.count {
          try db.execute(Self.migrations[v])
          try db.execute("PRAGMA user_version = \(v + 1)")
        }
      }
    } catch var e as SQLiteError where e.kind != .newerSchema {
      e.operation = "create or migrate the schema"
      throw e
    }
  }

  // MARK: - Runs and sources

  /// Starts a run; returns its id.
  public func beginRun(toolVersion: String, arguments: String, now: String) throws -> Int64 {
    try db.prepare("INSERT INTO runs(started_at, tool_version, arguments) VALUES (?, ?, ?)")
      .run([.text(now), .text(toolVersion), .text(arguments)])
    return db.lastInsertRowID
  }

  public func finishRun(_ id: Int64, now: String) throws {
    try db.prepare("UPDATE runs SET finished_at = ? WHERE id = ?").run([.text(now), .int(id)])
  }

  /// The identity of an input file, used to recognise it again on a later run.
  public struct SourceKey: Sendable, Equatable {
    public var path: String
    public var size: Int64?
    public var mtimeNanoseconds: Int64?
    public var headSHA256: String
    public var policy: String
    public init(path: String, size: Int64?, mtimeNanoseconds: Int64?, headSHA256: String, policy: String) {
      self.path = path
      self.size = size
      self.mtimeNanoseconds = mtimeNanoseconds
      self.headSHA256 = headSHA256
      self.policy = policy
    }
  }

  /// A source row.
  public struct SourceState: Sendable, Equatable {
    public var id: Int64
    public var status: String
    public var recordsDone: Int
    public var nextOffset: Int64
    public var nextLine: Int
    /// SHA-256 of the whole decompressed content, once the source is complete.
    public var contentSHA256: String? = nil
  }

  /// Finds a source by identity. A stream (standard input from a pipe, a FIFO) has no size or
  /// modification time: it is known by its path and the hash of its first bytes alone.
  public func findSource(_ key: SourceKey) throws -> SourceState? {
    let s = try db.prepare("""
      SELECT id, status, records_done, next_offset, next_line, content_sha256 FROM sources
      WHERE path = ? AND size IS ? AND mtime_ns IS ? AND head_sha256 = ? AND policy = ?
      ORDER BY id DESC LIMIT 1
      """)
    try s.bind([.text(key.path), key.size.map { .int($0) } ?? .null, key.mtimeNanoseconds.map { .int($0) } ?? .null,
                .text(key.headSHA256), .text(key.policy)])
    guard try s.step() else { return nil }
    return SourceState(id: s.int(0), status: s.text(1) ?? "", recordsDone: Int(s.int(2)), nextOffset: s.int(3),
                       nextLine: Int(s.int(4)), contentSHA256: s.text(5))
  }

  public func addSource(_ key: SourceKey, compression: String, format: String, run: Int64) throws -> SourceState {
    try db.prepare("""
      INSERT INTO sources(path, size, mtime_ns, head_sha256, compression, format, policy, status, first_run, last_run)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'partial', ?, ?)
      """).run([
        .text(key.path), key.size.map { .int($0) } ?? .null, key.mtimeNanoseconds.map { .int($0) } ?? .null,
        .text(key.headSHA256), .text(compression), .text(format), .text(key.policy), .int(run), .int(run),
      ])
    return SourceState(id: db.lastInsertRowID, status: "partial", recordsDone: 0, nextOffset: 0, nextLine: 1)
  }

  /// Records how far a source has been ingested. Call inside the batch's transaction.
  public func checkpoint(source: Int64, recordsDone: Int, nextOffset: Int64, nextLine: Int, run: Int64) throws {
    try checkpointStatement().run([.int(Int64(recordsDone)), .int(nextOffset), .int(Int64(nextLine)), .int(run), .int(source)])
  }

  @exclusivity(unchecked) private var _checkpoint: Statement?
  private func checkpointStatement() throws -> Statement {
    if let s = _checkpoint { return s }
    let s = try db.prepare("UPDATE sources SET records_done = ?, next_offset = ?, next_line = ?, last_run = ? WHERE id = ?")
    _checkpoint = s
    return s
  }

  /// Marks a source complete (with its content hash) or failed (with the error).
  public func finishSource(_ id: Int64, status: String, contentSHA256: String?, error: String?) throws {
    try db.prepare("UPDATE sources SET status = ?, content_sha256 = COALESCE(?, content_sha256), error = ? WHERE id = ?")
      .run([.text(status), contentSHA256.map { .text($0) } ?? .null, error.map { .text($0) } ?? .null, .int(id)])
  }
}
