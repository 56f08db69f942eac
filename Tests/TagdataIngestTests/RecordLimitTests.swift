import Foundation
import TagdataCatalog
import TagdataIngest
import TestSupport
import Testing

/// `ingest --max-atoms` quarantines every structure over the limit, with the limit named, in
/// every molecule format, and stores the rest.
@Suite struct RecordLimitTests {
  @Test(arguments: ["pubchem/sdf/pubchem.200.sdf", "pubchem/xml/taxols.xml", "pubchem/asn/list.asn",
                    "pubchem/mdl_other/chebi_15469.v3k.mol"])
  func moleculesOverMaxAtomsAreQuarantined(file: String) throws {
    let dir = TestSupport.tempDirectory()
    let all = dir.appendingPathComponent("all.sqlite").path
    let small = dir.appendingPathComponent("small.sqlite").path
    let path = TestSupport.corpus(file).path
    let base = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--catalog", all, path])
    let limited = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--max-atoms", "12", "--catalog", small, path])
    func counts(_ o: TestSupport.Output) -> (Int, Int) {
      let row = (try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [[String: Any]])?.first
      return (row?["records"] as? Int ?? -1, row?["quarantined"] as? Int ?? -1)
    }
    let (r0, q0) = counts(base), (r1, q1) = counts(limited)
    #expect(r0 > 0 && r0 + q0 == r1 + q1, "\(file): \(r0)+\(q0) vs \(r1)+\(q1): \(limited.stderr)")
    #expect(q1 > q0, "\(file): nothing over 12 atoms quarantined")
    let c = try Catalog(path: small, readOnly: true)
    let named = try c.db.scalar("SELECT count(*) FROM quarantine WHERE reason LIKE '%more than maxAtoms = 12%'") ?? 0
    #expect(Int(named) == q1 - q0, "\(file): \(named) of \(q1 - q0) reasons name the limit")
  }
}

/// A record with a field longer than the catalog stores (SQLite's length limit, lowered here) is
/// quarantined with that reason before any of its rows is written; its neighbours are stored.
@Suite struct CatalogValueLimitTests {
  @Test func aRecordTooLargeForTheCatalogIsQuarantined() throws {
    let dir = TestSupport.tempDirectory()
    let fasta = dir.appendingPathComponent("three.fa")
    try Data((">a\nMKTAYIAK\n>big\n" + String(repeating: "ACDEFGHIKL", count: 500) + "\n>b\nMKTAYIAKQR\n").utf8).write(to: fasta)
    let catalog = try Catalog(path: dir.appendingPathComponent("c.sqlite").path)
    catalog.db.limitValueLength(to: 2000)
    let ingestor = try Ingestor(catalog: catalog)
    let report = try ingestor.ingest(path: fasta.path)
    try ingestor.close()
    #expect(report.records == 2 && report.quarantined == 1, "\(report)")
    let reason = try catalog.db.text("SELECT reason FROM quarantine") ?? ""
    #expect(reason.contains("larger than the catalog stores"), "\(reason)")
    #expect(try catalog.db.scalar("SELECT count(*) FROM proteins") == 2)
  }
}
