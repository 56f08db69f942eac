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

  /// Writes config.json as what the model is (architecture, key/value heads, head_dim, RoPE
  /// scaling, biases; `tie_word_embeddings` only while the LM head still equals the token
  /// embedding, and then without `lm_head.weight`, as transformers saves tied models), the base
  /// weights (F32) in `model.safetensors`, and the tag dictionary.
  public func save(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let tied = config.tiedEmbeddings && parameters["lm_head.weight"] == parameters["model.embed_tokens.weight"]
    let hf = config.huggingFaceJSON(tied: tied)
    let json = try JSONSerialization.data(withJSONObject: hf, options: [.prettyPrinted, .sortedKeys])
    try json.write(to: URL(fileURLWithPath: directory + "/config.json"))
    let base = parameters.names.filter { !$0.hasPrefix("tags.") && !$0.hasPrefix("heads.") && !(tied && $0 == "lm_head.weight") }
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

  /// The base weights of a directory: `model.safetensors`, or the shards that
  /// `model.safetensors.index.json` lists in its `weight_map`.
  static func readWeights(_ directory: String) throws -> [String: Tensor] {
    let fm = FileManager.default
    let single = directory + "/model.safetensors", indexPath = directory + "/model.safetensors.index.json"
    if fm.fileExists(atPath: single) { return try Safetensors.read(single).tensors }
    guard fm.fileExists(atPath: indexPath) else {
      throw CheckpointError(message: "\(directory): neither model.safetensors nor model.safetensors.index.json")
    }
    guard let data = fm.contents(atPath: indexPath),
      let index = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else { throw CheckpointError(message: "\(indexPath) is not a JSON object") }
    guard let map = index["weight_map"] as? [String: String] else {
      throw CheckpointError(message: "\(indexPath): weight_map is missing or not a map of tensor names to files")
    }
    var byFile: [String: [String]] = [:]
    for (name, file) in map { byFile[file, default: []].append(name) }
    var tensors: [String: Tensor] = [:]
    for file in byFile.keys.sorted() {
      guard !file.contains("/"), file != "..", file != "." else {
        throw CheckpointError(message: "\(indexPath): shard \(file) is not a file name in the directory")
      }
      let (shard, _) = try Safetensors.read(directory + "/" + file)
      for name in byFile[file]!.sorted() where shard[name] == nil {
        throw CheckpointError(message: "\(indexPath): weight_map puts \(name) in \(file), which does not hold it")
      }
      for (name, t) in shard {
        guard map[name] == file else {
          throw CheckpointError(message: "\(directory)/\(file) holds \(name), which weight_map "
                                  + (map[name].map { "puts in \($0)" } ?? "does not list"))
        }
        tensors[name] = t
      }
    }
    return tensors
  }

  /// Loads a directory written by ``save(to:)`` or a Hugging Face `LlamaForCausalLM`,
  /// `MistralForCausalLM` or `Qwen2ForCausalLM` directory (config.json + model.safetensors or
  /// sharded safetensors; F32, F16 or BF16 weights, converted to float32). The config's keys are
  /// checked by ``ModelConfig/init(huggingFace:file:)``; a missing weight, a misshapen one, or
  /// one the model does not use is an error naming it. Tied embeddings are untied by copying.
  public static func load(from directory: String) throws -> Model {
    let configPath = directory + "/config.json"
    guard let configData = FileManager.default.contents(atPath: configPath) else {
      throw CheckpointError(message: "\(configPath) cannot be read")
    }
    guard let c = (try? JSONSerialization.jsonObject(with: configData)) as? [String: Any] else {
      throw CheckpointError(message: "\(configPath) is not a JSON object")
    }
    let config = try ModelConfig(huggingFace: c, file: configPath)
    let tensors = try readWeights(directory)
    var parameters = Parameters()
    for (name, shape) in config.baseShapes {
      var t = tensors[name]
      if name == "lm_head.weight" && config.tiedEmbeddings {
        // transformers ties the head to the embedding whatever the file holds; a different one is suspicious.
        if let head = t, head != tensors["model.embed_tokens.weight"] {
          throw CheckpointError(message: "\(directory): tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight")
        }
        t = tensors["model.embed_tokens.weight"]
      }
      guard let tensor = t else {
        throw CheckpointError(message: "\(directory): the weights have no \(name) (shape \(shape) for this config)")
      }
      guard tensor.shape == shape else {
        throw CheckpointError(message: "\(directory): \(name) has shape \(tensor.shape), the config implies \(shape)")
      }
      parameters[name] = tensor
    }
    if let unused = tensors.keys.filter({ !parameters.contains($0) }).sorted().first {
      throw CheckpointError(message: "\(directory): the weights hold \(unused), which this config (\(config.architecture.rawValue), "
                              + "attention_bias \(config.attentionBias)) does not use")
    }
    var model = Model(config: config, parameters: parameters)
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
