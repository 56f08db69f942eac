import TagdataIO
import Testing

@testable import TagdataEval

/// The bootstrap's workers reproduce the single sequential stream, also when draws are rejected.
@Suite struct BootstrapParallelTests {
  static let y = (0..<300).map { Double(($0 * 37) % 101) / 7 }
  static let p = (0..<300).map { Double(($0 * 53) % 89) / 5 }

  @Test func workersGiveTheSequentialResult() throws {
    for s in PairedStatistic.allCases {
      let one = try Bootstrap.distribution(s, yTrue: Self.y, yPred: Self.p, resamples: 37, seed: 9, threads: 1)
      for threads in [2, 3, 8] {
        let many = try Bootstrap.distribution(s, yTrue: Self.y, yPred: Self.p, resamples: 37, seed: 9, threads: threads)
        #expect(one == many, "\(s) with \(threads) workers")
      }
    }
  }

  /// With the rejection threshold raised to 2⁶³ about half the draws are rejected: every range
  /// after the first starts at the wrong offset and must be recomputed.
  @Test func rejectedDrawsShiftTheLaterRanges() {
    let prototype = Resampler(.mae, Self.y, Self.p)
    let threshold: UInt64 = 1 << 63
    let one = Bootstrap.draw(prototype, resamples: 29, seed: 4, threads: 1, threshold: threshold)
    // The sequential reference, written out: resample b takes the next n accepted draws.
    var rng = SplitMix64(seed: 4)
    var expected: [Double] = []
    let n = Self.y.count
    for _ in 0..<29 {
      var w = [Double](repeating: 0, count: n)
      for _ in 0..<n {
        var r = rng.next()
        while r < threshold { r = rng.next() }
        w[Int(r % UInt64(n))] += 1
      }
      expected.append(zip(zip(Self.y, Self.p), w).reduce(0.0) { $0 + $1.1 * abs($1.0.0 - $1.0.1) } / Double(n))
    }
    #expect(zip(one, expected).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
    for threads in [2, 4, 7] {
      #expect(Bootstrap.draw(prototype, resamples: 29, seed: 4, threads: threads, threshold: threshold) == one, "\(threads) workers")
    }
  }
}
