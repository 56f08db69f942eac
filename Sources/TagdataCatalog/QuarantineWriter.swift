/// Writes quarantine rows: records that could not be used, with their file, position, line of
/// the damage, reason and an excerpt. Every record kind's ingest writes through it.
public final class QuarantineWriter {
  private let insert: Statement

  public init(catalog: Catalog) throws {
    insert = try catalog.db.prepare("""
      INSERT OR IGNORE INTO quarantine(source_id, record_no, line, byte_offset, reason, excerpt, run_id)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      """)
  }

  /// One record of `source` (0-based `recordNo`, at byte `offset`), damaged at `line`; the
  /// excerpt is kept to 200 characters.
  public func write(source: Int64, recordNo: Int, line: Int, offset: Int64, reason: String, excerpt: String, run: Int64)
    throws
  {
    try insert.run([
      .int(source), .int(Int64(recordNo)), .int(Int64(line)), .int(offset), .text(reason),
      .text(String(excerpt.prefix(200))), .int(run),
    ])
  }
}
