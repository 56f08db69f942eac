import Foundation
import TagdataIO

/// Text generation with a key/value cache: the prompt is run once (prefill), then each new
/// token costs one row through the layers, attending to the cached keys and values of every
/// earlier position (O(length × dimension) per step, not a full forward of the sequence).
///
/// Rotary positions continue from the prompt. Dynamic NTK scaling follows transformers'
/// `dynamic_rope_update` on a freshly loaded model: each forward (the prefill, then each step)
/// recomputes the inverse frequencies for the sequence length so far once it exceeds
/// `max_position_embeddings` (and the longest length seen), while the keys already cached keep
/// the rotation they were computed with. A full forward of the whole sequence uses the final
/// length's frequencies for every position, so past that length cached decoding and a full
/// forward legitimately differ for dynamic models. (transformers keeps the longest length in
/// the module across calls; tagdata's ``Generator`` starts afresh each time.)
///
/// Mistral's sliding window is applied (a position attends to itself and the window − 1 before
/// it); the cache then holds at most the window's keys and values per layer. Otherwise memory
/// grows with the sequence length only.
public struct Generator: Sendable {
  public let model: Model
  /// Positions fed so far (prompt and generated tokens).
  public private(set) var length: Int = 0
  /// Per layer: keys and values of the cached positions, `kvHeads × headDimension` each, in
  /// position order; with a sliding window only the last `window` positions are kept.
  var keys: [[Float]]
  var values: [[Float]]
  /// Position of the first cached row (nonzero once a sliding window dropped old rows).
  var firstCached: Int = 0
  /// The rotary inverse frequencies in use and the sequence length they were computed for.
  var inverseFrequencies: [Float]
  var ropeLength: Int

  public init(model: Model) {
    self.model = model
    keys = Array(repeating: [], count: model.config.layers)
    values = keys
    ropeLength = model.config.maxPositions
    inverseFrequencies = model.config.ropeInverseFrequencies(length: model.config.maxPositions)
  }

  /// What one forward over new positions gives: the final normed hidden state of each new
  /// position, and the logits of the last one (of each when all were asked for).
  public struct Output: Sendable {
    /// `1 × vocabularySize`, or `new positions × vocabularySize` with `allPositions`.
    public var logits: Tensor
    /// `new positions × dimension` (after the final norm: what the regression heads read).
    public var hidden: Tensor
    /// The logits of the last new position.
    public var lastLogits: [Float] { Array(logits.data[(logits.rows - 1) * logits.columns..<(logits.rows * logits.columns)]) }
  }

  /// Feeds token ids (base vocabulary ids, or tag ids at or past `vocabularySize`, which take
  /// the tag's rows as the model's embedding lookup does) at the next positions.
  public mutating func feed(_ ids: [Int], allPositions: Bool = false) -> Output {
    let d = model.config.dimension
    var x = Tensor.uninitialized([ids.count, d])
    for (i, id) in ids.enumerated() {
      let (name, row) = model.embeddingRow(id)
      let e = model.parameters[name]
      for j in 0..<d { x.data[i * d + j] = e.data[row * d + j] }
    }
    return feed(embeddings: x, allPositions: allPositions)
  }

  /// Feeds input embeddings (`rows × dimension`) at the next positions.
  public mutating func feed(embeddings: Tensor, allPositions: Bool = false) -> Output {
    let c = model.config, p = model.parameters
    let n = embeddings.rows, d = c.dimension, hd = c.headDimension, half = hd / 2
    precondition(embeddings.columns == d && n > 0, "embeddings must be rows × \(d)")
    let start = length, end = length + n
    // transformers' dynamic_rope_update: recompute when the sequence outgrows the cached length.
    if case .dynamic = c.ropeScaling, end > ropeLength {
      ropeLength = end
      inverseFrequencies = c.ropeInverseFrequencies(length: end)
    }
    var cosines = [Float](repeating: 0, count: n * half), sines = cosines
    for r in 0..<n {
      for i in 0..<half {
        let angle = Float(start + r) * inverseFrequencies[i]
        cosines[r * half + i] = cosf(angle)
        sines[r * half + i] = sinf(angle)
      }
    }
    func rotate(_ t: inout Tensor, heads: Int) {
      let width = t.columns
      t.data.withUnsafeMutableBufferPointer { y in
        for r in 0..<n {
          for h in 0..<heads {
            let o = r * width + h * hd
            for i in 0..<half {
              let co = cosines[r * half + i], si = sines[r * half + i]
              let u = y[o + i], v = y[o + i + half]
              y[o + i] = u * co - v * si
              y[o + i + half] = v * co + u * si
            }
          }
        }
      }
    }
    let heads = c.heads, kvHeads = c.keyValueHeads, group = heads / kvHeads, kvWidth = kvHeads * hd, qWidth = heads * hd
    let scale = 1 / Float(hd).squareRoot()
    var x = embeddings
    var scores = [Float](repeating: 0, count: end - firstCached)
    for l in 0..<c.layers {
      let w = { (part: String) in p[Model.layerName(l, part)] }
      let b = { (part: String) in p.tensors[Model.layerName(l, part)] }
      let (h1, _) = Ops.rmsNorm(x, w("input_layernorm.weight"), eps: c.normEpsilon)
      var q = Ops.linear(h1, w("self_attn.q_proj.weight"), bias: b("self_attn.q_proj.bias"))
      var k = Ops.linear(h1, w("self_attn.k_proj.weight"), bias: b("self_attn.k_proj.bias"))
      let v = Ops.linear(h1, w("self_attn.v_proj.weight"), bias: b("self_attn.v_proj.bias"))
      rotate(&q, heads: heads)
      rotate(&k, heads: kvHeads)
      keys[l] += k.data
      values[l] += v.data
      var a = Tensor(zeros: [n, qWidth])
      keys[l].withUnsafeBufferPointer { kp in
        values[l].withUnsafeBufferPointer { vp in
          q.data.withUnsafeBufferPointer { qp in
            a.data.withUnsafeMutableBufferPointer { ap in
              scores.withUnsafeMutableBufferPointer { sp in
                for r in 0..<n {
                  let position = start + r
                  let first = max(firstCached, c.slidingWindow.map { position - $0 + 1 } ?? 0)
                  for h in 0..<heads {
                    let qo = r * qWidth + h * hd, ko = (h / group) * hd
                    var m = -Float.infinity
                    for j in first...position {
                      let kr = (j - firstCached) * kvWidth + ko
                      var s: Float = 0
                      for i in 0..<hd { s += qp[qo + i] * kp[kr + i] }
                      s *= scale
                      sp[j - first] = s
                      m = max(m, s)
                    }
                    var sum: Float = 0
                    for j in 0...(position - first) {
                      let e = expf(sp[j] - m)
                      sp[j] = e
                      sum += e
                    }
                    let inv = 1 / sum
                    for j in first...position {
                      let weight = sp[j - first] * inv
                      let vr = (j - firstCached) * kvWidth + ko
                      for i in 0..<hd { ap[qo + i] += weight * vp[vr + i] }
                    }
                  }
                }
              }
            }
          }
        }
      }
      var x2 = Ops.linear(a, w("self_attn.o_proj.weight"), bias: b("self_attn.o_proj.bias"))
      x2.add(x)
      let (h2, _) = Ops.rmsNorm(x2, w("post_attention_layernorm.weight"), eps: c.normEpsilon)
      let m = Ops.swiGLU(Ops.linear(h2, w("mlp.gate_proj.weight")), Ops.linear(h2, w("mlp.up_proj.weight")))
      var x3 = Ops.linear(m, w("mlp.down_proj.weight"))
      x3.add(x2)
      x = x3
    }
    length = end
    // A sliding window never looks further back than window − 1 positions: drop older rows.
    if let window = c.slidingWindow, length - firstCached > window {
      let drop = length - firstCached - window
      for l in 0..<c.layers {
        keys[l].removeFirst(drop * kvWidth)
        values[l].removeFirst(drop * kvWidth)
      }
      firstCached += drop
    }
    let (hidden, _) = Ops.rmsNorm(x, p["model.norm.weight"], eps: c.normEpsilon)
    let last = allPositions || n == 1 ? hidden : Tensor(shape: [1, d], data: Array(hidden.data[(n - 1) * d..<(n * d)]))
    return Output(logits: Ops.linear(last, p["lm_head.weight"]), hidden: hidden)
  }

  /// Cached positions per layer (what memory the cache holds).
  public var cachedPositions: Int { length - firstCached }
}

/// How the next token is chosen from the logits: greedy (`temperature` 0) or sampled, in
/// transformers' order: logits divided by the temperature, then top-k, then top-p (nucleus),
/// then a draw from the softmax with SplitMix64 seeded by `seed`.
public struct Sampling: Sendable, Equatable {
  public var temperature: Float
  public var topK: Int?
  public var topP: Float?
  public var seed: UInt64

  public init(temperature: Float = 0, topK: Int? = nil, topP: Float? = nil, seed: UInt64 = 0) {
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.seed = seed
  }

  public static let greedy = Sampling()

  /// The index of the largest logit (the first on ties, as torch's argmax).
  public static func argmax(_ logits: [Float]) -> Int {
    var best = 0
    for i in logits.indices where logits[i] > logits[best] { best = i }
    return best
  }

  /// The next token: argmax when greedy, else a draw from the filtered distribution.
  public func choose(_ logits: [Float], rng: inout SplitMix64) -> Int {
    guard temperature > 0 else { return Self.argmax(logits) }
    var z = logits.map { $0 / temperature }
    if let k = topK, k > 0, k < z.count {
      let threshold = z.sorted(by: >)[k - 1]
      for i in z.indices where z[i] < threshold { z[i] = -.infinity }
    }
    let m = z.max() ?? 0
    var probabilities = z.map { $0 == -.infinity ? 0 : expf($0 - m) }
    let total = probabilities.reduce(0, +)
    probabilities = probabilities.map { $0 / total }
    if let p = topP, p < 1 {
      // Keep the smallest set of most probable tokens whose mass reaches p (at least one).
      let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
      var mass: Float = 0
      var kept = Set<Int>()
      for i in order {
        kept.insert(i)
        mass += probabilities[i]
        if mass >= p { break }
      }
      for i in probabilities.indices where !kept.contains(i) { probabilities[i] = 0 }
      let s = probabilities.reduce(0, +)
      probabilities = probabilities.map { $0 / s }
    }
    let u = rng.nextUnit()
    var cumulative: Float = 0
    var last = 0
    for (i, q) in probabilities.enumerated() where q > 0 {
      cumulative += q
      last = i
      if u < cumulative { return i }
    }
    return last
  }
}

/// Why generation ended.
public enum StopReason: String, Sendable, Codable {
  /// A stop token was generated (it is the last of the generated ids).
  case eos
  /// `maxNewTokens` tokens were generated.
  case length
}

public struct GenerationError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var description: String { message }
}

extension Model {
  /// The regression head `name` on one final normed hidden state (`dimension` values), nil
  /// when the model has no such head.
  public func headValue(_ name: String, hidden: ArraySlice<Float>) -> Float? {
    guard let w = parameters.tensors["heads.\(name).weight"], let b = parameters.tensors["heads.\(name).bias"] else { return nil }
    precondition(hidden.count == config.dimension, "a hidden state has \(config.dimension) values")
    var s = b.data[0]
    for (j, h) in zip(0..., hidden) { s += w.data[j] * h }
    return s
  }

  /// Tag-LLM's regression readout of a prompt: for each head whose function tag (the tag of the
  /// same name) occurs in `prompt`, the head on the final hidden state at the tag's last virtual
  /// token (its last occurrence), from the prefill's hidden states (`prompt.count × dimension`).
  public func headValues(prompt: [Int], hidden: Tensor) -> [String: Float] {
    var out: [String: Float] = [:]
    let d = config.dimension
    for name in headNames {
      guard let last = tagTokens(name).last, let position = prompt.lastIndex(of: last) else { continue }
      out[name] = headValue(name, hidden: hidden.data[(position * d)..<((position + 1) * d)])
    }
    return out
  }

  /// Every token id the model can read: the base vocabulary then each tag's virtual tokens.
  public var inputTokenCount: Int { config.vocabularySize + tagRows.reduce(0, +) }

  /// Greedy or sampled continuation of `prompt` (token ids; tag ids take the tag's rows): at
  /// most `maxNewTokens` new ids, ending early after a token of `stopTokens` (which is kept as
  /// the last id, as transformers' generate does). `onToken` sees each new id as it is chosen.
  /// Throws on an empty prompt or an id the model cannot read.
  public func generate(prompt: [Int], maxNewTokens: Int, sampling: Sampling = .greedy, stopTokens: Set<Int> = [],
                       onToken: ((Int) -> Void)? = nil) throws -> (ids: [Int], stopped: StopReason)
  {
    let result = try generateReadingHeads(prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: stopTokens,
                                          onToken: onToken)
    return (result.ids, result.stopped)
  }

  /// ``generate(prompt:maxNewTokens:sampling:stopTokens:onToken:)`` that also reads the
  /// regression heads of the function tags in the prompt (``headValues(prompt:hidden:)``).
  public func generateReadingHeads(prompt: [Int], maxNewTokens: Int, sampling: Sampling = .greedy, stopTokens: Set<Int> = [],
                                   onToken: ((Int) -> Void)? = nil) throws
    -> (ids: [Int], stopped: StopReason, heads: [String: Float])
  {
    guard !prompt.isEmpty else { throw GenerationError(message: "the prompt is empty") }
    if let bad = prompt.first(where: { $0 < 0 || $0 >= inputTokenCount }) {
      throw GenerationError(message: "token id \(bad) is neither in the vocabulary (\(config.vocabularySize) ids) nor a tag "
                              + "(\(inputTokenCount - config.vocabularySize) tag ids)")
    }
    var generator = Generator(model: self)
    var rng = SplitMix64(seed: sampling.seed)
    var out: [Int] = []
    let prefill = generator.feed(prompt)
    let heads = headValues(prompt: prompt, hidden: prefill.hidden)
    guard maxNewTokens > 0 else { return (out, .length, heads) }
    var logits = prefill.lastLogits
    while true {
      let next = sampling.choose(logits, rng: &rng)
      out.append(next)
      onToken?(next)
      if stopTokens.contains(next) { return (out, .eos, heads) }
      if out.count >= maxNewTokens { return (out, .length, heads) }
      logits = generator.feed([next]).lastLogits
    }
  }
}
