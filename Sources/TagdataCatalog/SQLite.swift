import CSQLite3

/// An error from SQLite, with the statement it came from.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
  public var code: Int32
  public var message: String
  public var sql: String?
  public var description: String {
    "SQLite error \(code): \(message)" + (sql.map { " (in: \($0.prefix(120)))" } ?? "")
  }
}

/// A small layer over the sqlite3 C API: a connection, prepared statements, transactions.
/// Not thread-safe: one connection per thread.
public final class Database {
  let handle: OpaquePointer
  public let path: String

  /// Opens (creating if needed) the database at `path`.
  public init(path: String, readOnly: Bool = false) throws {
    var db: OpaquePointer?
    let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
    let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
      if let db { sqlite3_close_v2(db) }
      throw SQLiteError(code: rc, message: "\(path): \(message)", sql: nil)
    }
    handle = db
    self.path = path
    sqlite3_busy_timeout(db, 10_000)
  }

  deinit { sqlite3_close_v2(handle) }

  /// Process-wide settings, applied once before the first connection: no memory statistics
  /// (they take a global mutex on every allocation).
  public static func configureLibrary() { _ = libraryConfigured }
  private static let libraryConfigured: Bool = {
    tagdata_sqlite_disable_memstatus()
    return true
  }()

  func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
    SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
  }

  /// Runs one or more statements that return no rows.
  public func execute(_ sql: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(handle, sql, nil, nil, &message)
    if rc != SQLITE_OK {
      let text = message.map { String(cString: $0) } ?? "error"
      sqlite3_free(message)
      throw SQLiteError(code: rc, message: text, sql: sql)
    }
  }

  public func prepare(_ sql: String) throws -> Statement { try Statement(database: self, sql: sql) }

  /// Copies what the write-ahead log holds into the database file as far as readers and the
  /// writer allow, without waiting for them (a passive checkpoint). Safe alongside a writer on
  /// another connection.
  public func checkpointWAL() {
    sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
  }

  /// Rows changed by the last INSERT/UPDATE/DELETE.
  public var changes: Int { Int(sqlite3_changes(handle)) }
  public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

  /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
  public func transaction<T>(_ body: () throws -> T) throws -> T {
    try execute("BEGIN IMMEDIATE")
    do {
      let value = try body()
      try execute("COMMIT")
      return value
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }

  /// The first column of the first row of a query, as an integer.
  public func scalar(_ sql: String, _ values: [SQLValue] = []) throws -> Int64? {
    let s = try prepare(sql)
    try s.bind(values)
    return try s.step() ? s.int(0) : nil
  }
}

/// A value to bind to a statement parameter.
public enum SQLValue: Sendable, Equatable {
  case null
  case int(Int64)
  case text(String)
  case blob([UInt8])
  case real(Double)
}

/// A prepared statement; reset and re-bound for each use.
public final class Statement {
  let handle: OpaquePointer
  unowned let database: Database
  let sql: String

  init(database: Database, sql: String) throws {
    var stmt: OpaquePointer?
    let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
    guard rc == SQLITE_OK, let stmt else { throw database.error(rc, sql) }
    handle = stmt
    self.database = database
    self.sql = sql
  }

  deinit { sqlite3_finalize(handle) }

  /// Resets the statement and binds `values` to parameters 1...n.
  public func bind(_ values: [SQLValue]) throws {
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
    for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
  }

  public func bind(_ value: SQLValue, at index: Int32) throws {
    let rc: Int32
    switch value {
    case .null: rc = sqlite3_bind_null(handle, index)
    case let .int(v): rc = sqlite3_bind_int64(handle, index, v)
    case let .real(v): rc = sqlite3_bind_double(handle, index, v)
    case let .text(s): rc = sqlite3_bind_text(handle, index, s, -1, tagdata_sqlite_transient())
    case let .blob(b):
      rc = b.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), tagdata_sqlite_transient()) }
    }
    if rc != SQLITE_OK { throw database.error(rc, sql) }
  }

  /// Resets the statement for new bindings (bindings not set again keep their values).
  public func reset() { sqlite3_reset(handle) }

  /// Typed binds for hot paths: no intermediate arrays or enums.
  public func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
  public func bind(_ index: Int32, _ value: Int?) {
    if let value { sqlite3_bind_int64(handle, index, Int64(value)) } else { sqlite3_bind_null(handle, index) }
  }
  public func bind(_ index: Int32, _ value: String?) {
    guard var value else {
      sqlite3_bind_null(handle, index)
      return
    }
    value.withUTF8 { p in
      _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(p.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                            Int32(p.count), tagdata_sqlite_transient())
    }
  }

  /// Runs an INSERT that returns no rows, after typed binds: the new row's id, or nil when
  /// the statement inserted nothing (a conflict it was told to ignore).
  ///
  /// Cheaper than `RETURNING id`, which SQLite implements with a temporary table per execution.
  public func insertedRowID() throws -> Int64? {
    try execute()
    return sqlite3_changes(database.handle) > 0 ? sqlite3_last_insert_rowid(database.handle) : nil
  }

  /// Steps a statement that returns no rows, after typed binds.
  public func execute() throws {
    defer { sqlite3_reset(handle) }
    while try step() {}
  }

  /// Binds bytes as TEXT (nil as NULL) without copying them: the memory must stay valid and
  /// unchanged until the statement has been stepped and reset, and every later execution must
  /// bind this parameter again.
  public func bind(_ index: Int32, borrowedText bytes: UnsafeBufferPointer<UInt8>?) {
    guard let bytes else {
      sqlite3_bind_null(handle, index)
      return
    }
    // An empty buffer may have no address; SQLite reads a null pointer as NULL, not as "".
    let p = bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) } ?? Statement.emptyText
    sqlite3_bind_text(handle, index, p, Int32(bytes.count), nil)
  }

  /// As ``bind(_:borrowedText:)``, for BLOB.
  public func bind(_ index: Int32, borrowedBlob bytes: UnsafeBufferPointer<UInt8>) {
    sqlite3_bind_blob(handle, index, bytes.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(Statement.emptyText),
                      Int32(bytes.count), nil)
  }

  nonisolated(unsafe) private static let emptyText: UnsafePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
  }()


  /// Advances to the next row. Returns false when done.
  @discardableResult
  public func step() throws -> Bool {
    let rc = sqlite3_step(handle)
    if rc == SQLITE_ROW { return true }
    if rc == SQLITE_DONE { return false }
    throw database.error(rc, sql)
  }

  /// Runs a statement that returns no rows.
  public func run(_ values: [SQLValue]) throws {
    try bind(values)
    while try step() {}
  }

  public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
  public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
  public func text(_ column: Int32) -> String? {
    guard let p = sqlite3_column_text(handle, column) else { return nil }
    return String(cString: p)
  }
  public func blob(_ column: Int32) -> [UInt8] {
    let n = Int(sqlite3_column_bytes(handle, column))
    guard n > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
    return Array(UnsafeRawBufferPointer(start: p, count: n))
  }
  public var columnCount: Int32 { sqlite3_column_count(handle) }
  public func columnName(_ i: Int32) -> String { String(cString: sqlite3_column_name(handle, i)) }
}
