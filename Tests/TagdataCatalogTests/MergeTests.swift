import Foundation
import Testing
import TagdataCatalog
import TestSupport

@Suite struct MergeTests {
  @Test func refusesAnotherSchemaVersion() throws {
    let dir = TestSupport.tempDirectory()
    let old = dir.appendingPathComponent("old.sqlite").path
    let c = try Catalog(path: old)
    try c.db.execute("PRAGMA user_version = \(Catalog.schemaVersion - 1)")
    let out = try Catalog(path: dir.appendingPathComponent("out.sqlite").path)
    #expect(throws: MergeError.schemaVersion(path: old, found: Catalog.schemaVersion - 1, expected: Catalog.schemaVersion)) {
      try out.merge(parts: [old], arguments: "", now: "")
    }
    let message = "\(MergeError.schemaVersion(path: old, found: 7, expected: 8))"
    #expect(message.contains("old.sqlite") && message.contains("version 7") && message.contains("8"))
    // Nothing was written: not even a run.
    #expect(try out.db.scalar("SELECT count(*) FROM runs") == 0)
    #expect(throws: MergeError.sameAsOutput(path: old)) { try c.merge(parts: [old], arguments: "", now: "") }
  }

  @Test func mergesEmptyCatalogsAndRefusesOtherDatabases() throws {
    let dir = TestSupport.tempDirectory()
    let a = dir.appendingPathComponent("a.sqlite").path
    _ = try Catalog(path: a)
    let out = try Catalog(path: dir.appendingPathComponent("out.sqlite").path)
    let r = try out.merge(parts: [a, a], arguments: "", now: "")
    #expect(r.parts == 2 && r.sources == 0)
    #expect(try out.dump().isEmpty)
    let other = dir.appendingPathComponent("other.sqlite").path
    let db = try Database(path: other)
    try db.execute("CREATE TABLE t(x)")
    #expect(throws: SQLiteError.self) { try out.merge(parts: [other], arguments: "", now: "") }
  }
}
