import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing
@testable import TagdataChem

@Suite struct MolfileTests {
  func canonicalOf(molfile url: URL) throws -> [String] {
    let opened = try openInput(url.path)
    let reader = SDFReader(lines: LineReader(opened.source))
    var out: [String] = []
    while let r = try reader.next() { out.append(SmilesWriter().write(try Molfile.read(block: r.molfile).molecule)) }
    return out
  }

  /// V2000 and V3000 files give the molecule RDKit reads from them (RDKit's SMILES of each,
  /// recorded here, canonicalized by tagdata, equals tagdata's canonical SMILES of the file).
  @Test(arguments: [
    ("v3k.1.mol", "O=C(O)C1CCCO1"),
    ("manycharges.mol", "[CH-]1[CH-][CH-]C2[CH-]C3[CH-][CH-][CH-][CH-]C3[CH-]C2[CH-]1"),
    ("chebi_15469.v3k.mol", "*C=CC(=O)SCCNC(=O)CCNC(=O)[C@H](O)C(C)(C)COP(=O)(O)OP(=O)(O)OC[C@H]1O[C@@H](n2cnc3c(N)ncnc32)[C@H](O)[C@@H]1OP(=O)(O)O"),
    ("precision.v3k.mol", "O=C([O-])C(F)(F)F"),
  ])
  func connectionTablesGiveTheMoleculeRDKitReads(file: String, rdkit: String) throws {
    let ours = try canonicalOf(molfile: TestSupport.corpus("pubchem/mdl_other/\(file)"))
    #expect(ours == [try Smiles.canonical(rdkit)])
  }

  /// D and T are hydrogen isotopes in V3000 atom lines too.
  @Test func v3000DeuteriumKeepsItsMass() throws {
    let text = """

        test

        0  0  0     0  0            999 V3000
      M  V30 BEGIN CTAB
      M  V30 COUNTS 2 1 0 0 0
      M  V30 BEGIN ATOM
      M  V30 1 C 0 0 0 0
      M  V30 2 D 1 0 0 0
      M  V30 END ATOM
      M  V30 BEGIN BOND
      M  V30 1 1 1 2
      M  V30 END BOND
      M  V30 END CTAB
      M  END
      """
    #expect(SmilesWriter().write(try Molfile.read(text).molecule) == "[2H]C")
  }

  @Test func readsSDFDataItems() throws {
    let opened = try openInput(TestSupport.corpus("pubchem/sdf/pubchem_87396055.sdf").path)
    let reader = SDFReader(lines: LineReader(opened.source))
    let r = try #require(try reader.next())
    #expect(r.value("PUBCHEM_COMPOUND_CID") == "87396055")
    #expect(r.value("PUBCHEM_IUPAC_INCHIKEY")?.count == 27)
    #expect(try reader.next() == nil)
  }

  @Test func wedgesGiveTetrahedralStereo() throws {
    // (R)- and (S)-CHFClBr drawn with one wedge, then its mirror with a hash.
    func mol(_ stereo: Int) -> String { Fixtures.bromochlorofluoromethane(stereo: stereo) }
    let up = try SmilesWriter().write(Molfile.read(mol(1)).molecule)
    let down = try SmilesWriter().write(Molfile.read(mol(6)).molecule)
    let flat = try SmilesWriter().write(Molfile.read(mol(0)).molecule)
    #expect(up != down)
    #expect(up.contains("@") && down.contains("@"))
    #expect(!flat.contains("@"))
  }
}

/// RDKit reading tagdata's canonical SMILES of a connection table gives the same InChI as RDKit
/// reading the molblock (coordinates removed, so that both sides use RDKit's stereo perception).
/// Every record both read must agree (issue 4); `atLeast` guards the number read by both.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv"))
struct MolfileInteropTests {
  @Test(arguments: [("pubchem/sdf/pubchem.200.sdf", 200), ("pubchem/sdf/pubchem_stereo_test.sdf", 100),
                    ("pubchem/sdf/pubchem-hard-set.sdf.gz", 1181)])
  func sameInchiAsRDKit(file: String, atLeast: Int) throws {
    guard let python = TestSupport.python else {
      Issue.record("no venv python")
      return
    }
    let dir = TestSupport.tempDirectory()
    let ours = dir.appendingPathComponent("ours.tsv")
    let input = TestSupport.corpus(file).path
    _ = try TestSupport.run("/bin/sh", ["-c", "'\(TestSupport.tagdataBinary)' canon sdf '\(input)' > '\(ours.path)' 2>/dev/null; true"])
    let check = try TestSupport.run(python, [TestSupport.root.appendingPathComponent("Tests/Interop/rdkit_sdf.py").path, "check", input, ours.path])
    #expect(check.status == 0, "\(check.stderr)")
    var both = 0, same = 0
    for line in check.stdout.split(separator: "\n") {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false)
      if f[1] == "1" && f[2] == "1" {
        both += 1
        if f[3] == "1" { same += 1 }
      }
    }
    print("\(file): \(both) records read by both, same InChI \(same)")
    #expect(both >= atLeast)
    #expect(same == both, "\(both - same) records of \(file) give another InChI")
  }
}
