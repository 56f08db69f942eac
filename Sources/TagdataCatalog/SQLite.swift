import CSQLite3

/// A catalog failure: which catalog, what it was doing, SQLite's message and what to do about it.
public typealias CatalogError = SQLiteError

/// An error from SQLite, with the catalog, the operation, the statement and a hint.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
  /// What went wrong, as far as a user can act on it.
  public enum Kind: String, Sendable {
    /// The file or its folder is not writable (or the catalog was opened read-only).
    case readOnly
    /// Another process holds the lock (busy or locked past the timeout).
    case busy
    case diskFull
    /// Not an SQLite database, or a database that is not a tagdata catalog.
    case notACatalog
    /// A catalog of a newer schema than this tagdata knows.
    case newerSchema
    /// A value (a record's text) larger than SQLite's limit: the record cannot be stored.
    case tooBig
    case cannotOpen
    case corrupt
    case io
    case other
  }

  public var code: Int32
  public var message: String
  public var sql: String?
  /// The catalog's path.
  public var path: String?
  /// What tagdata was doing (`open`, `create or migrate the schema`, `INSERT INTO proteins`, ...).
  public var operation: String?
  public var kind: Kind

  public init(code: Int32, message: String, sql: String? = nil, path: String? = nil, operation: String? = nil, kind: Kind? = nil) {
    self.code = code
    self.message = message
    self.sql = sql
    self.path = path
    self.operation = operation ?? sql.map(SQLiteError.operation(of:))
    self.kind = kind ?? SQLiteError.kind(of: code)
  }

  static func kind(of code: Int32) -> Kind {
    switch code & 0xFF {
    case SQLITE_READONLY, SQLITE_PERM: return .readOnly
    case SQLITE_BUSY, SQLITE_LOCKED: return .busy
    case SQLITE_FULL: return .diskFull
    case SQLITE_NOTADB: return .notACatalog
    case SQLITE_TOOBIG: return .tooBig
    case SQLITE_CANTOPEN: return .cannotOpen
    case SQLITE_CORRUPT: return .corrupt
    case SQLITE_IOERR: return .io
    default: return .other
    }
  }

  /// The first words of a statement (`INSERT INTO proteins`), as the operation's name.
  static func operation(of sql: String) -> String {
    let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "(" }).prefix(3)
    return words.joined(separator: " ")
  }

  /// What to do about it.
  public var hint: String {
    switch kind {
    case .readOnly: return "check the permissions of the catalog, of its -wal and -shm files and of its folder"
    case .busy: return "another process is using the catalog: wait for it to finish, or use another --catalog"
    case .diskFull: return "the disk is full: free space and run again (the ingest resumes)"
    case .notACatalog: return "this file is not a tagdata catalog: name a new file or an existing catalog with --catalog"
    case .newerSchema: return "use the tagdata that wrote this catalog, or a newer one"
    case .tooBig: return "the value exceeds SQLite's length limit (1,000,000,000 bytes): the record cannot be stored"
    case .cannotOpen: return "check that the folder exists and is writable"
    case .corrupt: return "the catalog file is damaged: restore it or start a new one"
    case .io: return "a disk read or write failed: check the disk and the file system"
    case .other: return ""
    }
  }

  public var description: String {
    var s = path.map { "catalog \($0)" } ?? "catalog"
    if let operation { s += ": \(operation) failed" }
    s += ": \(message) (SQLite error \(code))"
    if !hint.isEmpty { s += "; " + hint }
    return s
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
      throw SQLiteError(code: rc, message: message, path: path, operation: readOnly ? "open" : "open or create")
    }
    handle = db
    self.path = path
    sqlite3_busy_timeout(db, 10_000)
  }

  deinit { sqlite3_close_v2(handle) }

  /// How long a statement waits for another connection's lock before failing with `.busy`.
  public func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

  /// Lowers the largest string or blob this connection stores (SQLite's default is 10^9 bytes);
  /// a larger value fails with `.tooBig`. Returns the previous limit.
  @discardableResult
  public func limitValueLength(to bytes: Int32) -> Int32 { sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, bytes) }

  /// Process-wide settings, applied once before the first connection: no memory statistics
  /// (they take a global mutex on every allocation).
  public static func configureLibrary() { _ = libraryConfigured }
  private static let libraryConfigured: Bool = {
    tagdata_sqlite_disable_memstatus()
    return true
  }()

  func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
    SQLiteError(code: sqlite3_extended_errcode(handle) != 0 ? sqlite3_extended_errcode(handle) : rc,
                message: String(cString: sqlite3_errmsg(handle)), sql: sql, path: path)
  }

  /// Runs one or more statements that return no rows.
  public func execute(_ sql: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(handle, sql, nil, nil, &message)
    if rc != SQLITE_OK {
      let text = message.map { String(cString: $0) } ?? "error"
      sqlite3_free(message)
      throw SQLiteError(code: rc, message: text, sql: sql, path: path)
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

  /// The first column of the first row of a query, as text.
  public func text(_ sql: String) throws -> String? {
    let s = try prepare(sql)
    return try s.step() ? s.text(0) : nil
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

  /// The first failed bind since the statement last ran: the typed binds of the hot paths do
  /// not throw, so a failure (a value over SQLite's length limit, say) is kept and thrown by the
  /// next `step`, instead of the statement running with the parameter unbound (NULL).
  @exclusivity(unchecked) private var bindFailure: SQLiteError?

  private func check(_ rc: Int32, _ index: Int32, _ bytes: Int? = nil) {
    guard rc != SQLITE_OK, bindFailure == nil else { return }
    var e = database.error(rc, sql)
    if rc == SQLITE_TOOBIG {
      e.message = "a value" + (bytes.map { " of \($0) bytes" } ?? "") + " (parameter \(index)) is too big for the catalog"
    }
    e.operation = "binding parameter \(index) of " + (e.operation ?? "a statement")
    bindFailure = e
  }

  /// Resets the statement and binds `values` to parameters 1...n.
  public func bind(_ values: [SQLValue]) throws {
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
    bindFailure = nil
    for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
  }

  public func bind(_ value: SQLValue, at index: Int32) throws {
    switch value {
    case .null: check(sqlite3_bind_null(handle, index), index)
    case let .int(v): check(sqlite3_bind_int64(handle, index, v), index)
    case let .real(v): check(sqlite3_bind_double(handle, index, v), index)
    case let .text(s): bind(index, s)
    case let .blob(b): b.withUnsafeBufferPointer { bind(index, blob: $0, copy: true) }
    }
    if let e = bindFailure {
      bindFailure = nil
      throw e
    }
  }

  /// Resets the statement for new bindings (bindings not set again keep their values).
  public func reset() {
    sqlite3_reset(handle)
    bindFailure = nil
  }

  /// Typed binds for hot paths: no intermediate arrays or enums. A failure is thrown by the next
  /// `step` (or `execute`, `insertedRowID`).
  public func bind(_ index: Int32, _ value: Int64) { check(sqlite3_bind_int64(handle, index, value), index) }
  public func bind(_ index: Int32, _ value: Int?) {
    if let value { check(sqlite3_bind_int64(handle, index, Int64(value)), index) } else { check(sqlite3_bind_null(handle, index), index) }
  }
  public func bind(_ index: Int32, _ value: String?) {
    guard var value else {
      check(sqlite3_bind_null(handle, index), index)
      return
    }
    value.withUTF8 { p in
      let text = UnsafeRawPointer(p.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) } ?? Statement.emptyText
      check(sqlite3_bind_text64(handle, index, text, UInt64(p.count), tagdata_sqlite_transient(), UInt8(SQLITE_UTF8)), index, p.count)
    }
  }

  private func bind(_ index: Int32, blob bytes: UnsafeBufferPointer<UInt8>, copy: Bool) {
    let p = bytes.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(Statement.emptyText)
    check(sqlite3_bind_blob64(handle, index, p, UInt64(bytes.count), copy ? tagdata_sqlite_transient() : nil), index, bytes.count)
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
    check(sqlite3_bind_text64(handle, index, p, UInt64(bytes.count), nil, UInt8(SQLITE_UTF8)), index, bytes.count)
  }

  /// As ``bind(_:borrowedText:)``, for BLOB.
  public func bind(_ index: Int32, borrowedBlob bytes: UnsafeBufferPointer<UInt8>) {
    bind(index, blob: bytes, copy: false)
  }

  nonisolated(unsafe) private static let emptyText: UnsafePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
  }()


  /// Advances to the next row. Returns false when done.
  @discardableResult
  public func step() throws -> Bool {
    if let e = bindFailure {
      bindFailure = nil
      sqlite3_reset(handle)
      throw e
    }
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
  public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
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
  /// A column's text as bytes, without copying (valid only inside `body`).
  public func withText<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
    let p = sqlite3_column_text(handle, column)
    let n = Int(sqlite3_column_bytes(handle, column))
    return try body(UnsafeBufferPointer(start: p, count: p == nil ? 0 : n))
  }
  public var columnCount: Int32 { sqlite3_column_count(handle) }
  public func columnName(_ i: Int32) -> String { String(cString: sqlite3_column_name(handle, i)) }
}
