import Foundation
import TagdataEval
import TagdataIO
import TestSupport
import Testing

/// `tagdata debug metrics` (the tagdata side of Scripts/bench-eval): the same point metrics as
/// `Metrics.regressionReport` and the same interval as `Bootstrap.interval` on the pairs of a
/// binary or a text file, and errors that name the file.
@Suite struct DebugMetricsCommandTests {
  struct Output: Decodable {
    var count: Int
    var metrics: [String: Double?]
    var bootstrap: Interval?
    struct Interval: Decodable {
      var lower: Double?
      var upper: Double?
      var resamples: Int
    }
  }

  static func pairs() -> ([Double], [Double]) {
    var rng = SplitMix64(seed: 99)
    let yTrue = (0..<300).map { _ in Double(rng.next() % 500) / 100 }
    let yPred = yTrue.map { $0 * 0.7 + Double(rng.next() % 1000) / 1000 }
    return (yTrue, yPred)
  }

  @Test func binaryAndTextFilesGiveTheLibrarysFigures() throws {
    let (yTrue, yPred) = Self.pairs()
    let dir = TestSupport.tempDirectory()
    var binary = Data()
    for (t, p) in zip(yTrue, yPred) {
      withUnsafeBytes(of: t.bitPattern.littleEndian) { binary.append(contentsOf: $0) }
      withUnsafeBytes(of: p.bitPattern.littleEndian) { binary.append(contentsOf: $0) }
    }
    let f64 = dir.appendingPathComponent("pairs.f64"), text = dir.appendingPathComponent("pairs.tsv")
    try binary.write(to: f64)
    try Data(("# target\tprediction\n" + zip(yTrue, yPred).map { "\($0)\t\($1)" }.joined(separator: "\n") + "\n").utf8).write(to: text)
    let point = try Metrics.regressionReport(yTrue, yPred)
    let interval = try Bootstrap.interval(.pearson, yTrue: yTrue, yPred: yPred, resamples: 200, level: 0.95, seed: 5, method: .percentile)
    for file in [f64, text] {
      let r = try TestSupport.tagdata(["debug", "metrics", file.path, "--resamples", "200", "--seed", "5", "--json"])
      #expect(r.status == 0, "\(r.stderr)")
      let out = try JSONDecoder().decode(Output.self, from: Data(r.stdout.utf8))
      #expect(out.count == 300)
      let expected = ["mse": point.mse, "rmse": point.rmse, "mae": point.mae, "r2": point.r2, "pearson": point.pearson,
                      "spearman": point.spearman, "kendall_tau_b": point.kendallTauB]
      for (name, value) in expected { #expect(out.metrics[name] == value, "\(file.lastPathComponent) \(name)") }
      #expect(out.bootstrap?.lower == interval.lower && out.bootstrap?.upper == interval.upper && out.bootstrap?.resamples == 200)
    }
  }

  @Test func badFilesAreNamed() throws {
    let dir = TestSupport.tempDirectory()
    let odd = dir.appendingPathComponent("odd.f64"), text = dir.appendingPathComponent("bad.txt")
    try Data(repeating: 0, count: 24).write(to: odd)
    try Data("1 2\n3 x\n".utf8).write(to: text)
    let r1 = try TestSupport.tagdata(["debug", "metrics", odd.path, "--json"])
    #expect(r1.status == 1 && r1.stderr.contains(odd.path) && r1.stderr.contains("24 bytes"), "\(r1.stderr)")
    let r2 = try TestSupport.tagdata(["debug", "metrics", text.path])
    #expect(r2.status == 1 && r2.stderr.contains(text.path) && r2.stderr.contains("line 2"), "\(r2.stderr)")
  }
}
