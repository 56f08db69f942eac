/// The JSON reader of `tokenizer.json`: a tree of values that keep where they start (line and
/// column, both from 1; the column counts bytes), so that an error names the key and its place.
/// Nesting is limited to `maximumDepth`, so the recursion is bounded whatever the input. Strings
/// must be valid UTF-8 and `\u` escapes must not leave a lone surrogate.
struct TokenizerJSON {
  typealias Value = TokenizerJSONValue

  var value: Value
  var line: Int
  var column: Int

  static let maximumDepth = 64

  struct SyntaxError: Error {
    var line: Int
    var column: Int
    var message: String
  }

  /// Parses a whole document (UTF-8, an optional byte-order mark).
  static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> TokenizerJSON {
    try bytes.withUnsafeBufferPointer { (buffer) throws(SyntaxError) -> TokenizerJSON in
      var p = Parser(b: buffer)
      if buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { p.i = 3; p.lineStart = 3 }
      p.skipSpace()
      let node = try p.value(depth: 0)
      p.skipSpace()
      if p.i < buffer.count { throw p.error("unexpected text after the JSON value") }
      return node
    }
  }

  /// The members of an object, nil for any other value.
  var members: [TokenizerJSONMember]? {
    if case .object(let m) = value { return m }
    return nil
  }

  /// The member `key` of an object (the last one when the key is repeated).
  subscript(key: String) -> TokenizerJSON? {
    guard case .object(let m) = value else { return nil }
    return m.last { $0.key == key }?.value
  }

  var isNull: Bool { if case .null = value { return true } else { return false } }

  /// A short description of the kind of value, for error messages.
  var kind: String {
    switch value {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  struct Parser {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    var line = 1
    var lineStart = 0

    init(b: UnsafeBufferPointer<UInt8>) { self.b = b }

    func error(_ message: String, at offset: Int? = nil) -> SyntaxError {
      let o = offset ?? i
      return SyntaxError(line: line, column: o - lineStart + 1, message: message)
    }

    mutating func skipSpace() {
      while i < b.count {
        switch b[i] {
        case 0x20, 0x09, 0x0D: i += 1
        case 0x0A:
          i += 1
          line += 1
          lineStart = i
        default: return
        }
      }
    }

    mutating func value(depth: Int) throws(SyntaxError) -> TokenizerJSON {
      guard i < b.count else { throw error("unexpected end of the file: a value is missing") }
      let (l, c) = (line, i - lineStart + 1)
      func node(_ v: Value) -> TokenizerJSON { TokenizerJSON(value: v, line: l, column: c) }
      switch b[i] {
      case UInt8(ascii: "{"):
        if depth >= TokenizerJSON.maximumDepth { throw error("nested deeper than \(TokenizerJSON.maximumDepth) levels") }
        i += 1
        var members: [TokenizerJSONMember] = []
        var keys = Set<String>()
        skipSpace()
        if i < b.count && b[i] == UInt8(ascii: "}") {
          i += 1
          return node(.object(members))
        }
        while true {
          skipSpace()
          guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a key in quotes") }
          let keyStart = i
          let key = try string()
          if !keys.insert(key).inserted { throw error("the key \"\(key)\" appears twice in the object", at: keyStart) }
          skipSpace()
          guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\"") }
          i += 1
          skipSpace()
          members.append(TokenizerJSONMember(key: key, value: try value(depth: depth + 1)))
          skipSpace()
          guard i < b.count else { throw error("unexpected end of the file: the object is not closed") }
          if b[i] == UInt8(ascii: ",") { i += 1; continue }
          if b[i] == UInt8(ascii: "}") { i += 1; return node(.object(members)) }
          throw error("expected ',' or '}' in an object")
        }
      case UInt8(ascii: "["):
        if depth >= TokenizerJSON.maximumDepth { throw error("nested deeper than \(TokenizerJSON.maximumDepth) levels") }
        i += 1
        var items: [TokenizerJSON] = []
        skipSpace()
        if i < b.count && b[i] == UInt8(ascii: "]") {
          i += 1
          return node(.array(items))
        }
        while true {
          skipSpace()
          items.append(try value(depth: depth + 1))
          skipSpace()
          guard i < b.count else { throw error("unexpected end of the file: the array is not closed") }
          if b[i] == UInt8(ascii: ",") { i += 1; continue }
          if b[i] == UInt8(ascii: "]") { i += 1; return node(.array(items)) }
          throw error("expected ',' or ']' in an array")
        }
      case UInt8(ascii: "\""):
        return node(.string(try string()))
      case UInt8(ascii: "t"): try literal("true"); return node(.bool(true))
      case UInt8(ascii: "f"): try literal("false"); return node(.bool(false))
      case UInt8(ascii: "n"): try literal("null"); return node(.null)
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return node(try number())
      default:
        throw error("unexpected character '\(Unicode.Scalar(b[i]).escaped(asASCII: true))'")
      }
    }

    mutating func literal(_ word: StaticString) throws(SyntaxError) {
      let n = word.utf8CodeUnitCount
      let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
      guard i + n <= b.count, (0..<n).allSatisfy({ b[i + $0] == w[$0] }) else {
        throw error("unexpected word (expected \(word))")
      }
      i += n
    }

    mutating func number() throws(SyntaxError) -> Value {
      let start = i
      if b[i] == UInt8(ascii: "-") { i += 1 }
      func digits(_ p: inout Parser) -> Int {
        let s = p.i
        while p.i < p.b.count && p.b[p.i] >= 0x30 && p.b[p.i] <= 0x39 { p.i += 1 }
        return p.i - s
      }
      guard digits(&self) > 0 else { throw error("a number without digits", at: start) }
      var integral = true
      if i < b.count && b[i] == UInt8(ascii: ".") {
        i += 1
        integral = false
        guard digits(&self) > 0 else { throw error("a number without digits after '.'", at: start) }
      }
      if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
        i += 1
        integral = false
        if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
        guard digits(&self) > 0 else { throw error("a number without digits in its exponent", at: start) }
      }
      let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
      guard let d = Double(text) else { throw error("a number out of range", at: start) }
      return .number(d, integer: integral ? Int(text) : (d.rounded() == d && abs(d) < 9.0e15 ? Int(d) : nil))
    }

    mutating func hex4() throws(SyntaxError) -> UInt32 {
      guard i + 4 <= b.count else { throw error("a \\u escape needs four hex digits") }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let c = b[i]
        let d: UInt32
        switch c {
        case 0x30...0x39: d = UInt32(c - 0x30)
        case 0x41...0x46: d = UInt32(c - 0x41 + 10)
        case 0x61...0x66: d = UInt32(c - 0x61 + 10)
        default: throw error("a \\u escape needs four hex digits")
        }
        v = v << 4 | d
        i += 1
      }
      return v
    }

    /// A string at `i` (on its opening quote).
    mutating func string() throws(SyntaxError) -> String {
      let open = i
      i += 1
      let start = i
      // Fast path: no escapes.
      while i < b.count && b[i] != UInt8(ascii: "\"") && b[i] != UInt8(ascii: "\\") && b[i] >= 0x20 { i += 1 }
      guard i < b.count else { throw error("unexpected end of the file: the string is not closed", at: open) }
      if b[i] == UInt8(ascii: "\"") {
        let raw = UnsafeBufferPointer(rebasing: b[start..<i])
        i += 1
        return try validUTF8(raw, at: start)
      }
      var bytes = Array(b[start..<i])
      while true {
        guard i < b.count else { throw error("unexpected end of the file: the string is not closed", at: open) }
        let c = b[i]
        if c == UInt8(ascii: "\"") {
          i += 1
          return try bytes.withUnsafeBufferPointer { (raw) throws(SyntaxError) -> String in try validUTF8(raw, at: start) }
        }
        if c < 0x20 { throw error("a control character in a string (escape it)") }
        if c != UInt8(ascii: "\\") {
          bytes.append(c)
          i += 1
          continue
        }
        i += 1
        guard i < b.count else { throw error("unexpected end of the file in an escape") }
        let e = b[i]
        i += 1
        switch e {
        case UInt8(ascii: "\""): bytes.append(0x22)
        case UInt8(ascii: "\\"): bytes.append(0x5C)
        case UInt8(ascii: "/"): bytes.append(0x2F)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
          let escape = i - 2
          var v = try hex4()
          if v >= 0xD800 && v < 0xDC00 {
            guard i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
              throw error("a lone surrogate \\u escape", at: escape)
            }
            i += 2
            let low = try hex4()
            guard low >= 0xDC00 && low < 0xE000 else { throw error("a lone surrogate \\u escape", at: escape) }
            v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
          } else if v >= 0xDC00 && v < 0xE000 {
            throw error("a lone surrogate \\u escape", at: escape)
          }
          bytes.append(contentsOf: String(Character(Unicode.Scalar(v)!)).utf8)
        default:
          throw error("unknown escape '\\\(Unicode.Scalar(e).escaped(asASCII: true))'", at: i - 2)
        }
      }
    }

    func validUTF8(_ raw: UnsafeBufferPointer<UInt8>, at offset: Int) throws(SyntaxError) -> String {
      let s = String(decoding: raw, as: UTF8.self)
      if s.utf8.count != raw.count || !s.utf8.elementsEqual(raw) { throw error("a string that is not valid UTF-8", at: offset) }
      return s
    }
  }
}

/// A value of `TokenizerJSON`.
enum TokenizerJSONValue {
  case null
  case bool(Bool)
  /// A number; `integer` is its value when it is integral and fits Int.
  case number(Double, integer: Int?)
  case string(String)
  case array([TokenizerJSON])
  /// Members in file order.
  case object([TokenizerJSONMember])
}

struct TokenizerJSONMember {
  var key: String
  var value: TokenizerJSON
}
