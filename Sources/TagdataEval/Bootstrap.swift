import Dispatch
import Foundation
import TagdataIO

/// A statistic of paired (yTrue, yPred) values that the bootstrap can resample.
public enum PairedStatistic: String, Sendable, CaseIterable, Codable {
  case mse, rmse, mae, r2, pearson, spearman, kendallTauB = "kendall"

  /// The statistic on the full data (same conventions as `Metrics`; NaN where undefined, also
  /// Pearson for n = 1).
  public func evaluate(_ yTrue: [Double], _ yPred: [Double]) throws -> Double {
    try Metrics.validate(yTrue, yPred)
    var resampler = Resampler(self, yTrue, yPred)
    return resampler.evaluate(weights: nil)
  }
}

/// How the interval is read from the bootstrap distribution (scipy.stats.bootstrap `method`).
public enum BootstrapMethod: String, Sendable, CaseIterable, Codable {
  /// (Q(α), Q(1−α)), α = (1 − level)/2.
  case percentile
  /// (2θ̂ − Q(1−α), 2θ̂ − Q(α)).
  case basic
  /// Bias-corrected and accelerated (scipy's default), with a leave-one-pair-out jackknife.
  case bca
}

/// A bootstrap confidence interval and what it was computed from (EVAL.md §3.3: report the point
/// estimate, the interval, B, seed, level, how many resamples were undefined, and the generator).
public struct BootstrapResult: Sendable, Equatable {
  public var statistic: PairedStatistic
  public var method: BootstrapMethod
  /// The statistic on the full data.
  public var point: Double
  /// NaN when the interval is undefined (`undefinedReason` says why).
  public var lower: Double
  public var upper: Double
  public var level: Double
  public var resamples: Int
  public var seed: UInt64
  /// Resamples whose statistic was undefined (e.g. a constant resample for Pearson): dropped.
  public var undefined: Int
  /// Sample standard deviation (ddof 1) of the defined resampled statistics.
  public var standardError: Double
  public var undefinedReason: String?
  /// The resampling scheme, for reports.
  public static let generator = "paired resampling, SplitMix64, unbiased below(n), resample-major"
}

/// Deterministic, seeded bootstrap of a paired statistic (EVAL.md §3.3), with the interval rules of
/// scipy.stats.bootstrap (§3.2). Resample b draws n indices in order from one SplitMix64(seed)
/// stream; pairs stay together. The indices are not numpy's, so intervals are not scipy's numbers;
/// given the same indices (`distribution(indices:)`) the statistics and interval rules are scipy's.
///
/// Cost per resample: O(n) for MSE, RMSE, MAE, R², Pearson and Spearman (a resample is evaluated
/// from the multiplicity of each pair, ranks from one sort of the full data), O(n log n) for
/// Kendall. Resamples are shared among up to 8 workers without changing any value (see `draw`).
/// BCa adds a jackknife: O(n) in all for MSE/RMSE/MAE and for R²/Pearson above
/// `exactJackknifeLimit` pairs, O(n log n) for Spearman and Kendall above it; n evaluations below.
public enum Bootstrap {
  /// More undefined resamples than this fraction make the interval undefined.
  public static let undefinedFractionLimit = 0.01

  /// Index i in 0..<n from a SplitMix64 stream without modulo bias: draw r until r ≥ 2⁶⁴ mod n.
  @inline(__always)
  public static func below(_ n: Int, _ rng: inout SplitMix64) -> Int {
    let m = UInt64(n)
    let threshold = (0 &- m) % m
    while true {
      let r = rng.next()
      if r >= threshold { return Int(r % m) }
    }
  }

  /// `below` for a fixed n with the division replaced by a multiplication (same results): the
  /// quotient estimate ⌊r·⌊(2⁶⁴−1)/n⌋/2⁶⁴⌋ is at most 2 below r/n, so at most two corrections.
  struct Drawer: Sendable {
    let m: UInt64, threshold: UInt64, magic: UInt64
    /// `threshold` replaces 2⁶⁴ mod n only in tests (to force rejections).
    init(_ n: Int, threshold: UInt64? = nil) {
      m = UInt64(n)
      self.threshold = threshold ?? (0 &- m) % m
      magic = UInt64.max / m
    }
    @inline(__always)
    func next(_ rng: inout SplitMix64) -> Int {
      var rejected = 0
      return next(&rng, rejected: &rejected)
    }
    @inline(__always)
    func next(_ rng: inout SplitMix64, rejected: inout Int) -> Int {
      while true {
        let r = rng.next()
        if r < threshold {
          rejected += 1
        } else {
          let q = r.multipliedFullWidth(by: magic).high
          // Two branch-free corrections (the estimate is 0, 1 or 2 below the quotient).
          var rem = r &- q &* m
          rem = rem >= m ? rem &- m : rem
          rem = rem >= m ? rem &- m : rem
          return Int(rem)
        }
      }
    }
  }

  /// The first `count` indices in 0..<n of the stream of SplitMix64(`seed`) (resample-major: row b
  /// of the resamples is entries b·n..<(b+1)·n).
  public static func drawIndices(n: Int, count: Int, seed: UInt64) -> [Int] {
    var rng = SplitMix64(seed: seed)
    let drawer = Drawer(max(n, 1))
    return (0..<count).map { _ in drawer.next(&rng) }
  }

  /// The index matrix of `resamples` resamples of n pairs (row b = resample b), as used by `interval`.
  public static func resampleIndices(n: Int, resamples: Int, seed: UInt64) -> [[Int]] {
    var rng = SplitMix64(seed: seed)
    let drawer = Drawer(n)
    return (0..<resamples).map { _ in (0..<n).map { _ in drawer.next(&rng) } }
  }

  /// θ*_b for b = 0..<resamples in draw order (NaN kept where undefined). `threads` (default: the
  /// active processors, at most 8) does not change the result: see `draw`.
  public static func distribution(_ statistic: PairedStatistic, yTrue: [Double], yPred: [Double], resamples: Int,
                                  seed: UInt64, threads: Int? = nil) throws -> [Double]
  {
    try Metrics.validate(yTrue, yPred)
    if resamples < 1 { throw MetricsError.invalidParameter("resamples must be at least 1, got \(resamples)") }
    return draw(Resampler(statistic, yTrue, yPred), resamples: resamples, seed: seed, threads: threads)
  }

  /// Default worker count: the active processors, at most 8 (each worker holds its own
  /// per-resample buffers, O(n) each), 1 for small jobs.
  static func defaultThreads(resamples: Int, n: Int) -> Int {
    if resamples * n < 2_000_000 { return 1 }
    return max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
  }

  /// The resampled statistics, computed by `threads` workers on contiguous ranges of resamples.
  /// The stream stays the single sequential SplitMix64 stream of §3.3: SplitMix64's state after m
  /// outputs is seed + m·γ, so a worker starting at resample b0 starts at draw b0·n, which is
  /// right when no earlier draw was rejected (probability < n/2⁶⁴ per draw). Each worker counts
  /// its rejections; a range that started too early is then recomputed from its true offset.
  static func draw(_ prototype: Resampler, resamples: Int, seed: UInt64, threads: Int? = nil,
                   threshold: UInt64? = nil) -> [Double]
  {
    let n = prototype.x.count
    let workers = max(1, min(threads ?? defaultThreads(resamples: resamples, n: n), resamples))
    let ranges = (0..<workers).map { c in (c * resamples / workers)..<((c + 1) * resamples / workers) }
    let drawer = Drawer(n, threshold: threshold)
    let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15
    var out = [Double](repeating: .nan, count: resamples)
    var rejections = [Int](repeating: 0, count: workers)
    @Sendable func run(_ range: Range<Int>, offset: UInt64, _ out: UnsafeMutableBufferPointer<Double>) -> Int {
      var resampler = prototype
      var rng = SplitMix64(seed: seed &+ offset &* gamma)
      var rejected = 0
      for b in range { out[b] = resampler.next(&rng, drawer, rejected: &rejected) }
      return rejected
    }
    out.withUnsafeMutableBufferPointer { o in
      rejections.withUnsafeMutableBufferPointer { r in
        let shared = SharedBuffers(out: o, rejections: r)
        if workers == 1 {
          r[0] = run(ranges[0], offset: 0, o)
        } else {
          DispatchQueue.concurrentPerform(iterations: workers) { c in
            shared.rejections[c] = run(ranges[c], offset: UInt64(ranges[c].lowerBound) &* UInt64(n), shared.out)
          }
        }
        // Fix-up, in order: a range must start after every draw, rejected or not, before it.
        var extra: UInt64 = 0
        for c in 0..<workers {
          if extra != 0 {
            r[c] = run(ranges[c], offset: UInt64(ranges[c].lowerBound) &* UInt64(n) &+ extra, o)
          }
          extra &+= UInt64(r[c])
        }
      }
    }
    return out
  }

  /// The output buffers the workers write to, each worker its own ranges.
  struct SharedBuffers: @unchecked Sendable {
    let out: UnsafeMutableBufferPointer<Double>
    let rejections: UnsafeMutableBufferPointer<Int>
  }

  /// θ* of explicitly given resamples (each row: n indices into the pairs), for cross-checks.
  public static func distribution(_ statistic: PairedStatistic, yTrue: [Double], yPred: [Double],
                                  indices: [[Int]]) throws -> [Double]
  {
    try Metrics.validate(yTrue, yPred)
    let n = yTrue.count
    var resampler = Resampler(statistic, yTrue, yPred)
    return try indices.enumerated().map { b, row in
      if row.count != n { throw MetricsError.lengthMismatch(argument: "indices[\(b)]", count: row.count, other: "yTrue", otherCount: n) }
      for i in 0..<n { resampler.weights[i] = 0 }
      for (j, i) in row.enumerated() {
        if i < 0 || i >= n { throw MetricsError.invalidParameter("indices[\(b)][\(j)] = \(i) is outside 0..<\(n)") }
        resampler.weights[i] += 1
      }
      return resampler.evaluate(weights: resampler.weights, total: Double(n))
    }
  }

  /// Leave-one-pair-out values θ₍ᵢ₎, i = 0..<n (the BCa acceleration's jackknife).
  public static func jackknife(_ statistic: PairedStatistic, yTrue: [Double], yPred: [Double]) throws -> [Double] {
    try Metrics.validate(yTrue, yPred)
    let n = yTrue.count
    if n < 2 { throw MetricsError.tooFew(metric: "jackknife", count: n, minimum: 2) }
    switch statistic {
    case .mse, .rmse, .mae:
      // Leave-one-out means from one total: (S − tᵢ)/(n − 1).
      let terms = zip(yTrue, yPred).map { statistic == .mae ? abs($0 - $1) : ($0 - $1) * ($0 - $1) }
      let total = terms.withUnsafeBufferPointer { t in Summation.pairwise(n) { t[$0] } }
      return terms.map {
        let m = (total - $0) / Double(n - 1)
        return statistic == .rmse ? max(m, 0).squareRoot() : max(m, 0)
      }
    case .r2 where n > exactJackknifeLimit, .pearson where n > exactJackknifeLimit:
      return downdatedJackknife(statistic, yTrue, yPred)
    case .spearman where n > exactJackknifeLimit:
      return spearmanJackknife(yTrue, yPred)
    case .kendallTauB where n > exactJackknifeLimit:
      return kendallJackknife(yTrue, yPred)
    default:
      var resampler = Resampler(statistic, yTrue, yPred)
      var w = [Double](repeating: 1, count: n)
      return (0..<n).map { i in
        w[i] = 0
        defer { w[i] = 1 }
        return resampler.evaluate(weights: w, total: Double(n - 1))
      }
    }
  }

  /// Up to this n the jackknife of R², Pearson, Spearman and Kendall evaluates every leave-one-out
  /// sample exactly; above it, R² and Pearson downdate the centred sums in O(n) (same value up to
  /// rounding, except for a pair that alone carries nearly all of a sum of squares), Spearman
  /// updates rank sums and Kendall pair counts in O(n log n).
  public static let exactJackknifeLimit = 2000

  /// Leave-one-out R² or Pearson from the full data's centred sums: removing pair i changes
  /// Σ(x − x̄)² by −n/(n−1)·(xᵢ − x̄)², Σ(x − x̄)(y − ȳ) by −n/(n−1)·(xᵢ − x̄)(yᵢ − ȳ), and the
  /// residual sum by −eᵢ². Whether the rest is constant (NaN) or perfect is decided exactly.
  static func downdatedJackknife(_ statistic: PairedStatistic, _ x: [Double], _ y: [Double]) -> [Double] {
    let n = x.count
    let f = Double(n) / Double(n - 1)
    let (mx, my) = x.withUnsafeBufferPointer { x in
      y.withUnsafeBufferPointer { y in
        let m = Summation.pairwise(n) { SIMD4(x[$0], y[$0], 0, 0) } / Double(n)
        return (m[0], m[1])
      }
    }
    let sums = x.withUnsafeBufferPointer { x in
      y.withUnsafeBufferPointer { y in
        Summation.pairwise(n) {
          let dx = x[$0] - mx, dy = y[$0] - my, e = x[$0] - y[$0]
          return SIMD4(dx * dx, dy * dy, dx * dy, e * e)
        }
      }
    }
    let constantX = constantWithout(x), constantY = constantWithout(y)
    // Pairs whose residual is non-zero: with one such pair, leaving it out leaves a perfect fit.
    var nonzeroResiduals = 0, lastNonzero = -1
    for i in 0..<n where x[i] != y[i] { nonzeroResiduals += 1; lastNonzero = i }
    return (0..<n).map { i in
      let dx = x[i] - mx, dy = y[i] - my
      switch statistic {
      case .r2:
        let perfect = nonzeroResiduals == 0 || (nonzeroResiduals == 1 && lastNonzero == i)
        if perfect { return 1.0 }
        if constantX(i) { return 0.0 }
        let e = x[i] - y[i]
        return 1 - max(sums[3] - e * e, 0) / max(sums[0] - f * dx * dx, 0)
      default:
        if constantX(i) || constantY(i) { return .nan }
        let sxx = max(sums[0] - f * dx * dx, 0), syy = max(sums[1] - f * dy * dy, 0), sxy = sums[2] - f * dx * dy
        return min(1, max(-1, sxy / (sxx.squareRoot() * syy.squareRoot())))
      }
    }
  }

  /// Leave-one-out Spearman in O(n log n). With r, s the average ranks of the full data, leaving
  /// pair i out lowers every rank above xᵢ by 1 and every other rank tied with xᵢ by ½ (a_j; b_j for
  /// y). The ranks of the n − 1 left keep mean n/2, so ρ₍ᵢ₎ = (Σr′s′ − (n−1)m²)/√(…) with m = n/2,
  /// where Σr′² = Σr² − rᵢ² − 2Σa r + Σa², Σr′s′ = Σrs − rᵢsᵢ − Σr b − Σs a + Σa b. The sums over
  /// "above" and "tied" come from per-group totals; Σa b needs the pairs above in both x and y,
  /// counted with a Fenwick tree over the y groups while walking the x groups downwards.
  static func spearmanJackknife(_ x: [Double], _ y: [Double]) -> [Double] {
    let n = x.count
    let (gx, groupsX) = Core.denseGroups(x), (gy, groupsY) = Core.denseGroups(y)
    var r = [Double](repeating: 0, count: n), sr = [Double](repeating: 0, count: n), scratch = r
    Core.averageRanks(groups: gx, groupCount: groupsX, weights: nil, scratch: &scratch, into: &r)
    scratch = [Double](repeating: 0, count: max(groupsX, groupsY))
    Core.averageRanks(groups: gy, groupCount: groupsY, weights: nil, scratch: &scratch, into: &sr)
    // Per group: size, sum of own ranks, sum of the other variable's ranks.
    var sizeX = [Double](repeating: 0, count: groupsX), rankSumX = sizeX, otherSumX = sizeX
    var sizeY = [Double](repeating: 0, count: groupsY), rankSumY = sizeY, otherSumY = sizeY
    var r2 = 0.0, s2 = 0.0, rs = 0.0
    for i in 0..<n {
      let g = Int(gx[i]), h = Int(gy[i])
      sizeX[g] += 1; rankSumX[g] += r[i]; otherSumX[g] += sr[i]
      sizeY[h] += 1; rankSumY[h] += sr[i]; otherSumY[h] += r[i]
      r2 += r[i] * r[i]; s2 += sr[i] * sr[i]; rs += r[i] * sr[i]
    }
    // Totals over the groups strictly above each group.
    func above(_ v: [Double]) -> [Double] {
      var out = [Double](repeating: 0, count: v.count)
      var acc = 0.0
      for g in stride(from: v.count - 1, through: 0, by: -1) { out[g] = acc; acc += v[g] }
      return out
    }
    let countAboveX = above(sizeX), rankAboveX = above(rankSumX), otherAboveX = above(otherSumX)
    let countAboveY = above(sizeY), rankAboveY = above(rankSumY), otherAboveY = above(otherSumY)
    // Σ a b per pair: walk x groups from the top, Fenwick counts of y groups already passed.
    var order = Array(0..<n)
    order.sort { gx[$0] > gx[$1] || (gx[$0] == gx[$1] && gy[$0] < gy[$1]) }
    var tree = [Int](repeating: 0, count: groupsY + 1)
    func prefix(_ h: Int) -> Int {  // count of inserted with y group ≤ h
      var k = h + 1, s = 0
      while k > 0 { s += tree[k]; k -= k & -k }
      return s
    }
    var crossAB = [Double](repeating: 0, count: n)
    var inserted = 0
    var start = 0
    while start < n {
      var end = start
      while end < n && gx[order[end]] == gx[order[start]] { end += 1 }
      // Members of this x group, ascending in y group.
      var k = start
      while k < end {
        var e = k
        while e < end && gy[order[e]] == gy[order[k]] { e += 1 }
        let h = Int(gy[order[k]])
        let atOrBelow = prefix(h), below = h > 0 ? prefix(h - 1) : 0
        let bothAbove = Double(inserted - atOrBelow), xAboveYTied = Double(atOrBelow - below)
        let xTiedYAbove = Double(end - e), bothTied = Double(e - k - 1)
        let value = bothAbove + 0.5 * xAboveYTied + 0.5 * xTiedYAbove + 0.25 * bothTied
        for p in k..<e { crossAB[order[p]] = value }
        k = e
      }
      for p in start..<end {
        var j = Int(gy[order[p]]) + 1
        while j <= groupsY { tree[j] += 1; j += j & -j }
      }
      inserted += end - start
      start = end
    }
    let constantX = constantWithout(x), constantY = constantWithout(y)
    let m = Double(n) / 2, rest = Double(n - 1)
    return (0..<n).map { i in
      if constantX(i) || constantY(i) { return .nan }
      let g = Int(gx[i]), h = Int(gy[i])
      let ar = rankAboveX[g] + 0.5 * (rankSumX[g] - r[i]), aa = countAboveX[g] + 0.25 * (sizeX[g] - 1)
      let bs = rankAboveY[h] + 0.5 * (rankSumY[h] - sr[i]), bb = countAboveY[h] + 0.25 * (sizeY[h] - 1)
      let rb = otherAboveY[h] + 0.5 * (otherSumY[h] - r[i]), sa = otherAboveX[g] + 0.5 * (otherSumX[g] - sr[i])
      let srr = (r2 - r[i] * r[i]) - 2 * ar + aa - rest * m * m
      let sss = (s2 - sr[i] * sr[i]) - 2 * bs + bb - rest * m * m
      let srs = (rs - r[i] * sr[i]) - rb - sa + crossAB[i] - rest * m * m
      return min(1, max(-1, srs / (srr.squareRoot() * sss.squareRoot())))
    }
  }

  /// Leave-one-out Kendall τ-b in O(n log n): per pair i, the pairs it forms that are concordant,
  /// discordant, tied in x only and in y only (from a Fenwick tree over the y groups, swept
  /// along the x groups, and the group sizes); τ₍ᵢ₎ from the totals less pair i's share, in integers.
  static func kendallJackknife(_ x: [Double], _ y: [Double]) -> [Double] {
    let n = x.count
    let (gx, groupsX) = Core.denseGroups(x), (gy, groupsY) = Core.denseGroups(y)
    var sizeX = [Int](repeating: 0, count: groupsX), sizeY = [Int](repeating: 0, count: groupsY)
    for i in 0..<n { sizeX[Int(gx[i])] += 1; sizeY[Int(gy[i])] += 1 }
    var belowY = [Int](repeating: 0, count: groupsY)
    for h in 1..<max(groupsY, 1) { belowY[h] = belowY[h - 1] + sizeY[h - 1] }
    var order = Array(0..<n)
    order.sort { gx[$0] < gx[$1] || (gx[$0] == gx[$1] && gy[$0] < gy[$1]) }
    var tree = [Int](repeating: 0, count: groupsY + 1)
    func prefix(_ h: Int) -> Int {
      var k = h + 1, s = 0
      while k > 0 { s += tree[k]; k -= k & -k }
      return s
    }
    var concordant = [Int](repeating: 0, count: n), discordant = concordant, onlyX = concordant, onlyY = concordant
    var inserted = 0, start = 0
    while start < n {
      var end = start
      while end < n && gx[order[end]] == gx[order[start]] { end += 1 }
      var k = start
      while k < end {
        var e = k
        while e < end && gy[order[e]] == gy[order[k]] { e += 1 }
        let h = Int(gy[order[k]])
        let lessLess = h > 0 ? prefix(h - 1) : 0
        let lessGreater = inserted - prefix(h)
        let sameXLessY = k - start, sameXGreaterY = end - e, both = e - k - 1
        let aboveY = n - belowY[h] - sizeY[h]
        let greaterGreater = aboveY - lessGreater - sameXGreaterY
        let greaterLess = belowY[h] - lessLess - sameXLessY
        for p in k..<e {
          let i = order[p]
          concordant[i] = lessLess + greaterGreater
          discordant[i] = lessGreater + greaterLess
          onlyX[i] = sizeX[Int(gx[i])] - 1 - both
          onlyY[i] = sizeY[h] - 1 - both
        }
        k = e
      }
      for p in start..<end {
        var j = Int(gy[order[p]]) + 1
        while j <= groupsY { tree[j] += 1; j += j & -j }
      }
      inserted += end - start
      start = end
    }
    let p = concordant.reduce(0, +) / 2, q = discordant.reduce(0, +) / 2
    let t = onlyX.reduce(0, +) / 2, u = onlyY.reduce(0, +) / 2
    return (0..<n).map { i in
      let p1 = p - concordant[i], q1 = q - discordant[i], t1 = t - onlyX[i], u1 = u - onlyY[i]
      let dx = p1 + q1 + t1, dy = p1 + q1 + u1
      if dx == 0 || dy == 0 { return .nan }
      return min(1, max(-1, Double(p1 - q1) / (Double(dx) * Double(dy)).squareRoot()))
    }
  }

  /// A test "are the values other than index i all equal?", decided exactly: at most two distinct
  /// values, one of them at i only.
  static func constantWithout(_ v: [Double]) -> (Int) -> Bool {
    let a = v[0]
    var b = a, countA = 0, countB = 0, indexA = -1, indexB = -1, distinct = 1
    for (i, x) in v.enumerated() {
      if x == a { countA += 1; indexA = i } else if distinct == 1 || x == b {
        if distinct == 1 { b = x; distinct = 2 }
        countB += 1
        indexB = i
      } else {
        distinct = 3
        break
      }
    }
    if distinct == 3 { return { _ in false } }
    if distinct == 1 { return { _ in true } }
    return { i in (countA == 1 && indexA == i) || (countB == 1 && indexB == i) }
  }

  /// Q(p) of sorted values, Hyndman–Fan 7 (`scipy.stats.quantile(method='linear')`), with scipy's
  /// arithmetic: g' = p·m + (1 − p), j = ⌊g'⌋ − 1, g = g' − ⌊g'⌋ (0 if j < 0), Q = (1−g)s_j + g·s_{j+1}.
  public static func quantile(sorted s: [Double], _ p: Double) -> Double {
    if s.isEmpty || p.isNaN { return .nan }
    let m = Double(s.count)
    let gPrime = p * m + (1 - p)
    let floor = gPrime.rounded(.down)
    var j = Int(floor) - 1
    var g = gPrime - floor
    if j < 0 { g = 0 }
    j = min(max(j, 0), s.count - 1)
    let k = min(max(j + 1, 0), s.count - 1)
    return (1 - g) * s[j] + g * s[k]
  }

  /// The interval of `method` from a bootstrap distribution (undefined values already removed),
  /// the point estimate and, for BCa, the jackknife values.
  public static func interval(method: BootstrapMethod, statistics: [Double], point: Double, jackknife: [Double]?,
                              level: Double) -> (lower: Double, upper: Double)
  {
    let sorted = statistics.sorted()
    let alpha = (1 - level) / 2
    switch method {
    case .percentile:
      return (quantile(sorted: sorted, alpha), quantile(sorted: sorted, 1 - alpha))
    case .basic:
      return (2 * point - quantile(sorted: sorted, 1 - alpha), 2 * point - quantile(sorted: sorted, alpha))
    case .bca:
      let (a1, a2) = bcaLevels(statistics: statistics, point: point, jackknife: jackknife ?? [], alpha: alpha)
      return (quantile(sorted: sorted, a1), quantile(sorted: sorted, a2))
    }
  }

  /// BCa's adjusted levels (α₁, α₂): z₀ from the share of θ* below θ̂ (ties count half), the
  /// acceleration a from the jackknife's third and second central moments.
  public static func bcaLevels(statistics: [Double], point: Double, jackknife: [Double], alpha: Double) -> (Double, Double) {
    let b = statistics.count
    var below = 0
    for t in statistics {
      if t < point { below += 2 } else if t == point { below += 1 }
    }
    let z0 = Normal.quantile(Double(below) / Double(2 * b))
    let n = Double(jackknife.count)
    let mean = jackknife.withUnsafeBufferPointer { j in Summation.pairwise(j.count) { j[$0] } } / n
    let u = jackknife.map { (n - 1) * (mean - $0) }
    let num = u.withUnsafeBufferPointer { u in Summation.pairwise(u.count) { u[$0] * u[$0] * u[$0] } } / (n * n * n)
    let den = u.withUnsafeBufferPointer { u in Summation.pairwise(u.count) { u[$0] * u[$0] } } / (n * n)
    let a = 1.0 / 6 * num / pow(den, 1.5)
    let zAlpha = Normal.quantile(alpha)
    let num1 = z0 + zAlpha, num2 = z0 - zAlpha
    return (Normal.cdf(z0 + num1 / (1 - a * num1)), Normal.cdf(z0 + num2 / (1 - a * num2)))
  }

  /// A bootstrap confidence interval of `statistic` on paired data: `resamples` resamples drawn
  /// from SplitMix64(`seed`), the interval by `method` at `level`. Undefined resampled statistics are
  /// dropped and counted; more than 1 % of them, or a degenerate BCa, make the interval undefined
  /// (NaN bounds with a reason). Needs n ≥ 2 (as scipy).
  public static func interval(_ statistic: PairedStatistic, yTrue: [Double], yPred: [Double], resamples: Int = 9999,
                              level: Double = 0.95, seed: UInt64 = 0, method: BootstrapMethod = .percentile) throws
    -> BootstrapResult
  {
    try Metrics.validate(yTrue, yPred)
    let n = yTrue.count
    if n < 2 { throw MetricsError.tooFew(metric: "bootstrap", count: n, minimum: 2) }
    if resamples < 1 { throw MetricsError.invalidParameter("resamples must be at least 1, got \(resamples)") }
    if !(level > 0 && level < 1) { throw MetricsError.invalidParameter("confidence level must be in (0, 1), got \(level)") }
    let jack = method == .bca ? try jackknife(statistic, yTrue: yTrue, yPred: yPred) : nil
    var resampler = Resampler(statistic, yTrue, yPred)
    let point = resampler.evaluate(weights: nil)
    let all = draw(resampler, resamples: resamples, seed: seed)
    let stats = all.filter { !$0.isNaN }
    let undefined = all.count - stats.count
    var result = BootstrapResult(
      statistic: statistic, method: method, point: point, lower: .nan, upper: .nan, level: level, resamples: resamples,
      seed: seed, undefined: undefined, standardError: standardDeviation(stats), undefinedReason: nil)
    if point.isNaN {
      result.undefinedReason = "the statistic is undefined on the full data"
    } else if Double(undefined) > undefinedFractionLimit * Double(resamples) || stats.isEmpty {
      result.undefinedReason = "\(undefined) of \(resamples) resamples gave an undefined statistic (more than 1 %)"
    } else if let jack, jack.contains(where: { $0.isNaN }) {
      result.undefinedReason = "BCa: a leave-one-out statistic is undefined"
    } else {
      let (lo, hi) = interval(method: method, statistics: stats, point: point, jackknife: jack, level: level)
      if lo.isNaN || hi.isNaN {
        result.undefinedReason = "BCa: degenerate bootstrap distribution (all resampled values on one side, or no spread)"
      } else {
        (result.lower, result.upper) = (lo, hi)
      }
    }
    return result
  }

  /// Sample standard deviation (ddof 1); NaN for fewer than 2 values.
  static func standardDeviation(_ x: [Double]) -> Double {
    let n = x.count
    if n < 2 { return .nan }
    return x.withUnsafeBufferPointer { x in
      let mean = Summation.pairwise(n) { x[$0] } / Double(n)
      return (Summation.pairwise(n) { let d = x[$0] - mean; return d * d } / Double(n - 1)).squareRoot()
    }
  }
}

/// Evaluates one statistic on resamples given as multiplicities (weights) of the pairs, reusing
/// its buffers: no allocation per resample.
struct Resampler {
  let statistic: PairedStatistic
  let x: [Double], y: [Double]
  var weights: [Double]
  // Spearman: the dense value groups of x and y (from one sort) and rank buffers.
  var groupX: [Int32] = [], groupY: [Int32] = []
  var groupCountX = 0, groupCountY = 0
  var ranksX: [Double] = [], ranksY: [Double] = [], scratch: [Double] = []
  // Kendall: the resample written out.
  var gx: [Double] = [], gy: [Double] = []

  init(_ statistic: PairedStatistic, _ x: [Double], _ y: [Double]) {
    self.statistic = statistic
    self.x = x
    self.y = y
    weights = [Double](repeating: 0, count: x.count)
    if statistic == .spearman {
      (groupX, groupCountX) = Core.denseGroups(x)
      (groupY, groupCountY) = Core.denseGroups(y)
      ranksX = [Double](repeating: 0, count: x.count)
      ranksY = ranksX
      scratch = ranksX
    }
  }

  /// Draws the next resample (n indices) and evaluates it.
  mutating func next(_ rng: inout SplitMix64, _ drawer: Bootstrap.Drawer, rejected: inout Int) -> Double {
    let n = x.count
    weights.withUnsafeMutableBufferPointer { w in
      for i in 0..<n { w[i] = 0 }
      for _ in 0..<n { w[drawer.next(&rng, rejected: &rejected)] += 1 }
    }
    return evaluate(weights: weights, total: Double(n))
  }

  /// The statistic with the given multiplicities (nil: every pair once) summing to `total`.
  mutating func evaluate(weights w: [Double]?, total: Double? = nil) -> Double {
    switch statistic {
    case .mse: return Core.meanSquaredError(x, y, w, total: total)
    case .rmse: return Core.meanSquaredError(x, y, w, total: total).squareRoot()
    case .mae: return Core.meanAbsoluteError(x, y, w, total: total)
    case .r2: return Core.r2(x, y, w, total: total, forceFinite: true)
    case .pearson:
      if (total ?? Double(x.count)) < 2 { return .nan }
      return Core.pearson(x, y, w, total: total, roundPairs: true)
    case .spearman:
      Core.averageRanks(groups: groupX, groupCount: groupCountX, weights: w, scratch: &scratch, into: &ranksX)
      Core.averageRanks(groups: groupY, groupCount: groupCountY, weights: w, scratch: &scratch, into: &ranksY)
      return Core.pearson(ranksX, ranksY, w, total: total, roundPairs: false)
    case .kendallTauB:
      guard let w else { return Core.kendallTauB(x, y) }
      gx.removeAll(keepingCapacity: true)
      gy.removeAll(keepingCapacity: true)
      for i in 0..<x.count where w[i] != 0 {
        for _ in 0..<Int(w[i]) {
          gx.append(x[i])
          gy.append(y[i])
        }
      }
      return Core.kendallTauB(gx, gy)
    }
  }
}
