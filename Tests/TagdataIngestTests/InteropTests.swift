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

/// The records whose PubChem isomeric SMILES tag we disagree with, checked against RDKit: each
/// must be a record where RDKit's own reading of the drawing disagrees with the tag as well
/// (PubChem's stereo perception differs from the connection table it ships), so that none of
/// them is a mistake of ours that RDKit does not make.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct PubChemTagInteropTests {
  @Test func everyDisagreementWithPubChemIsOneRDKitShares() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let file = TestSupport.corpus("pubchem/sdf/pubchem-hard-set.sdf.gz").path
    let (catalog, _) = try ingest([file])
    let s = try catalog.db.prepare("SELECT cid FROM pubchem_smiles_disagreements ORDER BY cid")
    var cids: [Int] = []
    while try s.step() { cids.append(Int(s.int(0))) }
    #expect(cids.count >= 50, "the hard set's disagreements are what this test is about")
    let list = TestSupport.tempDirectory().appendingPathComponent("cids.txt")
    try cids.map(String.init).joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/rdkit_pubchem_tags.py").path
    let out = try TestSupport.run(python, [script, file, list.path])
    #expect(out.status == 0, "\(out.stderr)")
    var seen = Set<Int>()
    var inchiBlind = 0
    var rdkit: (records: Int, agree: Int)?
    for line in out.stdout.split(separator: "\n") {
      if line.hasPrefix("all\t") {
        let f = line.split(separator: "\t").dropFirst().map { Int($0)! }
        rdkit = (f[0], f[1])
        continue
      }
      let f = line.split(separator: "\t").map { Int($0)! }
      seen.insert(f[0])
      // CID 42616237: the drawing leaves one polyene double bond "either"; our SMILES keeps it
      // unknown (RDKit's InChI of it equals the drawing's), while RDKit's SMILES and PubChem's
      // tag both set it.
      if f[0] != 42616237 {
        #expect(f[1] == 0, "CID \(f[0]): RDKit reads the drawing as PubChem's tag, tagdata does not")
      }
      if f[2] == 1 { inchiBlind += 1 }
    }
    #expect(seen == Set(cids), "RDKit did not read every record in question")
    print("PubChem tag disagreements: \(cids.count); RDKit's reading of the drawing disagrees with the tag on "
      + "\(cids.count - 1); InChI cannot tell the tag from the drawing on \(inchiBlind) (mobile-H and charged groups), "
      + "and tells them apart on \(cids.count - inchiBlind)")
    // RDKit's own agreement with the tags over the same records is the bar for ours.
    let total = Int(try catalog.db.scalar("SELECT COUNT(*) FROM compounds WHERE pubchem_smiles IS NOT NULL") ?? 0)
    let ours = total - cids.count
    guard let rdkit else {
      Issue.record("RDKit printed no summary line")
      return
    }
    #expect(rdkit.records == total)
    print("Agreement with PubChem's isomeric SMILES tags on the hard set: tagdata \(ours) of \(total), "
      + "RDKit (its canonical SMILES of the molblock vs of the tag) \(rdkit.agree) of \(rdkit.records)")
    #expect(ours >= rdkit.agree)
  }
}
