import Foundation
import TagdataCatalog
import TagdataIO
@testable import TagdataTasks
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hostile task configurations: a seeded fuzz over mutated configurations (in-process and through
/// the CLI) and targeted cases. Whatever the file, `TaskConfig.parse` then `compile(for:)` either
/// succeed or throw a `TaskConfigError` whose every problem names the file, a key path or line;
/// `tagdata build --config` exits 0 or 78 only, within seconds, and leaves no temporary directory.
@Suite(.serialized) struct HostileConfigTests {
  // MARK: - Fixtures

  /// A small catalog from the shipped corpora: 20 molecules, a few proteins, BindingDB
  /// measurements, the tdc-dti and parallel-text tables (no tdc-drugcomb: the preset's DC is skipped).
  static let catalogPath: String = {
    let path = TestSupport.tempDirectory().appendingPathComponent("hostile.sqlite").path
    let files = ["smiles/rdkit_canonSmiles.past_problems.smi", "uniprot/flat/sp012.dat", "bindingdb/bindingdb_2022m5_sample.tsv"]
    _ = try? TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + files.map { TestSupport.corpus($0).path })
    for (preset, file) in [("tdc-dti", "tables/tdc_dti_sample.csv"), ("parallel-text", "tables/parallel_text_sample.tsv")] {
      _ = try? TestSupport.tagdata(["ingest", "--quiet", "--catalog", path, "--preset", preset, TestSupport.corpus(file).path])
    }
    return path
  }()

  static let examplePath = TestSupport.root.appendingPathComponent("Examples/tasks-custom.yaml").path
  static var exampleText: String { (try? String(contentsOfFile: examplePath, encoding: .utf8)) ?? "" }

  /// What `TaskConfig.parse` then `compile` made of some bytes: nil when both succeeded, else the
  /// error's problems; an error of another type is recorded as an issue.
  static func outcome(_ bytes: [UInt8], file: String, catalog: Catalog) -> TaskConfigError? {
    do {
      let c = try TaskConfig.parse(bytes, file: file, json: file.hasSuffix(".json"))
      _ = try c.compile(for: catalog, file: file)
      return nil
    } catch let e as TaskConfigError {
      return e
    } catch {
      Issue.record("not a TaskConfigError: \(type(of: error)) \(error)")
      return nil
    }
  }

  /// What is wrong with an error's report (empty when every problem names the file, a key path
  /// or line, and the line; and the whole text stays small).
  static func defects(_ e: TaskConfigError) -> [String] {
    var out: [String] = []
    if e.problems.isEmpty { out.append("an error without problems") }
    if e.file == nil { out.append("no file") }
    for p in e.problems {
      if p.keyPath.isEmpty && p.line == nil { out.append("neither key path nor line: \(p.message)") }
      if p.line == nil { out.append("no line: \(p.keyPath): \(p.message)") }
      if p.message.isEmpty { out.append("empty message at \(p.keyPath)") }
    }
    let size = e.description.utf8.count
    if size > 1 << 20 { out.append("a report of \(size) bytes") }
    return out
  }

  // MARK: - Mutations

  struct RNG {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
  }

  static let hostileValues: [String] = [
    "", "''", "\"\"", "0", "-1", "-0", "1", "2", "3", "4", "1.5", "2.0", "1e3", "1e308", "-1e308", "1e309", "5e-324",
    "99999999999999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "0x7fffffffffffffff", "0xffffffffffffffffff", "0o777", "1e20",
    ".nan", ".inf", "-.inf", "NaN", "inf", "null", "~", "true", "false", "yes", "[]", "{}", "[1, 2]", "[2021, 2013]",
    "[2013, 2021]", "[1e20, 1e21]", "[-9223372036854775808, 9223372036854775807]", "{a: 1}", "[[smiles, foo]]",
    "[[source, target]]", "[[source]]", "\"\\0\"", "\"\\t\\r\\n\"", "\"\\x01\\x7f\"", "\"<>\"", "\"<<SMILES>>\"",
    "\"<input 99999999999999999999>\"", "\"<input -1>\"", "\"<SMILES\"", "\"<output><output>\"", "\"<SRC> <TGT>\"",
    "\"<input 15> <output>\"", "\"<LogP> <output>\"", "\"<pKi> <output> <input 1>\"", "é日本🧬", "\"\\u202E\\uFEFF\"",
    "\"../../etc/passwd\"", "/dev/zero", "/", "/tmp", "text-de.txt", "tdc-dti", "parallel-text", "tdc-drugcomb", "nope",
    "molecules", "proteins", "table", "measurements", "text", "regression", "generation", "none", "smiles", "sequence",
    "target", "source", "source_lang", "target_lang", "Year", "Y", "Drug", "Target", "qed", "logp", "blosum1", "Ki",
    "EC50", "temporal", "scaffold", "cold-drug", "cold-target", "random", "no-domain", "none", "DE", "de", "SMILES",
    "{descriptor: qed}", "{column: Y}", "{measurement: true}", "{column: Y, scale: 0}", "{column: Y, scale: 1e308}",
    "{column: Y, scale: -1}", "[{field: smiles}]", "[{field: Drug, kind: smiles}, {field: Target, kind: protein}]",
    "[{field: text}]", "[{field: sequence, spaced: true}]", "- a\n- b", "|\n  block", ">-\n  folded", "&a x", "*a", "!!int 3",
    "'single'", "\"\\\"\"", "#", "@", "`", "%", "? x", ": x", "- ", "---", "...",
  ]

  static let keys = [
    "seed", "tokens_per_tag", "ablation", "max_length", "split", "method", "train", "valid", "temporal",
    "train_valid_years", "test_years", "valid_years", "valid_fraction", "tags", "name", "kind", "tokens", "language",
    "tasks", "stage", "from", "table", "file", "measurement", "aggregate", "scale", "censored", "inputs", "field",
    "spaced", "template", "output", "label", "descriptor", "column", "source_language", "target_language", "mirror",
    "year", "unknown_key", "Name", "名前", "",
  ]

  static func hostileScalar(_ rng: inout RNG) -> String {
    switch rng.below(10) {
    case 0: return "\"" + String(repeating: "A", count: 1 + rng.below(200_000)) + "\""
    case 1:
      let depth = 1 + rng.below(200)
      return String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
    case 2:
      let depth = 1 + rng.below(120)
      return String(repeating: "{a: ", count: depth) + "1" + String(repeating: "}", count: depth)
    case 3:
      let scalars: [UInt32] = [0x00, 0x01, 0x07, 0x09, 0x0B, 0x0C, 0x1B, 0x7F, 0x85, 0xA0, 0x2028, 0x2029, 0xFEFF, 0xFFFE,
                               0xFFFF, 0x1F9EC, 0x10FFFF, 0x202E, 0x0301]
      var s = ""
      for _ in 0..<(1 + rng.below(6)) { s.unicodeScalars.append(Unicode.Scalar(rng.pick(scalars))!) }
      return rng.below(2) == 0 ? s : "\"" + s + "\""
    default: return rng.pick(hostileValues)
    }
  }

  /// One to three random mutations of `text`.
  static func mutate(_ text: String, _ rng: inout RNG) -> [UInt8] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var crlf = false, bom = false
    for _ in 0..<(1 + rng.below(3)) {
      guard !lines.isEmpty else { break }
      let k = rng.below(lines.count)
      switch rng.below(16) {
      case 0: lines.remove(at: k)
      case 1: lines.insert(lines[k], at: k)
      case 2: lines.swapAt(k, rng.below(lines.count))
      case 3:
        let n = rng.below(5)
        if rng.below(2) == 0 { lines[k] = String(repeating: " ", count: n) + lines[k] } else { lines[k] = String(lines[k].dropFirst(n)) }
      case 4, 5, 6:
        // Replace the value after "key:" (or the whole line's value) with a hostile scalar.
        if let colon = lines[k].firstIndex(of: ":") {
          lines[k] = String(lines[k][...colon]) + " " + hostileScalar(&rng)
        } else {
          lines[k] = hostileScalar(&rng)
        }
      case 7:
        // Another key with a hostile value, at this line's indentation.
        let indent = lines[k].prefix { $0 == " " || $0 == "-" }.map { $0 == "-" ? " " : $0 }
        lines.insert(String(indent) + rng.pick(keys) + ": " + hostileScalar(&rng), at: k + 1 <= lines.count ? k + 1 : k)
      case 8:
        // Rename a key.
        if let colon = lines[k].firstIndex(of: ":") {
          let indent = lines[k].prefix { $0 == " " || $0 == "-" }
          lines[k] = String(indent) + rng.pick(keys) + String(lines[k][colon...])
        }
      case 9:
        if let lt = lines[k].firstIndex(of: "<") {
          let inserts = ["<", ">", "<>", "<<", "input 9", "input -1", "output", "SRC", "TGT", "SMILES", " ", "input 99999999999999999999"]
          lines[k].insert(contentsOf: rng.pick(inserts), at: lines[k].index(after: lt))
        } else {
          lines[k] += " " + rng.pick(["<>", "<input 1>", "<output>", "<SMILES", "<TGT>"])
        }
      case 10:
        // A control or odd character somewhere in the line.
        let chars = ["\u{0}", "\u{1}", "\u{7F}", "\t", "\r", "\u{FEFF}", "\u{2028}", "\u{85}", "\"", "'", "#", "{", "[", ":", "&", "*", "!"]
        var scalars = Array(lines[k].unicodeScalars)
        scalars.insert(contentsOf: rng.pick(chars).unicodeScalars, at: rng.below(scalars.count + 1))
        lines[k] = String(String.UnicodeScalarView(scalars))
      case 11: crlf = true
      case 12: bom = true
      case 13:
        let n = lines[k].prefix { $0 == " " }.count
        if n > 0 { lines[k] = String(repeating: "\t", count: 1 + rng.below(n)) + lines[k].dropFirst(n) }
      case 14:
        // Deep nesting in block style.
        let depth = 1 + rng.below(100)
        var block: [String] = []
        for d in 0..<depth { block.append(String(repeating: "  ", count: d) + "k\(d):") }
        block[block.count - 1] += " 1"
        lines.insert(contentsOf: block, at: k)
      default:
        // Truncate at a random byte.
        let cut = rng.below(text.utf8.count + 1)
        var b = Array(lines.joined(separator: "\n").utf8)
        if cut < b.count { b.removeSubrange(cut...) }
        return b
      }
    }
    var bytes = Array(lines.joined(separator: crlf ? "\r\n" : "\n").utf8)
    if bom { bytes = [0xEF, 0xBB, 0xBF] + bytes }
    return bytes
  }

  // MARK: - (a) The fuzz

  /// Thousands of mutated configurations through parse and compile, in-process.
  @Test func fuzzParseAndCompile() throws {
    let seed = TestSupport.fuzzSeed(default: 0x7A5C_0F16)
    var rng = RNG(state: seed)
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    // The example as JSON too (the canonical form without its preset key, a value per line).
    let example = try TaskConfig.parse(Array(Self.exampleText.utf8), file: Self.examplePath)
    let exampleJSON = example.json.replacingOccurrences(of: "\"preset\":null,", with: "").replacingOccurrences(of: ",\"", with: ",\n\"")
    let bases: [(text: String, file: String)] = [
      (Self.exampleText, Self.examplePath),
      (TaskConfig.tagLLM.yaml, TestSupport.root.appendingPathComponent("Examples/tag-llm.yaml").path),
      (exampleJSON, TestSupport.root.appendingPathComponent("Examples/tasks-custom.json").path),
    ]
    #expect(throws: Never.self) { try TaskConfig.parse(Array(exampleJSON.utf8), file: bases[2].file, json: true) }
    #expect(!bases[0].text.isEmpty)
    let last = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-config-last.yaml")
    var failures: [String] = []
    var accepted = 0, refused = 0
    var slowest = 0.0
    let start = Date()
    var n = 0
    while n < 3000 && (n < 2000 || Date().timeIntervalSince(start) < 12) {
      n += 1
      let base = bases[rng.below(bases.count)]
      let bytes = Self.mutate(base.text, &rng)
      // A crash leaves the input behind.
      try? Data(bytes).write(to: last)
      let t0 = Date()
      let e = Self.outcome(bytes, file: base.file, catalog: catalog)
      // What --print-config prints of an accepted configuration reads back to it.
      if e == nil, let c = try? TaskConfig.parse(bytes, file: base.file, json: base.file.hasSuffix(".json")) {
        do {
          let back = try TaskConfig.parse(Array(c.yaml.utf8), file: base.file)
          if back != c || back.json != c.json, failures.count < 20 {
            failures.append("case \(n): its YAML reads back differently:\n\(c.json)\n\(back.json)")
          }
        } catch {
          if failures.count < 20 { failures.append("case \(n): its YAML does not read back: \(error)\n--- YAML:\n\(c.yaml)") }
        }
      }
      slowest = max(slowest, Date().timeIntervalSince(t0))
      if let e {
        refused += 1
        let d = Self.defects(e)
        if !d.isEmpty && failures.count < 20 {
          failures.append("case \(n): \(d.prefix(3).joined(separator: "; "))\n--- input:\n\(String(decoding: bytes.prefix(1500), as: UTF8.self))")
        }
      } else {
        accepted += 1
      }
    }
    print("fuzzParseAndCompile: \(n) cases, \(accepted) accepted, \(refused) refused, slowest \(slowest) s")
    #expect(failures.isEmpty, "\(failures.joined(separator: "\n\n"))")
    #expect(accepted > 20 && refused > 20, "the mutations reach both outcomes")
    #expect(slowest < 5, "no configuration takes seconds")
  }

  /// A configuration put together from random parts (sources, fields, templates, labels, splits),
  /// mostly coherent, so that many pass the checks and reach the builder.
  static func generated(_ rng: inout RNG) -> String {
    let tagPool = ["{name: SMILES, kind: domain}", "{name: Protein, kind: domain}", "{name: EN, kind: domain, language: true}",
                   "{name: DE, kind: domain, language: true}", "{name: QED, kind: function}", "{name: BA, kind: function, tokens: 3}",
                   "{name: LogP, kind: function}", "{name: Translate, kind: function}"]
    var y = ""
    if rng.below(3) == 0 { y += "seed: \(rng.pick(["0", "1", "9223372036854775807", "42"]))\n" }
    if rng.below(3) == 0 { y += "ablation: \(rng.pick(["both", "no-domain", "no-function", "none"]))\n" }
    if rng.below(3) == 0 { y += "max_length: \(rng.pick(["null", "1", "20", "512", "99999999999999999999"]))\n" }
    if rng.below(3) == 0 {
      y += "split:\n  method: \(rng.pick(["random", "scaffold", "cold-drug", "cold-target", "temporal"]))\n"
      if rng.below(2) == 0 { y += "  train: \(rng.pick(["0", "0.5", "0.8", "1"]))\n  valid: \(rng.pick(["0", "0.1", "0.5"]))\n" }
      if rng.below(2) == 0 {
        y += "  temporal: {train_valid_years: \(rng.pick(["[2013, 2018]", "[0, 2000]", "[2018, 2013]"])), "
          + "test_years: \(rng.pick(["[2019, 2021]", "[2001, 9999]", "[2015, 2016]"]))"
          + (rng.below(2) == 0 ? ", valid_fraction: \(rng.pick(["0", "0.2", "1"]))" : "") + "}\n"
      }
    }
    y += "tags:\n"
    var tags = tagPool.filter { _ in rng.below(4) != 0 }
    if tags.isEmpty { tags = [tagPool[0]] }
    for t in tags { y += "  - \(t)\n" }
    y += "tasks:\n"
    let sources: [(from: String, extra: String, fields: [String])] = [
      ("molecules", "", ["smiles"]), ("proteins", "", ["sequence"]),
      ("table", "    table: tdc-dti\n", ["Drug", "Target", "Drug_ID", "Target_ID", "Y"]),
      ("table", "    table: parallel-text\n", ["source", "target", "source_lang", "target_lang"]),
      ("table", "    table: tdc-drugcomb\n", ["Drug1", "Drug2", "Y"]),
      ("table", "    table: nothing-here\n", ["a", "b"]),
      ("measurements", "    measurement: {kind: \(rng.pick(["Ki", "Kd", "IC50", "EC50"])), scale: \(rng.pick(["raw", "pX"]))}\n",
       ["smiles", "sequence", "target", "count"]),
      ("text", "    file: \(rng.pick(["text-de.txt", "text-de.txt", "missing.txt"]))\n    language: \(rng.pick(["de", "DE", "EN"]))\n", ["text"]),
    ]
    for k in 0..<(1 + rng.below(4)) {
      let src = rng.pick(sources)
      let field = { (rng: inout RNG) -> String in rng.below(8) == 0 ? rng.pick(["smiles", "Drug", "text", "nope", "Y"]) : rng.pick(src.fields) }
      let stage = 1 + rng.below(3)
      let output = stage == 1 ? "none" : rng.pick(["regression", "regression", "generation", "none"])
      y += "  - name: T\(k)\(rng.below(5) == 0 ? "x" : "")\n    stage: \(stage)\n    from: \(src.from)\n" + src.extra
      let n = 1 + rng.below(3)
      y += "    inputs: ["
      for i in 0..<n {
        y += (i > 0 ? ", " : "") + "{field: \(field(&rng))"
        if rng.below(2) == 0 { y += ", kind: \(rng.pick(["text", "smiles", "protein"]))" }
        if rng.below(4) == 0 { y += ", spaced: true" }
        y += "}"
      }
      y += "]\n"
      var template = ""
      let pieces = ["<SMILES> ", "<Protein> ", "<EN> ", "<DE> ", "<SRC> ", "<TGT> ", "the ", "< ", "<> ", "a<b ", "x "]
      for _ in 0..<rng.below(4) { template += rng.pick(pieces) }
      for i in 0..<n where rng.below(6) != 0 { template += "<input \(i)> " + (rng.below(3) == 0 ? rng.pick(pieces) : "") }
      if output == "regression" { template += rng.pick(["<QED> ", "<BA> ", "<LogP> ", ""]) }
      if output == "generation" { template += rng.pick(["<Translate> ", "<TGT> ", ""]) }
      if output != "none" || rng.below(8) == 0 { template += "<output>" }
      if template.isEmpty { template = "<input>" }
      y += "    template: \(JSONString.quoted(template))\n    output: \(output)\n"
      if output != "none" || rng.below(8) == 0 {
        let label: String
        switch src.from {
        case "molecules", "proteins": label = "descriptor: \(rng.pick(["qed", "logp", "blosum1", "nope"]))"
        case "measurements": label = "measurement: true"
        default: label = "column: \(field(&rng))"
        }
        y += "    label: {\(label)" + (rng.below(4) == 0 ? ", scale: \(rng.pick(["0.1", "-1", "1e300", "1e-300", "0"]))" : "") + "}\n"
      }
      if rng.below(3) == 0 { y += "    max_length: \(rng.pick(["null", "1", "3", "30", "512"]))\n" }
      if rng.below(4) == 0 { y += "    source_language: \(field(&rng))\n" }
      if rng.below(5) == 0 { y += "    target_language: \(field(&rng))\n" }
      if rng.below(5) == 0 { y += "    mirror: [[\(field(&rng)), \(field(&rng))]]\n" }
      if rng.below(4) == 0 { y += "    year: \(field(&rng))\n" }
    }
    return y
  }

  /// Generated configurations: parse, compile, and for those accepted, build in-process; every
  /// example's segments spell its formulation, every regression label reads back as a number.
  @Test func fuzzGeneratedConfigurationsThroughTheBuilder() throws {
    let seed = TestSupport.fuzzSeed(default: 0x6E_0F16)
    var rng = RNG(state: seed)
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    let dir = TestSupport.tempDirectory()
    try FileManager.default.copyItem(atPath: TestSupport.root.appendingPathComponent("Examples/text-de.txt").path,
                                     toPath: dir.appendingPathComponent("text-de.txt").path)
    let file = dir.appendingPathComponent("g.yaml").path
    let last = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-generated-last.yaml")
    var failures: [String] = []
    var accepted = 0, examples = 0, exported = 0
    let start = Date()
    var n = 0
    while n < 2000 && Date().timeIntervalSince(start) < 8 {
      n += 1
      let yaml = Self.generated(&rng)
      try? Data(yaml.utf8).write(to: last)
      let plan: CompiledConfig
      do {
        plan = try TaskConfig.parse(Array(yaml.utf8), file: file).compile(for: catalog, file: file)
      } catch let e as TaskConfigError {
        let d = Self.defects(e)
        if !d.isEmpty && failures.count < 10 { failures.append("case \(n): \(d.prefix(3))\n\(yaml)") }
        continue
      }
      accepted += 1
      if let back = try? TaskConfig.parse(Array(plan.config.yaml.utf8), file: file), back == plan.config {} else if failures.count < 10 {
        failures.append("case \(n): --print-config's YAML does not read back to the configuration\n\(yaml)")
      }
      do {
        _ = try StageBuilder.build(catalog, plan: plan) { e in
          examples += 1
          var wrong: [String] = []
          if e.segments.map(\.text).joined() != e.formulation { wrong.append("segments do not spell the formulation") }
          if e.regression, !(e.output.flatMap(Double.init)?.isFinite ?? false) { wrong.append("label \(e.output ?? "nil")") }
          if e.regression, !(e.target?.isFinite ?? false) { wrong.append("target \(String(describing: e.target))") }
          if !wrong.isEmpty && failures.count < 10 { failures.append("case \(n): \(wrong) in \(e.formulation.prefix(200))\n\(yaml)") }
        }
        if accepted % 8 == 1 {
          exported += 1
          let out = dir.appendingPathComponent("out").path
          _ = try ShardExport.export(catalog, plan: plan, shards: 2, out: out, toolVersion: "test")
          let items = try FileManager.default.contentsOfDirectory(atPath: dir.path)
          if items.contains(where: { $0.hasPrefix(".out.") }) && failures.count < 10 { failures.append("case \(n): left \(items)") }
        }
      } catch {
        if failures.count < 10 { failures.append("case \(n): the build threw \(error)\n\(yaml)") }
      }
    }
    print("fuzzGeneratedConfigurationsThroughTheBuilder: \(n) configurations, \(accepted) accepted, \(examples) examples, "
          + "\(exported) exported")
    #expect(failures.isEmpty, "\(failures.joined(separator: "\n\n"))")
    #expect(accepted > 20, "the generator reaches the builder (\(accepted))")
  }

  /// A program run that cannot hang the test: killed after `timeout` seconds (status -1).
  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ arguments: [String], timeout: Double = 60) throws -> Output {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: TestSupport.tagdataBinary)
    p.arguments = arguments
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).out")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: out)
      try? FileManager.default.removeItem(at: err)
    }
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    p.standardInput = FileHandle.nullDevice
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    try p.run()
    var status: Int32
    if done.wait(timeout: .now() + timeout) == .timedOut {
      p.terminate()
      kill(p.processIdentifier, SIGKILL)
      done.wait()
      status = -1
    } else {
      status = p.terminationStatus
    }
    return Output(status: status, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                              stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
  }

  /// `tagdata build --print-config` is the preset's YAML, and a few hundred mutated configurations
  /// through the CLI: exit 0 or 78 only, a refusal names the file and line, no temporary directory
  /// left, no output after a refusal.
  @Test func fuzzThroughTheCLI() throws {
    let printed = try Self.run(["build", "--print-config"])
    #expect(printed.status == 0 && printed.stdout == TaskConfig.tagLLM.yaml, "\(printed.stderr)")
    let seed = TestSupport.fuzzSeed(default: 0xC11_0F16)
    var rng = RNG(state: seed)
    let dir = TestSupport.tempDirectory()
    try FileManager.default.copyItem(atPath: TestSupport.root.appendingPathComponent("Examples/text-de.txt").path,
                                     toPath: dir.appendingPathComponent("text-de.txt").path)
    let config = dir.appendingPathComponent("c.yaml")
    let out = dir.appendingPathComponent("out").path
    var failures: [String] = []
    var statuses: [Int32: Int] = [:]
    let start = Date()
    var n = 0
    while n < 300 && Date().timeIntervalSince(start) < 12 {
      n += 1
      // The preset, the example (both mutated), or a generated configuration as it is.
      let pick = rng.below(4)
      let bytes = pick == 3 ? Array(Self.generated(&rng).utf8) : Self.mutate(pick == 0 ? printed.stdout : Self.exampleText, &rng)
      try Data(bytes).write(to: config)
      // A previous build's output (a manifest and a file of its own): kept whole after a
      // refusal, replaced whole after a build.
      try? FileManager.default.removeItem(atPath: out)
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
      try Data("previous".utf8).write(to: URL(fileURLWithPath: out + "/previous.txt"))
      try Data("{\"format\": \"tagdata-tasks/1\"}\n".utf8).write(to: URL(fileURLWithPath: out + "/manifest.json"))
      // Command-line options on top of the file, now and then.
      var options: [String] = []
      if rng.below(6) == 0 { options += ["--split", rng.pick(["random", "scaffold", "cold-drug", "cold-target", "temporal"])] }
      if rng.below(6) == 0 { options += ["--ablation", rng.pick(["both", "no-domain", "no-function", "none"])] }
      if rng.below(8) == 0 { options += ["--seed", rng.pick(["0", "18446744073709551615"])] }
      if rng.below(8) == 0 { options += ["--text", "EN=" + rng.pick([dir.path + "/text-de.txt", dir.path, dir.path + "/none.txt", "/dev/zero"])] }
      let tasksOption = rng.below(8) == 0
      if tasksOption { options += ["--tasks", rng.pick(["LogP", "pKi,German", "qed", "Nope", "Language"])] }
      let r = try Self.run(["build", "--config", config.path, "--catalog", Self.catalogPath, "--out", out, "--shards", "2",
                            "--quiet"] + options, timeout: 30)
      statuses[r.status, default: 0] += 1
      let items = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
      var wrong: [String] = []
      // (64: --tasks naming no task of the file.)
      if r.status != 0 && r.status != 78 && !(tasksOption && r.status == 64) { wrong.append("exit \(r.status) with \(options)") }
      if items.contains(where: { $0.hasPrefix(".out.") }) { wrong.append("left \(items.filter { $0.hasPrefix(".out.") })") }
      let outItems = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
      if r.status == 0 && (outItems.contains("previous.txt") || !outItems.contains("manifest.json")) {
        wrong.append("the output was not replaced whole: \(outItems.sorted())")
      }
      if r.status != 0 && outItems != ["manifest.json", "previous.txt"] {
        wrong.append("the previous output was touched: \(outItems.sorted())")
      }
      if r.status == 78 {
        // A problem of the configuration names its file and line; one of a --text option names the option.
        if !r.stderr.contains(config.path + ":") && !r.stderr.contains("configuration: --text ") {
          wrong.append("the message names no file and line (\(options))")
        }
      }
      if !wrong.isEmpty && failures.count < 10 {
        failures.append("case \(n): \(wrong.joined(separator: ", ")): \(r.stderr.prefix(600))\n--- input:\n"
                          + String(decoding: bytes.prefix(1500), as: UTF8.self))
      }
    }
    print("fuzzThroughTheCLI: \(n) runs, exit statuses \(statuses.sorted { $0.key < $1.key })")
    #expect(failures.isEmpty, "\(failures.joined(separator: "\n\n"))")
    #expect(n >= 50, "at least 50 runs (\(n))")
  }

  // MARK: - (b) Targeted cases

  static let tags = """
    tags:
      - {name: SMILES, kind: domain}
      - {name: Protein, kind: domain}
      - {name: QED, kind: function}
      - {name: BA, kind: function}
    tasks:

    """

  /// A molecules task (QED) with `template`; `extra` lines go into the task.
  static func qed(template: String = "<SMILES> <input> <QED> <output>", extra: String = "", name: String = "QED") -> String {
    """
      - name: \(name)
        stage: 2
        from: molecules
        inputs: [{field: smiles}]
        template: \(JSONString.quoted(template))
        output: regression
        label: {descriptor: qed}
    \(extra)
    """
  }

  /// A tdc-dti task (BA) with `extra` lines.
  static func ba(extra: String = "", label: String = "{column: Y}", inputs: String? = nil) -> String {
    """
      - name: BA
        stage: 3
        from: table
        table: tdc-dti
        inputs: \(inputs ?? "[{field: Target, kind: protein}, {field: Drug, kind: smiles}]")
        template: "<Protein> <input 0> <SMILES> <input 1> <BA> <output>"
        output: regression
        label: \(label)
    \(extra)
    """
  }

  /// The error parse and compile give for `yaml` (nil: accepted), checked for its file, key paths and lines.
  static func refusal(_ yaml: String, file: String = "/tmp/hostile.yaml", sourceLocation: SourceLocation = #_sourceLocation)
    throws -> TaskConfigError?
  {
    let catalog = try Catalog(path: catalogPath, readOnly: true)
    let e = outcome(Array(yaml.utf8), file: file, catalog: catalog)
    if let e { #expect(defects(e).isEmpty, "\(defects(e)) in\n\(e)", sourceLocation: sourceLocation) }
    return e
  }

  /// Refused with a problem at `keyPath` (with its line) whose message holds `message`.
  static func expectRefused(_ yaml: String, at keyPath: String, _ message: String = "",
                            sourceLocation: SourceLocation = #_sourceLocation) throws
  {
    let e = try refusal(yaml, sourceLocation: sourceLocation)
    #expect(e?.problems.contains { $0.keyPath == keyPath && $0.line != nil && (message.isEmpty || $0.message.contains(message)) } == true,
            "expected a problem at \(keyPath) (\(message)), got: \(e.map { "\($0)" } ?? "accepted")", sourceLocation: sourceLocation)
  }

  static func compiled(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CompiledConfig? {
    let catalog = try Catalog(path: catalogPath, readOnly: true)
    do {
      return try TaskConfig.parse(Array(yaml.utf8), file: "/tmp/hostile.yaml").compile(for: catalog, file: "/tmp/hostile.yaml")
    } catch {
      Issue.record("refused: \(error)", sourceLocation: sourceLocation)
      return nil
    }
  }

  @Test func templateAngleBracketEdgeCases() throws {
    #expect(try Self.refusal(Self.tags + Self.qed()) == nil)
    // Text that is no placeholder stays text.
    for t in ["<> <SMILES> <input> <QED> <output>", "<<SMILES>> <input> <QED> <output>", "<SMILES <input> <QED> <output>",
              "<SMILES> <input> <QED> <output> <QED", "<SMILES> <input> <QED> <output><", "<SMILES> <input> <QED> <output> >"]
    {
      let c = try Self.compiled(Self.tags + Self.qed(template: t))
      #expect(c.map { TaskTemplate.string($0.tasks[0].pieces) } == t, "\(t)")
    }
    for t in ["<SMILES> <input 99999999999999999999> <QED> <output>", "<SMILES> <input -1> <QED> <output>",
              "<SMILES> <input 1> <QED> <output>", "<SMILES> <input 64> <QED> <output>", "<SMILES> <input> <QED> <output> <output>",
              "<SMILES> <input> <QED>", "<SMILES> <input> <output>", "<SMILES> <input> <QED> <output> <TGT>",
              "<SMILES> <input> <QED> <output> <Input>"]
    {
      try Self.expectRefused(Self.tags + Self.qed(template: t), at: "tasks[0].template")
    }
  }

  /// A template without any input makes every example the same text (one example is left).
  @Test func templateWithoutInputs() throws {
    try Self.expectRefused(Self.tags + Self.qed(template: "<SMILES> molecule <QED> <output>"), at: "tasks[0].template", "none of")
  }

  /// The keys of a kind of source: missing where needed (a text task without language gave the tag
  /// <>, a table task without table was skipped), or given to another kind (ignored before).
  @Test func keysOfAnotherKindOfSource() throws {
    let text = Self.exampleText
    func refused(_ yaml: String, at keyPath: String, _ message: String) throws {
      let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
      let e = Self.outcome(Array(yaml.utf8), file: Self.examplePath, catalog: catalog)
      #expect(e?.problems.contains { $0.keyPath == keyPath && $0.line != nil && $0.message.contains(message) } == true,
              "\(keyPath): \(e.map { "\($0)" } ?? "accepted")")
    }
    try refused(text.replacingOccurrences(of: "    language: DE\n", with: ""), at: "tasks[0].language", "missing required key")
    try refused(text.replacingOccurrences(of: "    file: text-de.txt\n", with: ""), at: "tasks[0].file", "missing required key")
    try refused(text.replacingOccurrences(of: "    measurement: {kind: Ki, aggregate: median, scale: pX, censored: exclude}\n", with: ""),
                at: "tasks[2].measurement", "missing required key")
    try refused(text.replacingOccurrences(of: "    label: {descriptor: logp}\n", with: "    label: {descriptor: logp}\n    table: tdc-dti\n"),
                at: "tasks[1].table", "belongs to from: table")
    try refused(text.replacingOccurrences(of: "    label: {descriptor: logp}\n", with: "    label: {descriptor: logp}\n    file: x.txt\n"),
                at: "tasks[1].file", "belongs to from: text")
    try Self.expectRefused(Self.tags + Self.ba().replacingOccurrences(of: "    table: tdc-dti\n", with: ""), at: "tasks[0].table", "missing required key")
  }

  /// Templates and fields with control characters, line separators, a BOM, quotes and backslashes
  /// print as YAML that reads back to the same configuration.
  @Test func oddCharactersReadBack() throws {
    for odd in ["\\u0085", "\\u2028", "\\u2029", "\\u007F", "\\t", "\\r", "\\r\\n", "\\uFEFF", "\\\"", "\\\\", "\\u0001",
                "\\u00A0", "\\U0001F9EC", "#", ": ", " - ", "'", "\\u0000"]
    {
      let yaml = Self.tags + Self.qed(template: "X").replacingOccurrences(of: "\"X\"", with: "\"<SMILES>\(odd)<input> <QED> <output>\(odd)\"")
      let c: TaskConfig
      do { c = try TaskConfig.parse(Array(yaml.utf8), file: "/tmp/h.yaml") } catch {
        Issue.record("\(odd): \(error)")
        continue
      }
      do {
        let back = try TaskConfig.parse(Array(c.yaml.utf8), file: "/tmp/h.yaml")
        #expect(back.tasks[0].template == c.tasks[0].template, "\(odd): \(Array(back.tasks[0].template.unicodeScalars)) \(Array(c.tasks[0].template.unicodeScalars))")
      } catch {
        Issue.record("\(odd): the printed YAML does not read back: \(error)")
      }
    }
  }

  /// Under the ablation none a regression template ends before its function tag: one whose input
  /// comes after the tag would give empty prompts.
  @Test func ablationThatLeavesNoInput() throws {
    try Self.expectRefused("ablation: none\n" + Self.tags + Self.qed(template: "<QED> <SMILES> <input> <output>"), at: "tasks[0].template",
                           "ablation")
    #expect(try Self.refusal("ablation: no-function\n" + Self.tags + Self.qed(template: "<QED> <SMILES> <input> <output>")) == nil)
    #expect(try Self.refusal("ablation: none\n" + Self.tags + Self.qed()) == nil)
  }

  /// A file name holding NUL would be cut there by the system.
  @Test func fileNameWithNUL() throws {
    let yaml = Self.exampleText.replacingOccurrences(of: "file: text-de.txt", with: "file: \"text-de.txt\\0.gz\"")
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    let e = Self.outcome(Array(yaml.utf8), file: Self.examplePath, catalog: catalog)
    #expect(e?.problems.contains { $0.keyPath == "tasks[0].file" && $0.line != nil } == true, "\(e.map { "\($0)" } ?? "accepted")")
  }

  /// Temporal years given with another split method (for --split temporal) survive --print-config.
  @Test func temporalYearsOfAnotherMethodReadBack() throws {
    let yaml = "split:\n  method: scaffold\n  temporal: {train_valid_years: [1990, 2000], test_years: [2001, 2005]}\n" + Self.tags + Self.qed()
    let c = try TaskConfig.parse(Array(yaml.utf8), file: "/tmp/h.yaml")
    let back = try TaskConfig.parse(Array(c.yaml.utf8), file: "/tmp/h.yaml")
    #expect(back.split.temporal.trainValidYears == 1990...2000 && back == c, "\(back.split.temporal)")
  }

  /// A language tag is what <SRC>/<TGT> become: a domain tag (the ablation drops it with the
  /// domain tags), named in upper case (languages from the data are upper-cased, so a declared
  /// `de` would never be used, and DE added beside it).
  @Test func languageTagsAreUpperCaseDomainTags() throws {
    let text = Self.exampleText
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    for (from, message) in [("{name: DE, kind: domain, language: true}", ""), ("{name: DE, kind: function, language: true}", "domain"),
                            ("{name: De, kind: domain, language: true}", "upper case")]
    {
      let yaml = text.replacingOccurrences(of: "{name: DE, kind: domain, language: true}", with: from)
        .replacingOccurrences(of: "language: DE", with: "language: \(from.contains("De") ? "De" : "DE")")
      let e = Self.outcome(Array(yaml.utf8), file: Self.examplePath, catalog: catalog)
      if message.isEmpty {
        #expect(e == nil, "\(e.map { "\($0)" } ?? "")")
      } else {
        #expect(e?.problems.contains { $0.keyPath == "tags[2]" && $0.line == 13 && $0.message.contains(message) } == true,
                "\(from): \(e.map { "\($0)" } ?? "accepted")")
      }
    }
  }

  /// What is regressed or generated follows the prompt: <output> after every input and after the
  /// function tag, whose hidden state is regressed (one function tag: which one otherwise?).
  @Test func outputFollowsThePrompt() throws {
    try Self.expectRefused(Self.tags + Self.qed(template: "<output> <SMILES> <input> <QED>"), at: "tasks[0].template", "after")
    try Self.expectRefused(Self.tags + Self.qed(template: "<SMILES> <QED> <output> <input>"), at: "tasks[0].template", "after")
    try Self.expectRefused(Self.tags + Self.qed(template: "<SMILES> <input> <output> <QED>"), at: "tasks[0].template", "after")
    try Self.expectRefused(Self.tags + Self.qed(template: "<SMILES> <input> <BA> <QED> <output>"), at: "tasks[0].template", "one function tag")
    #expect(try Self.refusal(Self.tags + Self.qed(template: "<SMILES> <input>. <QED> <output>.")) == nil)
  }

  @Test func inputsOfAnotherSource() throws {
    let seq = Self.qed().replacingOccurrences(of: "{field: smiles}", with: "{field: sequence}")
    try Self.expectRefused(Self.tags + seq, at: "tasks[0].inputs[0].field", "no field sequence")
    try Self.expectRefused(Self.tags + Self.ba(inputs: "[{field: smiles}, {field: Drug, kind: smiles}]"), at: "tasks[0].inputs[0].field",
                           "no column smiles")
    try Self.expectRefused(Self.tags + Self.ba(label: "{column: QED}"), at: "tasks[0].label.column", "no column QED")
    try Self.expectRefused(Self.tags + Self.ba(extra: "    year: Year"), at: "tasks[0].year", "no column Year")
  }

  /// A column the table lacks, found after `--tasks` kept only the second task: the problem names
  /// the task's key path and line in the file, not its place among the kept tasks.
  /// A table's columns have kinds (its mapping): a regression regresses a number column, a SMILES
  /// or protein input reads a smiles or protein column, a language comes from a column that can
  /// hold one.
  @Test func columnKindsFitTheirUse() throws {
    try Self.expectRefused(Self.tags + Self.ba(label: "{column: Drug}"), at: "tasks[0].label.column", "smiles")
    try Self.expectRefused(Self.tags + Self.ba(inputs: "[{field: Target, kind: protein}, {field: Drug_ID, kind: smiles}]"),
                           at: "tasks[0].inputs[1].kind", "id")
    try Self.expectRefused(Self.tags + Self.ba(inputs: "[{field: Drug, kind: protein}, {field: Drug, kind: smiles}]"),
                           at: "tasks[0].inputs[0].kind", "smiles")
    let src = Self.ba(extra: "    source_language: Drug").replacingOccurrences(of: "template: \"", with: "template: \"<SRC> ")
    try Self.expectRefused(Self.tags + src, at: "tasks[0].source_language", "smiles")
    // The fields of the other sources have kinds too.
    try Self.expectRefused(Self.tags + Self.qed().replacingOccurrences(of: "{field: smiles}", with: "{field: smiles, kind: protein}"),
                           at: "tasks[0].inputs[0].kind", "smiles")
    #expect(try Self.refusal(Self.tags + Self.qed().replacingOccurrences(of: "{field: smiles}", with: "{field: smiles, kind: text}")) == nil)
    // Text reads any column.
    #expect(try Self.refusal(Self.tags + Self.ba(inputs: "[{field: Target, kind: protein}, {field: Drug, kind: smiles}, {field: Y}]")) == nil)
  }

  @Test func columnProblemsNameTheFilesKeyPathAndLine() throws {
    let dir = TestSupport.tempDirectory()
    let config = dir.appendingPathComponent("c.yaml")
    try Data((Self.tags + Self.qed() + Self.ba(label: "{column: Affinity}")).utf8).write(to: config)
    let out = dir.appendingPathComponent("out").path
    let r = try Self.run(["build", "--config", config.path, "--catalog", Self.catalogPath, "--out", out, "--tasks", "BA"])
    #expect(r.status == 78)
    #expect(r.stderr.contains(config.path + ":21:21:") && r.stderr.contains("tasks[1].label.column: the tdc-dti table has no column Affinity"),
            "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out))
  }

  /// A language field whose values are no tag names (here the sentences of a text column): each
  /// row is rejected, instead of one "language tag" per sentence.
  @Test func languageFieldsOfNoTagNames() throws {
    let yaml = Self.tags + """
        - name: Sentences
          stage: 1
          from: table
          table: parallel-text
          inputs: [{field: target}]
          template: "<SRC> <input>"
          output: none
          source_language: source

      """
    let plan = try #require(try Self.compiled(yaml))
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    var tags = Set<String>()
    let r = try StageBuilder.build(catalog, plan: plan) { e in tags.insert(e.segments[0].text) }
    #expect(tags.isEmpty, "\(tags.count) language tags such as \(tags.first ?? "")")
    #expect(r[0].rejected["source is not a language tag name", default: 0] == 40, "\(r[0].rejected)")
    #expect(StageBuilder.isTagName("en") && StageBuilder.isTagName("zh-Hant") && !StageBuilder.isTagName("CC(=O)O")
              && !StageBuilder.isTagName("1a") && !StageBuilder.isTagName(String(repeating: "a", count: 65)))
  }

  @Test func mirrorFieldsThatDoNotExist() throws {
    try Self.expectRefused(Self.tags + Self.ba(extra: "    mirror: [[Drug, Nothing]]"), at: "tasks[0].mirror[0][1]", "no column Nothing")
    try Self.expectRefused(Self.tags + Self.qed(extra: "    mirror: [[smiles, smiles]]"), at: "tasks[0].mirror", "table")
    #expect(try Self.refusal(Self.tags + Self.ba(extra: "    mirror: [[Drug, Drug_ID]]")) == nil)
    // A pair of one field (a copy of each example) and a field in two pairs (exchanged with which?).
    try Self.expectRefused(Self.tags + Self.ba(extra: "    mirror: [[Drug, Drug]]"), at: "tasks[0].mirror[0]", "two different")
    try Self.expectRefused(Self.tags + Self.ba(extra: "    mirror: [[Drug, Drug_ID], [Drug_ID, Target]]"), at: "tasks[0].mirror[1]",
                           "Drug_ID")
  }

  @Test func labelScales() throws {
    try Self.expectRefused(Self.tags + Self.ba(label: "{column: Y, scale: 0}"), at: "tasks[0].label.scale", "0")
    // JSON reads 1e400 as infinity.
    let json = #"{"tags": [{"name": "SMILES", "kind": "domain"}, {"name": "QED", "kind": "function"}], "tasks": [{"name": "QED", "#
      + #""stage": 2, "from": "molecules", "inputs": [{"field": "smiles"}], "template": "<SMILES> <input> <QED> <output>", "#
      + #""output": "regression", "label": {"descriptor": "qed", "scale": 1e400}}]}"#
    do {
      _ = try TaskConfig.parse(Array(json.utf8), file: "c.json", json: true)
      Issue.record("a scale of 1e400 is accepted")
    } catch let e as TaskConfigError {
      #expect(e.problems.contains { $0.keyPath == "tasks[0].label.scale" && $0.line != nil }, "\(e)")
    }
    // A scale multiplies a regressed number: on generated text it would be ignored.
    let generation = Self.ba(label: "{column: Drug_ID, scale: 0.1}").replacingOccurrences(of: "output: regression", with: "output: generation")
      .replacingOccurrences(of: "<BA> <output>", with: "<output>")
    try Self.expectRefused(Self.tags + generation, at: "tasks[0].label.scale", "regression")
    let negative = try #require(try Self.compiled(Self.tags + Self.ba(label: "{column: Y, scale: -1}")))
    let huge = try #require(try Self.compiled(Self.tags + Self.ba(label: "{column: Y, scale: 1e308}")))
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    var targets: [Double] = []
    let neg = try StageBuilder.build(catalog, plan: negative) { targets.append($0.target ?? .nan) }
    #expect(neg[0].examples > 50 && targets.allSatisfy { $0 <= 0 }, "\(neg)")
    var labels: [String] = []
    let r = try StageBuilder.build(catalog, plan: huge) { labels.append($0.output ?? "") }
    // Y (nM) times 1e308 is not finite: each such row is rejected, none crashes.
    #expect(r[0].rejected["label is not finite", default: 0] > 50, "\(r)")
    #expect(labels.allSatisfy { Double($0)?.isFinite == true }, "\(labels.prefix(5))")
  }

  @Test func maxLengths() throws {
    try Self.expectRefused(Self.tags + Self.qed(extra: "    max_length: 0"), at: "tasks[0].max_length")
    try Self.expectRefused("max_length: -5\n" + Self.tags + Self.qed(), at: "max_length")
    let none = try Self.compiled(Self.tags + Self.qed(extra: "    max_length: null"))
    #expect(none?.tasks[0].maxLength == Int.max)
    for huge in ["9223372036854775807", "99999999999999999999", "1e300"] {
      let c = try Self.compiled(Self.tags + Self.qed(extra: "    max_length: \(huge)"))
      #expect(c?.tasks[0].maxLength == Int.max, "\(huge): no limit")
    }
  }

  @Test func numbersTooLargeForTheirKey() throws {
    try Self.expectRefused("seed: 1e20\n" + Self.tags + Self.qed(), at: "seed", "too large")
    try Self.expectRefused("seed: 18446744073709551616\n" + Self.tags + Self.qed(), at: "seed", "too large")
    try Self.expectRefused("tokens_per_tag: 0\n" + Self.tags + Self.qed(), at: "tokens_per_tag")
    try Self.expectRefused("tokens_per_tag: 1e20\n" + Self.tags + Self.qed(), at: "tokens_per_tag")
    try Self.expectRefused("tokens_per_tag: 99999999999999999999\n" + Self.tags + Self.qed(), at: "tokens_per_tag")
    let y = Self.tags.replacingOccurrences(of: "{name: BA, kind: function}", with: "{name: BA, kind: function, tokens: 0}")
    try Self.expectRefused(y + Self.qed(), at: "tags[3].tokens")
    #expect(try Self.compiled("seed: 9223372036854775807\n" + Self.tags + Self.qed())?.config.seed == 9_223_372_036_854_775_807)
    // --seed takes any UInt64 and --print-config writes it: the file reads back to the same seed.
    for seed: UInt64 in [9_223_372_036_854_775_808, 18_446_744_073_709_551_615, 12_345_678_901_234_567_890] {
      #expect(try Self.compiled("seed: \(seed)\n" + Self.tags + Self.qed())?.config.seed == seed)
      #expect(try Self.compiled("# é日本\nseed:   +\(seed)\n" + Self.tags + Self.qed())?.config.seed == seed)
      var c = TaskConfig.tagLLM
      c.seed = seed
      #expect(try TaskConfig.parse(Array(c.yaml.utf8), file: "/tmp/h.yaml").seed == seed)
      let json = "{\"tags\": [{\"name\": \"日本\", \"kind\": \"domain\"}], \"seed\": \(seed), \"tasks\": []}"
      do {
        _ = try TaskConfig.parse(Array(json.utf8), file: "c.json", json: true)
      } catch let e as TaskConfigError {
        #expect(!e.problems.contains { $0.keyPath == "seed" }, "\(e)")
      }
    }
  }

  @Test func temporalYearRanges() throws {
    func temporal(_ body: String) -> String {
      "split:\n  method: temporal\n  temporal: {\(body)}\n" + Self.tags + Self.qed(extra: "    year: smiles")
    }
    try Self.expectRefused(temporal("train_valid_years: [2018, 2013], test_years: [2019, 2021]"),
                           at: "split.temporal.train_valid_years", "after")
    try Self.expectRefused(temporal("train_valid_years: [2013, 2018], test_years: [2021, 2019]"), at: "split.temporal.test_years",
                           "after")
    try Self.expectRefused(temporal("train_valid_years: [2013, 2020], test_years: [2019, 2021]"), at: "split", "overlap")
    try Self.expectRefused(temporal("train_valid_years: [1e20, 1e21], test_years: [2019, 2021]"),
                           at: "split.temporal.train_valid_years[0]", "too large")
    try Self.expectRefused(temporal("train_valid_years: [-9223372036854775808, 9223372036854775807], test_years: [2019, 2021]"),
                           at: "split", "overlap")
  }

  @Test func splitFractionsAboveOne() throws {
    try Self.expectRefused("split: {train: 1, valid: 1}\n" + Self.tags + Self.qed(), at: "split", "1")
    #expect(try Self.refusal("split: {train: 0, valid: 0}\n" + Self.tags + Self.qed()) == nil, "everything in test")
  }

  @Test func taskNamesDifferingOnlyInCase() throws {
    try Self.expectRefused(Self.tags + Self.qed() + Self.qed(name: "qed"), at: "tasks[1].name", "twice")
  }

  @Test func fileSystemUnsafeTaskNames() throws {
    for name in ["a/b", "../up", "a b", "a\\\\b", "", ".hidden", "-x", "x:y", "CON\\u0000", String(repeating: "n", count: 65), "日本"] {
      try Self.expectRefused(Self.tags + Self.qed(name: "\"\(name)\""), at: "tasks[0].name")
    }
    #expect(try Self.refusal(Self.tags + Self.qed(name: "CON")) == nil, "a name Windows reserves is no file name here")
  }

  @Test func tenThousandTasks() throws {
    func tasks(_ n: Int) -> String {
      var yaml = Self.tags
      for k in 0..<n {
        yaml += "  - {name: T\(k), stage: 2, from: molecules, inputs: [{field: smiles}], template: \"<SMILES> <input> <QED> <output>\", "
          + "output: regression, label: {descriptor: qed}}\n"
      }
      return yaml
    }
    // 10,000 tasks do not fit the size limit of a file.
    let start = Date()
    let e = try Self.refusal(tasks(10_000))
    #expect(Date().timeIntervalSince(start) < 10, "\(Date().timeIntervalSince(start)) s for 10,000 tasks")
    #expect(e?.problems.first?.message.contains("at most 1048576 bytes") == true, "\(e.map { "\($0)" } ?? "accepted")")
    // Each task reads its whole source: 3,000 of them would read the catalog 3,000 times.
    let e3 = try Self.refusal(tasks(3_000))
    #expect(e3?.problems.count == 1 && e3?.problems.first?.keyPath == "tasks" && e3?.problems.first?.message.contains("at most 256") == true,
            "\(e3.map { "\($0)" } ?? "accepted")")
    #expect(try Self.compiled(tasks(256))?.tasks.count == 256)
  }

  /// 3,000 tags and 3,000 templates naming a tag that does not exist: the report stays small.
  @Test func tenThousandBadTemplates() throws {
    var yaml = "tags:\n"
    for k in 0..<3_000 { yaml += "  - {name: Tag\(k), kind: function}\n" }
    yaml += "  - {name: SMILES, kind: domain}\ntasks:\n"
    for k in 0..<3_000 {
      yaml += "  - {name: T\(k), stage: 2, from: molecules, inputs: [{field: smiles}], template: \"<SMILES> <input> <Nope> <output>\", "
        + "output: regression, label: {descriptor: qed}}\n"
    }
    let start = Date()
    let e = try Self.refusal(yaml)
    let seconds = Date().timeIntervalSince(start)
    #expect(e != nil)
    #expect(seconds < 20, "\(seconds) s")
    #expect((e?.description.utf8.count ?? 0) < 1 << 20, "a report of \(e?.description.utf8.count ?? 0) bytes")
  }

  /// A text task's file: missing, a directory, a FIFO (which would block the open), binary, gzip.
  @Test func textFiles() throws {
    let dir = TestSupport.tempDirectory()
    let fm = FileManager.default
    try fm.createDirectory(at: dir.appendingPathComponent("folder.txt"), withIntermediateDirectories: true)
    #expect(mkfifo(dir.appendingPathComponent("fifo.txt").path, 0o600) == 0)
    var binary = [UInt8](repeating: 0, count: 4096)
    var rng = RNG(state: 3)
    for k in binary.indices { binary[k] = UInt8(truncatingIfNeeded: rng.next()) }
    try Data(binary).write(to: dir.appendingPathComponent("binary.txt"))
    try Data("Erste Zeile.\nZweite Zeile.\n".utf8).write(to: dir.appendingPathComponent("de.txt"))
    let gz = try TestSupport.shell("gzip -c '\(dir.path)/de.txt' > '\(dir.path)/de.txt.gz'")
    #expect(gz.status == 0)
    func config(_ file: String) -> String {
      """
      tags: [{name: DE, kind: domain, language: true}]
      tasks:
        - name: German
          stage: 1
          from: text
          file: \(JSONString.quoted(file))
          language: DE
          inputs: [{field: text}]
          template: "<SRC> <input>"
          output: none

      """
    }
    let out = dir.appendingPathComponent("out").path
    func build(_ file: String) throws -> Output {
      try Data(config(file).utf8).write(to: dir.appendingPathComponent("c.yaml"))
      try? fm.removeItem(atPath: out)
      let r = try Self.run(["build", "--config", dir.appendingPathComponent("c.yaml").path, "--catalog", Self.catalogPath,
                            "--out", out, "--quiet", "--json"], timeout: 30)
      let items = try fm.contentsOfDirectory(atPath: dir.path)
      #expect(!items.contains { $0.hasPrefix(".out.") }, "\(file): no temporary directory left: \(items)")
      return r
    }
    for file in ["missing.txt", "folder.txt", "fifo.txt", "/dev/zero"] {
      let r = try build(file)
      #expect(r.status == 78, "\(file): \(r.status) \(r.stderr)")
      #expect(r.stderr.contains("c.yaml:6:") && r.stderr.contains("tasks[0].file"), "\(file): \(r.stderr)")
      #expect(!fm.fileExists(atPath: out), "\(file): no output")
    }
    // The same files given on the command line (--text LANG=PATH).
    for file in ["fifo.txt", "folder.txt", "/dev/zero"] {
      try? fm.removeItem(atPath: out)
      let path = file.hasPrefix("/") ? file : dir.appendingPathComponent(file).path
      let r = try Self.run(["build", "--catalog", Self.catalogPath, "--out", out, "--quiet", "--tasks", "Language", "--text", "EN=" + path],
                           timeout: 30)
      #expect(r.status == 78 && r.stderr.contains(path), "--text EN=\(file): \(r.status) \(r.stderr)")
      #expect(!fm.fileExists(atPath: out), "\(file): no output")
    }
    let b = try build("binary.txt")
    #expect(b.status == 0, "binary: \(b.stderr)")
    let g = try build("de.txt.gz")
    #expect(g.status == 0, "gzip: \(g.stderr)")
    if g.status == 0 {
      let recs = try StageBuildTests.records(out).map { $0["formulation"] as? String ?? "" }.sorted()
      #expect(recs == ["<DE> Erste Zeile.", "<DE> Zweite Zeile."], "\(recs)")
    }
  }

  /// A binary "text" file: its lines are rejected as one class of reason, and the first
  /// rejections keep the real reason (the byte and column), not the class.
  @Test func binaryTextFileRejections() throws {
    let dir = TestSupport.tempDirectory()
    var bytes: [UInt8] = []
    for k in 0..<40 { bytes += [UInt8(ascii: "a"), 0x80 + UInt8(k), UInt8(ascii: "b"), 0x0A] }
    try Data(bytes).write(to: dir.appendingPathComponent("bin.txt"))
    let yaml = """
      tags: [{name: DE, kind: domain, language: true}]
      tasks:
        - {name: German, stage: 1, from: text, file: bin.txt, language: DE, inputs: [{field: text}], template: "<SRC> <input>", output: none}

      """
    let file = dir.appendingPathComponent("c.yaml").path
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    let plan = try TaskConfig.parse(Array(yaml.utf8), file: file).compile(for: catalog, file: file)
    let r = try StageBuilder.build(catalog, plan: plan) { _ in }
    #expect(r[0].rejected.count == 1 && r[0].rejected.values.first == 40, "\(r[0].rejected)")
    #expect(r[0].rejected.keys.first?.contains("UTF-8") == true, "\(r[0].rejected)")
    #expect(r[0].firstRejections.first?.contains("bin.txt:1: ") == true && r[0].firstRejections.first?.contains("0x80") == true
              && r[0].firstRejections.first?.contains("column 2") == true, "\(r[0].firstRejections)")
    #expect(StageBuilder.reasonClass("byte 0x9A at column 17 is not well-formed UTF-8") == "byte 0x# at column # is not well-formed UTF-8")
  }

  /// The configuration file itself: a directory, a FIFO, a device, a file over the size limit
  /// (read whole before the check, and parsed into a tree some 300 times its size) are refused
  /// before they are read; the largest file allowed parses in seconds.
  @Test func configurationFiles() throws {
    let dir = TestSupport.tempDirectory()
    #expect(mkfifo(dir.appendingPathComponent("fifo.yaml").path, 0o600) == 0)
    let big = dir.appendingPathComponent("big.yaml")
    try Data(("tags: [" + String(repeating: "1,", count: 1 << 20) + "1]\ntasks: []\n").utf8).write(to: big)
    for (path, message) in [(dir.path, "directory"), (dir.appendingPathComponent("fifo.yaml").path, "FIFO"), ("/dev/zero", "regular"),
                            (big.path, "at most 1048576 bytes"), (dir.appendingPathComponent("none.yaml").path, "No such file")]
    {
      do {
        _ = try TaskConfig.load(path: path)
        Issue.record("\(path) is read")
      } catch let e as TaskConfigError {
        #expect(e.file == path && e.problems.count == 1 && e.problems[0].message.contains(message), "\(e)")
      }
    }
    let largest = dir.appendingPathComponent("largest.yaml")
    let n = (YAMLConfig.maximumSize - 20) / 2
    try Data(("tags: [" + String(repeating: "1,", count: n) + "1]\ntasks: []\n").utf8).write(to: largest)
    let start = Date()
    #expect(throws: TaskConfigError.self) { try TaskConfig.load(path: largest.path) }
    #expect(Date().timeIntervalSince(start) < 15)
  }

  // MARK: - (c) A table the catalog lacks

  /// A task whose table is not in the catalog is reported as skipped with the reason; the others build.
  @Test func missingTableSkipsItsTaskOnly() throws {
    let dir = TestSupport.tempDirectory()
    let config = dir.appendingPathComponent("c.yaml")
    let dc = Self.ba().replacingOccurrences(of: "name: BA", with: "name: DC").replacingOccurrences(of: "tdc-dti", with: "tdc-drugcomb")
      .replacingOccurrences(of: "{field: Target, kind: protein}, {field: Drug, kind: smiles}",
                            with: "{field: Drug1, kind: smiles}, {field: Drug2, kind: smiles}")
      .replacingOccurrences(of: "<Protein> <input 0>", with: "<SMILES> <input 0>")
    try Data((Self.tags + Self.qed() + dc + Self.ba()).utf8).write(to: config)
    let out = dir.appendingPathComponent("out").path
    let r = try Self.run(["build", "--config", config.path, "--catalog", Self.catalogPath, "--out", out, "--json", "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let tasks = try #require(summary["tasks"] as? [String: [String: Any]])
    #expect((tasks["DC"]?["skipped"] as? String)?.contains("tdc-drugcomb") == true, "\(tasks)")
    #expect(r.stderr.contains("DC (stage 3): 0 examples") && r.stderr.contains("skipped: no tdc-drugcomb table rows"), "\(r.stderr)")
    for t in ["QED", "BA"] {
      let n = ["train", "valid", "test"].map { tasks[t]?[$0] as? Int ?? 0 }.reduce(0, +)
      #expect(n > 5, "\(t): \(n) examples")
      #expect(tasks[t]?["skipped"] is NSNull, "\(t) is built")
    }
  }
}
