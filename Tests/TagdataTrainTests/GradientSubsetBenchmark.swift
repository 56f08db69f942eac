import Foundation
import Testing
@testable import TagdataTrain

/// Time and gradient memory of the full backward pass against a trainable subset (Tag-LLM's
/// tag and head stages train a few rows on a frozen base), on a model of about 10M parameters.
/// Run with TAGDATA_BENCH=1 (prints the figures; the assertions are only on the results).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TAGDATA_BENCH"] == "1"))
struct GradientSubsetBenchmark {
  @Test func tenMillionParameters() {
    Gemm.setThreads(1)
    var config = ModelConfig(vocabularySize: 8192, dimension: 256, layers: 8, heads: 8, feedForward: 688, keyValueHeads: 2)
    config.ropeScaling = .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64)
    var model = Model(config: config, seed: 1)
    let tag = model.addTag("Protein", rows: 4, seed: 2)
    model.addHead("QED", seed: 3)
    let count = model.parameters.names.reduce(0) { $0 + model.parameters[$1].count }
    let (batch, length) = (4, 128)
    var tokens: [Int] = []
    for s in 0..<batch { tokens += [tag, tag + 1, tag + 2, tag + 3] + (0..<(length - 4)).map { ($0 * 31 + s * 7) % 8192 } }
    let b = Batch(batch: batch, length: length, tokens: tokens, targets: tokens.map { $0 % 8192 },
                  lossWeights: [Float](repeating: 1, count: batch * length), keyMask: [Bool](repeating: true, count: batch * length),
                  regression: (0..<batch).map { (position: $0 * length + 3, head: "QED", target: 0.5) })
    // The best of three runs.
    func time(_ f: () -> Void) -> Double {
      (0..<3).map { _ in
        let start = DispatchTime.now().uptimeNanoseconds
        f()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      }.min()!
    }
    var full: Parameters = Parameters()
    _ = model.gradients(b, regressionScale: 100)  // warm-up
    let tFull = time { full = model.gradients(b, regressionScale: 100).1 }
    let subsets: [(String, Set<String>)] = [
      ("tags + head", ["tags.Protein", "heads.QED.weight", "heads.QED.bias"]),
      ("head only", ["heads.QED.weight", "heads.QED.bias"]),
      ("last layer", Set(model.parameters.names.filter { $0.hasPrefix("model.layers.7.") })),
    ]
    let tForward = time { _ = model.loss(b, regressionScale: 100) }
    var lines = ["forward and loss only: \(String(format: "%.3f", tForward)) s","\(count) parameters, batch \(batch) × \(length): full gradients \(String(format: "%.3f", tFull)) s, "
                   + "gradient buffers \(full.names.reduce(0) { $0 + full[$1].count } * 4 / 1_000_000) MB"]
    for (label, names) in subsets {
      var part = Parameters()
      let t = time { part = model.gradients(b, regressionScale: 100, trainable: names).1 }
      for n in names { #expect(part[n] == full[n], "\(n)") }
      lines.append("\(label): \(String(format: "%.3f", t)) s, gradient buffers \(part.names.reduce(0) { $0 + part[$1].count } * 4) bytes")
    }
    print(lines.joined(separator: "\n"))
  }
}
