import Foundation
import TagdataCatalog
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
