#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibXML2
import TagdataIO

/// Cuts an XML document into its records (every `<name ...>...</name>` element of one name, at
/// any depth) on the bytes, before any XML parsing, so that each record is parsed on its own:
/// damage inside one record (bytes that are not UTF-8, broken markup, nesting too deep) loses
/// that record only, and the reader goes on at the next record's start tag. A record larger
/// than the limit is passed over to its end tag without being kept (memory stays flat).
///
/// The bytes before the first record give the document's root start tag (with its namespace
/// declarations), which wraps each record for parsing, and the declared encoding.
final class XMLRecordSplitter {
  enum Piece {
    /// A whole record: `<name ...>...</name>` or `<name .../>`.
    case record(bytes: [UInt8], line: Int, offset: Int64)
    /// A record cut short, by the next record's start tag or by the end of input.
    case unterminated(bytes: [UInt8], line: Int, offset: Int64, reason: String, at: Int)
    /// A record over the size limit, passed over; `at` is the line where it passed the limit.
    case tooLarge(line: Int, offset: Int64, at: Int)
  }

  let source: ByteSource
  private let name: [UInt8]
  private let maxRecordBytes: Int
  @exclusivity(unchecked) private var window: [UInt8] = []
  /// Bytes of the stream before `window[0]`.
  @exclusivity(unchecked) private var base: Int64 = 0
  @exclusivity(unchecked) private var pos = 0
  @exclusivity(unchecked) private var eof = false
  @exclusivity(unchecked) private var line = 1
  @exclusivity(unchecked) private var lastWasCR = false
  /// The record being gathered: where it starts in the window, its line and offset.
  @exclusivity(unchecked) private var record: (start: Int, line: Int, offset: Int64)?
  /// A record over the limit being passed over: its line and offset, and where it passed.
  @exclusivity(unchecked) private var skipping: (line: Int, offset: Int64, at: Int)?
  @exclusivity(unchecked) private var started = false
  /// Up to 1 MiB of the document before its first record.
  @exclusivity(unchecked) private(set) var prologue: [UInt8] = []
  private static let chunk = 1 << 16

  init(source: ByteSource, element: String, maxRecordBytes: Int) {
    self.source = source
    self.name = Array(element.utf8)
    self.maxRecordBytes = maxRecordBytes
  }

  /// The document's root start tag, when the first record is not the root itself: `<uniprot
  /// xmlns="...">`, with line ends made blanks; and the root's name.
  var rootStartTag: (tag: [UInt8], name: [UInt8])? {
    if let cached = rootCache { return cached.value }
    let value = findRootStartTag()
    if started { rootCache = (value, declaredEncodingUncached) }
    return value
  }

  @exclusivity(unchecked) private var rootCache: (value: (tag: [UInt8], name: [UInt8])?, encoding: String?)?

  /// The encoding the XML declaration names, if any.
  var declaredEncoding: String? {
    if let cached = rootCache { return cached.encoding }
    return declaredEncodingUncached
  }

  private func findRootStartTag() -> (tag: [UInt8], name: [UInt8])? {
    var i = 0
    let p = prologue
    while i < p.count {
      guard p[i] == UInt8(ascii: "<"), i + 1 < p.count else { i += 1; continue }
      let c = p[i + 1]
      if c == UInt8(ascii: "?") || c == UInt8(ascii: "!") { i += 2; continue }
      guard let close = Self.tagEnd(p, from: i + 1) else { return nil }
      var n = i + 1
      while n < close, !Self.isNameEnd(p[n]) { n += 1 }
      var tag = Array(p[i...close]).map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
      if tag.count >= 2, tag[tag.count - 2] == UInt8(ascii: "/") { tag.remove(at: tag.count - 2) }
      return (tag, Array(p[(i + 1)..<n]))
    }
    return nil
  }

  private var declaredEncodingUncached: String? {
    let p = prologue.prefix(200)
    guard p.starts(with: Array("<?xml".utf8)) || p.dropFirst(3).starts(with: Array("<?xml".utf8)),
      let declEnd = Self.find(Array("?>".utf8), in: Array(p)),
      let at = Self.find(Array("encoding".utf8), in: Array(p[..<declEnd]))
    else { return nil }
    var i = at + 8
    while i < declEnd, p[i] != UInt8(ascii: "\"") && p[i] != UInt8(ascii: "'") { i += 1 }
    guard i < declEnd else { return nil }
    let quote = p[i]
    var j = i + 1
    while j < declEnd, p[j] != quote { j += 1 }
    return String(decoding: p[(i + 1)..<j], as: UTF8.self)
  }

  private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
    guard hay.count >= needle.count else { return nil }
    for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle {
      return i
    }
    return nil
  }

  @inline(__always) private static func isNameEnd(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ">") || c == UInt8(ascii: "/")
  }

  /// The `>` that ends the tag whose name starts at `from`, quotes respected.
  private static func tagEnd(_ b: [UInt8], from: Int) -> Int? {
    var quote: UInt8 = 0
    var i = from
    while i < b.count {
      let c = b[i]
      if quote != 0 {
        if c == quote { quote = 0 }
      } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
        quote = c
      } else if c == UInt8(ascii: ">") {
        return i
      } else if c == UInt8(ascii: "<") {
        return nil
      }
      i += 1
    }
    return nil
  }

  /// Counts the line ends in `window[from..<to]` (LF, CRLF and CR alone).
  private func countLines(_ from: Int, _ to: Int) {
    guard from < to else { return }
    window.withUnsafeBufferPointer { b in
      var n = 0
      var cr = lastWasCR
      for i in from..<to {
        let c = b[i]
        if c == 0x0A {
          if !cr { n += 1 }
          cr = false
        } else if c == 0x0D {
          n += 1
          cr = true
        } else {
          cr = false
        }
      }
      line += n
      lastWasCR = cr
    }
  }

  /// Reads more input; drops what is no longer needed. False at the end of input.
  private func fill() throws -> Bool {
    if eof { return false }
    let keep = record?.start ?? pos
    if keep > 0 {
      if !started && prologue.count < 1 << 20 { prologue.append(contentsOf: window[0..<min(keep, (1 << 20) - prologue.count)]) }

      window.removeSubrange(0..<keep)
      base += Int64(keep)
      pos -= keep
      if record != nil { record!.start = 0 }
    }
    let old = window.count
    window.append(contentsOf: repeatElement(0, count: Self.chunk))
    let n = try window.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[old...])) }
    window.removeLast(Self.chunk - n)
    if n == 0 { eof = true }
    return n > 0
  }

  /// Makes `count` bytes from `pos` available if the input has them.
  private func have(_ count: Int) throws -> Bool {
    while window.count - pos < count {
      if try !fill() { return false }
    }
    return true
  }

  /// What the bytes at `pos` (a `<`) start: 1 the record's start tag, 2 its end tag, 0 other.
  private func tagKind() throws -> Int {
    _ = try have(name.count + 3)
    let avail = window.count - pos
    var k = pos + 1
    var kind = 1
    if avail > 1 && window[k] == UInt8(ascii: "/") {
      kind = 2
      k += 1
    }
    guard window.count - k > name.count else { return 0 }
    for j in 0..<name.count where window[k + j] != name[j] { return 0 }
    return Self.isNameEnd(window[k + name.count]) ? kind : 0
  }

  /// Index of the `>` that ends the tag at `pos`, reading more as needed; nil at the end of input.
  private func endOfTag() throws -> Int? {
    var quote: UInt8 = 0
    var i = pos + 1
    while true {
      if i >= window.count {
        let offsetFromPos = i - pos
        if try !fill() { return nil }
        i = pos + offsetFromPos
        continue
      }
      let c = window[i]
      if quote != 0 {
        if c == quote { quote = 0 }
      } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
        quote = c
      } else if c == UInt8(ascii: ">") {
        return i
      }
      i += 1
      if i - pos > 1 << 20 { return nil }
    }
  }

  func next() throws -> Piece? {
    while true {
      // The next `<`.
      var lt: Int?
      while lt == nil {
        if pos < window.count {
          lt = window.withUnsafeBufferPointer { b -> Int? in
            guard let p = memchr(b.baseAddress! + pos, 0x3C, b.count - pos) else { return nil }
            return b.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
          }
        }
        let upTo = lt ?? window.count
        countLines(pos, upTo)
        pos = upTo
        if let r = record, skipping == nil, pos - r.start > maxRecordBytes {
          skipping = (r.line, r.offset, line)
          record = nil
        }
        if lt == nil, try !fill() { return finish() }
      }
      let kind = try tagKind()
      if kind == 0 {
        countLines(pos, pos + 1)
        pos += 1
        continue
      }
      if kind == 1 && (record != nil || skipping != nil) {
        // The next record begins before this one ended: this one is cut short.
        if let s = skipping {
          skipping = nil
          return .tooLarge(line: s.line, offset: s.offset, at: s.at)
        }
        let r = record!
        record = nil
        return .unterminated(bytes: Array(window[r.start..<pos]), line: r.line, offset: r.offset,
                             reason: "element \(String(decoding: name, as: UTF8.self)) has no end tag before the next one starts",
                             at: line)
      }
      if kind == 2 && record == nil && skipping == nil {
        countLines(pos, pos + 1)
        pos += 1
        continue
      }
      let startLine = line
      let startOffset = base + Int64(pos)
      if kind == 1 {
        if !started {
          prologue.append(contentsOf: window[0..<min(pos, max(0, (1 << 20) - prologue.count))])
          started = true
        }
        record = (pos, line, startOffset)
      }
      guard let gt = try endOfTag() else { return finish() }
      countLines(pos, gt + 1)
      pos = gt + 1
      if kind == 1 && window[gt - 1] == UInt8(ascii: "/") {
        let r = record!
        record = nil
        return .record(bytes: Array(window[r.start..<pos]), line: startLine, offset: startOffset)
      }
      if kind == 2 {
        if let s = skipping {
          skipping = nil
          return .tooLarge(line: s.line, offset: s.offset, at: s.at)
        }
        let r = record!
        record = nil
        if pos - r.start > maxRecordBytes { return .tooLarge(line: r.line, offset: r.offset, at: line) }
        return .record(bytes: Array(window[r.start..<pos]), line: r.line, offset: r.offset)
      }
    }
  }

  private func finish() -> Piece? {
    if let s = skipping {
      skipping = nil
      return .tooLarge(line: s.line, offset: s.offset, at: s.at)
    }
    if let r = record {
      record = nil
      let bytes = Array(window[r.start...])
      pos = window.count
      return .unterminated(bytes: bytes, line: r.line, offset: r.offset, reason: "document ends inside an element "
        + String(decoding: name, as: UTF8.self), at: line)
    }
    return nil
  }
}

/// One record's bytes as a document of its own for libxml2's pull reader: wrapped in the root
/// start tag (for its namespace declarations), on the record's first line, with the encoding
/// the document declared. No network, no entity expansion, and without XML_PARSE_HUGE, so
/// libxml2 refuses nesting deeper than 256 and text nodes over 10 MB.
final class XMLRecordDocument {
  /// The document's bytes, at a fixed address for as long as the reader reads them.
  private let bytes: UnsafeMutableBufferPointer<CChar>
  let reader: xmlTextReaderPtr
  let context: XMLInputContext

  init?(_ record: [UInt8], splitter: XMLRecordSplitter, context: XMLInputContext) {
    var open: [UInt8] = []
    var close: [UInt8] = []
    if let root = splitter.rootStartTag {
      open = root.tag
      close = Array("</".utf8) + root.name + [UInt8(ascii: ">")]
    }
    let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(1, open.count + record.count + close.count))
    var at = 0
    for part in [open, record, close] {
      part.withUnsafeBytes { p in
        if p.count > 0 { UnsafeMutableRawPointer(buffer.baseAddress! + at).copyMemory(from: p.baseAddress!, byteCount: p.count) }
      }
      at += part.count
    }
    self.context = context
    context.lastMessage = nil
    context.lastLine = 0
    context.lastColumn = 0
    let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_COMPACT.rawValue)
    guard let made = xmlReaderForMemory(buffer.baseAddress, Int32(at), splitter.source.name, splitter.declaredEncoding, options)
    else {
      buffer.deallocate()
      return nil
    }
    bytes = buffer
    reader = made
    xmlTextReaderSetStructuredErrorHandler(reader, xmlStructuredError, Unmanaged.passUnretained(context).toOpaque())
  }

  deinit {
    xmlFreeTextReader(reader)
    bytes.deallocate()
  }

  /// The message of the error that stopped the reader.
  var errorMessage: String { context.lastMessage ?? "XML is not well-formed" }

  /// The file line of the error, if libxml2 gave one.
  func errorLine(recordLine: Int) -> Int? { context.lastLine > 0 ? recordLine + context.lastLine - 1 : nil }

  /// Where the error is in the file: "line L, column C" (the column from the record's second
  /// line on, where the wrapper does not shift it), or the reader's line.
  func errorPlace(recordLine: Int, fallback: Int) -> String {
    guard context.lastLine > 0 else { return "line \(fallback)" }
    let line = recordLine + context.lastLine - 1
    return context.lastLine > 1 && context.lastColumn > 0 ? "line \(line), column \(context.lastColumn)" : "line \(line)"
  }
}

/// The records of one element of an XML stream, cut by ``XMLRecordSplitter`` and opened one by
/// one as small documents: the loop every XML reader shares. Damage the splitter finds (a record
/// over the size limit, one without its end tag) comes out as a malformed record naming its line.
final class XMLRecordStream {
  enum Item {
    case record([UInt8])
    case malformed(MalformedRecord)
  }

  let context: XMLInputContext
  let splitter: XMLRecordSplitter
  private let limits: ReaderLimits
  /// What a record is called in messages ("entry", "compound").
  private let noun: String
  /// Index of the record being read (records that failed count too).
  @exclusivity(unchecked) var recordIndex: Int
  /// Where the record being parsed starts.
  @exclusivity(unchecked) private(set) var piece = (line: 1, offset: Int64(0))

  init(source: ByteSource, element: String, noun: String, firstRecordIndex: Int, limits: ReaderLimits) {
    context = XMLInputContext(source: source)
    splitter = XMLRecordSplitter(source: source, element: element, maxRecordBytes: limits.maxRecordBytes)
    self.limits = limits
    self.noun = noun
    recordIndex = firstRecordIndex
  }

  /// The next record's bytes, or the damage in its place; nil at the end of input.
  func next() throws -> Item? {
    guard let p = try splitter.next() else { return nil }
    switch p {
    case let .tooLarge(line, offset, at):
      return .malformed(skipped(RecordLocation(index: recordIndex, line: line, offset: offset), at: at,
                                limits.tooLarge(line: at)))
    case let .unterminated(_, line, offset, reason, at):
      return .malformed(skipped(RecordLocation(index: recordIndex, line: line, offset: offset), at: at,
                                "\(reason) (line \(at))"))
    case let .record(bytes, line, offset):
      piece = (line, offset)
      return .record(bytes)
    }
  }

  /// The next event of a reader: a record parsed by `parse` (nil when it gave nothing, such as a
  /// bare reference, and the next one is read), or the damage in its place.
  func next<Event>(parse: ([UInt8]) -> Event?, malformed: (MalformedRecord) -> Event) throws -> Event? {
    while let item = try next() {
      switch item {
      case let .malformed(m): return malformed(m)
      case let .record(bytes): if let event = parse(bytes) { return event }
      }
    }
    return nil
  }

  /// The file line where `reader`'s current node starts (libxml2's line of the node, counted
  /// from the record's first line); the parser's own position, which runs ahead of the node,
  /// when libxml2 has no line for it.
  func nodeLine(_ reader: xmlTextReaderPtr?) -> Int {
    let line = Int(xmlGetLineNo(xmlTextReaderCurrentNode(reader)))
    return line > 0 ? piece.line + line - 1 : parserLine(reader)
  }

  /// The file line of `reader`'s parser position in the record.
  private func parserLine(_ reader: xmlTextReaderPtr?) -> Int {
    piece.line + max(1, Int(xmlTextReaderGetParserLineNumber(reader))) - 1
  }

  /// Where the record being parsed starts, with its index.
  var location: RecordLocation { RecordLocation(index: recordIndex, line: piece.line, offset: piece.offset) }

  /// A record given up, at `at`; the index moves on.
  func skipped(_ loc: RecordLocation, at: Int, _ reason: String) -> MalformedRecord {
    recordIndex += 1
    return MalformedRecord(location: loc, line: at, reason: reason, excerpt: "\(noun) at line \(loc.line)")
  }

  /// The record's bytes as a document of their own, wrapped in the stream's root element.
  func document(_ bytes: [UInt8]) -> XMLRecordDocument? { XMLRecordDocument(bytes, splitter: splitter, context: context) }
}

/// Shared with libxml2's error callback: the byte source (for its name) and the first error seen.
final class XMLInputContext {
  let source: ByteSource
  @exclusivity(unchecked) var inputError: Error?
  @exclusivity(unchecked) var lastMessage: String?
  /// Line (1-based, in the document libxml2 read) and column of the first error, 0 if unknown.
  @exclusivity(unchecked) var lastLine = 0
  @exclusivity(unchecked) var lastColumn = 0
  init(source: ByteSource) { self.source = source }
}

func xmlStructuredError(_ ctx: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
  guard let ctx, let error else { return }
  let context = Unmanaged<XMLInputContext>.fromOpaque(ctx).takeUnretainedValue()
  guard context.lastMessage == nil, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
  var message = error.pointee.message.map { String(cString: $0) } ?? "XML error"
  while message.last == "\n" { message.removeLast() }
  context.lastMessage = message
  context.lastLine = Int(error.pointee.line)
  context.lastColumn = Int(error.pointee.int2)
}
