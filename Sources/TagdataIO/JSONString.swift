/// JSON string literals, for the small JSON documents tagdata writes by hand (mappings, reports,
/// JSON Lines): quotes, backslashes and control characters escaped, everything else as it is.
public enum JSONString {
  /// `s` as a JSON string literal, quotes included.
  public static func quoted(_ s: String) -> String {
    var out = "\""
    out.reserveCapacity(s.utf8.count + 2)
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }

  /// Appends `s` as a JSON string literal (quotes included, the same bytes as ``quoted(_:)``) to
  /// `out`, a byte at a time over its UTF-8: the writer of large JSON Lines.
  public static func append(_ s: String, to out: inout [UInt8]) {
    out.append(0x22)
    appendEscaped(s, to: &out)
    out.append(0x22)
  }

  /// Appends the inside of `s`'s JSON string literal (escaped, no quotes) to `out`.
  public static func appendEscaped(_ s: String, to out: inout [UInt8]) {
    var s = s
    s.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), to: &out) }
  }

  /// Appends `bytes` (UTF-8) as a JSON string literal, quotes included.
  public static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    out.append(0x22)
    appendEscaped(bytes, to: &out)
    out.append(0x22)
  }

  /// Appends the inside of the JSON string literal of `b` (UTF-8) to `out`: runs that need no
  /// escape, found eight bytes at a time, are copied whole.
  public static func appendEscaped(_ b: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    let n = b.count
    var start = 0
    var i = 0
    while i < n {
      // Skip eight bytes at a time while none is a control character, a quote or a backslash;
      // then one byte, which may be the one to escape.
      while i + 8 <= n, !needsEscape(b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { i += 8 }
      guard i < n else { break }
      let c = b[i]
      guard c < 0x20 || c == 0x22 || c == 0x5C else {
        i += 1
        continue
      }
      if i > start { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[start..<i])) }
      i += 1
      start = i
      out.append(0x5C)
      switch c {
      case 0x22: out.append(0x22)
      case 0x5C: out.append(0x5C)
      case 0x0A: out.append(UInt8(ascii: "n"))
      case 0x0D: out.append(UInt8(ascii: "r"))
      case 0x09: out.append(UInt8(ascii: "t"))
      default:
        out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hexDigit(c >> 4), hexDigit(c & 15)])
      }
    }
    if n > start { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[start..<n])) }
  }

  @inline(__always) static func hexDigit(_ x: UInt8) -> UInt8 { x < 10 ? 0x30 + x : 0x57 + x }

  /// Whether one of the eight bytes of `w` is below 0x20, a quote or a backslash.
  @inline(__always) static func needsEscape(_ w: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    func zeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
    // A byte below 0x20: (w - 0x20 per byte) borrows into its high bit, which w's byte lacks.
    let control = (w &- ones &* 0x20) & ~w & highs
    return (control | zeroByte(w ^ (ones &* 0x22)) | zeroByte(w ^ (ones &* 0x5C))) != 0
  }
}
