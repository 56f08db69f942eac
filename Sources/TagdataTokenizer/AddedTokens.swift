/// An entry of `added_tokens`: a string matched in the text before the model sees it, which
/// becomes its id whole.
public struct AddedToken: Sendable, Equatable {
  public var id: Int
  public var content: String
  /// Matched only where no word character (alphanumeric or `_`) touches it on either side.
  public var singleWord: Bool
  /// White space on its left (`lstrip`) or right (`rstrip`) is taken into the token.
  public var leftStrip: Bool
  public var rightStrip: Bool
  /// Matched in the normalized text (true) or in the text as given (false).
  public var normalized: Bool
  /// Left out by `decode(_:skipSpecialTokens:)` when asked.
  public var special: Bool
}

/// The added tokens of one kind (normalized or not) as a trie over UTF-8 bytes, matched
/// leftmost-longest without overlaps, as the reference's Aho-Corasick automaton does.
struct AddedTokenMatcher: Sendable {
  private var children: [[UInt8: Int32]] = [[:]]
  /// The index in `tokens` of the token that ends at each node, -1 for none.
  private var terminal: [Int32] = [-1]
  /// The child of the root for each byte, -1 for none (the first byte's step without hashing).
  private var rootChildren = [Int32](repeating: -1, count: 256)
  let tokens: [AddedToken]

  var isEmpty: Bool { children[0].isEmpty }

  /// `patterns[k]` is what `tokens[k]` is matched as (its content, normalized when it is a
  /// normalized token).
  init(tokens: [AddedToken], patterns: [[UInt8]]) {
    self.tokens = tokens
    for (k, p) in patterns.enumerated() where !p.isEmpty {
      var node = 0
      for b in p {
        if let c = children[node][b] {
          node = Int(c)
        } else {
          children.append([:])
          terminal.append(-1)
          children[node][b] = Int32(children.count - 1)
          node = children.count - 1
        }
      }
      if terminal[node] < 0 { terminal[node] = Int32(k) }
    }
    for (b, c) in children[0] { rootChildren[Int(b)] = c }
  }

  /// A piece of text: a range of bytes and the added token it is, nil for plain text.
  struct Segment {
    var range: Range<Int>
    var token: Int?
  }

  /// Splits `text` into plain text and added tokens.
  func split(_ text: [UInt8]) -> [Segment] {
    text.withUnsafeBufferPointer { split($0) }
  }

  /// Splits `text` into plain text and added tokens.
  func split(_ text: UnsafeBufferPointer<UInt8>) -> [Segment] {
    if isEmpty { return [Segment(range: 0..<text.count, token: nil)] }
    var out: [Segment] = []
    var startOffset = 0
    var i = 0
    let n = text.count
    while i < n {
      // The longest token that starts at i.
      let first = rootChildren[Int(text[i])]
      if first < 0 {
        i += 1
        continue
      }
      var node = Int(first), j = i + 1, best = -1, bestEnd = i
      if terminal[node] >= 0 {
        best = Int(terminal[node])
        bestEnd = j
      }
      while j < n, let c = children[node][text[j]] {
        node = Int(c)
        j += 1
        if terminal[node] >= 0 {
          best = Int(terminal[node])
          bestEnd = j
        }
      }
      guard best >= 0 else {
        i += 1
        continue
      }
      var start = i, stop = bestEnd
      i = bestEnd
      let t = tokens[best]
      if start < startOffset { continue }
      if t.singleWord {
        if let before = Self.scalar(before: start, in: text), Self.isWordCharacter(before) { continue }
        if let after = Self.scalar(at: stop, in: text), Self.isWordCharacter(after) { continue }
      }
      if t.leftStrip {
        while start > startOffset, let s = Self.scalar(before: start, in: text), s.properties.isWhitespace {
          start -= s.utf8.count
        }
      }
      if t.rightStrip {
        while let s = Self.scalar(at: stop, in: text), s.properties.isWhitespace { stop += s.utf8.count }
        i = max(i, stop)
      }
      if start > startOffset { out.append(Segment(range: startOffset..<start, token: nil)) }
      out.append(Segment(range: start..<stop, token: t.id))
      startOffset = stop
    }
    if startOffset < n { out.append(Segment(range: startOffset..<n, token: nil)) }
    return out
  }

  /// A word character as Unicode regular expressions' `\w` has it: Alphabetic, a mark, a decimal
  /// digit, connector punctuation (`_`) or a join control (so `½` and `²` are not, `é` and U+0301 are).
  /// The reference's tables are Unicode 16's: a character assigned later is not a word character.
  static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
    if s == "_" { return true }
    let p = s.properties
    if let age = p.age, age.major > 16 { return false }
    if p.isAlphabetic || p.isJoinControl { return true }
    switch p.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
    default: return false
    }
  }

  /// The scalar that ends just before byte `offset` of valid UTF-8.
  static func scalar(before offset: Int, in text: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
    guard offset > 0 else { return nil }
    var k = offset - 1
    while k > 0 && text[k] & 0xC0 == 0x80 { k -= 1 }
    return scalar(at: k, in: text)
  }

  /// The scalar that starts at byte `offset` of valid UTF-8.
  static func scalar(at offset: Int, in text: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
    guard offset < text.count else { return nil }
    var it = text[offset...].makeIterator()
    var decoder = UTF8()
    if case .scalarValue(let s) = decoder.decode(&it) { return s }
    return nil
  }
}
