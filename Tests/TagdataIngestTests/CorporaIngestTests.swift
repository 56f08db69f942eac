import Foundation
import TagdataBio
import TagdataCatalog
import TagdataIngest
import TestSupport
import Testing

@Suite struct CorporaIngestTests {
  /// Every entry of every shipped flat and XML file is stored, none quarantined; the ingest
  /// checks each declared length and CRC64, so 0 quarantined means 100% matched. The stored
  /// sequences' CRC64 is recomputed here too.
  @Test(arguments: flatFiles + xmlFiles)
  func everyShippedEntryIsIngestedWithMatchingLengthAndCRC64(file: URL) throws {
    let expected = try countEntries(file)
    #expect(expected > 0)
    let (catalog, reports) = try ingest([file.path])
    let r = reports[0]
    #expect(r.status == .complete, "\(r.error ?? "")")
    #expect(r.records == expected, "\(file.lastPathComponent): \(r.records) of \(expected)")
    #expect(r.quarantined == 0)
    let s = try catalog.db.prepare("SELECT crc64, length, sequence FROM proteins")
    var n = 0
    while try s.step() {
      let seq = Array((s.text(2) ?? "").utf8)
      #expect(CRC64.hex(CRC64.checksum(seq)) == s.text(0))
      #expect(Int64(seq.count) == s.int(1))
      n += 1
    }
    #expect(n > 0)
  }

  @Test(arguments: ["F2CXE6", "H2CNN8", "Q13639", "multi_ex"])
  func flatAndXMLVersionsGiveTheSameRows(name: String) throws {
    let flat = TestSupport.corpus("uniprot/flat/\(name).txt").path
    let xml = TestSupport.corpus("uniprot/xml/\(name).xml").path
    let a = try ingest([flat]).catalog.dump(provenance: false)
    let b = try ingest([xml]).catalog.dump(provenance: false)
    #expect(a.contains { $0.hasPrefix("entry\t") })
    #expect(a.contains { $0.hasPrefix("name\t") })
    if name != "H2CNN8" { #expect(a.contains { $0.hasPrefix("comment\t") }) }
    #expect(a == b)
    for (x, y) in zip(a, b) where x != y { Issue.record("flat: \(x)\nxml:  \(y)") }
  }

  @Test func sameFileTwiceChangesNothing() throws {
    let file = TestSupport.corpus("uniprot/flat/multi_ex.txt").path
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let first = try ingest([file], catalogPath: path)
    let before = try first.catalog.dump()
    let second = try ingest([file], catalogPath: path)
    #expect(second.reports[0].status == .alreadyIngested)
    #expect(try second.catalog.dump() == before)
  }

  @Test func deduplicatesSequencesAcrossFormats() throws {
    let (catalog, _) = try ingest([
      TestSupport.corpus("uniprot/flat/multi_ex.txt").path, TestSupport.corpus("uniprot/xml/multi_ex.xml").path,
      TestSupport.corpus("uniprot/fasta/multi_ex.fasta").path,
    ])
    let stats = try catalog.stats()
    #expect(stats.proteins == 8)
    #expect(stats.entries == 8)
    #expect(stats.records == 24)
  }

  @Test func fastaHeadersBecomeEntries() throws {
    let (catalog, reports) = try ingest([TestSupport.corpus("uniprot/fasta/protein_lib.fa").path])
    #expect(reports[0].records == 12)
    let s = try catalog.db.prepare("SELECT accession, entry_name, reviewed, existence, sequence_version FROM entries ORDER BY accession LIMIT 1")
    #expect(try s.step())
    #expect(s.text(0) == "P00193")
    #expect(s.text(1) == "FER_PEPAS")
    #expect(s.int(2) == 1)
  }
}
