import Glibc

/// One mapped cell of a table row, ready to write.
public enum TableValue: Sendable, Equatable {
  case molecule(Int64)
  case protein(Int64)
  /// Text, a language code or an identifier (the kind says which).
  case text(String)
  case number(Double)
}

/// Writes labelled tables: the table's mapping, row provenance and mapped cells, idempotently
/// (rows keyed by source and record number), inside the caller's transactions.
public final class TableWriter {
  let db: Database
  private let insertTable, insertRow, insertValue: Statement

  public init(catalog: Catalog) throws {
    db = catalog.db
    insertTable = try db.prepare("INSERT OR IGNORE INTO tables(source_id, name, mapping) VALUES (?, ?, ?)")
    insertRow = try db.prepare("""
      INSERT OR IGNORE INTO table_rows(source_id, record_no, line, byte_offset, run_id) VALUES (?, ?, ?, ?, ?)
      """)
    insertValue = try db.prepare("""
      INSERT OR IGNORE INTO table_values(source_id, record_no, ordinal, field, kind, molecule_id, protein_id, text, number)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      """)
  }

  /// Records that `source` is a table read with this mapping.
  public func table(source: Int64, name: String, mappingJSON: String) throws {
    try insertTable.run([.int(source), .text(name), .text(mappingJSON)])
  }

  /// One row: its provenance and its cells (`fields` and `kinds` in mapping order).
  public func row(source: Int64, recordNo: Int, line: Int, offset: Int64, run: Int64, fields: [String], kinds: [String],
                  values: [TableValue]) throws
  {
    try insertRow.run([.int(source), .int(Int64(recordNo)), .int(Int64(line)), .int(offset), .int(run)])
    for (k, v) in values.enumerated() {
      var (molecule, protein, text, number) = (SQLValue.null, SQLValue.null, SQLValue.null, SQLValue.null)
      switch v {
      case let .molecule(id): molecule = .int(id)
      case let .protein(id): protein = .int(id)
      case let .text(t): text = .text(t)
      case let .number(x): number = .real(x)
      }
      try insertValue.run([.int(source), .int(Int64(recordNo)), .int(Int64(k)), .text(fields[k]), .text(kinds[k]), molecule,
                           protein, text, number])
    }
  }
}

extension Catalog {
  /// A table row read back: its table's name, where it comes from, and its cells by field, with
  /// molecules as canonical SMILES and proteins as canonical sequences.
  public struct StoredTableRow: Sendable, Equatable {
    public var table: String
    public var path: String
    public var recordNo: Int
    public var fields: [String]
    public var kinds: [String]
    /// Molecules and proteins as their canonical SMILES and sequences (``TableValue/text(_:)``),
    /// numbers as numbers, the rest as text.
    public var values: [TableValue]
    /// Per cell, a protein's catalog key (SHA-256 of its sequence, 64 hex digits); "" for other kinds.
    public var proteinKeys: [String] = []
  }

  /// The tables of the catalog: each source's mapping name and its mapping as JSON
  /// (`{"name":..., "columns":[[header, kind], ...]}`), by source path.
  public func tableMappings() throws -> [(name: String, mapping: String)] {
    let s = try db.prepare("SELECT t.name, t.mapping FROM tables t JOIN sources s ON s.id = t.source_id ORDER BY s.path")
    var out: [(String, String)] = []
    while try s.step() { out.append((s.text(0) ?? "", s.text(1) ?? "")) }
    return out
  }

  /// Rows of the tables read with mapping `name` (every table when nil), by source path and row.
  public func forEachTableRow(name: String? = nil, _ body: (StoredTableRow) throws -> Bool) throws {
    // One source at a time, its cells in primary-key order: SQLite walks the index, no sort.
    let sources = try db.prepare("""
      SELECT t.source_id, t.name, s.path FROM tables t JOIN sources s ON s.id = t.source_id
      WHERE ?1 IS NULL OR t.name = ?1 ORDER BY s.path, t.source_id
      """)
    try sources.bind([name.map { .text($0) } ?? .null])
    var list: [(Int64, String, String)] = []
    while try sources.step() { list.append((sources.int(0), sources.text(1) ?? "", sources.text(2) ?? "")) }
    // Molecules and proteins are looked up by id, and the strings of the last ones kept (a
    // dump repeats its ligands and targets row after row): a join would read and copy a
    // sequence again for every row that names it.
    let s = try db.prepare("""
      SELECT v.record_no, v.field, v.kind, v.molecule_id, v.protein_id, v.text, v.number
      FROM table_values v WHERE v.source_id = ?1 ORDER BY v.record_no, v.ordinal
      """)
    let moleculeQuery = try db.prepare("SELECT smiles FROM molecules WHERE id = ?1")
    let proteinQuery = try db.prepare("SELECT sequence, lower(hex(sha256)) FROM proteins WHERE id = ?1")
    var molecules: [Int64: String] = [:]
    var proteins: [Int64: (sequence: String, key: String)] = [:]
    var proteinBytes = 0
    // The last of each, before the caches: a dump's rows often name one ligand or target in a run.
    var lastMolecule: (id: Int64, smiles: String) = (-1, "")
    var lastProtein: (id: Int64, protein: (sequence: String, key: String)) = (-1, ("", ""))
    func molecule(_ id: Int64) throws -> String {
      if lastMolecule.id == id { return lastMolecule.smiles }
      let m = try cachedMolecule(id)
      lastMolecule = (id, m)
      return m
    }
    func protein(_ id: Int64) throws -> (sequence: String, key: String) {
      if lastProtein.id == id { return lastProtein.protein }
      let p = try cachedProtein(id)
      lastProtein = (id, p)
      return p
    }
    func cachedMolecule(_ id: Int64) throws -> String {
      if let m = molecules[id] { return m }
      if molecules.count >= 1 << 16 { molecules.removeAll(keepingCapacity: true) }
      moleculeQuery.reset()
      moleculeQuery.bind(1, id)
      let m = try moleculeQuery.step() ? moleculeQuery.text(0) ?? "" : ""
      molecules[id] = m
      return m
    }
    func cachedProtein(_ id: Int64) throws -> (sequence: String, key: String) {
      if let p = proteins[id] { return p }
      if proteins.count >= 1 << 12 || proteinBytes >= 32 << 20 {
        proteins.removeAll(keepingCapacity: true)
        proteinBytes = 0
      }
      proteinQuery.reset()
      proteinQuery.bind(1, id)
      let p = try proteinQuery.step() ? (proteinQuery.text(0) ?? "", proteinQuery.text(1) ?? "") : ("", "")
      proteins[id] = p
      proteinBytes += p.0.utf8.count
      return p
    }
    // The names and kinds of the last row's cells, by position: a table's rows repeat them, and
    // a cell's are made into strings only when they differ from the last row's.
    var names: [String] = []
    var kinds: [String] = []
    func cellText(_ column: Int32, _ j: Int, _ last: inout [String]) -> String {
      if j < last.count {
        let same = s.withText(column) { b in
          last[j].utf8.count == b.count
            && (b.isEmpty || last[j].utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 } ?? false)
        }
        if !same { last[j] = s.text(column) ?? "" }
      } else {
        last.append(s.text(column) ?? "")
      }
      return last[j]
    }
    for (source, table, path) in list {
      try s.bind([.int(source)])
      // One row's arrays, emptied for the next (their storage kept unless `body` kept them).
      var row = StoredTableRow(table: table, path: path, recordNo: 0, fields: [], kinds: [], values: [])
      var open = false
      var key: Int64 = -1
      while try s.step() {
        let k = s.int(0)
        if k != key {
          if open, try !body(row) { return }
          open = true
          key = k
          row.recordNo = Int(k)
          row.fields.removeAll(keepingCapacity: true)
          row.kinds.removeAll(keepingCapacity: true)
          row.values.removeAll(keepingCapacity: true)
          row.proteinKeys.removeAll(keepingCapacity: true)
        }
        let j = row.fields.count
        let kind = cellText(2, j, &kinds)
        row.fields.append(cellText(1, j, &names))
        row.kinds.append(kind)
        switch kind {
        case "smiles":
          row.proteinKeys.append("")
          row.values.append(.text(s.isNull(3) ? "" : try molecule(s.int(3))))
        case "protein":
          let p = s.isNull(4) ? ("", "") : try protein(s.int(4))
          row.proteinKeys.append(p.1)
          row.values.append(.text(p.0))
        case "number":
          row.proteinKeys.append("")
          row.values.append(.number(s.double(6)))
        default:
          row.proteinKeys.append("")
          row.values.append(.text(s.text(5) ?? ""))
        }
      }
      if open, try !body(row) { return }
    }
  }
}
