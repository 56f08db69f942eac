import TagdataCatalog
import TagdataSources
import TestSupport
import Testing

/// The catalog writers' idempotent writes: a row written again keeps its id, and fills only the
/// fields that were still empty.
@Suite struct WriterTests {
  func freshCatalog() throws -> Catalog {
    try Catalog(path: TestSupport.tempDirectory().appendingPathComponent("w.sqlite").path)
  }

  @Test func entrySeenAgainKeepsItsIDAndFillsEmptyFields() throws {
    let catalog = try freshCatalog()
    let writer = try ProteinWriter(catalog: catalog)
    let (p1, e1, p2, e2, other) = try catalog.db.transaction {
      let (p1, e1) = try writer.ingestEntry(sequence: "MKTAYIAKQR") { p, a in
        p.accessions = a.appendList(["P00001"])
        p.organism = a.append("Homo sapiens (Human)")
      }
      let (p2, e2) = try writer.ingestEntry(sequence: "MKTAYIAKQR") { p, a in
        p.accessions = a.appendList(["P00001", "Q00002"])
        p.organism = a.append("Mus musculus (Mouse)")
        p.gene = a.append("ABC1")
      }
      let other = try writer.ingestEntry(sequence: "MKTAYIAKQR") { p, a in p.accessions = a.appendList(["P00003"]) }.entry
      // Accession rows wait for flush(), then go in together.
      #expect(try catalog.db.scalar("SELECT COUNT(*) FROM accessions") == 0)
      try writer.flush()
      #expect(try catalog.db.scalar("SELECT COUNT(*) FROM accessions") == 3)
      return (p1, e1!, p2, e2!, other!)
    }
    #expect(p1 == p2 && writer.newProteins == 1)
    #expect(e1 == e2 && other != e1)
    let s = try catalog.db.prepare("SELECT organism, gene FROM entries WHERE id = ?")
    try s.bind([.int(e1)])
    #expect(try s.step())
    #expect(s.text(0) == "Homo sapiens (Human)" && s.text(1) == "ABC1")
    #expect(try catalog.db.scalar("SELECT COUNT(*) FROM accessions WHERE entry_id = ?", [.int(e1)]) == 2)
  }

  /// The soundness check that every test catalog goes through finds a dangling reference.
  @Test func foreignKeyCheckFindsADanglingReference() throws {
    let catalog = try freshCatalog()
    #expect(try catalog.foreignKeyViolations().isEmpty)
    try catalog.db.execute("PRAGMA foreign_keys=OFF")
    try catalog.db.execute("INSERT INTO accessions(accession, entry_id, is_primary) VALUES ('P99999', 12345, 1)")
    #expect(try catalog.foreignKeyViolations() == ["accessions - -> entries"])
  }

  @Test func compoundSeenAgainKeepsItsIDAndFillsEmptyFields() throws {
    let catalog = try freshCatalog()
    let writer = try MoleculeWriter(catalog: catalog)
    let row = MoleculeRow(smiles: "CCO", connectivitySmiles: "CCO", formula: "C2H6O", heavyAtoms: 3)
    var first = CompoundRow(cid: 702)
    first.inchikey = "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"
    var second = CompoundRow(cid: 702)
    second.inchikey = "XXXXXXXXXXXXXX-UHFFFAOYSA-N"
    second.formula = "C2H6O"
    let (m1, c1, m2, c2) = try catalog.db.transaction {
      let m1 = try writer.molecule(row)
      let c1 = try writer.compound(first, molecule: m1)
      let m2 = try writer.molecule(row)
      let c2 = try writer.compound(second, molecule: m2)
      return (m1, c1, m2, c2)
    }
    #expect(m1 == m2 && writer.newMolecules == 1)
    #expect(c1 == c2)
    let s = try catalog.db.prepare("SELECT inchikey, formula FROM compounds WHERE id = ?")
    try s.bind([.int(c1)])
    #expect(try s.step())
    #expect(s.text(0) == "LFQSCWFLJHTTHZ-UHFFFAOYSA-N" && s.text(1) == "C2H6O")
  }
}
