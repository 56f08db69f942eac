/// Splits a ``ByteSource`` into lines without copying them.
///
/// A line ends at `\n`; a `\r` before it is dropped, so CRLF files read like LF files. The last
/// line may lack its `\n`. Each line is handed out as a buffer pointer into the reader's own
/// storage, valid until the next call. Line numbers start at 1; offsets count decompressed bytes
/// from the start of the stream.
///
/// Memory: one buffer, grown only to hold the longest line, capped by `maxLineLength`.
public final class LineReader {
  public let source: ByteSource
  private var storage: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  private var start = 0  // first unread byte
  private var end = 0  // one past the last valid byte
  private var eof = false
  private let maxLineLength: Int
  /// Number of the line most recently returned (1-based; 0 before the first).
  public private(set) var lineNumber = 0
  /// Byte offset of the start of the line most recently returned.
  public private(set) var lineOffset: Int64 = 0
  /// Byte offset of the next unread byte.
  public private(set) var offset: Int64 = 0

  public init(_ source: ByteSource, bufferSize: Int = 1 << 20, maxLineLength: Int = 1 << 28) {
    self.source = source
    capacity = bufferSize
    storage = .allocate(capacity: bufferSize)
    self.maxLineLength = maxLineLength
  }

  deinit { storage.deallocate() }

  /// Declares that the source is already positioned at `offset`, which is the start of line
  /// `line` (used when resuming work part-way through a file).
  public func assumePosition(offset: Int64, line: Int) {
    self.offset = offset
    self.lineNumber = line - 1
  }

  /// The next line without its terminator, or nil at end of input.
  public func nextLine() throws -> UnsafeBufferPointer<UInt8>? {
    var scanFrom = start
    while true {
      if scanFrom < end, let nl = memchrIndex(from: scanFrom) {
        var lineEnd = nl
        if lineEnd > start && storage[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        return emit(from: start, to: lineEnd, next: nl + 1)
      }
      scanFrom = end
      if eof {
        if start < end {
          var lineEnd = end
          if storage[lineEnd - 1] == 0x0D { lineEnd -= 1 }
          return emit(from: start, to: lineEnd, next: end)
        }
        return nil
      }
      let pending = end - start
      if pending > maxLineLength {
        throw InputError.lineTooLong(file: source.name, line: lineNumber + 1, limit: maxLineLength)
      }
      // Compact, grow if the current line fills the buffer, then read more.
      if start > 0 {
        if pending > 0 { storage.update(from: storage + start, count: pending) }
        scanFrom -= start
        start = 0
        end = pending
      }
      if end == capacity {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
        bigger.update(from: storage, count: end)
        storage.deallocate()
        storage = bigger
        capacity *= 2
      }
      let n = try source.read(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end))
      if n == 0 { eof = true } else { end += n }
    }
  }

  @inline(__always)
  private func emit(from: Int, to: Int, next: Int) -> UnsafeBufferPointer<UInt8> {
    lineNumber += 1
    lineOffset = offset
    offset += Int64(next - from)
    start = next
    return UnsafeBufferPointer(start: storage + from, count: to - from)
  }

  @inline(__always)
  private func memchrIndex(from: Int) -> Int? {
    guard let p = memchr(storage + from, 0x0A, end - from) else { return nil }
    return storage.distance(to: p.assumingMemoryBound(to: UInt8.self))
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
