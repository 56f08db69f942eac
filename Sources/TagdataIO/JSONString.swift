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
    s.withUTF8 { b in
      var start = 0
      for i in 0..<b.count {
        let c = b[i]
        guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
        if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i])) }
        start = i + 1
        out.append(0x5C)
        switch c {
        case 0x22: out.append(0x22)
        case 0x5C: out.append(0x5C)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
          let hex: [UInt8] = Array("0123456789abcdef".utf8)
          out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
        }
      }
      if b.count > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<b.count])) }
    }
  }
}
