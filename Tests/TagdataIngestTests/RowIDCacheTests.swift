import TagdataCatalog
@testable import TagdataIngest
import TestSupport
import Testing

@Suite struct RowIDCacheTests {
  struct RolledBack: Error {}

  /// Ids come from the catalog and are asked for once; after a rolled-back batch they are
  /// forgotten, and the row is written again rather than pointed at where it no longer is.
  @Test func idsAreTheCatalogsAndForgottenAfterARollback() throws {
    let c = try Catalog(path: TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path)
    let writer = try MoleculeWriter(catalog: c)
    let ids = RowIDCache(capacity: 2)
    let rows = ["CCO", "CCN", "CCC"].map { MoleculeRow(smiles: $0, connectivitySmiles: $0, formula: "", heavyAtoms: 3) }
    do {
      try c.transaction {
        _ = try ids.molecule(rows[0], writer)
        throw RolledBack()
      }
    } catch is RolledBack {}
    // Another molecule now takes the id the rolled-back row had.
    _ = try c.transaction { try writer.molecule(MoleculeRow(smiles: "CCCl", connectivitySmiles: "CCCl", formula: "", heavyAtoms: 3)) }
    ids.forget()
    let first = try c.transaction { try rows.map { try ids.molecule($0, writer) } }
    let again = try c.transaction { try rows.map { try ids.molecule($0, writer) } }
    #expect(first == again && Set(first).count == 3)
    for (row, id) in zip(rows, first) {
      #expect(try c.db.scalar("SELECT id FROM molecules WHERE smiles = ?", [.text(row.smiles)]) == id)
    }
  }
}
