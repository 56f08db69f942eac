import Foundation

/// Why a text metric refused its input.
public enum TextMetricError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A reference stream does not have one entry per hypothesis.
  case streamLength(stream: Int, count: Int, hypotheses: Int)
  /// A segment whose references are all missing (nil).
  case noReference(segment: Int)
  /// No reference streams at all.
  case noStreams
  case invalidParameter(String)

  public var description: String {
    switch self {
    case .streamLength(let k, let n, let h): return "reference stream \(k) has \(n) segments but there are \(h) hypotheses"
    case .noReference(let i): return "segment \(i) has no reference (every stream is nil there)"
    case .noStreams: return "no reference streams"
    case .invalidParameter(let s): return s
    }
  }
}

/// Corpus BLEU as sacrebleu 2.x computes it (EVAL.md §6.1–6.3): `13a` tokenizer, n-gram orders
/// 1–4, clipped counts against the per-n-gram maximum over a segment's references, the closest
/// reference length (ties: the shorter), statistics summed over the corpus, brevity penalty and
/// smoothing `exp` by default. Scores are on the 0–100 scale. References are streams: stream k
/// holds the k-th reference of every segment (nil = missing there). Text is handled as Python
/// code points; case is kept (sacrebleu's `lowercase=False`).
public struct BLEU: Sendable {
  public enum Tokenizer: String, Sendable { case thirteenA = "13a", none }
  public enum Smoothing: Sendable, Equatable {
    /// NIST geometric: the k-th zero-match order gets 100/(2^k · total).
    case exp
    /// 100·value/total for a zero-match order (sacrebleu default value 0.1).
    case floor(Double)
    /// value added to matches and totals of orders ≥ 2 (sacrebleu default 1).
    case addK(Double)
    case none
  }

  public var tokenizer: Tokenizer
  public var smoothing: Smoothing
  /// Stop at the last order with any hypothesis n-gram (sacrebleu `effective_order`).
  public var effectiveOrder: Bool
  public var maxOrder: Int

  public init(tokenizer: Tokenizer = .thirteenA, smoothing: Smoothing = .exp, effectiveOrder: Bool = false, maxOrder: Int = 4) {
    self.tokenizer = tokenizer
    self.smoothing = smoothing
    self.effectiveOrder = effectiveOrder
    self.maxOrder = maxOrder
  }

  /// Sufficient statistics of a corpus (sums over segments).
  public struct Statistics: Sendable, Equatable {
    public var hypothesisLength = 0
    public var referenceLength = 0
    public var matches: [Int]
    public var totals: [Int]
  }

  /// sacrebleu's `sentence_bleu`: one segment, effective order on.
  public static func sentenceScore(hypothesis: String, references: [String]) throws -> BLEUScore {
    try BLEU(effectiveOrder: true).corpusScore(hypotheses: [hypothesis], references: references.map { [$0] })
  }

  public func corpusScore(hypotheses: [String], references: [[String?]]) throws -> BLEUScore {
    score(try statistics(hypotheses: hypotheses, references: references))
  }

  /// The summed statistics (for significance tests or sharded evaluation: sum, then `score`).
  public func statistics(hypotheses: [String], references: [[String?]]) throws -> Statistics {
    if maxOrder < 1 { throw TextMetricError.invalidParameter("maxOrder must be at least 1") }
    let segments = try TextStreams.segments(hypotheses: hypotheses, references: references)
    var stats = Statistics(matches: [Int](repeating: 0, count: maxOrder), totals: [Int](repeating: 0, count: maxOrder))
    var vocabulary: [ArraySlice<UInt32>: Int32] = [:]
    func ids(_ text: String) -> [Int32] {
      let tokens = tokenize(text)
      return tokens.map { t in
        if let id = vocabulary[t] { return id }
        let id = Int32(vocabulary.count)
        vocabulary[t] = id
        return id
      }
    }
    for (hypothesis, refs) in segments {
      let h = ids(hypothesis)
      let hypGrams = BLEU.ngrams(h, maxOrder)
      var maxRef: [[ArraySlice<Int32>: Int]] = Array(repeating: [:], count: maxOrder)
      var closestLength = -1, closestDiff = Int.max
      for ref in refs {
        let r = ids(ref)
        let diff = abs(r.count - h.count)
        if diff < closestDiff || (diff == closestDiff && r.count < closestLength) {
          closestDiff = diff
          closestLength = r.count
        }
        for (order, grams) in BLEU.ngrams(r, maxOrder).enumerated() {
          for (g, c) in grams where c > maxRef[order][g, default: 0] { maxRef[order][g] = c }
        }
      }
      stats.hypothesisLength += h.count
      stats.referenceLength += closestLength
      for order in 0..<maxOrder {
        stats.totals[order] += max(h.count - order, 0)
        for (g, c) in hypGrams[order] { stats.matches[order] += min(c, maxRef[order][g] ?? 0) }
      }
    }
    return stats
  }

  /// BLEU from summed statistics (sacrebleu `compute_bleu`).
  public func score(_ s: Statistics) -> BLEUScore {
    let sys = s.hypothesisLength, ref = s.referenceLength
    var bp = 1.0
    if sys < ref { bp = sys > 0 ? exp(1 - Double(ref) / Double(sys)) : 0.0 }
    var precisions = [Double](repeating: 0, count: maxOrder)
    var result = BLEUScore(score: 0, matches: s.matches, totals: s.totals, precisions: precisions, brevityPenalty: bp,
                           hypothesisLength: sys, referenceLength: ref)
    if !s.matches.contains(where: { $0 != 0 }) { return result }
    var correct = s.matches.map(Double.init), total = s.totals.map(Double.init)
    var smoothExp = 1.0
    var order = maxOrder
    for n in 1...maxOrder {
      if case .addK(let k) = smoothing, n > 1 {
        correct[n - 1] += k
        total[n - 1] += k
      }
      if total[n - 1] == 0 { break }
      if effectiveOrder { order = n }
      if correct[n - 1] == 0 {
        switch smoothing {
        case .exp:
          smoothExp *= 2
          precisions[n - 1] = 100.0 / (smoothExp * total[n - 1])
        case .floor(let v): precisions[n - 1] = 100.0 * v / total[n - 1]
        case .addK, .none: break
        }
      } else {
        precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
      }
    }
    var logSum = 0.0
    for p in precisions[0..<order] { logSum += p == 0 ? -9_999_999_999 : log(p) }
    result.precisions = precisions
    result.score = bp * exp(logSum / Double(order))
    return result
  }

  func tokenize(_ text: String) -> [ArraySlice<UInt32>] {
    let line = PythonText.rstrip(PythonText.scalars(text))
    switch tokenizer {
    case .none: return PythonText.split(line)
    case .thirteenA: return PythonText.split(BLEU.tokenize13a(line))
    }
  }

  /// n-gram counts for n = 1...maxOrder.
  static func ngrams(_ t: [Int32], _ maxOrder: Int) -> [[ArraySlice<Int32>: Int]] {
    (1...maxOrder).map { n in
      var counts: [ArraySlice<Int32>: Int] = [:]
      if t.count >= n { for i in 0...(t.count - n) { counts[t[i..<(i + n)], default: 0] += 1 } }
      return counts
    }
  }

  /// sacrebleu's `13a` tokenizer, as a string with single spaces between tokens.
  public static func tokenize13a(_ text: String) -> String {
    let tokens = PythonText.split(tokenize13a(PythonText.rstrip(PythonText.scalars(text))))
    var out = String.UnicodeScalarView()
    for (k, t) in tokens.enumerated() {
      if k > 0 { out.append(" ") }
      for c in t { out.append(Unicode.Scalar(c)!) }
    }
    return String(out)
  }

  /// Steps 1–4 of `13a` on code points (the caller splits on whitespace).
  static func tokenize13a(_ input: [UInt32]) -> [UInt32] {
    func u(_ s: String) -> [UInt32] { PythonText.scalars(s) }
    var line = PythonText.replace(input, u("<skipped>"), [])
    line = PythonText.replace(line, u("-\n"), [])
    line = PythonText.replace(line, u("\n"), u(" "))
    if line.contains(0x26) {
      line = PythonText.replace(line, u("&quot;"), u("\""))
      line = PythonText.replace(line, u("&amp;"), u("&"))
      line = PythonText.replace(line, u("&lt;"), u("<"))
      line = PythonText.replace(line, u("&gt;"), u(">"))
    }
    // Spaces around ASCII symbols (not ' , - . digits letters).
    var spaced: [UInt32] = [0x20]
    spaced.reserveCapacity(line.count * 2 + 2)
    for c in line {
      if isSplitSymbol(c) {
        spaced.append(0x20); spaced.append(c); spaced.append(0x20)
      } else {
        spaced.append(c)
      }
    }
    spaced.append(0x20)
    let space: UInt32 = 0x20
    func isPeriodOrComma(_ c: UInt32) -> Bool { c == 0x2E || c == 0x2C }
    let digit = PythonText.isASCIIDigit
    // (a) non-digit then . or , → "c1 c2 "
    var a: [UInt32] = []
    a.reserveCapacity(spaced.count * 2)
    var i = 0
    while i < spaced.count {
      if i + 1 < spaced.count && !digit(spaced[i]) && isPeriodOrComma(spaced[i + 1]) {
        a += [spaced[i], space, spaced[i + 1], space]
        i += 2
      } else {
        a.append(spaced[i]); i += 1
      }
    }
    // (b) . or , then non-digit → " c1 c2"
    var b: [UInt32] = []
    b.reserveCapacity(a.count * 2)
    i = 0
    while i < a.count {
      if i + 1 < a.count && isPeriodOrComma(a[i]) && !digit(a[i + 1]) {
        b += [space, a[i], space, a[i + 1]]
        i += 2
      } else {
        b.append(a[i]); i += 1
      }
    }
    // (c) digit then - → "c1 c2 "
    var c: [UInt32] = []
    c.reserveCapacity(b.count * 2)
    i = 0
    while i < b.count {
      if i + 1 < b.count && digit(b[i]) && b[i + 1] == 0x2D {
        c += [b[i], space, b[i + 1], space]
        i += 2
      } else {
        c.append(b[i]); i += 1
      }
    }
    return c
  }

  /// The characters `13a` surrounds with spaces: space ! " # $ % & ( ) * + / : ; < = > ? @ [ \ ] ^ _ ` { | } ~
  @inline(__always)
  static func isSplitSymbol(_ c: UInt32) -> Bool {
    (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2B) || c == 0x2F || (c >= 0x3A && c <= 0x40)
      || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E)
  }
}

/// A BLEU score and its parts (sacrebleu `BLEUScore`).
public struct BLEUScore: Sendable, Equatable {
  public var score: Double
  public var matches: [Int]
  public var totals: [Int]
  /// Per order, in percent (0 for orders not reached).
  public var precisions: [Double]
  public var brevityPenalty: Double
  public var hypothesisLength: Int
  public var referenceLength: Int
}

/// Pairs hypotheses with the present references of each segment.
enum TextStreams {
  static func segments(hypotheses: [String], references: [[String?]]) throws -> [(String, [String])] {
    if references.isEmpty { throw TextMetricError.noStreams }
    for (k, stream) in references.enumerated() where stream.count != hypotheses.count {
      throw TextMetricError.streamLength(stream: k, count: stream.count, hypotheses: hypotheses.count)
    }
    return try hypotheses.enumerated().map { i, h in
      let refs = references.compactMap { $0[i] }
      if refs.isEmpty { throw TextMetricError.noReference(segment: i) }
      return (h, refs)
    }
  }
}
