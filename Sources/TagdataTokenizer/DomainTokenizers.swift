/// Domain tokenization of SMILES and protein sequences: the pieces a domain vocabulary is made
/// of, one token per atom or bond symbol and one per residue.
///
/// SMILES follow the atom-level scheme of the reaction-prediction literature (Schwaller et al.,
/// the "SMILES regex"): a bracket atom `[...]` is one token, `Br` and `Cl` are one token each,
/// the organic-subset atoms `B C N O S P F I` and aromatic `b c n o s p` one each, ring-closure
/// numbers `%NN` one, a digit one, and each of `( ) . = # - + \ / : ~ @ ? > * $` one. Anything
/// else is one unknown token (`Token.unknown`), counted, never an error: the tokenizer is total on
/// any bytes.
public enum SmilesTokenizer {
  public struct Token: Sendable, Equatable {
    /// Byte range of the token in the input.
    public var range: Range<Int>
    /// The bytes match none of the scheme's patterns.
    public var unknown: Bool
  }

  /// The tokens of `smiles` (byte ranges over its UTF-8).
  public static func tokens(_ smiles: some Collection<UInt8>) -> [Token] {
    var out: [Token] = []
    let done: Void? = smiles.withContiguousStorageIfAvailable { b in
      out.reserveCapacity(b.count)
      scan(b) { out.append(Token(range: $0..<$1, unknown: $2)) }
    }
    if done == nil {
      let b = Array(smiles)
      out.reserveCapacity(b.count)
      b.withUnsafeBufferPointer { b in scan(b) { out.append(Token(range: $0..<$1, unknown: $2)) } }
    }
    return out
  }

  /// Appends the ids of the tokens of `smiles` to `ids`: each token's id in `vocabulary`, its
  /// unknown id for unknown tokens and tokens it lacks.
  public static func encode(_ smiles: UnsafeBufferPointer<UInt8>, vocabulary: DomainVocabulary, into ids: inout [Int]) {
    ids.reserveRoom(smiles.count)
    let unknown = vocabulary.unknownID
    vocabulary.singles.withUnsafeBufferPointer { singles in
      scan(smiles) { start, end, isUnknown in
        if isUnknown {
          ids.append(unknown)
        } else if end - start == 1 {
          ids.append(Int(singles[Int(smiles[start])]))
        } else {
          ids.append(vocabulary.id(UnsafeBufferPointer(rebasing: smiles[start..<end])))
        }
      }
    }
  }

  /// The ids of the tokens of `smiles` (see `encode(_:vocabulary:into:)`).
  public static func encode(_ smiles: String, vocabulary: DomainVocabulary) -> [Int] {
    var ids: [Int] = []
    var s = smiles
    s.withUTF8 { encode($0, vocabulary: vocabulary, into: &ids) }
    return ids
  }

  /// Calls `body(start, end, unknown)` for each token of `b`, in order. Linear: the place of the
  /// next `]` is kept, so that a run of `[` without one is not scanned again for each.
  @inline(__always)
  static func scan(_ b: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, Bool) -> Void) {
    let n = b.count
    var i = 0
    // The first `]` at or after `closeFrom`, n when there is none (valid while closeFrom <= i + 1).
    var close = -1, closeFrom = 0
    while i < n {
      let c = b[i]
      var end = i + 1
      var unknown = false
      switch c {
      case UInt8(ascii: "["):
        // A bracket atom runs to the next `]` (the regex `\[[^\]]+]`: at least one byte inside).
        if close < 0 || closeFrom > i + 1 || (close < n && close < i + 1) {
          closeFrom = i + 1
          close = closeFrom
          while close < n && b[close] != UInt8(ascii: "]") { close += 1 }
        }
        if i + 1 < n, b[i + 1] != UInt8(ascii: "]"), close < n {
          end = close + 1
        } else {
          unknown = true
        }
      case UInt8(ascii: "B"):
        if i + 1 < n && b[i + 1] == UInt8(ascii: "r") { end = i + 2 }
      case UInt8(ascii: "C"):
        if i + 1 < n && b[i + 1] == UInt8(ascii: "l") { end = i + 2 }
      case UInt8(ascii: "%"):
        if i + 2 < n && isDigit(b[i + 1]) && isDigit(b[i + 2]) { end = i + 3 } else { unknown = true }
      default:
        unknown = !isSingle(c)
      }
      if unknown {
        // One unknown token per UTF-8 character, so that a multi-byte character is not cut.
        end = i + 1
        while end < n && b[end] & 0xC0 == 0x80 { end += 1 }
      }
      body(i, end, unknown)
      i = end
    }
  }

  /// The tokens as strings.
  public static func split(_ smiles: String) -> [String] {
    let b = Array(smiles.utf8)
    return tokens(b).map { String(decoding: b[$0.range], as: UTF8.self) }
  }

  @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

  /// Bytes that are a token by themselves.
  @inline(__always) static func isSingle(_ c: UInt8) -> Bool {
    c < 64 ? singleLow & (1 << UInt64(c)) != 0 : c < 128 && singleHigh & (1 << UInt64(c - 64)) != 0
  }

  /// `single` as a bit set: bytes 0-63, 64-127 (a test checks them against `single`).
  static let singleLow: UInt64 = 0xE7FF_EF18_0000_0000, singleHigh: UInt64 = 0x4009_C00C_1009_C24D

  /// Bytes that are a token by themselves.
  static let single: Set<UInt8> = Set("NOSPFIbcnosp()=#-+\\/:~@?>*$.0123456789BC".utf8)
}

/// Protein sequences as one token per residue (any letter; anything else is unknown, one token
/// per UTF-8 character, counted).
public enum ResidueTokenizer {
  public static func tokens(_ sequence: some Collection<UInt8>) -> [SmilesTokenizer.Token] {
    var out: [SmilesTokenizer.Token] = []
    let done: Void? = sequence.withContiguousStorageIfAvailable { b in
      out.reserveCapacity(b.count)
      scan(b) { out.append(SmilesTokenizer.Token(range: $0..<$1, unknown: $2)) }
    }
    if done == nil {
      let b = Array(sequence)
      out.reserveCapacity(b.count)
      b.withUnsafeBufferPointer { b in scan(b) { out.append(SmilesTokenizer.Token(range: $0..<$1, unknown: $2)) } }
    }
    return out
  }

  /// Appends the ids of the residues of `sequence` to `ids`: each letter's id in `vocabulary`, its
  /// unknown id for anything else (one per UTF-8 character) and letters it lacks.
  public static func encode(_ sequence: UnsafeBufferPointer<UInt8>, vocabulary: DomainVocabulary, into ids: inout [Int]) {
    let n = sequence.count
    let start = ids.count
    // At most one id per byte: written in place, then the array cut to the ids written.
    ids.append(contentsOf: repeatElement(0, count: n))
    let unknown = vocabulary.unknownID
    let written = vocabulary.residues.withUnsafeBufferPointer { table in
      ids.withUnsafeMutableBufferPointer { out in
        var i = 0, k = start
        while i < n {
          let c = sequence[i]
          let id = table[Int(c)]
          if id >= 0 {
            out[k] = Int(id)
            i += 1
          } else {
            out[k] = unknown
            i += 1
            if c >= 0x80 { while i < n && sequence[i] & 0xC0 == 0x80 { i += 1 } }
          }
          k += 1
        }
        return k
      }
    }
    ids.removeLast(ids.count - written)
  }

  /// The ids of the residues of `sequence` (see `encode(_:vocabulary:into:)`).
  public static func encode(_ sequence: String, vocabulary: DomainVocabulary) -> [Int] {
    var ids: [Int] = []
    var s = sequence
    s.withUTF8 { encode($0, vocabulary: vocabulary, into: &ids) }
    return ids
  }

  @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }

  @inline(__always)
  static func scan(_ b: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, Bool) -> Void) {
    var i = 0
    let n = b.count
    while i < n {
      let letter = isLetter(b[i])
      var end = i + 1
      if !letter { while end < n && b[end] & 0xC0 == 0x80 { end += 1 } }
      body(i, end, !letter)
      i = end
    }
  }
}

/// The ids of domain tokens (SMILES atom-level tokens, residues): each token's UTF-8 and its id,
/// and the id of unknown tokens.
public struct DomainVocabulary: Sendable {
  /// The id given to unknown tokens and to tokens not in the vocabulary.
  public let unknownID: Int
  /// The id of each one-byte token, the unknown id for bytes without one.
  let singles: [Int32]
  /// The id of each letter's residue token, -1 for bytes that are not letters (unknown), the
  /// unknown id for letters without a token.
  let residues: [Int32]
  /// Tokens of more than one byte.
  let longer: ByteKeyTable
  let ids: [String: Int]

  /// - Parameters:
  ///   - ids: each token's id (ids from 0 to 2^31 - 1).
  ///   - unknownID: the id of unknown tokens.
  public init(_ ids: [String: Int], unknownID: Int) {
    self.ids = ids
    self.unknownID = unknownID
    var singles = [Int32](repeating: Int32(truncatingIfNeeded: unknownID), count: 256)
    var longer = ByteKeyTable(maxEntries: Int.max)
    for (token, id) in ids {
      let bytes = Array(token.utf8)
      if bytes.count == 1 {
        singles[Int(bytes[0])] = Int32(truncatingIfNeeded: id)
      } else if bytes.count > 1 {
        bytes.withUnsafeBufferPointer { b in
          let h = ByteKeyTable.hash(b)
          if longer.find(b, hash: h) == nil { longer.insert(b, hash: h, values: CollectionOfOne(Int32(truncatingIfNeeded: id))) }
        }
      }
    }
    self.singles = singles
    self.residues = (0..<256).map { c in ResidueTokenizer.isLetter(UInt8(c)) ? singles[c] : -1 }
    self.longer = longer
  }

  /// The id of a token, nil when the vocabulary lacks it.
  public func id(forToken token: String) -> Int? { ids[token] }

  /// The id of the token of `bytes` (more than one), the unknown id when there is none.
  @inline(__always) func id(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    guard let r = longer.find(bytes, hash: ByteKeyTable.hash(bytes)) else { return unknownID }
    return Int(longer.value(at: r.lowerBound))
  }
}

extension Array where Element == Int {
  /// Makes room for `n` more elements, growing geometrically: reserving exactly what each call
  /// needs would copy the whole array at every call (quadratic over many appended records).
  @inline(__always) mutating func reserveRoom(_ n: Int) {
    if capacity - count < n { reserveCapacity(Swift.max(count + n, capacity * 2)) }
  }
}
