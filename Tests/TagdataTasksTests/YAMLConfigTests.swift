import Foundation
import TestSupport
import Testing
@testable import TagdataTasks

/// YAML task configurations read into ConfigJSON trees: values, places, and refusals.
@Suite struct YAMLConfigTests {
  static func parse(_ text: String) throws -> (value: String, places: [String]) {
    let node = try YAMLConfig.parse(Array(text.utf8), file: "task.yaml")
    var places: [String] = []
    return (render(node, path: "", places: &places), places)
  }

  /// The tree as JSON-like text, and "path@line:column" for every value.
  static func render(_ n: YAMLConfig.Node, path: String, places: inout [String]) -> String {
    places.append("\(path.isEmpty ? "$" : path)@\(n.line):\(n.column)")
    switch n.value {
    case .null: return "null"
    case .bool(let b): return "\(b)"
    case .number(let d, let i): return i.map { "\($0)" } ?? "\(d)"
    case .string(let s): return "\"\(s)\""
    case .array(let items):
      return "[" + items.enumerated().map { render($0.element, path: path + "[\($0.offset)]", places: &places) }.joined(separator: ",") + "]"
    case .object(let members):
      return "{" + members.map { m in
        m.key + ":" + render(m.value, path: path.isEmpty ? m.key : path + "." + m.key, places: &places)
      }.joined(separator: ",") + "}"
    }
  }

  static func error(_ text: String) -> YAMLConfigError? { error(Array(text.utf8)) }
  static func error(_ bytes: [UInt8]) -> YAMLConfigError? {
    do {
      _ = try YAMLConfig.parse(bytes, file: "task.yaml")
      return nil
    } catch let e as YAMLConfigError {
      return e
    } catch {
      Issue.record("not a YAMLConfigError: \(error)")
      return nil
    }
  }

  @Test func readsMappingsSequencesAndScalarsWithTheirPlaces() throws {
    let text = """
      # a task configuration
      name: qed-small
      seed: 7
      tasks:
        - kind: descriptor
          label: {descriptor: logP, scale: 0.5}
        - kind: column
          columns: [a, "b c"]
      notes: |
        two
        lines
      """
    let (value, places) = try Self.parse(text)
    #expect(value == #"{name:"qed-small",seed:7,tasks:[{kind:"descriptor",label:{descriptor:"logP",scale:0.5}},{kind:"column",columns:["a","b c"]}],notes:"two\#nlines"}"#)
    #expect(places == [
      "$@2:1", "name@2:7", "seed@3:7", "tasks@5:3", "tasks[0]@5:5", "tasks[0].kind@5:11", "tasks[0].label@6:12",
      "tasks[0].label.descriptor@6:25", "tasks[0].label.scale@6:38", "tasks[1]@7:5", "tasks[1].kind@7:11",
      "tasks[1].columns@8:14", "tasks[1].columns[0]@8:15", "tasks[1].columns[1]@8:18", "notes@9:8",
    ])
  }

  @Test func plainScalarsFollowTheCoreSchema() throws {
    let cases: [(String, String)] = [
      ("~", "null"), ("null", "null"), ("Null", "null"), ("NULL", "null"), ("", "null"),
      ("true", "true"), ("True", "true"), ("TRUE", "true"), ("false", "false"), ("FALSE", "false"),
      ("0", "0"), ("-3", "-3"), ("+5", "5"), ("007", "7"), ("0x1F", "31"), ("0xff", "255"), ("0o17", "15"),
      ("1.5", "1.5"), (".5", "0.5"), ("-.5", "-0.5"), ("1.", "1"), ("3.0", "3"), ("1e3", "1000"), ("-2.5e-3", "-0.0025"),
      ("9223372036854775807", "9223372036854775807"), ("99999999999999999999", "1e+20"),
      // YAML 1.1 and other near misses are strings.
      ("yes", "\"yes\""), ("No", "\"No\""), ("on", "\"on\""), ("1_000", "\"1_000\""), ("2024-01-01", "\"2024-01-01\""),
      ("0x", "\"0x\""), ("0xZZ", "\"0xZZ\""), ("0o8", "\"0o8\""), ("1.2.3", "\"1.2.3\""), ("1e", "\"1e\""), (".", "\".\""),
      ("+.", "\"+.\""), ("nan", "\"nan\""), ("inf", "\"inf\""), ("0b101", "\"0b101\""), ("TRUE!", "\"TRUE!\""),
      // Quoted and block scalars are strings whatever they say.
      ("\"1\"", "\"1\""), ("'~'", "\"~\""), ("\"true\"", "\"true\""), ("''", "\"\""), ("\"null\"", "\"null\""),
    ]
    for (scalar, expected) in cases {
      let (value, _) = try Self.parse("v: \(scalar)\n")
      #expect(value == "{v:\(expected)}", "\(scalar)")
    }
    #expect(try Self.parse("v: |\n  1\n").value == "{v:\"1\n\"}")
  }

  @Test func nonFiniteNumbersAreRefused() {
    for s in [".inf", "-.Inf", "+.INF", ".nan", ".NaN", "1e400"] {
      let e = Self.error("a: 1\nv: \(s)\n")
      #expect(e?.line == 2 && e?.column == 4, "\(s): \(String(describing: e))")
      #expect(e?.message.contains("finite") == true || e?.message.contains("too large") == true, "\(s): \(String(describing: e))")
    }
  }

  @Test func duplicateKeysNameTheKeyAndBothLines() {
    let block = Self.error("name: a\nseed: 1\nname: b\n")
    #expect(block?.description == "task.yaml:3:1: the key \"name\" is given twice in one mapping: first at line 1, again at line 3")
    let nested = Self.error("tasks:\n  - kind: x\n    label: 1\n    kind: y\n")
    #expect(nested?.line == 4 && nested?.column == 5, "\(String(describing: nested))")
    #expect(nested?.message.contains("\"kind\"") == true && nested?.message.contains("first at line 2, again at line 4") == true)
    let flow = Self.error("a: {x: 1,\n    'x': 2}\n")
    #expect(flow?.message.contains("first at line 1, again at line 2") == true, "\(String(describing: flow))")
  }

  @Test func keysMustBeStrings() {
    let cases: [(String, String)] = [
      ("1: a\n", "found the number 1: quote it"), ("a: 1\ntrue: x\n", "found the boolean true: quote it"),
      ("~: z\n", "found null: quote it"), ("[a]: b\n", "found a sequence"), ("? {a: 1}\n: c\n", "found a mapping"),
      ("0x10: a\n", "found the number 0x10"),
    ]
    for (text, expected) in cases {
      let e = Self.error(text)
      #expect(e?.message.hasPrefix("a key must be a string, " + expected) == true, "\(text): \(String(describing: e))")
    }
    #expect(Self.error("a: 1\ntrue: x\n")?.line == 2)
    #expect(Self.error("\"1\": a\n'true': b\n") == nil)
  }

  @Test func oneDocumentOnly() {
    let e = Self.error("a: 1\n---\nb: 2\n")
    #expect(e?.line == 2 && e?.message.hasPrefix("a second YAML document starts here") == true, "\(String(describing: e))")
    #expect(Self.error("a: 1\n---\n")?.line == 2)
    #expect(Self.error("---\na: 1\n...\n") == nil)
  }

  @Test func emptyConfigurationsAreRefused() throws {
    for text in ["", "\n\n", "# only a comment\n", "---\n", "---\n...\n", "\u{FEFF}"] {
      #expect(Self.error(text)?.message == "empty configuration", "\(text.debugDescription)")
    }
    #expect(try Self.parse("~\n").value == "null")  // said on purpose: the schema will judge it
  }

  @Test func anchorsAliasesAndTagsAreRefused() throws {
    let anchor = Self.error("a: &x 1\nb: 2\n")
    #expect(anchor?.line == 1 && anchor?.message.hasPrefix("anchors (&x)") == true, "\(String(describing: anchor))")
    let alias = Self.error("a: &x 1\nb: *x\n")
    #expect(alias?.line == 2 && alias?.column == 4 && alias?.message.hasPrefix("aliases (*x)") == true, "\(String(describing: alias))")
    for (text, tag) in [("a: !!int 3\n", "tag:yaml.org,2002:int"), ("a: !custom x\n", "!custom"), ("a: !!str x\n", "tag:yaml.org,2002:str"),
                        ("a: !!map {b: 1}\n", "tag:yaml.org,2002:map"), ("a: !!seq [1]\n", "tag:yaml.org,2002:seq"), ("!t a: 1\n", "!t")] {
      let e = Self.error(text)
      #expect(e?.message == "tags (\(tag)) are not supported in a configuration", "\(text): \(String(describing: e))")
    }
    // Text that merely contains '&' or '*' is fine.
    #expect(try Self.parse("a: R&D\nb: 2*3\nc: '&x *x'\nd: \"*\"\n").value == #"{a:"R&D",b:"2*3",c:"&x *x",d:"*"}"#)
  }

  @Test func billionLaughsStopsBeforeAnyExpansion() throws {
    var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in 1...30 { text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
    // Aliases as keys too: Yams would hash each key's whole expansion.
    text += "? *a30\n: boom\n"
    let start = Date()
    let e = Self.error(text)
    #expect(Date().timeIntervalSince(start) < 2)
    #expect(e?.line == 2 && e?.message.hasPrefix("aliases (*a0)") == true, "\(String(describing: e))")
  }

  @Test func nestingIsLimitedTo64LevelsLikeJSONConfigs() throws {
    // 63 sequences around a scalar: the scalar is the 64th level.
    let ok = String(repeating: "[", count: 63) + "1" + String(repeating: "]", count: 63)
    #expect(Self.error(ok) == nil)
    let deep = String(repeating: "[", count: 64) + "1" + String(repeating: "]", count: 64)
    #expect(Self.error(deep)?.message == "nested deeper than 64 levels")
    var block = ""
    for i in 0..<70 { block += String(repeating: " ", count: i) + "k\(i):\n" }
    let e = Self.error(block)
    #expect(e?.message == "nested deeper than 64 levels" && e?.line == 64, "\(String(describing: e))")
  }

  @Test func hundredThousandLevelsNeitherCrashNorHang() {
    let cases: [(String, [UInt8])] = [
      ("flow sequences", Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)),
      ("flow mappings", Array((String(repeating: "{a: ", count: 100_000) + "1" + String(repeating: "}", count: 100_000)).utf8)),
      ("unclosed", Array(String(repeating: "[", count: 100_000).utf8)),
      ("compact block sequences", Array((String(repeating: "- ", count: 100_000) + "x\n").utf8)),
      ("block mappings", Array((0..<1400).map { String(repeating: " ", count: $0) + "k:\n" }.joined().utf8)),  // under 1 MiB
    ]
    for (name, bytes) in cases {
      let start = Date()
      let e = Self.error(bytes)
      #expect(e != nil, "\(name)")
      #expect(e?.message.contains("nested deeper than 64 levels") == true, "\(name): \(String(describing: e))")
      #expect(Date().timeIntervalSince(start) < 10, "\(name)")
    }
  }

  @Test func sizeAndEncodingAreChecked() {
    var big = Array("a: \"".utf8) + [UInt8](repeating: 0x78, count: YAMLConfig.maximumSize) + Array("\"\n".utf8)
    #expect(Self.error(big)?.message.hasPrefix("the file is \(big.count) bytes") == true)
    big = []
    let bad = Array("a: 1\nb: caf".utf8) + [0xC3, 0x28] + Array("\n".utf8)
    let e = Self.error(bad)
    #expect(e?.line == 2 && e?.column == 7 && e?.message == "not UTF-8: byte 0xC3", "\(String(describing: e))")
    for bytes: [UInt8] in [[0xFF], [0x61, 0x3A, 0x20, 0xED, 0xA0, 0x80], [0x61, 0x3A, 0x20, 0xC0, 0xAF], [0x61, 0xF4, 0x90, 0x80, 0x80], [0x61, 0xE2, 0x82]] {
      #expect(Self.error(bytes)?.message.hasPrefix("not UTF-8") == true, "\(bytes)")
    }
    // A control character is valid UTF-8 but not YAML.
    let nul = Self.error(Array("a: 1\nb: x\u{0}y\n".utf8))
    #expect(nul?.line == 2 && nul?.column == 5, "\(String(describing: nul))")
  }

  @Test func byteOrderMarkAndCRLFKeepLinesRight() throws {
    let text = "\u{FEFF}a: 1\r\nb:\r\n  - x\r\n  - 'y'\r\n"
    let (value, places) = try Self.parse(text)
    #expect(value == #"{a:1,b:["x","y"]}"#)
    #expect(places == ["$@1:1", "a@1:4", "b@3:3", "b[0]@3:5", "b[1]@4:5"])
    let e = Self.error("\u{FEFF}a: 1\r\nb: [1,\r\n")
    #expect(e?.line == 3, "\(String(describing: e))")
  }

  @Test func syntaxErrorsCarryLibyamlsPlace() {
    let tab = Self.error("a:\n\tb: 1\n")
    #expect(tab?.line == 2 && tab?.message.contains("tab") == true || tab?.message.contains("cannot start any token") == true,
            "\(String(describing: tab))")
    #expect(tab?.line == 2)
    let unclosed = Self.error("a: [1, 2\nb: 3\n")
    #expect(unclosed?.line == 2 || unclosed?.line == 3, "\(String(describing: unclosed))")
    let quote = Self.error("a: 1\nb: \"open\n")
    #expect(quote?.line == 3 && quote?.message.contains("end of stream") == true, "\(String(describing: quote))")
    let indent = Self.error("a:\n  b: 1\n c: 2\n")
    #expect(indent?.line == 3, "\(String(describing: indent))")
    #expect(indent?.description.hasPrefix("task.yaml:3:") == true)
  }

  @Test func everyTruncationAndByteDamageIsAnErrorOrATree() throws {
    let text = """
      name: "qed small"   # comment
      seed: 7
      tasks:
        - {kind: descriptor, label: {descriptor: logP, scale: 0.5e1}}
        - kind: column
          columns: [a, 'b c', "d\\u00e9"]
          notes: >
            folded
            text
      ratio: -.5
      """
    let bytes = Array(text.utf8)
    _ = try YAMLConfig.parse(bytes, file: "t.yaml")
    var errors = 0
    for cut in 0..<bytes.count {
      do { _ = try YAMLConfig.parse(Array(bytes[..<cut]), file: "t.yaml") } catch is YAMLConfigError { errors += 1 }
    }
    var rng = SplitMix64Lite(seed: TestSupport.fuzzSeed(default: 0x7A31))
    let damage: [UInt8] = Array("[]{}:,-?&*!|>'\"#%@`\t\n\r \u{0}".utf8) + [0xFF, 0xC3]
    for _ in 0..<2000 {
      var b = bytes
      for _ in 0...rng.below(3) { b[rng.below(b.count)] = damage[rng.below(damage.count)] }
      do { _ = try YAMLConfig.parse(b, file: "t.yaml") } catch is YAMLConfigError { errors += 1 }
    }
    #expect(errors > 500)
  }
}

/// SplitMix64 for the damage loop (TagdataIO's is not imported by this target).
struct SplitMix64Lite {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
