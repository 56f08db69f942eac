/// The shape of a LLaMA-style decoder.
public struct ModelConfig: Codable, Sendable, Equatable {
  public var vocabularySize: Int
  public var dimension: Int
  public var layers: Int
  public var heads: Int
  /// Hidden width of the SwiGLU MLP.
  public var feedForward: Int
  public var ropeBase: Float = 10_000
  public var normEpsilon: Float = 1e-5

  public init(vocabularySize: Int, dimension: Int, layers: Int, heads: Int, feedForward: Int) {
    self.vocabularySize = vocabularySize
    self.dimension = dimension
    self.layers = layers
    self.heads = heads
    self.feedForward = feedForward
  }
}

/// Named tensors in a fixed order. Base-model names follow the Hugging Face LLaMA layout
/// (`model.layers.0.self_attn.q_proj.weight`, ...); Tag-LLM's additions are `tags.NAME`
/// (p rows of input embeddings per tag) and `heads.NAME.weight` / `heads.NAME.bias` (a linear
/// regression head per numeric function tag).
public struct Parameters: Sendable, Equatable {
  public private(set) var names: [String] = []
  public private(set) var tensors: [String: Tensor] = [:]

  public init() {}

  public subscript(_ name: String) -> Tensor {
    get { tensors[name]! }
    set {
      if tensors[name] == nil { names.append(name) }
      tensors[name] = newValue
    }
    // In-place element updates (`g[name].data[i] += x`) of an existing tensor, without a copy.
    _modify {
      precondition(tensors[name] != nil, "no parameter \(name)")
      yield &tensors[name]!
    }
  }

  public func contains(_ name: String) -> Bool { tensors[name] != nil }

  /// The same names with zero tensors (gradient accumulators).
  public func zeros() -> Parameters {
    var z = Parameters()
    for n in names { z[n] = Tensor(zeros: tensors[n]!.shape) }
    return z
  }
}

/// One training or evaluation batch: `batch` sequences of `length` tokens, padded.
public struct Batch: Sendable {
  public var batch: Int
  public var length: Int
  /// Token ids, `batch × length`; ids at or past the base vocabulary are tag tokens.
  public var tokens: [Int]
  /// Next-token targets per position (ignored where the weight is 0).
  public var targets: [Int]
  /// Weight of each position's next-token loss (0 for prompts, tags and padding).
  public var lossWeights: [Float]
  /// False for padding positions (no attention to them).
  public var keyMask: [Bool]
  /// Regression targets: the position whose hidden state feeds the head, the head, the value.
  public var regression: [(position: Int, head: String, target: Float)]

  public init(batch: Int, length: Int, tokens: [Int], targets: [Int], lossWeights: [Float], keyMask: [Bool],
              regression: [(position: Int, head: String, target: Float)] = [])
  {
    self.batch = batch
    self.length = length
    self.tokens = tokens
    self.targets = targets
    self.lossWeights = lossWeights
    self.keyMask = keyMask
    self.regression = regression
  }
}

/// A decoder-only transformer with Tag-LLM's input tags and regression heads.
public struct Model: Sendable {
  public var config: ModelConfig
  public var parameters: Parameters
  /// Tags in id order: tag `tagOrder[i]` owns ids `vocabularySize + tagOffsets[i] ..< + rows`.
  public private(set) var tagOrder: [String] = []
  public private(set) var tagOffsets: [Int] = []
  public private(set) var tagRows: [Int] = []

  public static func layerName(_ l: Int, _ part: String) -> String { "model.layers.\(l).\(part)" }

  /// A model with deterministic initial weights from `seed`: projections uniform with scale
  /// 1/sqrt(fan-in), embeddings with scale 0.02... (kept small so that untrained logits are
  /// near uniform), norms at 1.
  public init(config: ModelConfig, seed: UInt64) {
    self.config = config
    var p = Parameters()
    var s = seed
    func next() -> UInt64 { s &+= 1; return s }
    let d = config.dimension, f = config.feedForward
    p["model.embed_tokens.weight"] = Tensor.random([config.vocabularySize, d], scale: 0.5, seed: next())
    for l in 0..<config.layers {
      p[Self.layerName(l, "input_layernorm.weight")] = Tensor(shape: [d], data: [Float](repeating: 1, count: d))
      for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] {
        p[Self.layerName(l, "self_attn.\(proj).weight")] = Tensor.random([d, d], scale: 1 / Float(d).squareRoot(), seed: next())
      }
      p[Self.layerName(l, "post_attention_layernorm.weight")] = Tensor(shape: [d], data: [Float](repeating: 1, count: d))
      p[Self.layerName(l, "mlp.gate_proj.weight")] = Tensor.random([f, d], scale: 1 / Float(d).squareRoot(), seed: next())
      p[Self.layerName(l, "mlp.up_proj.weight")] = Tensor.random([f, d], scale: 1 / Float(d).squareRoot(), seed: next())
      p[Self.layerName(l, "mlp.down_proj.weight")] = Tensor.random([d, f], scale: 1 / Float(f).squareRoot(), seed: next())
    }
    p["model.norm.weight"] = Tensor(shape: [d], data: [Float](repeating: 1, count: d))
    p["lm_head.weight"] = Tensor.random([config.vocabularySize, d], scale: 1 / Float(d).squareRoot(), seed: next())
    parameters = p
  }

  /// Adds a tag of `rows` virtual tokens (Tag-LLM's p), initialized from `seed`; returns its
  /// first token id.
  @discardableResult
  public mutating func addTag(_ name: String, rows: Int, seed: UInt64) -> Int {
    precondition(!tagOrder.contains(name), "tag \(name) exists")
    let offset = (tagOffsets.last ?? 0) + (tagRows.last ?? 0)
    tagOrder.append(name)
    tagOffsets.append(offset)
    tagRows.append(rows)
    parameters["tags.\(name)"] = Tensor.random([rows, config.dimension], scale: 0.5, seed: seed)
    return config.vocabularySize + offset
  }

  /// Token ids of a tag's virtual tokens, in order.
  public func tagTokens(_ name: String) -> [Int] {
    guard let i = tagOrder.firstIndex(of: name) else { return [] }
    return (0..<tagRows[i]).map { config.vocabularySize + tagOffsets[i] + $0 }
  }

  /// Grows the base vocabulary to `size` tokens (a domain tokenizer added tokens): new rows of
  /// the token embedding and of the LM head, initialized from `seed`. Tag ids move up with the
  /// vocabulary. Returns the first new id.
  @discardableResult
  public mutating func growVocabulary(to size: Int, seed: UInt64) -> Int {
    let old = config.vocabularySize, d = config.dimension
    precondition(size >= old, "the vocabulary cannot shrink")
    guard size > old else { return old }
    let added = size - old
    var embed = parameters["model.embed_tokens.weight"], head = parameters["lm_head.weight"]
    embed.data += Tensor.random([added, d], scale: 0.5, seed: seed).data
    embed.shape = [size, d]
    head.data += Tensor.random([added, d], scale: 1 / Float(d).squareRoot(), seed: seed &+ 1).data
    head.shape = [size, d]
    parameters["model.embed_tokens.weight"] = embed
    parameters["lm_head.weight"] = head
    config.vocabularySize = size
    return old
  }

  /// Adds a linear regression head reading a hidden state of the model's width.
  public mutating func addHead(_ name: String, seed: UInt64) {
    parameters["heads.\(name).weight"] = Tensor.random([1, config.dimension], scale: 1 / Float(config.dimension).squareRoot(), seed: seed)
    parameters["heads.\(name).bias"] = Tensor(zeros: [1])
  }

  /// The embedding row of a token id: a base vocabulary row or a tag row.
  func embeddingRow(_ id: Int) -> (name: String, row: Int) {
    if id < config.vocabularySize { return ("model.embed_tokens.weight", id) }
    let t = id - config.vocabularySize
    for (i, name) in tagOrder.enumerated() where t >= tagOffsets[i] && t < tagOffsets[i] + tagRows[i] {
      return ("tags.\(name)", t - tagOffsets[i])
    }
    preconditionFailure("token id \(id) is neither in the vocabulary nor a tag")
  }

  /// What the forward pass keeps for the backward pass.
  struct LayerCache {
    var x: Tensor, h1: Tensor, inv1: [Float], q: Tensor, k: Tensor, v: Tensor, attention: Ops.AttentionCache, a: Tensor
    var x2: Tensor, h2: Tensor, inv2: [Float], gate: Tensor, up: Tensor, gateSigmoid: [Float], m: Tensor
  }

  public struct Output {
    public var logits: Tensor
    /// Final normed hidden states, one row per position.
    public var hidden: Tensor
    /// Regression predictions, in the batch's order.
    public var predictions: [Float]
    var layers: [LayerCache]
    var last: Tensor
    var invFinal: [Float]
    var rope: Ops.RopeTable
  }

  public func forward(_ b: Batch) -> Output {
    let d = config.dimension, n = b.batch * b.length
    var x = Tensor(zeros: [n, d])
    for (i, id) in b.tokens.enumerated() {
      let (name, row) = embeddingRow(id)
      let e = parameters[name]
      for j in 0..<d { x.data[i * d + j] = e.data[row * d + j] }
    }
    let positions = (0..<n).map { $0 % b.length }
    let table = Ops.RopeTable(headDimension: d / config.heads, positions: b.length, base: config.ropeBase)
    var caches: [LayerCache] = []
    for l in 0..<config.layers {
      let p = { (part: String) in self.parameters[Self.layerName(l, part)] }
      let (h1, inv1) = Ops.rmsNorm(x, p("input_layernorm.weight"), eps: config.normEpsilon)
      let q = Ops.rope(Ops.linear(h1, p("self_attn.q_proj.weight")), heads: config.heads, table: table, positions: positions)
      let k = Ops.rope(Ops.linear(h1, p("self_attn.k_proj.weight")), heads: config.heads, table: table, positions: positions)
      let v = Ops.linear(h1, p("self_attn.v_proj.weight"))
      let (a, cache) = Ops.attention(q: q, k: k, v: v, batch: b.batch, length: b.length, heads: config.heads, keyMask: b.keyMask)
      var x2 = Ops.linear(a, p("self_attn.o_proj.weight"))
      x2.add(x)
      let (h2, inv2) = Ops.rmsNorm(x2, p("post_attention_layernorm.weight"), eps: config.normEpsilon)
      let gate = Ops.linear(h2, p("mlp.gate_proj.weight")), up = Ops.linear(h2, p("mlp.up_proj.weight"))
      let (m, gateSigmoid) = Ops.swiGLUWithSigmoid(gate, up)
      var x3 = Ops.linear(m, p("mlp.down_proj.weight"))
      x3.add(x2)
      caches.append(LayerCache(x: x, h1: h1, inv1: inv1, q: q, k: k, v: v, attention: cache, a: a, x2: x2, h2: h2, inv2: inv2,
                               gate: gate, up: up, gateSigmoid: gateSigmoid, m: m))
      x = x3
    }
    let (hidden, invFinal) = Ops.rmsNorm(x, parameters["model.norm.weight"], eps: config.normEpsilon)
    let logits = Ops.linear(hidden, parameters["lm_head.weight"])
    var predictions: [Float] = []
    for r in b.regression {
      let w = parameters["heads.\(r.head).weight"], bias = parameters["heads.\(r.head).bias"]
      var s = bias.data[0]
      for j in 0..<d { s += w.data[j] * hidden.data[r.position * d + j] }
      predictions.append(s)
    }
    return Output(logits: logits, hidden: hidden, predictions: predictions, layers: caches, last: x, invFinal: invFinal,
                  rope: table)
  }

  /// The loss: weighted next-token cross-entropy plus `regressionScale` × MSE of the heads
  /// (Tag-LLM used 100).
  public struct Loss: Sendable {
    public var crossEntropy: Float
    public var meanSquaredError: Float
    public var total: Float
  }

  public func loss(_ b: Batch, regressionScale: Float) -> Loss {
    let out = forward(b)
    return lossTerms(out, b, regressionScale: regressionScale, normalizers: nil).0
  }

  /// Divisors of the two loss terms for a shard of a larger batch: the whole batch's total
  /// loss weight and regression count.
  public struct Normalizers: Sendable {
    public var crossEntropy: Float
    public var regression: Float
    public init(crossEntropy: Float, regression: Float) {
      self.crossEntropy = crossEntropy
      self.regression = regression
    }
  }

  func lossTerms(_ out: Output, _ b: Batch, regressionScale: Float, normalizers: Normalizers?) -> (Loss, Tensor, [Float]) {
    let (ce, dLogits) = Ops.crossEntropy(logits: out.logits, targets: b.targets, weights: b.lossWeights,
                                         normalizer: normalizers?.crossEntropy)
    var mse: Float = 0
    var dPred = [Float](repeating: 0, count: out.predictions.count)
    if !out.predictions.isEmpty {
      let r = Ops.meanSquaredError(out.predictions, b.regression.map(\.target), normalizer: normalizers?.regression)
      mse = r.loss
      dPred = r.dPrediction.map { $0 * regressionScale }
    }
    return (Loss(crossEntropy: ce, meanSquaredError: mse, total: ce + regressionScale * mse), dLogits, dPred)
  }

  /// Loss and gradients of every parameter (frozen ones are the optimizer's business). With
  /// `normalizers`, the batch is a shard of a larger one (see ``Normalizers``).
  public func gradients(_ b: Batch, regressionScale: Float, normalizers: Normalizers? = nil) -> (Loss, Parameters) {
    let out = forward(b)
    let (loss, dLogits, dPred) = lossTerms(out, b, regressionScale: regressionScale, normalizers: normalizers)
    var g = parameters.zeros()
    let d = config.dimension
    var dHidden = Ops.linearBackward(dLogits, out.hidden, parameters["lm_head.weight"], dw: &g["lm_head.weight"])
    for (k, r) in b.regression.enumerated() {
      let w = parameters["heads.\(r.head).weight"]
      g["heads.\(r.head).bias"].data[0] += dPred[k]
      for j in 0..<d {
        g["heads.\(r.head).weight"].data[j] += dPred[k] * out.hidden.data[r.position * d + j]
        dHidden.data[r.position * d + j] += dPred[k] * w.data[j]
      }
    }
    var dx = Ops.rmsNormBackward(dHidden, out.last, parameters["model.norm.weight"], inverseRMS: out.invFinal,
                                 dg: &g["model.norm.weight"])
    let n = b.batch * b.length
    let positions = (0..<n).map { $0 % b.length }
    for l in stride(from: config.layers - 1, through: 0, by: -1) {
      let c = out.layers[l]
      let name = { (part: String) in Self.layerName(l, part) }
      let p = { (part: String) in self.parameters[name(part)] }
      // MLP.
      let dm = Ops.linearBackward(dx, c.m, p("mlp.down_proj.weight"), dw: &g[name("mlp.down_proj.weight")])
      let (dGate, dUp) = Ops.swiGLUBackward(dm, c.gate, c.up, sigmoid: c.gateSigmoid)
      var dh2 = Ops.linearBackward(dGate, c.h2, p("mlp.gate_proj.weight"), dw: &g[name("mlp.gate_proj.weight")])
      let dh2b = Ops.linearBackward(dUp, c.h2, p("mlp.up_proj.weight"), dw: &g[name("mlp.up_proj.weight")])
      dh2.add(dh2b)
      var dx2 = Ops.rmsNormBackward(dh2, c.x2, p("post_attention_layernorm.weight"), inverseRMS: c.inv2,
                                    dg: &g[name("post_attention_layernorm.weight")])
      dx2.add(dx)
      // Attention.
      let da = Ops.linearBackward(dx2, c.a, p("self_attn.o_proj.weight"), dw: &g[name("self_attn.o_proj.weight")])
      let (dqr, dkr, dv) = Ops.attentionBackward(da, q: c.q, k: c.k, v: c.v, cache: c.attention, batch: b.batch,
                                                 length: b.length, heads: config.heads)
      let dq = Ops.rope(dqr, heads: config.heads, table: out.rope, positions: positions, inverse: true)
      let dk = Ops.rope(dkr, heads: config.heads, table: out.rope, positions: positions, inverse: true)
      var dh1 = Ops.linearBackward(dq, c.h1, p("self_attn.q_proj.weight"), dw: &g[name("self_attn.q_proj.weight")])
      let dh1k = Ops.linearBackward(dk, c.h1, p("self_attn.k_proj.weight"), dw: &g[name("self_attn.k_proj.weight")])
      let dh1v = Ops.linearBackward(dv, c.h1, p("self_attn.v_proj.weight"), dw: &g[name("self_attn.v_proj.weight")])
      dh1.add(dh1k)
      dh1.add(dh1v)
      dx = Ops.rmsNormBackward(dh1, c.x, p("input_layernorm.weight"), inverseRMS: c.inv1, dg: &g[name("input_layernorm.weight")])
      dx.add(dx2)
    }
    for (i, id) in b.tokens.enumerated() {
      let (tensorName, row) = embeddingRow(id)
      g[tensorName].data.withUnsafeMutableBufferPointer { e in
        for j in 0..<d { e[row * d + j] += dx.data[i * d + j] }
      }
    }
    return (loss, g)
  }
}
