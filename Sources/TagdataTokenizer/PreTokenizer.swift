/// The split patterns of byte-level BPE tokenizers, as hand-written scanners over Unicode scalars
/// (no regular-expression engine). Each one gives, at a position, the end of the piece that the
/// pattern's leftmost-first alternation matches there, as a backtracking engine would:
/// `\p{L}` is a letter (general category L*), `\p{N}` a number (N*), `\s` a White_Space character.
enum SplitPattern: Sendable, Equatable {
  /// GPT-2's pattern, ByteLevel's own when `use_regex` is true:
  /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
  case gpt2
  /// LLaMA-3's (and GPT-4's cl100k) pattern:
  /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
  case llama3

  static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
  static let llama3Source =
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

  /// The pattern of a `Split` pre-tokenizer's regex, nil when it is neither of the two.
  init?(source: String) {
    switch source {
    case Self.gpt2Source: self = .gpt2
    case Self.llama3Source: self = .llama3
    default: return nil
    }
  }

  /// Classes of a scalar: letter, number, white space.
  static let letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 4

  static let asciiClasses: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

  /// The reference's tables are Unicode 16's: a character assigned later is unassigned there (of
  /// no class).
  static func classify(_ s: Unicode.Scalar) -> UInt8 {
    let p = s.properties
    if let age = p.age, age.major > 16 { return 0 }
    if p.isWhitespace { return space }
    switch p.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
    case .decimalNumber, .letterNumber, .otherNumber: return number
    default: return 0
    }
  }

  static func classOf(_ s: Unicode.Scalar) -> UInt8 { classOf(s.value) }

  /// The class of a scalar value: ASCII and the Basic Multilingual Plane from tables.
  @inline(__always) static func classOf(_ v: UInt32) -> UInt8 {
    if v < 128 { return asciiClasses[Int(v)] }
    if v < 0x10000 { return bmpClasses[Int(v)] }
    return Unicode.Scalar(v).map(classify) ?? 0
  }

  /// The classes of U+0000...U+FFFF (surrogates 0), made once.
  static let bmpClasses: [UInt8] = (0..<0x10000).map { v in Unicode.Scalar(UInt32(v)).map(classify) ?? 0 }

  /// Splits `s` (with `cls`, the classes of its scalars) into the pieces the pattern matches, as
  /// ranges; every scalar falls in one piece (text the pattern does not match would be a piece of
  /// its own, but both patterns match any character).
  func split(_ s: [Unicode.Scalar], _ cls: [UInt8], _ range: Range<Int>, into out: inout [Range<Int>]) {
    let values = s.map(\.value)
    values.withUnsafeBufferPointer { v in
      cls.withUnsafeBufferPointer { c in split(v, c, range, into: &out) }
    }
  }

  /// `split` over scalar values and their classes.
  func split(_ s: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
             into out: inout [Range<Int>])
  {
    var i = range.lowerBound
    var gap = -1
    let n = range.upperBound
    let gpt2 = self == .gpt2
    while i < n {
      let end = gpt2 ? Self.gpt2Match(s, cls, i, n) : Self.llama3Match(s, cls, i, n)
      if end > i {
        if gap >= 0 {
          out.append(gap..<i)
          gap = -1
        }
        out.append(i..<end)
        i = end
      } else {
        if gap < 0 { gap = i }
        i += 1
      }
    }
    if gap >= 0 { out.append(gap..<n) }
  }

  @inline(__always) static func isNewline(_ s: UInt32) -> Bool { s == 0x0D || s == 0x0A }

  /// The end of the run of scalars of class `c` from `i` (up to `n`).
  @inline(__always) static func run(_ cls: UnsafeBufferPointer<UInt8>, _ i: Int, _ c: UInt8, _ n: Int) -> Int {
    var j = i
    while j < n && cls[j] == c { j += 1 }
    return j
  }

  /// `\s+(?!\S)|\s+` at a white-space scalar `i`: the run, less its last scalar when the run is
  /// longer than one and followed by something that is not white space.
  @inline(__always) static func whitespace(_ cls: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int {
    let e = run(cls, i, space, n)
    return e < n && e - i >= 2 ? e - 1 : e
  }

  /// `'s|'t|'re|'ve|'m|'ll|'d`, case-insensitive or not: the end, or nil.
  @inline(__always) static func contraction(_ s: UnsafeBufferPointer<UInt32>, _ i: Int, _ n: Int, ignoreCase: Bool) -> Int? {
    guard s[i] == 0x27, i + 1 < n else { return nil }
    @inline(__always) func lower(_ c: UInt32) -> UInt32 {
      guard ignoreCase else { return c }
      if c >= 0x41 && c <= 0x5A { return c + 0x20 }
      if c == 0x017F { return 0x73 }  // LATIN SMALL LETTER LONG S folds to s
      return c
    }
    switch lower(s[i + 1]) {
    case 0x73, 0x74, 0x6D, 0x64: return i + 2  // s t m d
    case 0x72, 0x76:  // r v
      return i + 2 < n && lower(s[i + 2]) == 0x65 ? i + 3 : nil
    case 0x6C:  // l
      return i + 2 < n && lower(s[i + 2]) == 0x6C ? i + 3 : nil
    default: return nil
    }
  }

  @inline(__always) static func gpt2Match(_ s: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int {
    if s[i] == 0x27, let e = contraction(s, i, n, ignoreCase: false) { return e }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
    let c = cls[i]
    if c != space { return run(cls, i, c, n) }  // a letter, number or other run
    if s[i] == 0x20 && i + 1 < n && cls[i + 1] != space { return run(cls, i + 1, cls[i + 1], n) }
    return whitespace(cls, i, n)
  }

  static func llama3Match(_ s: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int {
    if let e = contraction(s, i, n, ignoreCase: true) { return e }
    let c = cls[i]
    // `[^\r\n\p{L}\p{N}]?\p{L}+`
    if c == letter { return run(cls, i, letter, n) }
    if c != number && !isNewline(s[i]) && i + 1 < n && cls[i + 1] == letter { return run(cls, i + 1, letter, n) }
    // `\p{N}{1,3}`
    if c == number {
      var j = i + 1
      while j < n && j < i + 3 && cls[j] == number { j += 1 }
      return j
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    var j = -1
    if c == 0 {
      j = i
    } else if s[i] == 0x20 && i + 1 < n && cls[i + 1] == 0 {
      j = i + 1
    }
    if j >= 0 {
      j = run(cls, j, 0, n)
      while j < n && isNewline(s[j]) { j += 1 }
      return j
    }
    guard c == space else { return i }
    // `\s*[\r\n]+`: up to the last line break of the white-space run.
    let e = run(cls, i, space, n)
    var k = e
    while k > i {
      if isNewline(s[k - 1]) { return k }
      k -= 1
    }
    // `\s+(?!\S)|\s+`
    return e < n && e - i >= 2 ? e - 1 : e
  }
}

/// The `Digits` pre-tokenizer: numbers (general category N*) apart from the rest, each digit on its
/// own when `individual_digits`, else each run of them.
enum DigitsSplit {
  static func split(_ cls: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, individual: Bool, into out: inout [Range<Int>]) {
    var i = range.lowerBound
    let n = range.upperBound
    while i < n {
      var j = i + 1
      if cls[i] == SplitPattern.number {
        if !individual { while j < n && cls[j] == SplitPattern.number { j += 1 } }
      } else {
        while j < n && cls[j] != SplitPattern.number { j += 1 }
      }
      out.append(i..<j)
      i = j
    }
  }
}
