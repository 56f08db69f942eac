#if canImport(Glibc)
import Glibc
#endif
import CSQLite3

/// Why catalogs could not be merged.
public enum MergeError: Error, CustomStringConvertible, Equatable {
  /// A part has another schema version than this tagdata writes.
  case schemaVersion(path: String, found: Int64, expected: Int64)
  /// A part is the output itself.
  case sameAsOutput(path: String)
  /// The byte ranges of a file in the parts do not cover it exactly once.
  case incompleteRanges(file: String, message: String)

  public var description: String {
    switch self {
    case let .schemaVersion(path, found, expected):
      return "\(path): catalog schema version \(found), but this tagdata merges version \(expected) only; "
        + "ingest that partition again with this tagdata"
    case let .sameAsOutput(path):
      return "\(path): a partition catalog cannot also be the output of the merge"
    case let .incompleteRanges(file, message):
      return "\(file): \(message)"
    }
  }
}

/// What a merge did.
public struct MergeReport: Sendable, Codable, Equatable {
  public var parts = 0
  /// Sources (files) in the merged catalog after the merge.
  public var sources = 0
  /// Files read as byte ranges whose ranges were joined.
  public var rangedFiles = 0
  public var proteins = 0
  public var molecules = 0
  public init() {}
}

extension Catalog {
  /// Merges partition catalogs (from `tagdata ingest --partition i/N`, or any catalogs of this
  /// schema version) into this one, in SQLite, one part at a time (`ATTACH`, `INSERT … SELECT`,
  /// one transaction per part): memory does not grow with the catalogs.
  ///
  /// Entities are deduplicated by their canonical keys: proteins by sequence SHA-256, entries by
  /// accession and protein, molecules by canonical isomeric SMILES, compounds by CID and
  /// molecule, targets by their key, labels by entity key and name (a label met again under
  /// another version of its definition is replaced by the later part's); provenance rows by source and
  /// record number. The byte ranges of one file (their sources carry ` range A-B` in their
  /// policy) become one source of the whole file, their records and lines numbered as one read
  /// of the whole file numbers them (each range's counts from `partition_ranges`); all ranges
  /// of such a file must be among the parts. A file whose read failed in a unit that other units
  /// of it follow (a corrupt gzip member in the middle, which BGZF's sizes let the plan see past)
  /// is refused: one read stops at the damage, and the records after it would be extra. Merging
  /// a part again changes nothing.
  ///
  /// An entry or compound met in several parts (same key) gets each field from the first part
  /// that has it, parts ordered by where their first record of it is in the inputs (path, then
  /// record number): as one ingest of the inputs in path order fills them, record by record
  /// (exactly so, unless one part's own first record of it left a field empty that a later
  /// record of the same part filled, while another part's record between them had it too).
  ///
  /// Labels parts (`tagdata describe --catalog C --partition i/N --out PART`, see
  /// ``LabelPartition``) are merged into the catalog they were made from, alone: each must come
  /// from this catalog as it is now, and every partition of their run must be given; their
  /// labels then replace missing or stale ones, as one `tagdata describe --catalog C` would.
  public func merge(parts: [String], arguments: String, now: String) throws -> MergeReport {
    var report = MergeReport()
    let ownPath = realPath(db.path)
    var labelParts: [(path: String, label: LabelPartition)] = []
    for part in parts {
      if realPath(part) == ownPath { throw MergeError.sameAsOutput(path: part) }
      let check = try Database(path: part, readOnly: true)
      let version = try check.scalar("PRAGMA user_version") ?? 0
      let ours = try check.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('runs', 'sources')") ?? 0
      if ours < 2 {
        throw SQLiteError(code: SQLITE_NOTADB, message: "not a tagdata catalog", path: part, operation: "merge", kind: .notACatalog)
      }
      if version != Self.schemaVersion {
        throw MergeError.schemaVersion(path: part, found: version, expected: Self.schemaVersion)
      }
      if let label = try Catalog(path: part, readOnly: true).labelPartition() { labelParts.append((part, label)) }
    }
    // Labels parts (`tagdata describe --partition`) go into the catalog they were made from, alone.
    if !labelParts.isEmpty {
      if let other = parts.first(where: { p in !labelParts.contains { $0.path == p } }) {
        throw LabelPartitionError.mixed(part: other)
      }
      try checkLabelParts(labelParts)
    }
    let run = try beginRun(toolVersion: "merge", arguments: arguments, now: now)
    // Temporary tables on disk: memory does not grow with the catalogs.
    try db.execute("PRAGMA temp_store=FILE")
    defer { try? db.execute("PRAGMA temp_store=MEMORY") }
    // Every part's entries, with where their first record is in the inputs (path, then record
    // number), so that an entry met in several parts gets each field as one ingest of the
    // inputs in path order gives it: the first value met.
    try db.execute("""
      DROP TABLE IF EXISTS temp.entry_stage;
      CREATE TEMP TABLE entry_stage(entry_id INTEGER NOT NULL, pos TEXT NOT NULL, \(Self.entryFields.joined(separator: ", ")),
        fragment INTEGER);
      DROP TABLE IF EXISTS temp.compound_stage;
      CREATE TEMP TABLE compound_stage(compound_id INTEGER NOT NULL, pos TEXT NOT NULL,
        \(Self.compoundFields.joined(separator: ", ")));
      """)
    try db.execute("""
      DROP TABLE IF EXISTS temp.merge_units;
      CREATE TEMP TABLE merge_units(
        fkey TEXT NOT NULL, path TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, head_sha256 TEXT NOT NULL,
        policy TEXT NOT NULL, range_start INTEGER NOT NULL, range_end INTEGER, records INTEGER NOT NULL,
        lines INTEGER NOT NULL, status TEXT NOT NULL, compression TEXT NOT NULL, format TEXT NOT NULL,
        content_sha256 TEXT, error TEXT, done INTEGER NOT NULL, next_offset INTEGER NOT NULL, next_line INTEGER NOT NULL,
        part TEXT NOT NULL, PRIMARY KEY (fkey, range_start));
      """)
    // The identity of the whole file (its policy without the range), as one text.
    let fileKey = """
      s.path || char(9) || COALESCE(s.size, '') || char(9) || COALESCE(s.mtime_ns, '') || char(9) || s.head_sha256
        || char(9) || COALESCE(r.file_policy, s.policy)
      """
    // Pass 1: every part's units, to number the ranges of a file in order.
    for part in parts {
      try attach(part) {
        try db.prepare("""
          INSERT OR IGNORE INTO temp.merge_units
          SELECT \(fileKey), s.path, s.size, s.mtime_ns, s.head_sha256, COALESCE(r.file_policy, s.policy),
            COALESCE(r.range_start, 0), r.range_end, COALESCE(r.records, s.records_done), COALESCE(r.lines, 0),
            s.status, s.compression, s.format, s.content_sha256, s.error, s.records_done, s.next_offset, s.next_line, ?
          FROM part.sources s LEFT JOIN part.partition_ranges r ON r.source_id = s.id
          """).run([.text(part)])
      }
    }
    // An interrupted partition is finished (rerun) before it is merged.
    let partial = try db.prepare("SELECT path, part FROM temp.merge_units WHERE status = 'partial' ORDER BY path LIMIT 1")
    if try partial.step() {
      throw MergeError.incompleteRanges(
        file: partial.text(0) ?? "",
        message: "not read to its end in \(partial.text(1) ?? "") (an interrupted ingest): run that partition again, then merge")
    }
    // A unit that failed with units of its file after it: one ingest stops at the damage.
    let damaged = try db.prepare("""
      SELECT u.path, u.part, u.error FROM temp.merge_units u
      WHERE u.status = 'failed' AND EXISTS (SELECT 1 FROM temp.merge_units x WHERE x.fkey = u.fkey AND x.range_start > u.range_start)
      ORDER BY u.path, u.range_start LIMIT 1
      """)
    if try damaged.step() {
      throw MergeError.incompleteRanges(
        file: damaged.text(0) ?? "",
        message: "damaged in the middle (\(damaged.text(2) ?? "read failed") in \(damaged.text(1) ?? "")), and other partitions "
          + "read on past the damage where one ingest stops: repair or remove the file, ingest its partitions again, then merge")
    }
    // Ranges of a file must follow each other from 0 to its size.
    // Each problem row: the file, what is wrong (1 read whole and by range, 2 overlap, 3 gap) and
    // the bytes concerned.
    let gaps = try db.prepare("""
      SELECT path, CASE WHEN whole > 0 THEN 1 WHEN before > range_start THEN 2 ELSE 3 END,
        CASE WHEN is_last AND range_end < size THEN range_end ELSE before END,
        CASE WHEN is_last AND range_end < size THEN size ELSE range_start END
      FROM (
        SELECT path, range_start, range_end, size,
          COALESCE(lag(range_end) OVER (PARTITION BY fkey ORDER BY range_start), 0) AS before,
          row_number() OVER (PARTITION BY fkey ORDER BY range_start DESC) = 1 AS is_last,
          count(*) OVER (PARTITION BY fkey) AS n,
          sum(range_end IS NULL) OVER (PARTITION BY fkey) AS whole
        FROM temp.merge_units)
      WHERE (whole > 0 AND n > 1) OR (whole = 0 AND (before <> range_start OR (is_last AND range_end <> size)))
      ORDER BY path, range_start LIMIT 1
      """)
    if try gaps.step() {
      let (from, to) = (gaps.int(2), gaps.int(3))
      let message: String
      switch gaps.int(1) {
      case 1: message = "read whole by one partition and by byte range by another; merge the partitions of one plan"
      case 2: message = "byte ranges overlap at \(to)-\(from) (partitions of different plans?)"
      default: message = "bytes \(from)-\(to) are in none of the partitions given (a partition catalog is missing)"
      }
      let path = gaps.text(0) ?? ""
      // Ranges of the file as it was at different times: it changed between its partitions.
      let changed = try db.prepare("""
        SELECT group_concat(DISTINCT COALESCE(size, '?') || ' bytes in ' || part) FROM temp.merge_units
        WHERE path = ? AND range_end IS NOT NULL
        HAVING count(DISTINCT COALESCE(size, '') || char(9) || COALESCE(mtime_ns, '') || char(9) || head_sha256) > 1
        """)
      try changed.bind([.text(path)])
      if try changed.step() {
        throw MergeError.incompleteRanges(
          file: path, message: "changed between its partitions (\(changed.text(0) ?? "")): ingest every partition again "
            + "from the file as it is now, then merge")
      }
      throw MergeError.incompleteRanges(file: path, message: message)
    }
    try db.transaction {
      // One source per file, found again when this catalog has it already.
      try db.execute("""
        DROP TABLE IF EXISTS temp.merge_files;
        CREATE TEMP TABLE merge_files AS
        SELECT fkey, min(path) AS path, min(size) AS size, min(mtime_ns) AS mtime_ns, min(head_sha256) AS head_sha256,
          min(policy) AS policy, min(compression) AS compression, min(format) AS format,
          CASE WHEN sum(status = 'failed') > 0 THEN 'failed' WHEN sum(status <> 'complete') > 0 THEN 'partial'
            ELSE 'complete' END AS status,
          CASE WHEN count(*) = 1 THEN min(content_sha256) END AS content_sha256,
          min(done) AS done, min(next_offset) AS next_offset, min(next_line) AS next_line,
          group_concat(error, '; ') AS error, sum(records) AS records, sum(lines) AS lines,
          count(*) > 1 OR min(range_end) IS NOT NULL AS ranged
        FROM temp.merge_units GROUP BY fkey;
        INSERT INTO sources(path, size, mtime_ns, head_sha256, compression, format, policy, status, records_done,
          next_offset, next_line, content_sha256, error, first_run, last_run)
        SELECT f.path, f.size, f.mtime_ns, f.head_sha256, f.compression, f.format, f.policy, f.status,
          CASE WHEN f.ranged THEN f.records ELSE f.done END, CASE WHEN f.ranged THEN COALESCE(f.size, 0) ELSE f.next_offset END,
          CASE WHEN f.ranged THEN f.lines + 1 ELSE f.next_line END, f.content_sha256, f.error, \(run), \(run)
        FROM temp.merge_files f
        WHERE NOT EXISTS (SELECT 1 FROM sources m WHERE m.path = f.path AND m.size IS f.size AND m.mtime_ns IS f.mtime_ns
          AND m.head_sha256 = f.head_sha256 AND m.policy = f.policy)
        ORDER BY f.fkey;
        DROP TABLE IF EXISTS temp.merge_bases;
        CREATE TEMP TABLE merge_bases(fkey TEXT NOT NULL, range_start INTEGER NOT NULL, source INTEGER NOT NULL,
          record_base INTEGER NOT NULL, line_base INTEGER NOT NULL, PRIMARY KEY (fkey, range_start));
        INSERT INTO temp.merge_bases
        SELECT u.fkey, u.range_start,
          (SELECT max(m.id) FROM sources m WHERE m.path = u.path AND m.size IS u.size AND m.mtime_ns IS u.mtime_ns
             AND m.head_sha256 = u.head_sha256 AND m.policy = u.policy),
          COALESCE(sum(u.records) OVER w, 0), COALESCE(sum(u.lines) OVER w, 0)
        FROM temp.merge_units u
        WINDOW w AS (PARTITION BY u.fkey ORDER BY u.range_start ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING);
        """)
    }
    report.rangedFiles = Int(try db.scalar("SELECT count(*) FROM temp.merge_files WHERE ranged") ?? 0)
    try withForeignKeyChecksOff {
      for part in parts {
        try attach(part) {
          try db.transaction { try mergePart(run: run, fileKey: fileKey) }
        }
        report.parts += 1
      }
    }
    // Entries met in more than one part: each field from the first part (in input order) that has it.
    let first = Self.entryFields.map { f in
      "\(f) = (SELECT s.\(f) FROM temp.entry_stage s WHERE s.entry_id = entries.id AND s.\(f) IS NOT NULL ORDER BY s.pos LIMIT 1)"
    }.joined(separator: ", ")
    let firstCompound = Self.compoundFields.map { f in
      "\(f) = (SELECT s.\(f) FROM temp.compound_stage s WHERE s.compound_id = compounds.id AND s.\(f) IS NOT NULL "
        + "ORDER BY s.pos LIMIT 1)"
    }.joined(separator: ", ")
    try db.transaction {
      try db.execute("""
        CREATE INDEX temp.compound_stage_by_compound ON compound_stage(compound_id, pos);
        UPDATE compounds SET \(firstCompound)
        WHERE id IN (SELECT compound_id FROM temp.compound_stage GROUP BY compound_id HAVING count(*) > 1);
        CREATE INDEX temp.entry_stage_by_entry ON entry_stage(entry_id, pos);
        UPDATE entries SET \(first), fragment = (SELECT max(s.fragment) FROM temp.entry_stage s WHERE s.entry_id = entries.id)
        WHERE id IN (SELECT entry_id FROM temp.entry_stage GROUP BY entry_id HAVING count(*) > 1);
        """)
    }
    try db.execute("""
      DROP TABLE IF EXISTS temp.merge_units; DROP TABLE IF EXISTS temp.merge_files; DROP TABLE IF EXISTS temp.merge_bases;
      DROP TABLE IF EXISTS temp.entry_stage; DROP TABLE IF EXISTS temp.compound_stage;
      """)
    try finishRun(run, now: now)
    report.sources = Int(try db.scalar("SELECT count(*) FROM sources") ?? 0)
    report.proteins = Int(try db.scalar("SELECT count(*) FROM proteins") ?? 0)
    report.molecules = Int(try db.scalar("SELECT count(*) FROM molecules") ?? 0)
    return report
  }

  /// The fields of an entry that a later record fills when an earlier left them empty.
  static let entryFields = [
    "entry_name", "reviewed", "protein_name", "gene", "organism", "taxon_id", "lineage", "existence", "keywords", "sequence_version", "entry_version", "declared_mass", "names", "comments", "checksum_kind", "declared_checksum"
  ]

  /// The fields of a compound that a later record fills when an earlier left them empty.
  static let compoundFields = [
    "inchi", "inchikey", "formula", "weight", "pubchem_smiles", "pubchem_smiles_canonical", "pubchem_smiles_error",
  ]

  /// Copies the attached catalog `part` into this one, ids mapped through temporary tables.
  private func mergePart(run: Int64, fileKey: String) throws {
    try db.execute("""
      DROP TABLE IF EXISTS temp.smap; DROP TABLE IF EXISTS temp.pmap; DROP TABLE IF EXISTS temp.emap;
      DROP TABLE IF EXISTS temp.mmap; DROP TABLE IF EXISTS temp.cmap; DROP TABLE IF EXISTS temp.tmap;
      CREATE TEMP TABLE smap(old INTEGER PRIMARY KEY, new INTEGER NOT NULL, rbase INTEGER NOT NULL, lbase INTEGER NOT NULL);
      INSERT INTO temp.smap SELECT s.id, b.source, b.record_base, b.line_base
        FROM part.sources s LEFT JOIN part.partition_ranges r ON r.source_id = s.id
        JOIN temp.merge_bases b ON b.fkey = \(fileKey) AND b.range_start = COALESCE(r.range_start, 0);

      INSERT INTO main.proteins(sha256, crc64, length, sequence)
        SELECT sha256, crc64, length, sequence FROM part.proteins ORDER BY id
        ON CONFLICT (sha256) DO NOTHING;
      CREATE TEMP TABLE pmap(old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
      INSERT INTO temp.pmap SELECT p.id, m.id FROM part.proteins p JOIN main.proteins m ON m.sha256 = p.sha256;

      INSERT INTO main.entries(protein_id, accession, entry_name, reviewed, protein_name, gene, organism, taxon_id,
          lineage, existence, keywords, sequence_version, entry_version, fragment, declared_mass, names, comments,
          checksum_kind, declared_checksum)
        SELECT pm.new, e.accession, e.entry_name, e.reviewed, e.protein_name, e.gene, e.organism, e.taxon_id,
          e.lineage, e.existence, e.keywords, e.sequence_version, e.entry_version, e.fragment, e.declared_mass, e.names,
          e.comments, e.checksum_kind, e.declared_checksum
        FROM part.entries e JOIN temp.pmap pm ON pm.old = e.protein_id WHERE true ORDER BY e.id
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
          declared_checksum = COALESCE(declared_checksum, excluded.declared_checksum);
      CREATE TEMP TABLE emap(old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
      INSERT INTO temp.emap SELECT e.id, m.id FROM part.entries e JOIN temp.pmap pm ON pm.old = e.protein_id
        JOIN main.entries m ON m.accession = e.accession AND m.protein_id = pm.new;
      INSERT INTO temp.entry_stage
        SELECT em.new, COALESCE(f.pos, char(255)), \(Self.entryFields.map { "e." + $0 }.joined(separator: ", ")), e.fragment
        FROM part.entries e JOIN temp.emap em ON em.old = e.id
        LEFT JOIN (SELECT r.entry_id AS id, min(printf('%s%c%020d', s.path, 1, r.record_no + sm.rbase)) AS pos
                   FROM part.records r JOIN temp.smap sm ON sm.old = r.source_id JOIN part.sources s ON s.id = r.source_id
                   WHERE r.entry_id IS NOT NULL GROUP BY r.entry_id) f ON f.id = e.id;
      INSERT OR IGNORE INTO main.accessions(accession, entry_id, is_primary)
        SELECT a.accession, em.new, a.is_primary FROM part.accessions a JOIN temp.emap em ON em.old = a.entry_id;

      INSERT INTO main.molecules(smiles, connectivity_smiles, formula, heavy_atoms)
        SELECT smiles, connectivity_smiles, formula, heavy_atoms FROM part.molecules ORDER BY id
        ON CONFLICT (smiles) DO NOTHING;
      CREATE TEMP TABLE mmap(old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
      INSERT INTO temp.mmap SELECT p.id, m.id FROM part.molecules p JOIN main.molecules m ON m.smiles = p.smiles;
      INSERT INTO main.compounds(molecule_id, cid, inchi, inchikey, formula, weight, pubchem_smiles,
          pubchem_smiles_canonical, pubchem_smiles_error)
        SELECT mm.new, c.cid, c.inchi, c.inchikey, c.formula, c.weight, c.pubchem_smiles, c.pubchem_smiles_canonical,
          c.pubchem_smiles_error
        FROM part.compounds c JOIN temp.mmap mm ON mm.old = c.molecule_id WHERE true ORDER BY c.id
        ON CONFLICT (cid, molecule_id) DO UPDATE SET
          inchi = COALESCE(inchi, excluded.inchi), inchikey = COALESCE(inchikey, excluded.inchikey),
          formula = COALESCE(formula, excluded.formula), weight = COALESCE(weight, excluded.weight),
          pubchem_smiles = COALESCE(pubchem_smiles, excluded.pubchem_smiles),
          pubchem_smiles_canonical = COALESCE(pubchem_smiles_canonical, excluded.pubchem_smiles_canonical),
          pubchem_smiles_error = COALESCE(pubchem_smiles_error, excluded.pubchem_smiles_error);
      CREATE TEMP TABLE cmap(old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
      INSERT INTO temp.cmap SELECT c.id, m.id FROM part.compounds c JOIN temp.mmap mm ON mm.old = c.molecule_id
        JOIN main.compounds m ON m.cid = c.cid AND m.molecule_id = mm.new;
      INSERT INTO temp.compound_stage
        SELECT cm.new, COALESCE(f.pos, char(255)), \(Self.compoundFields.map { "c." + $0 }.joined(separator: ", "))
        FROM part.compounds c JOIN temp.cmap cm ON cm.old = c.id
        LEFT JOIN (SELECT r.compound_id AS id, min(printf('%s%c%020d', s.path, 1, r.record_no + sm.rbase)) AS pos
                   FROM part.molecule_records r JOIN temp.smap sm ON sm.old = r.source_id JOIN part.sources s ON s.id = r.source_id
                   WHERE r.compound_id IS NOT NULL GROUP BY r.compound_id) f ON f.id = c.id;

      INSERT INTO main.labels(entity, name, entity_id, value, text, reason, version, run_id)
        SELECT l.entity, l.name, CASE l.entity WHEN 'molecule' THEN mm.new ELSE pm.new END, l.value, l.text, l.reason,
          l.version, \(run)
        FROM part.labels l LEFT JOIN temp.mmap mm ON l.entity = 'molecule' AND mm.old = l.entity_id
        LEFT JOIN temp.pmap pm ON l.entity = 'protein' AND pm.old = l.entity_id
        WHERE COALESCE(mm.new, pm.new) IS NOT NULL ORDER BY 1, 2, 3
        ON CONFLICT (entity, name, entity_id) DO UPDATE SET value = excluded.value, text = excluded.text,
          reason = excluded.reason, version = excluded.version, run_id = excluded.run_id
        WHERE version <> excluded.version;
      INSERT INTO main.molecule_groups(molecule_id, parent, scaffold, version)
        SELECT mm.new, g.parent, g.scaffold, g.version FROM part.molecule_groups g JOIN temp.mmap mm ON mm.old = g.molecule_id
        WHERE true ORDER BY 1
        ON CONFLICT (molecule_id) DO UPDATE SET parent = excluded.parent, scaffold = excluded.scaffold,
          version = excluded.version
        WHERE version <> excluded.version;

      INSERT INTO main.targets(key, chains) SELECT key, chains FROM part.targets WHERE true ORDER BY id
        ON CONFLICT (key) DO NOTHING;
      CREATE TEMP TABLE tmap(old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
      INSERT INTO temp.tmap SELECT p.id, m.id FROM part.targets p JOIN main.targets m ON m.key = p.key;
      INSERT OR IGNORE INTO main.target_chains(target_id, ordinal, protein_id)
        SELECT tm.new, c.ordinal, pm.new FROM part.target_chains c JOIN temp.tmap tm ON tm.old = c.target_id
        JOIN temp.pmap pm ON pm.old = c.protein_id;

      INSERT OR IGNORE INTO main.records(source_id, record_no, line, byte_offset, protein_id, entry_id, label, run_id)
        SELECT sm.new, r.record_no + sm.rbase, r.line + sm.lbase, r.byte_offset, pm.new, em.new, r.label, \(run)
        FROM part.records r JOIN temp.smap sm ON sm.old = r.source_id JOIN temp.pmap pm ON pm.old = r.protein_id
        LEFT JOIN temp.emap em ON em.old = r.entry_id;
      INSERT OR IGNORE INTO main.molecule_records(source_id, record_no, line, byte_offset, molecule_id, compound_id, title,
          run_id)
        SELECT sm.new, r.record_no + sm.rbase, r.line + sm.lbase, r.byte_offset, mm.new, cm.new, r.title, \(run)
        FROM part.molecule_records r JOIN temp.smap sm ON sm.old = r.source_id JOIN temp.mmap mm ON mm.old = r.molecule_id
        LEFT JOIN temp.cmap cm ON cm.old = r.compound_id;
      INSERT OR IGNORE INTO main.binding_records(source_id, record_no, line, byte_offset, molecule_id, target_id,
          reactant_set_id, monomer_id, pubchem_cid, chembl_id, inchikey, ligand_name, target_name, organism, chains,
          curation, doi, pmid, patent, institution, pubchem_aid, run_id)
        SELECT sm.new, r.record_no + sm.rbase, r.line + sm.lbase, r.byte_offset, mm.new, tm.new, r.reactant_set_id,
          r.monomer_id, r.pubchem_cid, r.chembl_id, r.inchikey, r.ligand_name, r.target_name, r.organism, r.chains,
          r.curation, r.doi, r.pmid, r.patent, r.institution, r.pubchem_aid, \(run)
        FROM part.binding_records r JOIN temp.smap sm ON sm.old = r.source_id JOIN temp.mmap mm ON mm.old = r.molecule_id
        JOIN temp.tmap tm ON tm.old = r.target_id;
      INSERT OR IGNORE INTO main.measurements(source_id, record_no, kind, molecule_id, target_id, relation, value, text,
          error, px, px_reason)
        SELECT sm.new, x.record_no + sm.rbase, x.kind, mm.new, tm.new, x.relation, x.value, x.text, x.error, x.px,
          x.px_reason
        FROM part.measurements x JOIN temp.smap sm ON sm.old = x.source_id JOIN temp.mmap mm ON mm.old = x.molecule_id
        JOIN temp.tmap tm ON tm.old = x.target_id;
      INSERT OR IGNORE INTO main.tables(source_id, name, mapping)
        SELECT sm.new, t.name, t.mapping FROM part.tables t JOIN temp.smap sm ON sm.old = t.source_id;
      INSERT OR IGNORE INTO main.table_rows(source_id, record_no, line, byte_offset, run_id)
        SELECT sm.new, r.record_no + sm.rbase, r.line + sm.lbase, r.byte_offset, \(run)
        FROM part.table_rows r JOIN temp.smap sm ON sm.old = r.source_id;
      INSERT OR IGNORE INTO main.table_values(source_id, record_no, ordinal, field, kind, molecule_id, protein_id, text,
          number)
        SELECT sm.new, v.record_no + sm.rbase, v.ordinal, v.field, v.kind, mm.new, pm.new, v.text, v.number
        FROM part.table_values v JOIN temp.smap sm ON sm.old = v.source_id
        LEFT JOIN temp.mmap mm ON mm.old = v.molecule_id LEFT JOIN temp.pmap pm ON pm.old = v.protein_id;
      INSERT OR IGNORE INTO main.quarantine(source_id, record_no, line, byte_offset, reason, excerpt, run_id)
        SELECT sm.new, q.record_no + sm.rbase, q.line + sm.lbase, q.byte_offset, q.reason, q.excerpt, \(run)
        FROM part.quarantine q JOIN temp.smap sm ON sm.old = q.source_id;

      DROP TABLE temp.smap; DROP TABLE temp.pmap; DROP TABLE temp.emap;
      DROP TABLE temp.mmap; DROP TABLE temp.cmap; DROP TABLE temp.tmap;
      """)
  }

  /// Runs `body` with the catalog at `path` attached as `part` (only read).
  private func attach(_ path: String, _ body: () throws -> Void) throws {
    try db.prepare("ATTACH DATABASE ? AS part").run([.text(path)])
    defer { try? db.execute("DETACH DATABASE part") }
    try body()
  }

  /// Sources that were read as byte ranges and merged, complete, without a content hash (it is
  /// the hash of the whole file, which no partition read): their paths, sizes and modification
  /// times, for a caller that can hash the files.
  public func sourcesWithoutContentHash() throws -> [(id: Int64, path: String, size: Int64?, mtimeNanoseconds: Int64?)] {
    var out: [(Int64, String, Int64?, Int64?)] = []
    let s = try db.prepare("""
      SELECT id, path, size, mtime_ns FROM sources WHERE status = 'complete' AND content_sha256 IS NULL ORDER BY id
      """)
    while try s.step() {
      out.append((s.int(0), s.text(1) ?? "", s.isNull(2) ? nil : s.int(2), s.isNull(3) ? nil : s.int(3)))
    }
    return out
  }

  /// Sets the content hash of a source (see ``sourcesWithoutContentHash()``).
  public func setContentHash(source: Int64, sha256: String) throws {
    try db.prepare("UPDATE sources SET content_sha256 = ? WHERE id = ?").run([.text(sha256), .int(source)])
  }
}

private func realPath(_ path: String) -> String {
  if let p = realpath(path, nil) {
    defer { free(p) }
    return String(cString: p)
  }
  return path
}
