import Foundation
import TagdataIO

/// A Hugging Face `tokenizer.json` whose model is BPE, byte-level (GPT-2, LLaMA-3, SmolLM style) or
/// SentencePiece-style (LLaMA-2, Mistral, TinyLlama), giving the ids the `tokenizers` library gives
/// for `encode(text, add_special_tokens=False)`.
///
/// Supported: model `BPE` (vocab; merges as "a b" strings or [a, b] pairs; `ignore_merges`;
/// `unk_token`, `fuse_unk`; `byte_fallback` for SentencePiece-style files); `added_tokens`
/// (special, normalized, lstrip, rstrip, single_word); normalizers NFC, Prepend and Replace (with a
/// string pattern), alone or in a Sequence; post-processor null, ByteLevel, TemplateProcessing or a
/// Sequence of them (not applied: `encode` adds no special tokens).
/// Byte-level: pre-tokenizer `ByteLevel` (add_prefix_space, use_regex) alone or last in a Sequence
/// after `Split`s whose regex is GPT-2's or LLaMA-3's pattern (behavior Isolated) and `Digits`
/// (SmolLM); decoder `ByteLevel`.
/// SentencePiece-style (no ByteLevel pre-tokenizer): characters are the model's symbols, a character
/// without a token becomes its bytes' `<0xNN>` tokens with `byte_fallback`, else the unknown token;
/// pre-tokenizer null or `Metaspace` (replacement, prepend_scheme first/always/never, split);
/// decoder `Metaspace` or a Sequence of `Replace` (string pattern), `ByteFallback`, `Fuse`, `Strip`.
/// Anything else is refused with an error that names the key and the component.
public final class HFTokenizer: Sendable {
  /// Where the tokenizer was read from, for messages.
  public let name: String
  /// The added tokens, in file order.
  public let addedTokens: [AddedToken]
  /// The token string of each id (an added token's content before the model's token), nil for
  /// ids that name nothing.
  let tokens: [String?]
  /// The bytes `decode` gives for each id.
  let decodedBytes: [[UInt8]]
  let special: [Bool]
  let vocabulary: [String: Int]
  let addedByContent: [String: Int]
  let model: BPEModel
  let rawMatcher: AddedTokenMatcher
  let normalizedMatcher: AddedTokenMatcher
  let normalizers: [NormalizerStep]
  let stages: [Stage]
  /// The pre-tokenizer is ByteLevel alone with GPT-2's split and no prefix space (GPT-2's own):
  /// pieces are found on the bytes as they are encoded (`encodeGPT2`).
  let gpt2Only: Bool
  /// SentencePiece-style BPE (no ByteLevel pre-tokenizer): characters are the symbols, `<0xNN>`
  /// tokens the byte fallback, and `Metaspace` the only pre-tokenizer.
  let sentencePiece: Bool
  /// The decoder steps of a SentencePiece-style tokenizer (empty for ByteLevel).
  let decoders: [DecoderStep]

  enum NormalizerStep: Sendable, Equatable {
    case nfc
    /// `Prepend`: the bytes put before a non-empty text.
    case prepend([UInt8])
    /// `Replace` with a string pattern: every occurrence of the first bytes becomes the second.
    case replace([UInt8], [UInt8])
  }

  enum PrependScheme: Sendable { case first, always, never }

  enum DecoderStep: Sendable {
    case replace(String, String)
    case byteFallback
    case fuse
    case strip(Unicode.Scalar, start: Int, stop: Int)
    case metaspace(Unicode.Scalar, PrependScheme)
  }

  enum Stage: Sendable {
    case split(SplitPattern)
    case digits(individual: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// `Metaspace`: spaces become `replacement`, which is put first as the scheme says; with
    /// `split`, the text is cut before each replacement.
    case metaspace(replacement: [UInt8], prepend: PrependScheme, split: Bool)
  }

  /// The number of ids: the highest id of the vocabulary and the added tokens, plus one.
  public var vocabularySize: Int { tokens.count }

  /// Reads a tokenizer.json file.
  /// - Throws: `HFTokenizerError` naming the file, the key and the place.
  public convenience init(contentsOf url: URL) throws {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw HFTokenizerError(file: url.path, key: "", line: 0, column: 0, message: "cannot be read: \(error.localizedDescription)")
    }
    try self.init(json: [UInt8](data), name: url.path)
  }

  /// Reads the text of a tokenizer.json file; `name` is what errors call it.
  /// - Throws: `HFTokenizerError` naming the key and the place.
  public init(json bytes: [UInt8], name: String = "tokenizer.json") throws {
    self.name = name
    let root: TokenizerJSON
    do {
      root = try ConfigJSON.parse(bytes)
    } catch let error as ConfigJSON.SyntaxError {
      throw HFTokenizerError(file: name, key: "", line: error.line, column: error.column, message: error.message)
    }
    let l = Loader(file: name)
    _ = try l.members(root, "")
    for key in ["truncation", "padding"] {
      if let v = root[key], !v.isNull {
        throw l.fail(v, key, "is not supported (only null): encode gives every id, unpadded")
      }
    }

    // The model.
    guard let m = root["model"] else { throw l.fail(root, "model", "is missing") }
    _ = try l.members(m, "model")
    if let t = m["type"] {
      let type = try l.string(t, "model.type")
      guard type == "BPE" else { throw l.fail(t, "model.type", "the model \"\(type)\" is not supported (only BPE)") }
    }
    if let d = m["dropout"], !d.isNull {
      throw l.fail(d, "model.dropout", "is not supported (only null): dropout makes encoding random")
    }
    let byteFallbackNode = m["byte_fallback"]
    let byteFallback = try byteFallbackNode.map { try l.bool($0, "model.byte_fallback") } ?? false
    for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
      if let v = m[key], !v.isNull, try l.string(v, "model.\(key)") != "" {
        throw l.fail(v, "model.\(key)", "is not supported (only null): byte-level BPE has no word affixes")
      }
    }
    let ignoreMerges = try m["ignore_merges"].map { try l.bool($0, "model.ignore_merges") } ?? false
    let fuseUnknown = try m["fuse_unk"].map { try l.bool($0, "model.fuse_unk") } ?? false
    guard let vocabNode = m["vocab"] else { throw l.fail(m, "model.vocab", "is missing") }
    var vocabulary: [String: Int] = [:]
    var maxID = -1
    let vocabMembers = try l.members(vocabNode, "model.vocab")
    vocabulary.reserveCapacity(vocabMembers.count)
    for member in vocabMembers {
      let (token, v) = (member.key, member.value)
      let id = try l.id(v, "model.vocab[\(Loader.quoted(token))]")
      if vocabulary.updateValue(id, forKey: token) != nil {
        throw l.fail(v, "model.vocab[\(Loader.quoted(token))]", "the token appears twice")
      }
      maxID = max(maxID, id)
    }
    var unknownID: Int32? = nil
    if let u = m["unk_token"], !u.isNull {
      let unk = try l.string(u, "model.unk_token")
      guard let id = vocabulary[unk] else { throw l.fail(u, "model.unk_token", "\(Loader.quoted(unk)) is not in model.vocab") }
      unknownID = Int32(id)
    }
    guard let mergesNode = m["merges"] else { throw l.fail(m, "model.merges", "is missing") }
    guard case .array(let mergeItems) = mergesNode.value else {
      throw l.fail(mergesNode, "model.merges", "is \(mergesNode.kind), not an array")
    }
    var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
    merges.reserveCapacity(mergeItems.count)
    for (rank, item) in mergeItems.enumerated() {
      let key = "model.merges[\(rank)]"
      let a: String, b: String
      switch item.value {
      case .string(let s):
        let parts = s.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw l.fail(item, key, "\(Loader.quoted(s)) is not two tokens separated by one space") }
        (a, b) = (String(parts[0]), String(parts[1]))
      case .array(let pair):
        guard pair.count == 2 else { throw l.fail(item, key, "is an array of \(pair.count) items, not a pair of tokens") }
        (a, b) = (try l.string(pair[0], key + "[0]"), try l.string(pair[1], key + "[1]"))
      default:
        throw l.fail(item, key, "is \(item.kind), not \"a b\" or [a, b]")
      }
      guard let ia = vocabulary[a] else { throw l.fail(item, key, "the token \(Loader.quoted(a)) is not in model.vocab") }
      guard let ib = vocabulary[b] else { throw l.fail(item, key, "the token \(Loader.quoted(b)) is not in model.vocab") }
      guard let merged = vocabulary[a + b] else {
        throw l.fail(item, key, "the merged token \(Loader.quoted(a + b)) is not in model.vocab")
      }
      // A pair given twice takes its last rank, as the reference does.
      merges[UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))] = (Int32(rank), Int32(merged))
    }
    self.vocabulary = vocabulary

    // The normalizer.
    var normalizers: [NormalizerStep] = []
    if let n = root["normalizer"], !n.isNull {
      let type = try l.type(n, "normalizer")
      if type == "Sequence" {
        guard let list = n["normalizers"] else { throw l.fail(n, "normalizer.normalizers", "is missing") }
        for (k, item) in try l.array(list, "normalizer.normalizers").enumerated() {
          normalizers.append(try l.normalizer(item, "normalizer.normalizers[\(k)]"))
        }
      } else {
        normalizers.append(try l.normalizer(n, "normalizer"))
      }
    }
    self.normalizers = normalizers

    // The pre-tokenizer.
    var stages: [Stage] = []
    let pNode = root["pre_tokenizer"]
    let pType = try pNode.flatMap { $0.isNull ? nil : try l.type($0, "pre_tokenizer") }
    if let p = pNode, pType == "Sequence" {
      guard let list = p["pretokenizers"] else { throw l.fail(p, "pre_tokenizer.pretokenizers", "is missing") }
      for (k, item) in try l.array(list, "pre_tokenizer.pretokenizers").enumerated() {
        stages.append(try l.stage(item, "pre_tokenizer.pretokenizers[\(k)]"))
      }
    } else if let p = pNode, pType != nil {
      stages.append(try l.stage(p, "pre_tokenizer"))
    }
    let p = pNode ?? root
    let isByteLevel: (Stage) -> Bool = { if case .byteLevel = $0 { true } else { false } }
    let sentencePiece = !stages.contains(where: isByteLevel)
    if sentencePiece {
      // SentencePiece-style BPE: no pre-tokenizer, or Metaspace alone.
      if stages.count > 1 || stages.contains(where: { if case .metaspace = $0 { false } else { true } }) {
        throw l.fail(p, "pre_tokenizer", "without ByteLevel only null or a Metaspace pre-tokenizer alone is supported (SentencePiece-style BPE)")
      }
    } else {
      guard isByteLevel(stages.last!) else {
        throw l.fail(p, "pre_tokenizer", "has no ByteLevel pre-tokenizer last: only byte-level BPE is supported")
      }
      if stages.dropLast().contains(where: isByteLevel) {
        throw l.fail(p, "pre_tokenizer", "has a ByteLevel pre-tokenizer before the last place, which is not supported")
      }
      if stages.contains(where: { if case .metaspace = $0 { true } else { false } }) {
        throw l.fail(p, "pre_tokenizer", "has Metaspace with ByteLevel, which is not supported")
      }
      if byteFallback, let bf = byteFallbackNode {
        throw l.fail(bf, "model.byte_fallback", "true is not supported with a ByteLevel pre-tokenizer (byte fallback is for SentencePiece-style BPE)")
      }
    }
    self.stages = stages
    if stages.count == 1, case .byteLevel(addPrefixSpace: false, useRegex: true) = stages[0] { gpt2Only = true } else { gpt2Only = false }
    self.sentencePiece = sentencePiece

    // The model's symbols.
    if sentencePiece {
      var characterIDs: [UInt32: Int32] = [:]
      for (token, id) in vocabulary {
        let scalars = token.unicodeScalars
        if scalars.count == 1 { characterIDs[scalars.first!.value] = Int32(id) }
      }
      var fallbackIDs: [Int32] = []
      if byteFallback {
        fallbackIDs = (0..<256).map { b in
          vocabulary["<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">"].map(Int32.init) ?? -1
        }
      }
      var byBytes: [[UInt8]: Int32] = [:]
      if ignoreMerges {
        for (token, id) in vocabulary { byBytes[Array(token.utf8)] = Int32(id) }
      }
      self.model = BPEModel(byteIDs: [], merges: merges, vocabularyByBytes: byBytes, ignoreMerges: ignoreMerges,
                            unknownID: unknownID, fuseUnknown: fuseUnknown, characterIDs: characterIDs,
                            fallbackIDs: fallbackIDs)
    } else {
      var byteIDs = [Int32](repeating: -1, count: 256)
      for b in 0..<256 {
        if let id = vocabulary[String(Character(ByteLevelMap.characters[b]))] { byteIDs[b] = Int32(id) }
      }
      var byBytes: [[UInt8]: Int32] = [:]
      if ignoreMerges {
        for (token, id) in vocabulary {
          if let bytes = ByteLevelMap.bytes(of: token) { byBytes[bytes] = Int32(id) }
        }
      }
      self.model = BPEModel(byteIDs: byteIDs, merges: merges, vocabularyByBytes: byBytes, ignoreMerges: ignoreMerges,
                            unknownID: unknownID, fuseUnknown: fuseUnknown)
    }

    // The decoder and the post-processor.
    guard let d = root["decoder"], !d.isNull else {
      throw l.fail(root, "decoder", "is missing or null: only the ByteLevel decoder, or for SentencePiece-style BPE Metaspace or a Sequence of Replace, ByteFallback, Fuse and Strip, is supported")
    }
    let dType = try l.type(d, "decoder")
    var decoders: [DecoderStep] = []
    if !sentencePiece {
      guard dType == "ByteLevel" else { throw l.fail(d, "decoder.type", "the decoder \"\(dType)\" is not supported (only ByteLevel)") }
    } else if dType == "Sequence" {
      guard let list = d["decoders"] else { throw l.fail(d, "decoder.decoders", "is missing") }
      for (k, item) in try l.array(list, "decoder.decoders").enumerated() {
        decoders.append(try l.decoder(item, "decoder.decoders[\(k)]"))
      }
    } else {
      decoders.append(try l.decoder(d, "decoder"))
    }
    self.decoders = decoders
    if let pp = root["post_processor"], !pp.isNull {
      try l.postProcessor(pp, "post_processor")
    }

    // The added tokens.
    var added: [AddedToken] = []
    if let a = root["added_tokens"], !a.isNull {
      for (k, item) in try l.array(a, "added_tokens").enumerated() {
        let key = "added_tokens[\(k)]"
        _ = try l.members(item, key)
        guard let idNode = item["id"] else { throw l.fail(item, key + ".id", "is missing") }
        guard let contentNode = item["content"] else { throw l.fail(item, key + ".content", "is missing") }
        let special = try item["special"].map { try l.bool($0, key + ".special") } ?? false
        let token = AddedToken(
          id: try l.id(idNode, key + ".id"), content: try l.string(contentNode, key + ".content"),
          singleWord: try item["single_word"].map { try l.bool($0, key + ".single_word") } ?? false,
          leftStrip: try item["lstrip"].map { try l.bool($0, key + ".lstrip") } ?? false,
          rightStrip: try item["rstrip"].map { try l.bool($0, key + ".rstrip") } ?? false,
          normalized: try item["normalized"].map { try l.bool($0, key + ".normalized") } ?? !special,
          special: special)
        if token.content.isEmpty { throw l.fail(contentNode, key + ".content", "is empty") }
        added.append(token)
        maxID = max(maxID, token.id)
      }
    }
    self.addedTokens = added
    var addedByContent: [String: Int] = [:]
    for t in added where addedByContent[t.content] == nil { addedByContent[t.content] = t.id }
    self.addedByContent = addedByContent
    let raw = added.filter { !$0.normalized }
    let normalized = added.filter { $0.normalized }
    self.rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map { Array($0.content.utf8) })
    self.normalizedMatcher = AddedTokenMatcher(
      tokens: normalized, patterns: normalized.map { Self.normalize(Array($0.content.utf8), normalizers) })

    // Ids to tokens and the bytes decode gives.
    var tokens = [String?](repeating: nil, count: maxID + 1)
    for (token, id) in vocabulary { tokens[id] = token }
    var special = [Bool](repeating: false, count: maxID + 1)
    for t in added {
      // A normalized token's string is its normalized content, as the reference gives it.
      tokens[t.id] = t.normalized && !normalizers.isEmpty
        ? String(decoding: Self.normalize(Array(t.content.utf8), normalizers), as: UTF8.self) : t.content
      special[t.id] = t.special
    }
    self.tokens = tokens
    self.special = special
    self.decodedBytes = tokens.map { t in t.map { ByteLevelMap.bytes(of: $0) ?? Array($0.utf8) } ?? [] }
  }

  /// The id of a token string (an added token's first), nil when there is none.
  public func id(forToken token: String) -> Int? { addedByContent[token] ?? vocabulary[token] }

  /// The token string of an id, nil when the id names nothing.
  public func token(forID id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

  /// The ids of a text, as `tokenizers` gives them for `encode(text, add_special_tokens=False)`.
  public func encode(_ text: String) -> [Int] {
    var out: [Int] = []
    var t = text
    t.withUTF8 { encode(bytes: $0, into: &out) }
    return out
  }

  /// Appends the ids of UTF-8 text to `ids`: those `encode(_:)` gives for the text. Bytes that are
  /// not valid UTF-8 are read as `String(decoding:as:)` reads them (each invalid sequence U+FFFD).
  public func encode(bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
    guard UTF8Bytes.isValid(bytes) else {
      var repaired = String(decoding: bytes, as: UTF8.self)
      repaired.withUTF8 { encode(bytes: $0, into: &ids) }
      return
    }
    ids.reserveRoom(bytes.count / 3 + 1)
    model.withCache { cache in
      for segment in rawMatcher.split(bytes) {
        if let id = segment.token {
          ids.append(id)
          continue
        }
        let first = segment.range.lowerBound == 0
        let raw = UnsafeBufferPointer(rebasing: bytes[segment.range])
        if normalizers.isEmpty {
          encodeNormalized(raw, first: first, cache: &cache, into: &ids)
        } else {
          let piece = Self.normalize(Array(raw), normalizers)
          piece.withUnsafeBufferPointer { encodeNormalized($0, first: first, cache: &cache, into: &ids) }
        }
      }
    }
  }

  /// Normalized text: its normalized added tokens, and the model's ids of the rest.
  func encodeNormalized(_ piece: UnsafeBufferPointer<UInt8>, first: Bool, cache: inout ByteKeyTable, into out: inout [Int]) {
    for inner in normalizedMatcher.split(piece) {
      if let id = inner.token {
        out.append(id)
      } else if sentencePiece {
        encodeSentencePiece(UnsafeBufferPointer(rebasing: piece[inner.range]), first: first && inner.range.lowerBound == 0,
                            cache: &cache, into: &out)
      } else if gpt2Only {
        encodeGPT2(UnsafeBufferPointer(rebasing: piece[inner.range]), cache: &cache, into: &out)
      } else {
        encodePlain(UnsafeBufferPointer(rebasing: piece[inner.range]), cache: &cache, into: &out)
      }
    }
  }

  /// The normalizers applied to UTF-8 text, on bytes (NFC only where there is non-ASCII).
  static func normalize(_ text: [UInt8], _ steps: [NormalizerStep]) -> [UInt8] {
    var t = text
    for step in steps {
      switch step {
      case .nfc:
        if t.contains(where: { $0 >= 0x80 }) { t = Array(nfc(String(decoding: t, as: UTF8.self)).utf8) }
      case .prepend(let p):
        if !t.isEmpty { t = p + t }
      case .replace(let pattern, let content):
        t = replacing(t, pattern, content)
      }
    }
    return t
  }

  /// Every occurrence of `pattern` (not empty), left to right without overlaps, replaced by `content`.
  static func replacing(_ t: [UInt8], _ pattern: [UInt8], _ content: [UInt8]) -> [UInt8] {
    guard !pattern.isEmpty, t.count >= pattern.count else { return t }
    var out: [UInt8] = []
    out.reserveCapacity(t.count)
    var i = 0
    let first = pattern[0], n = t.count, m = pattern.count
    while i < n {
      if t[i] == first && i + m <= n && t[i..<(i + m)].elementsEqual(pattern) {
        out.append(contentsOf: content)
        i += m
      } else {
        out.append(t[i])
        i += 1
      }
    }
    return out
  }

  /// SentencePiece-style: the Metaspace pre-tokenizer if any, then the model on each piece.
  func encodeSentencePiece(_ text: UnsafeBufferPointer<UInt8>, first: Bool, cache: inout ByteKeyTable, into out: inout [Int]) {
    if text.isEmpty { return }
    guard case .metaspace(let replacement, let scheme, let split)? = stages.first else {
      model.encode(text, cache: &cache, into: &out)
      return
    }
    var t = Self.replacing(Array(text), [0x20], replacement)
    let prepend: Bool
    switch scheme {
    case .always: prepend = true
    case .first: prepend = first
    case .never: prepend = false
    }
    if prepend && !t.starts(with: replacement) { t = replacement + t }
    t.withUnsafeBufferPointer { t in
      guard split, !replacement.isEmpty else {
        model.encode(t, cache: &cache, into: &out)
        return
      }
      // Cut before each replacement (MergedWithNext).
      var start = 0, i = 0
      let m = replacement.count
      while i < t.count {
        if t[i] == replacement[0] && i + m <= t.count && t[i..<(i + m)].elementsEqual(replacement) {
          if i > start { model.encode(UnsafeBufferPointer(rebasing: t[start..<i]), cache: &cache, into: &out) }
          start = i
          i += m
        } else {
          i += 1
        }
      }
      if t.count > start { model.encode(UnsafeBufferPointer(rebasing: t[start...]), cache: &cache, into: &out) }
    }
  }

  /// GPT-2's pre-tokenizer and the model in one pass over valid UTF-8: each piece that
  /// `SplitPattern.gpt2Match` would give is found on the bytes (ASCII from a table, other
  /// characters decoded where they are met) and encoded at once.
  func encodeGPT2(_ t: UnsafeBufferPointer<UInt8>, cache: inout ByteKeyTable, into out: inout [Int]) {
    let n = t.count
    if n == 0 { return }
    let ascii = SplitPattern.asciiClasses
    let space = SplitPattern.space
    ascii.withUnsafeBufferPointer { ascii in
      /// The class and length in bytes of the character at `i`.
      @inline(__always) func character(_ i: Int) -> (UInt8, Int) {
        let b = t[i]
        if b < 0x80 { return (ascii[Int(b)], 1) }
        if b < 0xE0 { return (SplitPattern.classOf(UInt32(b & 0x1F) << 6 | UInt32(t[i + 1] & 0x3F)), 2) }
        if b < 0xF0 {
          return (SplitPattern.classOf(UInt32(b & 0x0F) << 12 | UInt32(t[i + 1] & 0x3F) << 6 | UInt32(t[i + 2] & 0x3F)), 3)
        }
        let v = UInt32(b & 0x07) << 18 | UInt32(t[i + 1] & 0x3F) << 12 | UInt32(t[i + 2] & 0x3F) << 6 | UInt32(t[i + 3] & 0x3F)
        return (SplitPattern.classOf(v), 4)
      }
      /// The end of the run of characters of class `c` from `j`.
      @inline(__always) func run(_ j: Int, _ c: UInt8) -> Int {
        var j = j
        while j < n {
          let b = t[j]
          if b < 0x80 {
            if ascii[Int(b)] != c { break }
            j += 1
          } else {
            let (k, length) = character(j)
            if k != c { break }
            j += length
          }
        }
        return j
      }
      var i = 0
      while i < n {
        let b = t[i]
        var end = -1
        // `'s|'t|'re|'ve|'m|'ll|'d`
        if b == 0x27 && i + 1 < n {
          switch t[i + 1] {
          case 0x73, 0x74, 0x6D, 0x64: end = i + 2
          case 0x72, 0x76: if i + 2 < n && t[i + 2] == 0x65 { end = i + 3 }
          case 0x6C: if i + 2 < n && t[i + 2] == 0x6C { end = i + 3 }
          default: break
          }
        }
        if end < 0 {
          let (c, length) = character(i)
          if c != space {
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+` without the space
            end = run(i + length, c)
          } else if b == 0x20 && i + 1 < n && character(i + 1).0 != space {
            end = run(i + 1, character(i + 1).0)
          } else {
            // `\s+(?!\S)|\s+`: the white-space run, less its last character when it has more than
            // one and something else follows.
            var j = i, last = i, count = 0
            while j < n {
              let (k, l) = character(j)
              if k != space { break }
              last = j
              count += 1
              j += l
            }
            end = j < n && count >= 2 ? last : j
          }
        }
        model.encode(UnsafeBufferPointer(rebasing: t[i..<end]), cache: &cache, into: &out)
        i = end
      }
    }
  }

  /// The scalars of valid UTF-8 text: their values, their classes (`SplitPattern`) and the offset
  /// of each one's first byte, with the text's length last.
  struct Scalars {
    var values: [UInt32] = []
    var classes: [UInt8] = []
    var offsets: [Int] = []

    init(_ t: UnsafeBufferPointer<UInt8>) {
      let n = t.count
      values.reserveCapacity(n)
      classes.reserveCapacity(n)
      offsets.reserveCapacity(n + 1)
      let ascii = SplitPattern.asciiClasses
      var i = 0
      while i < n {
        let b = t[i]
        offsets.append(i)
        if b < 0x80 {
          values.append(UInt32(b))
          classes.append(ascii[Int(b)])
          i += 1
          continue
        }
        let v: UInt32
        if b < 0xE0 {
          v = UInt32(b & 0x1F) << 6 | UInt32(t[i + 1] & 0x3F)
          i += 2
        } else if b < 0xF0 {
          v = UInt32(b & 0x0F) << 12 | UInt32(t[i + 1] & 0x3F) << 6 | UInt32(t[i + 2] & 0x3F)
          i += 3
        } else {
          v = UInt32(b & 0x07) << 18 | UInt32(t[i + 1] & 0x3F) << 12 | UInt32(t[i + 2] & 0x3F) << 6 | UInt32(t[i + 3] & 0x3F)
          i += 4
        }
        values.append(v)
        classes.append(SplitPattern.classOf(v))
      }
      offsets.append(n)
    }
  }

  /// Pre-tokenizes valid UTF-8 text without added tokens and encodes each piece with the model.
  /// The pieces are ranges of the text's scalars, split further by each stage.
  func encodePlain(_ text: UnsafeBufferPointer<UInt8>, cache: inout ByteKeyTable, into out: inout [Int]) {
    if text.isEmpty { return }
    let sc = Scalars(text)
    var pieces: [Range<Int>] = [0..<sc.values.count]
    var next: [Range<Int>] = []
    for stage in stages {
      next.removeAll(keepingCapacity: true)
      switch stage {
      case .split(let pattern):
        sc.values.withUnsafeBufferPointer { v in
          sc.classes.withUnsafeBufferPointer { c in
            for r in pieces { pattern.split(v, c, r, into: &next) }
          }
        }
      case .digits(let individual):
        sc.classes.withUnsafeBufferPointer { c in
          for r in pieces { DigitsSplit.split(c, r, individual: individual, into: &next) }
        }
      case .metaspace:  // only in SentencePiece-style tokenizers, which do not come here
        next.append(contentsOf: pieces)
      case .byteLevel(let addPrefixSpace, let useRegex):
        if addPrefixSpace && pieces.contains(where: { sc.values[$0.lowerBound] != 0x20 }) {
          // ByteLevel's add_prefix_space: the text again with a space before every piece that does
          // not start with one (ByteLevel is the last stage).
          var spaced: [UInt8] = []
          spaced.reserveCapacity(text.count + pieces.count)
          var starts: [Int] = []
          for r in pieces {
            starts.append(spaced.count)
            if sc.values[r.lowerBound] != 0x20 { spaced.append(0x20) }
            spaced.append(contentsOf: UnsafeBufferPointer(rebasing: text[sc.offsets[r.lowerBound]..<sc.offsets[r.upperBound]]))
          }
          starts.append(spaced.count)
          spaced.withUnsafeBufferPointer { t in
            let s2 = Scalars(t)
            // The pieces as ranges of the new scalars.
            var ranges: [Range<Int>] = []
            var j = 0
            for k in 0..<(starts.count - 1) {
              while s2.offsets[j] < starts[k] { j += 1 }
              var e = j
              while s2.offsets[e] < starts[k + 1] { e += 1 }
              ranges.append(j..<e)
              j = e
            }
            encodeByteLevel(t, s2, ranges, useRegex: useRegex, cache: &cache, into: &out)
          }
          return
        }
        if useRegex {
          sc.values.withUnsafeBufferPointer { v in
            sc.classes.withUnsafeBufferPointer { c in
              for r in pieces { SplitPattern.gpt2.split(v, c, r, into: &next) }
            }
          }
        } else {
          next.append(contentsOf: pieces)
        }
      }
      swap(&pieces, &next)
    }
    for r in pieces {
      model.encode(UnsafeBufferPointer(rebasing: text[sc.offsets[r.lowerBound]..<sc.offsets[r.upperBound]]), cache: &cache, into: &out)
    }
  }

  /// The ByteLevel stage on pieces (GPT-2's split when `useRegex`), then the model on each piece.
  func encodeByteLevel(_ text: UnsafeBufferPointer<UInt8>, _ sc: Scalars, _ pieces: [Range<Int>], useRegex: Bool,
                       cache: inout ByteKeyTable, into out: inout [Int])
  {
    var split: [Range<Int>] = []
    if useRegex {
      sc.values.withUnsafeBufferPointer { v in
        sc.classes.withUnsafeBufferPointer { c in
          for r in pieces { SplitPattern.gpt2.split(v, c, r, into: &split) }
        }
      }
    } else {
      split = pieces
    }
    for r in split {
      model.encode(UnsafeBufferPointer(rebasing: text[sc.offsets[r.lowerBound]..<sc.offsets[r.upperBound]]), cache: &cache, into: &out)
    }
  }

  /// The text of ids, as the ByteLevel decoder gives it: each token's characters turned back into
  /// bytes (a token with a character that stands for no byte, such as an added token with a space,
  /// gives its own UTF-8), invalid UTF-8 replaced by U+FFFD. Ids that name nothing are left out,
  /// and so are special tokens when `skipSpecialTokens`.
  public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
    if sentencePiece { return decodeSentencePiece(ids, skipSpecialTokens: skipSpecialTokens) }
    var bytes: [UInt8] = []
    for id in ids where id >= 0 && id < tokens.count {
      if skipSpecialTokens && special[id] { continue }
      bytes.append(contentsOf: decodedBytes[id])
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// SentencePiece-style decoding: the tokens' strings through the decoder steps, joined.
  func decodeSentencePiece(_ ids: [Int], skipSpecialTokens: Bool) -> String {
    var chain: [String] = []
    for id in ids where id >= 0 && id < tokens.count {
      if skipSpecialTokens && special[id] { continue }
      if let t = tokens[id] { chain.append(t) }
    }
    for step in decoders {
      switch step {
      case .replace(let a, let b):
        let (pa, pb) = (Array(a.utf8), Array(b.utf8))
        chain = chain.map { String(decoding: Self.replacing(Array($0.utf8), pa, pb), as: UTF8.self) }
      case .fuse:
        chain = [chain.joined()]
      case .strip(let c, let start, let stop):
        chain = chain.map { token in
          // On scalars, as the reference's chars: a combining mark after the space stays.
          var chars = Array(token.unicodeScalars)
          var s = 0
          while s < start && s < chars.count && chars[s] == c { s += 1 }
          chars.removeFirst(s)
          var e = 0
          while e < stop && !chars.isEmpty && chars[chars.count - 1] == c {
            chars.removeLast()
            e += 1
          }
          var t = ""
          t.unicodeScalars.append(contentsOf: chars)
          return t
        }
      case .metaspace(let r, let scheme):
        chain = chain.enumerated().map { k, token in
          var s = ""
          for c in token.unicodeScalars {
            if c == r {
              if !(k == 0 && scheme != .never) { s.unicodeScalars.append(" ") }
            } else {
              s.unicodeScalars.append(c)
            }
          }
          return s
        }
      case .byteFallback:
        var next: [String] = []
        var pending: [UInt8] = []
        func flush() {
          if pending.isEmpty { return }
          if let s = String(validating: pending, as: UTF8.self) {
            next.append(s)
          } else {
            for _ in pending { next.append("\u{FFFD}") }
          }
          pending.removeAll()
        }
        for token in chain {
          if let b = Self.fallbackByte(token) {
            pending.append(b)
          } else {
            flush()
            next.append(token)
          }
        }
        flush()
        chain = next
      }
    }
    return chain.joined()
  }

  /// The byte of a `<0xNN>` token (six bytes, two hex digits of either case), nil for others.
  static func fallbackByte(_ token: String) -> UInt8? {
    let u = Array(token.utf8)
    guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E, u[3] != 0x2D else { return nil }
    return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
  }

  /// NFC. Foundation (on Linux) leaves a Hangul LV syllable and a following trailing consonant
  /// (U+11A8...U+11C2) apart, which canonical composition joins into the LVT syllable: done here.
  static func nfc(_ s: String) -> String {
    let composed = s.precomposedStringWithCanonicalMapping
    let scalars = composed.unicodeScalars
    guard scalars.contains(where: { $0.value >= 0x11A8 && $0.value <= 0x11C2 }) else { return composed }
    var out = String.UnicodeScalarView()
    for c in scalars {
      if c.value >= 0x11A8 && c.value <= 0x11C2, let last = out.last, last.value >= 0xAC00 && last.value <= 0xD7A3,
         (last.value - 0xAC00) % 28 == 0, let joined = Unicode.Scalar(last.value + c.value - 0x11A7)
      {
        out.removeLast()
        out.append(joined)
      } else {
        out.append(c)
      }
    }
    return String(out)
  }
}

/// UTF-8 validation.
enum UTF8Bytes {
  /// Whether `b` is valid UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
  static func isValid(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = b.count
    guard let base = b.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    var i = 0
    while i < n {
      // Eight ASCII bytes at a time.
      while i + 8 <= n && raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
      if i >= n { break }
      let c = b[i]
      if c < 0x80 {
        i += 1
        continue
      }
      @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
        k < n && b[k] >= lo && b[k] <= hi
      }
      switch c {
      case 0xC2...0xDF:
        guard cont(i + 1) else { return false }
        i += 2
      case 0xE0...0xEF:
        let (lo, hi): (UInt8, UInt8) = c == 0xE0 ? (0xA0, 0xBF) : c == 0xED ? (0x80, 0x9F) : (0x80, 0xBF)
        guard cont(i + 1, lo, hi), cont(i + 2) else { return false }
        i += 3
      case 0xF0...0xF4:
        let (lo, hi): (UInt8, UInt8) = c == 0xF0 ? (0x90, 0xBF) : c == 0xF4 ? (0x80, 0x8F) : (0x80, 0xBF)
        guard cont(i + 1, lo, hi), cont(i + 2), cont(i + 3) else { return false }
        i += 4
      default:
        return false
      }
    }
    return true
  }
}

extension String {
  /// Padded with zeros on the left to `width` characters.
  func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// Why a tokenizer.json cannot be used: the file, the key at fault (a path such as
/// `pre_tokenizer.pretokenizers[0].pattern.Regex`, empty for a syntax error), and where.
public struct HFTokenizerError: Error, CustomStringConvertible, Sendable {
  public var file: String
  public var key: String
  /// Line and column (from 1; the column counts bytes) of the value at fault, 0 when unknown.
  public var line: Int
  public var column: Int
  public var message: String

  public var description: String {
    let place = line > 0 ? ": line \(line), column \(column)" : ""
    return "\(file)\(place): \(key.isEmpty ? "" : key + ": ")\(message)"
  }
}

/// Reading the values of tokenizer.json with errors that name their key.
struct Loader {
  let file: String

  func fail(_ node: TokenizerJSON, _ key: String, _ message: String) -> HFTokenizerError {
    HFTokenizerError(file: file, key: key, line: node.line, column: node.column, message: message)
  }

  static func quoted(_ s: String) -> String {
    "\"" + s.unicodeScalars.map { $0.escaped(asASCII: false) }.joined() + "\""
  }

  func members(_ node: TokenizerJSON, _ key: String) throws -> [TokenizerJSONMember] {
    guard let m = node.members else { throw fail(node, key.isEmpty ? "(top level)" : key, "is \(node.kind), not an object") }
    return m
  }

  func array(_ node: TokenizerJSON, _ key: String) throws -> [TokenizerJSON] {
    guard case .array(let a) = node.value else { throw fail(node, key, "is \(node.kind), not an array") }
    return a
  }

  func string(_ node: TokenizerJSON, _ key: String) throws -> String {
    guard case .string(let s) = node.value else { throw fail(node, key, "is \(node.kind), not a string") }
    return s
  }

  func bool(_ node: TokenizerJSON, _ key: String) throws -> Bool {
    guard case .bool(let b) = node.value else { throw fail(node, key, "is \(node.kind), not true or false") }
    return b
  }

  /// Ids are below this (16,777,216), so that the tables by id stay small whatever the file says.
  static let idLimit = 1 << 24

  /// A token id: an integer from 0 to `idLimit` - 1.
  func id(_ node: TokenizerJSON, _ key: String) throws -> Int {
    guard case .number(_, let i?) = node.value, i >= 0, i < Self.idLimit else {
      let what = node.kind == "a number" ? "a number out of the ids supported (0 to \(Self.idLimit - 1))" : node.kind
      throw fail(node, key, "is \(what), not an id")
    }
    return Int(i)
  }

  /// The `type` of a component object.
  func type(_ node: TokenizerJSON, _ key: String) throws -> String {
    _ = try members(node, key)
    guard let t = node["type"] else { throw fail(node, key + ".type", "is missing") }
    return try string(t, key + ".type")
  }

  /// A pre-tokenizer of a Sequence, or the pre-tokenizer.
  func stage(_ node: TokenizerJSON, _ key: String) throws -> HFTokenizer.Stage {
    let type = try self.type(node, key)
    switch type {
    case "ByteLevel":
      let addPrefixSpace = try node["add_prefix_space"].map { try bool($0, key + ".add_prefix_space") } ?? true
      let useRegex = try node["use_regex"].map { try bool($0, key + ".use_regex") } ?? true
      return .byteLevel(addPrefixSpace: addPrefixSpace, useRegex: useRegex)
    case "Split":
      guard let pattern = node["pattern"] else { throw fail(node, key + ".pattern", "is missing") }
      let members = try self.members(pattern, key + ".pattern")
      guard members.count == 1, members[0].key == "Regex" else {
        let k = members.first?.key ?? ""
        throw fail(pattern, key + ".pattern" + (k.isEmpty ? "" : "." + k),
                   "only a {\"Regex\": ...} pattern (GPT-2's or LLaMA-3's) is supported")
      }
      let source = try string(members[0].value, key + ".pattern.Regex")
      guard let p = SplitPattern(source: source) else {
        throw fail(members[0].value, key + ".pattern.Regex",
                   "the pattern \(Self.quoted(source)) is not supported (only GPT-2's and LLaMA-3's)")
      }
      if let b = node["behavior"] {
        let behavior = try string(b, key + ".behavior")
        guard behavior == "Isolated" else {
          throw fail(b, key + ".behavior", "the behavior \"\(behavior)\" is not supported (only Isolated)")
        }
      }
      if let inv = node["invert"], try bool(inv, key + ".invert") {
        throw fail(inv, key + ".invert", "true is not supported")
      }
      return .split(p)
    case "Metaspace":
      let (c, scheme) = try metaspace(node, key)
      let split = try node["split"].map { try bool($0, key + ".split") } ?? true
      return .metaspace(replacement: Array(String(c).utf8), prepend: scheme, split: split)
    case "Digits":
      return .digits(individual: try node["individual_digits"].map { try bool($0, key + ".individual_digits") } ?? false)
    default:
      throw fail(node, key + ".type", "the pre-tokenizer \"\(type)\" is not supported (only ByteLevel, Split, Digits and Metaspace)")
    }
  }

  /// A normalizer of the Sequence, or the normalizer.
  func normalizer(_ node: TokenizerJSON, _ key: String) throws -> HFTokenizer.NormalizerStep {
    let t = try type(node, key)
    switch t {
    case "NFC": return .nfc
    case "Prepend":
      guard let v = node["prepend"] else { throw fail(node, key + ".prepend", "is missing") }
      return .prepend(Array(try string(v, key + ".prepend").utf8))
    case "Replace":
      let (pattern, content) = try replacement(node, key)
      return .replace(Array(pattern.utf8), Array(content.utf8))
    default:
      throw fail(node, key + ".type", "the normalizer \"\(t)\" is not supported (only NFC, Prepend and Replace)")
    }
  }

  /// The string pattern and content of a Replace normalizer or decoder.
  func replacement(_ node: TokenizerJSON, _ key: String) throws -> (String, String) {
    guard let pattern = node["pattern"] else { throw fail(node, key + ".pattern", "is missing") }
    let members = try self.members(pattern, key + ".pattern")
    guard members.count == 1, members[0].key == "String" else {
      let k = members.first?.key ?? ""
      throw fail(pattern, key + ".pattern" + (k.isEmpty ? "" : "." + k), "only a {\"String\": ...} pattern is supported")
    }
    let source = try string(members[0].value, key + ".pattern.String")
    if source.isEmpty { throw fail(members[0].value, key + ".pattern.String", "is empty") }
    guard let c = node["content"] else { throw fail(node, key + ".content", "is missing") }
    return (source, try string(c, key + ".content"))
  }

  /// Metaspace's replacement (one character) and prepend scheme.
  func metaspace(_ node: TokenizerJSON, _ key: String) throws -> (Unicode.Scalar, HFTokenizer.PrependScheme) {
    let r = try node["replacement"].map { try string($0, key + ".replacement") } ?? "\u{2581}"
    guard r.unicodeScalars.count == 1, let c = r.unicodeScalars.first else {
      throw fail(node["replacement"] ?? node, key + ".replacement", "is not one character")
    }
    var scheme = HFTokenizer.PrependScheme.always
    if let a = node["add_prefix_space"], !(try bool(a, key + ".add_prefix_space")) { scheme = .never }
    if let s = node["prepend_scheme"] {
      switch try string(s, key + ".prepend_scheme") {
      case "first": scheme = .first
      case "always": scheme = .always
      case "never": scheme = .never
      case let other: throw fail(s, key + ".prepend_scheme", "\"\(other)\" is not first, always or never")
      }
    }
    return (c, scheme)
  }

  /// A decoder of a SentencePiece-style tokenizer.
  func decoder(_ node: TokenizerJSON, _ key: String) throws -> HFTokenizer.DecoderStep {
    let t = try type(node, key)
    switch t {
    case "Replace":
      let (pattern, content) = try replacement(node, key)
      return .replace(pattern, content)
    case "ByteFallback": return .byteFallback
    case "Fuse": return .fuse
    case "Strip":
      let c = try node["content"].map { try string($0, key + ".content") } ?? " "
      guard c.unicodeScalars.count == 1, let ch = c.unicodeScalars.first else { throw fail(node["content"] ?? node, key + ".content", "is not one character") }
      func count(_ k: String) throws -> Int {
        guard let v = node[k] else { return 0 }
        guard case .number(_, let i?) = v.value, i >= 0, i < 1 << 20 else { throw fail(v, key + "." + k, "is \(v.kind), not a count") }
        return Int(i)
      }
      return .strip(ch, start: try count("start"), stop: try count("stop"))
    case "Metaspace":
      let (c, scheme) = try metaspace(node, key)
      return .metaspace(c, scheme)
    default:
      throw fail(node, key + ".type", "the decoder \"\(t)\" is not supported with SentencePiece-style BPE (only Metaspace, Replace, ByteFallback, Fuse and Strip)")
    }
  }

  /// A post-processor: accepted when `encode` (which adds no special tokens) may ignore it.
  func postProcessor(_ node: TokenizerJSON, _ key: String) throws {
    let type = try self.type(node, key)
    switch type {
    case "ByteLevel", "TemplateProcessing": return
    case "Sequence":
      guard let list = node["processors"] else { throw fail(node, key + ".processors", "is missing") }
      for (k, item) in try array(list, key + ".processors").enumerated() { try postProcessor(item, key + ".processors[\(k)]") }
    default:
      throw fail(node, key + ".type", "the post-processor \"\(type)\" is not supported (only ByteLevel, TemplateProcessing)")
    }
  }
}
