import Foundation
import TagdataPipeline
import TagdataTasks
import Testing
import TestSupport

/// Pipeline configurations: the schema file and the built-in copy agree, the shipped example
/// reads, and every kind of mistake is reported with its key path and line before any work.
@Suite struct PipelineConfigTests {
  @Test func builtInSchemaIsTheFile() throws {
    let file = try String(contentsOf: TestSupport.root.appendingPathComponent("Schemas/pipeline-config.schema.json"), encoding: .utf8)
    let source = try String(contentsOf: TestSupport.root.appendingPathComponent("Sources/TagdataPipeline/PipelineConfigSchema.swift"),
                            encoding: .utf8)
    #expect(source.contains("#\"\"\"\n" + file + "\"\"\"#"))
  }

  @Test func shippedExampleReads() throws {
    let c = try PipelineConfig.load(path: TestSupport.root.appendingPathComponent("Examples/pipeline.yaml").path)
    #expect(c.ingest.count == 5)
    #expect(c.inputs(of: c.ingest[0]).count > 40)
    #expect(!c.inputs(of: c.ingest[0]).contains { $0.hasSuffix("sid577309.xml") })
    let variants = ["tag-llm", "no-domain", "no-function", "no-tags"]
    #expect(c.builds.map(\.name) == variants + ["ba-temporal", "custom"])
    #expect(c.builds.map(\.ablation) == [nil, .noDomain, .noFunction, TagLLM.Ablation.none, nil, nil])
    #expect(c.tokenize.map(\.regressionAsText) == [false, false, false, false, true])
    #expect(c.eval.allSatisfy { $0.length == 128 })
    let steps = try Pipeline(config: c, output: TestSupport.tempDirectory().path, toolVersion: "test").stepIDs()
    let all = variants + ["number-as-text"]
    #expect(steps == ["ingest", "describe"] + (variants + ["ba-temporal", "custom"]).map { "build:" + $0 } + all.map { "tokenize:" + $0 }
      + all.map { "train:" + $0 } + all.map { "eval:" + $0 } + ["compare:ablations"])
    #expect(c.compare.first?.reports.map(\.eval) == ["tag-llm", "no-function", "no-domain", "no-tags", "number-as-text"])
  }

  /// Each broken configuration gives the key path and the line of the mistake.
  @Test(arguments: [
    ("ingest:\n  - files: [X]\n    colour: red\n", "ingest[0].colour", 3),
    ("ingest:\n  - files: NOFILE\n", "ingest[0].files", 2),
    ("ingest:\n  - files: [no/such/*.sdf]\n", "ingest[0].files", 2),
    ("ingest:\n  - files: [X]\nbuilds:\n  - name: a\n    split: sideways\n", "builds[0].split", 5),
    ("ingest:\n  - files: [X]\nbuilds:\n  - name: a\n  - name: a\n", "builds[1].name", 5),
    ("ingest:\n  - files: [X]\ntokenize:\n  - name: t\n    build: nope\n", "tokenize[0].build", 5),
    ("ingest:\n  - files: [X]\nbuilds:\n  - name: a/b\n", "builds[0].name", 4),
    ("ingest:\n  - files: [X]\n    exclude: [X]\n", "ingest[0].files", 2),
    ("ingest:\n  - files: [X]\neval:\n  - name: e\n    train: t\n    dataset: d\n", "eval[0].train", 5),
    ("ingest:\n  - files: [X]\ncompare:\n  - name: c\n    reports: {both: e}\n", "compare[0].reports", 5),
    ("ingest:\n  - files: [X]\n    preset: tdc-dti\n    columns: \"a=smiles\"\n", "ingest[0]", 2),
    ("catalog: ../x.sqlite\ningest:\n  - files: [X]\n", "catalog", 1),
  ])
  func mistakesNameKeyAndLine(_ text: String, _ key: String, _ line: Int) throws {
    let dir = TestSupport.tempDirectory()
    let file = dir.appendingPathComponent("p.yaml")
    let corpus = TestSupport.corpus("tables/tdc_dti_sample.csv").path
    try Data(text.replacingOccurrences(of: "[X]", with: "[\(corpus)]").utf8).write(to: file)
    do {
      _ = try PipelineConfig.load(path: file.path)
      Issue.record("accepted: \(text)")
    } catch let e as TaskConfigError {
      let hit = e.problems.contains { $0.keyPath == key && $0.line == line }
      #expect(hit, "\(text): \(e)")
      #expect(e.description.contains(file.path + ":\(line)"), "\(e)")
    }
  }

  /// The command checks the whole configuration before it writes anything.
  @Test func commandRefusesBeforeAnyWork() throws {
    let dir = TestSupport.tempDirectory()
    let file = dir.appendingPathComponent("p.yaml")
    try Data("ingest:\n  - files: [\(TestSupport.corpus("tables/tdc_dti_sample.csv").path)]\ntrain:\n  - name: t\n    config: none.json\n    dataset: missing\n".utf8)
      .write(to: file)
    let out = dir.appendingPathComponent("out").path
    let r = try TestSupport.tagdata(["run", "--config", file.path, "--out", out])
    #expect(r.status == 78, "\(r.status) \(r.stderr)")
    #expect(r.stderr.contains("train[0].dataset") && r.stderr.contains("train[0].config"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}
