import TagdataIO

/// Hugging Face `tokenizers` files that reproduce a `Vocabulary`'s ids: `tokenizer.json` (the
/// text tokenizer with every tag token `<TAG i>` as a special added token, id `textSize + i`, as
/// Tag-LLM registers them), one `tokenizer.json` per domain range (a `WordLevel` model whose ids
/// are the vocabulary's, behind a `Split` pre-tokenizer: the SMILES regex for SMILES, one
/// character for residues), `tokenizer_config.json` and `special_tokens_map.json`.
public enum HFExport {
  /// The SMILES regex of the atom-level scheme (Schwaller et al.), as a `Split` pattern.
  public static let smilesPattern =
    #"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|\%[0-9]{2}|[0-9])"#

  static func text(_ s: String) -> ConfigJSON.Node { node(.string(s)) }
  static func node(_ v: ConfigJSON) -> ConfigJSON.Node { ConfigJSON.Node(v, line: 0, column: 0) }
  static func int(_ i: Int) -> ConfigJSON.Node { node(.number(Double(i), integer: Int64(i))) }
  static func bool(_ b: Bool) -> ConfigJSON.Node { node(.bool(b)) }
  static func object(_ members: [(String, ConfigJSON.Node)]) -> ConfigJSON.Node {
    node(.object(members.map { (key: $0.0, value: $0.1) }))
  }

  static func addedToken(_ id: Int, _ content: String) -> ConfigJSON.Node {
    object([("id", int(id)), ("content", text(content)), ("single_word", bool(false)), ("lstrip", bool(false)),
            ("rstrip", bool(false)), ("normalized", bool(false)), ("special", bool(true))])
  }

  /// A `tokenizer.json` (`base`, or the byte tokenizer's when nil) with the tag tokens
  /// `<TAG 0>` … `<TAG n-1>` added as special tokens with ids `textSize + i`.
  public static func taggedTokenizer(base: [UInt8]?, textSize: Int, tagTokens: Int) throws -> [UInt8] {
    let root = try base.map { try ConfigJSON.parse($0) } ?? byteTokenizerRoot()
    guard case .object(var members) = root.value else { throw VocabularyError("tokenizer.json is not a JSON object") }
    var added: [ConfigJSON.Node] = []
    if let i = members.firstIndex(where: { $0.key == "added_tokens" }) {
      if case .array(let a) = members[i].value.value { added = a }
      members.remove(at: i)
    }
    var contents = Set<String>()
    for n in added {
      if case .object(let m) = n.value, let c = m.first(where: { $0.key == "content" }), case .string(let text) = c.value.value {
        contents.insert(text)
      }
    }
    for t in 0..<tagTokens {
      let content = "<TAG \(t)>"
      if contents.contains(content) { throw VocabularyError("the base tokenizer already has a token \(content)") }
      added.append(addedToken(textSize + t, content))
    }
    let at = members.firstIndex { $0.key == "normalizer" } ?? members.count
    members.insert((key: "added_tokens", value: node(.array(added))), at: min(at, members.count))
    return ConfigJSON.object(members).serialized()
  }

  /// The byte tokenizer (`<pad>`, `<bos>`, `<eos>`, `<unk>`, then byte b as id 4 + b) as a
  /// byte-level BPE without merges.
  static func byteTokenizerRoot() -> ConfigJSON.Node {
    var vocab: [(String, ConfigJSON.Node)] = []
    for b in 0..<256 { vocab.append((String(ByteLevelMap.characters[b]), int(4 + b))) }
    let byteLevel = object([("type", text("ByteLevel")), ("add_prefix_space", bool(false)), ("trim_offsets", bool(false)),
                            ("use_regex", bool(false))])
    return object([
      ("version", text("1.0")), ("truncation", node(.null)), ("padding", node(.null)),
      ("added_tokens", node(.array(ByteTextTokenizer.specials.enumerated().map { addedToken($0.offset, $0.element) }))),
      ("normalizer", node(.null)), ("pre_tokenizer", byteLevel), ("post_processor", node(.null)), ("decoder", byteLevel),
      ("model", object([("type", text("BPE")), ("dropout", node(.null)), ("unk_token", node(.null)),
                        ("continuing_subword_prefix", node(.null)), ("end_of_word_suffix", node(.null)), ("fuse_unk", bool(false)),
                        ("byte_fallback", bool(false)), ("ignore_merges", bool(false)), ("vocab", object(vocab)),
                        ("merges", node(.array([])))])),
    ])
  }

  /// A domain range as a `WordLevel` tokenizer: `pattern` splits (isolated) into tokens, ids
  /// from `firstID`, the first token is the unknown one. `whitespace`: spaces separate, they are
  /// not tokens (space-joined sequences).
  public static func domainTokenizer(tokens: [String], firstID: Int, pattern: String, whitespace: Bool) -> [UInt8] {
    let split = object([("type", text("Split")), ("pattern", object([("Regex", text(pattern))])), ("behavior", text("Isolated")),
                        ("invert", bool(false))])
    let pre = whitespace
      ? object([("type", text("Sequence")), ("pretokenizers", node(.array([object([("type", text("WhitespaceSplit"))]), split])))])
      : split
    return object([
      ("version", text("1.0")), ("truncation", node(.null)), ("padding", node(.null)),
      ("added_tokens", node(.array([addedToken(firstID, tokens[0])]))),
      ("normalizer", node(.null)), ("pre_tokenizer", pre), ("post_processor", node(.null)),
      ("decoder", object([("type", text("Fuse"))])),
      ("model", object([("type", text("WordLevel")), ("vocab", object(tokens.enumerated().map { ($0.element, int(firstID + $0.offset)) })),
                        ("unk_token", text(tokens[0]))])),
    ]).value.serialized()
  }

  /// `tokenizer_config.json`: the special tokens, every added token, and the model length.
  public static func tokenizerConfig(vocabulary v: Vocabulary, maxLength: Int?) -> [UInt8] {
    var decoder: [(String, ConfigJSON.Node)] = []
    for t in 0..<(v.tagEnd - v.textSize) {
      decoder.append((String(v.textSize + t), object([("content", text("<TAG \(t)>")), ("lstrip", bool(false)), ("normalized", bool(false)),
                                                      ("rstrip", bool(false)), ("single_word", bool(false)), ("special", bool(true))])))
    }
    var members: [(String, ConfigJSON.Node)] = [("added_tokens_decoder", object(decoder))]
    members.append(("additional_special_tokens", node(.array((0..<(v.tagEnd - v.textSize)).map { text("<TAG \($0)>") }))))
    members.append(("add_bos_token", bool(v.bos != nil)))
    members.append(("add_eos_token", bool(false)))
    if let b = v.bos, let s = v.text.tokenText(b) { members.append(("bos_token", text(s))) }
    if let e = v.eos, let s = v.text.tokenText(e) { members.append(("eos_token", text(s))) }
    members.append(("clean_up_tokenization_spaces", bool(false)))
    members.append(("model_max_length", int(maxLength ?? 1_000_000_000)))
    members.append(("tokenizer_class", text("PreTrainedTokenizerFast")))
    return object(members).value.serialized()
  }

  /// `special_tokens_map.json`.
  public static func specialTokensMap(vocabulary v: Vocabulary) -> [UInt8] {
    var members: [(String, ConfigJSON.Node)] = []
    members.append(("additional_special_tokens", node(.array((0..<(v.tagEnd - v.textSize)).map { text("<TAG \($0)>") }))))
    if let b = v.bos, let s = v.text.tokenText(b) { members.append(("bos_token", text(s))) }
    if let e = v.eos, let s = v.text.tokenText(e) { members.append(("eos_token", text(s))) }
    return object(members).value.serialized()
  }

  /// Every file of the export, by relative path.
  public static func files(vocabulary v: Vocabulary, base: [UInt8]?, maxLength: Int?) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    out["tokenizer.json"] = try taggedTokenizer(base: base, textSize: v.textSize, tagTokens: v.tagEnd - v.textSize)
    out["tokenizer_config.json"] = tokenizerConfig(vocabulary: v, maxLength: maxLength)
    out["special_tokens_map.json"] = specialTokensMap(vocabulary: v)
    if let s = v.smilesTokens {
      out["smiles/tokenizer.json"] = domainTokenizer(tokens: s, firstID: v.tagEnd, pattern: smilesPattern, whitespace: false)
    }
    if let r = v.residueTokens {
      out["protein/tokenizer.json"] = domainTokenizer(tokens: r, firstID: v.smilesEnd, pattern: ".", whitespace: true)
    }
    return out
  }
}
