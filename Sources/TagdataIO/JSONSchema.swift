import Foundation

/// One way an instance fails its schema: where (the key path and the line and column of the
/// value, or of the object that lacks a required key) and why.
public struct SchemaProblem: Sendable, Equatable, CustomStringConvertible {
  /// `tasks[2].label.descriptor`; "" for the document itself. A missing required key's path
  /// ends with that key.
  public var keyPath: String
  public var line: Int
  public var column: Int
  public var message: String

  public init(keyPath: String, line: Int, column: Int, message: String) {
    self.keyPath = keyPath
    self.line = line
    self.column = column
    self.message = message
  }

  public var description: String {
    "line \(line), column \(column): \(keyPath.isEmpty ? "(the document)" : keyPath): \(message)"
  }
}

/// A schema `JSONSchema` cannot use: a keyword it does not implement, a malformed keyword, a
/// `$ref` it cannot resolve. `pointer` is the JSON pointer of the place in the schema.
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
  public var pointer: String
  public var line: Int
  public var column: Int
  public var message: String
  public var description: String {
    "schema line \(line), column \(column) (\(pointer.isEmpty ? "#" : "#" + pointer)): \(message)"
  }
}

/// A JSON Schema (draft 2020-12) validator for configuration files read as `ConfigJSON` trees,
/// whose problems name the key path and the line of each bad value.
///
/// Implemented: `type` (a name or an array of names; "integer" accepts 3.0 as jsonschema does),
/// `enum`, `const`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`,
/// `maxLength` (Unicode code points), `pattern` (NSRegularExpression, searched anywhere in the
/// string like Python's `re.search`; `$` and `.` know only "\n" as a line break), `properties`,
/// `patternProperties`, `additionalProperties`, `required`, `dependentRequired`,
/// `propertyNames`, `minProperties`, `maxProperties`, `items`, `prefixItems`, `minItems`,
/// `maxItems`, `uniqueItems`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `$defs` and
/// `$ref` to a place in the same schema (`#`, `#/$defs/NAME`, any JSON pointer that leads to a
/// subschema). Boolean schemas (`true`, `false`) work anywhere a schema does.
/// Ignored annotations: `$schema`, `$id` (at the root), `title`, `description`, `default`,
/// `examples`, `$comment`, `deprecated`, `readOnly`, `writeOnly`.
/// Any other keyword (`format`, `multipleOf`, `contains`, `$dynamicRef`, `unevaluatedProperties`,
/// a misspelling...) makes `init` throw, naming it: a schema never silently checks less than
/// it says.
///
/// Equality (`enum`, `const`, `uniqueItems`) is jsonschema's: 1 equals 1.0, `true` is not 1,
/// object members compare regardless of order, strings compare code point by code point.
/// Evaluation is bounded: a schema whose `$ref`s (with `allOf`, `anyOf`, `oneOf`, `not`, `if`,
/// `then`, `else`) loop without descending into the value is refused by `init` (jsonschema
/// recurses on it until Python's stack limit), and an instance deeper than `maximumDepth`
/// evaluation steps (possible only for a tree built in memory: files stop at 64 levels) gets a
/// problem there instead of deeper recursion. A schema whose alternatives nest many levels deep
/// can still cost time exponential in that nesting, as in any validator.
public struct JSONSchema: Sendable {
  /// How deep evaluation may go (instance levels plus `$ref`/combinator steps).
  public static let maximumDepth = 256

  let nodes: [Compiled]

  /// Compiles a schema.
  /// - Throws: `SchemaError` for a keyword this validator does not implement, a keyword with a
  ///   value of the wrong kind, an invalid pattern or an unresolvable `$ref`.
  public init(_ schema: ConfigJSON.Node) throws {
    var compiler = Compiler()
    if case .object(let members) = schema.value, let id = members.first(where: { $0.key == "$id" }) {
      if case .string(let s) = id.value.value { compiler.rootID = s }
    }
    _ = try compiler.compile(schema, pointer: "", depth: 0)
    try compiler.resolveReferences()
    try compiler.refuseCycles()
    nodes = compiler.nodes
  }

  /// Reads a schema file's bytes (JSON) and compiles it.
  /// - Throws: `ConfigJSON.SyntaxError` or `SchemaError`.
  public init(json bytes: [UInt8]) throws {
    try self.init(ConfigJSON.parse(bytes))
  }

  /// Every problem of `instance`, in the order of the lines they are on; empty when it is valid.
  public func validate(_ instance: ConfigJSON.Node) -> [SchemaProblem] {
    let e = Evaluator(nodes: nodes)
    var path: [PathComponent] = []
    var problems: [Problem] = []
    e.evaluate(0, instance, &path, depth: 0, into: &problems)
    var out = problems.map { $0.rendered }
    // Stable order by place: problems of one line stay in evaluation order.
    out = out.enumerated().sorted { a, b in
      (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
    }.map(\.element)
    return out
  }

  /// Whether `instance` is valid (stops at nothing: the same work as `validate`).
  public func isValid(_ instance: ConfigJSON.Node) -> Bool { validate(instance).isEmpty }
}

// MARK: - Compiled schemas

/// A regular expression shared by the compiled schema (NSRegularExpression is immutable and
/// documented as safe to use from several threads).
final class SchemaRegex: @unchecked Sendable {
  let source: String
  let regex: NSRegularExpression
  init(_ source: String) throws {
    self.source = source
    regex = try NSRegularExpression(pattern: source, options: [.useUnixLineSeparators])
  }
  /// Searches anywhere in `s`, as Python's `re.search`.
  func search(_ s: String) -> Bool {
    let ns = s as NSString
    return regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length)) != nil
  }
}

enum TypeName: String, CaseIterable, Sendable {
  case null, boolean, object, array, number, string, integer
}

/// A number bound (`minimum`...): the value, and its exact integer when it has one.
struct Bound: Sendable {
  var value: Double
  var integer: Int64?
}

struct Compiled: Sendable {
  var pointer = ""
  var line = 1
  var column = 1
  /// A boolean schema: `true` accepts everything, `false` nothing.
  var always: Bool?
  var types: [TypeName]?
  var enumValues: [ConfigJSON]?
  var constValue: ConfigJSON?
  var minimum: Bound?
  var maximum: Bound?
  var exclusiveMinimum: Bound?
  var exclusiveMaximum: Bound?
  var minLength: Int?
  var maxLength: Int?
  var pattern: SchemaRegex?
  var properties: [(key: String, schema: Int)] = []
  var propertyIndex: [[UInt8]: Int] = [:]
  var patternProperties: [(regex: SchemaRegex, schema: Int)] = []
  var additionalProperties: Int?
  var required: [String] = []
  var dependentRequired: [(key: String, required: [String])] = []
  var propertyNames: Int?
  var minProperties: Int?
  var maxProperties: Int?
  var prefixItems: [Int] = []
  var items: Int?
  var minItems: Int?
  var maxItems: Int?
  var uniqueItems = false
  var allOf: [Int] = []
  var anyOf: [Int] = []
  var oneOf: [Int] = []
  var not: Int?
  var ifSchema: Int?
  var thenSchema: Int?
  var elseSchema: Int?
  var reference: String?
  var referenceTarget: Int?
}

struct Compiler {
  var nodes: [Compiled] = []
  var byPointer: [String: Int] = [:]
  var rootID: String?

  static let annotations: Set<String> = [
    "$schema", "$id", "title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly",
  ]

  func fail(_ node: ConfigJSON.Node, _ pointer: String, _ message: String) -> SchemaError {
    SchemaError(pointer: pointer, line: node.line, column: node.column, message: message)
  }

  static func escape(_ key: String) -> String {
    key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
  }

  mutating func compile(_ node: ConfigJSON.Node, pointer: String, depth: Int) throws -> Int {
    guard depth < JSONSchema.maximumDepth else { throw fail(node, pointer, "the schema is nested too deeply") }
    let index = nodes.count
    var c = Compiled()
    c.pointer = pointer
    c.line = node.line
    c.column = node.column
    nodes.append(c)
    byPointer[pointer] = index
    switch node.value {
    case .bool(let b):
      c.always = b
      nodes[index] = c
      return index
    case .object(let members):
      for (key, value) in members {
        let here = pointer + "/" + Self.escape(key)
        func sub(_ n: ConfigJSON.Node, _ p: String) throws -> Int { try compile(n, pointer: p, depth: depth + 1) }
        func subschemas() throws -> [Int] {
          guard case .array(let list) = value.value, !list.isEmpty else {
            throw fail(value, here, "\(key) must be a non-empty array of schemas")
          }
          return try list.enumerated().map { try sub($0.element, here + "/\($0.offset)") }
        }
        func count() throws -> Int {
          guard case .number(_, let i?) = value.value, i >= 0, i <= Int64(Int32.max) else {
            throw fail(value, here, "\(key) must be a non-negative integer")
          }
          return Int(i)
        }
        func bound() throws -> Bound {
          guard case .number(let d, let i) = value.value else { throw fail(value, here, "\(key) must be a number") }
          return Bound(value: d, integer: i)
        }
        func strings() throws -> [String] {
          guard case .array(let list) = value.value else { throw fail(value, here, "\(key) must be an array of strings") }
          return try list.map {
            guard case .string(let s) = $0.value else { throw fail($0, here, "\(key) must be an array of strings") }
            return s
          }
        }
        func regex(_ n: ConfigJSON.Node, _ p: String) throws -> SchemaRegex {
          guard case .string(let s) = n.value else { throw fail(n, p, "a pattern must be a string") }
          do { return try SchemaRegex(s) } catch { throw fail(n, p, "invalid regular expression /\(s)/") }
        }
        switch key {
        case "type":
          let names: [String]
          switch value.value {
          case .string(let s): names = [s]
          case .array: names = try strings()
          default: throw fail(value, here, "type must be a type name or an array of them")
          }
          guard !names.isEmpty else { throw fail(value, here, "type must name at least one type") }
          guard Set(names).count == names.count else { throw fail(value, here, "type names a type twice") }
          c.types = try names.map {
            guard let t = TypeName(rawValue: $0) else {
              throw fail(value, here, "unknown type \"\($0)\" (types: \(TypeName.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return t
          }
        case "enum":
          guard case .array(let list) = value.value else { throw fail(value, here, "enum must be an array") }
          c.enumValues = list.map(\.value)
        case "const": c.constValue = value.value
        case "minimum": c.minimum = try bound()
        case "maximum": c.maximum = try bound()
        case "exclusiveMinimum": c.exclusiveMinimum = try bound()
        case "exclusiveMaximum": c.exclusiveMaximum = try bound()
        case "minLength": c.minLength = try count()
        case "maxLength": c.maxLength = try count()
        case "pattern": c.pattern = try regex(value, here)
        case "properties", "patternProperties", "$defs", "dependentRequired":
          guard case .object(let entries) = value.value else { throw fail(value, here, "\(key) must be an object") }
          for (name, v) in entries {
            let p = here + "/" + Self.escape(name)
            switch key {
            case "properties":
              let s = try sub(v, p)
              c.properties.append((name, s))
              c.propertyIndex[Array(name.utf8)] = s
            case "patternProperties":
              let r = try regex(ConfigJSON.Node(.string(name), line: v.line, column: v.column), p)
              c.patternProperties.append((r, try sub(v, p)))
            case "$defs":
              _ = try sub(v, p)
            default:
              guard case .array(let list) = v.value else { throw fail(v, p, "dependentRequired values must be arrays of strings") }
              let keys = try list.map {
                guard case .string(let s) = $0.value else { throw fail($0, p, "dependentRequired values must be arrays of strings") }
                return s
              }
              guard Set(keys.map { Array($0.utf8) }).count == keys.count else { throw fail(v, p, "dependentRequired names a key twice") }
              c.dependentRequired.append((name, keys))
            }
          }
        case "additionalProperties": c.additionalProperties = try sub(value, here)
        case "required":
          c.required = try strings()
          guard Set(c.required.map { Array($0.utf8) }).count == c.required.count else { throw fail(value, here, "required names a key twice") }
        case "propertyNames": c.propertyNames = try sub(value, here)
        case "minProperties": c.minProperties = try count()
        case "maxProperties": c.maxProperties = try count()
        case "items": c.items = try sub(value, here)
        case "prefixItems": c.prefixItems = try subschemas()
        case "minItems": c.minItems = try count()
        case "maxItems": c.maxItems = try count()
        case "uniqueItems":
          guard case .bool(let b) = value.value else { throw fail(value, here, "uniqueItems must be true or false") }
          c.uniqueItems = b
        case "allOf": c.allOf = try subschemas()
        case "anyOf": c.anyOf = try subschemas()
        case "oneOf": c.oneOf = try subschemas()
        case "not": c.not = try sub(value, here)
        case "if": c.ifSchema = try sub(value, here)
        case "then": c.thenSchema = try sub(value, here)
        case "else": c.elseSchema = try sub(value, here)
        case "$ref":
          guard case .string(let s) = value.value else { throw fail(value, here, "$ref must be a string") }
          c.reference = s
        case "$id" where !pointer.isEmpty:
          throw fail(value, here, "$id is supported only at the root of the schema")
        default:
          if Self.annotations.contains(key) { continue }
          throw fail(value, here, "the keyword \"\(key)\" is not supported by tagdata's schema validator")
        }
      }
      nodes[index] = c
      return index
    default:
      throw fail(node, pointer, "a schema must be an object or a boolean")
    }
  }

  /// Points every `$ref` at its compiled subschema.
  mutating func resolveReferences() throws {
    for i in nodes.indices {
      guard let ref = nodes[i].reference else { continue }
      var fragment: Substring
      if let hash = ref.firstIndex(of: "#") {
        let base = ref[..<hash]
        guard base.isEmpty || base == rootID.map({ Substring($0) }) else {
          throw SchemaError(pointer: nodes[i].pointer + "/$ref", line: nodes[i].line, column: nodes[i].column,
                            message: "$ref \"\(ref)\" leaves the schema: only references within it (#/$defs/NAME) are supported")
        }
        fragment = ref[ref.index(after: hash)...]
      } else {
        guard ref == rootID else {
          throw SchemaError(pointer: nodes[i].pointer + "/$ref", line: nodes[i].line, column: nodes[i].column,
                            message: "$ref \"\(ref)\" leaves the schema: only references within it (#/$defs/NAME) are supported")
        }
        fragment = ""
      }
      let decoded = String(fragment).removingPercentEncoding ?? String(fragment)
      guard let target = byPointer[decoded] else {
        throw SchemaError(pointer: nodes[i].pointer + "/$ref", line: nodes[i].line, column: nodes[i].column,
                          message: "$ref \"\(ref)\" does not lead to a schema in this file")
      }
      nodes[i].referenceTarget = target
    }
  }
}

extension Compiler {
  /// Subschemas applied to the same value as `c` (not to a member or an item of it).
  static func inPlace(_ c: Compiled) -> [Int] {
    var out = c.allOf + c.anyOf + c.oneOf
    for s in [c.referenceTarget, c.not, c.ifSchema, c.thenSchema, c.elseSchema] { if let s { out.append(s) } }
    return out
  }

  /// Refuses a loop of `$ref`s (and combinators) that never descends into the value: jsonschema
  /// recurses on it until Python gives up; here it would be reported on every value.
  func refuseCycles() throws {
    // Iterative depth-first search: 0 unvisited, 1 on the stack, 2 done.
    var state = [UInt8](repeating: 0, count: nodes.count)
    for start in nodes.indices where state[start] == 0 {
      var stack: [(node: Int, next: Int)] = [(start, 0)]
      state[start] = 1
      while let top = stack.last {
        let edges = Self.inPlace(nodes[top.node])
        if top.next == edges.count {
          state[top.node] = 2
          stack.removeLast()
          continue
        }
        stack[stack.count - 1].next += 1
        let to = edges[top.next]
        if state[to] == 1 {
          let loop = stack.drop(while: { $0.node != to }).map { "#" + nodes[$0.node].pointer } + ["#" + nodes[to].pointer]
          let first = nodes[to]
          throw SchemaError(pointer: first.pointer, line: first.line, column: first.column,
                            message: "the schema loops without descending into the value: " + loop.joined(separator: " -> "))
        }
        if state[to] == 0 {
          state[to] = 1
          stack.append((to, 0))
        }
      }
    }
  }
}

// MARK: - Evaluation

enum PathComponent: Sendable {
  case key(String)
  case index(Int)
}

/// What a problem says about a branch of `oneOf`/`anyOf`: a wrong type, constant or enum value,
/// or a missing required key tells that the instance was meant for another branch.
enum ProblemKind: Sendable {
  case type, constant, enumeration, required, unknownKey, other
}

struct Problem: Sendable {
  var path: [PathComponent]
  var line: Int
  var column: Int
  var message: String
  var kind: ProblemKind

  static func render(_ path: [PathComponent]) -> String {
    var s = ""
    for c in path {
      switch c {
      case .index(let i): s += "[\(i)]"
      case .key(let k):
        let plain = !k.isEmpty && k.utf8.allSatisfy { b in
          (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x24
        }
        if plain {
          if !s.isEmpty { s += "." }
          s += k
        } else {
          s += "[" + JSONText.quote(k) + "]"
        }
      }
    }
    return s
  }

  var rendered: SchemaProblem { SchemaProblem(keyPath: Self.render(path), line: line, column: column, message: message) }
}

/// Short JSON renderings of values for messages.
enum JSONText {
  static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 || u.value == 0x7F {
          out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }

  static func number(_ d: Double, _ i: Int64? = nil) -> String {
    if let i { return String(i) }
    if d.isFinite, d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
    return "\(d)"
  }

  /// A value in JSON syntax, cut to about `limit` characters.
  static func render(_ v: ConfigJSON, limit: Int = 60) -> String {
    let s: String
    switch v {
    case .null: s = "null"
    case .bool(let b): s = b ? "true" : "false"
    case .number(let d, let i): s = number(d, i)
    case .string(let str): s = quote(str)
    case .array(let items): s = items.isEmpty ? "[]" : "[...] (\(items.count) items)"
    case .object(let members): s = members.isEmpty ? "{}" : "{...} (\(members.count) keys)"
    }
    return s.count > limit ? String(s.prefix(limit)) + "..." : s
  }

  /// "the string "x"", "the number 3", "an object"...
  static func describe(_ v: ConfigJSON) -> String {
    switch v {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .number: return "the number \(render(v))"
    case .string: return "the string \(render(v))"
    case .array(let items): return items.isEmpty ? "an empty array" : "an array"
    case .object(let members): return members.isEmpty ? "an empty object" : "an object"
    }
  }
}

/// jsonschema's equality and a canonical key for it (for `uniqueItems` in linear time).
enum SchemaEquality {
  static func equal(_ a: ConfigJSON, _ b: ConfigJSON, depth: Int = 0) -> Bool {
    if depth > JSONSchema.maximumDepth { return false }
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.number(x, xi), .number(y, yi)):
      if let xi, let yi { return xi == yi }
      return x == y
    case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
    case let (.array(x), .array(y)):
      return x.count == y.count && zip(x, y).allSatisfy { equal($0.value, $1.value, depth: depth + 1) }
    case let (.object(x), .object(y)):
      guard x.count == y.count else { return false }
      var index: [[UInt8]: ConfigJSON] = [:]
      for m in y { index[Array(m.key.utf8)] = m.value.value }
      for m in x {
        guard let other = index[Array(m.key.utf8)], equal(m.value.value, other, depth: depth + 1) else { return false }
      }
      return true
    default: return false
    }
  }

  /// Equal values (in the sense of `equal`) have equal keys.
  static func key(_ v: ConfigJSON, into out: inout [UInt8], depth: Int = 0) {
    if depth > JSONSchema.maximumDepth {
      out.append(0x3F)
      return
    }
    switch v {
    case .null: out.append(UInt8(ascii: "n"))
    case .bool(let b): out.append(b ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    case .number(let d, let i):
      out.append(UInt8(ascii: "#"))
      if let i {
        out.append(contentsOf: Array(String(i).utf8))
      } else if d == 0 {
        out.append(UInt8(ascii: "0"))
      } else {
        out.append(contentsOf: Array("\(d)".utf8))
      }
      out.append(0)
    case .string(let s):
      out.append(UInt8(ascii: "s"))
      for b in s.utf8 {
        if b == 0 || b == 1 { out.append(1) }
        out.append(b)
      }
      out.append(0)
    case .array(let items):
      out.append(UInt8(ascii: "["))
      for item in items { key(item.value, into: &out, depth: depth + 1) }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      for m in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
        key(.string(m.key), into: &out, depth: depth + 1)
        key(m.value.value, into: &out, depth: depth + 1)
      }
      out.append(UInt8(ascii: "}"))
    }
  }
}

struct Evaluator {
  let nodes: [Compiled]

  static func typeName(_ v: ConfigJSON) -> String {
    switch v {
    case .null: return "null"
    case .bool: return "boolean"
    case .number(let d, _): return d.isFinite && d.rounded(.towardZero) == d ? "integer" : "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }

  static func matches(_ t: TypeName, _ v: ConfigJSON) -> Bool {
    switch (t, v) {
    case (.null, .null), (.boolean, .bool), (.number, .number), (.string, .string), (.array, .array), (.object, .object):
      return true
    case (.integer, .number(let d, let i)): return i != nil || (d.isFinite && d.rounded(.towardZero) == d)
    default: return false
    }
  }

  static func article(_ t: TypeName) -> String {
    switch t {
    case .null: return "null"
    case .boolean: return "true or false"
    case .object: return "an object"
    case .array: return "an array"
    case .number: return "a number"
    case .string: return "a string"
    case .integer: return "an integer"
    }
  }

  /// Compares a number with a bound: -1, 0 or 1.
  static func compare(_ d: Double, _ i: Int64?, _ b: Bound) -> Int {
    if let i, let bi = b.integer { return i < bi ? -1 : (i == bi ? 0 : 1) }
    if let i, b.value.isFinite, b.value.rounded() == b.value, abs(b.value) < 9.0e18 {
      let bi = Int64(b.value)
      return i < bi ? -1 : (i == bi ? 0 : 1)
    }
    return d < b.value ? -1 : (d == b.value ? 0 : 1)
  }

  func evaluate(_ s: Int, _ node: ConfigJSON.Node, _ path: inout [PathComponent], depth: Int, into problems: inout [Problem]) {
    func report(_ message: String, _ kind: ProblemKind = .other) {
      problems.append(Problem(path: path, line: node.line, column: node.column, message: message, kind: kind))
    }
    guard depth < JSONSchema.maximumDepth else {
      report("evaluation deeper than \(JSONSchema.maximumDepth) steps (the value is nested too deeply, or the schema's $ref loops)")
      return
    }
    let c = nodes[s]
    if let always = c.always {
      if !always { report(path.isEmpty ? "no value is allowed here" : "this value is not allowed here") }
      return
    }
    let v = node.value
    if let target = c.referenceTarget {
      evaluate(target, node, &path, depth: depth + 1, into: &problems)
    }
    if let types = c.types, !types.contains(where: { Self.matches($0, v) }) {
      let expected = types.map(Self.article)
      let list = expected.count == 1 ? expected[0] : expected.dropLast().joined(separator: ", ") + " or " + expected.last!
      report("expected \(list), found \(JSONText.describe(v))", .type)
      // The other keywords of this schema would only repeat the point.
      return
    }
    if let constant = c.constValue, !SchemaEquality.equal(v, constant) {
      report("expected \(JSONText.render(constant)), found \(JSONText.render(v))", .constant)
    }
    if let values = c.enumValues, !values.contains(where: { SchemaEquality.equal(v, $0) }) {
      let list = values.prefix(20).map { JSONText.render($0) }.joined(separator: ", ") + (values.count > 20 ? ", ..." : "")
      report("expected one of \(list); found \(JSONText.render(v))", .enumeration)
    }
    switch v {
    case .number(let d, let i):
      if let b = c.minimum, Self.compare(d, i, b) < 0 { report("must be at least \(JSONText.number(b.value, b.integer)), found \(JSONText.render(v))") }
      if let b = c.maximum, Self.compare(d, i, b) > 0 { report("must be at most \(JSONText.number(b.value, b.integer)), found \(JSONText.render(v))") }
      if let b = c.exclusiveMinimum, Self.compare(d, i, b) <= 0 {
        report("must be greater than \(JSONText.number(b.value, b.integer)), found \(JSONText.render(v))")
      }
      if let b = c.exclusiveMaximum, Self.compare(d, i, b) >= 0 {
        report("must be less than \(JSONText.number(b.value, b.integer)), found \(JSONText.render(v))")
      }
    case .string(let str):
      if c.minLength != nil || c.maxLength != nil {
        let n = str.unicodeScalars.count
        if let m = c.minLength, n < m { report(m == 1 ? "must not be empty" : "must be at least \(m) characters long, found \(n) (\(JSONText.render(v)))") }
        if let m = c.maxLength, n > m { report("must be at most \(m) characters long, found \(n) (\(JSONText.render(v)))") }
      }
      if let p = c.pattern, !p.search(str) { report("\(JSONText.render(v)) does not match the pattern \(p.source)") }
    case .array(let items):
      if let m = c.minItems, items.count < m { report("must have at least \(m) item\(m == 1 ? "" : "s"), found \(items.count)") }
      if let m = c.maxItems, items.count > m { report("must have at most \(m) item\(m == 1 ? "" : "s"), found \(items.count)") }
      for (i, item) in items.enumerated() {
        let schema = i < c.prefixItems.count ? c.prefixItems[i] : c.items
        guard let schema else { continue }
        path.append(.index(i))
        evaluate(schema, item, &path, depth: depth + 1, into: &problems)
        path.removeLast()
      }
      if c.uniqueItems {
        var seen: [[UInt8]: Int] = [:]
        for (i, item) in items.enumerated() {
          var k: [UInt8] = []
          SchemaEquality.key(item.value, into: &k)
          if let first = seen[k] {
            path.append(.index(i))
            problems.append(Problem(path: path, line: item.line, column: item.column,
                                    message: "repeats item \(first) (\(JSONText.render(item.value))): items must be unique", kind: .other))
            path.removeLast()
          } else {
            seen[k] = i
          }
        }
      }
    case .object(let members):
      if let m = c.minProperties, members.count < m { report("must have at least \(m) key\(m == 1 ? "" : "s"), found \(members.count)") }
      if let m = c.maxProperties, members.count > m { report("must have at most \(m) key\(m == 1 ? "" : "s"), found \(members.count)") }
      var present: Set<[UInt8]> = []
      for m in members { present.insert(Array(m.key.utf8)) }
      for (key, value) in members {
        path.append(.key(key))
        if let names = c.propertyNames {
          var sub: [Problem] = []
          evaluate(names, ConfigJSON.Node(.string(key), line: value.line, column: value.column), &path, depth: depth + 1, into: &sub)
          for var p in sub {
            p.message = "the key \(JSONText.quote(key)): " + p.message
            problems.append(p)
          }
        }
        var matched = false
        if let schema = c.propertyIndex[Array(key.utf8)] {
          matched = true
          evaluate(schema, value, &path, depth: depth + 1, into: &problems)
        }
        for (regex, schema) in c.patternProperties where regex.search(key) {
          matched = true
          evaluate(schema, value, &path, depth: depth + 1, into: &problems)
        }
        if !matched, let extra = c.additionalProperties {
          if nodes[extra].always == false {
            var known = c.properties.map(\.key).joined(separator: ", ")
            if !c.patternProperties.isEmpty {
              known += (known.isEmpty ? "" : "; ") + "keys matching " + c.patternProperties.map(\.regex.source).joined(separator: " or ")
            }
            problems.append(Problem(path: path, line: value.line, column: value.column,
                                    message: "unknown key \(JSONText.quote(key))" + (known.isEmpty ? " (no keys are allowed here)" : "; known keys: \(known)"),
                                    kind: .unknownKey))
          } else {
            evaluate(extra, value, &path, depth: depth + 1, into: &problems)
          }
        }
        path.removeLast()
      }
      for key in c.required where !present.contains(Array(key.utf8)) {
        path.append(.key(key))
        problems.append(Problem(path: path, line: node.line, column: node.column, message: "missing required key \(JSONText.quote(key))", kind: .required))
        path.removeLast()
      }
      for (key, needed) in c.dependentRequired where present.contains(Array(key.utf8)) {
        for n in needed where !present.contains(Array(n.utf8)) {
          path.append(.key(n))
          problems.append(Problem(path: path, line: node.line, column: node.column,
                                  message: "missing key \(JSONText.quote(n)), required when \(JSONText.quote(key)) is given", kind: .required))
          path.removeLast()
        }
      }
    default:
      break
    }
    for a in c.allOf { evaluate(a, node, &path, depth: depth + 1, into: &problems) }
    if !c.anyOf.isEmpty {
      var branches: [[Problem]] = []
      for a in c.anyOf {
        var sub: [Problem] = []
        evaluate(a, node, &path, depth: depth + 1, into: &sub)
        if sub.isEmpty {
          branches = []
          break
        }
        branches.append(sub)
      }
      if !branches.isEmpty { explain(branches, keyword: "anyOf", node: node, path: path, into: &problems) }
    }
    if !c.oneOf.isEmpty {
      var branches: [[Problem]] = []
      var valid: [Int] = []
      for (i, a) in c.oneOf.enumerated() {
        var sub: [Problem] = []
        evaluate(a, node, &path, depth: depth + 1, into: &sub)
        if sub.isEmpty { valid.append(i) }
        branches.append(sub)
      }
      if valid.isEmpty {
        explain(branches, keyword: "oneOf", node: node, path: path, into: &problems)
      } else if valid.count > 1 {
        report("matches alternatives \(valid.map { String($0 + 1) }.joined(separator: " and ")) of \(c.oneOf.count) (oneOf): exactly one must match"
          + Self.requiredHint(c.oneOf.map { nodes[$0] }, valid))
      }
    }
    if let n = c.not {
      var sub: [Problem] = []
      evaluate(n, node, &path, depth: depth + 1, into: &sub)
      if sub.isEmpty { report("must not match the schema at #\(nodes[n].pointer) (not)") }
    }
    if let i = c.ifSchema {
      var sub: [Problem] = []
      evaluate(i, node, &path, depth: depth + 1, into: &sub)
      if sub.isEmpty {
        if let t = c.thenSchema { evaluate(t, node, &path, depth: depth + 1, into: &problems) }
      } else if let e = c.elseSchema {
        evaluate(e, node, &path, depth: depth + 1, into: &problems)
      }
    }
  }

  /// For alternatives told apart by required keys: which keys made more than one match.
  static func requiredHint(_ branches: [Compiled], _ valid: [Int]) -> String {
    let keys = valid.flatMap { branches[$0].required }
    guard !keys.isEmpty, valid.allSatisfy({ !branches[$0].required.isEmpty }) else { return "" }
    return " (give only one of \(keys.map { JSONText.quote($0) }.joined(separator: ", ")))"
  }

  /// Explains why no alternative of `anyOf`/`oneOf` matched. When exactly one alternative fails
  /// on nothing that tells alternatives apart (a wrong type, constant or enum value, a missing
  /// required key at this level), or fails least, its own problems are reported: they are the
  /// ones the author needs. Otherwise one problem lists each alternative's first failure.
  func explain(_ branches: [[Problem]], keyword: String, node: ConfigJSON.Node, path: [PathComponent], into problems: inout [Problem]) {
    let depth = path.count
    func discriminating(_ p: Problem) -> Bool {
      if p.path.count == depth { return p.kind == .type || p.kind == .constant || p.kind == .enumeration }
      if p.path.count == depth + 1 { return p.kind == .required || p.kind == .constant || p.kind == .enumeration }
      return false
    }
    let viable = branches.indices.filter { !branches[$0].contains(where: discriminating) }
    var chosen: Int?
    if viable.count == 1 {
      chosen = viable[0]
    } else if viable.count > 1 {
      let fewest = viable.map { branches[$0].count }.min()!
      let best = viable.filter { branches[$0].count == fewest }
      if best.count == 1 { chosen = best[0] }
    }
    if let chosen {
      for var p in branches[chosen] {
        p.message += " (alternative \(chosen + 1) of \(branches.count), \(keyword))"
        problems.append(p)
      }
      return
    }
    let reasons = branches.enumerated().map { i, b -> String in
      let first = b[0]
      let rel = first.path.count > depth ? Problem.render(Array(first.path[depth...])) : ""
      let relative = rel.hasPrefix("[") || rel.isEmpty ? rel : "." + rel
      return "\(i + 1): " + (relative.isEmpty ? "" : "\(relative): ") + first.message + (b.count > 1 ? " (and \(b.count - 1) more)" : "")
    }
    problems.append(Problem(path: path, line: node.line, column: node.column,
                            message: "matches none of the \(branches.count) alternatives (\(keyword)): " + reasons.joined(separator: "; "),
                            kind: .other))
  }
}
