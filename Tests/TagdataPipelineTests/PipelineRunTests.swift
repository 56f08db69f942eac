import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tagdata run` end to end on a small pipeline over the shipped corpora: a second run skips
/// every step; a changed task re-runs what depends on it and keeps the rest (training keeps its
/// unchanged stages); SIGKILL at points across the run, then a rerun, gives the same files as
/// an uninterrupted run.
@Suite(.serialized) struct PipelineRunTests {
  /// A pipeline small enough to run many times: UniProt flat files, two SD files, the stage-3
  /// tables; Tag-LLM's preset (from a task file, so a test can edit one task); a tiny model.
  static func makePipeline(in dir: URL) throws -> URL {
    let corpora = TestSupport.root.appendingPathComponent("Corpora").path
    let tasks = try TestSupport.tagdata(["build", "--print-config"])
    try Data(tasks.stdout.utf8).write(to: dir.appendingPathComponent("tasks.yaml"))
    let train = """
      {"seed": 3, "threads": 2, "model": {"dimension": 32, "layers": 1, "heads": 2, "feedForward": 64}, "corpora": "\(corpora)",
       "stages": [
        {"name": "base", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 24, "batch": 4, "length": 48,
         "learningRate": 0.003, "warmup": 2, "validateEvery": 6, "checkpointEvery": 3},
        {"name": "domain", "kind": "domain", "data": {"path": "unused", "tasks": ["Protein", "SMILES", "Language"]},
         "tags": [\(["Protein", "SMILES", "EN", "FR", "RU", "DE", "IT", "EL", "ES", "PT"].map { "{\"name\": \"\($0)\", \"rows\": 10}" }
                    .joined(separator: ", "))],
         "steps": 24, "batch": 4, "length": 64, "learningRate": 0.01, "warmup": 2, "validateEvery": 3, "checkpointEvery": 3},
        {"name": "single", "kind": "function", "data": {"path": "unused", "tasks": ["QED", "Descriptor"]},
         "tags": [{"name": "QED", "rows": 10}, {"name": "Descriptor", "rows": 10}], "heads": ["QED", "Descriptor"], "standardizeTargets": true,
         "steps": 24, "batch": 4, "length": 96, "learningRate": 0.01, "warmup": 2, "validateEvery": 6, "checkpointEvery": 3},
        {"name": "multi", "kind": "function", "data": {"path": "unused", "tasks": ["BA", "DC", "Translate"]},
         "tags": [{"name": "BA", "rows": 10}, {"name": "DC", "rows": 10}, {"name": "Translate", "rows": 10}], "heads": ["BA", "DC"],
         "standardizeTargets": true, "steps": 24, "batch": 4, "length": 96, "learningRate": 0.01, "warmup": 2, "validateEvery": 3,
         "checkpointEvery": 3}
       ]}
      """
    try Data(train.utf8).write(to: dir.appendingPathComponent("train.json"))
    let yaml = """
      ingest:
        - files: [\(corpora)/uniprot/flat/sp01*.dat, \(corpora)/uniprot/flat/P*.txt]
        - files: [\(corpora)/pubchem/sdf/pubchem.200.sdf, \(corpora)/pubchem/sdf/pubchem_stereo_test.sdf]
        - preset: tdc-dti
          files: [\(corpora)/tables/tdc_dti_sample.csv]
        - preset: tdc-drugcomb
          files: [\(corpora)/tables/drugcomb_sample.csv]
        - preset: parallel-text
          files: [\(corpora)/tables/parallel_text_sample.tsv]
      describe: [qed, descriptor]
      builds:
        - name: main
          config: tasks.yaml
          shards: 2
      tokenize:
        - name: main
          build: main
      train:
        - name: main
          config: train.json
          dataset: main
      eval:
        - name: main
          train: main
          dataset: main
          build: main
          length: 96
          resamples: 50

      """
    let file = dir.appendingPathComponent("pipeline.yaml")
    try Data(yaml.utf8).write(to: file)
    return file
  }

  struct RunJSON: Decodable {
    struct Step: Decodable {
      var id: String
      var status: String
      var seconds: Double
    }
    var steps: [Step]
    var seconds: Double
  }

  /// The step the state file marks running, if any.
  static func running(_ out: String) -> String? {
    guard let data = FileManager.default.contents(atPath: out + "/pipeline-state.json"),
      let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let steps = state["steps"] as? [String: [String: Any]]
    else { return nil }
    return steps.first { $0.value["status"] as? String == "running" }?.key
  }

  static func statuses(_ out: String) throws -> [String: String] {
    let r = try JSONDecoder().decode(RunJSON.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/run.json")))
    return Dictionary(uniqueKeysWithValues: r.steps.map { ($0.id, $0.status) })
  }

  /// The files whose bytes must not depend on interruptions.
  static let results = ["builds/main/manifest.json", "tokens/main/dataset.json", "train/main/stage-4-multi/model/tags.safetensors",
                        "train/main/stage-3-single/model/tags.safetensors", "eval/main/report.json", "eval/main/predictions.jsonl"]

  static func contents(_ out: String) -> [String: Data] {
    var d: [String: Data] = [:]
    for f in results { d[f] = FileManager.default.contents(atPath: out + "/" + f) }
    return d
  }

  @Test func skipsUnchangedAndRerunsOnlyDependents() throws {
    let dir = TestSupport.tempDirectory()
    let config = try Self.makePipeline(in: dir)
    let out = dir.appendingPathComponent("out").path
    let first = try TestSupport.tagdata(["run", "--config", config.path, "--out", out, "--quiet"])
    try #require(first.status == 0, "\(first.stderr)")
    #expect(try Self.statuses(out).values.allSatisfy { $0 == "ran" })
    let reference = Self.contents(out)
    #expect(reference.count == Self.results.count, "\(reference.keys.sorted())")

    // Nothing changed: every step is skipped, in well under the first run's time.
    let started = Date()
    let again = try TestSupport.tagdata(["run", "--config", config.path, "--out", out, "--quiet", "--json"])
    #expect(again.status == 0, "\(again.stderr)")
    let skipped = try Self.statuses(out)
    #expect(skipped.values.allSatisfy { $0 == "skipped" }, "\(skipped)")
    #expect(Date().timeIntervalSince(started) < 10)
    #expect(Self.contents(out) == reference)

    // One task's template changes (DC, a stage-3 task): ingest and describe are skipped; the
    // build, its export, training and evaluation run again, and training keeps its first three
    // stages (their data are unchanged) and trains the last one only.
    let tasks = dir.appendingPathComponent("tasks.yaml")
    let text = try String(contentsOf: tasks, encoding: .utf8)
    #expect(text.contains("The drug combination sensitivity score is <DC>"))
    try Data(text.replacingOccurrences(of: "The drug combination sensitivity score is <DC>", with: "The combination score is <DC>").utf8)
      .write(to: tasks)
    let stage1Model = out + "/train/main/stage-2-domain/model/tags.safetensors"
    let stage1Before = try FileManager.default.attributesOfItem(atPath: stage1Model)[.modificationDate] as? Date
    let changed = try TestSupport.tagdata(["run", "--config", config.path, "--out", out, "--quiet"])
    #expect(changed.status == 0, "\(changed.stderr)")
    let s = try Self.statuses(out)
    #expect(s["ingest"] == "skipped" && s["describe"] == "skipped", "\(s)")
    #expect(s["build:main"] == "ran" && s["tokenize:main"] == "ran" && s["train:main"] == "ran" && s["eval:main"] == "ran", "\(s)")
    let stage1After = try FileManager.default.attributesOfItem(atPath: stage1Model)[.modificationDate] as? Date
    #expect(stage1Before == stage1After, "an unchanged stage was trained again")
    let log = try String(contentsOfFile: out + "/train/main/log.jsonl", encoding: .utf8)
    for stage in ["base", "domain", "single", "multi"] {
      #expect(log.contains("\"stage\":\"\(stage)\""), "the log lost stage \(stage)")
    }
    let after = Self.contents(out)
    #expect(after["builds/main/manifest.json"] != reference["builds/main/manifest.json"])
    #expect(after["train/main/stage-4-multi/model/tags.safetensors"] != reference["train/main/stage-4-multi/model/tags.safetensors"])
    #expect(after["train/main/stage-3-single/model/tags.safetensors"] == reference["train/main/stage-3-single/model/tags.safetensors"])

    // Changed back: the same results as the first run.
    try Data(text.utf8).write(to: tasks)
    let back = try TestSupport.tagdata(["run", "--config", config.path, "--out", out, "--quiet"])
    #expect(back.status == 0, "\(back.stderr)")
    #expect(Self.contents(out) == reference)
  }

  /// SIGKILL at points spread over the run (inside ingest, build, training stages, evaluation),
  /// then a plain rerun: the results are byte for byte those of an uninterrupted run, and a third
  /// run skips everything.
  @Test func killedRunsResumeToTheSameResult() throws {
    let dir = TestSupport.tempDirectory()
    let config = try Self.makePipeline(in: dir)
    let reference = dir.appendingPathComponent("reference").path
    let r = try TestSupport.tagdata(["run", "--config", config.path, "--out", reference, "--quiet"])
    try #require(r.status == 0, "\(r.stderr)")
    let expected = Self.contents(reference)
    // Kill points: a moment after each step is marked running, and inside each training stage
    // (once the step log shows it), found by watching the output as the run goes.
    var points: [(what: String, ready: (String) -> Bool, delay: Double)] = []
    for step in ["ingest", "describe", "build:main", "tokenize:main", "train:main", "eval:main"] {
      points.append((step, { out in Self.running(out) == step }, 0.05))
    }
    for stage in ["base", "domain", "single", "multi"] {
      points.append(("stage \(stage)", { out in
        ((try? String(contentsOfFile: out + "/train/main/log.jsonl", encoding: .utf8)) ?? "").contains("\"stage\":\"\(stage)\"")
      }, 0.1))
    }
    var killedIn: [String] = []
    for (k, point) in points.enumerated() {
      let out = dir.appendingPathComponent("killed-\(k)").path
      let p = Process()
      p.executableURL = URL(fileURLWithPath: TestSupport.tagdataBinary)
      p.arguments = ["run", "--config", config.path, "--out", out, "--quiet"]
      p.standardError = FileHandle.nullDevice
      p.standardOutput = FileHandle.nullDevice
      try p.run()
      let deadline = Date().addingTimeInterval(120)
      while p.isRunning && !point.ready(out) && Date() < deadline { usleep(10_000) }
      usleep(UInt32(point.delay * 1e6))
      if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        killedIn.append(point.what)
      }
      p.waitUntilExit()
      let rerun = try TestSupport.tagdata(["run", "--config", config.path, "--out", out, "--quiet"])
      #expect(rerun.status == 0, "after a kill in \(point.what): \(rerun.stderr)")
      let got = Self.contents(out)
      for f in Self.results {
        #expect(got[f] == expected[f], "after a kill in \(point.what): \(f) differs from the uninterrupted run's")
      }
      let third = try TestSupport.tagdata(["run", "--config", config.path, "--out", out, "--quiet"])
      #expect(third.status == 0)
      let statuses = try Self.statuses(out)
      #expect(statuses.values.allSatisfy { $0 == "skipped" }, "after a kill in \(point.what): \(statuses)")
      try? FileManager.default.removeItem(atPath: out)
    }
    // Most kill points must land inside the run, or the test tests nothing.
    #expect(killedIn.count >= points.count - 1, "killed in \(killedIn) of \(points.map(\.what))")
  }
}
