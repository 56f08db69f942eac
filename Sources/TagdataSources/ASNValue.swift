import TagdataChem
import TagdataIO

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
