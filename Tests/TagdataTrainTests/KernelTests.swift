import Testing
@testable import TagdataTrain

/// Central finite differences of a scalar function, compared with an analytic gradient:
/// |numeric − analytic| ≤ 2e-3 + 3e-2 · max(|numeric|, |analytic|) at every checked element.
func checkGradient(_ name: String, at x: Tensor, analytic: Tensor, eps: Float = 1e-2, limit: Int = 400,
                   _ f: (Tensor) -> Double)
{
  #expect(analytic.shape == x.shape, "\(name): gradient shape")
  let stride = max(1, x.count / limit)
  var checked = 0
  for i in Swift.stride(from: 0, to: x.count, by: stride) {
    var plus = x, minus = x
    plus.data[i] += eps
    minus.data[i] -= eps
    let numeric = Float((f(plus) - f(minus)) / Double(2 * eps))
    let a = analytic.data[i]
    let error = abs(numeric - a) - 3e-2 * max(abs(numeric), abs(a))
    #expect(error <= 2e-3, "\(name)[\(i)]: finite difference \(numeric), analytic \(a)")
    checked += 1
  }
  #expect(checked > 0)
}

/// Σ y ⊙ r in double precision: a scalar whose gradient with respect to y is r.
func project(_ y: Tensor, _ r: Tensor) -> Double {
  var s = 0.0
  for i in y.data.indices { s += Double(y.data[i]) * Double(r.data[i]) }
  return s
}

@Suite struct GemmTests {
  /// OpenBLAS and the reference loop agree for every transpose combination, with strided
  /// operands (leading dimension larger than the row) and alpha/beta.
  /// m = 1 goes through the matrix-vector product (a decoding step), the rest through sgemm.
  @Test(arguments: [(false, false, 37), (false, true, 37), (true, false, 37), (true, true, 37),
                    (false, false, 1), (false, true, 1), (true, false, 1), (true, true, 1)])
  func openBLASMatchesTheReference(transA: Bool, transB: Bool, m: Int) {
    Gemm.setThreads(1)
    let (n, k) = (29, 53)
    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 2
    let a = Tensor.random([(transA ? k : m) * lda], scale: 1, seed: 1).data
    let b = Tensor.random([(transB ? n : k) * ldb], scale: 1, seed: 2).data
    var c1 = Tensor.random([m * ldc], scale: 1, seed: 3).data
    var c2 = c1
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c1.withUnsafeMutableBufferPointer { pc in
          Gemm.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: pa.baseAddress!, lda: lda,
                     b: pb.baseAddress!, ldb: ldb, beta: 0.3, c: pc.baseAddress!, ldc: ldc)
        }
        c2.withUnsafeMutableBufferPointer { pc in
          Gemm.reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: pa.baseAddress!, lda: lda,
                         b: pb.baseAddress!, ldb: ldb, beta: 0.3, c: pc.baseAddress!, ldc: ldc)
        }
      }
    }
    var worst: Float = 0
    for i in 0..<m { for j in 0..<n { worst = max(worst, abs(c1[i * ldc + j] - c2[i * ldc + j])) } }
    #expect(worst < 1e-4)
    // Padding columns are untouched.
    #expect(c1[ldc - 1] == c2[ldc - 1])
  }
}

@Suite struct GradientChecks {
  @Test func linear() {
    let x = Tensor.random([6, 5], scale: 1, seed: 11), w = Tensor.random([4, 5], scale: 1, seed: 12)
    let r = Tensor.random([6, 4], scale: 1, seed: 13)
    var dw = Tensor(zeros: w.shape)
    let dx = Ops.linearBackward(r, x, w, dw: &dw)
    checkGradient("linear dx", at: x, analytic: dx) { project(Ops.linear($0, w), r) }
    checkGradient("linear dW", at: w, analytic: dw) { project(Ops.linear(x, $0), r) }
  }

  @Test func rmsNorm() {
    let x = Tensor.random([5, 8], scale: 1, seed: 21), g = Tensor.random([8], scale: 1, seed: 22)
    let r = Tensor.random([5, 8], scale: 1, seed: 23)
    let (_, inv) = Ops.rmsNorm(x, g, eps: 1e-5)
    var dg = Tensor(zeros: g.shape)
    let dx = Ops.rmsNormBackward(r, x, g, inverseRMS: inv, dg: &dg)
    checkGradient("rmsnorm dx", at: x, analytic: dx) { project(Ops.rmsNorm($0, g, eps: 1e-5).y, r) }
    checkGradient("rmsnorm dg", at: g, analytic: dg) { project(Ops.rmsNorm(x, $0, eps: 1e-5).y, r) }
  }

  @Test func swiGLU() {
    let a = Tensor.random([4, 6], scale: 2, seed: 31), b = Tensor.random([4, 6], scale: 2, seed: 32)
    let r = Tensor.random([4, 6], scale: 1, seed: 33)
    let (da, db) = Ops.swiGLUBackward(r, a, b)
    checkGradient("swiglu da", at: a, analytic: da) { project(Ops.swiGLU($0, b), r) }
    checkGradient("swiglu db", at: b, analytic: db) { project(Ops.swiGLU(a, $0), r) }
  }

  @Test func rope() {
    let x = Tensor.random([6, 8], scale: 1, seed: 41)
    let positions = [0, 1, 2, 0, 5, 9]
    let r = Tensor.random([6, 8], scale: 1, seed: 42)
    let dx = Ops.rope(r, heads: 2, positions: positions, base: 10_000, inverse: true)
    checkGradient("rope dx", at: x, analytic: dx) { project(Ops.rope($0, heads: 2, positions: positions, base: 10_000), r) }
    // Position 0 is the identity; rotation keeps norms.
    let y = Ops.rope(x, heads: 2, positions: positions, base: 10_000)
    #expect(Array(y.data[0..<8]) == Array(x.data[0..<8]))
    let n0 = x.data[8..<16].reduce(0) { $0 + $1 * $1 }, n1 = y.data[8..<16].reduce(0) { $0 + $1 * $1 }
    #expect(abs(n0 - n1) < 1e-4)
  }

  /// Causal attention with a padded sequence: gradients of q, k and v, and no attention to
  /// later or padded positions.
  @Test func attention() {
    let (batch, length, heads, hd) = (2, 5, 2, 4)
    let shape = [batch * length, heads * hd]
    let q = Tensor.random(shape, scale: 1, seed: 51), k = Tensor.random(shape, scale: 1, seed: 52)
    let v = Tensor.random(shape, scale: 1, seed: 53), r = Tensor.random(shape, scale: 1, seed: 54)
    let mask = [true, true, true, true, true, true, true, true, false, false]
    func run(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
      Ops.attention(q: q, k: k, v: v, batch: batch, length: length, heads: heads, keyMask: mask).0
    }
    let (_, cache) = Ops.attention(q: q, k: k, v: v, batch: batch, length: length, heads: heads, keyMask: mask)
    let (dq, dk, dv) = Ops.attentionBackward(r, q: q, k: k, v: v, cache: cache, batch: batch, length: length, heads: heads)
    checkGradient("attention dq", at: q, analytic: dq) { project(run($0, k, v), r) }
    checkGradient("attention dk", at: k, analytic: dk) { project(run(q, $0, v), r) }
    checkGradient("attention dv", at: v, analytic: dv) { project(run(q, k, $0), r) }
    // Causality: changing a later position of v does not change earlier outputs.
    var v2 = v
    v2.data[(length - 1) * heads * hd] += 1
    let y1 = run(q, k, v), y2 = run(q, k, v2)
    #expect(Array(y1.data[0..<((length - 1) * heads * hd)]) == Array(y2.data[0..<((length - 1) * heads * hd)]))
    // Padding: padded keys get no weight.
    for row in 0..<length { #expect(cache.probabilities[2][row * length + 3] == 0 && cache.probabilities[2][row * length + 4] == 0) }
  }

  @Test func crossEntropy() {
    let logits = Tensor.random([5, 7], scale: 3, seed: 61)
    let targets = [0, 3, 6, 2, 1], weights: [Float] = [1, 0, 1, 1, 0]
    let (loss, d) = Ops.crossEntropy(logits: logits, targets: targets, weights: weights)
    #expect(loss > 0)
    checkGradient("cross-entropy", at: logits, analytic: d) {
      Double(Ops.crossEntropy(logits: $0, targets: targets, weights: weights).loss)
    }
    // Masked rows get no gradient.
    #expect(d.data[7..<14].allSatisfy { $0 == 0 })
  }

  @Test func meanSquaredError() {
    let p = Tensor.random([6], scale: 2, seed: 71), t = Tensor.random([6], scale: 2, seed: 72)
    let (_, d) = Ops.meanSquaredError(p.data, t.data)
    checkGradient("mse", at: p, analytic: Tensor(shape: [6], data: d)) { Double(Ops.meanSquaredError($0.data, t.data).loss) }
  }
}

@Suite struct ModelGradientTests {
  /// A whole small model with a tag of 2 virtual tokens and a regression head reading the tag's
  /// last token: every parameter tensor's gradient (sampled elements) against finite
  /// differences of the full loss (cross-entropy + 100 × MSE), with a padded sequence.
  @Test func wholeModelWithTagsAndHeads() {
    var model = Model(config: ModelConfig(vocabularySize: 11, dimension: 8, layers: 2, heads: 2, feedForward: 12), seed: 7)
    let tag = model.addTag("QED", rows: 2, seed: 99)
    model.addHead("QED", seed: 98)
    let tokens = [1, 2, 3, tag, tag + 1, 4, 5, 6, 7, 0]
    let targets = [2, 3, 0, 0, 0, 5, 6, 7, 0, 0]
    let weights: [Float] = [1, 1, 0, 0, 0, 1, 1, 1, 0, 0]
    let mask = [true, true, true, true, true, true, true, true, false, false]
    let batch = Batch(batch: 2, length: 5, tokens: tokens, targets: targets, lossWeights: weights, keyMask: mask,
                      regression: [(position: 4, head: "QED", target: 0.7)])
    let (loss, grads) = model.gradients(batch, regressionScale: 100)
    #expect(loss.crossEntropy > 0 && loss.meanSquaredError > 0)
    for name in model.parameters.names {
      let x = model.parameters[name]
      checkGradient(name, at: x, analytic: grads[name], eps: 5e-3, limit: 12) { t in
        var m = model
        m.parameters[name] = t
        return Double(m.loss(batch, regressionScale: 100).total)
      }
    }
    // Rows of tokens that do not occur get no gradient; the tag rows do.
    #expect(grads["model.embed_tokens.weight"].data[8 * 8..<9 * 8].allSatisfy { $0 == 0 })
    #expect(grads["tags.QED"].data.contains { $0 != 0 })
  }
}

/// Grouped-query and multi-query attention, an explicit head width, Q/K/V biases, scaled RoPE
/// and Mistral's sliding window: the same finite-difference checks.
@Suite struct GroupedQueryGradientChecks {
  /// Attention with 4 query heads over `kvHeads` key/value heads (shared K/V gradients sum over
  /// their group), with and without a sliding window.
  @Test(arguments: [(2, nil), (1, nil), (4, nil), (2, 2)] as [(Int, Int?)])
  func attention(kvHeads: Int, window: Int?) {
    let (batch, length, heads, hd) = (2, 5, 4, 4)
    let q = Tensor.random([batch * length, heads * hd], scale: 1, seed: 151)
    let k = Tensor.random([batch * length, kvHeads * hd], scale: 1, seed: 152)
    let v = Tensor.random([batch * length, kvHeads * hd], scale: 1, seed: 153)
    let r = Tensor.random([batch * length, heads * hd], scale: 1, seed: 154)
    let mask = [true, true, true, true, true, true, true, true, false, false]
    func run(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
      Ops.attention(q: q, k: k, v: v, batch: batch, length: length, heads: heads, keyMask: mask, window: window).0
    }
    let (_, cache) = Ops.attention(q: q, k: k, v: v, batch: batch, length: length, heads: heads, keyMask: mask, window: window)
    let (dq, dk, dv) = Ops.attentionBackward(r, q: q, k: k, v: v, cache: cache, batch: batch, length: length, heads: heads)
    checkGradient("gqa dq", at: q, analytic: dq) { project(run($0, k, v), r) }
    checkGradient("gqa dk", at: k, analytic: dk) { project(run(q, $0, v), r) }
    checkGradient("gqa dv", at: v, analytic: dv) { project(run(q, k, $0), r) }
    // Each query head equals plain attention against its own copy of the shared K/V head.
    let group = heads / kvHeads
    func expand(_ t: Tensor) -> Tensor {
      var out = Tensor(zeros: [t.rows, heads * hd])
      for row in 0..<t.rows { for h in 0..<heads { for j in 0..<hd { out.data[row * heads * hd + h * hd + j] = t.data[row * kvHeads * hd + (h / group) * hd + j] } } }
      return out
    }
    let plain = Ops.attention(q: q, k: expand(k), v: expand(v), batch: batch, length: length, heads: heads, keyMask: mask,
                              window: window).0
    #expect(zip(plain.data, run(q, k, v).data).allSatisfy { abs($0 - $1) < 1e-6 })
    if let window {
      // Row 4 sees only rows 3 and 4.
      for h in 0..<heads { #expect(cache.probabilities[h][4 * length + 0] == 0 && cache.probabilities[h][4 * length + 2] == 0) }
      #expect(cache.probabilities[0][4 * length + 3] > 0 && window == 2)
    }
  }

  @Test func linearWithBias() {
    let x = Tensor.random([6, 5], scale: 1, seed: 161), w = Tensor.random([4, 5], scale: 1, seed: 162)
    let b = Tensor.random([4], scale: 1, seed: 163), r = Tensor.random([6, 4], scale: 1, seed: 164)
    var db = Tensor(zeros: [4])
    Ops.biasBackward(r, db: &db)
    checkGradient("bias", at: b, analytic: db) { project(Ops.linear(x, w, bias: $0), r) }
    var dw = Tensor(zeros: w.shape)
    #expect(Ops.linearInputGradient(r, w) == Ops.linearBackward(r, x, w, dw: &dw))
  }

  static func scaledConfig(_ scaling: ModelConfig.RopeScaling?, kvHeads: Int, headDimension: Int?, bias: Bool,
                           window: Int? = nil) -> ModelConfig
  {
    var c = ModelConfig(vocabularySize: 11, dimension: 8, layers: 2, heads: 4, feedForward: 12, keyValueHeads: kvHeads,
                        headDimension: headDimension)
    c.attentionBias = bias
    c.outputBias = bias
    c.ropeScaling = scaling
    c.maxPositions = 3
    c.slidingWindow = window
    return c
  }

  /// Whole models (tags, heads, padding) with GQA/MQA, head_dim 4 ≠ 8/4 = 2, biases, scaled RoPE
  /// and a sliding window: every parameter's gradient against finite differences of the loss.
  @Test(arguments: [
    scaledConfig(nil, kvHeads: 2, headDimension: 4, bias: true),
    scaledConfig(.llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8), kvHeads: 1,
                 headDimension: nil, bias: false),
    scaledConfig(.dynamic(factor: 2), kvHeads: 2, headDimension: 6, bias: false, window: 3),
    scaledConfig(.linear(factor: 4), kvHeads: 4, headDimension: nil, bias: true),
  ])
  func wholeModel(config: ModelConfig) {
    var model = Model(config: config, seed: 17)
    let tag = model.addTag("QED", rows: 2, seed: 99)
    model.addHead("QED", seed: 98)
    let tokens = [1, 2, 3, tag, tag + 1, 4, 5, 6, 7, 0]
    let targets = [2, 3, 0, 0, 0, 5, 6, 7, 0, 0]
    let weights: [Float] = [1, 1, 0, 0, 0, 1, 1, 1, 0, 0]
    let mask = [true, true, true, true, true, true, true, true, false, false]
    let batch = Batch(batch: 2, length: 5, tokens: tokens, targets: targets, lossWeights: weights, keyMask: mask,
                      regression: [(position: 4, head: "QED", target: 0.7)])
    let (loss, grads) = model.gradients(batch, regressionScale: 1)
    #expect(loss.crossEntropy > 0 && loss.meanSquaredError > 0)
    #expect(model.parameters["model.layers.0.self_attn.k_proj.weight"].shape == [config.keyValueHeads * config.headDimension, 8])
    for name in model.parameters.names {
      let x = model.parameters[name]
      checkGradient(name, at: x, analytic: grads[name], eps: 5e-3, limit: 12) { t in
        var m = model
        m.parameters[name] = t
        return Double(m.loss(batch, regressionScale: 1).total)
      }
    }
  }

  /// Gradients of a trainable subset equal the full computation's bit for bit, and the result
  /// holds only the subset.
  @Test(arguments: [["tags.QED"], ["heads.QED.weight", "heads.QED.bias"], ["model.layers.1.self_attn.k_proj.bias", "tags.QED"],
                    ["model.layers.1.mlp.up_proj.weight"]])
  func trainableSubsetIsBitIdentical(names: [String]) {
    var model = Model(config: Self.scaledConfig(.dynamic(factor: 2), kvHeads: 2, headDimension: 4, bias: true), seed: 5)
    let tag = model.addTag("QED", rows: 2, seed: 9)
    model.addHead("QED", seed: 8)
    let batch = Batch(batch: 2, length: 5, tokens: [1, 2, 3, tag, tag + 1, 4, 5, 6, 7, 0], targets: [2, 3, 0, 0, 0, 5, 6, 7, 0, 0],
                      lossWeights: [1, 1, 0, 0, 0, 1, 1, 1, 0, 0], keyMask: [true, true, true, true, true, true, true, true, false, false],
                      regression: [(position: 4, head: "QED", target: 0.7)])
    let (fullLoss, full) = model.gradients(batch, regressionScale: 100)
    let (loss, part) = model.gradients(batch, regressionScale: 100, trainable: Set(names))
    #expect(loss.total == fullLoss.total)
    #expect(Set(part.names) == Set(names))
    for name in names { #expect(part[name] == full[name], "\(name)") }
    #expect(names.allSatisfy { full[$0].data.contains { $0 != 0 } })
  }
}
