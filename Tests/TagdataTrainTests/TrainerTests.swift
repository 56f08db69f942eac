import Foundation
import Testing
import TestSupport
@testable import TagdataTrain

@Suite(.serialized) struct TrainerTests {
  static let example = TestSupport.root.appendingPathComponent("Examples/train-small.json").path

  /// The shipped example config lowers the validation loss in every stage it runs, and the
  /// stages freeze what they should: after the domain and function stages the base weights are
  /// bit-identical to the base stage's; the function stage leaves the domain tag untouched;
  /// each stage changes exactly the tag rows and heads it declares.
  @Test func exampleConfigLearnsEveryStageAndFreezesTheRest() throws {
    let out = TestSupport.tempDirectory().path
    let r = try TestSupport.tagdata(["train", "--quiet", "--json", "--config", Self.example, "--out", out])
    try #require(r.status == 0, "\(r.stderr)")
    let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
    #expect(rows.count == 3)
    for row in rows {
      let first = row["firstValidationLoss"] as! Double, last = row["lastValidationLoss"] as! Double
      #expect(last < first * 0.97, "\(row["stage"]!): validation loss \(first) → \(last)")
    }
    let models = rows.map { try! Model.load(from: $0["model"] as! String) }
    let base = models[0].parameters.names
    #expect(!base.contains { $0.hasPrefix("tags.") || $0.hasPrefix("heads.") })
    for m in models.dropFirst() {
      for name in base { #expect(m.parameters[name] == models[0].parameters[name], "\(name) changed after the base stage") }
    }
    // Stage 2 learned its tag; stage 3 kept it and learned its own tag and head.
    #expect(models[2].parameters["tags.Protein"] == models[1].parameters["tags.Protein"])
    #expect(models[1].tagNames == ["Protein"] && models[2].tagNames == ["Protein", "Hydrophobic"])
    #expect(models[2].headNames == ["Hydrophobic"])
    // Every step is in the log once, in order.
    let log = try String(contentsOfFile: out + "/log.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(log.count == 60 + 40 + 40)
  }

  /// SIGKILL part-way through, re-run: the final weights of every stage are bit-identical to an
  /// uninterrupted run's, and the log holds each step once.
  @Test func killedTrainingResumesToTheSameWeights() throws {
    let dir = TestSupport.tempDirectory()
    let config = dir.appendingPathComponent("small.json").path
    let text = try String(contentsOfFile: Self.example, encoding: .utf8)
      .replacingOccurrences(of: "\"../Corpora\"", with: "\"\(TestSupport.root.appendingPathComponent("Corpora").path)\"")
      .replacingOccurrences(of: "\"steps\": 60", with: "\"steps\": 30").replacingOccurrences(of: "\"steps\": 40", with: "\"steps\": 20")
      .replacingOccurrences(of: "\"checkpointEvery\": 20", with: "\"checkpointEvery\": 4")
    try Data(text.utf8).write(to: URL(fileURLWithPath: config))
    let clean = dir.appendingPathComponent("clean").path
    let r = try TestSupport.tagdata(["train", "--quiet", "--config", config, "--out", clean])
    try #require(r.status == 0, "\(r.stderr)")

    let killed = dir.appendingPathComponent("killed").path
    var kills = 0
    for target in ["stage-1-base-text/checkpoint-12", "stage-2-protein-domain/checkpoint-8", "stage-3-hydrophobicity/checkpoint-4"] {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: TestSupport.tagdataBinary)
      p.arguments = ["train", "--quiet", "--config", config, "--out", killed]
      p.standardError = FileHandle.nullDevice
      try p.run()
      let deadline = Date().addingTimeInterval(120)
      while p.isRunning && Date() < deadline && !FileManager.default.fileExists(atPath: killed + "/" + target) {
        Thread.sleep(forTimeInterval: 0.005)
      }
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      if p.terminationReason == .uncaughtSignal { kills += 1 }
    }
    #expect(kills >= 2)
    let final = try TestSupport.tagdata(["train", "--quiet", "--config", config, "--out", killed])
    try #require(final.status == 0, "\(final.stderr)")
    for stage in ["stage-1-base-text", "stage-2-protein-domain", "stage-3-hydrophobicity"] {
      for file in ["model.safetensors", "tags.safetensors"] {
        let a = "\(clean)/\(stage)/model/\(file)", b = "\(killed)/\(stage)/model/\(file)"
        guard FileManager.default.fileExists(atPath: a) else { continue }
        #expect(FileManager.default.contentsEqual(atPath: a, andPath: b), "\(stage)/\(file) differs after resuming")
      }
    }
    let steps = try String(contentsOfFile: killed + "/log.jsonl", encoding: .utf8).split(separator: "\n").map { line -> String in
      let o = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
      return "\(o["stage"]!)/\(o["step"]!)"
    }
    #expect(steps.count == 30 + 20 + 20)
    #expect(Set(steps).count == steps.count)
  }

  /// The token dataset format reads back, and numpy's memmap reads the same tokens.
  @Test func tokenDatasetRoundTripsAndNumpyReadsIt() throws {
    let dir = TestSupport.tempDirectory().path
    let examples = [
      TokenDataset.Example(tokens: [1, 5, 6, 7], lossMask: [false, true, true, true], task: "text"),
      TokenDataset.Example(tokens: [1, 260, 261, 9, 262], lossMask: [false, false, false, false, false], task: "QED",
                           regression: [TokenDataset.Regression(head: "QED", position: 4, target: 0.25)]),
    ]
    let data = TokenDataset(vocabularySize: 260, tags: ["Protein": [260, 261], "QED": [262]], examples: examples)
    try data.write(to: dir)
    let back = try TokenDataset.read(from: dir)
    #expect(back.examples == examples && back.manifest == data.manifest)
    guard let python = TestSupport.python else { return }
    let r = try TestSupport.run(python, ["-c", """
      import sys, numpy as np
      d = sys.argv[1]
      t = np.memmap(d + "/tokens.bin", dtype="<u4", mode="r")
      o = np.memmap(d + "/offsets.bin", dtype="<u8", mode="r")
      m = np.memmap(d + "/loss_mask.bin", dtype="u1", mode="r")
      print(",".join(str(int(x)) for x in t[o[1]:o[2]]), int(m.sum()))
      """, dir])
    #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1,260,261,9,262 3")
    // The manifest, the example lines and the shipped example config match the published schemas.
    let check = try TestSupport.run(python, ["-c", """
      import json, sys, jsonschema
      d, root = sys.argv[1], sys.argv[2]
      data = json.load(open(root + "/Schemas/training-data.schema.json"))
      jsonschema.validate(json.load(open(d + "/dataset.json")), {**data["$defs"]["manifest"], "$schema": data["$schema"]})
      for line in open(d + "/examples.jsonl"):
          jsonschema.validate(json.loads(line), data["$defs"]["example"])
      jsonschema.validate(json.load(open(root + "/Examples/train-small.json")), json.load(open(root + "/Schemas/train-config.schema.json")))
      bad = {"seed": 1, "stages": [{"name": "x", "kind": "other"}]}
      try:
          jsonschema.validate(bad, json.load(open(root + "/Schemas/train-config.schema.json")))
          print("accepted a bad config")
      except jsonschema.ValidationError:
          print("ok")
      """, dir, TestSupport.root.path])
    #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(check.stderr)")
  }
}
