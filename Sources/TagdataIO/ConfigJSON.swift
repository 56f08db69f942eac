/// A small JSON reader for configuration files that keeps where every value starts (line and
/// column), so that an error names the key path and its place in the file. Nesting is limited
/// (configs are shallow), so its recursion is bounded whatever the input.
public indirect enum ConfigJSON: Sendable, Equatable {
  case null
  case bool(Bool)
  /// A number; `integer` is its value when it is integral and fits Int64.
  case number(Double, integer: Int64?)
  case string(String)
  case array([Node])
  /// Members in file order (duplicate keys are an error).
  case object([(key: String, value: Node)])

  public struct Node: Sendable, Equatable {
    public var value: ConfigJSON
    public var line: Int
    public var column: Int
  }

  public static func == (a: ConfigJSON, b: ConfigJSON) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.number(x, _), .number(y, _)): return x == y
    case let (.string(x), .string(y)): return x == y
    case let (.array(x), .array(y)): return x == y
    case let (.object(x), .object(y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  /// A syntax error at a line and column (both from 1; the column counts bytes).
  public struct SyntaxError: Error, CustomStringConvertible, Sendable {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "line \(line), column \(column): \(message)" }
  }

  public static let maximumDepth = 64

  /// Parses a whole document (UTF-8, an optional byte-order mark).
  public static func parse(_ bytes: [UInt8]) throws -> Node {
    var p = Parser(bytes: bytes)
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }
    p.skipSpace()
    let node = try p.value(depth: 0)
    p.skipSpace()
    if p.i < bytes.count { throw p.error("unexpected text after the JSON value") }
    return node
  }

  /// Line and column (from 1) of a byte offset.
  public static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
    var line = 1, start = 0
    for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A {
      line += 1
      start = i + 1
    }
    return (line, offset - start + 1)
  }

  struct Parser {
    let bytes: [UInt8]
    var i = 0
    var line = 1
    var lineStart = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String, at offset: Int? = nil) -> SyntaxError {
      let o = offset ?? i
      // The line of `o`: counted as we go for the current position.
      if o >= lineStart { return SyntaxError(line: line, column: o - lineStart + 1, message: message) }
      let (l, c) = ConfigJSON.position(of: o, in: bytes)
      return SyntaxError(line: l, column: c, message: message)
    }

    mutating func skipSpace() {
      while i < bytes.count {
        switch bytes[i] {
        case 0x20, 0x09, 0x0D: i += 1
        case 0x0A:
          i += 1
          line += 1
          lineStart = i
        default: return
        }
      }
    }

    func describe() -> String {
      guard i < bytes.count else { return "the end of the file" }
      let b = bytes[i]
      return b >= 0x21 && b < 0x7F ? "'\(Character(UnicodeScalar(b)))'" : "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    mutating func value(depth: Int) throws -> Node {
      guard depth < ConfigJSON.maximumDepth else { throw error("nested deeper than \(ConfigJSON.maximumDepth) levels") }
      let l = line, c = i - lineStart + 1
      guard i < bytes.count else { throw error("expected a value, found the end of the file") }
      func node(_ v: ConfigJSON) -> Node { Node(value: v, line: l, column: c) }
      switch bytes[i] {
      case UInt8(ascii: "{"):
        i += 1
        var members: [(key: String, value: Node)] = []
        var keys = Set<String>()
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
          i += 1
          return node(.object(members))
        }
        while true {
          skipSpace()
          guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key in quotes, found \(describe())") }
          let keyOffset = i
          let key = try string()
          // A set, not a search of the members: an object of 100,000 keys (a vocabulary) stays linear.
          if !keys.insert(key).inserted { throw error("duplicate key \"\(key)\"", at: keyOffset) }
          skipSpace()
          guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after \"\(key)\", found \(describe())") }
          i += 1
          skipSpace()
          members.append((key, try value(depth: depth + 1)))
          skipSpace()
          guard i < bytes.count else { throw error("unterminated object: expected ',' or '}', found the end of the file") }
          if bytes[i] == UInt8(ascii: ",") {
            i += 1
            continue
          }
          if bytes[i] == UInt8(ascii: "}") {
            i += 1
            return node(.object(members))
          }
          throw error("expected ',' or '}', found \(describe())")
        }
      case UInt8(ascii: "["):
        i += 1
        var items: [Node] = []
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
          i += 1
          return node(.array(items))
        }
        while true {
          skipSpace()
          items.append(try value(depth: depth + 1))
          skipSpace()
          guard i < bytes.count else { throw error("unterminated array: expected ',' or ']', found the end of the file") }
          if bytes[i] == UInt8(ascii: ",") {
            i += 1
            continue
          }
          if bytes[i] == UInt8(ascii: "]") {
            i += 1
            return node(.array(items))
          }
          throw error("expected ',' or ']', found \(describe())")
        }
      case UInt8(ascii: "\""):
        return node(.string(try string()))
      case UInt8(ascii: "t"): try literal("true"); return node(.bool(true))
      case UInt8(ascii: "f"): try literal("false"); return node(.bool(false))
      case UInt8(ascii: "n"): try literal("null"); return node(.null)
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return node(try number())
      default:
        throw error("expected a value, found \(describe())")
      }
    }

    mutating func literal(_ word: String) throws {
      let w = Array(word.utf8)
      guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw error("expected a value, found \(describe())") }
      i += w.count
    }

    mutating func number() throws -> ConfigJSON {
      let start = i
      func digits() -> Int {
        let s = i
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
        return i - s
      }
      if bytes[i] == UInt8(ascii: "-") { i += 1 }
      let intStart = i
      let n = digits()
      guard n > 0 else { throw error("expected digits, found \(describe())") }
      if n > 1 && bytes[intStart] == UInt8(ascii: "0") { throw error("a number may not start with 0", at: intStart) }
      var integral = true
      if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
        i += 1
        integral = false
        guard digits() > 0 else { throw error("expected digits after '.', found \(describe())") }
      }
      if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
        i += 1
        integral = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digits() > 0 else { throw error("expected digits in the exponent, found \(describe())") }
      }
      let text = String(decoding: bytes[start..<i], as: UTF8.self)
      guard let d = Double(text) else { throw error("not a number: \(text)", at: start) }
      var integer: Int64? = integral ? Int64(text) : nil
      if integer == nil, d.isFinite, d.rounded() == d, abs(d) < 9.0e18 { integer = Int64(d) }
      return .number(d, integer: integer)
    }

    mutating func string() throws -> String {
      i += 1  // the opening quote
      var out: [UInt8] = []
      while true {
        guard i < bytes.count else { throw error("unterminated string: the end of the file inside quotes") }
        let b = bytes[i]
        if b == UInt8(ascii: "\"") {
          i += 1
          break
        }
        if b < 0x20 { throw error(b == 0x0A ? "unterminated string (a line break inside quotes)" : "control character in a string") }
        if b != UInt8(ascii: "\\") {
          out.append(b)
          i += 1
          continue
        }
        i += 1
        guard i < bytes.count else { throw error("unterminated string: the end of the file inside quotes") }
        let e = bytes[i]
        i += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if scalar >= 0xD800 && scalar < 0xDC00 {
            guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
              throw error("unpaired surrogate \\u\(String(scalar, radix: 16))")
            }
            i += 2
            let low = try hex4()
            guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate \\u\(String(scalar, radix: 16))") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let u = Unicode.Scalar(scalar) else { throw error("invalid escape \\u\(String(scalar, radix: 16))") }
          out.append(contentsOf: Array(String(Character(u)).utf8))
        default:
          throw error("invalid escape '\\\(Character(UnicodeScalar(e)))'", at: i - 2)
        }
      }
      guard let s = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
      return s
    }

    mutating func hex4() throws -> UInt32 {
      guard i + 4 <= bytes.count else { throw error("unterminated \\u escape") }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let b = bytes[i]
        let d: UInt32
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
        default: throw error("invalid \\u escape")
        }
        v = v * 16 + d
        i += 1
      }
      return v
    }
  }
}
