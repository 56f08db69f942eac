import Foundation
import Testing
import TestSupport
@testable import TagdataTrain

/// Tiny random Hugging Face models made by transformers (Tests/Interop/hf_llama_models.py):
/// Llama with grouped-query and multi-query attention (tied embeddings), rope_scaling llama3,
/// linear and dynamic, head_dim ≠ hidden/heads, attention_bias; Mistral with a sliding window;
/// Qwen2 with Q/K/V biases; each saved in float32 (one sharded), float16 and bfloat16. tagdata
/// loads each directory and its logits match transformers' (on the same weights, in float32);
/// then tagdata saves it again, the saved directory reloads equal, and transformers loads it
/// and gives tagdata's logits.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
struct HFModelInteropTests {
  static func readFloats(_ path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
      (0..<(data.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
    }
  }

  static func logits(_ model: Model, _ sequence: [Int]) -> [Float] {
    let n = sequence.count
    let batch = Batch(batch: 1, length: n, tokens: sequence, targets: [Int](repeating: 0, count: n),
                      lossWeights: [Float](repeating: 0, count: n), keyMask: [Bool](repeating: true, count: n))
    return model.forward(batch).logits.data
  }

  static func worst(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
  }

  @Test func transformersModelsLoadAndMatchLogits() throws {
    guard let python = try interopPython(importing: ["torch", "transformers"]) else { return }
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/hf_llama_models.py").path
    let dir = TestSupport.tempDirectory().path
    let made = try TestSupport.run(python, [script, "make", dir])
    try #require(made.status == 0, "\(made.stderr)")
    let cases = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cases.json"))) as! [[String: Any]]
    #expect(cases.count == 27)
    #expect(cases.contains { $0["sharded"] as? Bool == true })
    var checks: [[String: Any]] = []
    var ours: [String: [[Float]]] = [:]
    var summary: [String] = [], gradientSummary: [String] = []
    for c in cases {
      let name = c["name"] as! String, dtype = c["dtype"] as! String, directory = c["dir"] as! String
      let sequences = c["sequences"] as! [[Int]], outputs = c["outputs"] as! [String]
      let label = "\(name) \(dtype)"
      let model: Model
      do {
        model = try Model.load(from: directory)
      } catch {
        Issue.record("\(label): \(error)")
        continue
      }
      var largest: Float = 0
      var computed: [[Float]] = []
      for (sequence, output) in zip(sequences, outputs) {
        let mine = Self.logits(model, sequence)
        let theirs = try Self.readFloats(output)
        let w = Self.worst(mine, theirs)
        #expect(w < 1e-4, "\(label), sequence of \(sequence.count) tokens \(sequence): largest logit difference \(w)")
        largest = max(largest, w)
        computed.append(mine)
      }
      summary.append("\(label): \(largest)")
      // The backward pass: every parameter's gradient against torch's autograd.
      if let gradientFile = c["gradients"] as? String, let sequence = sequences.last {
        let (torchGradients, _) = try Safetensors.read(gradientFile)
        let n = sequence.count
        let batch = Batch(batch: 1, length: n, tokens: sequence, targets: Array(sequence.dropFirst()) + [0],
                          lossWeights: [Float](repeating: 1, count: n - 1) + [0], keyMask: [Bool](repeating: true, count: n))
        let (_, ours) = model.gradients(batch, regressionScale: 0)
        var worstRelative: Float = 0
        for (name, theirs) in torchGradients {
          var mine = ours[name]
          if name == "model.embed_tokens.weight" && model.config.tiedEmbeddings { mine.add(ours["lm_head.weight"]) }
          let scale = max(theirs.data.map { abs($0) }.max() ?? 0, 1e-3)
          let w = Self.worst(mine.data, theirs.data) / scale
          #expect(w < 1e-4, "\(label): gradient of \(name) differs from torch's by \(w) of its largest element")
          worstRelative = max(worstRelative, w)
        }
        #expect(torchGradients.count == model.parameters.names.count - (model.config.tiedEmbeddings ? 1 : 0))
        gradientSummary.append("\(name): \(worstRelative)")
      }
      // Saved again by tagdata: reloads equal; transformers reads it (checked below).
      let saved = dir + "/saved-\(name)-\(dtype)"
      try model.save(to: saved)
      let again = try Model.load(from: saved)
      #expect(again.config == model.config, "\(label): config after save and load")
      #expect(again.parameters == model.parameters, "\(label): weights after save and load")
      if model.config.tiedEmbeddings {
        let header = try Safetensors.read(saved + "/model.safetensors").tensors
        #expect(header["lm_head.weight"] == nil, "\(label): a tied model is saved without lm_head.weight")
      }
      let savedOutputs = sequences.indices.map { saved + "/tagdata-\($0).f32" }
      checks.append(["dir": saved, "sequences": sequences, "outputs": savedOutputs])
      ours[saved] = computed
    }
    print("largest |logit difference| with transformers per case: " + summary.joined(separator: "; "))
    print("largest gradient difference with torch (relative to the tensor's largest element), float32 cases: "
            + gradientSummary.joined(separator: "; "))
    let list = dir + "/check.json"
    try JSONSerialization.data(withJSONObject: checks).write(to: URL(fileURLWithPath: list))
    let checked = try TestSupport.run(python, [script, "check", list])
    try #require(checked.status == 0, "transformers could not load tagdata's saved models: \(checked.stderr)")
    for item in checks {
      let saved = item["dir"] as! String
      for (k, output) in (item["outputs"] as! [String]).enumerated() {
        let w = Self.worst(ours[saved]![k], try Self.readFloats(output))
        #expect(w < 1e-4, "\(saved) saved by tagdata, sequence \(k), in transformers: largest logit difference \(w)")
      }
    }
  }
}
