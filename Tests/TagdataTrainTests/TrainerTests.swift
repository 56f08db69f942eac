import Foundation
import Testing
import TestSupport
import TagdataShards
import TagdataTokenizer
@testable import TagdataTrain
import TagdataIO

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
    // Every step is in the log once, in order, with Hugging Face Trainer's keys; evaluations
    // and each stage's end are records of their own.
    let log = try String(contentsOfFile: out + "/log.jsonl", encoding: .utf8).split(separator: "\n").map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    let training = log.filter { $0["loss"] != nil }, evaluations = log.filter { $0["eval_loss"] != nil }
    let ends = log.filter { $0["train_runtime"] != nil }
    #expect(training.count == 60 + 40 + 40 && evaluations.count == 3 + 2 + 2 && ends.count == 3 && log.count == 140 + 7 + 3)
    for r in training {
      #expect(["grad_norm", "learning_rate", "epoch", "step", "stage", "train_tokens_per_second"].allSatisfy { r[$0] != nil }, "\(r)")
    }
    for r in evaluations { #expect(["eval_runtime", "eval_samples_per_second", "epoch", "step"].allSatisfy { r[$0] != nil }, "\(r)") }
    for r in ends {
      #expect(["train_loss", "train_samples_per_second", "train_steps_per_second", "epoch", "trimmed_examples"].allSatisfy { r[$0] != nil })
    }
    #expect(training.map { $0["step"] as! Int } == Array(1...60) + Array(1...40) + Array(1...40))
    // The chart: one panel and one loss line per stage, validation dots.
    let svg = try String(contentsOfFile: out + "/loss.svg", encoding: .utf8)
    #expect(svg.hasPrefix("<svg") && svg.components(separatedBy: "<polyline").count == 4)
    #expect(svg.contains("<circle") && svg.contains("hydrophobicity"))
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
    let steps = try String(contentsOfFile: killed + "/log.jsonl", encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
      let o = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
      return o["loss"] == nil ? nil : "\(o["stage"]!)/\(o["step"]!)"
    }
    #expect(steps.count == 30 + 20 + 20)
    #expect(Set(steps).count == steps.count)
  }

  /// A domain stage that grows the vocabulary learns the new embedding and LM-head rows and the
  /// domain tag; every old row and every other base weight stays bit-identical. Then two
  /// function stages: the last one learns only its own tag and head, everything learned before
  /// (base, domain tag, the first function tag and head) stays bit-identical.
  @Test func growingTheVocabularyTrainsOnlyTheNewRows() throws {
    let dir = TestSupport.tempDirectory()
    // Sequences over ten new tokens (260..<270), after the Protein tag (ids 270, 271 once the
    // vocabulary has grown to 270).
    var rng = SplitMix64(seed: 5)
    let examples = (0..<40).map { _ -> TokenDataset.Example in
      let body = (0..<20).map { _ in 260 + Int(rng.next() % 10) }
      let tokens = [ByteTokenizer.bos, 270, 271] + body
      return TokenDataset.Example(tokens: tokens, lossMask: [false, false, false] + [Bool](repeating: true, count: body.count),
                                  task: "Protein")
    }
    try TokenDataset(vocabularySize: 270, tags: ["Protein": [270, 271]], examples: examples)
      .write(to: dir.appendingPathComponent("grown").path)
    let config = """
      {"seed": 3, "threads": 2, "corpora": "\(TestSupport.root.appendingPathComponent("Corpora").path)",
       "model": {"dimension": 32, "layers": 1, "heads": 2, "feedForward": 64},
       "stages": [
         {"name": "base", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 5, "batch": 4, "length": 32,
          "learningRate": 0.003},
         {"name": "grow", "kind": "domain", "data": {"path": "grown"}, "vocabularySize": 270,
          "tags": [{"name": "Protein", "rows": 2}], "steps": 10, "batch": 4, "length": 32, "learningRate": 0.01},
         {"name": "hydrophobic", "kind": "function", "data": {"builtin": "protein-hydrophobicity"},
          "tags": [{"name": "Hydrophobic", "rows": 1}], "heads": ["Hydrophobic"], "steps": 6, "batch": 4, "length": 32,
          "accumulate": 2, "learningRate": 0.01},
         {"name": "length", "kind": "function", "data": {"builtin": "protein-length"},
          "tags": [{"name": "Length", "rows": 1}], "heads": ["Length"], "steps": 6, "batch": 4, "length": 32,
          "learningRate": 0.01}]}
      """
    let path = dir.appendingPathComponent("grow.json").path
    try Data(config.utf8).write(to: URL(fileURLWithPath: path))
    let out = dir.appendingPathComponent("out").path
    let r = try TestSupport.tagdata(["train", "--quiet", "--config", path, "--out", out])
    try #require(r.status == 0, "\(r.stderr)")
    let before = try Model.load(from: out + "/stage-1-base/model"), after = try Model.load(from: out + "/stage-2-grow/model")
    #expect(after.config.vocabularySize == 270 && after.tagTokens("Protein") == [270, 271])
    let d = 32
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
      let old = before.parameters[name].data, new = after.parameters[name].data
      #expect(Array(new[0..<(260 * d)]) == old, "\(name): old rows changed")
      #expect(new.count == 270 * d)
    }
    for name in before.parameters.names where name != "model.embed_tokens.weight" && name != "lm_head.weight" {
      #expect(after.parameters[name] == before.parameters[name], "\(name) changed")
    }
    // The new rows learned: they differ from a fresh growth of the same model.
    var fresh = before
    fresh.growVocabulary(to: 270, seed: 3 &* 3_000_017 &+ 1)
    #expect(Array(after.parameters["model.embed_tokens.weight"].data[(260 * d)...])
      != Array(fresh.parameters["model.embed_tokens.weight"].data[(260 * d)...]))
    // Stages 3 and 4 (function tags): everything of stage 2 and 3 kept bit for bit, only the
    // declared tag and head learned.
    let third = try Model.load(from: out + "/stage-3-hydrophobic/model"), fourth = try Model.load(from: out + "/stage-4-length/model")
    for name in after.parameters.names { #expect(third.parameters[name] == after.parameters[name], "\(name) changed in stage 3") }
    for name in third.parameters.names { #expect(fourth.parameters[name] == third.parameters[name], "\(name) changed in stage 4") }
    var untrained = third
    untrained.addTag("Length", rows: 1, seed: 3 &* 1_000_003 &+ UInt64(3 * 100))
    untrained.addHead("Length", seed: 3 &* 2_000_003 &+ UInt64(3 * 100))
    #expect(fourth.parameters["tags.Length"] != untrained.parameters["tags.Length"])
    #expect(fourth.parameters["heads.Length.weight"] != untrained.parameters["heads.Length.weight"])
    #expect(fourth.headNames.sorted() == ["Hydrophobic", "Length"])
  }

  /// Targets in large units (BA in nM): with `standardizeTargets` the head learns standardized
  /// values and the saved head predicts in the targets' units: its mean squared error on the
  /// raw validation targets is the stage's last (standardized) validation error times the
  /// variance, and far below what the same stage reaches on raw targets.
  @Test func standardizedTargetsAreFoldedBackIntoTheHead() throws {
    let dir = TestSupport.tempDirectory()
    var rng = SplitMix64(seed: 9)
    let examples = (0..<200).map { _ -> TokenDataset.Example in
      let body = (0..<12).map { _ in 4 + Int(rng.next() % 4) }
      let share = Double(body.filter { $0 == 4 }.count) / 12
      let tokens = [ByteTokenizer.bos] + body + [260, 261]
      return TokenDataset.Example(tokens: tokens, lossMask: [Bool](repeating: false, count: tokens.count), task: "Big",
                                  regression: [TokenDataset.Regression(head: "Big", position: tokens.count - 1, target: 5000 + 20000 * share)])
    }
    try TokenDataset(vocabularySize: 260, tags: ["Big": [260, 261]], examples: examples).write(to: dir.appendingPathComponent("big").path)
    func run(_ standardize: Bool) throws -> (last: Double, raw: Double) {
      let config = """
        {"seed": 3, "threads": 1, "model": {"dimension": 32, "layers": 1, "heads": 2, "feedForward": 64},
         "stages": [{"name": "big", "kind": "function", "data": {"path": "big"}, "tags": [{"name": "Big", "rows": 2}],
                     "heads": ["Big"], "steps": 60, "batch": 8, "length": 16, "learningRate": 0.02, "regressionScale": 1,
                     "standardizeTargets": \(standardize)}]}
        """
      let path = dir.appendingPathComponent("c-\(standardize).json").path
      try Data(config.utf8).write(to: URL(fileURLWithPath: path))
      let out = dir.appendingPathComponent("out-\(standardize)").path
      let r = try TestSupport.tagdata(["train", "--quiet", "--json", "--config", path, "--out", out])
      try #require(r.status == 0, "\(r.stderr)")
      let row = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
      let model = try Model.load(from: row["model"] as! String)
      let validation = Array(examples.suffix(20))
      let raw = model.loss(TokenDataset.batch(validation, length: 16), regressionScale: 1).meanSquaredError
      return (row["lastValidationLoss"] as! Double, Double(raw))
    }
    let ys = examples.prefix(180).map { $0.regression[0].target }
    let mean = ys.reduce(0, +) / Double(ys.count)
    let variance = ys.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(ys.count)
    let standardized = try run(true), plain = try run(false)
    #expect(abs(standardized.raw - standardized.last * variance) <= 1e-3 * standardized.raw,
            "raw MSE \(standardized.raw) vs standardized \(standardized.last) x variance \(variance)")
    #expect(standardized.raw < plain.raw / 2, "standardized \(standardized.raw), raw \(plain.raw)")
  }

  /// Tag-LLM's initialization: every row of a new tag is the mean base embedding times 7.8, a
  /// head's weight the mean embedding; the mean is taken over the base vocabulary only.
  @Test func tagsStartAsTagLLMsMeanEmbedding() throws {
    var m = Model(config: ModelConfig(vocabularySize: 50, dimension: 8, layers: 1, heads: 2, feedForward: 16), seed: 4)
    m.addTag("A", rows: 2, seed: 1, initialization: .random)
    m.addTag("B", rows: 3, seed: 2, initialization: .tagLLM)
    m.addHead("B", seed: 3, initialization: .tagLLM)
    let e = m.parameters["model.embed_tokens.weight"].data
    for j in 0..<8 {
      let mean = (0..<50).map { Double(e[$0 * 8 + j]) }.reduce(0, +) / 50
      for r in 0..<3 { #expect(abs(Double(m.parameters["tags.B"].data[r * 8 + j]) - 7.8 * mean) < 1e-5) }
      #expect(abs(Double(m.parameters["heads.B.weight"].data[j]) - mean) < 1e-6)
    }
    #expect(m.parameters["heads.B.bias"].data == [0])
    #expect(m.parameters["tags.A"].data != m.parameters["tags.B"].data.prefix(16).map { $0 })
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
    guard let python = TestSupport.python else {
      if TestSupport.interopRequired { Issue.record("no venv python") }
      return
    }
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
