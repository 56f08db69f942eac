import TagdataChem
import TagdataIO

/// Streams compounds from PubChem's ASN.1 text (value notation, `.asn`): a `PC-Compound ::=`
/// value, a `PC-Compounds ::=` list, or `PC-Substances ::=` / `PC-Substance ::=` with the
/// compounds inside. The schema is the one PubChem XML renders, so each compound fills the same
/// ``PubChemCompound`` as the XML reader and the same compound gives the same record.
///
/// One list element (a compound, or a substance with its compounds) is parsed into a small
/// value tree at a time, so memory follows the largest record, not the file. A syntax error
/// inside a record makes that record malformed (with the line) and ends the file with an
/// error naming the line; records before it are kept.
public final class PubChemASNReader: MoleculeReader {
  public let format = MoleculeFormat.pubchemASN
  private let tokens: ASNTokenizer
  @exclusivity(unchecked) private var recordIndex: Int
  @exclusivity(unchecked) private var pending: [MoleculeEvent] = []
  /// The next of `pending` to hand out (a substance may hold many compounds).
  @exclusivity(unchecked) private var pendingNext = 0
  /// What the current top-level list holds, while inside one.
  @exclusivity(unchecked) private var listOf: ListKind?
  @exclusivity(unchecked) private var failed: Error?
  @exclusivity(unchecked) private var finished = false

  private enum ListKind { case compounds, substances }

  private let limits: ReaderLimits

  public init(source: ByteSource, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    tokens = ASNTokenizer(source)
    recordIndex = firstRecordIndex
    self.limits = limits
  }

  public func next() throws -> MoleculeEvent? {
    while true {
      if pendingNext < pending.count {
        pendingNext += 1
        return pending[pendingNext - 1]
      }
      pending.removeAll(keepingCapacity: true)
      pendingNext = 0
      if let f = failed {
        failed = nil
        finished = true
        throw f
      }
      if finished { return nil }
      do {
        try advance()
      } catch let e as ASNSyntaxError {
        finished = true
        throw ASNError(file: tokens.name, line: e.line, message: e.message)
      }
    }
  }

  /// Reads the next list element (or top-level value) and queues its records.
  private func advance() throws {
    if listOf == nil {
      // `Type ::= value`, possibly several in one file.
      let t = try tokens.next()
      if case .end = t.kind {
        finished = true
        return
      }
      guard case let .identifier(type) = t.kind else { throw tokens.error(t, "expected a type name like PC-Compounds") }
      let assign = try tokens.next()
      guard case .assign = assign.kind else { throw tokens.error(assign, "expected ::= after \(type)") }
      switch type {
      case "PC-Compound", "PC-Substance":
        try element(single: type == "PC-Compound" ? .compounds : .substances)
      case "PC-Compounds", "PC-Substances":
        let open = try tokens.next()
        guard case .open = open.kind else { throw tokens.error(open, "expected { after ::=") }
        listOf = type == "PC-Compounds" ? .compounds : .substances
        if case .close = try tokens.peek().kind {
          _ = try tokens.next()
          listOf = nil
        }
      default:
        throw tokens.error(t, "\(type) is not a PubChem compound or substance type")
      }
      return
    }
    try element(single: nil)
    if failed != nil { return }
    let t = try tokens.next()
    switch t.kind {
    case .comma: break
    case .close: listOf = nil
    default: throw tokens.error(t, "expected , or } between list elements")
    }
  }

  /// Parses one compound or substance value and queues the compounds it holds. A syntax error
  /// inside it queues a malformed record, then the error.
  private func element(single: ListKind?) throws {
    let kind = single ?? listOf!
    let start = try tokens.peek()
    // Braces open before this value (the peeked token counts already).
    let outside = tokens.depth - (start.isOpen ? 1 : 0)
    let value: ASNValue
    tokens.recordStart = start.offset
    tokens.maxRecordBytes = limits.maxRecordBytes
    defer { tokens.recordStart = nil }
    do {
      value = try ASNValue.parse(tokens)
    } catch let e as ASNSyntaxError {
      let loc = RecordLocation(index: recordIndex, line: start.line, offset: start.offset)
      recordIndex += 1
      let reason = e.tooLarge ? limits.tooLarge(line: e.line) : "ASN.1 syntax at line \(e.line): \(e.message)"
      pending.append(.malformed(MalformedRecord(location: loc, line: e.line, reason: reason,
                                                excerpt: "record at line \(start.line)")))
      if e.resumable && tokens.depth > outside {
        // Nesting too deep or a record too large: its braces are still balanced, so the rest of
        // it is passed over token by token (nothing kept), and the next record is read.
        tokens.recordStart = nil
        tokens.discarding = true
        defer { tokens.discarding = false }
        tokens.dropLookahead()
        do {
          while tokens.depth > outside {
            if case .end = try tokens.next().kind {
              // Unbalanced after all: the input ends inside the value.
              failed = ASNError(file: tokens.name, line: e.line, message: "\(e.message); the input ends inside this value")
              return
            }
          }
          return
        } catch let again as ASNSyntaxError {
          failed = ASNError(file: tokens.name, line: again.line, message: again.message)
          return
        }
      }
      failed = ASNError(file: tokens.name, line: e.line, message: e.message)
      return
    }
    var compounds: [ASNValue] = []
    switch kind {
    case .compounds: compounds = [value]
    case .substances:
      // A substance's `compound` field is a list of compounds; a field holding one compound
      // directly is taken as that compound.
      for field in value.fields("compound") {
        if field.isFieldList { compounds.append(field) } else { compounds += field.elements }
      }
    }
    for compound in compounds {
      let loc = RecordLocation(index: recordIndex, line: start.line, offset: start.offset)
      var c = Self.compound(compound)
      if !compound.isFieldList && c.problem == nil { c.problem = "not a PC-Compound value (expected a list of fields)" }
      guard let event = c.event(location: loc) else { continue }
      recordIndex += 1
      pending.append(event)
    }
  }

  // MARK: - Mapping the value tree

  static func compound(_ v: ASNValue) -> PubChemCompound {
    var c = PubChemCompound()
    c.cid = v.field("id")?.field("id")?.choice("cid")?.int
    if let atoms = v.field("atoms") {
      c.aids = atoms.field("aid")?.elements.map { $0.int ?? -1 } ?? []
      c.elements = atoms.field("element")?.elements.map { element($0) } ?? []
      // `charge { { aid 2, value -1 } }`, the same for isotopes.
      func values(_ name: String) -> [(Int, Int)] {
        (atoms.field(name)?.elements ?? []).compactMap { item in
          guard let aid = item.field("aid")?.int, let value = item.field("value")?.int else {
            c.problem = c.problem ?? "unreadable atom \(name)"
            return nil
          }
          return (aid, value)
        }
      }
      c.charges = values("charge")
      c.isotopes = values("isotope")
      for item in atoms.field("radical")?.elements ?? [] {
        guard let aid = item.field("aid")?.int, let type = item.field("type")?.identifier else { continue }
        c.radicals.append((aid, type == "doublet" ? 1 : (type == "none" ? 0 : 2)))
      }
    }
    if let bonds = v.field("bonds") {
      c.bondA = bonds.field("aid1")?.elements.map { $0.int ?? -1 } ?? []
      c.bondB = bonds.field("aid2")?.elements.map { $0.int ?? -1 } ?? []
      c.bondTypes = bonds.field("order")?.elements.map { bondType($0.identifier ?? "") } ?? []
    }
    if let first = v.field("coords")?.elements.first {
      c.coordinateBlocks = 1
      c.threeD = first.field("type")?.elements.contains { $0.identifier == "threed" } ?? false
      c.coordinateAids = first.field("aid")?.elements.map { $0.int ?? -1 } ?? []
      if let conformer = first.field("conformers")?.elements.first {
        c.conformers = 1
        c.xs = conformer.field("x")?.elements.map { $0.real ?? .nan } ?? []
        c.ys = conformer.field("y")?.elements.map { $0.real ?? .nan } ?? []
        c.zs = conformer.field("z")?.elements.map { $0.real ?? .nan } ?? []
        if c.xs.contains(where: \.isNaN) || c.ys.contains(where: \.isNaN) || c.zs.contains(where: \.isNaN) {
          c.problem = c.problem ?? "unreadable coordinate"
        }
        if let style = conformer.field("style") {
          c.annotations = style.field("annotation")?.elements.map { annotation($0.identifier ?? "") } ?? []
          c.annotationA = style.field("aid1")?.elements.map { $0.int ?? -1 } ?? []
          c.annotationB = style.field("aid2")?.elements.map { $0.int ?? -1 } ?? []
        }
      }
    }
    for p in v.field("props")?.elements ?? [] {
      let urn = p.field("urn")
      guard let label = urn?.field("label")?.string, let value = p.field("value") else { continue }
      let text: String?
      if let s = value.choice("sval")?.string {
        text = s
      } else if let i = value.choice("ival")?.int {
        text = String(i)
      } else if let r = value.choice("fval")?.real {
        text = String(r)
      } else {
        text = nil
      }
      if let text { c.props.append((label, urn?.field("name")?.string ?? "", text)) }
    }
    return c
  }

  /// Atomic number of an ASN element name (`c`, `cl`); PubChem's non-element atoms (`a` any,
  /// `d` dummy, `r` R-group, `lp` lone pair, `unknown`) map above 118, to be quarantined.
  static func element(_ v: ASNValue) -> Int {
    guard let name = v.identifier else { return v.int ?? -1 }
    guard let first = name.first else { return -1 }
    let symbol = first.uppercased() + name.dropFirst()
    if let z = PeriodicTable.number(of: symbol), z >= 1 { return z }
    switch name {
    case "a": return 252
    case "d": return 253
    case "r": return 254
    case "lp": return 251
    default: return 255
    }
  }

  static func bondType(_ name: String) -> Int {
    switch name {
    case "single": return 1
    case "double": return 2
    case "triple": return 3
    case "quadruple": return 4
    case "dative": return 5
    case "complex": return 6
    case "ionic": return 7
    default: return 255
    }
  }

  static func annotation(_ name: String) -> Int {
    switch name {
    case "crossed": return 1
    case "dashed": return 2
    case "wavy": return 3
    case "dotted": return 4
    case "wedge-up": return 5
    case "wedge-down": return 6
    default: return 255
    }
  }
}

/// ASN.1 text that cannot be read, with the file and line.
public struct ASNError: Error, CustomStringConvertible, Sendable {
  public var file: String
  public var line: Int
  public var message: String
  public var description: String { "\(file): ASN.1 error at line \(line): \(message)" }
}

/// A syntax error in ASN.1 text, with where it was found.
struct ASNSyntaxError: Error {
  var line: Int
  var offset: Int64
  var message: String
  /// The text is sound but the record is refused (nesting too deep, too large): the reader can
  /// pass over the rest of it.
  var resumable = false
  var tooLarge = false
}

/// A value in ASN.1 value notation as PubChem writes it: `{ ... }` lists (of values or of
/// `name value` fields), `name value` pairs (a named field or a CHOICE), numbers, strings, and
/// identifiers (enumerations). Reals are lists `{ mantissa, 10, exponent }`.
indirect enum ASNValue {
  case list([ASNValue])
  case named(String, ASNValue)
  case int(Int)
  case string(String)
  case identifier(String)

  /// Deeper nesting than this is an error, not a stack overflow.
  static let maxDepth = 64

  static func parse(_ t: ASNTokenizer, depth: Int = 0) throws -> ASNValue {
    guard depth < maxDepth else {
      var e = t.error(try t.peek(), "values nested deeper than \(maxDepth)")
      e.resumable = true
      throw e
    }
    let token = try t.next()
    switch token.kind {
    case .open:
      var items: [ASNValue] = []
      if case .close = try t.peek().kind {
        _ = try t.next()
        return .list(items)
      }
      while true {
        items.append(try parse(t, depth: depth + 1))
        let sep = try t.next()
        switch sep.kind {
        case .comma: continue
        case .close: return .list(items)
        default: throw t.error(sep, "expected , or }")
        }
      }
    case let .number(n): return .int(n)
    case let .string(s): return .string(s)
    case let .identifier(name):
      switch try t.peek().kind {
      case .comma, .close, .end: return .identifier(name)
      default: return .named(name, try parse(t, depth: depth + 1))
      }
    default:
      throw t.error(token, "expected a value")
    }
  }

  /// The value of field `name` in a list of fields (the first, if repeated).
  func field(_ name: String) -> ASNValue? {
    guard case let .list(items) = self else { return nil }
    for case let .named(n, v) in items where n == name { return v }
    return nil
  }

  /// Every value of field `name` in a list of fields.
  func fields(_ name: String) -> [ASNValue] {
    guard case let .list(items) = self else { return [] }
    return items.compactMap { if case let .named(n, v) = $0, n == name { return v } else { return nil } }
  }

  /// The value of a CHOICE when it is alternative `name` (`cid 1`, `sval "text"`).
  func choice(_ name: String) -> ASNValue? {
    if case let .named(n, v) = self, n == name { return v }
    return nil
  }

  /// A list whose items are `name value` fields: a SEQUENCE value such as one compound.
  var isFieldList: Bool {
    guard case let .list(items) = self, let first = items.first else { return false }
    if case .named = first { return true }
    return false
  }

  var elements: [ASNValue] {
    if case let .list(items) = self { return items }
    return []
  }

  var int: Int? {
    if case let .int(n) = self { return n }
    return nil
  }

  var string: String? {
    if case let .string(s) = self { return s }
    return nil
  }

  var identifier: String? {
    if case let .identifier(s) = self { return s }
    return nil
  }

  /// `{ mantissa, base, exponent }` (base 10 or 2), or a plain integer.
  var real: Double? {
    if case let .int(n) = self { return Double(n) }
    let parts = elements.compactMap(\.int)
    guard parts.count == 3, elements.count == 3, abs(parts[2]) < 10_000 else { return nil }
    switch parts[1] {
    // Through the decimal text, so that 37320508956909e-13 is rounded once.
    case 10: return Double("\(parts[0])e\(parts[2])")
    case 2: return Double(parts[0]) * Double(sign: .plus, exponent: parts[2], significand: 1)
    default: return nil
    }
  }
}

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
