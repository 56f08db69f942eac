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
    let b = Array(smiles)
    var out: [Token] = []
    out.reserveCapacity(b.count)
    var i = 0
    let n = b.count
    while i < n {
      let c = b[i]
      var end = i + 1
      var unknown = false
      switch c {
      case UInt8(ascii: "["):
        // A bracket atom runs to the next `]` (the regex `\[[^\]]+]`: at least one byte inside).
        if i + 1 < n, b[i + 1] != UInt8(ascii: "]"), let close = b[(i + 1)...].firstIndex(of: UInt8(ascii: "]")) {
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
        unknown = !single.contains(c)
      }
      if unknown {
        // One unknown token per UTF-8 character, so that a multi-byte character is not cut.
        end = i + 1
        while end < n && b[end] & 0xC0 == 0x80 { end += 1 }
      }
      out.append(Token(range: i..<end, unknown: unknown))
      i = end
    }
    return out
  }

  /// The tokens as strings.
  public static func split(_ smiles: String) -> [String] {
    let b = Array(smiles.utf8)
    return tokens(b).map { String(decoding: b[$0.range], as: UTF8.self) }
  }

  static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

  /// Bytes that are a token by themselves.
  static let single: Set<UInt8> = Set("NOSPFIbcnosp()=#-+\\/:~@?>*$.0123456789BC".utf8)
}

/// Protein sequences as one token per residue (any letter; anything else is unknown, one token
/// per UTF-8 character, counted).
public enum ResidueTokenizer {
  public static func tokens(_ sequence: some Collection<UInt8>) -> [SmilesTokenizer.Token] {
    let b = Array(sequence)
    var out: [SmilesTokenizer.Token] = []
    out.reserveCapacity(b.count)
    var i = 0
    while i < b.count {
      let c = b[i]
      let letter = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
      var end = i + 1
      if !letter { while end < b.count && b[end] & 0xC0 == 0x80 { end += 1 } }
      out.append(SmilesTokenizer.Token(range: i..<end, unknown: !letter))
      i = end
    }
    return out
  }
}
