import TagdataEval
import TagdataIO
import TestSupport
import Testing

/// The deterministic bootstrap of EVAL.md §3.3 (values from the reference's Python re-implementation).
@Suite struct BootstrapTests {
  static let y = [3, -0.5, 2, 7, 4.2, 1.1, 0.3, 5.5]
  static let p = [2.5, 0, 2, 8, 3.9, 1.6, -0.2, 4.8]

  @Test func indexStreamIsTheReferenceOne() {
    var rng = SplitMix64(seed: 0)
    #expect(rng.next() == 0xe220_a839_7b1d_cdaf)
    rng = SplitMix64(seed: 42)
    #expect([rng.next(), rng.next(), rng.next()] == [13679457532755275413, 2949826092126892291, 5139283748462763858])
    rng = SplitMix64(seed: 42)
    #expect((0..<8).map { _ in Bootstrap.below(8, &rng) } == [5, 3, 2, 4, 2, 6, 5, 4])
    #expect(Bootstrap.resampleIndices(n: 8, resamples: 1, seed: 42)[0] == [5, 3, 2, 4, 2, 6, 5, 4])
  }

  @Test func referenceIntervals() throws {
    let mae = try Bootstrap.interval(.mae, yTrue: Self.y, yPred: Self.p, resamples: 1000, seed: 42)
    #expect(mae.point == 0.5 && mae.undefined == 0)
    #expect(close(mae.lower, 0.3125000000000001, 1e-15) && close(mae.upper, 0.6875, 1e-15), "\(mae)")
    let r = try Bootstrap.interval(.pearson, yTrue: Self.y, yPred: Self.p, resamples: 1000, seed: 42)
    #expect(close(r.point, 0.9745680997524625) && r.undefined == 0)
    #expect(close(r.lower, 0.9519203469850771) && close(r.upper, 0.997075746281365), "\(r)")
  }

  /// Every statistic on a resample given as multiplicities equals the statistic of `Metrics` on
  /// the resample written out, pair by pair.
  @Test func resampledStatisticsEqualMetricsOnTheWrittenOutResample() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 11))
    for trial in 0..<200 {
      let n = 2 + rng.below(30)
      let levels = 2 + rng.below(8)
      let x = (0..<n).map { _ in Double(rng.below(levels)) * 0.7 - 1 }
      let y = (0..<n).map { i in x[i] * 0.5 + Double(rng.below(levels)) }
      let rows = (0..<5).map { _ in (0..<n).map { _ in rng.below(n) } }
      for s in PairedStatistic.allCases {
        let got = try Bootstrap.distribution(s, yTrue: x, yPred: y, indices: rows)
        for (b, row) in rows.enumerated() {
          let rx = row.map { x[$0] }, ry = row.map { y[$0] }
          let expected = try s.evaluate(rx, ry)
          #expect(close(got[b], expected, 1e-12), "trial \(trial) \(s) \(rx) \(ry): \(got[b]) vs \(expected)")
        }
      }
    }
  }

  @Test func jackknifeIsLeaveOnePairOut() throws {
    for s in PairedStatistic.allCases {
      let j = try Bootstrap.jackknife(s, yTrue: Self.y, yPred: Self.p)
      for i in 0..<Self.y.count {
        var a = Self.y, b = Self.p
        a.remove(at: i)
        b.remove(at: i)
        #expect(close(j[i], try s.evaluate(a, b), 1e-13), "\(s) leaving out \(i)")
      }
    }
  }

  /// Above `exactJackknifeLimit` pairs, R² and Pearson leave-one-out values come from downdated
  /// sums: equal to the direct computation, also where the rest becomes constant or perfect.
  @Test func downdatedJackknifeEqualsDirectLeaveOneOut() throws {
    var rng = SplitMix64(seed: 17)
    let n = Bootstrap.exactJackknifeLimit + 1 + rng.below(50)
    func unit() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
    let cases: [([Double], [Double])] = [
      ((0..<n).map { _ in 1e3 + unit() }, (0..<n).map { _ in 1e3 + unit() * 0.5 }),
      // All but one x equal: leaving that one out makes x constant.
      ((0..<n).map { $0 == 7 ? 2 : 1 }, (0..<n).map { _ in unit() }),
      // Perfect prediction except one pair.
      ({ let v = (0..<n).map { _ in unit() }; return v }(), []),
      // Heavy ties in both, correlated.
      ({ let v = (0..<n).map { _ in Double(rng.below(7)) }; return v }(), []),
      ((0..<n).map { Double($0 % 13) }, (0..<n).map { Double(($0 * 7) % 5) }),
    ]
    for (c, (x0, y0)) in cases.enumerated() {
      let x = x0
      var y = y0
      if y.isEmpty { y = c == 3 ? x.map { $0 + Double(rng.below(3)) } : x; y[11] += 0.5 }
      for s in [PairedStatistic.r2, .pearson, .spearman, .kendallTauB] {
        let jack = try Bootstrap.jackknife(s, yTrue: x, yPred: y)
        for i in [0, 7, 11, n / 2, n - 1] + (0..<20).map({ _ in rng.below(n) }) {
          var a = x, b = y
          a.remove(at: i)
          b.remove(at: i)
          let direct = try s.evaluate(a, b)
          #expect(close(jack[i], direct, 1e-10), "case \(c) \(s) leaving out \(i): \(jack[i]) vs \(direct)")
        }
      }
    }
  }

  @Test func quantileIsHyndmanFanSeven() {
    let s = [1.0, 2, 4, 8]
    #expect(Bootstrap.quantile(sorted: s, 0) == 1 && Bootstrap.quantile(sorted: s, 1) == 8)
    #expect(Bootstrap.quantile(sorted: s, 0.5) == 3)
    #expect(Bootstrap.quantile(sorted: s, 1.0 / 3) == 2)
    #expect(close(Bootstrap.quantile(sorted: s, 0.25), 1.75))
    #expect(Bootstrap.quantile(sorted: s, .nan).isNaN)
  }

  @Test func normalQuantileInvertsTheCdf() {
    for p in [1e-300, 1e-20, 1e-9, 0.001, 0.025, 0.2, 0.5, 0.7, 0.975, 0.999, 1 - 1e-12] {
      let x = Normal.quantile(p)
      let back = p < 0.5 ? Normal.cdf(x) : 1 - Normal.cdf(-x)
      #expect(close(back, p, 1e-13) || abs(back - p) < 1e-15 * max(p, 1e-300) * 1e3, "p \(p) x \(x) back \(back)")
    }
    #expect(close(Normal.quantile(0.975), 1.959963984540054, 1e-15))
    #expect(Normal.quantile(0) == -.infinity && Normal.quantile(1) == .infinity && Normal.quantile(2).isNaN)
  }

  @Test func undefinedResamplesAreDroppedAndCounted() throws {
    // Three pairs: many resamples are constant, so Pearson is undefined on more than 1 %.
    let r = try Bootstrap.interval(.pearson, yTrue: [1, 2, 3], yPred: [1, 3, 2], resamples: 999, seed: 1)
    #expect(r.undefined > 10 && r.lower.isNaN && r.undefinedReason != nil, "\(r)")
    #expect(throws: MetricsError.tooFew(metric: "bootstrap", count: 1, minimum: 2)) {
      try Bootstrap.interval(.mae, yTrue: [1], yPred: [2])
    }
    #expect(throws: MetricsError.self) { try Bootstrap.interval(.mae, yTrue: [1, 2], yPred: [2, 3], level: 1.5) }
  }

  @Test func bcaOfTheMeanLikeErrorsIsFiniteAndBracketsThePoint() throws {
    for s in PairedStatistic.allCases {
      let r = try Bootstrap.interval(s, yTrue: Self.y, yPred: Self.p, resamples: 2000, seed: 3, method: .bca)
      if r.undefinedReason == nil {
        #expect(r.lower <= r.upper, "\(r)")
      }
      let basic = try Bootstrap.interval(s, yTrue: Self.y, yPred: Self.p, resamples: 2000, seed: 3, method: .basic)
      let perc = try Bootstrap.interval(s, yTrue: Self.y, yPred: Self.p, resamples: 2000, seed: 3)
      if perc.undefinedReason == nil {
        #expect(close(basic.lower, 2 * perc.point - perc.upper, 1e-14) && close(basic.upper, 2 * perc.point - perc.lower, 1e-14))
      }
    }
  }
}

extension BootstrapTests {
  /// The fast index draw (multiplication instead of division) equals the definition: r mod n,
  /// rejecting r < 2⁶⁴ mod n, for awkward n.
  @Test func fastIndexDrawEqualsTheDefinition() {
    for n in [1, 2, 3, 7, 1000, 999_983, 1 << 20, (1 << 32) + 15, (1 << 62) + 1, Int.max / 3, Int.max] {
      let fast = Bootstrap.drawIndices(n: n, count: 3000, seed: UInt64(n))
      var rng = SplitMix64(seed: UInt64(n))
      let m = UInt64(n)
      let expected = (0..<3000).map { _ in
        var r = rng.next()
        while r < (0 &- m) % m { r = rng.next() }
        return Int(r % m)
      }
      #expect(fast == expected, "n \(n)")
      var slow = SplitMix64(seed: UInt64(n))
      #expect((0..<3000).map { _ in Bootstrap.below(n, &slow) } == expected, "n \(n)")
    }
  }
}
