import Foundation
import TagdataCatalog
import TestSupport
import Testing

/// Runs Biopython (from the test venv) on the shipped UniProt files and compares primary
/// accessions, sequences and taxon ids with what tagdata stored, record by record.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct BiopythonInteropTests {
  @Test func biopythonReadsTheSameAccessionsSequencesAndTaxa() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let files = (flatFiles + xmlFiles + TestSupport.corpusFiles("uniprot/fasta")).map(\.path)
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/biopython_uniprot.py").path
    let out = try TestSupport.run(python, [script] + files)
    #expect(out.status == 0, "\(out.stderr)")
    var expected: [String: [(Int, String, String, String)]] = [:]
    for line in out.stdout.split(separator: "\n") {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      expected[f[0], default: []].append((Int(f[1])!, f[2], f[3], f[4]))
    }
    var compared = 0
    for file in files {
      let rows = expected[file] ?? []
      #expect(!rows.isEmpty, "Biopython read nothing from \(file)")
      let (catalog, reports) = try ingest([file])
      #expect(reports[0].records == rows.count, "\(file): tagdata \(reports[0].records), Biopython \(rows.count)")
      let s = try catalog.db.prepare("""
        SELECT r.record_no, COALESCE(e.accession, ''), p.sequence, COALESCE(e.taxon_id, '') FROM records r
        JOIN proteins p ON p.id = r.protein_id LEFT JOIN entries e ON e.id = r.entry_id ORDER BY r.record_no
        """)
      var ours: [Int: (String, String, String)] = [:]
      while try s.step() { ours[Int(s.int(0))] = (s.text(1) ?? "", s.text(2) ?? "", s.text(3) ?? "") }
      for (i, acc, seq, tax) in rows {
        guard let o = ours[i] else {
          Issue.record("\(file) record \(i): missing in tagdata")
          continue
        }
        #expect(o.0 == acc, "\(file) record \(i): accession \(o.0) vs Biopython \(acc)")
        #expect(o.1 == seq.uppercased(), "\(file) record \(i): sequences differ")
        // FASTA headers of the shipped files predate OX=: Biopython and tagdata both have no taxon.
        #expect(o.2 == tax, "\(file) record \(i): taxon \(o.2) vs Biopython \(tax)")
        compared += 1
      }
    }
    // Every record of every file (flat 154, XML 20, FASTA 20) was compared.
    #expect(compared == expected.values.map(\.count).reduce(0, +))
    #expect(compared == 194)
  }
}
