import Foundation

/// Reading and writing Hugging Face `config.json` for the decoders tagdata runs: `LlamaForCausalLM`,
/// `MistralForCausalLM` and `Qwen2ForCausalLM`. Every key that changes the computation is either
/// implemented or refused with an error naming the key and its value: a checkpoint never loads
/// as a different model.
extension ModelConfig {
  /// `json` is the parsed config.json; `file` names it in errors.
  public init(huggingFace c: [String: Any], file: String) throws {
    func fail(_ message: String) -> Model.CheckpointError { Model.CheckpointError(message: "\(file): \(message)") }
    func describe(_ v: Any?) -> String {
      guard let v else { return "missing" }
      if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]),
        let s = String(data: d, encoding: .utf8)
      { return s }
      return "\(v)"
    }
    func int(_ key: String) throws -> Int {
      guard let n = c[key] as? NSNumber, let v = Int(exactly: n.doubleValue) else {
        throw fail("\(key) must be an integer (got \(describe(c[key])))")
      }
      return v
    }
    func optionalInt(_ key: String) throws -> Int? { c[key] == nil || c[key] is NSNull ? nil : try int(key) }
    func number(_ value: Any?, _ key: String) throws -> Double {
      guard let n = value as? NSNumber else { throw fail("\(key) must be a number (got \(describe(value)))") }
      return n.doubleValue
    }
    func bool(_ key: String) throws -> Bool {
      guard let v = c[key], !(v is NSNull) else { return false }
      guard let b = v as? Bool else { throw fail("\(key) must be true or false (got \(describe(v)))") }
      return b
    }

    // Which model.
    var architecture: Architecture
    if let list = c["architectures"], !(list is NSNull) {
      guard let names = list as? [String], names.count == 1, let a = Architecture(rawValue: names[0]) else {
        throw fail("architectures \(describe(list)) is not supported (one of \(Architecture.allCases.map(\.rawValue)))")
      }
      architecture = a
    } else if let type = c["model_type"] as? String, let a = Architecture.allCases.first(where: { $0.modelType == type }) {
      architecture = a
    } else {
      throw fail("model_type \(describe(c["model_type"])) is not supported (llama, mistral, qwen2)")
    }
    if let type = c["model_type"], !(type is NSNull), type as? String != architecture.modelType {
      throw fail("model_type \(describe(type)) does not match architectures [\(architecture.rawValue)]")
    }

    let heads = try int("num_attention_heads"), dimension = try int("hidden_size")
    guard heads >= 1, dimension >= 1 else { throw fail("num_attention_heads \(heads) / hidden_size \(dimension) must be positive") }
    let kv = try optionalInt("num_key_value_heads") ?? heads
    guard kv >= 1, heads % kv == 0 else {
      throw fail("num_key_value_heads \(kv) must divide num_attention_heads \(heads)")
    }
    let headDim = try optionalInt("head_dim") ?? dimension / heads
    guard headDim >= 2, headDim % 2 == 0 else { throw fail("head_dim \(headDim) must be even and at least 2") }
    if c["head_dim"] == nil || c["head_dim"] is NSNull, dimension % heads != 0 {
      throw fail("hidden_size \(dimension) is not a multiple of num_attention_heads \(heads) and head_dim is not given")
    }
    self.init(vocabularySize: try int("vocab_size"), dimension: dimension, layers: try int("num_hidden_layers"), heads: heads,
              feedForward: try int("intermediate_size"), keyValueHeads: kv, headDimension: headDim)
    guard vocabularySize >= 1, layers >= 1, feedForward >= 1 else {
      throw fail("vocab_size, num_hidden_layers and intermediate_size must be positive")
    }
    self.architecture = architecture

    for key in ["bos_token_id", "eos_token_id", "pad_token_id"] {
      if let v = c[key], !(v is NSNull) { passthrough[key] = describe(v) }
    }
    if let act = c["hidden_act"], !(act is NSNull), act as? String != "silu" {
      throw fail("hidden_act \(describe(act)) is not supported (silu)")
    }
    if let eps = c["rms_norm_eps"], !(eps is NSNull) { normEpsilon = Float(try number(eps, "rms_norm_eps")) }
    if let m = try optionalInt("max_position_embeddings") { maxPositions = m }
    tiedEmbeddings = try bool("tie_word_embeddings")
    if let tp = try optionalInt("pretraining_tp"), tp != 1 {
      // Only a different split of the same products in transformers 4; refused to stay literal.
      throw fail("pretraining_tp \(tp) is not supported (1)")
    }
    if try bool("mlp_bias") { throw fail("mlp_bias true is not supported (MLP projections without bias)") }

    switch architecture {
    case .qwen2:
      attentionBias = true
      if try bool("attention_bias") { throw fail("attention_bias true is not supported for Qwen2 (o_proj has no bias)") }
      if try bool("use_sliding_window") {
        throw fail("use_sliding_window true is not supported for Qwen2 (sliding_window \(describe(c["sliding_window"])))")
      }
    case .llama, .mistral:
      if try bool("attention_bias") {
        if architecture == .mistral { throw fail("attention_bias true is not supported for Mistral") }
        attentionBias = true
        outputBias = true
      }
      if architecture == .mistral, let w = try optionalInt("sliding_window") {
        guard w >= 1 else { throw fail("sliding_window \(w) must be positive") }
        slidingWindow = w
      }
      if architecture == .llama, let w = c["sliding_window"], !(w is NSNull) {
        throw fail("sliding_window \(describe(w)) is not supported for Llama")
      }
    }

    // Per-layer attention kinds (transformers 5): all full, or all sliding for Mistral's window.
    if let types = c["layer_types"], !(types is NSNull) {
      let expected = slidingWindow == nil ? "full_attention" : "sliding_attention"
      guard let list = types as? [String], list.count == layers else {
        throw fail("layer_types \(describe(types)) is not a list of \(layers) strings")
      }
      if let t = list.first(where: { $0 != expected }) {
        throw fail("layer_types entry \"\(t)\" is not supported (\(expected) in every layer)")
      }
    }

    // RoPE: transformers 5 writes `rope_parameters` (with rope_theta inside), 4 wrote
    // `rope_theta` and `rope_scaling`.
    var rope: [String: Any] = [:]
    var parameters: [String: Any]? = nil
    if let p = c["rope_parameters"], !(p is NSNull) {
      guard let d = p as? [String: Any] else { throw fail("rope_parameters \(describe(p)) is not an object") }
      rope = d
      parameters = d
    }
    if let s = c["rope_scaling"], !(s is NSNull) {
      guard let d = s as? [String: Any] else { throw fail("rope_scaling \(describe(s)) is not an object") }
      if let parameters {
        // Both keys (tagdata writes both, for transformers 4 and 5): they must say the same.
        func scaling(_ d: [String: Any]) -> String {
          var d = d
          d["rope_theta"] = nil
          if let t = d["type"], d["rope_type"] == nil { d["rope_type"] = t }
          d["type"] = nil
          if d["rope_type"] == nil { d["rope_type"] = "default" }
          return describe(d)
        }
        guard scaling(parameters) == scaling(d) else {
          throw fail("rope_scaling \(describe(d)) disagrees with rope_parameters \(describe(parameters))")
        }
      }
      rope.merge(d) { old, _ in old }
    }
    let ropeKey = c["rope_parameters"] != nil && !(c["rope_parameters"] is NSNull) ? "rope_parameters" : "rope_scaling"
    if let theta = rope["rope_theta"] ?? c["rope_theta"], !(theta is NSNull) {
      ropeBase = Float(try number(theta, "rope_theta"))
    }
    if let partial = rope["partial_rotary_factor"] ?? c["partial_rotary_factor"], !(partial is NSNull),
      try number(partial, "partial_rotary_factor") != 1
    {
      throw fail("partial_rotary_factor \(describe(partial)) is not supported (1)")
    }
    let type = (rope["rope_type"] ?? rope["type"]) as? String ?? "default"
    func ropeNumber(_ key: String) throws -> Double {
      guard let v = rope[key], !(v is NSNull) else { throw fail("\(ropeKey) of type \(type) needs \(key)") }
      return try number(v, "\(ropeKey).\(key)")
    }
    switch type {
    case "default":
      ropeScaling = nil
    case "linear":
      ropeScaling = .linear(factor: Float(try ropeNumber("factor")))
    case "dynamic":
      guard c["max_position_embeddings"] is NSNumber else {
        throw fail("\(ropeKey) of type dynamic needs max_position_embeddings")
      }
      ropeScaling = .dynamic(factor: Float(try ropeNumber("factor")))
    case "llama3":
      let low = try ropeNumber("low_freq_factor"), high = try ropeNumber("high_freq_factor")
      guard high != low else { throw fail("\(ropeKey): high_freq_factor equals low_freq_factor (\(low))") }
      let original = try ropeNumber("original_max_position_embeddings")
      guard let o = Int(exactly: original), o > 0 else {
        throw fail("\(ropeKey).original_max_position_embeddings \(original) must be a positive integer")
      }
      ropeScaling = .llama3(factor: Float(try ropeNumber("factor")), lowFrequencyFactor: Float(low),
                            highFrequencyFactor: Float(high), originalMaxPositions: o)
    default:
      throw fail("\(ropeKey) type \(describe(type)) is not supported (default, linear, dynamic, llama3)")
    }
    if let factor = rope["factor"] as? NSNumber, ropeScaling != nil, factor.doubleValue <= 0 {
      throw fail("\(ropeKey).factor \(factor) must be positive")
    }
    if let attention = rope["attention_factor"], !(attention is NSNull), try number(attention, "attention_factor") != 1 {
      throw fail("\(ropeKey).attention_factor \(describe(attention)) is not supported (1)")
    }
  }

  /// The config.json of this model, as transformers 5 reads it (with the transformers 4 keys
  /// `rope_theta` and `rope_scaling` too).
  public func huggingFaceJSON(tied: Bool) -> [String: Any] {
    var rope: [String: Any] = ["rope_theta": Double(ropeBase), "rope_type": "default"]
    switch ropeScaling {
    case nil: break
    case let .linear(factor):
      rope["rope_type"] = "linear"
      rope["factor"] = Double(factor)
    case let .dynamic(factor):
      rope["rope_type"] = "dynamic"
      rope["factor"] = Double(factor)
    case let .llama3(factor, low, high, original):
      rope["rope_type"] = "llama3"
      rope["factor"] = Double(factor)
      rope["low_freq_factor"] = Double(low)
      rope["high_freq_factor"] = Double(high)
      rope["original_max_position_embeddings"] = original
    }
    var hf: [String: Any] = [
      "architectures": [architecture.rawValue], "model_type": architecture.modelType, "vocab_size": vocabularySize,
      "hidden_size": dimension, "num_hidden_layers": layers, "num_attention_heads": heads,
      "num_key_value_heads": keyValueHeads, "head_dim": headDimension, "intermediate_size": feedForward,
      "max_position_embeddings": maxPositions, "rope_parameters": rope, "rope_theta": Double(ropeBase),
      "rms_norm_eps": Double(normEpsilon), "hidden_act": "silu", "tie_word_embeddings": tied, "torch_dtype": "float32",
      "dtype": "float32",
    ]
    if ropeScaling != nil {
      var legacy = rope
      legacy["rope_theta"] = nil
      hf["rope_scaling"] = legacy
    }
    for (key, text) in passthrough {
      if let v = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) { hf[key] = v }
    }
    switch architecture {
    case .llama:
      hf["attention_bias"] = attentionBias
      hf["mlp_bias"] = false
    case .mistral:
      hf["sliding_window"] = slidingWindow ?? NSNull()
    case .qwen2:
      hf["use_sliding_window"] = false
    }
    return hf
  }
}
