#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TagdataIO

/// One example of a plain text file: a line that is not blank, with the blanks around it trimmed.
public struct PlainTextRecord: Sendable, Equatable {
  /// `index`: 0-based among the file's non-blank lines (bad ones count too); `line`: 1-based line
  /// number (blank lines count); `offset`: byte offset of the line's first byte in the
  /// decompressed stream (a byte-order mark counts).
  public var location: RecordLocation
  /// 1-based byte column of the text's first byte in its line (after the leading blanks; a
  /// byte-order mark does not count).
  public var column: Int
  /// The text: well-formed UTF-8 without NUL, CR or LF, no blank at either end.
  public var text: [UInt8]

  public init(location: RecordLocation, column: Int, text: [UInt8]) {
    self.location = location
    self.column = column
    self.text = text
  }

  public var string: String { String(decoding: text, as: UTF8.self) }
}

public enum PlainTextEvent: Sendable, Equatable {
  case record(PlainTextRecord)
  case malformed(MalformedRecord)

  public var location: RecordLocation {
    switch self {
    case let .record(r): return r.location
    case let .malformed(m): return m.location
    }
  }
}

/// Reads a user's plain text file as examples, one per line, streaming, read once (a pipe or a
/// decompressor underneath is never asked for its bytes twice).
///
/// A line ends at LF; a CR before it is dropped (CRLF files read like LF files), and so is a UTF-8
/// byte-order mark at the start of the stream. Blanks (space, tab, CR, VT, FF) around a line are
/// trimmed; a line with nothing else is passed over (it still counts in the line numbers). The
/// last line may lack its LF. A line that is not well-formed UTF-8 or holds a NUL byte is
/// malformed, named by its line and the 1-based byte column of the damage (a byte-order mark not
/// counted), and reading goes on. A line
/// longer than the limit is malformed too: its bytes are passed over up to the next LF without
/// being kept, so memory stays bounded by the limit (``bufferCapacity``), whatever the input.
/// Only damage to the stream itself (I/O, a cut or corrupt compressed stream) is thrown, after
/// every complete line before it was handed out.
public final class PlainTextReader {
  /// The source's name (the path, or `<stdin>`), for messages.
  public let name: String
  /// The longest line taken as an example, in bytes as in the file (blanks around it included,
  /// its CR LF not; a byte-order mark counts in the first line's).
  public let maxLineBytes: Int
  /// Lines seen so far (blank ones included): the number of the last line handed out or passed.
  public private(set) var lineNumber = 0
  /// Blank lines passed over so far.
  public private(set) var blankLines = 0
  /// Byte offset of the next unread byte of the decompressed stream.
  public var offset: Int64 { bufferOffset + Int64(start) }
  /// Bytes the reader holds for lines: at most `max(256 KiB, maxLineBytes + 2)`.
  public var bufferCapacity: Int { capacity }

  private let source: ByteSource
  private var storage: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  private let capacityLimit: Int
  private var start = 0  // first unread byte
  private var end = 0  // one past the last valid byte
  private var bufferOffset: Int64 = 0  // stream offset of storage[0]
  private var eof = false
  private var atStart = true
  private var index = 0

  /// `maxLineBytes` nil: `limits.maxRecordBytes`.
  public init(source: ByteSource, limits: ReaderLimits = ReaderLimits(), maxLineBytes: Int? = nil) {
    self.source = source
    name = source.name
    let limit = max(1, min(maxLineBytes ?? limits.maxRecordBytes, Int.max / 4))
    self.maxLineBytes = limit
    capacity = 1 << 18
    capacityLimit = max(capacity, limit + 2)
    storage = .allocate(capacity: capacity)
  }

  deinit { storage.deallocate() }

  /// The next example or malformed line, nil at the end of input.
  public func next() throws -> PlainTextEvent? {
    while true {
      guard let line = try nextLine() else { return nil }
      if let event = event(for: line) { return event }
    }
  }

  /// A line as found: its bytes (CR and LF removed), or when it is over the limit, a copy of its
  /// first bytes (`excerpt`, non-nil) and no bytes.
  private struct Line {
    var bytes: UnsafeBufferPointer<UInt8>
    var offset: Int64
    var excerpt: [UInt8]?
  }

  private func event(for line: Line) -> PlainTextEvent? {
    let b = line.bytes
    let loc = RecordLocation(index: index, line: lineNumber, offset: line.offset)
    if let first = line.excerpt {
      index += 1
      return .malformed(MalformedRecord(
        location: loc, line: lineNumber,
        reason: "line is longer than the record limit of \(maxLineBytes) bytes; skipped to the next line",
        excerpt: first.withUnsafeBufferPointer { excerptText($0, limit: 80) } + "…"))
    }
    var lo = 0, hi = b.count
    while lo < hi && Self.isBlank(b[lo]) { lo += 1 }
    while hi > lo && Self.isBlank(b[hi - 1]) { hi -= 1 }
    if lo == hi {
      blankLines += 1
      return nil
    }
    index += 1
    let nul = b.baseAddress.flatMap { memchr($0, 0, b.count) }.map { b.baseAddress!.distance(to: $0.assumingMemoryBound(to: UInt8.self)) }
    let bad = BindingDBReader.invalidUTF8(b, 0..<(nul ?? b.count))
    if let at = bad ?? nul {
      let why = bad != nil
        ? "byte 0x\(BindingDBReader.hex(b[at])) at column \(at + 1) is not well-formed UTF-8"
        : "NUL byte at column \(at + 1)"
      return .malformed(MalformedRecord(location: loc, line: lineNumber, reason: why, excerpt: excerptText(b, limit: 80)))
    }
    return .record(PlainTextRecord(location: loc, column: lo + 1, text: Array(b[lo..<hi])))
  }

  /// How much of a line over the limit is kept for its excerpt: the same whatever the reads.
  private var excerptBytes: Int { min(80, maxLineBytes + 1) }

  @inline(__always)
  private static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D && c != 0x0A) }

  /// The next line, nil at the end of input. A line over the limit is handed out flagged, its
  /// first bytes only; the rest of it is passed over before the next line is looked for.
  private func nextLine() throws -> Line? {
    var scanFrom = start
    while true {
      if scanFrom < end, let p = memchr(storage + scanFrom, 0x0A, end - scanFrom) {
        let nl = storage.distance(to: p.assumingMemoryBound(to: UInt8.self))
        return take(to: nl, next: nl + 1)
      }
      scanFrom = end
      if eof { return start < end ? take(to: end, next: end) : nil }
      let pending = end - start
      if pending > maxLineBytes + 1 {
        // Over the limit with no line end in sight (one CR may still be the terminator's).
        lineNumber += 1
        let lineOffset = offset
        let excerpt = Array(UnsafeBufferPointer(start: storage + start, count: excerptBytes))
        try passRestOfLine()
        return Line(bytes: UnsafeBufferPointer(start: nil, count: 0), offset: lineOffset, excerpt: excerpt)
      }
      // Move the pending line to the front, grow (up to the limit) if it fills the buffer, read.
      // (Full at `capacityLimit`, the line is over the limit: caught above, so growth ends.)
      if start > 0 {
        if pending > 0 { storage.update(from: storage + start, count: pending) }
        bufferOffset += Int64(start)
        scanFrom -= start
        start = 0
        end = pending
      }
      if end == capacity {
        let bigger = min(capacity * 2, capacityLimit)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
        grown.update(from: storage, count: end)
        storage.deallocate()
        storage = grown
        capacity = bigger
      }
      let n = try source.read(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end))
      if n == 0 { eof = true } else { end += n }
    }
  }

  /// The line from `start` to `lineEnd` (its LF, or the end of input), then `start = next`.
  private func take(to lineEnd: Int, next: Int) -> Line {
    lineNumber += 1
    let lineOffset = offset
    var e = lineEnd
    if e > start && storage[e - 1] == 0x0D { e -= 1 }
    var s = start
    start = next
    if e - s > maxLineBytes {
      atStart = false
      return Line(bytes: UnsafeBufferPointer(start: nil, count: 0), offset: lineOffset,
                  excerpt: Array(UnsafeBufferPointer(start: storage + s, count: excerptBytes)))
    }
    if atStart {
      atStart = false
      if e - s >= 3 && storage[s] == 0xEF && storage[s + 1] == 0xBB && storage[s + 2] == 0xBF { s += 3 }
    }
    return Line(bytes: UnsafeBufferPointer(start: storage + s, count: e - s), offset: lineOffset)
  }

  /// Passes over the bytes up to and including the next LF (or to the end), keeping none.
  private func passRestOfLine() throws {
    atStart = false
    bufferOffset += Int64(end)
    start = 0
    end = 0
    while !eof {
      let n = try source.read(into: UnsafeMutableRawBufferPointer(start: storage, count: capacity))
      if n == 0 {
        eof = true
        return
      }
      if let p = memchr(storage, 0x0A, n) {
        start = storage.distance(to: p.assumingMemoryBound(to: UInt8.self)) + 1
        end = n
        return
      }
      bufferOffset += Int64(n)
    }
  }
}
