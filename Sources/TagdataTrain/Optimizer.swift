#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Learning rate: linear warmup to `peak`, then cosine decay to `minimum` at `total` steps.
public struct Schedule: Codable, Sendable, Equatable {
  public var peak: Float
  public var minimum: Float
  public var warmup: Int
  public var total: Int

  public init(peak: Float, minimum: Float = 0, warmup: Int, total: Int) {
    self.peak = peak
    self.minimum = minimum
    self.warmup = warmup
    self.total = total
  }

  /// The rate for step `t` (1-based).
  public func rate(_ t: Int) -> Float {
    if t <= warmup { return peak * Float(t) / Float(max(warmup, 1)) }
    let progress = min(1, Float(t - warmup) / Float(max(total - warmup, 1)))
    return minimum + (peak - minimum) * 0.5 * (1 + cosf(Float.pi * progress))
  }
}

/// AdamW (decoupled weight decay) over the trainable parameters only: frozen tensors are never
/// touched, so they stay bit-identical. Gradients are clipped by their global norm first.
public struct AdamW: Sendable {
  public var beta1: Float = 0.9
  public var beta2: Float = 0.999
  public var epsilon: Float = 1e-8
  public var weightDecay: Float = 0.01
  /// Weight decay of tags and regression heads (`tags.*`, `heads.*`): none by default, as Tag-LLM.
  public var tagWeightDecay: Float = 0
  public var clipNorm: Float = 1.0
  public private(set) var step = 0
  /// First and second moments per trainable tensor.
  public private(set) var moments: [String: (m: [Float], v: [Float])] = [:]

  public init(weightDecay: Float = 0.01, clipNorm: Float = 1.0) {
    self.weightDecay = weightDecay
    self.clipNorm = clipNorm
  }

  /// Updates `parameters[name]` for every name in `trainable` from `gradients` (already
  /// averaged over accumulation steps). Returns the gradient norm before clipping.
  ///
  /// `rows` restricts a tensor's update to a range of its rows (new vocabulary rows of the
  /// embedding and the LM head); the other rows stay bit-identical.
  @discardableResult
  public mutating func update(_ parameters: inout Parameters, gradients: Parameters, trainable: [String], rate: Float,
                              rows: [String: Range<Int>] = [:]) -> Float
  {
    step += 1
    func span(_ name: String) -> Range<Int> {
      let g = gradients[name]
      guard let r = rows[name] else { return 0..<g.count }
      return (r.lowerBound * g.columns)..<(r.upperBound * g.columns)
    }
    var squares = 0.0
    for name in trainable {
      let g = gradients[name]
      for i in span(name) { squares += Double(g.data[i]) * Double(g.data[i]) }
    }
    let norm = Float(squares.squareRoot())
    let clip = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1
    let c1 = 1 - powf(beta1, Float(step)), c2 = 1 - powf(beta2, Float(step))
    for name in trainable {
      let g = gradients[name]
      let count = g.count
      // Taken out of the dictionary while updated, so that nothing is copied.
      var state = moments.removeValue(forKey: name) ?? ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
      // Decay matrices only (not norms, biases or single vectors); tags and heads their own way.
      let decay = name.hasPrefix("tags.") || name.hasPrefix("heads.") ? tagWeightDecay : g.shape.count >= 2 ? weightDecay : 0
      let (b1, b2, eps) = (beta1, beta2, epsilon)
      let indices = span(name)
      parameters[name].data.withUnsafeMutableBufferPointer { p in
        g.data.withUnsafeBufferPointer { gp in
          state.m.withUnsafeMutableBufferPointer { m in
            state.v.withUnsafeMutableBufferPointer { v in
              for i in indices {
                let gi = gp[i] * clip
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                let update = (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
                p[i] -= rate * (update + decay * p[i])
              }
            }
          }
        }
      }
      moments[name] = state
    }
    return norm
  }

  /// Restores a saved state (checkpoint resume).
  public mutating func restore(step: Int, moments: [String: (m: [Float], v: [Float])]) {
    self.step = step
    self.moments = moments
  }
}
