import Foundation
import Testing
import TagdataTokenizer
import TestSupport
@testable import TagdataTrain

/// `tagdata generate` end to end on a small saved model with tags: the ids it prints are the
/// library's greedy generation; tags in the prompt text; --tags from another directory; errors
/// and their exit codes.
struct GenerateCommandTests {
  /// A byte-tokenizer-sized model with two tags and a head, saved; and a second tag dictionary.
  static func savedModel() throws -> (dir: String, model: Model, other: String, otherModel: Model) {
    var config = ModelConfig(vocabularySize: ByteTokenizer.vocabularySize, dimension: 32, layers: 2, heads: 4, feedForward: 48,
                             keyValueHeads: 2)
    config.maxPositions = 40
    var model = Model(config: config, seed: 21)
    model.addTag("Protein", rows: 3, seed: 1)
    model.addTag("LogP", rows: 2, seed: 2)
    model.addHead("LogP", seed: 3)
    let root = TestSupport.tempDirectory().path
    try model.save(to: root + "/model")
    var other = model
    try other.replaceTags(from: root + "/model")
    #expect(other.parameters == model.parameters)
    // Another stage's dictionary: different rows for the same base.
    var stage = Model(config: config, seed: 21)
    stage.addTag("SMILES", rows: 2, seed: 9)
    stage.addTag("Protein", rows: 3, seed: 10)
    try stage.save(to: root + "/stage")
    return (root + "/model", model, root + "/stage", stage)
  }

  static func json(_ output: TestSupport.Output) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as! [String: Any]
  }

  @Test func printsTheLibrarysGreedyContinuation() throws {
    let (dir, model, _, _) = try Self.savedModel()
    let run = try TestSupport.tagdata(["generate", "--model", dir, "--prompt", "<Protein>MK<LogP>", "--max-new-tokens", "12", "--json"])
    try #require(run.status == 0, "\(run.stderr)")
    let object = try Self.json(run)
    let prompt = [ByteTokenizer.bos] + model.tagTokens("Protein") + ByteTokenizer.encode("MK") + model.tagTokens("LogP")
    #expect(object["prompt_ids"] as? [Int] == prompt)
    let (ids, stopped) = try model.generate(prompt: prompt, maxNewTokens: 12, stopTokens: [ByteTokenizer.eos])
    #expect(object["ids"] as? [Int] == ids)
    #expect(object["stopped"] as? String == stopped.rawValue)
    #expect(object["text"] as? String == ByteTokenizer.decode(ids))
    #expect((object["tokens"] as? [String])?.count == ids.count)
    // The LogP head on the hidden state at <LogP>'s last virtual token, as the model's forward computes it.
    let n = prompt.count
    let forward = model.forward(Batch(batch: 1, length: n, tokens: prompt, targets: [Int](repeating: 0, count: n),
                                      lossWeights: [Float](repeating: 0, count: n), keyMask: [Bool](repeating: true, count: n),
                                      regression: [(position: n - 1, head: "LogP", target: 0)]))
    let head = (object["heads"] as? [String: Double])?["LogP"]
    #expect(head != nil && abs(Float(head!) - forward.predictions[0]) < 1e-5, "\(String(describing: head)) vs \(forward.predictions)")
    // Plain output: the text and a newline.
    let plain = try TestSupport.tagdata(["generate", "--model", dir, "--prompt", "<Protein>MK<LogP>", "--max-new-tokens", "12"])
    #expect(plain.status == 0)
    #expect(plain.stdout == ByteTokenizer.decode(ids) + "\nhead LogP: \(Float(head ?? 0))\n")
    let onlyHeads = try TestSupport.tagdata(["generate", "--model", dir, "--prompt", "<Protein>MK<LogP>", "--max-new-tokens", "0"])
    #expect(onlyHeads.stdout == "\nhead LogP: \(Float(head ?? 0))\n")
    // --ids, --no-eos, --stop-id and sampling.
    let byIDs = try TestSupport.tagdata(["generate", "--model", dir, "--ids", prompt.map(String.init).joined(separator: ","),
                                         "--max-new-tokens", "12", "--json", "--no-eos", "--stop-id", "\(ids[3])"])
    let stoppedEarly = try Self.json(byIDs)
    #expect(stoppedEarly["ids"] as? [Int] == Array(ids[...ids.firstIndex(of: ids[3])!]))
    #expect(stoppedEarly["stopped"] as? String == "eos")
    let sampled = try TestSupport.tagdata(["generate", "--model", dir, "--ids", "1 5 6", "--temperature", "1.2", "--top-k", "20",
                                           "--top-p", "0.95", "--seed", "4", "--max-new-tokens", "10", "--json", "--no-eos"])
    let expected = try model.generate(prompt: [1, 5, 6], maxNewTokens: 10,
                                      sampling: Sampling(temperature: 1.2, topK: 20, topP: 0.95, seed: 4)).ids
    #expect(try Self.json(sampled)["ids"] as? [Int] == expected)
  }

  @Test func tagsFromAnotherDirectory() throws {
    let (dir, _, stageDir, stage) = try Self.savedModel()
    let run = try TestSupport.tagdata(["generate", "--model", dir, "--tags", stageDir, "--prompt", "<SMILES> CCO",
                                       "--max-new-tokens", "8", "--json"])
    try #require(run.status == 0, "\(run.stderr)")
    let prompt = [ByteTokenizer.bos] + stage.tagTokens("SMILES") + ByteTokenizer.encode(" CCO")
    let object = try Self.json(run)
    #expect(object["prompt_ids"] as? [Int] == prompt)
    #expect(object["ids"] as? [Int] == (try stage.generate(prompt: prompt, maxNewTokens: 8, stopTokens: [ByteTokenizer.eos]).ids))
    // The base's own tags are gone.
    let gone = try TestSupport.tagdata(["generate", "--model", dir, "--tags", stageDir, "--prompt", "<LogP>"])
    #expect(gone.status == 64)
    #expect(gone.stderr.contains("unknown tag <LogP>"))
  }

  @Test func badRequestsAreUsageOrInputErrors() throws {
    let (dir, _, _, _) = try Self.savedModel()
    let cases: [([String], Int32, String)] = [
      (["--prompt", "<Nope>x"], 64, "unknown tag <Nope>"),
      (["--prompt", ""], 64, "the prompt is empty"),
      (["--ids", ""], 64, "the prompt is empty"),
      (["--ids", "1 x"], 64, "x is not a token id"),
      (["--ids", "1 270"], 64, "token id 270"),
      (["--prompt", String(repeating: "A", count: 45)], 64, "more than the model's context of 40"),
      (["--prompt", "a", "--ids", "1"], 64, "one of them"),
      (["--ids", "1", "--top-p", "0"], 64, "--top-p"),
      (["--ids", "1", "--temperature", "-1"], 64, "--temperature"),
      (["--ids", "1", "--stop", "<nothing>"], 64, "no such token"),
      (["--ids", "1", "--tokenizer", dir + "/missing.json"], 1, "missing.json"),
    ]
    for (arguments, status, message) in cases {
      let run = try TestSupport.tagdata(["generate", "--model", dir] + arguments)
      #expect(run.status == status, "\(arguments): exit \(run.status), \(run.stderr)")
      #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
    }
    let missing = try TestSupport.tagdata(["generate", "--model", dir + "/none", "--ids", "1"])
    #expect(missing.status == 1 && missing.stderr.contains("config.json"), "\(missing.stderr)")
    // Damaged weights: an input error naming the file, not a crash or an internal error.
    let damaged = TestSupport.tempDirectory().path
    try FileManager.default.copyItem(atPath: dir, toPath: damaged + "/m")
    let weights = damaged + "/m/model.safetensors"
    let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
    let truncated = try TestSupport.tagdata(["generate", "--model", damaged + "/m", "--ids", "1"])
    #expect(truncated.status == 1 && truncated.stderr.contains("model.safetensors"), "\(truncated.status) \(truncated.stderr)")
    try Data("{\"tags\": 3}".utf8).write(to: URL(fileURLWithPath: damaged + "/m/tags.json"))
    let badManifest = try TestSupport.tagdata(["generate", "--model", dir, "--tags", damaged + "/m", "--ids", "1"])
    #expect(badManifest.status == 1 && badManifest.stderr.contains("tags.json"), "\(badManifest.status) \(badManifest.stderr)")
    let noTags = try TestSupport.tagdata(["generate", "--model", dir, "--tags", dir + "/none", "--ids", "1"])
    #expect(noTags.status == 1 && noTags.stderr.contains("tags.json"), "\(noTags.stderr)")
  }
}
