import Foundation
import TagdataCatalog
import TagdataIO
@testable import TagdataTasks
import TestSupport
import Testing

/// Task configurations: the preset as a configuration, YAML files checked against the schema with
/// the key and line of each problem, references checked before any work, custom tasks built from
/// every kind of source.
@Suite struct TaskConfigTests {
  /// Every preset task's template, read back from its text, is Tag-LLM's template (FORMATS 7.2,
  /// checked string by string in TagLLMTests), and the preset's configuration says so.
  @Test func presetTemplatesParseToTagLLMsPieces() throws {
    let preset = TaskConfig.tagLLM
    var kinds: [String: TagLLM.TagKind] = [:]
    for t in preset.tags { kinds[t.name] = t.kind }
    #expect(preset.tasks.map(\.name) == TagLLM.Task.allCases.map(\.rawValue))
    for task in TagLLM.Task.allCases {
      let spec = try #require(preset.tasks.first { $0.name == task.rawValue })
      #expect(spec.stage == task.stage && spec.regression == task.regression, "\(task)")
      let pieces = try TaskTemplate.parse(spec.template, kinds: kinds)
      #expect(pieces == task.template, "\(task)")
      for ab in TagLLM.Ablation.allCases {
        #expect(TaskTemplate.ablate(pieces, stage: spec.stage, regression: spec.regression, ab) == task.template(ab), "\(task) \(ab)")
      }
    }
    #expect(preset.problems().isEmpty, "\(preset.problems())")
  }

  /// The preset printed as YAML reads back to the same configuration.
  @Test func presetYAMLReadsBack() throws {
    var preset = TaskConfig.tagLLM
    let back = try TaskConfig.parse(Array(preset.yaml.utf8), file: "tag-llm.yaml")
    preset.preset = nil
    #expect(back == preset)
    #expect(back.json == preset.json)
  }

  /// The built-in schema is the shipped file.
  @Test func builtInSchemaIsTheShippedFile() throws {
    let file = try String(contentsOf: TestSupport.root.appendingPathComponent("Schemas/task-config.schema.json"), encoding: .utf8)
    #expect(taskConfigSchemaText + "\n" == file)
  }

  @Test func templatesRefuseUndeclaredTags() {
    let kinds: [String: TagLLM.TagKind] = ["SMILES": .domain, "QED": .function]
    #expect(throws: TaskTemplate.ParseError.self) { try TaskTemplate.parse("<SMILE> <input>", kinds: kinds) }
    // Text that does not look like a tag stays text.
    let p = try? TaskTemplate.parse("a < b and c<>d <SMILES> <input 0>", kinds: kinds)
    #expect(p == [.text("a < b and c<>d "), .domain("SMILES"), .text(" "), .input(0, placeholder: "input 0")])
  }

  static let base = """
    seed: 7
    tags:
      - {name: SMILES, kind: domain}
      - {name: Protein, kind: domain}
      - {name: LogP, kind: function}
    tasks:
      - name: LogP
        stage: 2
        from: molecules
        inputs: [{field: smiles}]
        template: "The SMILES is <SMILES> <input>. Its logP is <LogP> <output>."
        output: regression
        label: {descriptor: logp}

    """

  func problems(_ yaml: String) -> [TaskConfigError.Problem] {
    do {
      _ = try TaskConfig.parse(Array(yaml.utf8), file: "t.yaml")
      return []
    } catch let e as TaskConfigError {
      return e.problems
    } catch {
      return [.init(keyPath: "?", message: "\(error)")]
    }
  }

  /// Problems name the key path and the line of the value at fault.
  @Test func problemsNameKeyAndLine() {
    #expect(problems(Self.base).isEmpty, "\(problems(Self.base))")
    let wrongType = problems(Self.base.replacingOccurrences(of: "stage: 2", with: "stage: two"))
    #expect(wrongType.contains { $0.keyPath == "tasks[0].stage" && $0.line == 8 }, "\(wrongType)")
    let unknownKey = problems(Self.base.replacingOccurrences(of: "output: regression", with: "output: regression\n    ouptut: x"))
    #expect(unknownKey.contains { $0.keyPath.hasSuffix("ouptut") || $0.message.contains("ouptut") }, "\(unknownKey)")
    let descriptor = problems(Self.base.replacingOccurrences(of: "logp", with: "logq"))
    #expect(descriptor.contains { $0.keyPath == "tasks[0].label.descriptor" && $0.line == 13 && $0.message.contains("logq") },
            "\(descriptor)")
    let tag = problems(Self.base.replacingOccurrences(of: "<LogP> <output>", with: "<LogD> <output>"))
    #expect(tag.contains { $0.keyPath == "tasks[0].template" && $0.line == 11 && $0.message.contains("<LogD>") }, "\(tag)")
    let field = problems(Self.base.replacingOccurrences(of: "{field: smiles}", with: "{field: smile}"))
    #expect(field.contains { $0.keyPath == "tasks[0].inputs[0].field" && $0.line == 10 }, "\(field)")
    let input = problems(Self.base.replacingOccurrences(of: "<input>", with: "<input 1>"))
    #expect(input.contains { $0.keyPath == "tasks[0].template" && $0.message.contains("<input 1>") }, "\(input)")
    let noOutput = problems(Self.base.replacingOccurrences(of: " Its logP is <LogP> <output>.", with: ""))
    #expect(noOutput.contains { $0.message.contains("<output>") }, "\(noOutput)")
    let temporal = problems("split: {method: temporal}\n" + Self.base)
    #expect(temporal.contains { $0.keyPath == "tasks[0]" && $0.message.contains("year") }, "\(temporal)")
    let twice = problems(Self.base.replacingOccurrences(of: "  - {name: LogP, kind: function}", with:
      "  - {name: LogP, kind: function}\n  - {name: LogP, kind: domain}"))
    #expect(twice.contains { $0.keyPath == "tags[3].name" && $0.line == 6 }, "\(twice)")
  }

  /// A configuration naming a column the catalog's table lacks fails before any output exists.
  @Test func missingColumnFailsBeforeWork() throws {
    let path = try StageBuildTests.catalog(tables: ["tdc-dti"], describe: false)
    let dir = TestSupport.tempDirectory()
    let config = dir.appendingPathComponent("c.yaml")
    try Data((Self.base + """
        - name: Affinity
          stage: 3
          from: table
          table: tdc-dti
          inputs: [{field: Target, kind: protein}, {field: Drug, kind: smiles}]
          template: "<Protein> <input 0> <SMILES> <input 1> <LogP> <output>"
          output: regression
          label: {column: Affinity}

      """).utf8).write(to: config)
    let out = dir.appendingPathComponent("out").path
    let r = try TestSupport.tagdata(["build", "--config", config.path, "--catalog", path, "--out", out])
    #expect(r.status == 78, "\(r.stderr)")
    #expect(r.stderr.contains("tasks[1]") && r.stderr.contains("no column Affinity") && r.stderr.contains("Drug_ID"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out))
    let items = try FileManager.default.contentsOfDirectory(atPath: dir.path)
    #expect(!items.contains { $0.hasPrefix(".out.") }, "no temporary directory: \(items)")
  }

  /// Custom tasks: a molecule descriptor, aggregated BindingDB measurements (pKd), a text file in
  /// a language; their records, labels and ids.
  @Test func customTasksFromEverySource() throws {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let files = ["pubchem/sdf/pubchem.200.sdf", "bindingdb/bindingdb_2022m5_sample.tsv"]
    let r = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + files.map { TestSupport.corpus($0).path })
    #expect(r.status == 0, "\(r.stderr)")
    let dir = TestSupport.tempDirectory()
    try Data("Das Enzym bindet.\n\n  Ein zweiter Satz.  \r\nDas Enzym bindet.\n".utf8).write(to: dir.appendingPathComponent("de.txt"))
    let config = dir.appendingPathComponent("c.yaml")
    try Data((Self.base + """
        - name: pKi
          stage: 3
          from: measurements
          measurement: {kind: Ki, aggregate: median, scale: pX}
          inputs: [{field: sequence}, {field: smiles}]
          template: "<Protein> <input 0> <SMILES> <input 1> <LogP> <output>"
          output: regression
          label: {measurement: true}
          max_length: null
        - name: German
          stage: 1
          from: text
          file: de.txt
          language: de
          inputs: [{field: text}]
          template: "<SRC> <input>"
          output: none

      """).utf8).write(to: config)
    let out = dir.appendingPathComponent("out").path
    let b = try TestSupport.tagdata(["build", "--config", config.path, "--catalog", path, "--out", out, "--json", "--shards", "2"])
    #expect(b.status == 0, "\(b.stderr)")
    let recs = try StageBuildTests.records(out)
    let logp = recs.filter { $0["task"] as? String == "LogP" }
    #expect(logp.count > 150, "\(logp.count) LogP records")
    let pki = recs.filter { $0["task"] as? String == "pKi" }
    #expect(pki.count > 10, "\(pki.count) pKi records")
    for rec in pki {
      let ids = rec["ids"] as! [String: Any]
      #expect((ids["molecules"] as! [String]).count == 1 && (ids["proteins"] as! [String]).count == 1)
      let t = rec["target"] as! Double
      #expect(t > 0 && t < 15, "a pKi: \(t)")
    }
    let german = recs.filter { $0["task"] as? String == "German" }.map { $0["formulation"] as! String }.sorted()
    #expect(german == ["<DE> Das Enzym bindet.", "<DE> Ein zweiter Satz."], "a repeated line is one example")
    let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json")))
      as? [String: Any])
    let tags = (manifest["tags"] as! [[String: Any]]).map { $0["name"] as! String }
    #expect(tags == ["SMILES", "Protein", "LogP", "DE"], "declared tags, then the language met in the data")
  }
}
