import TagdataShards

extension TokenDataset {
  /// A padded batch of examples (each cut to `length`): next-token targets where the loss mask
  /// of the following token is set, key mask false on padding.
  /// `bidirectional`: each example's spans (a domain tag and its input) attend to themselves
  /// whole, as Tag-LLM's `autoregressive_attn_mask: false`.
  public static func batch(_ examples: [Example], length: Int, pad: Int = 0, bidirectional: Bool = false) -> Batch {
    let b = examples.count
    var tokens = [Int](repeating: pad, count: b * length), targets = [Int](repeating: 0, count: b * length)
    var weights = [Float](repeating: 0, count: b * length), mask = [Bool](repeating: false, count: b * length)
    var regression: [(position: Int, head: String, target: Float)] = []
    for (s, e) in examples.enumerated() {
      let n = min(e.tokens.count, length)
      for t in 0..<n {
        tokens[s * length + t] = e.tokens[t]
        mask[s * length + t] = true
        if t + 1 < n && e.lossMask[t + 1] {
          targets[s * length + t] = e.tokens[t + 1]
          weights[s * length + t] = 1
        }
      }
      for r in e.regression where r.position < n { regression.append((s * length + r.position, r.head, Float(r.target))) }
    }
    var batch = Batch(batch: b, length: length, tokens: tokens, targets: targets, lossWeights: weights, keyMask: mask,
                      regression: regression)
    if bidirectional {
      var ends = [Int](repeating: -1, count: b * length)
      for (s, e) in examples.enumerated() {
        let n = min(e.tokens.count, length)
        for span in e.spans where span.lowerBound < n {
          let last = min(span.upperBound, n) - 1
          for p in span.lowerBound...last { ends[s * length + p] = last }
        }
      }
      batch.blockEnds = ends
    }
    return batch
  }
}

extension Model {
  /// Losses of `examples` in batches of `batch`, summed per target: the next-token cross-entropy
  /// over the target tokens and their (weighted) count, the squared error of the heads and the
  /// number of regressions. Validation and evaluation both read them.
  public func summedLosses(_ examples: [TokenDataset.Example], length: Int, batch: Int, bidirectional: Bool = false)
    -> (crossEntropy: Double, targets: Double, squaredError: Double, regressions: Double)
  {
    var ce = 0.0, targets = 0.0, se = 0.0, regressions = 0.0
    var i = 0
    while i < examples.count {
      let b = TokenDataset.batch(Array(examples[i..<min(i + batch, examples.count)]), length: length, bidirectional: bidirectional)
      let l = loss(b, regressionScale: 1)
      let weights = Double(b.lossWeights.reduce(0, +))
      ce += Double(l.crossEntropy) * weights
      targets += weights
      se += Double(l.meanSquaredError) * Double(b.regression.count)
      regressions += Double(b.regression.count)
      i += max(1, batch)
    }
    return (ce, targets, se, regressions)
  }
}
