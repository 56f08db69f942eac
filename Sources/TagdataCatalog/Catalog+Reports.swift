extension Catalog {
  /// Row counts and a breakdown of the catalog, for `tagdata catalog stats`.
  public struct Stats: Sendable, Equatable, Codable {
    public var proteins: Int
    public var residues: Int
    public var entries: Int
    public var reviewedEntries: Int
    public var accessions: Int
    public var comments: Int
    public var organisms: Int
    public var records: Int
    public var molecules: Int
    public var compounds: Int
    public var moleculeRecords: Int
    /// Compounds whose PubChem SMILES does not give the structure of the connection table.
    public var pubchemSmilesDisagreements: Int
    public var quarantined: Int
    public var sources: Int
    public var sourcesComplete: Int
    public var runs: Int
    public var quarantineReasons: [String: Int]
    /// BindingDB rows, targets, measurements with a value and cells that could not be read.
    public var bindingRecords: Int
    public var targets: Int
    public var measurements: Int
    public var unreadableMeasurements: Int
    /// Stored labels by entity and name, with a value or without one.
    public var labels: Int
    public var labelsWithoutValue: Int
    public var labelNames: [String: Int]
  }

  /// Rows whose references point nowhere (`PRAGMA foreign_key_check`), as "table rowid ->
  /// parent"; empty for a sound catalog.
  public func foreignKeyViolations() throws -> [String] {
    let s = try db.prepare("PRAGMA foreign_key_check")
    var out: [String] = []
    while try s.step() {
      out.append("\(s.text(0) ?? "?") \(s.isNull(1) ? "-" : String(s.int(1))) -> \(s.text(2) ?? "?")")
    }
    return out
  }

  public func stats() throws -> Stats {
    func n(_ sql: String) throws -> Int { Int(try db.scalar(sql) ?? 0) }
    var reasons: [String: Int] = [:]
    // Group by the reason's leading words so that counts stay readable.
    let s = try db.prepare("SELECT reason FROM quarantine")
    while try s.step() {
      let reason = s.text(0) ?? ""
      let key = String(reason.split(separator: " ").prefix(4).joined(separator: " "))
      reasons[key, default: 0] += 1
    }
    return Stats(
      proteins: try n("SELECT COUNT(*) FROM proteins"),
      residues: try n("SELECT COALESCE(SUM(length), 0) FROM proteins"),
      entries: try n("SELECT COUNT(*) FROM entries"),
      reviewedEntries: try n("SELECT COUNT(*) FROM entries WHERE reviewed = 1"),
      accessions: try n("SELECT COUNT(*) FROM accessions"),
      comments: try n("SELECT COUNT(*) FROM comments"),
      organisms: try n("SELECT COUNT(DISTINCT taxon_id) FROM entries"),
      records: try n("SELECT COUNT(*) FROM records"),
      molecules: try n("SELECT COUNT(*) FROM molecules"),
      compounds: try n("SELECT COUNT(*) FROM compounds"),
      moleculeRecords: try n("SELECT COUNT(*) FROM molecule_records"),
      pubchemSmilesDisagreements: try n("SELECT COUNT(*) FROM pubchem_smiles_disagreements"),
      quarantined: try n("SELECT COUNT(*) FROM quarantine"),
      sources: try n("SELECT COUNT(*) FROM sources"),
      sourcesComplete: try n("SELECT COUNT(*) FROM sources WHERE status = 'complete'"),
      runs: try n("SELECT COUNT(*) FROM runs"),
      quarantineReasons: reasons,
      bindingRecords: try n("SELECT COUNT(*) FROM binding_records"),
      targets: try n("SELECT COUNT(*) FROM targets"),
      measurements: try n("SELECT COUNT(*) FROM measurements WHERE error IS NULL"),
      unreadableMeasurements: try n("SELECT COUNT(*) FROM measurements WHERE error IS NOT NULL"),
      labels: try n("SELECT COUNT(*) FROM labels"),
      labelsWithoutValue: try n("SELECT COUNT(*) FROM labels WHERE reason IS NOT NULL"),
      labelNames: try labelCounts().reduce(into: [String: Int]()) { $0["\($1.entity.rawValue):\($1.name)", default: 0] += $1.values + $1.missing })
  }

  /// A canonical, sorted text rendering of the catalog's content, independent of row ids,
  /// run ids, timestamps and file paths: two catalogs with the same content give the same dump.
  /// Sources are named by the SHA-256 of their decompressed content. Lines without their line
  /// ends; see ``dump(provenance:line:)`` for the format. Holds the whole dump: for tests and
  /// small catalogs.
  public func dump(provenance: Bool = true) throws -> [String] {
    var lines: [String] = []
    try dump(provenance: provenance) { line in lines.append(String(decoding: line.dropLast(), as: UTF8.self)) }
    return lines
  }

  /// Streams the dump, one line at a time (ending in a line feed), straight from the query
  /// results: memory does not grow with the catalog. Fields are separated by tabs; NULL is `∅`;
  /// in a field, backslash, tab, line feed and carriage return are written `\\`, `\t`, `\n`
  /// and `\r`, so that every row is one line.
  public func dump(provenance: Bool = true, line emit: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
    var line: [UInt8] = []
    line.reserveCapacity(1 << 12)
    let null = Array("∅".utf8)
    func query(_ sql: String) throws {
      let s = try db.prepare(sql)
      let columns = s.columnCount
      while try s.step() {
        line.removeAll(keepingCapacity: true)
        for i in 0..<columns {
          if i > 0 { line.append(0x09) }
          if s.isNull(i) {
            line.append(contentsOf: null)
            continue
          }
          s.withText(i) { field in
            for b in field {
              switch b {
              case 0x5C: line.append(0x5C); line.append(0x5C)
              case 0x09: line.append(0x5C); line.append(UInt8(ascii: "t"))
              case 0x0A: line.append(0x5C); line.append(UInt8(ascii: "n"))
              case 0x0D: line.append(0x5C); line.append(UInt8(ascii: "r"))
              default: line.append(b)
              }
            }
          }
        }
        line.append(0x0A)
        try line.withUnsafeBufferPointer { try emit($0) }
      }
    }
    try query("SELECT 'protein', hex(sha256), crc64, length, sequence FROM proteins ORDER BY sha256")
    try query("""
      SELECT 'entry', e.accession, hex(p.sha256), e.entry_name, e.reviewed, e.protein_name, e.gene, e.organism,
        e.taxon_id, e.lineage, e.existence, e.keywords, e.sequence_version, e.entry_version, e.fragment, e.declared_mass,
        e.checksum_kind, e.declared_checksum
      FROM entries e JOIN proteins p ON p.id = e.protein_id ORDER BY e.accession, p.sha256
      """)
    try query("""
      SELECT 'accession', a.accession, e.accession, hex(p.sha256), a.is_primary FROM accessions a
      JOIN entries e ON e.id = a.entry_id JOIN proteins p ON p.id = e.protein_id
      ORDER BY a.accession, e.accession, p.sha256
      """)
    try query("""
      SELECT 'name', e.accession, hex(p.sha256), n.kind, n.value FROM names n
      JOIN entries e ON e.id = n.entry_id JOIN proteins p ON p.id = e.protein_id
      ORDER BY e.accession, p.sha256, n.kind, n.value
      """)
    try query("""
      SELECT 'comment', e.accession, hex(p.sha256), c.ordinal, c.topic, c.text FROM comments c
      JOIN entries e ON e.id = c.entry_id JOIN proteins p ON p.id = e.protein_id
      ORDER BY e.accession, p.sha256, c.ordinal
      """)
    try query("SELECT 'molecule', smiles, connectivity_smiles, formula, heavy_atoms FROM molecules ORDER BY smiles")
    try query("""
      SELECT 'compound', c.cid, m.smiles, c.inchi, c.inchikey, c.formula, c.weight, c.pubchem_smiles,
        c.pubchem_smiles_canonical, c.pubchem_smiles_error
      FROM compounds c JOIN molecules m ON m.id = c.molecule_id ORDER BY c.cid, m.smiles
      """)
    // Labels by entity key (a molecule's SMILES, a protein's SHA-256); numbers with 17
    // significant digits, so that the dump tells apart any two different doubles.
    try query("""
      SELECT 'label', l.entity, COALESCE(m.smiles, hex(p.sha256)), l.name, CASE WHEN l.value IS NULL THEN NULL ELSE printf('%!.17g', l.value) END, l.text, l.reason,
        l.version FROM labels l
      LEFT JOIN molecules m ON l.entity = 'molecule' AND m.id = l.entity_id
      LEFT JOIN proteins p ON l.entity = 'protein' AND p.id = l.entity_id
      ORDER BY l.entity, 3, l.name
      """)
    // Targets by key, with their chains' sequence digests in order.
    try query("""
      SELECT 'target', hex(t.key), t.chains, group_concat(hex(p.sha256), ',') FROM targets t
      JOIN (SELECT c.target_id, c.protein_id FROM target_chains c ORDER BY c.target_id, c.ordinal) c ON c.target_id = t.id
      JOIN proteins p ON p.id = c.protein_id GROUP BY t.id ORDER BY t.key
      """)
    if provenance {
      try query("""
        SELECT 'table', COALESCE(s.content_sha256, 'incomplete'), t.name, t.mapping FROM tables t
        JOIN sources s ON s.id = t.source_id ORDER BY 2, 3
        """)
      try query("""
        SELECT 'table-value', COALESCE(s.content_sha256, 'incomplete'), v.record_no, r.line, r.byte_offset, v.ordinal, v.field,
          v.kind, m.smiles, hex(p.sha256), v.text, CASE WHEN v.number IS NULL THEN NULL ELSE printf('%!.17g', v.number) END
        FROM table_values v JOIN table_rows r ON r.source_id = v.source_id AND r.record_no = v.record_no
        JOIN sources s ON s.id = v.source_id LEFT JOIN molecules m ON m.id = v.molecule_id
        LEFT JOIN proteins p ON p.id = v.protein_id ORDER BY 2, v.record_no, v.ordinal
        """)
      try query("""
        SELECT 'binding-record', COALESCE(s.content_sha256, 'incomplete'), r.record_no, r.line, r.byte_offset, m.smiles,
          hex(t.key), r.reactant_set_id, r.monomer_id, r.pubchem_cid, r.chembl_id, r.inchikey, r.ligand_name,
          r.target_name, r.organism, r.chains, r.curation, r.doi, r.pmid, r.patent, r.institution, r.pubchem_aid
        FROM binding_records r JOIN sources s ON s.id = r.source_id JOIN molecules m ON m.id = r.molecule_id
        JOIN targets t ON t.id = r.target_id ORDER BY 2, r.record_no
        """)
      try query("""
        SELECT 'measurement', COALESCE(s.content_sha256, 'incomplete'), x.record_no, x.kind, x.relation,
          CASE WHEN x.value IS NULL THEN NULL ELSE printf('%!.17g', x.value) END, x.text, x.error,
          CASE WHEN x.px IS NULL THEN NULL ELSE printf('%!.17g', x.px) END, x.px_reason
        FROM measurements x JOIN sources s ON s.id = x.source_id ORDER BY 2, x.record_no, x.kind
        """)
      try query("""
        SELECT 'molecule-record', COALESCE(s.content_sha256, 'incomplete'), r.record_no, r.line, r.byte_offset, m.smiles,
          c.cid, r.title FROM molecule_records r JOIN sources s ON s.id = r.source_id JOIN molecules m ON m.id = r.molecule_id
        LEFT JOIN compounds c ON c.id = r.compound_id ORDER BY 2, r.record_no
        """)
      try query("""
        SELECT 'record', COALESCE(s.content_sha256, 'incomplete'), r.record_no, r.line, r.byte_offset, hex(p.sha256),
          e.accession, r.label FROM records r JOIN sources s ON s.id = r.source_id JOIN proteins p ON p.id = r.protein_id
        LEFT JOIN entries e ON e.id = r.entry_id ORDER BY 2, r.record_no
        """)
      try query("""
        SELECT 'quarantine', COALESCE(s.content_sha256, 'incomplete'), q.record_no, q.line, q.byte_offset, q.reason,
          q.excerpt FROM quarantine q JOIN sources s ON s.id = q.source_id ORDER BY 2, q.record_no
        """)
    }
  }
}
