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
  @discardableResult
  public mutating func update(_ parameters: inout Parameters, gradients: Parameters, trainable: [String], rate: Float) -> Float {
    step += 1
    var squares = 0.0
    for name in trainable { for g in gradients[name].data { squares += Double(g) * Double(g) } }
    let norm = Float(squares.squareRoot())
    let clip = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1
    let c1 = 1 - powf(beta1, Float(step)), c2 = 1 - powf(beta2, Float(step))
    for name in trainable {
      var p = parameters[name]
      let g = gradients[name]
      var state = moments[name] ?? ([Float](repeating: 0, count: p.count), [Float](repeating: 0, count: p.count))
      // Decay matrices only (not norms, biases or single vectors).
      let decay = p.shape.count >= 2 ? weightDecay : 0
      for i in 0..<p.count {
        let gi = g.data[i] * clip
        state.m[i] = beta1 * state.m[i] + (1 - beta1) * gi
        state.v[i] = beta2 * state.v[i] + (1 - beta2) * gi * gi
        let update = (state.m[i] / c1) / ((state.v[i] / c2).squareRoot() + epsilon)
        p.data[i] -= rate * (update + decay * p.data[i])
      }
      moments[name] = state
      parameters[name] = p
    }
    return norm
  }

  /// Restores a saved state (checkpoint resume).
  public mutating func restore(step: Int, moments: [String: (m: [Float], v: [Float])]) {
    self.step = step
    self.moments = moments
  }
}
