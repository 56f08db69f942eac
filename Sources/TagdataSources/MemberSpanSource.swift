import TagdataIO

/// Finds, in a stream fed chunk by chunk, the first record boundary after the first line feed
/// at or after the point where feeding began: the cut of a span of gzip members at decompressed
/// offset `D`. Unlike ``InputFormat/nextRecordStart(path:from:size:)`` it never needs the byte
/// before `D` (which is in another member), so the partition that starts decompressing at `D`
/// and the one before it, reading on past `D`, find the same boundary from the same bytes.
struct BoundaryFinder {
  private enum State {
    /// Looking for a line feed; the byte after it starts a line.
    case seekLineFeed
    /// At a line start.
    case lineStart
    /// Gathering a line's first bytes (up to 4) to test for a terminator.
    case head
    /// In a terminator line: the boundary is after its line feed.
    case terminatorLine
  }

  let format: InputFormat
  let rule: RecordBoundary
  private var state = State.seekLineFeed
  private var lineHead: [UInt8] = []

  init(format: InputFormat, rule: RecordBoundary) {
    self.format = format
    self.rule = rule
  }

  /// Feeds the next bytes; returns the boundary's index in `chunk` when it is there (its bytes
  /// from then on are after the boundary), nil when it is not (every byte was before it). At the
  /// end of the stream the boundary is the end.
  mutating func feed(_ chunk: UnsafeRawBufferPointer) -> Int? {
    var i = 0
    let n = chunk.count
    while i <= n {
      switch state {
      case .seekLineFeed, .terminatorLine:
        guard i < n, let lf = chunk[i...].firstIndex(of: 0x0A) else { return nil }
        if state == .terminatorLine { return lf + 1 }
        i = lf + 1
        state = .lineStart
      case .lineStart:
        guard i < n else { return nil }
        switch rule {
        case .anyLine: return i
        case let .lineStarting(b):
          if chunk[i] == b { return i }
          state = .seekLineFeed
        case .afterTerminatorLine:
          lineHead.removeAll(keepingCapacity: true)
          state = .head
        }
      case .head:
        while lineHead.count < 4, i < n, chunk[i] != 0x0A {
          lineHead.append(chunk[i])
          i += 1
        }
        let lineEnded = i < n && chunk[i] == 0x0A
        guard lineEnded || lineHead.count == 4 else { return nil }
        let terminator = format.isTerminator(lineHead[...])
        if lineEnded {
          if terminator { return i + 1 }
          i += 1
          state = .lineStart
        } else {
          state = terminator ? .terminatorLine : .seekLineFeed
        }
      }
    }
    return nil
  }
}

/// The decompressed records of a span of whole gzip members (see ``GzipMembers``), for one
/// partition: it decompresses from the span's first member (a gzip stream starts there), skips
/// to the first record boundary (``BoundaryFinder``) unless the span starts the file, hands out
/// bytes to the end of its last member and on, into the members after it, to the record
/// boundary found from there: the same cut the next span starts at. Records are thus owned by
/// the span in which their boundary cut falls, every record by exactly one span. It counts the
/// line feeds it hands out (the merge numbers lines with them).
public final class MemberSpanSource: ByteSource {
  public var name: String { inner.name }
  private let inner: ByteSource
  /// Decompressed offset where the span's first member starts, and where its last one ends
  /// (nil: the span reaches to the end of the file).
  private let spanStart: Int64
  private let spanEnd: Int64?
  private var startFinder: BoundaryFinder
  private var endFinder: BoundaryFinder
  private var endActive = false
  /// Decompressed offsets of the cuts, once found.
  public private(set) var startCut: Int64?
  private var endCut: Int64?
  private let buffer: UnsafeMutableRawBufferPointer
  /// The buffer holds the decompressed bytes `[bufferStart, bufferStart + bufferCount)`.
  private var bufferStart: Int64
  private var bufferCount = 0
  /// Bytes before this offset have been handed out or skipped; the finders have seen every
  /// byte before `scanned`.
  private var position: Int64
  private var scanned: Int64
  private var ended = false
  /// Line feeds among the bytes handed out so far.
  public private(set) var lineFeeds: Int64 = 0
  public private(set) var bytesProduced: Int64 = 0
  public var rawBytesConsumed: Int64 { inner.rawBytesConsumed }

  /// `decompressed` is the source of the file's decompressed bytes from its member that starts
  /// at decompressed offset `span.lowerBound`; `span.upperBound` is where the span's last member
  /// ends (nil when it is the file's last). Reads up to the first record boundary at once.
  public init(decompressed: ByteSource, span start: Int64, end: Int64?, format: InputFormat) throws {
    guard let rule = format.recordBoundary else {
      throw InputError.unsupported(file: decompressed.name, message: "\(format.rawValue) files cannot be cut at records")
    }
    inner = decompressed
    spanStart = start
    spanEnd = end
    startFinder = BoundaryFinder(format: format, rule: rule)
    endFinder = BoundaryFinder(format: format, rule: rule)
    buffer = .allocate(byteCount: 1 << 18, alignment: 16)
    bufferStart = start
    position = start
    scanned = start
    if start == 0 { startCut = 0 }
    while startCut == nil {
      guard try advance() else { break }
      position = min(startCut ?? bufferEnd, bufferEnd)
    }
  }

  deinit { buffer.deallocate() }

  private var bufferEnd: Int64 { bufferStart + Int64(bufferCount) }

  /// Where the span's records start (the file's decompressed offset).
  public var start: Int64 { startCut ?? position }

  /// Makes bytes available past `position` and lets the finders see them; false at the end.
  private func advance() throws -> Bool {
    if position == bufferEnd {
      if ended { return false }
      bufferStart = bufferEnd
      bufferCount = try inner.read(into: buffer)
      if bufferCount == 0 {
        ended = true
        startCut = startCut ?? bufferEnd
        endCut = endCut ?? bufferEnd
        return false
      }
    }
    var a = scanned
    while a < bufferEnd, endCut == nil {
      var b = bufferEnd
      if !endActive, let spanEnd {
        if a < spanEnd { b = min(b, spanEnd) } else { endActive = true }
      }
      let chunk = UnsafeRawBufferPointer(rebasing: buffer[Int(a - bufferStart)..<Int(b - bufferStart)])
      if startCut == nil, let i = startFinder.feed(chunk) { startCut = a + Int64(i) }
      if endActive, let i = endFinder.feed(chunk) { endCut = a + Int64(i) }
      a = b
    }
    scanned = max(scanned, a)
    return true
  }

  public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
    guard out.count > 0 else { return 0 }
    while true {
      if let endCut, position >= endCut { return 0 }
      if position == bufferEnd, try !advance() { return 0 }
      guard let startCut else {
        position = bufferEnd
        continue
      }
      if position < startCut {
        position = min(startCut, bufferEnd)
        continue
      }
      let limit = min(bufferEnd, endCut ?? bufferEnd)
      let n = Int(min(Int64(out.count), limit - position))
      if n == 0 { continue }
      let from = UnsafeRawBufferPointer(rebasing: buffer[Int(position - bufferStart)..<Int(position - bufferStart) + n])
      out.baseAddress!.copyMemory(from: from.baseAddress!, byteCount: n)
      lineFeeds += RangeSource.countLineFeeds(from)
      position += Int64(n)
      bytesProduced += Int64(n)
      return n
    }
  }
}
