import Glibc

/// Molecules' group keys (parent and scaffold, TagdataChem's `MoleculeGroups`), stored per molecule
/// under the definition's version. They follow from each molecule's SMILES and are not part of
/// the catalog's content (``Catalog/dump(provenance:)``): like an index, they only save the work
/// of making them again.
extension Catalog {
  /// Up to `limit` molecules after id `after`, by id, with no group keys of `version` stored.
  public func moleculesWithoutGroups(version: String, after: Int64, limit: Int) throws -> [(id: Int64, smiles: String)] {
    let s = try db.prepare("""
      SELECT m.id, m.smiles FROM molecules m
      WHERE m.id > ?1 AND NOT EXISTS (SELECT 1 FROM molecule_groups g WHERE g.molecule_id = m.id AND g.version = ?2)
      ORDER BY m.id LIMIT ?3
      """)
    try s.bind([.int(after), .text(version), .int(Int64(limit))])
    var out: [(id: Int64, smiles: String)] = []
    while try s.step() { out.append((s.int(0), s.text(1) ?? "")) }
    return out
  }

  /// Stores the group keys of molecules (by id), replacing those of another version, in one transaction.
  public func storeMoleculeGroups(_ rows: [(id: Int64, parent: String, scaffold: String)], version: String) throws {
    guard !rows.isEmpty else { return }
    try db.transaction {
      let s = try db.prepare("""
        INSERT INTO molecule_groups(molecule_id, parent, scaffold, version) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (molecule_id) DO UPDATE SET parent = excluded.parent, scaffold = excluded.scaffold,
          version = excluded.version
        """)
      for r in rows { try s.run([.int(r.id), .text(r.parent), .text(r.scaffold), .text(version)]) }
    }
  }

  /// Molecules stored with group keys of `version`, and without.
  public func moleculeGroupCounts(version: String) throws -> (stored: Int, missing: Int) {
    let all = try db.scalar("SELECT count(*) FROM molecules") ?? 0
    let stored = try db.scalar("SELECT count(*) FROM molecule_groups WHERE version = ?1", [.text(version)]) ?? 0
    return (Int(stored), Int(all - stored))
  }
}

/// Reads molecules' stored group keys by canonical SMILES, on a read-only connection of its own:
/// a build's threads ask it while another connection reads the catalog's rows. Thread-safe (one
/// lookup at a time).
public final class MoleculeGroupReader: @unchecked Sendable {
  private let catalog: Catalog
  private let query: Statement
  private let version: String
  private var mutex = pthread_mutex_t()

  /// Nil when the catalog at `path` has no group keys stored (a catalog made before they were).
  public init?(path: String, version: String) {
    guard let c = try? Catalog(path: path, readOnly: true),
      let q = try? c.db.prepare("""
        SELECT g.parent, g.scaffold FROM molecules m JOIN molecule_groups g ON g.molecule_id = m.id
        WHERE m.smiles = ?1 AND g.version = ?2
        """)
    else { return nil }
    catalog = c
    query = q
    self.version = version
    pthread_mutex_init(&mutex, nil)
  }

  deinit { pthread_mutex_destroy(&mutex) }

  /// The stored parent and scaffold of the molecule with this canonical SMILES (nil: none stored
  /// under this version, or the catalog could not be read).
  public func keys(smiles: String) -> (parent: String, scaffold: String)? {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    query.reset()
    query.bind(1, smiles)
    query.bind(2, version)
    guard (try? query.step()) == true else { return nil }
    return (query.text(0) ?? "", query.text(1) ?? "")
  }
}
