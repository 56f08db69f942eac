import Foundation

/// Model directories: `config.json` (Hugging Face LLaMA keys), `model.safetensors` (the base
/// weights under their standard names) and, when the model has tags or heads, Tag-LLM's "tag
/// dictionary": `tags.safetensors` (`tags.NAME`, `heads.NAME.weight`, `heads.NAME.bias`) with
/// `tags.json` (tag order and rows, head names). A Hugging Face LLaMA directory loads as a base.
extension Model {
  public struct CheckpointError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
  }

  struct TagManifest: Codable {
    var tags: [TagEntry]
    var heads: [String]
    struct TagEntry: Codable {
      var name: String
      var rows: Int
    }
  }

  public var tagNames: [String] { tagOrder }
  public var headNames: [String] {
    parameters.names.filter { $0.hasPrefix("heads.") && $0.hasSuffix(".weight") }.map { String($0.dropFirst(6).dropLast(7)) }
  }

  public func save(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let hf: [String: Any] = [
      "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": config.vocabularySize,
      "hidden_size": config.dimension, "num_hidden_layers": config.layers, "num_attention_heads": config.heads,
      "num_key_value_heads": config.heads, "intermediate_size": config.feedForward, "rope_theta": Double(config.ropeBase),
      "rms_norm_eps": Double(config.normEpsilon), "hidden_act": "silu", "tie_word_embeddings": false,
      "torch_dtype": "float32",
    ]
    let json = try JSONSerialization.data(withJSONObject: hf, options: [.prettyPrinted, .sortedKeys])
    try json.write(to: URL(fileURLWithPath: directory + "/config.json"))
    let base = parameters.names.filter { !$0.hasPrefix("tags.") && !$0.hasPrefix("heads.") }
    try Safetensors.write(base.map { ($0, parameters[$0]) }, metadata: ["format": "pt"], to: directory + "/model.safetensors")
    let extra = parameters.names.filter { $0.hasPrefix("tags.") || $0.hasPrefix("heads.") }
    if !extra.isEmpty {
      try Safetensors.write(extra.map { ($0, parameters[$0]) }, metadata: ["format": "pt"], to: directory + "/tags.safetensors")
      let manifest = TagManifest(tags: zip(tagOrder, tagRows).map { TagManifest.TagEntry(name: $0, rows: $1) }, heads: headNames)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(manifest).write(to: URL(fileURLWithPath: directory + "/tags.json"))
    }
  }

  /// Loads a directory written by ``save(to:)`` or a Hugging Face LLaMA directory
  /// (`config.json` + `model.safetensors`; tied embeddings are untied by copying).
  public static func load(from directory: String) throws -> Model {
    let configData = try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))
    guard let c = try JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
      throw CheckpointError(message: "\(directory)/config.json is not a JSON object")
    }
    func int(_ key: String) throws -> Int {
      guard let v = c[key] as? Int else { throw CheckpointError(message: "\(directory)/config.json: missing \(key)") }
      return v
    }
    var config = ModelConfig(vocabularySize: try int("vocab_size"), dimension: try int("hidden_size"),
                             layers: try int("num_hidden_layers"), heads: try int("num_attention_heads"),
                             feedForward: try int("intermediate_size"))
    if let kv = c["num_key_value_heads"] as? Int, kv != config.heads {
      throw CheckpointError(message: "\(directory): grouped-query attention (num_key_value_heads \(kv)) is not supported")
    }
    if let act = c["hidden_act"] as? String, act != "silu" {
      throw CheckpointError(message: "\(directory): activation \(act) is not supported (silu)")
    }
    if let theta = c["rope_theta"] as? Double { config.ropeBase = Float(theta) }
    if let eps = c["rms_norm_eps"] as? Double { config.normEpsilon = Float(eps) }
    var model = Model(config: config, seed: 0)
    let (tensors, _) = try Safetensors.read(directory + "/model.safetensors")
    for name in model.parameters.names {
      var t = tensors[name]
      if t == nil && name == "lm_head.weight" && (c["tie_word_embeddings"] as? Bool ?? false) {
        t = tensors["model.embed_tokens.weight"]
      }
      guard let tensor = t else { throw CheckpointError(message: "\(directory)/model.safetensors: missing \(name)") }
      guard tensor.shape == model.parameters[name].shape else {
        throw CheckpointError(message: "\(directory): \(name) has shape \(tensor.shape), the config implies \(model.parameters[name].shape)")
      }
      model.parameters[name] = tensor
    }
    let manifestPath = directory + "/tags.json"
    if FileManager.default.fileExists(atPath: manifestPath) {
      let manifest = try JSONDecoder().decode(TagManifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
      let (extra, _) = try Safetensors.read(directory + "/tags.safetensors")
      for tag in manifest.tags {
        model.addTag(tag.name, rows: tag.rows, seed: 0)
        guard let t = extra["tags.\(tag.name)"], t.shape == [tag.rows, config.dimension] else {
          throw CheckpointError(message: "\(directory)/tags.safetensors: tags.\(tag.name) missing or misshapen")
        }
        model.parameters["tags.\(tag.name)"] = t
      }
      for head in manifest.heads {
        model.addHead(head, seed: 0)
        guard let w = extra["heads.\(head).weight"], let b = extra["heads.\(head).bias"] else {
          throw CheckpointError(message: "\(directory)/tags.safetensors: head \(head) missing")
        }
        model.parameters["heads.\(head).weight"] = w
        model.parameters["heads.\(head).bias"] = b
      }
    }
    return model
  }
}
