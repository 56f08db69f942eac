/// A molfile's lines as bytes: one buffer and the start of each line (line ends and `\r`
/// excluded). The SD reader builds it without decoding text; the V2000 parser reads its fixed
/// columns straight from the bytes.
public struct MolBlock: Sendable {
  public private(set) var bytes: [UInt8] = []
  /// `lineStarts[i]..<lineStarts[i + 1]` is line i.
  public private(set) var lineStarts: [Int] = [0]

  public init() {}

  public init(lines: [Substring]) {
    for l in lines { append(line: Array(l.utf8)) }
  }

  /// Splits text at `\n` (a final empty line is dropped).
  public init(text: String) {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }
    self.init(lines: lines)
  }

  /// Appends one line (without its line end; a trailing `\r` is dropped).
  public mutating func append<C: Collection>(line: C) where C.Element == UInt8 {
    bytes.append(contentsOf: line)
    if bytes.count > lineStarts[lineStarts.count - 1], bytes[bytes.count - 1] == 0x0D { bytes.removeLast() }
    lineStarts.append(bytes.count)
  }

  public var lineCount: Int { lineStarts.count - 1 }
  public var isEmpty: Bool { lineCount == 0 }

  public func line(_ i: Int) -> ArraySlice<UInt8> { bytes[lineStarts[i]..<lineStarts[i + 1]] }

  /// Line i as text (invalid UTF-8 repaired).
  public func text(_ i: Int) -> String { String(decoding: line(i), as: UTF8.self) }

  public var lines: [Substring] { (0..<lineCount).map { Substring(text($0)) } }
}

/// Fixed-column fields of a byte line: columns `from..<to` (0-based), blanks trimmed.
@usableFromInline
struct Columns {
  static func range(_ l: ArraySlice<UInt8>, _ from: Int, _ to: Int) -> Range<Int>? {
    var a = l.startIndex + from, b = min(l.startIndex + to, l.endIndex)
    guard a < b else { return nil }
    while a < b, l[a] == 0x20 || l[a] == 0x09 { a += 1 }
    while b > a, l[b - 1] == 0x20 || l[b - 1] == 0x09 || l[b - 1] == 0x0D { b -= 1 }
    return a < b ? a..<b : nil
  }

  /// An optionally signed decimal integer filling the trimmed field; nil otherwise.
  static func int(_ l: ArraySlice<UInt8>, _ from: Int, _ to: Int) -> Int? {
    guard let r = range(l, from, to) else { return nil }
    return int(l[r])
  }

  static func int(_ s: ArraySlice<UInt8>) -> Int? {
    var i = s.startIndex
    var negative = false
    if s[i] == 0x2D || s[i] == 0x2B {
      negative = s[i] == 0x2D
      i += 1
    }
    guard i < s.endIndex, s.endIndex - i <= 18 else { return nil }
    var v = 0
    while i < s.endIndex {
      let d = Int(s[i]) - 48
      guard d >= 0 && d <= 9 else { return nil }
      v = v * 10 + d
      i += 1
    }
    return negative ? -v : v
  }

  /// A decimal number (`-12.3456`); anything fancier (exponents) goes through the standard
  /// parser. Nil when the field is empty or not a number.
  static func double(_ l: ArraySlice<UInt8>, _ from: Int, _ to: Int) -> Double? {
    guard let r = range(l, from, to) else { return nil }
    let s = l[r]
    var i = s.startIndex
    var negative = false
    if s[i] == 0x2D || s[i] == 0x2B {
      negative = s[i] == 0x2D
      i += 1
    }
    var mantissa = 0
    var digits = 0, decimals = 0
    var seenDot = false
    while i < s.endIndex {
      let c = s[i]
      if c == 0x2E && !seenDot {
        seenDot = true
      } else if c >= 0x30 && c <= 0x39 && digits < 18 {
        mantissa = mantissa * 10 + Int(c - 0x30)
        digits += 1
        if seenDot { decimals += 1 }
      } else {
        return Double(String(decoding: s, as: UTF8.self))
      }
      i += 1
    }
    guard digits > 0 else { return nil }
    var v = Double(mantissa)
    if decimals > 0 { v /= powersOfTen[decimals] }
    return negative ? -v : v
  }

  static let powersOfTen: [Double] = (0...18).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

  /// An element symbol (1–3 letters) in the trimmed field.
  static func text(_ l: ArraySlice<UInt8>, _ from: Int, _ to: Int) -> String {
    guard let r = range(l, from, to) else { return "" }
    return String(decoding: l[r], as: UTF8.self)
  }
}
