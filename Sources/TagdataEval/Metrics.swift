import TagdataIO

/// Why a metric refused its input. Every case names the argument, and `nonFinite` the index of the
/// first bad value (0-based), so that a caller can point at the record.
public enum MetricsError: Error, Equatable, Sendable, CustomStringConvertible {
  /// An input with no values (sklearn raises `ValueError` on 0 samples).
  case empty(argument: String)
  /// Two inputs that must pair up have different lengths.
  case lengthMismatch(argument: String, count: Int, other: String, otherCount: Int)
  /// NaN or ±infinity: the first such value over both inputs (lowest index; at one index the first
  /// argument is named first).
  case nonFinite(argument: String, index: Int, value: Double)
  /// Fewer values than the metric needs (scipy's `pearsonr` raises on n < 2).
  case tooFew(metric: String, count: Int, minimum: Int)
  /// A parameter out of its range (confidence level, resample count, k, ...).
  case invalidParameter(String)
  /// A class label other than 0 or 1 (ROC-AUC, average precision).
  case notBinary(argument: String, index: Int, value: Double)

  public var description: String {
    switch self {
    case .empty(let a): return "\(a) is empty"
    case .lengthMismatch(let a, let n, let b, let m): return "\(a) has \(n) values but \(b) has \(m)"
    case .nonFinite(let a, let i, let v): return "\(a)[\(i)] is \(v) (NaN and infinity are not accepted)"
    case .tooFew(let metric, let n, let k): return "\(metric) needs at least \(k) values, got \(n)"
    case .invalidParameter(let s): return s
    case .notBinary(let a, let i, let v): return "\(a)[\(i)] is \(v) (labels must be 0 or 1)"
    }
  }
}

/// Regression and correlation metrics with the conventions of scikit-learn 1.9 and scipy 1.17
/// (see EVAL.md §2). All inputs are `[Double]` of equal length; NaN, infinity, empty inputs and
/// mismatched lengths throw `MetricsError` (scipy would return NaN, sklearn raises).
///
/// Undefined values are `Double.nan`, exactly where scipy/sklearn give NaN:
/// - `r2`: fewer than 2 values (sklearn warns and returns NaN); with `forceFinite` (sklearn's
///   default) a constant `yTrue` gives 1.0 for a perfect prediction, else 0.0.
/// - `pearson`: x or y constant (every value equal to the first). n < 2 throws
///   `MetricsError.tooFew`, as `scipy.stats.pearsonr` raises. For n = 2 the result is exactly ±1.
/// - `spearman`: x or y constant, or n = 1 (scipy: NaN, silent).
/// - `kendallTauB`: x or y constant, or n = 1 (scipy: NaN).
/// `undefinedReason` says which of these applies, for reports ("undefined", never 0).
public enum Metrics {
  // MARK: validation

  /// Checks that both inputs are non-empty, of equal length and finite.
  public static func validate(_ a: [Double], _ b: [Double], names: (String, String) = ("yTrue", "yPred")) throws {
    if a.isEmpty { throw MetricsError.empty(argument: names.0) }
    if b.isEmpty { throw MetricsError.empty(argument: names.1) }
    if a.count != b.count {
      throw MetricsError.lengthMismatch(argument: names.0, count: a.count, other: names.1, otherCount: b.count)
    }
    for i in 0..<a.count {
      if !a[i].isFinite { throw MetricsError.nonFinite(argument: names.0, index: i, value: a[i]) }
      if !b[i].isFinite { throw MetricsError.nonFinite(argument: names.1, index: i, value: b[i]) }
    }
  }

  /// Checks one input: non-empty and finite.
  public static func validate(_ a: [Double], name: String) throws {
    if a.isEmpty { throw MetricsError.empty(argument: name) }
    for i in 0..<a.count where !a[i].isFinite { throw MetricsError.nonFinite(argument: name, index: i, value: a[i]) }
  }

  // MARK: errors

  /// Mean squared error Σ(y − ŷ)²/n (sklearn `mean_squared_error`).
  public static func meanSquaredError(_ yTrue: [Double], _ yPred: [Double]) throws -> Double {
    try validate(yTrue, yPred)
    return Core.meanSquaredError(yTrue, yPred, nil)
  }

  /// √MSE (sklearn `root_mean_squared_error`, TDC `rmse`).
  public static func rootMeanSquaredError(_ yTrue: [Double], _ yPred: [Double]) throws -> Double {
    try meanSquaredError(yTrue, yPred).squareRoot()
  }

  /// Mean absolute error Σ|y − ŷ|/n (sklearn `mean_absolute_error`).
  public static func meanAbsoluteError(_ yTrue: [Double], _ yPred: [Double]) throws -> Double {
    try validate(yTrue, yPred)
    return Core.meanAbsoluteError(yTrue, yPred, nil)
  }

  /// Coefficient of determination 1 − SS_res/SS_tot (sklearn `r2_score`; asymmetric: `yTrue` first).
  /// NaN for n < 2. SS_res = 0 gives 1.0; with `forceFinite` (default) SS_res ≠ 0 and a constant
  /// `yTrue` give 0.0, without it −inf (and 0/0 = NaN for a perfect constant).
  public static func r2(_ yTrue: [Double], _ yPred: [Double], forceFinite: Bool = true) throws -> Double {
    try validate(yTrue, yPred)
    return Core.r2(yTrue, yPred, nil, forceFinite: forceFinite)
  }

  // MARK: correlations

  /// Pearson's r as `scipy.stats.pearsonr(x, y).statistic`. Throws `tooFew` for n < 2; NaN when x
  /// or y is constant; exactly ±1 for n = 2.
  public static func pearson(_ x: [Double], _ y: [Double]) throws -> Double {
    try validate(x, y, names: ("x", "y"))
    if x.count < 2 { throw MetricsError.tooFew(metric: "pearson", count: x.count, minimum: 2) }
    return Core.pearson(x, y, nil, roundPairs: true)
  }

  /// Spearman's ρ as `scipy.stats.spearmanr(x, y).statistic`: Pearson correlation of average
  /// ranks (ties share the mean of their 1-based positions). NaN for n = 1 or constant input.
  public static func spearman(_ x: [Double], _ y: [Double]) throws -> Double {
    try validate(x, y, names: ("x", "y"))
    let rx = Core.averageRanks(x, order: Core.sortedOrder(x), weights: nil)
    let ry = Core.averageRanks(y, order: Core.sortedOrder(y), weights: nil)
    return Core.pearson(rx, ry, nil, roundPairs: false)
  }

  /// Kendall's τ-b as `scipy.stats.kendalltau(x, y).statistic` (variant 'b'), in O(n log n):
  /// (P − Q)/√((P + Q + T)(P + Q + U)), clipped to [−1, 1]; NaN for n = 1 or constant input.
  public static func kendallTauB(_ x: [Double], _ y: [Double]) throws -> Double {
    try validate(x, y, names: ("x", "y"))
    return Core.kendallTauB(x, y)
  }

  /// Average ranks (1-based; tied values get the mean of the positions they occupy), as
  /// `scipy.stats.rankdata(x, method='average')`.
  public static func averageRanks(_ x: [Double]) throws -> [Double] {
    try validate(x, name: "x")
    return Core.averageRanks(x, order: Core.sortedOrder(x), weights: nil)
  }

  /// Why a correlation of x and y is undefined (NaN or an error in scipy), or nil when it is defined.
  public static func undefinedReason(_ x: [Double], _ y: [Double]) -> String? {
    if x.count != y.count { return "x has \(x.count) values but y has \(y.count)" }
    if x.count < 2 { return "fewer than 2 values" }
    if let i = x.firstIndex(where: { !$0.isFinite }) { return "x[\(i)] is not finite" }
    if let i = y.firstIndex(where: { !$0.isFinite }) { return "y[\(i)] is not finite" }
    if x.allSatisfy({ $0 == x[0] }) { return "x is constant" }
    if y.allSatisfy({ $0 == y[0] }) { return "y is constant (e.g. a mean predictor)" }
    return nil
  }

  /// Every metric of §2 at once.
  public struct RegressionReport: Sendable, Equatable {
    public var count: Int
    public var mse: Double
    public var rmse: Double
    public var mae: Double
    public var r2: Double
    /// NaN when undefined (constant input), also for n = 1 (where scipy raises).
    public var pearson: Double
    public var spearman: Double
    public var kendallTauB: Double
  }

  /// MSE, RMSE, MAE, R², Pearson, Spearman and Kendall τ-b of one prediction.
  public static func regressionReport(_ yTrue: [Double], _ yPred: [Double]) throws -> RegressionReport {
    try validate(yTrue, yPred)
    let mse = Core.meanSquaredError(yTrue, yPred, nil)
    let rx = Core.averageRanks(yTrue, order: Core.sortedOrder(yTrue), weights: nil)
    let ry = Core.averageRanks(yPred, order: Core.sortedOrder(yPred), weights: nil)
    return RegressionReport(
      count: yTrue.count, mse: mse, rmse: mse.squareRoot(), mae: Core.meanAbsoluteError(yTrue, yPred, nil),
      r2: Core.r2(yTrue, yPred, nil, forceFinite: true),
      pearson: yTrue.count < 2 ? .nan : Core.pearson(yTrue, yPred, nil, roundPairs: true),
      spearman: Core.pearson(rx, ry, nil, roundPairs: false), kendallTauB: Core.kendallTauB(yTrue, yPred))
  }
}

/// The computations behind `Metrics`, on validated input. `weights`, when given, are the
/// multiplicities of a bootstrap resample (how often each pair was drawn; 0 = not drawn), so a
/// resample is evaluated in one sequential pass without copying it.
enum Core {
  // Every function takes the pairs and optional multiplicities `w` (a bootstrap resample: how often
  // each pair was drawn, 0 = not drawn; a jackknife: one pair at 0) with their sum `total`
  // (the number of drawn pairs; the count of pairs when `w` is nil).

  static func meanSquaredError(_ a: [Double], _ b: [Double], _ w: [Double]?, total: Double? = nil) -> Double {
    buffers(a, b, w) { a, b, w in
      let total = total ?? Double(a.count)
      if let w { return Summation.pairwise(a.count) { let e = a[$0] - b[$0]; return w[$0] * (e * e) } / total }
      return Summation.pairwise(a.count) { let e = a[$0] - b[$0]; return e * e } / total
    }
  }

  static func meanAbsoluteError(_ a: [Double], _ b: [Double], _ w: [Double]?, total: Double? = nil) -> Double {
    buffers(a, b, w) { a, b, w in
      let total = total ?? Double(a.count)
      if let w { return Summation.pairwise(a.count) { w[$0] * abs(a[$0] - b[$0]) } / total }
      return Summation.pairwise(a.count) { abs(a[$0] - b[$0]) } / total
    }
  }

  static func r2(_ a: [Double], _ b: [Double], _ w: [Double]?, total: Double? = nil, forceFinite: Bool) -> Double {
    buffers(a, b, w) { a, b, w in
      let n = a.count
      let total = total ?? Double(n)
      if total < 2 { return .nan }
      let mean: Double
      let sums: SIMD4<Double>
      if let w {
        mean = Summation.pairwise(n) { w[$0] * a[$0] } / total
        sums = Summation.pairwise(n) {
          let e = a[$0] - b[$0], d = a[$0] - mean
          return SIMD4(w[$0] * (e * e), w[$0] * (d * d), 0, 0)
        }
      } else {
        mean = Summation.pairwise(n) { a[$0] } / total
        sums = Summation.pairwise(n) {
          let e = a[$0] - b[$0], d = a[$0] - mean
          return SIMD4(e * e, d * d, 0, 0)
        }
      }
      let ssRes = sums[0], ssTot = sums[1]
      if ssRes == 0 { return forceFinite || ssTot != 0 ? 1.0 : .nan }
      if ssTot == 0 { return forceFinite ? 0.0 : -.infinity }
      return 1 - ssRes / ssTot
    }
  }

  /// Pearson's r: centre on the (pairwise-summed) means, then r = Sxy/√(Sxx·Syy) from one fused
  /// pass, clipped to [−1, 1] (scipy additionally scales by the largest deviation, which changes the
  /// last bits only; that route is taken here when the squares overflow). Constant over the drawn
  /// values → NaN; with `roundPairs`, two values give exactly ±1 (pearsonr), without it the computed
  /// value (np.corrcoef, spearmanr).
  static func pearson(_ x: [Double], _ y: [Double], _ w: [Double]?, total: Double? = nil, roundPairs: Bool) -> Double {
    buffers(x, y, w) { x, y, w in pearson(x, y, w, total: total ?? Double(x.count), roundPairs: roundPairs) }
  }

  static func pearson(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>, _ w: UnsafeBufferPointer<Double>?,
                      total: Double, roundPairs: Bool) -> Double
  {
    let n = x.count
    // Constant check over the drawn values (usually decided within the first few).
    var first = -1
    var xConstant = true, yConstant = true
    for i in 0..<n where w == nil || w![i] != 0 {
      if first < 0 { first = i; continue }
      if x[i] != x[first] { xConstant = false }
      if y[i] != y[first] { yConstant = false }
      if !xConstant && !yConstant { break }
    }
    if first < 0 || xConstant || yConstant { return .nan }
    if roundPairs && total == 2 {
      // Two drawn pairs, both distinct: the correlation is the sign of the slope.
      var i0 = -1, i1 = -1
      for i in 0..<n where w == nil || w![i] != 0 { if i0 < 0 { i0 = i } else { i1 = i } }
      return ((x[i1] - x[i0]) * (y[i1] - y[i0])) > 0 ? 1.0 : -1.0
    }
    let means: SIMD4<Double>
    if let w {
      means = Summation.pairwise(n) { SIMD4(w[$0] * x[$0], w[$0] * y[$0], 0, 0) } / total
    } else {
      means = Summation.pairwise(n) { SIMD4(x[$0], y[$0], 0, 0) } / total
    }
    let mx = means[0], my = means[1]
    var s: SIMD4<Double>
    if let w {
      s = Summation.pairwise(n) { let dx = x[$0] - mx, dy = y[$0] - my; return w[$0] * SIMD4(dx * dx, dy * dy, dx * dy, 0) }
    } else {
      s = Summation.pairwise(n) { let dx = x[$0] - mx, dy = y[$0] - my; return SIMD4(dx * dx, dy * dy, dx * dy, 0) }
    }
    if !(s[0].isFinite && s[1].isFinite && s[2].isFinite) || s[0] < 1e-280 || s[1] < 1e-280 {
      // Huge or tiny deviations: scale each by its largest magnitude first.
      var ax = 0.0, ay = 0.0
      for i in 0..<n where w == nil || w![i] != 0 {
        ax = max(ax, abs(x[i] - mx))
        ay = max(ay, abs(y[i] - my))
      }
      if let w {
        s = Summation.pairwise(n) {
          let dx = (x[$0] - mx) / ax, dy = (y[$0] - my) / ay
          return w[$0] * SIMD4(dx * dx, dy * dy, dx * dy, 0)
        }
      } else {
        s = Summation.pairwise(n) { let dx = (x[$0] - mx) / ax, dy = (y[$0] - my) / ay; return SIMD4(dx * dx, dy * dy, dx * dy, 0) }
      }
    }
    let r = s[2] / (s[0].squareRoot() * s[1].squareRoot())
    return min(1, max(-1, r))
  }

  /// Indices of x in ascending order of value.
  static func sortedOrder(_ x: [Double]) -> [Int32] {
    var order = (0..<Int32(x.count)).map { $0 }
    x.withUnsafeBufferPointer { x in order.sort { x[Int($0)] < x[Int($1)] } }
    return order
  }

  /// Average ranks of x (1-based), given x's ascending order. With weights (multiplicities),
  /// the rank each value would have among the drawn values, ties averaged; undrawn values get 0.
  static func averageRanks(_ x: [Double], order: [Int32], weights: [Double]?) -> [Double] {
    var ranks = [Double](repeating: 0, count: x.count)
    averageRanks(x, order: order, weights: weights, into: &ranks)
    return ranks
  }

  static func averageRanks(_ x: [Double], order: [Int32], weights: [Double]?, into ranks: inout [Double]) {
    let n = x.count
    var below = 0.0
    var start = 0
    while start < n {
      var end = start + 1
      let v = x[Int(order[start])]
      while end < n && x[Int(order[end])] == v { end += 1 }
      var groupWeight = 0.0
      if let weights {
        for k in start..<end { groupWeight += weights[Int(order[k])] }
      } else {
        groupWeight = Double(end - start)
      }
      let rank = below + (groupWeight + 1) / 2
      for k in start..<end { ranks[Int(order[k])] = rank }
      below += groupWeight
      start = end
    }
  }

  /// Dense groups of equal values: group[i] is the 0-based rank of x[i] among the distinct values.
  static func denseGroups(_ x: [Double]) -> (group: [Int32], count: Int) {
    let order = sortedOrder(x)
    var group = [Int32](repeating: 0, count: x.count)
    var g: Int32 = -1
    var previous = Double.nan
    for k in order.indices {
      let i = Int(order[k])
      if k == 0 || x[i] != previous { g += 1; previous = x[i] }
      group[i] = g
    }
    return (group, Int(g) + 1)
  }

  /// Average ranks among the drawn values from dense groups, in sequential passes: weight per
  /// group, running sum over groups (rank = values below + (group weight + 1)/2), read back.
  static func averageRanks(groups: [Int32], groupCount: Int, weights: [Double]?, scratch: inout [Double],
                           into ranks: inout [Double])
  {
    let n = groups.count
    groups.withUnsafeBufferPointer { g in
      scratch.withUnsafeMutableBufferPointer { gw in
        for k in 0..<groupCount { gw[k] = 0 }
        if let weights {
          weights.withUnsafeBufferPointer { w in for i in 0..<n { gw[Int(g[i])] += w[i] } }
        } else {
          for i in 0..<n { gw[Int(g[i])] += 1 }
        }
        var below = 0.0
        for k in 0..<groupCount {
          let c = gw[k]
          gw[k] = below + (c + 1) / 2
          below += c
        }
        ranks.withUnsafeMutableBufferPointer { r in for i in 0..<n { r[i] = gw[Int(g[i])] } }
      }
    }
  }

  /// Kendall's τ-b by sorting (Knight's method): sort the pairs by (x, y), count pairs tied in x
  /// and tied in both, then count discordant pairs as the inversions of y in that order with a
  /// bottom-up merge sort, and the pairs tied in y once y is sorted.
  static func kendallTauB(_ x: [Double], _ y: [Double]) -> Double {
    let n = x.count
    if n < 2 { return .nan }
    var order = (0..<n).map { $0 }
    order.sort { x[$0] < x[$1] || (x[$0] == x[$1] && y[$0] < y[$1]) }
    var tiedX = 0, tiedBoth = 0
    var start = 0
    while start < n {
      var end = start + 1
      while end < n && x[order[end]] == x[order[start]] { end += 1 }
      let t = end - start
      tiedX += t * (t - 1) / 2
      // Within the x group, runs of equal y.
      var s = start
      while s < end {
        var e = s + 1
        while e < end && y[order[e]] == y[order[s]] { e += 1 }
        tiedBoth += (e - s) * (e - s - 1) / 2
        s = e
      }
      start = end
    }
    var values = order.map { y[$0] }
    var buffer = values
    var discordant = 0
    var width = 1
    while width < n {
      var lo = 0
      while lo < n {
        let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
        var i = lo, j = mid, k = lo
        while i < mid && j < hi {
          if values[j] < values[i] {
            // values[j] is smaller than every remaining left value: mid - i discordant pairs.
            discordant += mid - i
            buffer[k] = values[j]; j += 1
          } else {
            buffer[k] = values[i]; i += 1
          }
          k += 1
        }
        while i < mid { buffer[k] = values[i]; i += 1; k += 1 }
        while j < hi { buffer[k] = values[j]; j += 1; k += 1 }
        lo = hi
      }
      swap(&values, &buffer)
      width *= 2
    }
    var tiedY = 0
    start = 0
    while start < n {
      var end = start + 1
      while end < n && values[end] == values[start] { end += 1 }
      tiedY += (end - start) * (end - start - 1) / 2
      start = end
    }
    let total = n * (n - 1) / 2
    if tiedX == total || tiedY == total { return .nan }
    let concordantMinusDiscordant = total - tiedX - tiedY + tiedBoth - 2 * discordant
    let tau = Double(concordantMinusDiscordant) / (Double(total - tiedX) * Double(total - tiedY)).squareRoot()
    return min(1, max(-1, tau))
  }

  @inline(__always)
  static func buffers<R>(_ a: [Double], _ b: [Double], _ w: [Double]?,
                         _ body: (UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>?) -> R) -> R
  {
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        if let w { return w.withUnsafeBufferPointer { body(a, b, $0) } }
        return body(a, b, nil)
      }
    }
  }
}
