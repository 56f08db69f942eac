import Foundation
import TagdataIO
import TagdataTasks
import TestSupport
import Testing

/// A configuration written in YAML, read by YAMLConfig and checked by JSONSchema against the
/// shipped train-config schema: the problems point at the YAML lines.
@Suite struct YAMLSchemaTests {
  static func trainSchema() throws -> JSONSchema {
    try JSONSchema(json: Array(try Data(contentsOf: TestSupport.root.appendingPathComponent("Schemas/train-config.schema.json"))))
  }

  @Test func yamlConfigProblemsNameTheirYAMLLines() throws {
    let yaml = """
      # a small run
      seed: 7
      model:
        dimension: 64
        layers: 2
        heads: 4
        feedForward: 128
      stages:
        - name: base
          kind: base
          data: {builtin: uniprot-text}
          steps: 10
          batch: 4
          length: 64
          learningRate: 0.001
        - name: .hidden
          kind: domian
          data:
            path: data/x
          steps: 0
          batch: 2
          length: 32
          learningRate: 1e-3
          warmpu: 3
      """
    let node = try YAMLConfig.parse(Array(yaml.utf8), file: "run.yaml")
    let problems = try Self.trainSchema().validate(node)
    #expect(problems.map(\.description) == [
      "line 16, column 11: stages[1].name: \".hidden\" does not match the pattern ^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$",
      "line 17, column 11: stages[1].kind: expected one of \"base\", \"domain\", \"function\"; found \"domian\"",
      "line 20, column 12: stages[1].steps: must be at least 1, found 0",
      "line 24, column 13: stages[1].warmpu: unknown key \"warmpu\"; known keys: name, kind, data, steps, batch, length, learningRate, "
        + "warmup, accumulate, validateEvery, checkpointEvery, regressionScale, tags, heads, optimizer, tagInitialization, "
        + "bidirectionalInputs, standardizeTargets, "
        + "trainEarlierTags, vocabularySize",
    ])
  }

  @Test func theSameConfigInJSONAndYAMLGetsTheSameVerdicts() throws {
    let schema = try Self.trainSchema()
    let json = """
      {"seed": 1, "base": "m", "model": {"dimension": 8, "layers": 1, "heads": 2, "feedForward": 16},
       "stages": [{"name": "a", "kind": "base", "data": {}, "steps": 1, "batch": 1, "length": 2, "learningRate": 0}]}
      """
    // JSON is YAML (flow style): the two readers must build the same tree.
    let a = schema.validate(try ConfigJSON.parse(Array(json.utf8)))
    let b = schema.validate(try YAMLConfig.parse(Array(json.utf8), file: "run.yaml"))
    #expect(a.map(\.keyPath) == ["", "stages[0].data", "stages[0].learningRate"])
    #expect(a == b)
  }
}
