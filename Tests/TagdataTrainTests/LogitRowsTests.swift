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

  /// Bidirectional blocks: a position inside a block sees the block's later positions, one
  /// outside sees only the past; and the gradients stay right (finite differences).
  @Test func bidirectionalBlocksSeeTheirWholeSpan() throws {
    let m = Self.model()
    var b = Batch(batch: 1, length: 8, tokens: [1, 40, 41, 5, 6, 7, 3, 4], targets: [Int](repeating: 0, count: 8),
                  lossWeights: [Float](repeating: 0, count: 8), keyMask: [Bool](repeating: true, count: 8),
                  regression: [(position: 2, head: "T", target: 0.3)])
    b.blockEnds = [-1, 5, 5, 5, 5, 5, -1, -1]  // tag T (1, 2) and its input (3...5)
    func hidden(_ t: [Int]) -> [Float] {
      var c = b
      c.tokens = t
      return m.forward(c, logitRows: []).hidden.data
    }
    let base = hidden(b.tokens), d = 16
    let inBlock = hidden([1, 40, 41, 5, 6, 9, 3, 4]), afterBlock = hidden([1, 40, 41, 5, 6, 7, 9, 4])
    #expect(Array(base[(1 * d)..<(2 * d)]) != Array(inBlock[(1 * d)..<(2 * d)]), "position 1 sees position 5")
    #expect(Array(base[0..<(6 * d)]) == Array(afterBlock[0..<(6 * d)]), "nothing before 6 sees position 6")
    #expect(Array(base[0..<d]) == Array(inBlock[0..<d]), "position 0, outside the block, stays causal")
    // Finite differences on the tag rows.
    let (_, g) = m.gradients(b, regressionScale: 100, trainable: ["tags.T"])
    for k in [0, 5, 17, 30] {
      var plus = m, minus = m
      let eps: Float = 1e-2
      plus.parameters["tags.T"].data[k] += eps
      minus.parameters["tags.T"].data[k] -= eps
      let numeric = (plus.loss(b, regressionScale: 100).total - minus.loss(b, regressionScale: 100).total) / (2 * eps)
      let analytic = g["tags.T"].data[k]
      #expect(abs(numeric - analytic) <= 2e-2 * max(1, abs(analytic)), "tags.T[\(k)]: \(numeric) vs \(analytic)")
    }
  }
}
