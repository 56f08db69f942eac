import Foundation

/// The shape of a LLaMA-style decoder (Llama, Mistral and Qwen2 checkpoints of Hugging Face
/// share it: grouped-query attention, RoPE, RMSNorm, SwiGLU; Qwen2 adds Q/K/V biases, Mistral a
/// sliding attention window).
public struct ModelConfig: Codable, Sendable, Equatable {
  public var vocabularySize: Int
  public var dimension: Int
  public var layers: Int
  public var heads: Int
  /// Hidden width of the SwiGLU MLP.
  public var feedForward: Int
  public var ropeBase: Float = 10_000
  public var normEpsilon: Float = 1e-5
  /// Key/value heads (`num_key_value_heads`): fewer than `heads` is grouped-query attention
  /// (query head h reads key/value head h / (heads / keyValueHeads)), 1 is multi-query.
  public var keyValueHeads: Int
  /// Width of one head (`head_dim`), dimension / heads unless a checkpoint says otherwise.
  public var headDimension: Int
  /// Biases on the Q, K and V projections (Qwen2; Llama's `attention_bias`, which also biases o_proj).
  public var attentionBias: Bool = false
  /// A bias on o_proj too (Llama's `attention_bias` biases all four projections; Qwen2 only Q/K/V).
  public var outputBias: Bool = false
  /// Rotary frequency scaling (`rope_scaling` / `rope_parameters`), nil for plain RoPE.
  public var ropeScaling: RopeScaling? = nil
  /// `max_position_embeddings` (the dynamic NTK scaling starts past it).
  public var maxPositions: Int = 2048
  /// Mistral's `sliding_window`: a position attends to itself and the window − 1 before it.
  public var slidingWindow: Int? = nil
  /// The checkpoint tied the LM head to the token embedding (`tie_word_embeddings`). In memory
  /// the head is a copy (so that a stage can train either); ``Model/save(to:)`` writes them tied
  /// only while they are still equal.
  public var tiedEmbeddings: Bool = false
  public var architecture: Architecture = .llama
  /// Keys of config.json that do not change the computation but belong to the model (the
  /// special token ids `bos_token_id`, `eos_token_id`, `pad_token_id`), as JSON text, written
  /// back when saved.
  public var passthrough: [String: String] = [:]

  public init(vocabularySize: Int, dimension: Int, layers: Int, heads: Int, feedForward: Int, keyValueHeads: Int? = nil,
              headDimension: Int? = nil)
  {
    self.vocabularySize = vocabularySize
    self.dimension = dimension
    self.layers = layers
    self.heads = heads
    self.feedForward = feedForward
    self.keyValueHeads = keyValueHeads ?? heads
    self.headDimension = headDimension ?? (heads > 0 ? dimension / heads : 0)
  }

  /// The Hugging Face model classes whose checkpoints load.
  public enum Architecture: String, Codable, Sendable, CaseIterable {
    case llama = "LlamaForCausalLM", mistral = "MistralForCausalLM", qwen2 = "Qwen2ForCausalLM"
    public var modelType: String {
      switch self {
      case .llama: "llama"
      case .mistral: "mistral"
      case .qwen2: "qwen2"
      }
    }
  }

  /// Rotary scalings, as transformers' `ROPE_INIT_FUNCTIONS` compute them.
  public enum RopeScaling: Codable, Sendable, Equatable {
    /// Positions divided by `factor` (inverse frequencies divided by it).
    case linear(factor: Float)
    /// NTK-aware: past `maxPositions`, the base grows with the sequence length.
    case dynamic(factor: Float)
    /// Llama 3.1: long wavelengths divided by `factor`, short ones kept, a smooth blend between.
    case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalMaxPositions: Int)
  }

  /// The rotary inverse frequencies for sequences of `length` positions (float32 throughout, as
  /// transformers computes them).
  public func ropeInverseFrequencies(length: Int) -> [Float] {
    let hd = headDimension
    var base = ropeBase
    if case let .dynamic(factor) = ropeScaling {
      let seq: Double = Double(max(length, maxPositions))
      let f: Double = Double(factor)
      let growth: Double = f * seq / Double(maxPositions) - (f - 1)
      let exponent: Double = Double(hd) / Double(hd - 2)
      base = Float(Double(ropeBase) * Foundation.pow(growth, exponent))
    }
    var inv: [Float] = (0..<(hd / 2)).map { (i: Int) -> Float in 1 / powf(base, Float(2 * i) / Float(hd)) }
    switch ropeScaling {
    case let .linear(factor):
      inv = inv.map { $0 / factor }
    case let .llama3(factor, low, high, original):
      let lowWavelength = Float(original) / low, highWavelength = Float(original) / high
      inv = inv.map { f in
        let wavelength = 2 * Float.pi / f
        if wavelength < highWavelength { return f }
        if wavelength > lowWavelength { return f / factor }
        let smooth = (Float(original) / wavelength - low) / (high - low)
        return (1 - smooth) * f / factor + smooth * f
      }
    default:
      break
    }
    return inv
  }

  /// Base-model tensors and their shapes, in Hugging Face order.
  public var baseShapes: [(name: String, shape: [Int])] {
    let d = dimension, f = feedForward, q = heads * headDimension, kv = keyValueHeads * headDimension
    var out: [(String, [Int])] = [("model.embed_tokens.weight", [vocabularySize, d])]
    for l in 0..<layers {
      let n = { (part: String) in Model.layerName(l, part) }
      out.append((n("input_layernorm.weight"), [d]))
      out.append((n("self_attn.q_proj.weight"), [q, d]))
      if attentionBias { out.append((n("self_attn.q_proj.bias"), [q])) }
      out.append((n("self_attn.k_proj.weight"), [kv, d]))
      if attentionBias { out.append((n("self_attn.k_proj.bias"), [kv])) }
      out.append((n("self_attn.v_proj.weight"), [kv, d]))
      if attentionBias { out.append((n("self_attn.v_proj.bias"), [kv])) }
      out.append((n("self_attn.o_proj.weight"), [d, q]))
      if outputBias { out.append((n("self_attn.o_proj.bias"), [d])) }
      out.append((n("post_attention_layernorm.weight"), [d]))
      out.append((n("mlp.gate_proj.weight"), [f, d]))
      out.append((n("mlp.up_proj.weight"), [f, d]))
      out.append((n("mlp.down_proj.weight"), [d, f]))
    }
    out.append(("model.norm.weight", [d]))
    out.append(("lm_head.weight", [vocabularySize, d]))
    return out
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
  /// Bidirectional blocks (Tag-LLM's `autoregressive_attn_mask: false`): per position, the last
  /// position of the block it is in (a domain tag and its input see each other whole), or -1;
  /// nil: causal everywhere.
  public var blockEnds: [Int]? = nil

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
    for (name, shape) in config.baseShapes {
      if name.hasSuffix("norm.weight") {
        p[name] = Tensor(shape: shape, data: [Float](repeating: 1, count: shape[0]))
      } else if name == "model.embed_tokens.weight" {
        p[name] = Tensor.random(shape, scale: 0.5, seed: next())
      } else if name == "lm_head.weight" && config.tiedEmbeddings {
        p[name] = p["model.embed_tokens.weight"]
      } else if name.hasSuffix(".bias") {
        p[name] = Tensor.random(shape, scale: 0.1, seed: next())
      } else {
        p[name] = Tensor.random(shape, scale: 1 / Float(shape[1]).squareRoot(), seed: next())
      }
    }
    parameters = p
  }

  /// A model holding `parameters` (every tensor of ``ModelConfig/baseShapes``, checked by the caller).
  init(config: ModelConfig, parameters: Parameters) {
    self.config = config
    self.parameters = parameters
  }

  /// How new tags and heads start.
  public enum TagInitialization: String, Codable, Sendable, CaseIterable {
    /// Tag-LLM's: every tag row is the mean input embedding of the base vocabulary times
    /// ``tagLLMNormRatio``; a regression head's weight is the mean embedding (bias 0).
    case tagLLM = "tag-llm"
    /// Seeded random rows (scale 0.5) and heads (scale 1/sqrt(dimension)).
    case random
  }

  /// Tag-LLM's `NORM_RATIO`.
  public static let tagLLMNormRatio: Float = 7.8

  /// The mean row of the base vocabulary's input embedding.
  public func meanEmbedding() -> [Float] {
    let e = parameters["model.embed_tokens.weight"], d = config.dimension, n = config.vocabularySize
    var sum = [Double](repeating: 0, count: d)
    e.data.withUnsafeBufferPointer { p in
      for r in 0..<n { for j in 0..<d { sum[j] += Double(p[r * d + j]) } }
    }
    return sum.map { Float($0 / Double(max(n, 1))) }
  }

  /// Adds a tag of `rows` virtual tokens (Tag-LLM's p), initialized as `initialization` says
  /// (from `seed` when random); returns its first token id.
  @discardableResult
  public mutating func addTag(_ name: String, rows: Int, seed: UInt64, initialization: TagInitialization = .random) -> Int {
    precondition(!tagOrder.contains(name), "tag \(name) exists")
    let offset = (tagOffsets.last ?? 0) + (tagRows.last ?? 0)
    tagOrder.append(name)
    tagOffsets.append(offset)
    tagRows.append(rows)
    switch initialization {
    case .random:
      parameters["tags.\(name)"] = Tensor.random([rows, config.dimension], scale: 0.5, seed: seed)
    case .tagLLM:
      let row = meanEmbedding().map { $0 * Self.tagLLMNormRatio }
      parameters["tags.\(name)"] = Tensor(shape: [rows, config.dimension], data: Array((0..<rows).map { _ in row }.joined()))
    }
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
    // A head still tied to the embedding grows with the same rows (as transformers' resize does).
    let tied = config.tiedEmbeddings && head == embed
    embed.data += Tensor.random([added, d], scale: 0.5, seed: seed).data
    embed.shape = [size, d]
    if tied {
      head = embed
    } else {
      head.data += Tensor.random([added, d], scale: 1 / Float(d).squareRoot(), seed: seed &+ 1).data
      head.shape = [size, d]
    }
    parameters["model.embed_tokens.weight"] = embed
    parameters["lm_head.weight"] = head
    config.vocabularySize = size
    return old
  }

  /// Adds a linear regression head reading a hidden state of the model's width.
  public mutating func addHead(_ name: String, seed: UInt64, initialization: TagInitialization = .random) {
    switch initialization {
    case .random:
      parameters["heads.\(name).weight"] = Tensor.random([1, config.dimension], scale: 1 / Float(config.dimension).squareRoot(), seed: seed)
    case .tagLLM:
      parameters["heads.\(name).weight"] = Tensor(shape: [1, config.dimension], data: meanEmbedding())
    }
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
    /// Next-token logits: one row per position, or per entry of `logitRows` when the forward
    /// pass computed only those.
    public var logits: Tensor
    /// The positions `logits` has rows for (nil: every position).
    public var logitRows: [Int]? = nil
    /// Final normed hidden states, one row per position.
    public var hidden: Tensor
    /// Regression predictions, in the batch's order.
    public var predictions: [Float]
    var layers: [LayerCache]
    var last: Tensor
    var invFinal: [Float]
    var rope: Ops.RopeTable
  }

  /// The forward pass. `logitRows`: compute the output projection only at these positions (the
  /// ones a loss reads); nil computes it everywhere.
  public func forward(_ b: Batch, logitRows: [Int]? = nil) -> Output {
    let d = config.dimension, n = b.batch * b.length
    var x = Tensor(zeros: [n, d])
    for (i, id) in b.tokens.enumerated() {
      let (name, row) = embeddingRow(id)
      let e = parameters[name]
      for j in 0..<d { x.data[i * d + j] = e.data[row * d + j] }
    }
    let positions = (0..<n).map { $0 % b.length }
    let table = Ops.RopeTable(inverseFrequencies: config.ropeInverseFrequencies(length: b.length), positions: b.length)
    let kvHeads = config.keyValueHeads
    var caches: [LayerCache] = []
    for l in 0..<config.layers {
      let p = { (part: String) in self.parameters[Self.layerName(l, part)] }
      let bias = { (part: String) in self.parameters.tensors[Self.layerName(l, part)] }
      let (h1, inv1) = Ops.rmsNorm(x, p("input_layernorm.weight"), eps: config.normEpsilon)
      let q = Ops.rope(Ops.linear(h1, p("self_attn.q_proj.weight"), bias: bias("self_attn.q_proj.bias")), heads: config.heads,
                       table: table, positions: positions)
      let k = Ops.rope(Ops.linear(h1, p("self_attn.k_proj.weight"), bias: bias("self_attn.k_proj.bias")), heads: kvHeads,
                       table: table, positions: positions)
      let v = Ops.linear(h1, p("self_attn.v_proj.weight"), bias: bias("self_attn.v_proj.bias"))
      let (a, cache) = Ops.attention(q: q, k: k, v: v, batch: b.batch, length: b.length, heads: config.heads, keyMask: b.keyMask, blockEnds: b.blockEnds,
                                     window: config.slidingWindow)
      var x2 = Ops.linear(a, p("self_attn.o_proj.weight"), bias: bias("self_attn.o_proj.bias"))
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
    let logits = Ops.linear(logitRows.map { Self.rows($0, of: hidden) } ?? hidden, parameters["lm_head.weight"])
    var predictions: [Float] = []
    for r in b.regression {
      let w = parameters["heads.\(r.head).weight"], bias = parameters["heads.\(r.head).bias"]
      var s = bias.data[0]
      for j in 0..<d { s += w.data[j] * hidden.data[r.position * d + j] }
      predictions.append(s)
    }
    return Output(logits: logits, logitRows: logitRows, hidden: hidden, predictions: predictions, layers: caches, last: x,
                  invFinal: invFinal, rope: table)
  }

  /// The rows `indices` of a matrix, in that order.
  static func rows(_ indices: [Int], of t: Tensor) -> Tensor {
    let d = t.columns
    var out = Tensor.uninitialized([indices.count, d])
    out.data.withUnsafeMutableBufferPointer { o in
      t.data.withUnsafeBufferPointer { p in
        for (k, r) in indices.enumerated() { for j in 0..<d { o[k * d + j] = p[r * d + j] } }
      }
    }
    return out
  }

  /// The positions whose next-token loss counts: the only rows where the output projection and
  /// the softmax are needed (none in a regression-only batch).
  static func lossRows(_ b: Batch) -> [Int] { b.lossWeights.indices.filter { b.lossWeights[$0] != 0 } }

  /// The loss: weighted next-token cross-entropy plus `regressionScale` × MSE of the heads
  /// (Tag-LLM used 100).
  public struct Loss: Sendable {
    public var crossEntropy: Float
    public var meanSquaredError: Float
    public var total: Float
  }

  public func loss(_ b: Batch, regressionScale: Float) -> Loss {
    let out = forward(b, logitRows: Self.lossRows(b))
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
    let targets = out.logitRows.map { $0.map { b.targets[$0] } } ?? b.targets
    let weights = out.logitRows.map { $0.map { b.lossWeights[$0] } } ?? b.lossWeights
    let (ce, dLogits) = Ops.crossEntropy(logits: out.logits, targets: targets, weights: weights, normalizer: normalizers?.crossEntropy)
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
    gradients(b, regressionScale: regressionScale, normalizers: normalizers, trainable: nil)
  }

  /// Loss and the gradients of the `trainable` parameters only (all of them when nil): the
  /// result holds just those names. Frozen tensors get no gradient buffer, frozen linears skip
  /// their weight-gradient multiply (the input gradient still flows through them), and the
  /// backward pass stops below the lowest layer that has a trainable tensor when no embedding
  /// (token or tag) is trainable. The gradients computed are bit-identical to the full ones.
  public func gradients(_ b: Batch, regressionScale: Float, normalizers: Normalizers? = nil, trainable: Set<String>?)
    -> (Loss, Parameters)
  {
    let out = forward(b, logitRows: Self.lossRows(b))
    let (loss, dLogits, dPred) = lossTerms(out, b, regressionScale: regressionScale, normalizers: normalizers)
    let want = { (name: String) in trainable?.contains(name) ?? true }
    var g = Parameters()
    for n in parameters.names where want(n) { g[n] = Tensor(zeros: parameters[n].shape) }
    let d = config.dimension
    // The backward pass through a linear layer: dx always, dW and db only when trainable.
    func linearBack(_ dy: Tensor, _ x: Tensor, _ weight: String, bias: String? = nil) -> Tensor {
      if let bias, parameters.contains(bias), want(bias) { Ops.biasBackward(dy, db: &g[bias]) }
      if want(weight) { return Ops.linearBackward(dy, x, parameters[weight], dw: &g[weight]) }
      return Ops.linearInputGradient(dy, parameters[weight])
    }
    func normBack(_ dy: Tensor, _ x: Tensor, _ weight: String, _ inverseRMS: [Float]) -> Tensor {
      if want(weight) { return Ops.rmsNormBackward(dy, x, parameters[weight], inverseRMS: inverseRMS, dg: &g[weight]) }
      var scratch = Tensor(zeros: parameters[weight].shape)
      return Ops.rmsNormBackward(dy, x, parameters[weight], inverseRMS: inverseRMS, dg: &scratch)
    }
    // The output projection's backward on the rows it ran on, scattered back to every position.
    var dHidden: Tensor
    if let rows = out.logitRows {
      dHidden = Tensor(zeros: out.hidden.shape)
      if !rows.isEmpty {
        let dRows = linearBack(dLogits, Self.rows(rows, of: out.hidden), "lm_head.weight")
        for (k, r) in rows.enumerated() { for j in 0..<d { dHidden.data[r * d + j] = dRows.data[k * d + j] } }
      }
    } else {
      dHidden = linearBack(dLogits, out.hidden, "lm_head.weight")
    }
    for (k, r) in b.regression.enumerated() {
      let w = parameters["heads.\(r.head).weight"]
      if want("heads.\(r.head).bias") { g["heads.\(r.head).bias"].data[0] += dPred[k] }
      let weightWanted = want("heads.\(r.head).weight")
      for j in 0..<d {
        if weightWanted { g["heads.\(r.head).weight"].data[j] += dPred[k] * out.hidden.data[r.position * d + j] }
        dHidden.data[r.position * d + j] += dPred[k] * w.data[j]
      }
    }
    // How deep the backward pass must go.
    let embeddingsWanted = parameters.names.contains { ($0 == "model.embed_tokens.weight" || $0.hasPrefix("tags.")) && want($0) }
    var lowest = config.layers
    if embeddingsWanted {
      lowest = 0
    } else {
      for l in 0..<config.layers where parameters.names.contains(where: { $0.hasPrefix("model.layers.\(l).") && want($0) }) {
        lowest = l
        break
      }
    }
    var dx = normBack(dHidden, out.last, "model.norm.weight", out.invFinal)
    let n = b.batch * b.length
    let positions = (0..<n).map { $0 % b.length }
    for l in stride(from: config.layers - 1, through: lowest, by: -1) {
      let c = out.layers[l]
      let name = { (part: String) in Self.layerName(l, part) }
      // MLP.
      let dm = linearBack(dx, c.m, name("mlp.down_proj.weight"))
      let (dGate, dUp) = Ops.swiGLUBackward(dm, c.gate, c.up, sigmoid: c.gateSigmoid)
      var dh2 = linearBack(dGate, c.h2, name("mlp.gate_proj.weight"))
      let dh2b = linearBack(dUp, c.h2, name("mlp.up_proj.weight"))
      dh2.add(dh2b)
      var dx2 = normBack(dh2, c.x2, name("post_attention_layernorm.weight"), c.inv2)
      dx2.add(dx)
      // Attention.
      let da = linearBack(dx2, c.a, name("self_attn.o_proj.weight"), bias: name("self_attn.o_proj.bias"))
      let (dqr, dkr, dv) = Ops.attentionBackward(da, q: c.q, k: c.k, v: c.v, cache: c.attention, batch: b.batch,
                                                 length: b.length, heads: config.heads)
      let dq = Ops.rope(dqr, heads: config.heads, table: out.rope, positions: positions, inverse: true)
      let dk = Ops.rope(dkr, heads: config.keyValueHeads, table: out.rope, positions: positions, inverse: true)
      var dh1 = linearBack(dq, c.h1, name("self_attn.q_proj.weight"), bias: name("self_attn.q_proj.bias"))
      let dh1k = linearBack(dk, c.h1, name("self_attn.k_proj.weight"), bias: name("self_attn.k_proj.bias"))
      let dh1v = linearBack(dv, c.h1, name("self_attn.v_proj.weight"), bias: name("self_attn.v_proj.bias"))
      dh1.add(dh1k)
      dh1.add(dh1v)
      dx = normBack(dh1, c.x, name("input_layernorm.weight"), c.inv1)
      dx.add(dx2)
    }
    if embeddingsWanted {
      for (i, id) in b.tokens.enumerated() {
        let (tensorName, row) = embeddingRow(id)
        guard want(tensorName) else { continue }
        g[tensorName].data.withUnsafeMutableBufferPointer { e in
          for j in 0..<d { e[row * d + j] += dx.data[i * d + j] }
        }
      }
    }
    return (loss, g)
  }
}
