import TagdataIO

/// A `tokenizer.json` value: the project's configuration JSON tree (`ConfigJSON`), which keeps
/// where every value starts, bounds its nesting, refuses duplicate keys, invalid UTF-8 and lone
/// surrogates.
typealias TokenizerJSON = ConfigJSON.Node
typealias TokenizerJSONMember = (key: String, value: ConfigJSON.Node)

extension ConfigJSON.Node {
  /// The members of an object, nil for any other value.
  var members: [TokenizerJSONMember]? {
    if case .object(let m) = value { return m }
    return nil
  }

  /// The member `key` of an object.
  subscript(key: String) -> ConfigJSON.Node? {
    guard case .object(let m) = value else { return nil }
    return m.last { $0.key == key }?.value
  }

  var isNull: Bool { if case .null = value { return true } else { return false } }

  /// A short description of the kind of value, for error messages.
  var kind: String {
    switch value {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }
}
