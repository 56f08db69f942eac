import Foundation
import TestSupport
import Testing

/// `canon smiles --column` reads CSV as RFC 4180 defines and writes it back quoted where needed.
@Suite struct CanonColumnTests {
  @Test func quotedCSVCellsAreReadAndWrittenBack() throws {
    let input = "id,smiles,note\r\n1,\"OCC\",\"ethanol, \"\"EtOH\"\"\"\r\n2,c1ccccc1,\"two\nlines\"\r\n3,CCN,x,extra\r\n"
    let r = try TestSupport.tagdata(["canon", "smiles", "--column", "smiles", "-"], input: Data(input.utf8))
    #expect(r.stdout == "id,smiles,note\n1,CCO,\"ethanol, \"\"EtOH\"\"\"\n2,c1ccccc1,\"two\nlines\"\n3,CCN,x,extra\n")
    // The row with four fields is damaged: named with its line, passed through, exit 1.
    #expect(r.status == 1)
    #expect(r.stderr.contains("row 3, line 5: 4 fields where the header has 3"))
  }
}

/// `canon sdf` does not canonicalize what is left of a damaged record: it names the line.
@Suite struct CanonSDFDamageTests {
  @Test func aRecordWithoutMEndIsAFailureAtItsLine() throws {
    let mol = try String(contentsOf: TestSupport.corpus("pubchem/sdf/pubchem_paracetamol.mol"), encoding: .utf8)
    let first = mol.components(separatedBy: "$$$$")[0].trimmingCharacters(in: .newlines) + "\n$$$$\n"
    let broken = first.replacingOccurrences(of: "M  END\n", with: "")
    #expect(broken != first)
    let r = try TestSupport.tagdata(["canon", "sdf", "-"], input: Data((broken + first).utf8))
    let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 3 && lines[0].hasPrefix("\t") && lines[1].hasPrefix("CC(=O)Nc1ccc(O)cc1"), "\(r.stdout)")
    #expect(r.status == 1)
    #expect(r.stderr.contains("record 1, line "), "\(r.stderr)")
  }
}
