import Foundation
@testable import TagdataEval
import TestSupport
import Testing

/// `tagdata eval --run`: the training log's losses per stage and the loss plot in the report.
@Suite struct TrainingRunTests {
  @Test func lossesPerStageFromTheLog() throws {
    let dir = TestSupport.tempDirectory()
    let path = dir.appendingPathComponent("log.jsonl").path
    let log = """
      {"stage":"base","step":1,"loss":3.5,"learning_rate":0.001}
      {"stage":"base","step":2,"loss":3.25}
      {"stage":"base","step":2,"eval_loss":3.4,"epoch":0.1}
      {"stage":"base","step":3,"loss":3.0}
      {"stage":"base","step":3,"train_runtime":1.5,"train_loss":3.2}
      {"stage":"tags","step":1,"loss":2.0}

      {"stage":"tags","step":2,"loss":1.75}
      {"stage":"tags","step":1,"loss":1.9}
      """
    try Data(log.utf8).write(to: URL(fileURLWithPath: path))
    let s = try TrainingRun.stageLosses(log: path)
    #expect(s == [
      .init(stage: "base", step: 3, trainingLoss: 3.0, validationLoss: 3.4, validationStep: 2, meanTrainingLoss: 3.2),
      // A resumed stage logs a step again: the later record wins, the last step stays the largest.
      .init(stage: "tags", step: 2, trainingLoss: 1.9, validationLoss: nil, validationStep: nil, meanTrainingLoss: nil),
    ])
    try Data((log + "\n{\"step\":4}\n").utf8).write(to: URL(fileURLWithPath: path))
    #expect { try TrainingRun.stageLosses(log: path) } throws: { "\($0)".contains("log.jsonl:10:") }
    #expect { try TrainingRun.stageLosses(log: dir.appendingPathComponent("none.jsonl").path) } throws: { "\($0)".contains("none.jsonl") }
  }

  /// A real `tagdata train` run: its loss.svg is copied, its log's last losses are in report.md
  /// and report.json.
  @Test func commandCopiesThePlotAndTabulatesTheLosses() throws {
    let dir = TestSupport.tempDirectory()
    let config = """
      {"seed": 3, "threads": 1, "corpora": "\(TestSupport.root.appendingPathComponent("Corpora").path)",
       "model": {"dimension": 16, "layers": 1, "heads": 2, "feedForward": 32},
       "stages": [
         {"name": "base", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 4, "batch": 2, "length": 24,
          "learningRate": 0.003, "validateEvery": 2},
         {"name": "more", "kind": "base", "data": {"builtin": "uniprot-text"}, "steps": 3, "batch": 2, "length": 24,
          "learningRate": 0.003, "validateEvery": 3}]}
      """
    let configPath = dir.appendingPathComponent("train.json").path
    try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
    let run = dir.appendingPathComponent("run").path
    let t = try TestSupport.tagdata(["train", "--config", configPath, "--out", run])
    try #require(t.status == 0, "\(t.stderr)")
    let modelDir = dir.appendingPathComponent("model").path
    try GenerationFixture.model().save(to: modelDir)
    let data = try GenerationFixture.write(GenerationFixture.translations())
    let out = dir.appendingPathComponent("eval").path
    let e = try TestSupport.tagdata(["eval", "--model", modelDir, "--dataset", data, "--out", out, "--resamples", "0", "--run", run])
    try #require(e.status == 0, "\(e.stderr)")
    #expect(FileManager.default.contents(atPath: out + "/loss.svg") == FileManager.default.contents(atPath: run + "/loss.svg"))
    let report = try JSONDecoder().decode(Evaluator.Report.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
    #expect(report.lossPlot == "loss.svg" && report.training?.map(\.stage) == ["base", "more"])
    // The figures are the log's last records, read here independently.
    let lines = try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    for s in report.training ?? [] {
      let mine = lines.filter { $0["stage"] as? String == s.stage }
      let lastLoss = mine.last { $0["loss"] != nil && $0["eval_loss"] == nil }?["loss"] as? Double
      let lastEval = mine.last { $0["eval_loss"] != nil }?["eval_loss"] as? Double
      #expect(s.trainingLoss == lastLoss && s.validationLoss == lastEval && lastEval != nil, "\(s)")
      #expect(s.step == (s.stage == "base" ? 4 : 3))
    }
    let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
    #expect(md.contains("## Training") && md.contains("![Training and validation loss per stage](loss.svg)"), "\(md)")
    #expect(md.contains("| base | 4 | ") && md.contains("| more | 3 | "), "\(md)")
    #expect(e.stderr.contains("training base: step 4"), "\(e.stderr)")
    // A run without a log is an input error naming it.
    let bad = try TestSupport.tagdata(["eval", "--model", modelDir, "--dataset", data, "--out", out, "--resamples", "0", "--run", dir.path])
    #expect(bad.status == 1 && bad.stderr.contains("log.jsonl"), "\(bad.stderr)")
  }
}
