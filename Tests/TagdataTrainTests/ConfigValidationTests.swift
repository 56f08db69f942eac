import Foundation
import Testing
import TestSupport
import TagdataShards
import TagdataTokenizer
@testable import TagdataTrain

/// Runs tagdata, killing it after `seconds` (a hang is a failure, not a stuck test run).
func tagdataBounded(_ arguments: [String], seconds: Double = 120) throws -> (status: Int32, stderr: String, timedOut: Bool) {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: TestSupport.tagdataBinary)
  p.arguments = arguments
  let err = Pipe()
  p.standardError = err
  p.standardOutput = FileHandle.nullDevice
  try p.run()
  nonisolated(unsafe) var errData = Data()
  let group = DispatchGroup()
  group.enter()
  DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
  let deadline = Date().addingTimeInterval(seconds)
  var timedOut = false
  while p.isRunning {
    if Date() > deadline {
      kill(p.processIdentifier, SIGKILL)
      timedOut = true
      break
    }
    Thread.sleep(forTimeInterval: 0.01)
  }
  p.waitUntilExit()
  group.wait()
  return (p.terminationStatus, String(decoding: errData, as: UTF8.self), timedOut)
}

@Suite struct ConfigValidationTests {
  static let corpora = TestSupport.root.appendingPathComponent("Corpora").path

  /// A small valid config; `stage` and `model` are spliced in to make bad ones.
  static func config(model: String = #""dimension": 16, "layers": 1, "heads": 2, "feedForward": 32"#,
                     stage: String = #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01"#,
                     extra: String = "", stages: String? = nil) -> String
  {
    let s = stages ?? #"[{"name": "base", "kind": "base", "data": {"builtin": "uniprot-text"}, "# + stage + "}]"
    return #"{"seed": 1, "corpora": ""# + corpora + #"", "model": {"# + model + "}" + extra + #", "stages": "# + s + "}"
  }

  /// Bad configs, the key path the error must name, and whether the JSON schema can say it too
  /// (false: a model constraint the schema cannot express).
  static let bad: [(name: String, text: String, keyPath: String, schema: Bool)] = [
    ("negative dimension", config(model: #""dimension": -4, "layers": 1, "heads": 2, "feedForward": 32"#), "model.dimension", true),
    ("zero dimension", config(model: #""dimension": 0, "layers": 1, "heads": 2, "feedForward": 32"#), "model.dimension", true),
    ("zero layers", config(model: #""dimension": 16, "layers": 0, "heads": 2, "feedForward": 32"#), "model.layers", true),
    ("negative layers", config(model: #""dimension": 16, "layers": -1, "heads": 2, "feedForward": 32"#), "model.layers", true),
    ("zero heads", config(model: #""dimension": 16, "layers": 1, "heads": 0, "feedForward": 32"#), "model.heads", true),
    ("negative heads", config(model: #""dimension": 16, "layers": 1, "heads": -2, "feedForward": 32"#), "model.heads", true),
    ("zero feed-forward", config(model: #""dimension": 16, "layers": 1, "heads": 2, "feedForward": 0"#), "model.feedForward", true),
    ("dimension not divisible", config(model: #""dimension": 18, "layers": 1, "heads": 4, "feedForward": 32"#), "model.dimension", false),
    ("odd head width", config(model: #""dimension": 12, "layers": 1, "heads": 4, "feedForward": 32"#), "model.dimension", false),
    ("vocabulary too small", config(model: #""vocabularySize": 10, "dimension": 16, "layers": 1, "heads": 2, "feedForward": 32"#),
     "model.vocabularySize", false),
    ("zero vocabulary", config(model: #""vocabularySize": 0, "dimension": 16, "layers": 1, "heads": 2, "feedForward": 32"#),
     "model.vocabularySize", true),
    ("huge dimension", config(model: #""dimension": 1000000000, "layers": 1, "heads": 2, "feedForward": 32"#), "model.dimension", true),
    ("zero batch", config(stage: #""steps": 2, "batch": 0, "length": 16, "learningRate": 0.01"#), "stages[0].batch", true),
    ("negative batch", config(stage: #""steps": 2, "batch": -3, "length": 16, "learningRate": 0.01"#), "stages[0].batch", true),
    ("zero steps", config(stage: #""steps": 0, "batch": 2, "length": 16, "learningRate": 0.01"#), "stages[0].steps", true),
    ("length one", config(stage: #""steps": 2, "batch": 2, "length": 1, "learningRate": 0.01"#), "stages[0].length", true),
    ("negative length", config(stage: #""steps": 2, "batch": 2, "length": -5, "learningRate": 0.01"#), "stages[0].length", true),
    ("negative learning rate", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": -0.01"#),
     "stages[0].learningRate", true),
    ("zero learning rate", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0"#), "stages[0].learningRate", true),
    ("zero accumulate", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01, "accumulate": 0"#),
     "stages[0].accumulate", true),
    ("negative warmup", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01, "warmup": -1"#),
     "stages[0].warmup", true),
    ("bad validation fraction", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01"#)
      .replacingOccurrences(of: #""builtin": "uniprot-text"}"#, with: #""builtin": "uniprot-text", "validationFraction": 1.5}"#),
     "stages[0].data.validationFraction", true),
    ("zero tag rows", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01, "tags": [{"name": "T", "rows": 0}]"#),
     "stages[0].tags[0].rows", true),
    ("negative tag rows", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01, "tags": [{"name": "T", "rows": -2}]"#),
     "stages[0].tags[0].rows", true),
    ("no stages", config(stages: "[]"), "stages", true),
    ("unknown key", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01, "bacth": 3"#), "stages[0].bacth", true),
    ("unknown kind", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01"#)
      .replacingOccurrences(of: #""kind": "base""#, with: #""kind": "other""#), "stages[0].kind", true),
    ("unknown builtin", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01"#)
      .replacingOccurrences(of: "uniprot-text", with: "no-such-set"), "stages[0].data.builtin", true),
    ("string steps", config(stage: #""steps": "2", "batch": 2, "length": 16, "learningRate": 0.01"#), "stages[0].steps", true),
    ("fractional batch", config(stage: #""steps": 2, "batch": 2.5, "length": 16, "learningRate": 0.01"#), "stages[0].batch", true),
    ("zero threads", config(extra: #", "threads": 0"#), "threads", true),
    ("negative seed", config().replacingOccurrences(of: #""seed": 1"#, with: #""seed": -1"#), "seed", true),
    // A function stage whose dataset regresses on a head that no stage declares (it crashed).
    ("unknown head", config(stages: #"""
      [{"name": "f", "kind": "function", "data": {"builtin": "protein-hydrophobicity"}, "tags": [{"name": "Protein", "rows": 1},
        {"name": "Hydrophobic", "rows": 1}], "heads": ["Other"], "steps": 2, "batch": 2, "length": 16, "learningRate": 0.01}]
      """#), "stages[0].heads", false),
    ("missing tag", config(stages: #"""
      [{"name": "d", "kind": "domain", "data": {"builtin": "protein-sequences"}, "steps": 2, "batch": 2, "length": 16,
        "learningRate": 0.01}]
      """#), "stages[0].tags", false),
    ("shrinking vocabulary", config(stages: #"""
      [{"name": "d", "kind": "domain", "data": {"builtin": "uniprot-text"}, "vocabularySize": 100, "steps": 2, "batch": 2,
        "length": 16, "learningRate": 0.01}]
      """#), "stages[0].vocabularySize", false),
    ("growing outside a domain stage", config(stages: #"""
      [{"name": "b", "kind": "base", "data": {"builtin": "uniprot-text"}, "vocabularySize": 300, "steps": 2, "batch": 2,
        "length": 16, "learningRate": 0.01}]
      """#), "stages[0].vocabularySize", false),
    ("duplicate stage names", config(stages: #"""
      [{"name": "b", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 2, "batch": 2, "length": 16, "learningRate": 0.01},
       {"name": "b", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 2, "batch": 2, "length": 16, "learningRate": 0.01}]
      """#), "stages[1].name", false),
    // Names that would reach the file system.
    ("stage name escaping --out", config(stages: #"""
      [{"name": "/../../x", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 2, "batch": 2, "length": 16, "learningRate": 0.01}]
      """#), "stages[0].name", true),
    ("dot stage name", config(stages: #"""
      [{"name": "..", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 2, "batch": 2, "length": 16, "learningRate": 0.01}]
      """#), "stages[0].name", true),
    ("tag name with a slash", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01, "tags": [{"name": "a/b", "rows": 1}]"#),
     "stages[0].tags[0].name", true),
    ("head name with a slash", config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.01, "heads": ["../h"]"#),
     "stages[0].heads[0]", true),
  ]

  @Test func theSmallConfigIsValid() throws {
    let c = try TrainConfig.parse(Array(Self.config().utf8))
    #expect(c.stages.count == 1)
    _ = try TrainConfig.load(from: TestSupport.root.appendingPathComponent("Examples/train-small.json").path)
  }

  /// Each bad config is refused before any work, naming its key path.
  @Test func badConfigsNameTheirKeyPath() throws {
    for c in Self.bad {
      do {
        _ = try TrainConfig.parse(Array(c.text.utf8), file: "bad.json")
        Issue.record("\(c.name): accepted")
      } catch let e as TrainConfigError {
        #expect(e.problems.contains { $0.keyPath == c.keyPath }, "\(c.name): \(e)")
        #expect(e.description.contains("bad.json:"), "\(c.name): \(e)")
      }
    }
  }

  /// The CLI exits 78 on each of them, at once: no crash, no hang, nothing written outside --out.
  @Test func theCommandRefusesBadConfigsWith78() throws {
    let dir = TestSupport.tempDirectory()
    for (i, c) in Self.bad.enumerated() {
      let path = dir.appendingPathComponent("bad\(i).json").path
      try Data(c.text.utf8).write(to: URL(fileURLWithPath: path))
      let out = dir.appendingPathComponent("out/run\(i)").path
      let r = try tagdataBounded(["train", "--quiet", "--config", path, "--out", out], seconds: 60)
      #expect(!r.timedOut, "\(c.name): still running after 60 s")
      #expect(r.status == 78, "\(c.name): exit \(r.status): \(r.stderr)")
      #expect(r.stderr.contains(c.keyPath), "\(c.name): \(r.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path))
    #expect(!FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().appendingPathComponent("x").path))
  }

  /// Malformed JSON: the line and column of the damage.
  @Test func malformedJSONGivesLineAndColumn() throws {
    let text = "{\n  \"seed\": 1,\n  \"stages\": [\n    {\"name\": \"a\",, \"kind\": \"base\"}\n  ]\n}\n"
    do {
      _ = try TrainConfig.parse(Array(text.utf8), file: "x.json")
      Issue.record("accepted")
    } catch let e as TrainConfigError {
      #expect(e.problems.first?.line == 4 && e.problems.first?.column == 18, "\(e)")
      #expect(e.description.hasPrefix("x.json:4:18: "), "\(e)")
    }
    for (text, line, column) in [("{\"seed\": 1", 1, 11), ("[1, 2,\n]", 2, 1), ("{\"a\": tru}", 1, 7), ("{\"a\": \"x\n\"}", 1, 9),
                                 ("{\"a\": 1, \"a\": 2}", 1, 10), (String(repeating: "[", count: 100), 1, 65)] {
      do {
        _ = try TrainConfig.parse(Array(text.utf8))
        Issue.record("accepted \(text)")
      } catch let e as TrainConfigError {
        #expect(e.problems.first?.line == line && e.problems.first?.column == column, "\(text): \(e)")
      }
    }
    // A semantic error is located too.
    do {
      _ = try TrainConfig.parse(Array(Self.config(stage: "\"steps\": 2,\n \"batch\": 0, \"length\": 16, \"learningRate\": 0.01").utf8))
    } catch let e as TrainConfigError {
      #expect(e.problems.first?.keyPath == "stages[0].batch" && e.problems.first?.line == 2 && e.problems.first?.column == 11, "\(e)")
    }
  }

  /// The schema says what the validator says: jsonschema refuses every bad config the schema can
  /// express, and accepts the good ones.
  @Test func theSchemaAgreesWithTheValidator() throws {
    guard let python = TestSupport.python else {
      if TestSupport.interopRequired { Issue.record("no venv python") }
      return
    }
    let dir = TestSupport.tempDirectory()
    var expected: [String] = []
    var cases = Self.bad.filter(\.schema).map { (name: $0.name, text: $0.text, valid: false) }
    cases.append(("small", Self.config(), true))
    cases.append(("example", try String(contentsOfFile: TestSupport.root.appendingPathComponent("Examples/train-small.json").path,
                                        encoding: .utf8), true))
    for (i, c) in cases.enumerated() {
      try Data(c.text.utf8).write(to: dir.appendingPathComponent("c\(i).json"))
      expected.append("\(i) \(c.valid)")
    }
    let r = try TestSupport.run(python, ["-c", """
      import json, sys, jsonschema
      schema = json.load(open(sys.argv[1]))
      jsonschema.Draft202012Validator.check_schema(schema)
      v = jsonschema.Draft202012Validator(schema)
      for i in range(int(sys.argv[3])):
          print(i, "true" if v.is_valid(json.load(open(sys.argv[2] + "/c%d.json" % i))) else "false")
      """, TestSupport.root.appendingPathComponent("Schemas/train-config.schema.json").path, dir.path, "\(cases.count)"])
    let got = r.stdout.split(separator: "\n").map(String.init)
    #expect(got.count == cases.count, "\(r.stderr)")
    for (g, (e, c)) in zip(got, zip(expected, cases)) { #expect(g == e, "\(c.name): schema says \(g), expected \(e)") }
  }

  /// A run whose loss stops being finite stops with exit 2 and says so (it failed on encoding
  /// NaN into the log).
  @Test func aDivergingRunExits2() throws {
    let dir = TestSupport.tempDirectory()
    let examples = (0..<20).map { k in
      TokenDataset.Example(tokens: [1, 5 + k, 6, 260], lossMask: [false, false, false, false], task: "H",
                           regression: [TokenDataset.Regression(head: "H", position: 3, target: 3e38)])
    }
    try TokenDataset(vocabularySize: 260, tags: ["H": [260]], examples: examples).write(to: dir.appendingPathComponent("data").path)
    let config = Self.config(stages: #"""
      [{"name": "f", "kind": "function", "data": {"path": "data"}, "tags": [{"name": "H", "rows": 1}], "heads": ["H"],
        "steps": 3, "batch": 2, "length": 8, "learningRate": 0.01}]
      """#)
    let path = dir.appendingPathComponent("c.json").path
    try Data(config.utf8).write(to: URL(fileURLWithPath: path))
    let r = try tagdataBounded(["train", "--quiet", "--config", path, "--out", dir.appendingPathComponent("out").path])
    #expect(r.status == 2, "\(r.stderr)")
    #expect(r.stderr.contains("diverged") && r.stderr.contains("stage f, step 1"), "\(r.stderr)")
  }

  /// A token dataset with ids beyond the model's vocabulary or a head the model lacks is a config
  /// error naming the stage's data, not a crash.
  @Test func aDatasetTheModelCannotReadIsAConfigError() throws {
    let dir = TestSupport.tempDirectory()
    let examples = (0..<20).map { k in TokenDataset.Example(tokens: [1, 5 + k, 300], lossMask: [false, true, true], task: "t") }
    try TokenDataset(vocabularySize: 301, tags: [:], examples: examples).write(to: dir.appendingPathComponent("data").path)
    let config = Self.config(stages: #"""
      [{"name": "b", "kind": "base", "data": {"path": "data"}, "steps": 2, "batch": 2, "length": 8, "learningRate": 0.01}]
      """#)
    let path = dir.appendingPathComponent("c.json").path
    try Data(config.utf8).write(to: URL(fileURLWithPath: path))
    let r = try tagdataBounded(["train", "--quiet", "--config", path, "--out", dir.appendingPathComponent("out").path])
    #expect(r.status == 78 && r.stderr.contains("stages[0].data") && r.stderr.contains("token id 300"), "\(r.stderr)")
  }
}

@Suite struct RunConfigTests {
  /// A run stores its config with its hash; the same config resumes (here: finds every stage
  /// done), a changed one is refused with exit 78 and the output left as it was, unless
  /// `--restart` discards it. A shape change is refused too (it crashed on loading the old
  /// checkpoints), and an output without a recorded config is not resumed blindly.
  @Test func aChangedConfigIsRefusedUnlessRestarted() throws {
    let dir = TestSupport.tempDirectory()
    let out = dir.appendingPathComponent("out").path
    let path = dir.appendingPathComponent("c.json").path
    func write(_ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
    func train(_ extra: [String] = []) throws -> (status: Int32, stderr: String, timedOut: Bool) {
      try tagdataBounded(["train", "--quiet", "--config", path, "--out", out] + extra)
    }
    let model = out + "/stage-1-base/model/model.safetensors"
    try write(ConfigValidationTests.config())
    var r = try train()
    try #require(r.status == 0, "\(r.stderr)")
    let first = try Data(contentsOf: URL(fileURLWithPath: model))
    let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/run-config.json"))) as! [String: Any]
    #expect((record["sha256"] as? String)?.count == 64 && record["config"] is [String: Any])
    // The same config, written differently (key order, spaces): resumes.
    try write(ConfigValidationTests.config().replacingOccurrences(of: "\"seed\": 1,", with: "\"seed\" :1 ,"))
    r = try train()
    #expect(r.status == 0, "\(r.stderr)")
    // Another learning rate: refused, nothing touched.
    try write(ConfigValidationTests.config(stage: #""steps": 2, "batch": 2, "length": 16, "learningRate": 0.02"#))
    r = try train()
    #expect(r.status == 78, "\(r.stderr)")
    #expect(r.stderr.contains("--restart") && r.stderr.contains("stages[0] (base) differs"), "\(r.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == first)
    // Another shape: refused, not a crash.
    try write(ConfigValidationTests.config(model: #""dimension": 32, "layers": 1, "heads": 2, "feedForward": 32"#))
    r = try train()
    #expect(r.status == 78 && r.stderr.contains("model differs"), "\(r.stderr)")
    // --restart: trained anew with the new shape.
    r = try train(["--restart"])
    #expect(r.status == 0, "\(r.stderr)")
    let restarted = try Model.load(from: out + "/stage-1-base/model")
    #expect(restarted.config.dimension == 32)
    // An output whose config is not recorded is not resumed.
    try FileManager.default.removeItem(atPath: out + "/run-config.json")
    r = try train()
    #expect(r.status == 78 && r.stderr.contains("not recorded"), "\(r.stderr)")
    // An --out that cannot be made (a file is in the way): an output failure, exit 74.
    try Data("x".utf8).write(to: URL(fileURLWithPath: dir.appendingPathComponent("file").path))
    let blocked = try tagdataBounded(["train", "--quiet", "--config", path, "--out", dir.appendingPathComponent("file/out").path])
    #expect(blocked.status == 74 && blocked.stderr.contains("output directory"), "\(blocked.stderr)")
  }
}
