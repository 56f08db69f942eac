/// GPT-2's byte-to-unicode mapping: every byte is shown as a printable character, so that a
/// byte-level BPE vocabulary is made of strings. Bytes 33–126, 161–172 and 174–255 stand for
/// themselves (as U+0021…U+00FF); the 68 others (controls, space, DEL, the C1 block, NBSP and the
/// soft hyphen) take U+0100, U+0101, … in byte order: space (32) is "Ġ" (U+0120), "\n" is "Ċ".
public enum ByteLevelMap {
  /// The character of each byte.
  public static let characters: [Unicode.Scalar] = {
    var table = [Unicode.Scalar](repeating: "\0", count: 256)
    var next: UInt32 = 256
    for b in 0..<256 {
      if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
        table[b] = Unicode.Scalar(UInt32(b))!
      } else {
        table[b] = Unicode.Scalar(next)!
        next += 1
      }
    }
    return table
  }()

  /// The byte of a character, nil when the character stands for no byte.
  public static func byte(of c: Unicode.Scalar) -> UInt8? {
    let v = c.value
    if v < 256 {
      let b = Int(v)
      return (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) ? UInt8(b) : nil
    }
    if v < 256 + 68 { return inverse[Int(v - 256)] }
    return nil
  }

  /// The bytes that U+0100 + k stand for.
  private static let inverse: [UInt8] = {
    var out: [UInt8] = []
    for b in 0..<256 where !((33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)) {
      out.append(UInt8(b))
    }
    return out
  }()

  /// The bytes a token string stands for, nil when one of its characters stands for no byte.
  public static func bytes(of token: String) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(token.unicodeScalars.count)
    for c in token.unicodeScalars {
      guard let b = byte(of: c) else { return nil }
      out.append(b)
    }
    return out
  }

  /// The token string of bytes.
  public static func string(of bytes: some Sequence<UInt8>) -> String {
    var s = String.UnicodeScalarView()
    for b in bytes { s.append(characters[Int(b)]) }
    return String(s)
  }
}
