import Foundation
import TagdataIO
import Yams

/// A task configuration that could not be read as YAML: where and why.
public struct YAMLConfigError: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  /// From 1.
  public var line: Int
  /// From 1, in characters (Unicode scalars) as libyaml counts them; a byte-order mark is not counted.
  public var column: Int
  public var message: String

  public init(file: String, line: Int, column: Int, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.message = message
  }

  public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Reads a YAML configuration into the tree `ConfigJSON.parse` gives for JSON, with the line and
/// column of every value, so that the same schema checks and messages serve both syntaxes.
///
/// Accepted: one document (UTF-8, an optional byte-order mark, LF or CRLF line ends) of
/// mappings with string keys, sequences and scalars. Plain scalars are resolved by the YAML 1.2
/// core schema: `null`, `Null`, `NULL`, `~` and nothing are null; `true`/`false` (also
/// capitalized or upper case) booleans; `[-+]?[0-9]+`, `0o` octal and `0x` hexadecimal integers;
/// decimal floats; everything else (`yes`, `on`, `1_000`, `2024-01-01`) is a string. A quoted or
/// block (`|`, `>`) scalar is always a string.
///
/// Refused, with the line and column: YAML syntax errors (libyaml's message and place); a key
/// given twice in a mapping (both lines named); a key that is not a string (`1:`, `true:`,
/// `null:`, a sequence or mapping as key); more than one document; anchors and aliases (an
/// alias can multiply a small file into an exponentially large tree); explicit tags (`!!int`,
/// `!custom`); `.inf`, `.nan` and numbers too large for a double; nesting deeper than
/// `ConfigJSON.maximumDepth` (64) levels; a file larger than `maximumSize`; bytes that are not
/// UTF-8; an empty file or one with only comments ("empty configuration").
///
/// Hostile input: libyaml itself stops nesting at 1000 levels without recursing, but Yams builds
/// its node tree recursively, so parsing runs on a thread of its own with a 64 MiB stack, and
/// the tree is then converted with a depth limit of 64. Aliases are refused before Yams sees the
/// text (Yams hashes mapping keys, and an alias key of a "billion laughs" document would hash a
/// billion nodes): any `*name` whose name is also written as `&name` stops the parse.
public enum YAMLConfig {
  /// The tree a configuration is read into (the same as for JSON configurations).
  public typealias Node = ConfigJSON.Node

  /// The largest configuration file read (1 MiB: room for thousands of tags and the 256 tasks a
  /// configuration may have). The tree of a file of one-byte items costs some 300 bytes per input
  /// byte (a 4 MiB file of `1,1,1,...` took 1.2 GB).
  public static let maximumSize = 1 << 20

  /// Parses one YAML document.
  /// - Parameters:
  ///   - bytes: the file's contents.
  ///   - file: the name errors give.
  /// - Throws: `YAMLConfigError`.
  public static func parse(_ bytes: [UInt8], file: String) throws -> ConfigJSON.Node {
    func fail(_ line: Int, _ column: Int, _ message: String) -> YAMLConfigError {
      YAMLConfigError(file: file, line: line, column: column, message: message)
    }
    guard bytes.count <= maximumSize else {
      throw fail(1, 1, "the file is \(bytes.count) bytes; a configuration may be at most \(maximumSize) bytes (1 MiB)")
    }
    if let bad = firstInvalidUTF8(bytes) {
      let (line, column) = position(ofByte: bad, in: bytes)
      throw fail(line, column, "not UTF-8: byte 0x\(String(bytes[bad], radix: 16, uppercase: true))")
    }
    if let alias = aliasOfAnchor(bytes) {
      let (line, column) = position(ofByte: alias.offset, in: bytes)
      throw fail(line, column, "aliases (*\(alias.name)) and anchors are not supported in a configuration: write the value out")
    }
    let job = ParseJob(bytes: bytes, file: file)
    let thread = Thread { job.run() }
    thread.stackSize = 64 << 20
    thread.start()
    job.done.wait()
    switch job.result {
    case .success(let node): return node
    case .failure(let error): throw error
    case nil: throw fail(1, 1, "internal error: the YAML parser did not finish")
    }
  }

  // MARK: - Checks before libyaml

  /// The offset of the first byte that does not belong to a well-formed UTF-8 sequence.
  static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
    var i = 0
    let n = b.count
    while i < n {
      let c = b[i]
      if c < 0x80 {
        i += 1
        continue
      }
      let length: Int
      let minimum: UInt32
      var scalar: UInt32
      switch c {
      case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(c & 0x1F)
      case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(c & 0x0F)
      case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(c & 0x07)
      default: return i
      }
      guard i + length <= n else { return i }
      for k in 1..<length {
        let d = b[i + k]
        guard d & 0xC0 == 0x80 else { return i }
        scalar = scalar << 6 | UInt32(d & 0x3F)
      }
      if scalar < minimum || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar < 0xE000) { return i }
      i += length
    }
    return nil
  }

  /// Line and column (from 1; the column in characters, after a byte-order mark) of a byte.
  static func position(ofByte offset: Int, in b: [UInt8]) -> (line: Int, column: Int) {
    var line = 1, start = 0
    for i in 0..<min(offset, b.count) where b[i] == 0x0A {
      line += 1
      start = i + 1
    }
    if line == 1, b.starts(with: [0xEF, 0xBB, 0xBF]) { start = min(3, offset) }
    var column = 1
    for i in start..<min(offset, b.count) where b[i] & 0xC0 != 0x80 { column += 1 }
    return (line, column)
  }

  /// A `*name` whose name also appears as `&name`, each where a YAML token may start (after a
  /// blank, a line start or a flow indicator). Names are libyaml's: letters, digits, '_', '-'.
  /// Quoted text and comments are not told apart: a false alarm needs both " &x" and " *x" in
  /// the text, and is reported as what it would be in a plain scalar.
  static func aliasOfAnchor(_ b: [UInt8]) -> (name: String, offset: Int)? {
    var anchors: Set<[UInt8]> = []
    var aliases: [(name: [UInt8], offset: Int)] = []
    func isName(_ c: UInt8) -> Bool {
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }
    var i = 0
    while i < b.count {
      let c = b[i]
      if c == UInt8(ascii: "&") || c == UInt8(ascii: "*") {
        let before: UInt8 = i == 0 ? 0x20 : b[i - 1]
        let boundary = i == 0 || i == 3 && b.starts(with: [0xEF, 0xBB, 0xBF])
          || [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":")].contains(before)
        var j = i + 1
        while j < b.count, isName(b[j]) { j += 1 }
        if boundary && j > i + 1 {
          let name = Array(b[(i + 1)..<j])
          if c == UInt8(ascii: "&") { anchors.insert(name) } else { aliases.append((name, i)) }
        }
        i = j
        continue
      }
      i += 1
    }
    for a in aliases where anchors.contains(a.name) { return (String(decoding: a.name, as: UTF8.self), a.offset) }
    return nil
  }

  /// The line and column of the key that repeats one at `first`: the next place after it where
  /// the key is written (plain or quoted) followed by ':', preferring the same column (a block
  /// mapping's keys share one).
  static func repeatedKey(_ key: String, after first: Mark, in text: String) -> (line: Int, column: Int)? {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let forms = [key, "\"" + key + "\"", "'" + key + "'"].map { Array($0.unicodeScalars) }
    var fallback: (Int, Int)?
    var lineNumber = first.line
    while lineNumber <= lines.count {
      var scalars = Array(lines[lineNumber - 1].unicodeScalars)
      if scalars.last == "\r" { scalars.removeLast() }
      let startColumn = lineNumber == first.line ? first.column + 1 : 1
      var column = max(startColumn, 1)
      while column <= scalars.count {
        let i = column - 1
        let before: Unicode.Scalar = i == 0 ? " " : scalars[i - 1]
        if [" ", "\t", "{", ",", "?", "\u{FEFF}"].contains(before) {
          for form in forms where i + form.count <= scalars.count && Array(scalars[i..<(i + form.count)]) == form {
            var j = i + form.count
            while j < scalars.count, scalars[j] == " " || scalars[j] == "\t" { j += 1 }
            if j < scalars.count, scalars[j] == ":" {
              if column == first.column { return (lineNumber, column) }
              if fallback == nil { fallback = (lineNumber, column) }
            }
          }
        }
        column += 1
      }
      lineNumber += 1
    }
    return fallback
  }
}

/// The parse, on a thread with a stack deep enough for Yams' recursive composer.
final class ParseJob: @unchecked Sendable {
  let bytes: [UInt8]
  let file: String
  let done = DispatchSemaphore(value: 0)
  var result: Result<ConfigJSON.Node, YAMLConfigError>?

  init(bytes: [UInt8], file: String) {
    self.bytes = bytes
    self.file = file
  }

  func run() {
    defer { done.signal() }
    do {
      result = .success(try parse())
    } catch let e as YAMLConfigError {
      result = .failure(e)
    } catch {
      result = .failure(YAMLConfigError(file: file, line: 1, column: 1, message: "\(error)"))
    }
  }

  func fail(_ line: Int, _ column: Int, _ message: String) -> YAMLConfigError {
    YAMLConfigError(file: file, line: line, column: column, message: message)
  }

  func fail(_ mark: Mark?, _ message: String) -> YAMLConfigError {
    fail(mark?.line ?? 1, mark?.column ?? 1, message)
  }

  func parse() throws -> ConfigJSON.Node {
    // libyaml, told the encoding, would read a byte-order mark as content.
    let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes[3...] : bytes[...]
    let text = String(decoding: body, as: UTF8.self)
    let root: Node?
    // The parser owns the anchors its nodes point to weakly: it lives until the conversion ends.
    var parser: Parser?
    do {
      parser = try Parser(yaml: text, resolver: .basic, constructor: .default, encoding: .utf8)
      root = try parser?.singleRoot()
    } catch let e as YamlError {
      throw translate(e, text: text)
    }
    guard let root else { throw fail(1, 1, "empty configuration") }
    if case .scalar(let s) = root, s.style == .plain || s.style == .any, s.string.isEmpty, s.tag.rawValue == Tag.Name.implicit.rawValue {
      throw fail(s.mark, "empty configuration")
    }
    let node = try convert(root, depth: 0)
    withExtendedLifetime(parser) {}
    return node
  }

  func translate(_ e: YamlError, text: String) -> YAMLConfigError {
    func withContext(_ context: YamlError.Context?, _ problem: String) -> String {
      guard let context, !context.text.isEmpty else { return problem }
      return "\(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
    }
    switch e {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
      if problem.contains("Maximum nesting level") {
        return fail(mark, "nested deeper than \(ConfigJSON.maximumDepth) levels")
      }
      return fail(mark, withContext(context, problem))
    case .composer(let context, let problem, let mark, _):
      if problem.contains("found another document") {
        return fail(mark, "a second YAML document starts here: a configuration is a single document")
      }
      return fail(mark, withContext(context, problem))
    case .reader(let problem, let offset, let value, _):
      var line = 1, column = 1
      if let offset, offset <= text.count {
        let index = text.index(text.startIndex, offsetBy: offset)
        let byte = text.utf8.distance(from: text.utf8.startIndex, to: index)
        (line, column) = YAMLConfig.position(ofByte: byte, in: bytes)
      }
      let what = value >= 0 ? " (U+\(String(UInt32(value), radix: 16, uppercase: true)))" : ""
      return fail(line, column, problem + what)
    case .duplicatedKeysInMapping(let duplicates, let context):
      let key = duplicates.first ?? ""
      var message = "the key \"\(key)\" is given twice in one mapping: first at line \(context.mark.line)"
      if let again = YAMLConfig.repeatedKey(key, after: context.mark, in: text) {
        message += ", again at line \(again.line)"
        return fail(again.line, again.column, message)
      }
      return fail(context.mark, message)
    case .memory:
      return fail(1, 1, "out of memory while parsing YAML")
    default:
      return fail(1, 1, "\(e)")
    }
  }

  /// The YAML 1.2 core schema's reading of a plain scalar.
  func resolve(_ s: String, mark: Mark?) throws -> ConfigJSON {
    switch s {
    case "", "~", "null", "Null", "NULL": return .null
    case "true", "True", "TRUE": return .bool(true)
    case "false", "False", "FALSE": return .bool(false)
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
      throw fail(mark, "\(s) is not a finite number: a configuration's numbers must be finite")
    default: break
    }
    let u = Array(s.utf8)
    func allDigits(_ slice: ArraySlice<UInt8>, _ ok: (UInt8) -> Bool) -> Bool { !slice.isEmpty && slice.allSatisfy(ok) }
    let isDigit: (UInt8) -> Bool = { $0 >= 0x30 && $0 <= 0x39 }
    if u.count > 2, u[0] == UInt8(ascii: "0"), u[1] == UInt8(ascii: "x") || u[1] == UInt8(ascii: "o") {
      let hex = u[1] == UInt8(ascii: "x")
      let digits = u[2...]
      let ok = hex
        ? allDigits(digits) { isDigit($0) || ($0 >= 0x41 && $0 <= 0x46) || ($0 >= 0x61 && $0 <= 0x66) }
        : allDigits(digits) { $0 >= 0x30 && $0 <= 0x37 }
      if ok {
        guard let v = UInt64(String(decoding: digits, as: UTF8.self), radix: hex ? 16 : 8) else {
          throw fail(mark, "the integer \(s) is too large")
        }
        return .number(Double(v), integer: v <= UInt64(Int64.max) ? Int64(v) : nil)
      }
      return .string(s)
    }
    // [-+]?[0-9]+
    let body = u.first == UInt8(ascii: "-") || u.first == UInt8(ascii: "+") ? u[1...] : u[...]
    if allDigits(body, isDigit) {
      guard let d = Double(s), d.isFinite else { throw fail(mark, "the number \(s) is too large") }
      return .number(d, integer: Int64(s))
    }
    // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    var i = body.startIndex
    var mantissa = 0
    while i < body.endIndex, isDigit(body[i]) { i += 1; mantissa += 1 }
    var fraction = 0
    var dot = false
    if i < body.endIndex, body[i] == UInt8(ascii: ".") {
      dot = true
      i += 1
      while i < body.endIndex, isDigit(body[i]) { i += 1; fraction += 1 }
    }
    guard mantissa > 0 || (dot && fraction > 0) else { return .string(s) }
    if i < body.endIndex, body[i] == UInt8(ascii: "e") || body[i] == UInt8(ascii: "E") {
      i += 1
      if i < body.endIndex, body[i] == UInt8(ascii: "-") || body[i] == UInt8(ascii: "+") { i += 1 }
      var exponent = 0
      while i < body.endIndex, isDigit(body[i]) { i += 1; exponent += 1 }
      guard exponent > 0 else { return .string(s) }
    }
    guard i == body.endIndex else { return .string(s) }
    // Swift's Double(String) wants a digit before the point.
    var text = s
    if mantissa == 0 { text = String(decoding: u[..<body.startIndex], as: UTF8.self) + "0" + String(decoding: body, as: UTF8.self) }
    guard let d = Double(text), d.isFinite else { throw fail(mark, "the number \(s) is too large for a double") }
    var integer: Int64?
    if d.rounded() == d, abs(d) < 9.0e18 { integer = Int64(d) }
    return .number(d, integer: integer)
  }

  /// Yams' tree into ConfigJSON; recursion stops at `ConfigJSON.maximumDepth`.
  func convert(_ node: Node, depth: Int, isKey: Bool = false) throws -> ConfigJSON.Node {
    let mark: Mark?
    switch node {
    case .scalar(let s): mark = s.mark
    case .mapping(let m): mark = m.mark
    case .sequence(let q): mark = q.mark
    case .alias: throw fail(1, 1, "aliases are not supported in a configuration")
    }
    func made(_ v: ConfigJSON) -> ConfigJSON.Node { ConfigJSON.Node(v, line: mark?.line ?? 1, column: mark?.column ?? 1) }
    guard depth < ConfigJSON.maximumDepth else { throw fail(mark, "nested deeper than \(ConfigJSON.maximumDepth) levels") }
    if isKey, node.scalar == nil {
      throw fail(mark, "a key must be a string, found a \(node.mapping != nil ? "mapping" : "sequence")")
    }
    if let anchor = node.anchor {
      throw fail(mark, "anchors (&\(anchor.rawValue)) and aliases are not supported in a configuration: write the value out")
    }
    switch node {
    case .scalar(let s):
      let tag = s.tag.rawValue
      switch s.style {
      case .plain, .any:
        // Yams resolves a key's tag (with the basic resolver: str) when it checks for duplicates.
        if tag == Tag.Name.implicit.rawValue || (isKey && tag == Tag.Name.str.rawValue) {
          return made(try resolve(s.string, mark: mark))
        }
      default:
        if tag == Tag.Name.str.rawValue { return made(.string(s.string)) }
      }
      throw fail(mark, "tags (\(tag)) are not supported in a configuration")
    case .sequence(let q):
      if q.tag.rawValue != Tag.Name.implicit.rawValue { throw fail(mark, "tags (\(q.tag.rawValue)) are not supported in a configuration") }
      return made(.array(try q.map { try convert($0, depth: depth + 1) }))
    case .mapping(let m):
      if m.tag.rawValue != Tag.Name.implicit.rawValue { throw fail(mark, "tags (\(m.tag.rawValue)) are not supported in a configuration") }
      var members: [(key: String, value: ConfigJSON.Node)] = []
      var seen: [String: Int] = [:]
      for (k, v) in m {
        let key = try convert(k, depth: depth + 1, isKey: true)
        guard case .string(let name) = key.value else {
          let what: String
          switch key.value {
          case .null: what = "null"
          case .bool(let b): what = "the boolean \(b)"
          case .number: what = "the number \(k.scalar?.string ?? "")"
          case .array: what = "a sequence"
          case .object: what = "a mapping"
          case .string: what = ""
          }
          throw fail(key.line, key.column, "a key must be a string, found \(what)" + (k.scalar != nil ? ": quote it" : ""))
        }
        if let first = seen[name] {
          throw fail(key.line, key.column, "the key \"\(name)\" is given twice in one mapping: first at line \(first), again at line \(key.line)")
        }
        seen[name] = key.line
        members.append((name, try convert(v, depth: depth + 1)))
      }
      return made(.object(members))
    case .alias:
      throw fail(mark, "aliases are not supported in a configuration")
    }
  }
}
