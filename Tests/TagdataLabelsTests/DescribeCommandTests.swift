import Foundation
import TagdataCatalog
import TestSupport
import Testing

/// `tagdata describe` on files, standard input and a catalog.
@Suite struct DescribeCommandTests {
  @Test func oneRowPerSmilesAndUnreadableOnesNamed() throws {
    let input = "CC(=O)Oc1ccccc1C(=O)O aspirin\nC1CC broken\nCCO\n"
    let r = try TestSupport.tagdata(["describe", "--descriptors", "mol_wt,formula,tpsa", "-"], input: Data(input.utf8))
    #expect(r.status == 1, "an unreadable SMILES makes the exit code 1")
    let rows = r.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    #expect(rows.first == ["id", "smiles", "mol_wt", "formula", "tpsa"])
    #expect(rows.count == 4)
    #expect(rows[1][0] == "aspirin" && rows[1][3] == "C9H8O4" && abs((Double(rows[1][4]) ?? 0) - 63.6) < 1e-9)
    #expect(rows[2][0] == "broken" && rows[2][2...].allSatisfy(\.isEmpty))
    #expect(rows[3][0] == "3" && rows[3][3] == "C2H6O", "without a name the id is the line number")
    #expect(r.stderr.contains("line 2"))
  }

  @Test func jsonLinesCarryNullsAndReasons() throws {
    let fasta = ">sp|P1|A_HUMAN one\nMKTAYIAKQR\n>two\nMKTXYIAKQR\n"
    let r = try TestSupport.tagdata(["describe", "--json", "--descriptors", "length,gravy,descriptor", "-"],
                                    input: Data(fasta.utf8))
    #expect(r.status == 0)
    let lines = r.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    #expect(lines.count == 2 && lines.allSatisfy { $0 != nil })
    let second = try #require(lines[1])
    let values = try #require(second["values"] as? [String: Any])
    #expect(second["id"] as? String == "two")
    #expect(values["length"] as? Double == 10)
    #expect(values["gravy"] is NSNull && values["BLOSUM1"] is NSNull)
    let reasons = try #require(second["reasons"] as? [String: String])
    #expect(reasons["gravy"]?.contains("'X'") == true)
  }

  @Test func columnOfACSVKeepsTheRow() throws {
    let csv = "name,smiles\n\"benzene, plain\",c1ccccc1\nethanol,CCO\n"
    let r = try TestSupport.tagdata(["describe", "--column", "smiles", "--descriptors", "rings,heavy_atoms", "-"],
                                    input: Data(csv.utf8))
    #expect(r.status == 0)
    #expect(r.stdout == "name,smiles,rings,heavy_atoms\n\"benzene, plain\",c1ccccc1,1,6\nethanol,CCO,0,3\n")
  }

  @Test func listNamesEveryDescriptor() throws {
    let r = try TestSupport.tagdata(["describe", "--list", "--json"])
    #expect(r.status == 0)
    let items = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    #expect(items.filter { $0["kind"] as? String == "protein" && ($0["reference"] as? String ?? "").hasPrefix("peptides") }.count == 88)
    #expect(items.contains { $0["name"] as? String == "tpsa" && $0["kind"] as? String == "molecule" })
  }

  /// Labels land in the catalog once; a second run finds them up to date and computes nothing.
  @Test func catalogLabelsAreComputedOnce() throws {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let files = ["uniprot/flat/multi_ex.txt", "pubchem/sdf/pubchem.200.sdf"].map { TestSupport.corpus($0).path }
    #expect(try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + files).status == 0)
    let first = try TestSupport.tagdata(["describe", "--catalog", path, "--json", "--descriptors", "mol_wt,formula,BLOSUM1"])
    #expect(first.status == 0, "\(first.stderr)")
    let summary = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: [String: Int]])
    let catalog = try Catalog(path: path, readOnly: true)
    let molecules = Int(try catalog.db.scalar("SELECT count(*) FROM molecules") ?? 0)
    let proteins = Int(try catalog.db.scalar("SELECT count(*) FROM proteins") ?? 0)
    // mol_wt names a descriptor of both kinds: both are computed.
    #expect(summary["molecule"]?["entities"] == molecules && summary["protein"]?["entities"] == proteins)
    #expect(summary["molecule"]?["values"] == 2 * molecules)
    #expect((summary["protein"]?["values"] ?? 0) + (summary["protein"]?["missing"] ?? 0) == 2 * proteins)
    let counts = try catalog.labelCounts()
    #expect(Set(counts.map { "\($0.entity.rawValue):\($0.name)" })
      == ["molecule:formula", "molecule:mol_wt", "protein:BLOSUM1", "protein:mol_wt"])
    let again = try TestSupport.tagdata(["describe", "--catalog", path, "--json", "--descriptors", "mol_wt,formula,BLOSUM1"])
    let summary2 = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: [String: Int]])
    #expect(summary2["molecule"]?["entities"] == 0 && summary2["protein"]?["entities"] == 0)
    // A molecule's stored label equals the one describe computes from its SMILES.
    var stored: [Catalog.StoredLabel] = []
    try catalog.forEachLabel(.molecule, names: ["formula"]) { stored.append($0); return stored.count < 5 }
    #expect(stored.count == 5)
    for label in stored {
      guard case let .text(formula) = label.value else {
        Issue.record("formula stored as \(label.value)")
        continue
      }
      let r = try TestSupport.tagdata(["describe", "--descriptors", "formula", "-"], input: Data((label.key + "\n").utf8))
      let computed = r.stdout.split(separator: "\n").last?.split(separator: "\t").last.map(String.init)
      #expect(computed == formula, "\(label.key)")
    }
  }
}
