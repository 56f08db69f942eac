import Foundation
import TagdataCatalog
import TestSupport
import Testing

/// A barrier for threads that must start something at the same moment.
private final class StartLine: @unchecked Sendable {
  private let condition = NSCondition()
  private var waiting = 0
  private let count: Int
  init(_ count: Int) { self.count = count }
  func arriveAndWait() {
    condition.lock()
    waiting += 1
    if waiting == count { condition.broadcast() } else { while waiting < count { condition.wait() } }
    condition.unlock()
  }
}

private final class Box<T>: @unchecked Sendable {
  var value: T
  init(_ v: T) { value = v }
}

@Suite struct CatalogOpeningTests {
  /// Two connections creating the same new catalog at once both succeed (one failed with
  /// `table runs already exists` or `database is locked` nearly every time), repeatedly.
  @Test func twoWritersCreatingTheSameCatalogBothSucceed() throws {
    for trial in 0..<20 {
      let path = TestSupport.tempDirectory().appendingPathComponent("c\(trial).sqlite").path
      let start = StartLine(2)
      let errors = Box<[String]>([])
      let lock = NSLock()
      let finished = DispatchSemaphore(value: 0)
      for k in 0..<2 {
        let thread = Thread {
          start.arriveAndWait()
          do {
            let c = try Catalog(path: path)
            _ = try c.beginRun(toolVersion: "test", arguments: "writer \(k)", now: "now")
          } catch {
            lock.lock()
            errors.value.append("\(error)")
            lock.unlock()
          }
          finished.signal()
        }
        thread.start()
      }
      finished.wait()
      finished.wait()
      #expect(errors.value.isEmpty, "trial \(trial): \(errors.value)")
      let c = try Catalog(path: path, readOnly: true)
      #expect(try c.db.scalar("SELECT count(*) FROM runs") == 2)
      #expect(try c.db.scalar("PRAGMA user_version") == Catalog.schemaVersion)
    }
  }

  /// The same with two `tagdata ingest` processes into one new catalog.
  @Test func twoIngestProcessesCreatingTheSameCatalogBothSucceed() throws {
    // Two different inputs (two ingests of the same file at once race on its source row: another matter).
    let inputs = TestSupport.corpusFiles("uniprot/flat").prefix(2).map(\.path)
    for trial in 0..<5 {
      let dir = TestSupport.tempDirectory().path
      let processes = (0..<2).map { k -> (Process, Pipe) in
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.tagdataBinary)
        p.arguments = ["ingest", "--quiet", "--catalog", dir + "/c.sqlite", inputs[k]]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        return (p, err)
      }
      for (p, _) in processes { try p.run() }
      for (p, err) in processes {
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "trial \(trial): \(message)")
      }
      #expect(try Catalog(path: dir + "/c.sqlite", readOnly: true).db.scalar("SELECT count(*) FROM runs") == 2)
    }
  }

  /// A database of something else is refused, byte for byte unchanged, by every way in.
  @Test func anUnrelatedDatabaseIsRefusedUnchanged() throws {
    let dir = TestSupport.tempDirectory().path
    let path = dir + "/other.sqlite"
    do {
      let db = try Database(path: path)
      try db.execute("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)")
    }
    let before = try Data(contentsOf: URL(fileURLWithPath: path))
    for readOnly in [false, true] {
      do {
        _ = try Catalog(path: path, readOnly: readOnly)
        Issue.record("opened an unrelated database (readOnly: \(readOnly))")
      } catch let e as CatalogError {
        #expect(e.kind == .notACatalog && e.description.contains(path) && e.description.contains("not a tagdata catalog"), "\(e)")
      }
    }
    let r = try TestSupport.tagdata(["ingest", "--catalog", path, TestSupport.corpus("uniprot/flat/P04439.txt").path])
    #expect(r.status == 74 && r.stderr.contains("not a tagdata catalog"), "\(r.status): \(r.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    // Not a database at all; and an empty file, which becomes a catalog.
    try Data("just text, long enough to be read as a header of a database file..........................\n".utf8)
      .write(to: URL(fileURLWithPath: dir + "/text"))
    #expect(throws: CatalogError.self) { _ = try Catalog(path: dir + "/text") }
    #expect(FileManager.default.createFile(atPath: dir + "/empty", contents: Data()))
    _ = try Catalog(path: dir + "/empty")
    #expect(try Catalog(path: dir + "/empty", readOnly: true).db.scalar("PRAGMA user_version") == Catalog.schemaVersion)
  }

  /// Errors name the catalog, the operation, SQLite's message and what to do.
  @Test func errorsNameTheCatalogTheOperationAndAHint() throws {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    _ = try Catalog(path: path)
    // Read-only.
    let ro = try Catalog(path: path, readOnly: true)
    do {
      _ = try ro.beginRun(toolVersion: "t", arguments: "a", now: "n")
      Issue.record("wrote a read-only catalog")
    } catch let e as CatalogError {
      #expect(e.kind == .readOnly, "\(e)")
      let text = e.description
      #expect(text.contains(path) && text.contains("INSERT INTO runs") && text.contains("readonly") && text.contains("permissions"), "\(text)")
    }
    // Locked by another writer.
    let holder = try Catalog(path: path)
    try holder.db.execute("BEGIN IMMEDIATE")
    let other = try Catalog(path: path)
    other.db.setBusyTimeout(milliseconds: 50)
    do {
      _ = try other.beginRun(toolVersion: "t", arguments: "a", now: "n")
      Issue.record("wrote past another writer's lock")
    } catch let e as CatalogError {
      #expect(e.kind == .busy && e.description.contains(path) && e.description.contains("another process"), "\(e)")
    }
    try holder.db.execute("ROLLBACK")
  }

  /// A value over SQLite's length limit is reported as too big (kind `.tooBig`), so that the
  /// record can be quarantined; the failed bind was ignored and the insert failed with
  /// `NOT NULL constraint failed`.
  @Test func aValueTooBigForTheCatalogIsReportedAsSuch() throws {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let catalog = try Catalog(path: path)
    catalog.db.limitValueLength(to: 10_000)
    let writer = try ProteinWriter(catalog: catalog)
    let sequence = [UInt8](repeating: UInt8(ascii: "A"), count: 20_000)
    do {
      _ = try writer.protein(sha256: [UInt8](repeating: 1, count: 32), crc64: "0000000000000000", sequence: sequence)
      Issue.record("stored a value over the limit")
    } catch let e as CatalogError {
      #expect(e.kind == .tooBig, "\(e)")
      #expect(e.description.contains("20000 bytes") && e.description.contains(path), "\(e)")
    }
    // The statement is usable again: a small record goes in.
    let id = try writer.protein(sha256: [UInt8](repeating: 2, count: 32), crc64: "0000000000000000", sequence: Array("MKV".utf8))
    #expect(id > 0)
    // The typed binds of other statements are checked too.
    let s = try catalog.db.prepare("INSERT INTO runs(started_at, tool_version, arguments) VALUES (?, ?, ?)")
    s.bind(1, "now")
    s.bind(2, "t")
    s.bind(3, String(repeating: "x", count: 20_000))
    #expect(throws: CatalogError.self) { try s.execute() }
  }
}
