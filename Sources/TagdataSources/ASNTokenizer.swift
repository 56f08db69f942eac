import TagdataChem
import TagdataIO

/// Tokens of ASN.1 value notation, read from a byte source a buffer at a time.
final class ASNTokenizer {
  enum Kind {
    case open, close, comma, assign, end
    case number(Int)
    case string(String)
    case identifier(String)
  }

  struct Token {
    var kind: Kind
    var line: Int
    var offset: Int64
    var isOpen: Bool { if case .open = kind { return true } else { return false } }
  }

  /// Open braces less close braces among the tokens scanned (the lookahead included).
  @exclusivity(unchecked) private(set) var depth = 0
  /// Offset of the record being read, to hold it to `maxRecordBytes`.
  @exclusivity(unchecked) var recordStart: Int64?
  @exclusivity(unchecked) var maxRecordBytes = Int.max
  /// Strings and words are passed over, not kept (skipping a refused record).
  @exclusivity(unchecked) var discarding = false

  func dropLookahead() { lookahead = nil }

  let source: ByteSource
  var name: String { source.name }
  @exclusivity(unchecked) private var buffer = [UInt8](repeating: 0, count: 1 << 16)
  @exclusivity(unchecked) private var start = 0, end = 0
  @exclusivity(unchecked) private var eof = false
  @exclusivity(unchecked) private var line = 1
  @exclusivity(unchecked) private var consumed: Int64 = 0  // bytes before buffer[start]
  @exclusivity(unchecked) private var lookahead: Token?
  /// Longest string or word accepted (a guard against unbounded tokens in damaged input).
  static let maxTokenLength = 1 << 24

  init(_ source: ByteSource) { self.source = source }

  func error(_ t: Token, _ message: String) -> ASNSyntaxError {
    ASNSyntaxError(line: t.line, offset: t.offset, message: message)
  }

  func peek() throws -> Token {
    if let t = lookahead { return t }
    let t = try scan()
    lookahead = t
    return t
  }

  func next() throws -> Token {
    if let t = lookahead {
      lookahead = nil
      return t
    }
    return try scan()
  }

  /// The next byte without consuming it, or nil at the end of input.
  private func byte() throws -> UInt8? {
    if start == end {
      if eof { return nil }
      start = 0
      end = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
      if end == 0 {
        eof = true
        return nil
      }
      if consumed == 0 && end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF {
        // A UTF-8 byte-order mark: not part of the value notation.
        start = 3
        consumed = 3
      }
    }
    return buffer[start]
  }

  private func advance() {
    if buffer[start] == 0x0A { line += 1 }
    start += 1
    consumed += 1
  }

  private func scan() throws -> Token {
    while let b = try byte(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { advance() }
    let at = Token(kind: .end, line: line, offset: consumed)
    if let s = recordStart, consumed - s > Int64(maxRecordBytes) {
      var e = error(at, "record larger than \(maxRecordBytes) bytes")
      e.resumable = true
      e.tooLarge = true
      throw e
    }
    guard let b = try byte() else { return at }
    func token(_ k: Kind) -> Token { Token(kind: k, line: at.line, offset: at.offset) }
    switch b {
    case UInt8(ascii: "{"): advance(); depth += 1; return token(.open)
    case UInt8(ascii: "}"): advance(); depth -= 1; return token(.close)
    case UInt8(ascii: ","): advance(); return token(.comma)
    case UInt8(ascii: ":"):
      for expected in Array("::=".utf8) {
        guard try byte() == expected else { throw error(at, "expected ::=") }
        advance()
      }
      return token(.assign)
    case UInt8(ascii: "\""):
      // A string; "" inside stands for one quote. A string may span lines: as ASN.1 value
      // notation defines (X.680, cstring), a line end and the blanks right before and after it
      // are not part of the string (PubChem wraps long InChI strings so).
      advance()
      var text: [UInt8] = []
      // A string that takes its record over the limit is passed over to its end, then refused.
      var overLimit = false
      defer { if overLimit { discarding = false } }
      while true {
        guard let c = try byte() else { throw error(at, "string not closed before the end of input") }
        advance()
        if !discarding, let s = recordStart, consumed - s > Int64(maxRecordBytes) {
          discarding = true
          overLimit = true
        }
        if c == UInt8(ascii: "\"") {
          if try byte() == UInt8(ascii: "\"") {
            advance()
            text.append(c)
            continue
          }
          break
        }
        if c == 0x0A || c == 0x0D {
          while let last = text.last, last == 0x20 || last == 0x09 { text.removeLast() }
          while let n = try byte(), n == 0x20 || n == 0x09 || n == 0x0A || n == 0x0D { advance() }
          continue
        }
        if discarding { continue }
        text.append(c)
        if text.count > Self.maxTokenLength { throw error(at, "string longer than \(Self.maxTokenLength) bytes") }
      }
      if overLimit {
        var e = error(at, "record larger than \(maxRecordBytes) bytes")
        e.resumable = true
        e.tooLarge = true
        throw e
      }
      return token(.string(String(decoding: text, as: UTF8.self)))
    case UInt8(ascii: "'"):
      // A hex or bit string, 'C0FFEE'H or '0101'B, possibly over several lines: its digits as text.
      advance()
      var text: [UInt8] = []
      while true {
        guard let c = try byte() else { throw error(at, "hex string not closed before the end of input") }
        advance()
        if c == UInt8(ascii: "'") { break }
        if discarding { continue }
        if c != 0x0A && c != 0x0D && c != 0x20 && c != 0x09 { text.append(c) }
        if text.count > Self.maxTokenLength { throw error(at, "hex string longer than \(Self.maxTokenLength) bytes") }
      }
      guard let suffix = try byte(), suffix == UInt8(ascii: "H") || suffix == UInt8(ascii: "B") else {
        throw error(at, "expected H or B after a quoted hex or bit string")
      }
      advance()
      return token(.string(String(decoding: text, as: UTF8.self)))
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      var negative = false
      if b == UInt8(ascii: "-") {
        negative = true
        advance()
      }
      var value = 0
      var digits = 0
      while let c = try byte(), c >= 0x30 && c <= 0x39 {
        advance()
        digits += 1
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (s, o2) = m.addingReportingOverflow(Int(c - 0x30))
        guard !o1 && !o2 else { throw error(at, "number out of range") }
        value = s
      }
      guard digits > 0 else { throw error(at, "'-' without digits") }
      return token(.number(negative ? -value : value))
    default:
      guard Self.identifierByte(b) else {
        throw error(at, "unexpected character '\(String(decoding: [b], as: UTF8.self))'")
      }
      var word: [UInt8] = []
      while let c = try byte(), Self.identifierByte(c) || (c == UInt8(ascii: "-") && !word.isEmpty) {
        advance()
        if discarding && !word.isEmpty { continue }
        word.append(c)
        if word.count > Self.maxTokenLength { throw error(at, "word longer than \(Self.maxTokenLength) bytes") }
      }
      return token(.identifier(String(decoding: word, as: UTF8.self)))
    }
  }

  private static func identifierByte(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_")
  }
}
