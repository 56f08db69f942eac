import Foundation
import Testing
import TagdataCatalog
import TagdataIngest
import TestSupport

/// The check behind the resume tests of byte ranges and gzip member spans.
enum PartitionResumeCheck {
  /// Ingests `unit` of partition `spec` in one go, and again as a run killed after about half of
  /// its records leaves it (the rows from record k - 1 on deleted, the checkpoint at record k - 1,
  /// the ranges not yet recorded), then resumed: the resumed run reads only the rest, and both
  /// catalogs hold the same ranges, source states and records (numbers, lines, offsets, entities).
  static func expectResumesAtItsCheckpoint(_ unit: WorkUnit, _ spec: PartitionSpec) throws {
    let dir = TestSupport.tempDirectory()
    func run(_ path: String) throws -> FileReport {
      let catalog = try Catalog(path: path)
      let ingestor = try Ingestor(catalog: catalog)
      defer { try? ingestor.close() }
      return try ingestor.ingest(unit: unit, partition: spec)
    }
    let whole = dir.appendingPathComponent("whole.sqlite").path
    let first = try run(whole)
    #expect(first.records > 4)
    let cut = dir.appendingPathComponent("cut.sqlite").path
    _ = try run(cut)
    let c = try Catalog(path: cut)
    let k = Int64(first.records / 2)
    for table in ["records", "molecule_records", "quarantine"] {
      try c.db.execute("DELETE FROM \(table) WHERE record_no >= \(k - 1)")
    }
    let recordsUnion = "SELECT record_no, byte_offset, line FROM records UNION ALL SELECT record_no, byte_offset, line FROM molecule_records"
    let w = try Catalog(path: whole, readOnly: true)
    let offset = try #require(try w.db.scalar("SELECT byte_offset FROM (\(recordsUnion)) WHERE record_no = \(k - 1)"))
    let line = try #require(try w.db.scalar("SELECT line FROM (\(recordsUnion)) WHERE record_no = \(k - 1)"))
    try c.db.execute("""
      UPDATE sources SET status = 'partial', content_sha256 = NULL, records_done = \(k - 1), next_offset = \(offset),
        next_line = \(line);
      DELETE FROM partition_ranges;
      """)
    let resumed = try run(cut)
    #expect(resumed.resumedAfter == Int(k - 1))
    #expect(resumed.records == first.records - Int(k - 1))
    func rows(_ c: Catalog, _ sql: String) throws -> [String] {
      let s = try c.db.prepare(sql)
      var out: [String] = []
      while try s.step() { out.append((0..<s.columnCount).map { s.text($0) ?? "∅" }.joined(separator: " ")) }
      return out
    }
    let b = try Catalog(path: cut, readOnly: true)
    let records = """
      SELECT record_no, line, byte_offset, protein_id FROM records UNION ALL
      SELECT record_no, line, byte_offset, molecule_id FROM molecule_records ORDER BY 1
      """
    for sql in ["SELECT range_start, range_end, records, lines FROM partition_ranges", "SELECT status, content_sha256 FROM sources",
                records] {
      #expect(try rows(w, sql) == rows(b, sql), "\(sql)")
    }
  }
}
