import TagdataEval
import TagdataIO
import TestSupport
import Testing

/// Bits given as a string of 0/1, bit i = character i (64 per word).
func bitWords(_ s: String, words: Int = 1) -> [UInt64] {
  var out = [UInt64](repeating: 0, count: words)
  for (i, c) in s.enumerated() where c == "1" { out[i / 64] |= 1 << UInt64(i % 64) }
  return out
}

/// The baselines of EVAL.md §8 on its vectors, and kNN against a brute-force reference.
@Suite struct BaselineTests {
  @Test func meanPredictorVector() throws {
    let mean = try Baselines.meanPredictor(trainTargets: [1, 2, 3, 6])
    #expect(mean == 3)
    let pred = try Baselines.meanPredictions(trainTargets: [1, 2, 3, 6], count: 3)
    let test: [Double] = [2, 4, 5]
    #expect(close(try Metrics.meanAbsoluteError(test, pred), 1.3333333333333333))
    #expect(try Metrics.meanSquaredError(test, pred) == 2.0)
    #expect(close(try Metrics.r2(test, pred), -0.2857142857142858))
    #expect(try Metrics.pearson(test, pred).isNaN)
    #expect(try Metrics.spearman(test, pred).isNaN)
    #expect(throws: MetricsError.empty(argument: "trainTargets")) { try Baselines.meanPredictor(trainTargets: []) }
  }

  @Test func tanimotoKNNVector() throws {
    let train = ["110000", "101000", "000110", "111000", "000000"].map { bitWords($0) }
    let y: [Double] = [1, 2, 3, 4, 5]
    let uniform = try TanimotoKNN(fingerprints: train, targets: y, k: 2)
    let distance = try TanimotoKNN(fingerprints: train, targets: y, k: 2, weighting: .distance)
    for (q, u, d) in [("110100", 2.5, 2.2), ("000000", 3.0, 5.0), ("110000", 2.5, 1.0)] {
      #expect(close(try uniform.predict(bitWords(q)), u, 1e-15), "\(q) uniform")
      #expect(close(try distance.predict(bitWords(q)), d, 1e-15), "\(q) distance")
    }
    #expect(try uniform.neighbours(of: bitWords("110100")).map(\.index) == [0, 3])
    #expect(try Baselines.tanimoto(bitWords(""), bitWords("")) == 1)
    #expect(try Baselines.tanimoto(bitWords("1100"), bitWords("0110")) == 1.0 / 3)
    // k larger than the training set: every row.
    let all = try TanimotoKNN(fingerprints: train, targets: y, k: 50)
    #expect(all.effectiveK == 5)
    #expect(try all.predict(bitWords("1")) == 3)
    #expect(throws: MetricsError.self) { try TanimotoKNN(fingerprints: train, targets: y, k: 0) }
    #expect(throws: MetricsError.self) { try uniform.predict([1, 2]) }
    #expect(throws: MetricsError.self) { try Baselines.tanimoto([1], [1, 2]) }
  }

  /// Neighbours and predictions equal a brute-force reference: every similarity, a stable sort by
  /// (similarity descending, index ascending), the first k.
  @Test func knnEqualsBruteForce() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 5))
    for trial in 0..<300 {
      let n = 1 + rng.below(40), words = 1 + rng.below(2), k = 1 + rng.below(8)
      let density = 1 + rng.below(6)
      func fp() -> [UInt64] {
        (0..<words).map { _ in (0..<density).reduce(UInt64.max) { acc, _ in acc & rng.next() } & (rng.below(5) == 0 ? 0 : UInt64.max) }
      }
      let train = (0..<n).map { _ in fp() }
      let y = (0..<n).map { _ in Double(rng.below(100)) / 4 }
      let query = rng.below(4) == 0 ? train[rng.below(n)] : fp()
      var sims: [(Int, Double)] = []
      for i in 0..<n { sims.append((i, try Baselines.tanimoto(query, train[i]))) }
      sims.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
      let top = Array(sims.prefix(k))
      for weighting in Baselines.Weighting.allCases {
        let model = try TanimotoKNN(fingerprints: train, targets: y, k: k, weighting: weighting)
        let got = try model.neighbours(of: query)
        #expect(got.map(\.index) == top.map(\.0), "trial \(trial)")
        var expected = top.reduce(0.0) { $0 + y[$1.0] } / Double(top.count)
        if weighting == .distance {
          let exact = top.filter { $0.1 == 1 }
          if !exact.isEmpty {
            expected = exact.reduce(0.0) { $0 + y[$1.0] } / Double(exact.count)
          } else {
            let w = top.map { 1 / (1 - $0.1) }
            expected = zip(top, w).reduce(0.0) { $0 + $1.1 * y[$1.0.0] } / w.reduce(0, +)
          }
        } else if weighting == .similarity {
          let s = top.reduce(0.0) { $0 + $1.1 }
          if s > 0 { expected = top.reduce(0.0) { $0 + $1.1 * y[$1.0] } / s }
        }
        #expect(close(try model.predict(query), expected, 1e-12), "trial \(trial) \(weighting)")
      }
    }
  }

  @Test func kmerProfiles() throws {
    let a = try KmerProfile("ACGTACGT", k: 2), b = try KmerProfile("ACGT", k: 2)
    // AC×2, CG×2, GT×2, TA×1 vs AC, CG, GT: dot 6, norms √13 and √3.
    #expect(close(try KmerProfile.cosine(a, b), 6 / (13.0.squareRoot() * 3.0.squareRoot()), 1e-15))
    #expect(try KmerProfile.cosine(a, a) == 1)
    #expect(try KmerProfile.cosine(try KmerProfile("A", k: 2), b) == 0)
    #expect(a.total == 7)
    let long = try KmerProfile("MKTAYIAKQRQISFVKSHFSRQ", k: 12), long2 = try KmerProfile("MKTAYIAKQRQISFVKSHFSRA", k: 12)
    #expect(close(try KmerProfile.cosine(long, long2), 10.0 / 11, 1e-15))
    #expect(throws: MetricsError.self) { try KmerProfile("ACGT", k: 17) }
    let knn = try KmerKNN(sequences: ["ACGTACGT", "TTTTTTTT", "ACGAACGA"].map { Array($0.utf8) }, targets: [1, 2, 3], kmer: 2, k: 1)
    #expect(try knn.predict(Array("ACGTAC".utf8)) == 1)
    #expect(try knn.predict(Array("TTTT".utf8)) == 2)
    // Brute force: cosine of dense count vectors over all 2-mers of the alphabet.
    var rng = SplitMix64(seed: 3)
    for _ in 0..<200 {
      let s1 = (0..<rng.below(30)).map { _ in Array("ACGT".utf8)[rng.below(4)] }
      let s2 = (0..<rng.below(30)).map { _ in Array("ACGT".utf8)[rng.below(4)] }
      let kk = 1 + rng.below(3)
      var c1: [[UInt8]: Double] = [:], c2: [[UInt8]: Double] = [:]
      if s1.count >= kk { for i in 0...(s1.count - kk) { c1[Array(s1[i..<(i + kk)]), default: 0] += 1 } }
      if s2.count >= kk { for i in 0...(s2.count - kk) { c2[Array(s2[i..<(i + kk)]), default: 0] += 1 } }
      let dot = c1.reduce(0.0) { $0 + $1.value * (c2[$1.key] ?? 0) }
      let n1 = c1.values.reduce(0.0) { $0 + $1 * $1 }.squareRoot(), n2 = c2.values.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
      let expected = n1 == 0 || n2 == 0 ? 0 : dot / (n1 * n2)
      #expect(close(try KmerProfile.cosine(try KmerProfile(s1, k: kk), try KmerProfile(s2, k: kk)), expected, 1e-14))
    }
  }
}
