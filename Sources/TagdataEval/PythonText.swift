/// Text as Python's `str` sees it: a sequence of code points (Unicode scalars), whitespace as
/// `str.split()` / `str.rstrip()` define it (EVAL.md §6.6). No normalisation.
enum PythonText {
  /// Code points of a string.
  static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map { $0.value } }

  /// Python's whitespace: U+0009–000D, U+001C–001F, U+0020, U+0085, U+00A0, U+1680, U+2000–200A,
  /// U+2028, U+2029, U+202F, U+205F, U+3000 (not U+200B; Swift's `isWhitespace` lacks U+001C–001F).
  @inline(__always)
  static func isSpace(_ c: UInt32) -> Bool {
    if c <= 0x20 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) }
    if c < 0x85 { return false }
    switch c {
    case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
    default: return false
    }
  }

  /// `str.split()`: the maximal runs of non-whitespace.
  static func split(_ s: [UInt32]) -> [ArraySlice<UInt32>] {
    var out: [ArraySlice<UInt32>] = []
    var i = 0
    let n = s.count
    while i < n {
      while i < n && isSpace(s[i]) { i += 1 }
      if i == n { break }
      let start = i
      while i < n && !isSpace(s[i]) { i += 1 }
      out.append(s[start..<i])
    }
    return out
  }

  /// `str.rstrip()`.
  static func rstrip(_ s: [UInt32]) -> [UInt32] {
    var end = s.count
    while end > 0 && isSpace(s[end - 1]) { end -= 1 }
    return Array(s[0..<end])
  }

  /// `str.replace(old, new)`: left to right, non-overlapping.
  static func replace(_ s: [UInt32], _ old: [UInt32], _ new: [UInt32]) -> [UInt32] {
    guard !old.isEmpty, s.count >= old.count else { return s }
    var out: [UInt32] = []
    out.reserveCapacity(s.count)
    var i = 0
    let n = s.count, m = old.count
    while i < n {
      if i + m <= n && s[i] == old[0] && s[i..<(i + m)].elementsEqual(old) {
        out.append(contentsOf: new)
        i += m
      } else {
        out.append(s[i])
        i += 1
      }
    }
    return out
  }

  /// Python's `string.punctuation`: the 32 ASCII punctuation characters.
  @inline(__always)
  static func isASCIIPunctuation(_ c: UInt32) -> Bool {
    (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E)
  }

  @inline(__always)
  static func isASCIIDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
}
