import TagdataEval
import TagdataIO
import TestSupport
import Testing

/// Close to `expected` within `tolerance`·max(1, |expected|); NaN matches NaN only.
func close(_ a: Double, _ expected: Double, _ tolerance: Double = 1e-12) -> Bool {
  if expected.isNaN { return a.isNaN }
  if expected.isInfinite { return a == expected }
  return abs(a - expected) <= tolerance * max(1, abs(expected))
}

/// The test vectors of EVAL.md §2.7 (values printed by scikit-learn 1.9.1 / scipy 1.17.1).
@Suite struct MetricsTests {
  static let v1 = ([3, -0.5, 2, 7], [2.5, 0, 2, 8])
  static let v2 = ([1.0, 2, 2, 3, 4], [1.0, 3, 2, 2, 5])
  static let v3 = ([5.2, 6.1, 7.4, 4.8, 6.6, 8.0, 5.5, 7.1], [5.0, 6.5, 7.0, 5.1, 6.0, 7.7, 5.9, 7.1])

  @Test func errorsAndR2OnTheReferenceVectors() throws {
    let (y1, p1) = Self.v1, (y3, p3) = Self.v3
    #expect(try Metrics.meanSquaredError(y1, p1) == 0.375)
    #expect(close(try Metrics.rootMeanSquaredError(y1, p1), 0.6123724356957945))
    #expect(try Metrics.meanAbsoluteError(y1, p1) == 0.5)
    #expect(close(try Metrics.r2(y1, p1), 0.9486081370449679))
    #expect(close(try Metrics.meanSquaredError(y3, p3), 0.13250000000000003))
    #expect(close(try Metrics.rootMeanSquaredError(y3, p3), 0.36400549446402597))
    #expect(close(try Metrics.meanAbsoluteError(y3, p3), 0.32500000000000007))
    #expect(close(try Metrics.r2(y3, p3), 0.8816799218640993))
  }

  @Test func correlationsOnTheReferenceVectors() throws {
    let (y1, p1) = Self.v1, (x2, z2) = Self.v2, (y3, p3) = Self.v3
    #expect(close(try Metrics.pearson(y1, p1), 0.98486961844827))
    #expect(close(try Metrics.pearson(y3, p3), 0.9446884013654278))
    #expect(close(try Metrics.spearman(y1, p1), 1.0))
    #expect(close(try Metrics.spearman(y3, p3), 0.9285714285714287))
    #expect(close(try Metrics.spearman(x2, z2), 0.7631578947368421))
    #expect(close(try Metrics.kendallTauB(y1, p1), 1.0))
    #expect(close(try Metrics.kendallTauB(y3, p3), 0.7857142857142856))
    #expect(close(try Metrics.kendallTauB(x2, z2), 0.6666666666666666))
    #expect(try Metrics.averageRanks([1, 2, 2, 3, 4]) == [1, 2.5, 2.5, 4, 5])
  }

  @Test func r2EdgeRulesOfScikitLearn() throws {
    #expect(try Metrics.r2([1], [2]).isNaN)
    #expect(try Metrics.r2([3, 3, 3], [3, 3, 3]) == 1.0)
    #expect(try Metrics.r2([3, 3, 3], [3, 3, 4]) == 0.0)
    #expect(try Metrics.r2([3, 3, 3], [3, 3, 3], forceFinite: false).isNaN)
    #expect(try Metrics.r2([3, 3, 3], [3, 3, 4], forceFinite: false) == -.infinity)
    #expect(try Metrics.r2([1, 2], [2, 1]) == -3.0)
    #expect(try Metrics.r2([1, 2, 4], [1, 2, 4]) == 1.0)
  }

  @Test func correlationEdgeCasesOfScipy() throws {
    // Constant input: NaN in all three.
    #expect(try Metrics.pearson([1, 2, 3], [4, 4, 4]).isNaN)
    #expect(try Metrics.spearman([5, 5, 5], [1, 2, 3]).isNaN)
    #expect(try Metrics.kendallTauB([1, 2, 3], [4, 4, 4]).isNaN)
    // n = 2: pearsonr rounds to ±1; spearman and kendall give ±1 (up to the last bit).
    #expect(try Metrics.pearson([1, 2], [3, 1]) == -1.0)
    #expect(close(try Metrics.spearman([1, 2], [3, 1]), -1.0, 1e-15))
    #expect(try Metrics.kendallTauB([1, 2], [3, 1]) == -1.0)
    // n = 1: pearsonr raises, the rank correlations are NaN.
    #expect(throws: MetricsError.tooFew(metric: "pearson", count: 1, minimum: 2)) { try Metrics.pearson([1], [2]) }
    #expect(try Metrics.spearman([1], [2]).isNaN)
    #expect(try Metrics.kendallTauB([1], [2]).isNaN)
    #expect(Metrics.undefinedReason([2, 4, 5], [3, 3, 3]) == "y is constant (e.g. a mean predictor)")
    #expect(Metrics.undefinedReason([2, 4, 5], [3, 1, 3]) == nil)
  }

  @Test func badInputIsRejectedWithTheFirstBadIndex() throws {
    #expect(throws: MetricsError.empty(argument: "yTrue")) { try Metrics.meanSquaredError([], []) }
    #expect(throws: MetricsError.lengthMismatch(argument: "yTrue", count: 2, other: "yPred", otherCount: 3)) {
      try Metrics.meanAbsoluteError([1, 2], [1, 2, 3])
    }
    #expect(throws: MetricsError.nonFinite(argument: "yPred", index: 1, value: .infinity)) {
      try Metrics.r2([1, 2, 3, .infinity], [1, .infinity, 3, 4])
    }
    #expect(throws: MetricsError.nonFinite(argument: "x", index: 2, value: -.infinity)) {
      try Metrics.kendallTauB([1, 2, -.infinity], [1, 2, 3])
    }
    do {
      _ = try Metrics.spearman([1, 2, .nan], [1, 2, 3])
      Issue.record("NaN accepted")
    } catch let MetricsError.nonFinite(argument, index, value) {
      #expect(argument == "x" && index == 2 && value.isNaN)
    }
  }

  /// Kendall τ-b in O(n log n) equals the O(n²) definition over all pairs, on inputs with heavy ties.
  @Test func kendallEqualsThePairCountingDefinition() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 7))
    for trial in 0..<300 {
      let n = 1 + rng.below(40)
      let levels = 1 + rng.below(6)
      let x = (0..<n).map { _ in Double(rng.below(levels)) }
      let y = (0..<n).map { _ in Double(rng.below(levels)) - 0.5 }
      var p = 0, q = 0, t = 0, u = 0
      for i in 0..<n {
        for j in (i + 1)..<max(n, i + 1) {
          let dx = x[i] - x[j], dy = y[i] - y[j]
          if dx == 0 && dy == 0 { continue }
          if dx == 0 { t += 1 } else if dy == 0 { u += 1 } else if (dx > 0) == (dy > 0) { p += 1 } else { q += 1 }
        }
      }
      let d = (Double(p + q + t) * Double(p + q + u)).squareRoot()
      let expected = d == 0 ? Double.nan : Double(p - q) / d
      let got = try Metrics.kendallTauB(x, y)
      #expect(close(got, expected, 1e-14), "trial \(trial): x \(x) y \(y): \(got) vs \(expected)")
    }
  }

  /// Huge and tiny magnitudes: the squares over- or underflow, the correlation does not.
  @Test func extremeMagnitudes() throws {
    let x: [Double] = [1, 2, 3, 5], y: [Double] = [1, 2, 4, 3]
    let r = try Metrics.pearson(x, y)
    for scale in [1e200, 1e-200, 1e300, 1e-300] {
      #expect(close(try Metrics.pearson(x.map { $0 * scale }, y), r, 1e-14), "scale \(scale)")
      #expect(close(try Metrics.pearson(x, y.map { $0 * scale }), r, 1e-14), "scale \(scale)")
      #expect(close(try Metrics.spearman(x.map { $0 * scale }, y), try Metrics.spearman(x, y), 1e-15))
    }
  }

  /// Large offsets (1e6 + small noise): centring first keeps the digits.
  @Test func largeOffsetsKeepTheirDigits() throws {
    let x: [Double] = (0..<1000).map { 1e9 + Double($0 % 17) * 1e-3 }
    let y: [Double] = (0..<1000).map { 1e9 + Double($0 % 17) * 2e-3 + 1 }
    #expect(close(try Metrics.pearson(x, y), 1.0, 1e-9))
    #expect(close(try Metrics.spearman(x, y), 1.0, 1e-12))
    // R²: the differences from the offset are exact, so the reference is computed on them.
    let p = x.map { $0 + 0.001 }
    let ssRes = zip(x, p).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    let d = x.map { $0 - 1e9 }
    let m = d.reduce(0, +) / Double(d.count)
    let ssTot = d.reduce(0.0) { $0 + ($1 - m) * ($1 - m) }
    #expect(close(try Metrics.r2(x, p), 1 - ssRes / ssTot, 1e-9))
  }
}

/// ROC-AUC and average precision on the vectors of EVAL.md §4 (scikit-learn 1.9.1).
@Suite struct ClassificationMetricsTests {
  @Test func referenceVectors() throws {
    #expect(try Metrics.rocAUC(labels: [0, 0, 1, 1], scores: [0.1, 0.4, 0.35, 0.8]) == 0.75)
    #expect(close(try Metrics.averagePrecision(labels: [0, 0, 1, 1], scores: [0.1, 0.4, 0.35, 0.8]), 0.8333333333333333, 1e-15))
    let y: [Double] = [1, 0, 1, 1, 0, 0, 1, 0], s = [0.9, 0.8, 0.7, 0.7, 0.5, 0.5, 0.3, 0.1]
    #expect(try Metrics.rocAUC(labels: y, scores: s) == 0.6875)
    #expect(close(try Metrics.averagePrecision(labels: y, scores: s), 0.7678571428571428, 1e-15))
    #expect(close(try Metrics.averagePrecision(labels: y, scores: s.map { $0 > 0.5 ? 1 : 0 }), 0.6875, 1e-15))
    #expect(try Metrics.rocAUC(labels: [1, 1, 1], scores: [0.2, 0.4, 0.5]).isNaN)
    #expect(try Metrics.averagePrecision(labels: [0, 0, 0], scores: [0.2, 0.4, 0.5]) == 0)
    #expect(try Metrics.averagePrecision(labels: [1, 1, 1], scores: [0.2, 0.4, 0.5]) == 1)
    #expect(try Metrics.rocAUC(labels: [0, 1, 0, 1], scores: [0.3, 0.3, 0.3, 0.3]) == 0.5)
    #expect(try Metrics.averagePrecision(labels: [0, 1, 0, 1], scores: [0.3, 0.3, 0.3, 0.3]) == 0.5)
    #expect(throws: MetricsError.notBinary(argument: "labels", index: 1, value: 2)) {
      try Metrics.rocAUC(labels: [0, 2], scores: [0.1, 0.2])
    }
  }
}
