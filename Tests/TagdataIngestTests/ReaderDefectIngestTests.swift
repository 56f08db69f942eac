import Foundation
import TagdataCatalog
import TagdataIngest
import TestSupport
import Testing

/// Reader defects seen end to end: what ingest stores and quarantines, with which line.
@Suite struct ReaderDefectIngestTests {
  func write(_ text: String, _ name: String) throws -> String {
    let url = TestSupport.tempDirectory().appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url.path
  }

  func texts(_ catalog: Catalog, _ sql: String) throws -> [String] {
    let s = try catalog.db.prepare(sql)
    var out: [String] = []
    while try s.step() { out.append(s.text(0) ?? "") }
    return out
  }

  /// N33_HUMAN (Q13454) from Swiss-Prot release 38, with the CRC32 its SQ line declares.
  static let oldEntry = """
    ID   N33_HUMAN      STANDARD;      PRT;   348 AA.
    AC   Q13454; Q14911; Q14912;
    DT   15-JUL-1999 (Rel. 38, Created)
    DE   N33 PROTEIN.
    OS   Homo sapiens (Human).
    SQ   SEQUENCE   348 AA;  39676 MW;  75818910 CRC32;
         MGARGAPSRR RQAGRRLRYL PTGSFPFLLL LLLLCIQLGG GQKKKENLLA EKVEQLMEWS
         SRRSIFRMNG DKFRKFIKAP PRNYSMIVMF TALQPQRQCS VCRQANEEYQ ILANSWRYSS
         AFCNKLFFSM VDYDEGTDVF QQLNMNSAPT FMHFPPKGRP KRADTFDLQR IGFAAEQLAK
         WIADRTDVHI RVFRPPNYSG TIALALLVSL VGGLLYLRRN NLEFIYNKTG WAMVSLCIVF
         AMTSGQMWNH IRGPPYAHKN PHNGQVSYIH GSSQAQFVAE SHIILVLNAA ITMGMVLLNE
         AATSKGDVGK RRIICLVGLG LVVFFFSFLL SIFRSKYHGY PYSDLDFE
    //

    """

  /// A pre-2001 entry is stored when its CRC32 holds, and quarantined at its SQ line when not.
  @Test func swissProtCRC32() throws {
    let good = try write(Self.oldEntry, "old.dat")
    let bad = try write(Self.oldEntry.replacingOccurrences(of: "PYSDLDFE", with: "PYSDLDFF")
      .replacingOccurrences(of: "N33_HUMAN", with: "N34_HUMAN").replacingOccurrences(of: "Q13454", with: "Q13455"), "bad.dat")
    let (catalog, reports) = try ingest([good, bad])
    #expect(reports[0].records == 1 && reports[0].quarantined == 0, "\(reports[0])")
    #expect(reports[1].records == 0 && reports[1].quarantined == 1)
    let rows = try texts(catalog, "SELECT line || ': ' || reason FROM quarantine")
    #expect(rows.count == 1 && rows[0].hasPrefix("6: CRC32 mismatch") && rows[0].contains("75818910"), "\(rows)")
  }

  /// The catalog keeps which checksum an entry declared: CRC32 for the old entry, CRC64 for today's.
  @Test func checksumKindIsKept() throws {
    let old = try write(Self.oldEntry, "old.dat")
    let (catalog, _) = try ingest([old, TestSupport.corpus("uniprot/flat/P60137.txt").path])
    let rows = try texts(catalog, "SELECT accession || ' ' || checksum_kind || ' ' || declared_checksum FROM entries ORDER BY accession")
    #expect(rows == ["P60137 crc64 55537AEC50D25E8D", "Q13454 crc32 75818910"], "\(rows)")
  }

  /// pubchem.200.sdf without its second `$$$$`: all 200 records are stored.
  @Test func missingDelimiterLosesNothing() throws {
    var lines = String(decoding: try Data(contentsOf: TestSupport.corpus("pubchem/sdf/pubchem.200.sdf")), as: UTF8.self)
      .split(separator: "\n", omittingEmptySubsequences: false)
    let second = lines.indices.filter { lines[$0] == "$$$$" }[1]
    lines.remove(at: second)
    let (_, reports) = try ingest([try write(lines.joined(separator: "\n"), "cut.sdf")])
    #expect(reports[0].status == .complete && reports[0].records == 200 && reports[0].quarantined == 0, "\(reports[0])")
  }

  /// PubChem's wrapped InChI strings are stored joined.
  @Test func asnInChIIsStoredJoined() throws {
    let (catalog, _) = try ingest([TestSupport.corpus("pubchem/asn/cid1.asn").path])
    let inchis = try texts(catalog, "SELECT inchi FROM compounds")
    #expect(inchis == ["InChI=1/C9H17NO4/c1-7(11)14-8(5-9(12)13)6-10(2,3)4/h8H,5-6H2,1-4H3"], "\(inchis)")
  }

  /// A bad SQ line 3000 lines into an entry is named at its line.
  @Test func damageLineReachesTheQuarantine() throws {
    let text = String(decoding: try Data(contentsOf: TestSupport.corpus("uniprot/flat/P04439.txt")), as: UTF8.self)
    let (catalog, _) = try ingest([try write(text.replacingOccurrences(of: "CRC64;", with: "CRC99;"), "bad.dat")])
    let lines = try texts(catalog, "SELECT line FROM quarantine")
    #expect(lines == ["3116"], "\(lines)")
  }
}
