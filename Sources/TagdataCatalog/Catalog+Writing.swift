/// What ingest needs of the catalog besides its writers: transactions, foreign-key checks off
/// while a file is written, SQLite's value-length limit, and a second connection that copies the
/// write-ahead log into the catalog file.
extension Catalog {
  /// Runs `body` in one transaction (committed when it returns, rolled back when it throws).
  public func transaction<T>(_ body: () throws -> T) throws -> T { try db.transaction(body) }

  /// Runs `body` with SQLite's foreign-key checks off, for a writer that inserts every parent
  /// before its children in the same transaction (the checks cost a tenth of the write time);
  /// on again after. `foreignKeyViolations()` checks a catalog afterwards.
  public func withForeignKeyChecksOff<T>(_ body: () throws -> T) throws -> T {
    try db.execute("PRAGMA foreign_keys=OFF")
    defer { try? db.execute("PRAGMA foreign_keys=ON") }
    return try body()
  }

  /// The longest text or blob the catalog stores (SQLite's length limit; 10^9 bytes unless lowered).
  public var maxValueBytes: Int { Int(db.limitValueLength(to: -1)) }

  /// Copies the write-ahead log into the catalog file on a connection of its own (for a thread of
  /// its own), so that the checkpoint at the end of a long write has little left to do.
  public final class LogCopier {
    private let db: Database?
    init(path: String) {
      db = try? Database(path: path)
      // A connection sees the log only once it has read the database.
      _ = try? db?.scalar("SELECT count(*) FROM sqlite_schema")
    }
    /// Copies what is committed; harmless when the log is busy.
    public func copy() { db?.checkpointWAL() }
  }

  /// A second connection to this catalog that copies its write-ahead log.
  public func logCopier() -> LogCopier { LogCopier(path: db.path) }
}

extension Catalog {
  /// Records the work unit a partition read into `source` (see `partition_ranges`). `end` nil: the
  /// whole file. Replaces an earlier row of the same source.
  public func recordPartitionRange(source: Int64, partition: Int, partitions: Int, filePolicy: String, start: Int64,
                                   end: Int64?, records: Int, lines: Int64, run: Int64) throws
  {
    try db.prepare("""
      INSERT OR REPLACE INTO partition_ranges(source_id, partition, partitions, file_policy, range_start, range_end,
        records, lines, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      """).run([.int(source), .int(Int64(partition)), .int(Int64(partitions)), .text(filePolicy), .int(start),
                end.map { .int($0) } ?? .null, .int(Int64(records)), .int(lines), .int(run)])
  }
}

extension Catalog {
  /// The partitions (`i`, `N`) of a partitioned ingest whose units this catalog holds
  /// (`partition_ranges`), in order; empty for a catalog of no partitioned ingest.
  public func recordedPartitions() throws -> [(partition: Int, partitions: Int)] {
    guard try db.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'partition_ranges'") == 1 else {
      return []
    }
    let s = try db.prepare("SELECT DISTINCT partition, partitions FROM partition_ranges ORDER BY partitions, partition")
    var out: [(Int, Int)] = []
    while try s.step() { out.append((Int(s.int(0)), Int(s.int(1)))) }
    return out
  }
}

extension Catalog {
  /// The command line of each run recorded in this catalog, oldest first.
  public func forEachRunArguments(_ body: (String) throws -> Void) throws {
    let s = try db.prepare("SELECT arguments FROM runs ORDER BY id")
    while try s.step() { try body(s.text(0) ?? "") }
  }
}
