import Foundation
import Testing
import TestSupport
@testable import TagdataTrain

/// Examples/tags_in_transformers.py (transformers' AutoModelForCausalLM on inputs_embeds built
/// from the tag dictionary, a regression head on the final-norm hidden state at the function
/// tag's last virtual token) gives tagdata's logits and head values, on a model that
/// `tagdata train` trained with Examples/train-small.json (a domain tag, then a function tag
/// with its head); and transformers' greedy generate from those inputs_embeds continues the
/// prompt with tagdata's ids.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
struct TagsInTransformersTests {
  @Test func exampleScriptMatchesTagdata() throws {
    guard let python = try interopPython(importing: ["torch", "transformers", "safetensors"]) else { return }
    let out = TestSupport.tempDirectory().path
    let config = TestSupport.root.appendingPathComponent("Examples/train-small.json").path
    let trained = try TestSupport.tagdata(["train", "--config", config, "--out", out, "--quiet"])
    try #require(trained.status == 0, "\(trained.stderr)")
    let directory = out + "/stage-3-hydrophobicity/model"
    let model = try Model.load(from: directory)
    #expect(model.tagNames == ["Protein", "Hydrophobic"] && model.headNames == ["Hydrophobic"])
    let script = TestSupport.root.appendingPathComponent("Examples/tags_in_transformers.py").path
    let prompts = [
      "1 <Protein> 81 79 88 73 <Hydrophobic>",
      "1 <Protein> 80 81 82 <Hydrophobic> 90 <Protein> 85 <Hydrophobic>",
      "1 72 105 4 <Protein>",
    ]
    var largestLogit: Float = 0, largestHead: Float = 0, agreed = 0
    for (k, prompt) in prompts.enumerated() {
      let prefix = out + "/python-\(k)"
      let run = try TestSupport.run(python, [script, directory, prompt, "--generate", "20", "--out", prefix])
      try #require(run.status == 0, "\(prompt): \(run.stderr)")
      let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + ".json"))) as! [String: Any]
      let ids = result["ids"] as! [Int]
      // The same ids as tagdata numbers the tags.
      var expected: [Int] = []
      for word in prompt.split(separator: " ") {
        if word.hasPrefix("<") { expected += model.tagTokens(String(word.dropFirst().dropLast())) } else { expected.append(Int(word)!) }
      }
      #expect(ids == expected, "\(prompt)")
      let n = ids.count
      let headRow = model.tagTokens("Hydrophobic").last!
      let position = ids.lastIndex(of: headRow)
      let batch = Batch(batch: 1, length: n, tokens: ids, targets: [Int](repeating: 0, count: n),
                        lossWeights: [Float](repeating: 0, count: n), keyMask: [Bool](repeating: true, count: n),
                        regression: position.map { [(position: $0, head: "Hydrophobic", target: 0)] } ?? [])
      let mine = model.forward(batch)
      let theirs = try HFModelInteropTests.readFloats(prefix + ".logits.f32")
      let w = HFModelInteropTests.worst(mine.logits.data, theirs)
      #expect(w < 1e-4, "\(prompt): largest logit difference \(w)")
      largestLogit = max(largestLogit, w)
      // transformers' greedy generate on the same inputs_embeds: tagdata's ids.
      let generated = result["generated"] as! [Int]
      let (ours, _) = try model.generate(prompt: ids, maxNewTokens: 20)
      #expect(generated == ours, "\(prompt): greedy continuation, transformers \(generated), tagdata \(ours)")
      agreed += zip(generated, ours).prefix { $0 == $1 }.count
      let heads = result["heads"] as! [String: Double]
      if position != nil {
        let value = Float(heads["Hydrophobic"] ?? .nan)
        let d = abs(value - mine.predictions[0])
        #expect(d < 1e-4, "\(prompt): head Hydrophobic, tagdata \(mine.predictions[0]), transformers \(value)")
        largestHead = max(largestHead, d)
      } else {
        #expect(heads.isEmpty, "\(prompt): no function tag, no head value")
      }
    }
    print("tags in transformers: largest logit difference \(largestLogit), largest head difference \(largestHead), greedy ids equal \(agreed)/\(20 * prompts.count)")
  }
}
