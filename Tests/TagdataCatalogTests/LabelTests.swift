import Foundation
import TagdataCatalog
import TestSupport
import Testing

/// Labels: written per entity, found pending when missing or of another version, read back by key.
@Suite struct LabelTests {
  static func catalog() throws -> Catalog {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let files = ["uniprot/flat/multi_ex.txt", "pubchem/sdf/pubchem.200.sdf"].map { TestSupport.corpus($0).path }
    _ = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + files)
    return try Catalog(path: path)
  }

  @Test func pendingUntilWrittenAndAgainWhenTheVersionChanges() throws {
    let c = try Self.catalog()
    let molecules = Int(try c.db.scalar("SELECT count(*) FROM molecules") ?? 0)
    #expect(molecules > 100)
    let defs = [Catalog.LabelDefinition(name: "heavy_atoms", version: "1"), .init(name: "formula", version: "1")]
    // Page through all of them, writing each page.
    var after: Int64 = 0, seen = 0
    while true {
      let page = try c.pendingLabels(.molecule, defs, after: after, limit: 37)
      if page.isEmpty { break }
      #expect(page.map(\.id) == page.map(\.id).sorted() && page.allSatisfy { $0.missing == [0, 1] })
      try c.transaction {
        for p in page {
          try c.writeLabels(.molecule, id: p.id, [(defs[0], .number(Double(p.input.count))),
                                                  (defs[1], p.input.contains("Na") ? .missing(reason: "salt") : .text("F"))],
                            run: nil)
        }
      }
      seen += page.count
      after = page.last!.id
    }
    #expect(seen == molecules)
    #expect(try c.pendingLabels(.molecule, defs, after: 0, limit: 10).isEmpty)
    // A new version of one definition: every molecule pending again, for that one only.
    let changed = [defs[0], Catalog.LabelDefinition(name: "formula", version: "2")]
    let again = try c.pendingLabels(.molecule, changed, after: 0, limit: 1_000_000)
    #expect(again.count == molecules && again.allSatisfy { $0.missing == [1] })
    // Proteins are their own entity.
    #expect(try c.pendingLabels(.protein, defs, after: 0, limit: 1_000_000).count
      == Int(try c.db.scalar("SELECT count(*) FROM proteins") ?? -1))
    // Read back by key, filtered by name; counts by name and version.
    var labels: [Catalog.StoredLabel] = []
    try c.forEachLabel(.molecule, names: ["formula"]) { labels.append($0); return true }
    #expect(labels.count == molecules && labels.allSatisfy { $0.name == "formula" })
    #expect(labels.map(\.key) == labels.map(\.key).sorted())
    let counts = try c.labelCounts()
    #expect(counts.map(\.name) == ["formula", "heavy_atoms"])
    #expect(counts[0].values + counts[0].missing == molecules && counts[1].values == molecules)
    #expect(counts[0].missing == labels.filter { if case .missing = $0.value { return true }; return false }.count)
  }

  /// Exactly one of value, text and reason: a NaN (which SQLite would store as NULL) becomes a
  /// missing value with its reason, never a row without any.
  @Test func notANumberIsStoredAsMissing() throws {
    let c = try Self.catalog()
    let id = try #require(try c.pendingLabels(.molecule, [.init(name: "x", version: "1")], after: 0, limit: 1).first).id
    try c.writeLabels(.molecule, id: id, [(.init(name: "x", version: "1"), .number(.nan))], run: nil)
    var got: [Catalog.LabelValue] = []
    try c.forEachLabel(.molecule) { got.append($0.value); return true }
    #expect(got == [.missing(reason: "not a number")])
  }
}

@Suite struct LabelDumpTests {
  /// Labels appear in the dump by entity key, numbers exactly; a catalog without labels dumps as before.
  @Test func labelsAreDumpedByKey() throws {
    let c = try LabelTests.catalog()
    let before = try c.dump()
    #expect(!before.contains { $0.hasPrefix("label\t") })
    let defs = [Catalog.LabelDefinition(name: "x", version: "1")]
    let first = try #require(try c.pendingLabels(.molecule, defs, after: 0, limit: 1).first)
    try c.writeLabels(.molecule, id: first.id, [(defs[0], .number(0.1 + 0.2))], run: nil)
    let after = try c.dump()
    let labels = after.filter { $0.hasPrefix("label\t") }
    #expect(labels == ["label\tmolecule\t\(first.input)\tx\t0.30000000000000004\t∅\t∅\t1"])
    #expect(after.filter { !$0.hasPrefix("label\t") } == before)
  }
}
