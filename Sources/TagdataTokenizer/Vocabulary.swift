/// The text side of a vocabulary: a base model's tokenizer (`HFTokenizer`) or the byte
/// tokenizer. Its ids are `0 ..< vocabularySize`, its own special tokens included.
public protocol TextTokenizer: Sendable {
  var vocabularySize: Int { get }
  func encodeText(_ text: String) -> [Int]
  func decodeText(_ ids: [Int]) -> String
  /// The token string of an id of this tokenizer (for display).
  func tokenText(_ id: Int) -> String?
  /// The id of a token string (special tokens included), if it has one.
  func tokenID(_ token: String) -> Int?
}

extension HFTokenizer: TextTokenizer {
  public func encodeText(_ text: String) -> [Int] { encode(text) }
  public func decodeText(_ ids: [Int]) -> String { decode(ids) }
  public func tokenText(_ id: Int) -> String? { token(forID: id) }
  public func tokenID(_ token: String) -> Int? { id(forToken: token) }
}

/// `ByteTokenizer` as a text tokenizer: `<pad>`, `<bos>`, `<eos>`, `<unk>`, then the 256 bytes.
public struct ByteTextTokenizer: TextTokenizer {
  public init() {}
  public static let specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
  public var vocabularySize: Int { ByteTokenizer.vocabularySize }
  public func encodeText(_ text: String) -> [Int] { ByteTokenizer.encode(text) }
  public func decodeText(_ ids: [Int]) -> String { ByteTokenizer.decode(ids) }
  public func tokenText(_ id: Int) -> String? {
    if id >= 0 && id < 4 { return Self.specials[id] }
    guard id >= 4 && id < 260 else { return nil }
    let b = UInt8(id - 4)
    let hex = String(b, radix: 16, uppercase: true)
    return b >= 0x21 && b < 0x7F ? String(UnicodeScalar(b)) : "<0x" + (b < 16 ? "0" : "") + hex + ">"
  }
  public func tokenID(_ token: String) -> Int? {
    if let i = Self.specials.firstIndex(of: token) { return i }
    let u = Array(token.utf8)
    if u.count == 1 { return Int(u[0]) + 4 }
    if u.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"), let b = UInt8(token.dropFirst(3).dropLast(), radix: 16) {
      return Int(b) + 4
    }
    return nil
  }
}

/// One vocabulary over everything a built record holds, in disjoint id ranges:
///
/// | ids | what |
/// |---|---|
/// | `0 ..< textSize` | the text tokenizer's ids, the base model's special tokens among them |
/// | `textSize ..< tagEnd` | tag tokens: each tag owns `tokens` consecutive ids, in the build's tag registry order (Tag-LLM's `<TAG i>` is id `textSize + i`) |
/// | `tagEnd ..< smilesEnd` | SMILES atom-level tokens (optional), the first one `<smiles:unk>` |
/// | `smilesEnd ..< size` | protein residues (optional), the first one `<residue:unk>` |
///
/// Text segments are tokenized by the text tokenizer; tags by their ids; SMILES and protein
/// segments by the domain rule when the domain range exists, else as text.
public struct Vocabulary: Sendable {
  public enum TagKind: String, Sendable, Codable { case domain, function }

  public struct Tag: Sendable, Equatable {
    public var name: String
    /// The tag as it appears in a formulation, `<SMILES>`.
    public var text: String
    public var kind: TagKind
    /// Tag-LLM's index of the tag's first `<TAG i>` (its ids start at `textSize + first`).
    public var first: Int
    public var count: Int
    public init(name: String, text: String, kind: TagKind, first: Int, count: Int) {
      self.name = name
      self.text = text
      self.kind = kind
      self.first = first
      self.count = count
    }
  }

  public let text: any TextTokenizer
  /// The text tokenizer with every tag token as an added token `<TAG i>` (`HFExport.taggedTokenizer`):
  /// text runs and tags are then tokenized as one string, exactly as Hugging Face does it on a
  /// formulation whose tags are written as their `<TAG i>` tokens (a SentencePiece prefix space,
  /// say, goes only where it would go there).
  public let tagged: (any TextTokenizer)?
  public let textSize: Int
  public let tags: [Tag]
  /// Token strings of the SMILES range (index 0 is the unknown token), if SMILES are tokenized by atom.
  public let smilesTokens: [String]?
  /// Residue letters of the protein range (index 0 is the unknown token), if proteins are tokenized by residue.
  public let residueTokens: [String]?
  public private(set) var bos: Int?
  public let eos: Int?

  public let tagEnd: Int
  public let smilesEnd: Int
  public let size: Int
  let tagByText: [String: Int]
  /// Per tag id (from `textSize`): the index of the tag whose last virtual token it is, or -1.
  let tagEndingAt: [Int]
  /// The domain ranges' ids, as the domain tokenizers read them.
  let smilesVocabulary: DomainVocabulary?
  let residueVocabulary: DomainVocabulary?

  public static let smilesUnknown = "<smiles:unk>", residueUnknown = "<residue:unk>"
  /// The residue range: the 20 standard amino acids, selenocysteine, pyrrolysine and the
  /// ambiguity codes B, Z, X (UniProt's alphabet).
  public static let residues = Array("ACDEFGHIKLMNPQRSTVWYUOBZX").map(String.init)

  public init(text: any TextTokenizer, tagged: (any TextTokenizer)? = nil, tags: [Tag], smilesTokens: [String]? = nil,
              residues: Bool = false, bos: Int? = nil, eos: Int? = nil) throws
  {
    self.text = text
    self.tagged = tagged
    textSize = text.vocabularySize
    self.tags = tags
    var tagByText: [String: Int] = [:]
    var end = 0
    for (i, t) in tags.enumerated() {
      guard t.count > 0, t.first >= 0 else { throw VocabularyError("tag \(t.name) has \(t.count) tokens from \(t.first)") }
      guard tagByText[t.text] == nil else { throw VocabularyError("tag \(t.text) is declared twice") }
      tagByText[t.text] = i
      end = max(end, t.first + t.count)
    }
    // Ranges of distinct tags must not overlap.
    let sorted = tags.sorted { $0.first < $1.first }
    for (a, b) in zip(sorted, sorted.dropFirst()) where a.first + a.count > b.first {
      throw VocabularyError("tags \(a.text) and \(b.text) share token ids")
    }
    self.tagByText = tagByText
    tagEnd = textSize + end
    var tagEndingAt = [Int](repeating: -1, count: end)
    for (i, t) in tags.enumerated() { tagEndingAt[t.first + t.count - 1] = i }
    self.tagEndingAt = tagEndingAt
    var smilesIDs: [String: Int] = [:]
    if let s = smilesTokens {
      guard s.first == Self.smilesUnknown else { throw VocabularyError("the SMILES range must start with \(Self.smilesUnknown)") }
      for (i, t) in s.enumerated() {
        guard smilesIDs.updateValue(tagEnd + i, forKey: t) == nil else { throw VocabularyError("SMILES token \(t) is listed twice") }
      }
      smilesVocabulary = DomainVocabulary(smilesIDs, unknownID: tagEnd)
    } else {
      smilesVocabulary = nil
    }
    self.smilesTokens = smilesTokens
    smilesEnd = tagEnd + (smilesTokens?.count ?? 0)
    residueTokens = residues ? [Self.residueUnknown] + Self.residues : nil
    if let r = residueTokens {
      var ids: [String: Int] = [:]
      for (i, t) in r.enumerated() { ids[t] = smilesEnd + i }
      residueVocabulary = DomainVocabulary(ids, unknownID: smilesEnd)
    } else {
      residueVocabulary = nil
    }
    size = smilesEnd + (residueTokens?.count ?? 0)
    self.bos = bos
    self.eos = eos
  }

  /// The same vocabulary without a BOS (for segments tokenized on their own).
  public var withoutBOS: Vocabulary {
    var v = self
    v.bos = nil
    return v
  }

  /// The ids of a tag, by its text (`<SMILES>`).
  public func tagIDs(_ text: String) -> Range<Int>? {
    guard let i = tagByText[text] else { return nil }
    let t = tags[i]
    return (textSize + t.first)..<(textSize + t.first + t.count)
  }

  public func tag(_ text: String) -> Tag? { tagByText[text].map { tags[$0] } }

  /// Which range an id is in.
  public enum Range_: Sendable, Equatable { case text, tag(Int), smiles, residue, outside }

  public func range(of id: Int) -> Range_ {
    if id >= 0 && id < textSize { return .text }
    if id >= textSize && id < tagEnd {
      let i = id - textSize
      if let t = tags.firstIndex(where: { i >= $0.first && i < $0.first + $0.count }) { return .tag(t) }
      return .outside
    }
    if id >= tagEnd && id < smilesEnd { return .smiles }
    if id >= smilesEnd && id < size { return .residue }
    return .outside
  }

  /// The display string of an id: the text token, Tag-LLM's `<TAG i>` for tag tokens, the
  /// SMILES token or residue letter (domain ranges).
  public func tokenString(_ id: Int) -> String? {
    switch range(of: id) {
    case .text: return text.tokenText(id)
    case .tag: return "<TAG \(id - textSize)>"
    case .smiles: return smilesTokens![id - tagEnd]
    case .residue: return residueTokens![id - smilesEnd]
    case .outside: return nil
    }
  }

  // MARK: Encoding a record.

  /// A piece of a record: its kind as the stage builder writes it (`text`, `tag`, `smiles`,
  /// `protein`, `label`) and its text.
  public struct Segment: Sendable, Equatable {
    public enum Kind: String, Sendable { case text, tag, smiles, protein, label }
    public var kind: Kind
    public var text: String
    public init(_ kind: Kind, _ text: String) {
      self.kind = kind
      self.text = text
    }
  }

  /// A tokenized record.
  public struct Encoded: Sendable, Equatable {
    public var ids: [Int] = []
    /// True where the token is a next-token target: every token but tags and the BOS.
    public var lossMask: [Bool] = []
    /// Per tag occurrence: the tag's index in `tags` and the position of its last token.
    public var tagEnds: [(tag: Int, position: Int)] = []
    /// Domain symbols that had no token of their own (mapped to the unknown token).
    public var unknownSmiles = 0
    public var unknownResidues = 0
    /// Each domain tag and the SMILES or sequence that follows it (whitespace between them
    /// allowed): first and last position, Tag-LLM's bidirectional blocks. When the input is
    /// tokenized inside a text run, its end is the last token of the run's prefix up to it.
    public var inputSpans: [ClosedRange<Int>] = []

    public static func == (a: Encoded, b: Encoded) -> Bool {
      a.ids == b.ids && a.lossMask == b.lossMask && a.tagEnds.map(\.tag) == b.tagEnds.map(\.tag)
        && a.tagEnds.map(\.position) == b.tagEnds.map(\.position) && a.unknownSmiles == b.unknownSmiles
        && a.unknownResidues == b.unknownResidues && a.inputSpans == b.inputSpans
    }
  }

  /// Tokenizes a record's segments in order. Consecutive segments that are tokenized as text
  /// are joined and tokenized as one string, so with no domain ranges the ids are those of the
  /// text tokenizer on the whole formulation with each tag written as its `<TAG i>` tokens
  /// (what Tag-LLM's collator and a Hugging Face tokenizer with the tags as added tokens give).
  /// `bos` is put first when the vocabulary has one and `eos` is asked for and exists.
  public func encode(_ segments: [Segment], eos appendEOS: Bool) throws -> Encoded {
    var out = Encoded()
    if let b = bos {
      out.ids.append(b)
      out.lossMask.append(false)
    }
    var pending = ""
    // Bidirectional blocks: (ordinal of the domain tag among the record's tags, last token of its input).
    var spans: [(tag: Int, end: Int)] = []
    var ordinal = -1, awaiting: Int? = nil
    var marks: [(tag: Int, utf8: Int)] = []  // inputs inside the pending run: where they end
    func flush() {
      guard !pending.isEmpty else { return }
      let start = out.ids.count
      defer {
        for m in marks {
          let prefix = String(decoding: Array(pending.utf8.prefix(m.utf8)), as: UTF8.self)
          spans.append((m.tag, start + (tagged ?? text).encodeText(prefix).count - 1))
        }
        marks.removeAll()
        pending = ""
      }
      guard let tagged else {
        for id in text.encodeText(pending) {
          out.ids.append(id)
          out.lossMask.append(true)
        }
        return
      }
      for id in tagged.encodeText(pending) {
        out.ids.append(id)
        if id >= textSize && id < tagEnd {
          out.lossMask.append(false)
          let t = tagEndingAt[id - textSize]
          if t >= 0 { out.tagEnds.append((t, out.ids.count - 1)) }
        } else {
          out.lossMask.append(true)
        }
      }
    }
    for s in segments {
      // A domain tag waits for its input across whitespace only.
      if awaiting != nil {
        switch s.kind {
        case .smiles, .protein: break
        case .text where s.text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }): break
        default: awaiting = nil
        }
      }
      switch s.kind {
      case .text, .label:
        pending += s.text
      case .tag:
        guard let i = tagByText[s.text] else { throw VocabularyError("tag \(s.text) is not in the vocabulary's tag registry") }
        let t = tags[i]
        ordinal += 1
        awaiting = t.kind == .domain ? ordinal : nil
        if tagged != nil {
          for k in 0..<t.count { pending += "<TAG \(t.first + k)>" }
          continue
        }
        flush()
        for k in 0..<t.count {
          out.ids.append(textSize + t.first + k)
          out.lossMask.append(false)
        }
        out.tagEnds.append((i, out.ids.count - 1))
      case .smiles, .protein:
        // A domain range tokenizes the segment on its own; without one it is text.
        guard s.kind == .smiles ? smilesTokens != nil : residueTokens != nil else {
          pending += s.text
          if let a = awaiting { marks.append((a, pending.utf8.count)) }
          awaiting = nil
          continue
        }
        flush()
        // The domain tokenizer's ids; the spaces of a space-joined sequence are not residues.
        let first = out.ids.count
        var bytes = Array(s.text.utf8)
        if s.kind == .smiles {
          bytes.withUnsafeBufferPointer { SmilesTokenizer.encode($0, vocabulary: smilesVocabulary!, into: &out.ids) }
          out.unknownSmiles += out.ids[first...].lazy.filter { $0 == tagEnd }.count
        } else {
          bytes.removeAll { $0 == 0x20 }
          bytes.withUnsafeBufferPointer { ResidueTokenizer.encode($0, vocabulary: residueVocabulary!, into: &out.ids) }
          out.unknownResidues += out.ids[first...].lazy.filter { $0 == smilesEnd }.count
        }
        out.lossMask.append(contentsOf: repeatElement(true, count: out.ids.count - first))
        if let a = awaiting { spans.append((a, out.ids.count - 1)) }
        awaiting = nil
      }
    }
    flush()
    for span in spans where span.tag < out.tagEnds.count {
      let (t, last) = out.tagEnds[span.tag]
      let first = last - tags[t].count + 1
      if span.end >= first { out.inputSpans.append(first...span.end) }
    }
    if appendEOS, let e = eos {
      out.ids.append(e)
      out.lossMask.append(true)
    }
    return out
  }

  /// The text of ids: text runs decoded by the text tokenizer, other tokens by their strings.
  public func decode(_ ids: [Int]) -> String {
    var out = "", run: [Int] = []
    func flush() {
      if !run.isEmpty { out += text.decodeText(run) }
      run = []
    }
    for id in ids {
      if range(of: id) == .text {
        run.append(id)
      } else {
        flush()
        out += tokenString(id) ?? "<unknown id \(id)>"
      }
    }
    flush()
    return out
  }
}

public struct VocabularyError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
