import Foundation

/// A tag dictionary (tags.json + tags.safetensors) that does not fit a model.
public struct TagDictionaryError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var description: String { message }
}

extension Model {
  /// Replaces the model's tags and regression heads by those of another model directory's tag
  /// dictionary (`tags.json` + `tags.safetensors`, as ``save(to:)`` writes them): a later
  /// stage's tags on the base it was trained on. The directory's config.json, when present,
  /// must have the same width and vocabulary size (tag ids follow the vocabulary).
  public mutating func replaceTags(from directory: String) throws {
    let manifestPath = directory + "/tags.json"
    guard let manifestData = FileManager.default.contents(atPath: manifestPath) else {
      throw TagDictionaryError(message: "\(manifestPath) cannot be read (no tag dictionary in \(directory))")
    }
    if let data = FileManager.default.contents(atPath: directory + "/config.json"),
      let c = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    {
      let width = (c["hidden_size"] as? NSNumber)?.intValue, vocabulary = (c["vocab_size"] as? NSNumber)?.intValue
      if let width, width != config.dimension {
        throw TagDictionaryError(message: "\(directory)/config.json: hidden_size \(width), the model's is \(config.dimension)")
      }
      if let vocabulary, vocabulary != config.vocabularySize {
        throw TagDictionaryError(message: "\(directory)/config.json: vocab_size \(vocabulary), the model's is \(config.vocabularySize) "
                                   + "(tag ids follow the vocabulary)")
      }
    }
    let manifest: TagManifest
    do {
      manifest = try JSONDecoder().decode(TagManifest.self, from: manifestData)
    } catch {
      throw TagDictionaryError(message: "\(manifestPath) is not a tag dictionary: \(error)")
    }
    let extra: [String: Tensor]
    do {
      extra = try Safetensors.read(directory + "/tags.safetensors").tensors
    } catch {
      throw TagDictionaryError(message: "\(directory)/tags.safetensors: \(error)")
    }
    var base = Parameters()
    for name in parameters.names where !name.hasPrefix("tags.") && !name.hasPrefix("heads.") { base[name] = parameters[name] }
    var model = Model(config: config, parameters: base)
    for tag in manifest.tags {
      guard tag.rows > 0, let t = extra["tags.\(tag.name)"], t.shape == [tag.rows, config.dimension] else {
        throw TagDictionaryError(message: "\(directory)/tags.safetensors: tags.\(tag.name) is missing or not \(tag.rows) × \(config.dimension)")
      }
      guard !model.tagNames.contains(tag.name) else { throw TagDictionaryError(message: "\(manifestPath): tag \(tag.name) twice") }
      model.addTag(tag.name, rows: tag.rows, seed: 0)
      model.parameters["tags.\(tag.name)"] = t
    }
    for head in manifest.heads {
      guard let w = extra["heads.\(head).weight"], w.shape == [1, config.dimension], let b = extra["heads.\(head).bias"], b.shape == [1]
      else {
        throw TagDictionaryError(message: "\(directory)/tags.safetensors: head \(head) is missing or misshapen")
      }
      model.addHead(head, seed: 0)
      model.parameters["heads.\(head).weight"] = w
      model.parameters["heads.\(head).bias"] = b
    }
    self = model
  }
}
