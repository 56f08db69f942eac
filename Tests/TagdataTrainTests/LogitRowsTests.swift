import Testing
@testable import TagdataTrain

/// The output projection and softmax run only at positions whose loss counts: the loss equals
/// the one computed from every position's logits, and a regression-only batch computes none.
@Suite struct LogitRowsTests {
  static func model() -> Model {
    var m = Model(config: ModelConfig(vocabularySize: 40, dimension: 16, layers: 2, heads: 4, feedForward: 24, keyValueHeads: 2), seed: 8)
    m.addTag("T", rows: 2, seed: 9, initialization: .tagLLM)
    m.addHead("T", seed: 10, initialization: .tagLLM)
    return m
  }

  @Test func lossEqualsTheFullComputation() throws {
    let m = Self.model()
    let tokens = [1, 5, 9, 40, 41, 3, 7, 8, 2, 11, 12, 13]
    let targets = [5, 9, 0, 0, 3, 7, 8, 0, 11, 12, 13, 0]
    let weights: [Float] = [1, 1, 0, 0, 0, 1, 1, 0, 0.5, 1, 1, 0]
    let b = Batch(batch: 2, length: 6, tokens: tokens, targets: targets, lossWeights: weights, keyMask: [Bool](repeating: true, count: 12),
                  regression: [(position: 4, head: "T", target: 0.7)])
    let restricted = m.loss(b, regressionScale: 100)
    let full = m.forward(b)
    #expect(full.logits.rows == 12)
    let (ce, _) = Ops.crossEntropy(logits: full.logits, targets: targets, weights: weights)
    #expect(abs(restricted.crossEntropy - ce) <= 1e-5 * max(1, abs(ce)), "\(restricted.crossEntropy) vs \(ce)")
    let rowsRun = m.forward(b, logitRows: Model.lossRows(b))
    #expect(rowsRun.logits.rows == 7)
    // Regression only: no logits at all, and the gradients still reach the tag.
    var r = b
    r.lossWeights = [Float](repeating: 0, count: 12)
    #expect(m.forward(r, logitRows: Model.lossRows(r)).logits.rows == 0)
    let (loss, g) = m.gradients(r, regressionScale: 100, trainable: ["tags.T", "heads.T.weight", "heads.T.bias"])
    #expect(loss.crossEntropy == 0 && loss.meanSquaredError > 0)
    #expect(g["tags.T"].data.contains { $0 != 0 } && !g.contains("lm_head.weight"))
  }
}
