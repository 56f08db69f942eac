import Foundation
import Testing
import TestSupport
@testable import TagdataTrain

/// A numpy forward pass written from the architecture description reproduces tagdata's logits
/// and regression outputs, on checkpoints tagdata saved; a Hugging Face LLaMA-layout directory
/// written by Python's safetensors loads in tagdata and gives the reference's logits.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
struct NumpyReferenceTests {
  func reference(_ directory: String, _ batch: Batch) throws -> (logits: [Float], predictions: [Float]) {
    guard let python = TestSupport.python else {
      Issue.record("no venv python")
      return ([], [])
    }
    let input = directory + "/input.json", output = directory + "/output.json"
    let spec: [String: Any] = ["batch": batch.batch, "length": batch.length, "tokens": batch.tokens, "key_mask": batch.keyMask,
                               "regression": batch.regression.map { [$0.position, $0.head] as [Any] }]
    try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: input))
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/numpy_llama.py").path
    let r = try TestSupport.run(python, [script, "forward", directory, input, output])
    try #require(r.status == 0, "\(r.stderr)")
    let out = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as! [String: Any]
    return ((out["logits"] as! [Double]).map { Float($0) }, (out["predictions"] as! [Double]).map { Float($0) })
  }

  /// Two sequences of 8: the first with the tag after five tokens, the second padded.
  func sampleBatch(_ model: Model, tag: [Int]) -> Batch {
    let length = 8
    let first = Array(([3, 1, 4, 1, 5] + tag + [9, 2, 6]).prefix(length))
    let second = [6, 5, 3, 5, 8, 0, 0, 0]
    let tokens = first + second
    let mask = [Bool](repeating: true, count: length) + (0..<length).map { $0 < 5 }
    return Batch(batch: 2, length: length, tokens: tokens, targets: [Int](repeating: 0, count: 2 * length),
                 lossWeights: [Float](repeating: 0, count: 2 * length), keyMask: mask,
                 regression: tag.isEmpty ? [] : [(position: 4 + tag.count, head: "QED", target: 0)])
  }

  @Test func numpyReproducesLogitsAndHeadsOfASavedCheckpoint() throws {
    var model = Model(config: ModelConfig(vocabularySize: 13, dimension: 16, layers: 2, heads: 4, feedForward: 24), seed: 3)
    let first = model.addTag("Protein", rows: 1, seed: 5)
    model.addHead("QED", seed: 6)
    let dir = TestSupport.tempDirectory().path
    try model.save(to: dir)
    let reloaded = try Model.load(from: dir)
    #expect(reloaded.parameters == model.parameters)
    let batch = sampleBatch(model, tag: [first])
    let ours = model.forward(batch)
    let theirs = try reference(dir, batch)
    try #require(theirs.logits.count == ours.logits.count)
    let worst = zip(ours.logits.data, theirs.logits).map { abs($0 - $1) }.max() ?? 1
    #expect(worst < 1e-4, "largest logit difference \(worst)")
    #expect(theirs.predictions.count == 1 && abs(theirs.predictions[0] - ours.predictions[0]) < 1e-4)
  }

  /// A LLaMA-layout directory made in Python (safetensors, float16 weights, tied embeddings)
  /// loads in tagdata, whose logits equal the numpy reference's on the same weights.
  @Test func huggingFaceLayoutCheckpointLoads() throws {
    guard let python = TestSupport.python else {
      Issue.record("no venv python")
      return
    }
    let dir = TestSupport.tempDirectory().path
    let make = """
      import json, sys, numpy as np
      from safetensors.numpy import save_file
      d, V, L, H, F = 16, 17, 2, 2, 32
      rng = np.random.default_rng(0)
      w = {"model.embed_tokens.weight": rng.normal(0, 0.5, (V, d)), "model.norm.weight": 1 + rng.normal(0, 0.1, d)}
      for l in range(L):
          for p in ["q_proj", "k_proj", "v_proj", "o_proj"]:
              w[f"model.layers.{l}.self_attn.{p}.weight"] = rng.normal(0, d ** -0.5, (d, d))
          w[f"model.layers.{l}.mlp.gate_proj.weight"] = rng.normal(0, d ** -0.5, (F, d))
          w[f"model.layers.{l}.mlp.up_proj.weight"] = rng.normal(0, d ** -0.5, (F, d))
          w[f"model.layers.{l}.mlp.down_proj.weight"] = rng.normal(0, F ** -0.5, (d, F))
          w[f"model.layers.{l}.input_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
          w[f"model.layers.{l}.post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
      save_file({k: v.astype(np.float16) for k, v in w.items()}, sys.argv[1] + "/model.safetensors")
      json.dump({"model_type": "llama", "vocab_size": V, "hidden_size": d, "num_hidden_layers": L, "num_attention_heads": H,
                 "num_key_value_heads": H, "intermediate_size": F, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
                 "hidden_act": "silu", "tie_word_embeddings": True}, open(sys.argv[1] + "/config.json", "w"))
      """
    let r = try TestSupport.run(python, ["-c", make, dir])
    try #require(r.status == 0, "\(r.stderr)")
    let model = try Model.load(from: dir)
    #expect(model.config.ropeBase == 500_000 && model.config.normEpsilon == 1e-6)
    #expect(model.parameters["lm_head.weight"] == model.parameters["model.embed_tokens.weight"])
    // The reference runs on the Python-made directory itself.
    let batch = sampleBatch(model, tag: [])
    let ours = model.forward(batch)
    let theirs = try reference(dir, batch)
    try #require(theirs.logits.count == ours.logits.count)
    let worst = zip(ours.logits.data, theirs.logits).map { abs($0 - $1) }.max() ?? 1
    #expect(worst < 1e-4, "largest logit difference \(worst)")
    // And the half-precision values were read exactly: compare one weight with Python's view.
    let check = try TestSupport.run(python, ["-c", """
      import sys, numpy as np
      from safetensors.numpy import load_file
      print(repr(float(load_file(sys.argv[1] + "/model.safetensors")["model.norm.weight"][3])))
      """, dir])
    #expect(Float(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == model.parameters["model.norm.weight"].data[3])
  }
}
