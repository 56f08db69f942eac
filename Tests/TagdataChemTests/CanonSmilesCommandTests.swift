import Foundation
import TestSupport
import Testing

@Suite struct CanonSmilesCommandTests {
  @Test func lineModeWritesOneLinePerInputLine() throws {
    let input = "OCC ethanol\nC1CC\n\nc1ccccc1\nCFC\n"
    let r = try TestSupport.tagdata(["canon", "smiles", "-"], input: Data(input.utf8))
    #expect(r.status == 1)
    #expect(r.stdout == "CCO\n\n\nc1ccccc1\n\n")
    #expect(r.stderr.contains("line 2: C1CC: unclosed ring 1"))
    #expect(r.stderr.contains("line 5: CFC: explicit valence 2 of atom 1 (F) is greater than permitted"))
    let skip = try TestSupport.tagdata(["canon", "smiles", "--skip-failed", "--keep-rest", "-"], input: Data(input.utf8))
    #expect(skip.stdout == "CCO ethanol\nc1ccccc1\n")
    let ok = try TestSupport.tagdata(["canon", "smiles", "--kekule"], input: Data("c1ccccc1O\n".utf8))
    #expect(ok.status == 0)
    #expect(ok.stdout == "OC1=CC=CC=C1\n")
  }

  @Test func columnModePassesOtherColumnsThrough() throws {
    let dir = TestSupport.tempDirectory()
    let csv = dir.appendingPathComponent("m.csv")
    try Data("id,smiles,y\n1,OCC,0.5\n2,C1CC,1\n3,[C@@H](N)(C)C(=O)O,2\n".utf8).write(to: csv)
    let r = try TestSupport.tagdata(["canon", "smiles", "--column", "smiles", csv.path])
    #expect(r.status == 1)
    #expect(r.stdout == "id,smiles,y\n1,CCO,0.5\n2,,1\n3,C[C@@H](N)C(=O)O,2\n")
    let missing = try TestSupport.tagdata(["canon", "smiles", "--column", "nope", csv.path])
    #expect(missing.status == 64)
    #expect(missing.stderr.contains("no column 'nope'"))
  }
}
