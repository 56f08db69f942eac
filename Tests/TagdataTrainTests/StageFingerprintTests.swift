import Foundation
import Testing
import TestSupport

/// Each stage records a fingerprint of its config, its data and the stages before it. A plain
/// `tagdata train` with the same config over changed data refuses the stale stage (it used to be
/// taken as done); `tagdata run` trains such a stage again (PipelineRunTests).
@Suite struct StageFingerprintTests {
  @Test func changedDataUnderTheSameConfigIsRefused() throws {
    let dir = TestSupport.tempDirectory()
    let corpora = dir.appendingPathComponent("corpora")
    let flat = corpora.appendingPathComponent("uniprot/flat")
    try FileManager.default.createDirectory(at: flat, withIntermediateDirectories: true)
    let names = TestSupport.corpusFiles("uniprot/flat").map(\.lastPathComponent)
    for name in names {
      try FileManager.default.copyItem(at: TestSupport.corpus("uniprot/flat/" + name), to: flat.appendingPathComponent(name))
    }
    let config = dir.appendingPathComponent("c.json")
    try Data(#"{"seed": 1, "corpora": "\#(corpora.path)", "model": {"dimension": 16, "layers": 1, "heads": 2, "feedForward": 32}, "stages": [{"name": "base", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 2, "batch": 2, "length": 16, "learningRate": 0.01}]}"#.utf8)
      .write(to: config)
    let out = dir.appendingPathComponent("out").path
    let first = try tagdataBounded(["train", "--quiet", "--config", config.path, "--out", out])
    try #require(first.status == 0, "\(first.stderr)")
    let fingerprint = try String(contentsOfFile: out + "/stage-1-base/fingerprint", encoding: .utf8)
    #expect(fingerprint.count == 65)
    // Unchanged: done, nothing trained again.
    #expect(try tagdataBounded(["train", "--quiet", "--config", config.path, "--out", out]).status == 0)
    // Fewer corpus files: the stage's data changed under the same config.
    for name in names.prefix(names.count / 2) { try FileManager.default.removeItem(at: flat.appendingPathComponent(name)) }
    let changed = try tagdataBounded(["train", "--quiet", "--config", config.path, "--out", out])
    #expect(changed.status == 78, "\(changed.stderr)")
    #expect(changed.stderr.contains("fingerprint differs") && changed.stderr.contains("--restart"), "\(changed.stderr)")
    #expect(try String(contentsOfFile: out + "/stage-1-base/fingerprint", encoding: .utf8) == fingerprint)
    let restarted = try tagdataBounded(["train", "--quiet", "--config", config.path, "--out", out, "--restart"])
    #expect(restarted.status == 0, "\(restarted.stderr)")
    #expect(try String(contentsOfFile: out + "/stage-1-base/fingerprint", encoding: .utf8) != fingerprint)
  }
}
