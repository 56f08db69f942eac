import Foundation
import Testing
import TestSupport
import TagdataShards
import TagdataIO
@testable import TagdataTrain

/// A function stage of `tagdata train` on a Hugging Face base (a tiny transformers Llama with
/// grouped-query attention, saved with save_pretrained by Tests/Interop/hf_tags_trained.py): the tag
/// and regression head it learns, read by Examples/tags_in_transformers.py on transformers, give
/// tagdata's final-norm hidden state at every position (the function tag's last virtual token among
/// them) and tagdata's head value within 1e-4; every tensor of the base is bit-identical in the
/// trained stage's model.safetensors.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
struct TrainedTagsOnHFBaseTests {
  @Test func tagsTrainedOnATransformersBaseReadTheSameInTransformers() throws {
    guard let python = try interopPython(importing: ["torch", "transformers", "safetensors"]) else { return }
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/hf_tags_trained.py").path
    let dir = TestSupport.tempDirectory()
    let base = dir.appendingPathComponent("base").path
    let made = try TestSupport.run(python, [script, "base", base])
    try #require(made.status == 0, "\(made.stderr)")
    // Function examples over the base vocabulary (300): the target is the share of token 4 in the body;
    // the tag <F> (ids 300, 301) closes each example and the head reads its last row.
    var rng = SplitMix64(seed: 21)
    let examples = (0..<120).map { _ -> TokenDataset.Example in
      let body = (0..<(6 + Int(rng.next() % 8))).map { _ in 4 + Int(rng.next() % 5) }
      let tokens = [1] + body + [300, 301]
      return TokenDataset.Example(tokens: tokens, lossMask: [Bool](repeating: false, count: tokens.count), task: "F",
                                  regression: [TokenDataset.Regression(head: "F", position: tokens.count - 1,
                                                                       target: Double(body.filter { $0 == 4 }.count) / Double(body.count))])
    }
    try TokenDataset(vocabularySize: 300, tags: ["F": [300, 301]], examples: examples).write(to: dir.appendingPathComponent("fn").path)
    let config = """
      {"seed": 4, "threads": 1, "base": "\(base)",
       "stages": [{"name": "fn", "kind": "function", "data": {"path": "fn"}, "tags": [{"name": "F", "rows": 2}],
                   "heads": ["F"], "steps": 30, "batch": 8, "length": 24, "learningRate": 0.01, "regressionScale": 10}]}
      """
    let path = dir.appendingPathComponent("fn.json").path
    try Data(config.utf8).write(to: URL(fileURLWithPath: path))
    let out = dir.appendingPathComponent("out").path
    let r = try TestSupport.tagdata(["train", "--quiet", "--json", "--config", path, "--out", out])
    try #require(r.status == 0, "\(r.stderr)")
    let row = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
    let directory = row["model"] as! String
    let model = try Model.load(from: directory)
    #expect(model.tagNames == ["F"] && model.headNames == ["F"])

    // Every base tensor, bit for bit.
    let original = try Safetensors.read(base + "/model.safetensors").tensors
    let trained = try Safetensors.read(directory + "/model.safetensors").tensors
    #expect(Set(original.keys) == Set(trained.keys), "base \(original.keys.sorted()), trained \(trained.keys.sorted())")
    var identical = 0
    for (name, t) in original {
      guard let u = trained[name] else { continue }
      let same = t.shape == u.shape && t.data.map(\.bitPattern) == u.data.map(\.bitPattern)
      #expect(same, "\(name) differs from the base")
      if same { identical += 1 }
    }
    // The stage learned something.
    let first = row["firstValidationLoss"] as! Double, last = row["lastValidationLoss"] as! Double
    #expect(last < first, "validation loss \(first) → \(last)")

    let prompts = ["1 4 5 4 6 7 <F>", "1 8 4 4 <F> 5 6 4 <F>", "1 5 6 7 8 5 6 7 8 4 <F>", "1 4 4 4 4"]
    var largestHidden: Float = 0, largestHead: Float = 0
    for (k, prompt) in prompts.enumerated() {
      let prefix = dir.appendingPathComponent("check-\(k)").path
      let check = try TestSupport.run(python, [script, "check", directory, prompt, prefix])
      try #require(check.status == 0, "\(prompt): \(check.stderr)")
      let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + ".json"))) as! [String: Any]
      let ids = result["ids"] as! [Int]
      var expected: [Int] = []
      for word in prompt.split(separator: " ") { expected += word == "<F>" ? model.tagTokens("F") : [Int(word)!] }
      #expect(ids == expected, "\(prompt)")
      var generator = Generator(model: model)
      let hidden = generator.feed(ids, allPositions: true).hidden
      let theirs = try HFModelInteropTests.readFloats(prefix + ".hidden.f32")
      let d = HFModelInteropTests.worst(hidden.data, theirs)
      #expect(d < 1e-4, "\(prompt): largest hidden-state difference \(d)")
      largestHidden = max(largestHidden, d)
      let heads = result["heads"] as! [String: Double]
      if let position = ids.lastIndex(of: model.tagTokens("F").last!) {
        // At the function tag's last virtual token: the same hidden row, and the same head value.
        let row = (0..<model.config.dimension).map { hidden.data[position * model.config.dimension + $0] }
        let theirRow = Array(theirs[(position * model.config.dimension)..<((position + 1) * model.config.dimension)])
        #expect(HFModelInteropTests.worst(row, theirRow) < 1e-4, "\(prompt): hidden state at <F>")
        let n = ids.count
        let batch = Batch(batch: 1, length: n, tokens: ids, targets: [Int](repeating: 0, count: n),
                          lossWeights: [Float](repeating: 0, count: n), keyMask: [Bool](repeating: true, count: n),
                          regression: [(position: position, head: "F", target: 0)])
        let mine = model.forward(batch).predictions[0]
        let value = Float(heads["F"] ?? .nan)
        let dh = abs(mine - value)
        #expect(dh < 1e-4, "\(prompt): head F, tagdata \(mine), transformers \(value)")
        largestHead = max(largestHead, dh)
      } else {
        #expect(heads.isEmpty, "\(prompt): no function tag, no head value")
      }
    }
    print("tags trained on a transformers base: \(identical)/\(original.count) base tensors bit-identical; largest hidden-state difference \(largestHidden), largest head difference \(largestHead)")
  }
}
