import Foundation
import TestSupport
import Testing
@testable import TagdataIO

func schema(_ text: String) throws -> JSONSchema { try JSONSchema(json: Array(text.utf8)) }
func instance(_ text: String) throws -> ConfigJSON.Node { try ConfigJSON.parse(Array(text.utf8)) }
func problems(_ s: JSONSchema, _ text: String) throws -> [SchemaProblem] { s.validate(try instance(text)) }

@Suite struct JSONSchemaTests {
  static func shipped(_ name: String) throws -> JSONSchema {
    try JSONSchema(json: Array(try Data(contentsOf: TestSupport.root.appendingPathComponent("Schemas/\(name)"))))
  }

  @Test func refusesKeywordsItDoesNotImplementNamingThem() throws {
    for keyword in ["format", "multipleOf", "contains", "unevaluatedProperties", "$dynamicRef", "requried", "definitions"] {
      let text = #"{"type": "object", "properties": {"a": {"type": "string", "\#(keyword)": 2}}}"#
      do {
        _ = try schema(text)
        Issue.record("accepted a schema using \(keyword)")
      } catch let e as SchemaError {
        #expect(e.message.contains("\"\(keyword)\""), "\(e)")
        #expect(e.pointer == "/properties/a/\(keyword)")
        #expect(e.line == 1)
      }
    }
    // Annotations are fine, and keys under properties, $defs, enum or const are not keywords.
    _ = try schema(#"""
      {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "title": "t", "description": "d",
       "$comment": "c", "default": {"format": 1}, "examples": [{"multipleOf": 2}],
       "properties": {"format": {"const": {"contains": 1}}, "pattern": {"enum": [{"items": 2}]}},
       "$defs": {"format": true}}
      """#)
  }

  @Test func refusesMalformedKeywordsAndForeignReferences() throws {
    let cases: [(String, String)] = [
      (#"{"type": "integr"}"#, "unknown type \"integr\""),
      (#"{"type": []}"#, "type must name at least one type"),
      (#"{"type": ["string", "string"]}"#, "type names a type twice"),
      (#"{"required": ["a", "a"]}"#, "required names a key twice"),
      (#"{"minLength": -1}"#, "minLength must be a non-negative integer"),
      (#"{"minLength": 1.5}"#, "minLength must be a non-negative integer"),
      (#"{"pattern": "(unclosed"}"#, "invalid regular expression"),
      (#"{"required": "a"}"#, "required must be an array of strings"),
      (#"{"oneOf": []}"#, "oneOf must be a non-empty array"),
      (#"{"properties": {"a": 3}}"#, "a schema must be an object or a boolean"),
      (#"{"$ref": "other.json#/$defs/a"}"#, "leaves the schema"),
      (##"{"$ref": "#/$defs/missing", "$defs": {"a": true}}"##, "does not lead to a schema"),
      (#"{"properties": {"a": {"$id": "inner"}}}"#, "$id is supported only at the root"),
    ]
    for (text, expected) in cases {
      do {
        _ = try schema(text)
        Issue.record("accepted \(text)")
      } catch let e as SchemaError {
        #expect(e.message.contains(expected), "\(text): \(e)")
      }
    }
  }

  @Test func missingRequiredKeyNamesItsPathAndTheLineOfItsObject() throws {
    let s = try Self.shipped("train-config.schema.json")
    let text = """
      {
        "seed": 1,
        "model": {"dimension": 8, "layers": 1, "heads": 2, "feedForward": 16},
        "stages": [
          {"name": "a", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 1, "batch": 1, "length": 2, "learningRate": 0.1},
          {"name": "b", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 1, "batch": 1,
           "learningRate": 0.1}
        ]
      }
      """
    let p = try problems(s, text)
    #expect(p == [SchemaProblem(keyPath: "stages[1].length", line: 6, column: 5, message: "missing required key \"length\"")])
    #expect(p.first?.description == "line 6, column 5: stages[1].length: missing required key \"length\"")
  }

  @Test func unknownKeyIsNamedWithTheKnownOnes() throws {
    let s = try Self.shipped("train-config.schema.json")
    let text = """
      {"seed": 1, "base": "m",
       "stages": [{"name": "a", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 1, "batch": 1, "length": 2,
                   "learningRate": 0.1,
                   "learningrate": 0.2}]}
      """
    let p = try problems(s, text)
    #expect(p.count == 1)
    #expect(p.first?.keyPath == "stages[0].learningrate")
    #expect(p.first?.line == 4)
    #expect(p.first?.message.hasPrefix("unknown key \"learningrate\"; known keys: name, kind, data, steps, batch, length, learningRate,") == true,
            "\(p)")
  }

  @Test func integerAcceptsIntegralFloatsAsJsonschemaDoes() throws {
    let s = try schema(#"{"type": "integer", "minimum": 2}"#)
    #expect(try problems(s, "3.0").isEmpty)
    #expect(try problems(s, "3e2").isEmpty)
    #expect(try problems(s, "3.5").map(\.message) == ["expected an integer, found the number 3.5"])
    #expect(try problems(s, "true").map(\.message) == ["expected an integer, found true"])
    #expect(try problems(s, "1.0").map(\.message) == ["must be at least 2, found 1"])
    let n = try schema(#"{"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1}"#)
    #expect(try problems(n, "null").isEmpty)
    #expect(try problems(n, "0.5").isEmpty)
    #expect(try problems(n, "0").map(\.message) == ["must be greater than 0, found 0"])
    #expect(try problems(n, "1").map(\.message) == ["must be less than 1, found 1"])
    #expect(try problems(n, "\"x\"").map(\.message) == ["expected a number or null, found the string \"x\""])
    // Exact integer comparison beyond 2^53.
    let big = try schema(#"{"maximum": 9007199254740992}"#)
    #expect(try problems(big, "9007199254740993").count == 1)
    #expect(try problems(big, "9007199254740992").isEmpty)
  }

  @Test func lengthsCountCodePoints() throws {
    let s = try schema(#"{"type": "string", "minLength": 2, "maxLength": 2}"#)
    #expect(try problems(s, "\"😀😀\"").isEmpty)  // 2 code points, 8 bytes, 4 UTF-16 units
    #expect(try problems(s, "\"e\\u0301\"").isEmpty)  // 2 code points, 1 Character
    #expect(try problems(s, "\"é\"").map(\.message) == ["must be at least 2 characters long, found 1 (\"é\")"])
    #expect(try problems(s, "\"abc\"").count == 1)
  }

  @Test func patternsSearchLikePythonsReSearch() throws {
    let s = try schema(#"{"type": "string", "pattern": "b+"}"#)
    #expect(try problems(s, "\"abbc\"").isEmpty)
    #expect(try problems(s, "\"ac\"").map(\.message) == ["\"ac\" does not match the pattern b+"])
    let anchored = try schema(#"{"pattern": "^[a-z]+$"}"#)
    #expect(try problems(anchored, "\"abc\"").isEmpty)
    #expect(try problems(anchored, "\"abc\\n\"").isEmpty)  // Python: $ matches before a final newline
    #expect(try problems(anchored, "\"abc\\r\"").count == 1)  // ... but only before "\n"
    #expect(try problems(anchored, "\"ab c\"").count == 1)
    #expect(try problems(anchored, "3").isEmpty)  // pattern applies to strings only
  }

  @Test func equalityIsJsonschemas() throws {
    let s = try schema(#"{"uniqueItems": true}"#)
    #expect(try problems(s, "[1, 1.0]").map(\.message) == ["repeats item 0 (1): items must be unique"])
    #expect(try problems(s, "[1, true, \"1\", [1], {\"a\": 1}]").isEmpty)
    #expect(try problems(s, "[{\"a\": 1, \"b\": [true]}, {\"b\": [true], \"a\": 1.0}]").map(\.keyPath) == ["[1]"])
    #expect(try problems(s, "[\"é\", \"e\\u0301\"]").isEmpty)  // different code points
    #expect(try problems(try schema(#"{"enum": ["\u00e9"]}"#), "\"e\\u0301\"").count == 1)  // not canonical equivalence
    #expect(try problems(try schema(#"{"const": {"\u00e9": 1}}"#), "{\"e\\u0301\": 1}").count == 1)
    let e = try schema(#"{"enum": [1, "a", null, [true]]}"#)
    #expect(try problems(e, "1.0").isEmpty)
    #expect(try problems(e, "[true]").isEmpty)
    #expect(try problems(e, "true").map(\.message) == ["expected one of 1, \"a\", null, [...] (1 items); found true"])
    let c = try schema(#"{"const": {"k": [1, {"x": null}]}}"#)
    #expect(try problems(c, #"{"k": [1.0, {"x": null}]}"#).isEmpty)
    #expect(try problems(c, #"{"k": [1, {"x": false}]}"#).count == 1)
  }

  static let labels = #"""
    {"type": "object", "required": ["tasks"], "properties": {"tasks": {"type": "array", "items": {
      "type": "object", "required": ["name", "label"], "properties": {
        "name": {"type": "string"},
        "label": {"oneOf": [
          {"type": "object", "required": ["kind", "descriptor"], "additionalProperties": false,
           "properties": {"kind": {"const": "descriptor"}, "descriptor": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"}}},
          {"type": "object", "required": ["kind", "column"], "additionalProperties": false,
           "properties": {"kind": {"const": "column"}, "column": {"type": "string"}, "log": {"type": "boolean"}}}
        ]}}}}}}
    """#

  @Test func oneOfReportsTheProblemsOfTheBranchTheObjectMeant() throws {
    let s = try schema(Self.labels)
    let text = """
      {"tasks": [
        {"name": "a", "label": {"kind": "column", "column": "y"}},
        {"name": "b", "label": {"kind": "column", "column": "y", "log": "yes"}},
        {"name": "c", "label": {"kind": "descriptor",
                                "descriptor": "logP"}}
      ]}
      """
    let p = try problems(s, text)
    #expect(p.map(\.keyPath) == ["tasks[1].label.log", "tasks[2].label.descriptor"])
    #expect(p.map(\.line) == [3, 5])
    #expect(p[0].message == "expected true or false, found the string \"yes\" (alternative 2 of 2, oneOf)")
    #expect(p[1].message == "\"logP\" does not match the pattern ^[A-Z][A-Za-z]+$ (alternative 1 of 2, oneOf)")
    // No branch in sight: each one's first failure is listed.
    let none = try problems(s, #"{"tasks": [{"name": "d", "label": {"kind": "table"}}]}"#)
    #expect(none.count == 1)
    #expect(none.first?.keyPath == "tasks[0].label")
    #expect(none.first?.message.hasPrefix("matches none of the 2 alternatives (oneOf): 1: .kind: expected \"descriptor\", found \"table\"") == true,
            "\(none)")
  }

  @Test func oneOfOfRequiredKeysSaysWhichToGive() throws {
    let s = try Self.shipped("train-config.schema.json")
    let stage = #"{"name": "a", "kind": "base", "steps": 1, "batch": 1, "length": 2, "learningRate": 0.1, "data": "#
    let both = try problems(s, #"{"seed": 1, "base": "m", "stages": ["# + stage + #"{"path": "p", "builtin": "uniprot-text"}}]}"#)
    #expect(both.map(\.message) == [#"matches alternatives 1 and 2 of 2 (oneOf): exactly one must match (give only one of "path", "builtin")"#])
    #expect(both.map(\.keyPath) == ["stages[0].data"])
    let neither = try problems(s, #"{"seed": 1, "base": "m", "stages": ["# + stage + #"{}}]}"#)
    #expect(neither.map(\.message) == [#"matches none of the 2 alternatives (oneOf): 1: .path: missing required key "path"; 2: .builtin: missing required key "builtin""#])
    let root = try problems(s, #"{"seed": 1, "stages": ["# + stage + #"{"path": "p"}}]}"#)
    #expect(root.map(\.keyPath) == [""])
    #expect(root.first?.description.hasPrefix("line 1, column 1: (the document): matches none") == true)
  }

  @Test func referenceCyclesAndDeepInstancesAreBounded() throws {
    for text in [##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}"##,
                 ##"{"anyOf": [{"type": "string"}, {"allOf": [{"$ref": "#"}]}]}"##,
                 ##"{"$defs": {"a": {"not": {"$ref": "#/$defs/a"}}}}"##] {
      do {
        _ = try schema(text)
        Issue.record("accepted \(text)")
      } catch let e as SchemaError {
        #expect(e.message.hasPrefix("the schema loops without descending into the value: #"), "\(e)")
      }
    }
    // A recursive schema over a legitimately recursive value works, and a value deeper than any
    // file could hold (built in memory) is reported, not recursed into without end.
    let tree = try schema(##"{"type": "array", "items": {"$ref": "#"}}"##)
    #expect(try problems(tree, "[[[], [[]]], []]").isEmpty)
    var deep = ConfigJSON.Node(.array([]), line: 1, column: 1)
    for _ in 0..<100_000 { deep = ConfigJSON.Node(.array([deep]), line: 1, column: 1) }
    let d = tree.validate(deep)
    #expect(d.count == 1)
    #expect(d.first?.keyPath.hasPrefix("[0][0][0]") == true)
    // Releasing a 100,000-deep tree recurses in Swift's own deinit; unwind it by hand.
    while case .array(let items) = deep.value, let first = items.first { deep = first }
  }

  @Test func booleanSchemasAndCombinators() throws {
    let s = try schema(#"""
      {"properties": {"never": false, "any": true,
                      "n": {"not": {"type": "string"}},
                      "c": {"if": {"type": "string"}, "then": {"minLength": 3}, "else": {"type": "integer"}},
                      "m": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 10}]},
                      "pair": {"prefixItems": [{"type": "string"}], "items": {"type": "boolean"}, "maxItems": 3},
                      "o": {"patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": false,
                            "propertyNames": {"maxLength": 4}, "dependentRequired": {"x-a": ["x-b"]}}}}
      """#)
    #expect(try problems(s, #"{"any": [1], "n": 1, "c": "abc", "m": 11, "pair": ["a", true, false], "o": {"x-b": "1"}}"#).isEmpty)
    let p = try problems(s, #"{"never": 1, "n": "s", "c": 1.5, "m": 3, "pair": [1, "x", true, true], "o": {"y": 1, "x-a": 2, "x-bcd": "e"}}"#)
    #expect(p.map(\.keyPath) == ["never", "n", "c", "m", "pair", "pair[0]", "pair[1]", "o.x-b", "o.y", "o.x-a", "o.x-bcd"], "\(p)")
    let messages = Dictionary(p.map { ($0.keyPath, $0.message) }, uniquingKeysWith: { $1 })
    #expect(messages["never"] == "this value is not allowed here")
    #expect(messages["m"] == "must be at least 10, found 3 (alternative 2 of 2, anyOf)")
    #expect(messages["o.y"] == "unknown key \"y\"; known keys: keys matching ^x-")
    #expect(messages["o.x-bcd"] == "the key \"x-bcd\": must be at most 4 characters long, found 5 (\"x-bcd\")")
  }

  @Test func keyPathsQuoteKeysThatAreNotNames() throws {
    let s = try schema(#"{"additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}}}"#)
    let p = try problems(s, #"{"a b": {"x.y": "s"}, "ok_1": {"z": 1}}"#)
    #expect(p.map(\.keyPath) == [#"["a b"]["x.y"]"#])
  }

  @Test func shippedSchemasCompileAndAcceptTheirExamples() throws {
    let train = try Self.shipped("train-config.schema.json")
    #expect(try problems(train, JSONSchemaInteropTests.bases["train-config.schema.json"]![0]).isEmpty)
    let record = try Self.shipped("task-record.schema.json")
    for base in JSONSchemaInteropTests.bases["task-record.schema.json"]! { #expect(try problems(record, base).isEmpty) }
    // if/then: a regression record's output must be 6 characters.
    let bad = JSONSchemaInteropTests.bases["task-record.schema.json"]![0].replacingOccurrences(of: #""0.4068""#, with: #""0.4""#)
    #expect(try problems(record, bad).map(\.keyPath) == ["output"])
    for name in ["catalog-stats.schema.json", "ingest-report.schema.json", "training-data.schema.json"] {
      do { _ = try Self.shipped(name) } catch { Issue.record("\(name): \(error)") }
    }
  }
}

// MARK: - Interop with Python's jsonschema

/// A JSON value as the mutation test writes it (integers and floats apart, as in the text).
indirect enum JV: Equatable {
  case null, bool(Bool), int(Int64), float(Double), string(String), array([JV]), object([(String, JV)])

  static func == (a: JV, b: JV) -> Bool { a.text == b.text }

  init(_ v: ConfigJSON) {
    switch v {
    case .null: self = .null
    case .bool(let b): self = .bool(b)
    case .number(let d, let i): self = i.map { .int($0) } ?? .float(d)
    case .string(let s): self = .string(s)
    case .array(let items): self = .array(items.map { JV($0.value) })
    case .object(let members): self = .object(members.map { ($0.key, JV($0.value.value)) })
    }
  }

  var text: String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .float(let d): return "\(d)"
    case .string(let s): return JSONText.quote(s)
    case .array(let items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
    case .object(let members): return "{" + members.map { JSONText.quote($0.0) + ": " + $0.1.text }.joined(separator: ", ") + "}"
    }
  }

  /// Paths to every value: [] is the root; Int for an array index or member position.
  func paths(_ prefix: [Int] = [], into out: inout [[Int]]) {
    out.append(prefix)
    switch self {
    case .array(let items): for (i, v) in items.enumerated() { v.paths(prefix + [i], into: &out) }
    case .object(let members): for (i, m) in members.enumerated() { m.1.paths(prefix + [i], into: &out) }
    default: break
    }
  }

  func at(_ path: ArraySlice<Int>) -> JV {
    guard let first = path.first else { return self }
    switch self {
    case .array(let items): return items[first].at(path.dropFirst())
    case .object(let members): return members[first].1.at(path.dropFirst())
    default: return self
    }
  }

  mutating func update(_ path: ArraySlice<Int>, _ f: (inout JV) -> Void) {
    guard let first = path.first else { return f(&self) }
    switch self {
    case .array(var items):
      items[first].update(path.dropFirst(), f)
      self = .array(items)
    case .object(var members):
      members[first].1.update(path.dropFirst(), f)
      self = .object(members)
    default: break
    }
  }

  /// Strings, numbers and keys found anywhere in a schema (enum and const values, property
  /// names, bounds): mutations draw on them to hit the schema's edges.
  static func harvest(_ v: ConfigJSON, strings: inout [String], numbers: inout Set<Double>) {
    switch v {
    case .string(let s): strings.append(s)
    case .number(let d, _): numbers.insert(d)
    case .array(let items): for i in items { harvest(i.value, strings: &strings, numbers: &numbers) }
    case .object(let members):
      for m in members {
        strings.append(m.key)
        harvest(m.value.value, strings: &strings, numbers: &numbers)
      }
    default: break
    }
  }
}

@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct JSONSchemaInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/jsonschema_validate.py").path

  /// A schema of this test's own that uses every keyword the validator implements.
  static let kitchenSink = ##"""
    {
     "$schema": "https://json-schema.org/draft/2020-12/schema",
     "$id": "https://tagdata.invalid/schemas/kitchen-sink.json",
     "$defs": {
       "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "minLength": 2, "maxLength": 8},
       "label": {"oneOf": [
          {"type": "object", "required": ["kind", "descriptor"], "additionalProperties": false,
           "properties": {"kind": {"const": "descriptor"}, "descriptor": {"$ref": "#/$defs/name"},
                          "scale": {"type": "number", "exclusiveMinimum": 0}}},
          {"type": "object", "required": ["kind", "column"], "additionalProperties": false,
           "properties": {"kind": {"const": "column"}, "column": {"type": "string", "minLength": 1}, "log": {"type": "boolean"}}},
          {"type": "null"}
       ]},
       "tree": {"type": "object", "required": ["value"], "additionalProperties": false,
                "properties": {"value": {"type": "integer"},
                               "children": {"type": "array", "items": {"$ref": "#/$defs/tree"}, "maxItems": 3}}}
     },
     "type": "object",
     "required": ["version", "tasks"],
     "additionalProperties": false,
     "properties": {
       "version": {"const": 1},
       "title": {"type": ["string", "null"], "maxLength": 5},
       "ratio": {"type": "number", "minimum": -1.5, "maximum": 2.5},
       "tasks": {"type": "array", "minItems": 1, "maxItems": 4, "items": {
           "type": "object", "required": ["name", "label"], "additionalProperties": {"type": "integer", "minimum": 0},
           "properties": {"name": {"$ref": "#/$defs/name"}, "label": {"$ref": "https://tagdata.invalid/schemas/kitchen-sink.json#/$defs/label"},
                          "weight": {"type": "number", "exclusiveMaximum": 10},
                          "tags": {"type": "array", "items": {"enum": ["a", "b", "\u00e9", 1, null, true, [1, 2], {"x": 1}]}, "uniqueItems": true}},
           "not": {"required": ["forbidden"]}}},
       "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": {"type": "boolean"}},
       "options": {"type": "object", "patternProperties": {"^x-": {"type": "string"}}, "propertyNames": {"maxLength": 6},
                   "minProperties": 1, "maxProperties": 3, "dependentRequired": {"a": ["b"]},
                   "additionalProperties": {"type": "number"}},
       "tree": {"$ref": "#/$defs/tree"},
       "mode": {"anyOf": [{"type": "string", "enum": ["fast", "slow"]}, {"type": "integer", "minimum": 10},
                          {"type": "array", "items": {"type": "string"}}]},
       "cond": {"if": {"type": "string"}, "then": {"minLength": 3}, "else": {"type": "integer"}},
       "anything": true,
       "nothing": false
     }
    }
    """##

  /// Valid instances per schema, the seeds of the mutations.
  static let bases: [String: [String]] = [
    "train-config.schema.json": [
      #"""
      {"seed": 7, "threads": 2,
       "model": {"vocabularySize": 260, "dimension": 64, "layers": 2, "heads": 4, "feedForward": 128},
       "corpora": "../Corpora",
       "stages": [
        {"name": "base-1", "kind": "base", "data": {"builtin": "uniprot-text", "validationFraction": 0.1}, "steps": 10,
         "batch": 4, "length": 64, "learningRate": 0.001, "warmup": 2, "accumulate": 1, "validateEvery": 5, "checkpointEvery": 5},
        {"name": "domain.2", "kind": "domain", "data": {"path": "data/x"}, "steps": 5, "batch": 2, "length": 32,
         "learningRate": 0.01, "tags": [{"name": "Protein", "rows": 8}], "vocabularySize": 300, "trainEarlierTags": false},
        {"name": "fn_3", "kind": "function", "data": {"builtin": "protein-hydrophobicity"}, "steps": 5, "batch": 2, "length": 32,
         "learningRate": 0.5, "tags": [{"name": "Hyd", "rows": 2}], "heads": ["hyd", "len"], "regressionScale": 100}
       ]}
      """#,
      #"""
      {"seed": 0, "base": "runs/base", "stages": [{"name": "f", "kind": "function", "data": {"path": "d"}, "steps": 1,
       "batch": 1, "length": 2, "learningRate": 10, "heads": []}]}
      """#,
    ],
    "task-record.schema.json": [
      #"""
      {"task": "QED", "stage": 3, "split": "train", "regression": true, "formulation": "The QED of <Mol> is <QED>",
       "segments": [{"kind": "text", "text": "The QED of "}, {"kind": "smiles", "text": "CCO"}, {"kind": "tag", "text": "<QED>"}],
       "inputs": ["CCO"], "output": "0.4068", "target": 0.4068, "key": "0123456789abcdef",
       "ids": {"molecules": ["CCO"], "proteins": ["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
               "source": null, "row": 3, "year": null}}
      """#,
      #"""
      {"task": "Language", "stage": 1, "split": "valid", "regression": false, "formulation": "MKV",
       "segments": [{"kind": "protein", "text": "MKV"}], "inputs": ["MKV", "x", "y", "z"], "output": null, "target": null,
       "key": "fedcba9876543210", "ids": {"molecules": [], "proteins": [], "source": "t.tsv", "row": null, "year": 2019}}
      """#,
    ],
    "task-config.schema.json": [
      #"""
      {"seed": 7, "tokens_per_tag": 10, "ablation": "both", "max_length": 512,
       "split": {"method": "temporal", "train": 0.8, "valid": 0.1,
                 "temporal": {"train_valid_years": [2013, 2018], "test_years": [2019, 2021], "valid_fraction": 0.2}},
       "tags": [{"name": "SMILES", "kind": "domain"}, {"name": "EN", "kind": "domain", "language": true, "tokens": 4},
                {"name": "BA", "kind": "function"}],
       "tasks": [{"name": "BA", "stage": 3, "from": "table", "table": "tdc-dti-patent",
                  "inputs": [{"field": "Target", "kind": "protein"}, {"field": "Drug", "kind": "smiles", "spaced": false}],
                  "template": "<input 0> <SMILES> <input 1> <BA> <output>", "output": "regression",
                  "label": {"column": "Y", "scale": 0.1}, "max_length": null, "year": "Year"},
                 {"name": "pKi", "stage": 3, "from": "measurements",
                  "measurement": {"kind": "Ki", "aggregate": "median", "scale": "pX", "censored": "exclude"},
                  "inputs": [{"field": "smiles"}], "template": "<SMILES> <input> <BA> <output>", "output": "regression",
                  "label": {"measurement": true}},
                 {"name": "Translate", "stage": 3, "from": "text", "file": "t.txt", "language": "EN",
                  "inputs": [{"field": "text"}], "template": "<SRC> <input> <output>", "output": "generation",
                  "label": {"column": "target"}, "source_language": "a", "target_language": "b",
                  "mirror": [["a", "b"]]}]}
      """#,
    ],
    "kitchen-sink": [
      #"""
      {"version": 1, "title": "abc", "ratio": 0.5,
       "tasks": [{"name": "qed", "label": {"kind": "descriptor", "descriptor": "logp", "scale": 2}, "weight": 1.5,
                  "tags": ["a", 1, null, [1, 2]], "extra": 3},
                 {"name": "ba_2", "label": {"kind": "column", "column": "y", "log": true}},
                 {"name": "nn", "label": null}],
       "pair": ["s", 2, true, false], "options": {"x-a": "s", "b": 2.5},
       "tree": {"value": 1, "children": [{"value": 2}, {"value": 3, "children": []}]},
       "mode": ["a"], "cond": "abcd", "anything": {"x": [1]}}
      """#,
      #"""
      {"version": 1.0, "tasks": [{"name": "ab", "label": {"kind": "column", "column": "c"}}], "mode": 10, "cond": 4,
       "title": null, "options": {"a": 1, "b": 2}}
      """#,
    ],
  ]

  static let extraStrings = [
    "", "a", "ab", "abc", "A", "Ab", "a b", "a_1", "1a", "ab\n", "ab\r", "\n", "é", "e\u{301}", "日本語", "😀", "😀😀😀😀😀😀",
    "abcdefghi", "0123456789abcdef", "0123456789ABCDEF", "0123456789abcdef0", ".hidden", "-x", "x-", "x-b", "forbidden",
    "path", "builtin", "model", "base", "extra", "naïve", "a\u{2028}b", "tab\there", "quote\"d", "back\\slash",
  ]
  static let extraNumbers: [Double] = [
    0, -0.0, 1, -1, 2, 0.5, 1.5, 3, 3.5, -1.5, 2.5, 2.5000001, 9.999, 10, 100, 255, 256, 257, 4096, 4097, 65536, 1e6,
    1099511627776, 1099511627777, 16777216, 16777217, 1e-9, -1e-9, 1e300, 123456789.25,
  ]

  struct Mutator {
    var rng: SplitMix64
    let strings: [String]
    let numbers: [Double]
    let fragments: [JV]

    mutating func pick<T>(_ a: [T]) -> T { a[rng.below(a.count)] }

    mutating func number() -> JV {
      let d = pick(numbers)
      // The same number written as an integer and as a float ("3" and "3.0"): jsonschema
      // calls both integers.
      if d.rounded() == d, abs(d) < 1e15, rng.below(3) > 0 { return .int(Int64(d)) }
      return .float(d)
    }

    mutating func value(depth: Int = 0) -> JV {
      switch rng.below(depth > 1 ? 6 : 9) {
      case 0: return .null
      case 1: return .bool(rng.below(2) == 0)
      case 2, 3: return number()
      case 4, 5: return .string(pick(strings))
      case 6: return pick(fragments)
      case 7: return .array((0..<rng.below(3)).map { _ in value(depth: depth + 1) })
      default:
        var members: [(String, JV)] = []
        for _ in 0..<rng.below(3) {
          let k = pick(strings)
          if !members.contains(where: { $0.0 == k }) { members.append((k, value(depth: depth + 1))) }
        }
        return .object(members)
      }
    }

    mutating func mutate(_ v: inout JV) {
      var paths: [[Int]] = []
      v.paths(into: &paths)
      var path = pick(paths)
      // Half the time a scalar leaf: numbers and strings are where bounds, patterns, lengths,
      // enums and constants are decided.
      if rng.below(2) == 0 {
        let leaves = paths.filter {
          switch v.at($0[...]) {
          case .int, .float, .string: return true
          default: return false
          }
        }
        if !leaves.isEmpty { path = pick(leaves) }
      }
      let op = rng.below(10)
      var copy = self
      v.update(path[...]) { node in
        switch (node, op) {
        case (.object(var members), 0...3) where !members.isEmpty && op < 2:
          members.remove(at: copy.rng.below(members.count))
          node = .object(members)
        case (.object(var members), 0...3):
          let k = copy.pick(copy.strings)
          let value = copy.value()
          if let i = members.firstIndex(where: { $0.0 == k }) { members[i].1 = value } else { members.append((k, value)) }
          node = .object(members)
        case (.array(var items), 0...3) where !items.isEmpty:
          switch copy.rng.below(4) {
          case 0: items.remove(at: copy.rng.below(items.count))
          case 1: items.append(items[copy.rng.below(items.count)])
          case 2: items.append(copy.value())
          default: items = []
          }
          node = .array(items)
        case (.int, 0...5), (.float, 0...5): node = copy.number()
        case (.string, 0...5): node = .string(copy.pick(copy.strings))
        default: node = copy.value()
        }
      }
      self = copy
    }
  }

  @Test func tagdataAndJsonschemaAgreeOnValidity() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let dir = TestSupport.tempDirectory()
    let seed = TestSupport.fuzzSeed(default: 0x5C4E_3A11)
    var rng = SplitMix64(seed: seed)
    var total = 0, disagreements: [String] = []
    for name in ["train-config.schema.json", "task-record.schema.json", "task-config.schema.json", "kitchen-sink"] {
      let schemaURL: URL
      if name == "kitchen-sink" {
        schemaURL = dir.appendingPathComponent("kitchen-sink.schema.json")
        try Data(Self.kitchenSink.utf8).write(to: schemaURL)
      } else {
        schemaURL = TestSupport.root.appendingPathComponent("Schemas/\(name)")
      }
      let schemaNode = try ConfigJSON.parse(Array(try Data(contentsOf: schemaURL)))
      let validator = try JSONSchema(schemaNode)
      var found = Self.extraStrings, harvested: Set<Double> = []
      JV.harvest(schemaNode.value, strings: &found, numbers: &harvested)
      // Distinct by code points: a Set<String> would merge "é" and "e\u{301}".
      var seen: Set<[UInt8]> = []
      let strings = found.filter { seen.insert(Array($0.utf8)).inserted }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
      // Each number of the schema (a bound, mostly), and its neighbours.
      var numbers = Set(Self.extraNumbers)
      for b in harvested { numbers.formUnion([b, b - 1, b + 1, b - 0.5, b + 0.5, b.nextDown, b.nextUp]) }
      let bases = try Self.bases[name]!.map { JV(try instance($0).value) }
      var fragments: [JV] = []
      for b in bases {
        var paths: [[Int]] = []
        b.paths(into: &paths)
        fragments += paths.map { b.at($0[...]) }
      }
      var mutator = Mutator(rng: SplitMix64(seed: rng.next()), strings: strings, numbers: numbers.sorted(), fragments: fragments)
      var instances: [JV] = bases
      // Systematic single changes of each base: every scalar replaced by each number of the
      // schema (and its neighbours, as integer and as float), by each string; every key
      // removed; each known key added. A sample of at most 8,000 of them.
      var systematic: [JV] = []
      let exact = harvested.sorted()
      var numberCandidates: [JV] = [.null, .bool(true), .string("1")]
      for b in exact {
        if b.rounded() == b, abs(b) < 1e15 {
          numberCandidates += [.int(Int64(b)), .float(b), .int(Int64(b) - 1), .int(Int64(b) + 1)]
        } else {
          numberCandidates.append(.float(b))
        }
        numberCandidates += [.float(b.nextDown), .float(b.nextUp), .float(b + 0.5)]
      }
      let stringCandidates = strings.map { JV.string($0) } + [.int(1), .null]
      let keys = strings
      for b in bases {
        var paths: [[Int]] = []
        b.paths(into: &paths)
        for path in paths {
          let candidates: [JV]
          switch b.at(path[...]) {
          case .int, .float: candidates = numberCandidates
          case .string: candidates = stringCandidates
          case .object(let members):
            for i in members.indices {
              var v = b
              v.update(path[...]) { node in
                if case .object(var m) = node { m.remove(at: i); node = .object(m) }
              }
              systematic.append(v)
            }
            for k in keys where !members.contains(where: { $0.0 == k }) {
              var v = b
              v.update(path[...]) { node in
                if case .object(var m) = node { m.append((k, .int(1))); node = .object(m) }
              }
              systematic.append(v)
            }
            continue
          default: continue
          }
          for c in candidates {
            var v = b
            v.update(path[...]) { $0 = c }
            systematic.append(v)
          }
        }
      }
      for _ in 0..<min(8000, systematic.count) {
        let i = mutator.rng.below(systematic.count)
        instances.append(systematic[i])
        systematic.swapAt(i, systematic.count - 1)
        systematic.removeLast()
      }
      for i in 0..<1500 {
        var v = bases[i % bases.count]
        // Mostly one mutation, so that it alone decides; sometimes two or three.
        for _ in 0..<(mutator.rng.below(3) == 0 ? 2 + mutator.rng.below(2) : 1) { mutator.mutate(&v) }
        instances.append(v)
      }
      let lines = instances.map(\.text)
      let file = dir.appendingPathComponent("\(name).jsonl")
      try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
      let run = try TestSupport.run(python, [Self.script, schemaURL.path, file.path])
      #expect(run.status == 0, "\(run.stderr)")
      let verdicts = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
      #expect(verdicts.count == lines.count, "\(name): jsonschema answered \(verdicts.count) of \(lines.count)")
      var valid = 0, invalid = 0
      for (line, verdict) in zip(lines, verdicts) {
        let theirs = verdict.hasPrefix("1")
        let ours = validator.validate(try instance(line))
        if ours.isEmpty { valid += 1 } else { invalid += 1 }
        if theirs != ours.isEmpty {
          disagreements.append("\(name): \(line)\n  jsonschema: \(verdict)\n  tagdata: \(ours.map(\.description))")
        }
        // Every problem names a place in the text.
        for p in ours where p.line < 1 || p.column < 1 { Issue.record("\(name): \(p) has no place") }
      }
      total += lines.count
      print("\(name): \(lines.count) instances (\(lines.count - 1500 - bases.count) single systematic changes, 1,500 random mutations), tagdata valid \(valid), invalid \(invalid)")
      // Both verdicts must be common, or the comparison proves little.
      #expect(valid >= lines.count / 20 && invalid >= lines.count / 3, "\(name): \(valid) valid, \(invalid) invalid")
    }
    print("jsonschema interop: \(total) instances, \(disagreements.count) disagreements")
    for d in disagreements { print(d) }
    #expect(disagreements.isEmpty, "\(disagreements.count) disagreements (listed above)")
  }

  /// Random schemas from every implemented keyword, each with random instances.
  struct SchemaGenerator {
    var rng: SplitMix64
    static let keys = ["a", "b", "c", "x1", "é"]
    static let patterns = ["^a", "b$", "^[a-z]+$", "\\d", "^.{2,3}$", "é", "^(ab)*$", "[A-Z]", "^x", "1"]
    static let strings = ["", "a", "ab", "abc", "b", "B", "x1", "12", "é", "e\u{301}", "ab\n", "😀", "abab", "A1", "xyz"]
    static let numbers: [Double] = [0, 1, -1, 2, 3, 0.5, 2.5, -0.5, 10, 1e3]

    mutating func pick<T>(_ a: [T]) -> T { a[rng.below(a.count)] }

    mutating func number() -> JV {
      let d = pick(Self.numbers)
      return d.rounded() == d && rng.below(2) == 0 ? .int(Int64(d)) : .float(d)
    }

    mutating func value(depth: Int = 0) -> JV {
      switch rng.below(depth >= 2 ? 5 : 8) {
      case 0: return .null
      case 1: return .bool(rng.below(2) == 0)
      case 2, 3: return number()
      case 4: return .string(pick(Self.strings))
      case 5, 6:
        var members: [(String, JV)] = []
        for k in Self.keys where rng.below(3) == 0 { members.append((k, value(depth: depth + 1))) }
        return .object(members)
      default: return .array((0..<rng.below(4)).map { _ in value(depth: depth + 1) })
      }
    }

    mutating func schema(depth: Int, defs: Bool) -> JV {
      if depth > 0 && rng.below(12) == 0 { return .bool(rng.below(3) > 0) }
      var m: [(String, JV)] = []
      let budget = 1 + rng.below(depth == 0 ? 5 : 3)
      let types = ["null", "boolean", "object", "array", "number", "string", "integer"]
      for _ in 0..<budget {
        let keyword: String
        let sub = depth < 3
        switch rng.below(sub ? 30 : 14) {
        case 0: keyword = "type"; m.append((keyword, rng.below(3) == 0 ? .array([.string(pick(types)), .string(pick(types))]) : .string(pick(types))))
        case 1: keyword = "enum"; m.append((keyword, .array((0..<(1 + rng.below(4))).map { _ in value(depth: 1) })))
        case 2: keyword = "const"; m.append((keyword, value(depth: 1)))
        case 3: keyword = pick(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]); m.append((keyword, number()))
        case 4: keyword = pick(["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]); m.append((keyword, .int(Int64(rng.below(4)))))
        case 5: keyword = "pattern"; m.append((keyword, .string(pick(Self.patterns))))
        case 6: keyword = "required"; m.append((keyword, .array(Self.keys.filter { _ in rng.below(3) == 0 }.map { .string($0) })))
        case 7: keyword = "uniqueItems"; m.append((keyword, .bool(rng.below(3) > 0)))
        case 8: keyword = "dependentRequired"; m.append((keyword, .object([(pick(Self.keys), .array([.string(pick(Self.keys))]))])))
        case 9...13:
          keyword = "type"
          m.append((keyword, .string(pick(["object", "array", "string", "number"]))))
        case 14, 15:
          keyword = "properties"
          var props: [(String, JV)] = []
          for k in Self.keys where rng.below(2) == 0 { props.append((k, schema(depth: depth + 1, defs: defs))) }
          m.append((keyword, .object(props)))
        case 16: keyword = "additionalProperties"; m.append((keyword, rng.below(2) == 0 ? .bool(false) : schema(depth: depth + 1, defs: defs)))
        case 17: keyword = "patternProperties"; m.append((keyword, .object([(pick(Self.patterns), schema(depth: depth + 1, defs: defs))])))
        case 18: keyword = "propertyNames"; m.append((keyword, schema(depth: depth + 1, defs: defs)))
        case 19, 20: keyword = "items"; m.append((keyword, schema(depth: depth + 1, defs: defs)))
        case 21: keyword = "prefixItems"; m.append((keyword, .array((0..<(1 + rng.below(2))).map { _ in schema(depth: depth + 1, defs: defs) })))
        case 22...24:
          keyword = pick(["allOf", "anyOf", "oneOf"])
          m.append((keyword, .array((0..<(1 + rng.below(3))).map { _ in schema(depth: depth + 1, defs: defs) })))
        case 25: keyword = "not"; m.append((keyword, schema(depth: depth + 1, defs: defs)))
        case 26, 27:
          keyword = "if"
          m.append(("if", schema(depth: depth + 1, defs: defs)))
          if rng.below(4) > 0 { m.append(("then", schema(depth: depth + 1, defs: defs))) }
          if rng.below(2) > 0 { m.append(("else", schema(depth: depth + 1, defs: defs))) }
        default:
          keyword = "$ref"
          guard defs else { continue }
          m.append((keyword, .string("#/$defs/d\(rng.below(2))")))
        }
        _ = keyword
      }
      // One keyword once.
      var seen: Set<String> = []
      m = m.filter { seen.insert($0.0).inserted }
      if depth == 0 && defs {
        m.append(("$defs", .object([("d0", schema(depth: 2, defs: false)), ("d1", schema(depth: 1, defs: false))])))
      }
      return .object(m)
    }
  }

  @Test func tagdataAndJsonschemaAgreeOnRandomSchemas() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    var gen = SchemaGenerator(rng: SplitMix64(seed: TestSupport.fuzzSeed(default: 0x2020_12)))
    var pairs: [(schema: JV, instance: JV)] = []
    for _ in 0..<1500 {
      let schema = gen.schema(depth: 0, defs: true)
      for _ in 0..<20 { pairs.append((schema, gen.value())) }
    }
    let dir = TestSupport.tempDirectory()
    let file = dir.appendingPathComponent("pairs.jsonl")
    try Data(pairs.map { "[\($0.schema.text), \($0.instance.text)]" }.joined(separator: "\n").appending("\n").utf8).write(to: file)
    let run = try TestSupport.run(python, [Self.script, "--pairs", file.path])
    #expect(run.status == 0, "\(run.stderr)")
    let verdicts = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    #expect(verdicts.count == pairs.count)
    var disagreements: [String] = []
    var valid = 0, invalid = 0, refusedByBoth = 0
    var compiled: [String: Result<JSONSchema, Error>] = [:]
    var reported: Set<String> = []
    for (pair, verdict) in zip(pairs, verdicts) {
      let text = pair.schema.text
      if compiled[text] == nil { compiled[text] = Result { try JSONSchema(try instance(text)) } }
      switch compiled[text]! {
      case .failure(let error):
        if verdict.hasPrefix("S") { refusedByBoth += 1 } else if reported.insert(text).inserted {
          disagreements.append("schema \(text)\n  tagdata refuses it: \(error)\n  jsonschema: \(verdict)")
        }
      case .success(let validator):
        guard !verdict.hasPrefix("S") else {
          if reported.insert(text).inserted { disagreements.append("schema \(text)\n  jsonschema refuses it: \(verdict)") }
          continue
        }
        let ours = validator.validate(try instance(pair.instance.text))
        if ours.isEmpty { valid += 1 } else { invalid += 1 }
        if verdict.hasPrefix("1") != ours.isEmpty {
          disagreements.append("schema \(text)\n  instance \(pair.instance.text)\n  jsonschema: \(verdict)\n  tagdata: \(ours.map(\.description))")
        }
      }
    }
    print("jsonschema interop, random schemas: \(compiled.count) schemas, \(pairs.count) instances, valid \(valid), invalid \(invalid), "
      + "instances of schemas both refuse \(refusedByBoth), \(disagreements.count) disagreements")
    for d in disagreements { print(d) }
    #expect(disagreements.isEmpty, "\(disagreements.count) disagreements (listed above)")
    #expect(valid >= pairs.count / 10 && invalid >= pairs.count / 10, "valid \(valid), invalid \(invalid)")
  }
}
