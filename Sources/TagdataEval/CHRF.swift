/// chrF and chrF++ as sacrebleu 2.x computes them (EVAL.md §6.4): character n-grams of orders
/// 1…`charOrder` over the code points left after removing all whitespace, word n-grams 1…`wordOrder`
/// (chrF++: 2) after splitting one leading or trailing ASCII punctuation character off each word;
/// per segment the reference with the best sentence chrF (first wins ties); statistics summed over
/// the corpus; F-β over the orders present in both hypothesis and reference (β = 2). 0–100 scale.
public struct CHRF: Sendable {
  public var charOrder: Int
  public var wordOrder: Int
  public var beta: Double

  public init(charOrder: Int = 6, wordOrder: Int = 0, beta: Double = 2) {
    self.charOrder = charOrder
    self.wordOrder = wordOrder
    self.beta = beta
  }

  /// chrF++ (word order 2).
  public static let plusPlus = CHRF(wordOrder: 2)

  public func corpusScore(hypotheses: [String], references: [[String?]]) throws -> CHRFScore {
    let stats = try statistics(hypotheses: hypotheses, references: references)
    return CHRFScore(score: fScore(stats), statistics: stats, charOrder: charOrder, wordOrder: wordOrder, beta: beta)
  }

  /// One segment against its references.
  public func sentenceScore(hypothesis: String, references: [String]) throws -> CHRFScore {
    try corpusScore(hypotheses: [hypothesis], references: references.map { [$0] })
  }

  /// Summed [hypothesis count, reference count, matches] per order (characters 1…, then words 1…).
  public func statistics(hypotheses: [String], references: [[String?]]) throws -> [Int] {
    if charOrder < 0 || wordOrder < 0 || charOrder + wordOrder == 0 {
      throw TextMetricError.invalidParameter("chrF needs at least one n-gram order")
    }
    let segments = try TextStreams.segments(hypotheses: hypotheses, references: references)
    let orders = charOrder + wordOrder
    var total = [Int](repeating: 0, count: 3 * orders)
    var vocabulary: [ArraySlice<UInt32>: UInt32] = [:]
    for (hypothesis, refs) in segments {
      let hyp = ngrams(hypothesis, &vocabulary)
      var best: [Int] = []
      var bestF = -1.0
      for ref in refs {
        let r = ngrams(ref, &vocabulary)
        var stats: [Int] = []
        stats.reserveCapacity(3 * orders)
        for k in 0..<orders {
          var hypCount = 0, matches = 0
          for (g, c) in hyp[k] {
            hypCount += c
            if let rc = r[k][g] { matches += min(c, rc) }
          }
          stats += [r[k].isEmpty ? 0 : hypCount, r[k].values.reduce(0, +), matches]
        }
        let f = fScore(stats)
        if f > bestF {
          bestF = f
          best = stats
        }
      }
      for k in 0..<(3 * orders) { total[k] += best[k] }
    }
    return total
  }

  /// sacrebleu's F-β of statistics: precision and recall averaged over the effective orders,
  /// F = (1+β²)·P·R, then F /= β²·P + R (that order of operations), times 100.
  public func fScore(_ stats: [Int]) -> Double {
    let factor = beta * beta
    var avgPrecision = 0.0, avgRecall = 0.0
    var effective = 0
    for k in 0..<(stats.count / 3) {
      let hyp = stats[3 * k], ref = stats[3 * k + 1], match = stats[3 * k + 2]
      if hyp > 0 && ref > 0 {
        avgPrecision += Double(match) / Double(hyp)
        avgRecall += Double(match) / Double(ref)
        effective += 1
      }
    }
    if effective == 0 { return 0 }
    avgPrecision /= Double(effective)
    avgRecall /= Double(effective)
    if avgPrecision + avgRecall == 0 { return 0 }
    var score = (1 + factor) * avgPrecision * avgRecall
    score /= factor * avgPrecision + avgRecall
    return 100 * score
  }

  /// Counts per order: character n-grams (whitespace removed), then word n-grams (as token ids).
  func ngrams(_ text: String, _ vocabulary: inout [ArraySlice<UInt32>: UInt32]) -> [[ArraySlice<UInt32>: Int]] {
    let scalars = PythonText.scalars(text)
    let chars = scalars.filter { !PythonText.isSpace($0) }
    var out: [[ArraySlice<UInt32>: Int]] = []
    for n in stride(from: 1, through: charOrder, by: 1) {
      var counts: [ArraySlice<UInt32>: Int] = [:]
      if chars.count >= n { for i in 0...(chars.count - n) { counts[chars[i..<(i + n)], default: 0] += 1 } }
      out.append(counts)
    }
    if wordOrder > 0 {
      var words: [UInt32] = []
      for w in PythonText.split(scalars) {
        if w.count == 1 {
          words.append(id(w, &vocabulary))
        } else if PythonText.isASCIIPunctuation(w.last!) {
          words.append(id(w.dropLast(), &vocabulary))
          words.append(id(w.suffix(1), &vocabulary))
        } else if PythonText.isASCIIPunctuation(w.first!) {
          words.append(id(w.prefix(1), &vocabulary))
          words.append(id(w.dropFirst(), &vocabulary))
        } else {
          words.append(id(w, &vocabulary))
        }
      }
      for n in 1...wordOrder {
        var counts: [ArraySlice<UInt32>: Int] = [:]
        if words.count >= n { for i in 0...(words.count - n) { counts[words[i..<(i + n)], default: 0] += 1 } }
        out.append(counts)
      }
    }
    return out
  }

  func id(_ word: ArraySlice<UInt32>, _ vocabulary: inout [ArraySlice<UInt32>: UInt32]) -> UInt32 {
    if let id = vocabulary[word] { return id }
    let id = UInt32(vocabulary.count)
    vocabulary[Array(word)[...]] = id
    return id
  }
}

/// A chrF score with its summed statistics ([hyp, ref, match] per order).
public struct CHRFScore: Sendable, Equatable {
  public var score: Double
  public var statistics: [Int]
  public var charOrder: Int
  public var wordOrder: Int
  public var beta: Double
}
