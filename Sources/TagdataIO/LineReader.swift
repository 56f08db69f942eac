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
  @exclusivity(unchecked) private var storage: UnsafeMutablePointer<UInt8>
  @exclusivity(unchecked) private var capacity: Int
  @exclusivity(unchecked) private var start = 0  // first unread byte
  @exclusivity(unchecked) private var end = 0  // one past the last valid byte
  @exclusivity(unchecked) private var eof = false
  /// Longest line handed out whole. A longer line is an error, or with ``truncatesLongLines``
  /// is handed out cut to this length (``lastLineTruncated``), the rest passed over unbuffered.
  @exclusivity(unchecked) public var maxLineLength: Int
  /// Hand out overlong lines cut, instead of failing on them.
  @exclusivity(unchecked) public var truncatesLongLines = false
  /// The line most recently returned was cut at ``maxLineLength``.
  @exclusivity(unchecked) public private(set) var lastLineTruncated = false
  /// The rest of a cut line is still to be passed over (copying mode).
  @exclusivity(unchecked) private var skipRest = false
  /// Number of the line most recently returned (1-based; 0 before the first).
  @exclusivity(unchecked) public private(set) var lineNumber = 0
  /// Byte offset of the start of the line most recently returned.
  @exclusivity(unchecked) public private(set) var lineOffset: Int64 = 0
  /// Byte offset of the next unread byte.
  @exclusivity(unchecked) public private(set) var offset: Int64 = 0

  /// When the source lends its bytes: lines inside the lent run are handed out where they are;
  /// only a line that runs past its end is gathered in `storage`.
  private let lending: LendingByteSource?
  private let lends: Bool
  @exclusivity(unchecked) private var run: UnsafePointer<UInt8>?
  @exclusivity(unchecked) private var runPosition = 0
  @exclusivity(unchecked) private var runCount = 0
  /// The next line is the first of the stream: a UTF-8 byte-order mark before it is dropped.
  @exclusivity(unchecked) private var atStart = true

  public init(_ source: ByteSource, bufferSize: Int = 1 << 20, maxLineLength: Int = 1 << 28) {
    self.source = source
    lending = source as? LendingByteSource
    lends = lending != nil
    capacity = lending == nil ? bufferSize : 1 << 16
    storage = .allocate(capacity: capacity)
    self.maxLineLength = maxLineLength
  }

  deinit { storage.deallocate() }

  /// Declares that the source is already positioned at `offset`, which is the start of line
  /// `line` (used when resuming work part-way through a file).
  public func assumePosition(offset: Int64, line: Int) {
    self.offset = offset
    self.lineNumber = line - 1
    atStart = offset == 0
  }

  /// The next line without its terminator, or nil at end of input. A UTF-8 byte-order mark at
  /// the start of the stream is not part of the first line (it still counts in the offsets).
  public func nextLine() throws -> UnsafeBufferPointer<UInt8>? {
    if atStart {
      atStart = false
      guard let line = try nextRawLine() else { return nil }
      if line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
        return UnsafeBufferPointer(rebasing: line[3...])
      }
      return line
    }
    return try nextRawLine()
  }

  private func nextRawLine() throws -> UnsafeBufferPointer<UInt8>? {
    if lastLineTruncated {
      lastLineTruncated = false
      if skipRest { try passRestOfLine() }
    }
    if lends { return try nextLentLine() }
    var scanFrom = start
    while true {
      if scanFrom < end, let nl = memchrIndex(from: scanFrom) {
        var lineEnd = nl
        if lineEnd > start && storage[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        return emit(from: start, to: cut(start, lineEnd), next: nl + 1)
      }
      scanFrom = end
      if eof {
        if start < end {
          var lineEnd = end
          if storage[lineEnd - 1] == 0x0D { lineEnd -= 1 }
          return emit(from: start, to: cut(start, lineEnd), next: end)
        }
        return nil
      }
      let pending = end - start
      if pending > maxLineLength {
        guard truncatesLongLines else {
          throw InputError.lineTooLong(file: source.name, line: lineNumber + 1, limit: maxLineLength)
        }
        // The first bytes, as the line; the rest is passed over on the next call.
        lastLineTruncated = true
        skipRest = true
        let from = start
        lineNumber += 1
        lineOffset = offset
        offset += Int64(pending)
        start = end
        return UnsafeBufferPointer(start: storage + from, count: maxLineLength)
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

  /// Passes over the bytes up to and including the next `\n` without keeping them (copying mode).
  private func passRestOfLine() throws {
    skipRest = false
    while true {
      if start < end, let nl = memchrIndex(from: start) {
        offset += Int64(nl + 1 - start)
        start = nl + 1
        return
      }
      offset += Int64(end - start)
      start = 0
      end = 0
      if eof { return }
      let n = try source.read(into: UnsafeMutableRawBufferPointer(start: storage, count: capacity))
      if n == 0 { eof = true } else { end = n }
    }
  }

  /// The next line that does not start with a two-byte code marked in `skip` (indexed by the
  /// code as a big-endian `UInt16`) followed by a blank; lines passed over still count in
  /// ``lineNumber`` and the offsets. For formats whose readers ignore most line types.
  public func nextLine(skipping skip: UnsafePointer<Bool>) throws -> UnsafeBufferPointer<UInt8>? {
    if lastLineTruncated {
      lastLineTruncated = false
      if skipRest { try passRestOfLine() }
    }
    if lends, !atStart, let run {
      // Lines inside the lent run are passed over in this loop, with no call per line.
      while runPosition < runCount, let p = memchr(run + runPosition, 0x0A, runCount - runPosition) {
        let nl = run.distance(to: p.assumingMemoryBound(to: UInt8.self))
        let line = UnsafeBufferPointer(start: run + runPosition, count: nl - runPosition)
        if !Self.skipped(line, skip) { return lineInRun(endingAt: nl) }
        lineNumber += 1
        offset += Int64(line.count + 1)
        runPosition = nl + 1
      }
    }
    // Not lending, or a line across runs, or the end.
    while let line = try nextLine() {
      if !Self.skipped(line, skip) { return line }
    }
    return nil
  }

  @inline(__always)
  private static func skipped(_ line: UnsafeBufferPointer<UInt8>, _ skip: UnsafePointer<Bool>) -> Bool {
    line.count >= 3 && line[2] == 0x20 && skip[Int(line[0]) << 8 | Int(line[1])]
  }

  /// The line of the lent run from `runPosition` to the `\n` at `nl`, counted and handed out.
  @inline(__always)
  private func lineInRun(endingAt nl: Int) -> UnsafeBufferPointer<UInt8> {
    let run = run!
    let from = runPosition
    var lineEnd = nl
    if lineEnd > from && run[lineEnd - 1] == 0x0D { lineEnd -= 1 }
    if lineEnd - from > maxLineLength && truncatesLongLines {
      lastLineTruncated = true
      lineEnd = from + maxLineLength
    }
    runPosition = nl + 1
    count(line: nl + 1 - from)
    return UnsafeBufferPointer(start: run + from, count: lineEnd - from)
  }

  private func nextLentLine() throws -> UnsafeBufferPointer<UInt8>? {
    // A line that runs past the end of a run is gathered in `storage`.
    var gathered = 0
    // Bytes of a cut line passed over, not gathered.
    var dropped = 0
    func gather(_ bytes: UnsafePointer<UInt8>, _ n: Int) throws {
      if gathered + n > maxLineLength {
        guard truncatesLongLines else {
          throw InputError.lineTooLong(file: source.name, line: lineNumber + 1, limit: maxLineLength)
        }
        lastLineTruncated = true
        let take = max(0, maxLineLength - gathered)
        dropped += n - take
        if take > 0 { try gather(bytes, take) }
        return
      }
      if gathered + n > capacity {
        var bigger = capacity * 2
        while bigger < gathered + n { bigger *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
        grown.update(from: storage, count: gathered)
        storage.deallocate()
        storage = grown
        capacity = bigger
      }
      (storage + gathered).update(from: bytes, count: n)
      gathered += n
    }
    func gatheredLine(consumed: Int) -> UnsafeBufferPointer<UInt8> {
      count(line: consumed + dropped)
      let end = gathered > 0 && storage[gathered - 1] == 0x0D && dropped == 0 ? gathered - 1 : gathered
      return UnsafeBufferPointer(start: storage, count: end)
    }
    while true {
      if let run, runPosition < runCount {
        if let p = memchr(run + runPosition, 0x0A, runCount - runPosition) {
          let nl = run.distance(to: p.assumingMemoryBound(to: UInt8.self))
          // Most lines lie inside the run and are handed out where they are.
          if gathered == 0 { return lineInRun(endingAt: nl) }
          try gather(run + runPosition, nl - runPosition)
          runPosition = nl + 1
          return gatheredLine(consumed: gathered + 1)
        }
        try gather(run + runPosition, runCount - runPosition)
      }
      guard let next = try lending!.lend(), next.count > 0 else {
        // End of input: the last line may lack its `\n`.
        run = nil
        runPosition = 0
        runCount = 0
        return gathered == 0 ? nil : gatheredLine(consumed: gathered)
      }
      run = next.baseAddress!.assumingMemoryBound(to: UInt8.self)
      runPosition = 0
      runCount = next.count
    }
  }

  /// Line bookkeeping for a line of `consumed` bytes, terminator included.
  @inline(__always)
  private func count(line consumed: Int) {
    lineNumber += 1
    lineOffset = offset
    offset += Int64(consumed)
  }

  /// The end of a whole line in the buffer, cut at ``maxLineLength`` (and flagged) when
  /// ``truncatesLongLines``: the same lines as when the buffer had to grow for them.
  @inline(__always)
  private func cut(_ from: Int, _ lineEnd: Int) -> Int {
    guard truncatesLongLines, lineEnd - from > maxLineLength else { return lineEnd }
    lastLineTruncated = true
    return from + maxLineLength
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
