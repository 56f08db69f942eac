import Foundation
import Testing
import TestSupport
@testable import TagdataTrain

/// Hugging Face checkpoints that must not load, each with an error naming the key (and value)
/// or the tensor; and the config keys that load.
@Suite struct HFCheckpointErrorTests {
  /// A saved tiny Llama with GQA, then `edit` applied to its config.json.
  func directory(_ edit: (inout [String: Any]) -> Void = { _ in }, config: ModelConfig? = nil) throws -> String {
    let dir = TestSupport.tempDirectory().path
    let c = config ?? ModelConfig(vocabularySize: 9, dimension: 8, layers: 1, heads: 2, feedForward: 6, keyValueHeads: 1)
    try Model(config: c, seed: 1).save(to: dir)
    let path = dir + "/config.json"
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    edit(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    return dir
  }

  func loadError(_ dir: String) -> String {
    do {
      _ = try Model.load(from: dir)
      return "loaded"
    } catch {
      return "\(error)"
    }
  }

  /// (key, value as JSON, what the error must say).
  @Test(arguments: [
    ("rope_parameters", #"{"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0}"#, #"type "yarn""#),
    ("rope_parameters", #"{"rope_type": "longrope", "rope_theta": 10000.0}"#, #"type "longrope""#),
    ("rope_parameters", #"{"rope_type": "llama3", "factor": 8.0, "rope_theta": 10000.0}"#, "needs low_freq_factor"),
    ("rope_scaling", #"{"type": "frobnicate", "factor": 2.0}"#, #"rope_scaling {"factor":2,"type":"frobnicate"} disagrees with rope_parameters"#),
    ("hidden_act", #""gelu""#, #"hidden_act "gelu""#),
    ("mlp_bias", "true", "mlp_bias true"),
    ("num_key_value_heads", "3", "num_key_value_heads 3"),
    ("architectures", #"["GPT2LMHeadModel"]"#, "GPT2LMHeadModel"),
    ("sliding_window", "16", "sliding_window 16"),
    ("partial_rotary_factor", "0.5", "partial_rotary_factor 0.5"),
    ("layer_types", #"["sliding_attention"]"#, #"layer_types entry "sliding_attention" is not supported"#),
  ])
  func unsupportedConfigKeysAreNamed(key: String, value: String, expected: String) throws {
    let parsed = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
    let dir = try directory { $0[key] = parsed }
    let message = loadError(dir)
    #expect(message.contains(expected) && message.contains("config.json"), "\(message)")
  }

  @Test func qwen2SlidingWindowAndAttentionBiasAreRefused() throws {
    var c = ModelConfig(vocabularySize: 9, dimension: 8, layers: 1, heads: 2, feedForward: 6)
    c.architecture = .qwen2
    c.attentionBias = true
    let ok = try directory(config: c)
    #expect(try Model.load(from: ok).config == c)
    let window = try directory({ $0["use_sliding_window"] = true; $0["sliding_window"] = 4 }, config: c)
    #expect(loadError(window).contains("use_sliding_window true"))
    let bias = try directory({ $0["attention_bias"] = true }, config: c)
    #expect(loadError(bias).contains("attention_bias true"))
    var m = c
    m.architecture = .mistral
    m.attentionBias = false
    let mistralBias = try directory({ $0["attention_bias"] = true }, config: m)
    #expect(loadError(mistralBias).contains("attention_bias true is not supported for Mistral"))
  }

  /// Weights the config does not use (Llama with biases in the file, attention_bias false) and
  /// weights it needs but the file lacks, by name.
  @Test func extraAndMissingWeightsAreNamed() throws {
    var c = ModelConfig(vocabularySize: 9, dimension: 8, layers: 1, heads: 2, feedForward: 6)
    c.attentionBias = true
    c.outputBias = true
    let extra = try directory({ $0["attention_bias"] = false }, config: c)
    #expect(loadError(extra).contains("model.layers.0.self_attn.k_proj.bias"), "\(loadError(extra))")
    let missing = try directory({ $0["attention_bias"] = true })
    #expect(loadError(missing).contains("no model.layers.0.self_attn.q_proj.bias"), "\(loadError(missing))")
    let wrongHeadDim = try directory({ $0["head_dim"] = 8 })
    #expect(loadError(wrongHeadDim).contains("model.layers.0.self_attn.q_proj.weight has shape [8, 8], the config implies [16, 8]"),
            "\(loadError(wrongHeadDim))")
  }

  /// A safetensors file cut short, and headers whose dtype or offsets disagree with the data:
  /// errors naming the tensor, never a crash.
  @Test func corruptSafetensorsAreErrorsNamingTheTensor() throws {
    let dir = try directory()
    let path = dir + "/model.safetensors"
    let whole = try Data(contentsOf: URL(fileURLWithPath: path))
    let n = Int(whole.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    let header = try JSONSerialization.jsonObject(with: whole.subdata(in: 8..<(8 + n))) as! [String: Any]
    // The tensor whose data ends last.
    let last = header.filter { $0.key != "__metadata__" }.max {
      (($0.value as! [String: Any])["data_offsets"] as! [Int])[1] < (($1.value as! [String: Any])["data_offsets"] as! [Int])[1]
    }!.key
    try whole.prefix(whole.count - 10).write(to: URL(fileURLWithPath: path))
    let truncated = loadError(dir)
    #expect(truncated.contains("tensor \(last)") && truncated.contains("truncated"), "\(truncated)")
    try whole.prefix(20).write(to: URL(fileURLWithPath: path))
    #expect(loadError(dir).contains("header length"), "\(loadError(dir))")

    func rewrite(_ edit: (inout [String: Any]) -> Void) throws {
      var h = header
      edit(&h)
      var json = try JSONSerialization.data(withJSONObject: h, options: [.sortedKeys])
      while json.count % 8 != 0 { json.append(0x20) }
      var out = Data()
      var length = UInt64(json.count).littleEndian
      withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
      out.append(json)
      out.append(whole.subdata(in: (8 + n)..<whole.count))
      try out.write(to: URL(fileURLWithPath: path))
    }
    try rewrite { h in
      var e = h["model.norm.weight"] as! [String: Any]
      e["dtype"] = "F16"
      h["model.norm.weight"] = e
    }
    let mismatch = loadError(dir)
    #expect(mismatch.contains("tensor model.norm.weight: dtype F16 with shape [8] needs 16 bytes, data_offsets"), "\(mismatch)")
    try rewrite { h in
      var e = h["model.norm.weight"] as! [String: Any]
      e["dtype"] = "I64"
      h["model.norm.weight"] = e
    }
    #expect(loadError(dir).contains("tensor model.norm.weight: dtype I64 is not supported"))
    try rewrite { h in
      var e = h["model.norm.weight"] as! [String: Any]
      e["data_offsets"] = [-4, 28]
      h["model.norm.weight"] = e
    }
    #expect(loadError(dir).contains("tensor model.norm.weight: data_offsets"))
    try rewrite { h in
      var e = h["model.norm.weight"] as! [String: Any]
      e["shape"] = [1 << 40, 1 << 40]
      h["model.norm.weight"] = e
    }
    #expect(loadError(dir).contains("tensor model.norm.weight: shape"))
    try rewrite { h in
      let other = h["model.layers.0.input_layernorm.weight"] as! [String: Any]
      var e = h["model.norm.weight"] as! [String: Any]
      e["data_offsets"] = other["data_offsets"]
      h["model.norm.weight"] = e
    }
    #expect(loadError(dir).contains("overlap"), "\(loadError(dir))")
  }

  /// Sharded weights: an index that puts a tensor in a shard that does not hold it.
  @Test func shardedIndexMustAgreeWithTheShards() throws {
    let dir = try directory()
    let (tensors, _) = try Safetensors.read(dir + "/model.safetensors")
    try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
    let names = tensors.keys.sorted()
    let first = Array(names.prefix(names.count / 2)), second = Array(names.dropFirst(names.count / 2))
    try Safetensors.write(first.map { ($0, tensors[$0]!) }, to: dir + "/model-00001-of-00002.safetensors")
    try Safetensors.write(second.map { ($0, tensors[$0]!) }, to: dir + "/model-00002-of-00002.safetensors")
    var map: [String: String] = [:]
    for n in first { map[n] = "model-00001-of-00002.safetensors" }
    for n in second { map[n] = "model-00002-of-00002.safetensors" }
    func writeIndex() throws {
      try JSONSerialization.data(withJSONObject: ["metadata": [:] as [String: Any], "weight_map": map])
        .write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
    }
    try writeIndex()
    let loaded = try Model.load(from: dir)
    #expect(loaded.parameters["model.norm.weight"] == tensors["model.norm.weight"])
    map[first[0]] = "model-00002-of-00002.safetensors"
    try writeIndex()
    // The first shard holds it, the second does not: either disagreement names the tensor.
    #expect(loadError(dir).contains("\(first[0]), which weight_map puts in model-00002-of-00002.safetensors"), "\(loadError(dir))")
    map[first[0]] = nil
    try writeIndex()
    #expect(loadError(dir).contains("holds \(first[0]), which weight_map does not list"), "\(loadError(dir))")
    map[first[0]] = "model-00001-of-00002.safetensors"
    map["model.extra.weight"] = "model-00001-of-00002.safetensors"
    try writeIndex()
    #expect(loadError(dir).contains("weight_map puts model.extra.weight in model-00001-of-00002.safetensors, which does not hold it"),
            "\(loadError(dir))")
    map["model.extra.weight"] = nil
    map[first[0]] = "../model.safetensors"
    try writeIndex()
    #expect(loadError(dir).contains("is not a file name"))
  }

  /// Old directories (no head_dim, no num_key_value_heads, transformers 4 rope keys) still load,
  /// and the rope keys of both transformers versions are read.
  @Test func ropeKeysOfBothTransformersVersions() throws {
    let v4 = try directory {
      $0["rope_parameters"] = nil
      $0["head_dim"] = nil
      $0["rope_theta"] = 500000.0
      $0["rope_scaling"] = ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                            "original_max_position_embeddings": 8192]
    }
    let c = try Model.load(from: v4).config
    #expect(c.ropeBase == 500_000 && c.headDimension == 4 && c.keyValueHeads == 1)
    #expect(c.ropeScaling == .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192))
    let legacyOnly = try directory {
      $0["rope_parameters"] = nil
      $0["rope_scaling"] = ["type": "frobnicate", "factor": 2.0]
    }
    #expect(loadError(legacyOnly).contains(#"rope_scaling type "frobnicate" is not supported"#), "\(loadError(legacyOnly))")
    let v5 = try directory { $0["rope_parameters"] = ["rope_type": "linear", "factor": 2.0, "rope_theta": 1000.0] }
    let c5 = try Model.load(from: v5).config
    #expect(c5.ropeBase == 1000 && c5.ropeScaling == .linear(factor: 2))
  }

  /// A tied model stays tied when its vocabulary grows (the head takes the new embedding rows)
  /// and is saved without lm_head.weight; once the head is trained apart, it is saved untied.
  /// Special token ids in config.json survive a save.
  @Test func tiedEmbeddingsAndSpecialTokens() throws {
    var c = ModelConfig(vocabularySize: 9, dimension: 8, layers: 1, heads: 2, feedForward: 6)
    c.tiedEmbeddings = true
    let dir = try directory({ $0["eos_token_id"] = [2, 7]; $0["bos_token_id"] = 1 }, config: c)
    var model = try Model.load(from: dir)
    #expect(model.config.tiedEmbeddings && model.config.passthrough["eos_token_id"] == "[2,7]")
    model.growVocabulary(to: 12, seed: 3)
    #expect(model.parameters["lm_head.weight"] == model.parameters["model.embed_tokens.weight"])
    let tied = TestSupport.tempDirectory().path
    try model.save(to: tied)
    #expect(try Safetensors.read(tied + "/model.safetensors").tensors["lm_head.weight"] == nil)
    let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tied + "/config.json"))) as! [String: Any]
    #expect(saved["eos_token_id"] as? [Int] == [2, 7] && saved["bos_token_id"] as? Int == 1)
    #expect(saved["tie_word_embeddings"] as? Bool == true)
    #expect(try Model.load(from: tied).parameters == model.parameters)
    model.parameters["lm_head.weight"].data[0] += 1
    let untied = TestSupport.tempDirectory().path
    try model.save(to: untied)
    let reloaded = try Model.load(from: untied)
    #expect(reloaded.parameters == model.parameters && !reloaded.config.tiedEmbeddings)
  }
}
