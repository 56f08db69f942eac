#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The layers of a LLaMA-style decoder as forward and backward kernels on row-major float32
/// matrices (`rows × columns`, one row per token). Backward functions take the upstream
/// gradient and return the gradient of the input; parameter gradients are added into the
/// `d...` arguments, so accumulation over micro-batches needs no extra step.
public enum Ops {
  // MARK: Linear (no bias): y = x Wᵀ, W is out × in.

  public static func linear(_ x: Tensor, _ w: Tensor) -> Tensor {
    var y = Gemm.matmul(x, w, transB: true)
    y.shape = Array(x.shape.dropLast()) + [w.rows]
    return y
  }

  /// y = x Wᵀ + b (no bias when `bias` is nil).
  public static func linear(_ x: Tensor, _ w: Tensor, bias: Tensor?) -> Tensor {
    var y = linear(x, w)
    if let bias {
      precondition(bias.count == y.columns, "bias of \(bias.count) for \(y.columns) outputs")
      let c = y.columns, rows = y.rows
      y.data.withUnsafeMutableBufferPointer { yp in
        bias.data.withUnsafeBufferPointer { bp in
          for r in 0..<rows { for j in 0..<c { yp[r * c + j] += bp[j] } }
        }
      }
    }
    return y
  }

  /// Adds the column sums of dy (the gradient of a bias) into db.
  public static func biasBackward(_ dy: Tensor, db: inout Tensor) {
    let c = dy.columns
    precondition(db.count == c)
    dy.data.withUnsafeBufferPointer { yp in
      db.data.withUnsafeMutableBufferPointer { bp in
        for r in 0..<dy.rows { for j in 0..<c { bp[j] += yp[r * c + j] } }
      }
    }
  }

  /// dx = dy W of a linear layer whose weight is frozen (no weight gradient).
  public static func linearInputGradient(_ dy: Tensor, _ w: Tensor) -> Tensor {
    let n = dy.rows, input = w.columns, output = w.rows
    var dx = Tensor.uninitialized(Array(dy.shape.dropLast()) + [input])
    dy.data.withUnsafeBufferPointer { pdy in
      w.data.withUnsafeBufferPointer { pw in
        dx.data.withUnsafeMutableBufferPointer { pdx in
          Gemm.sgemm(m: n, n: input, k: output, a: pdy.baseAddress!, lda: output, b: pw.baseAddress!, ldb: input,
                     c: pdx.baseAddress!, ldc: input)
        }
      }
    }
    return dx
  }

  /// Returns dx; adds dyᵀ x into dw.
  public static func linearBackward(_ dy: Tensor, _ x: Tensor, _ w: Tensor, dw: inout Tensor) -> Tensor {
    let n = x.rows, input = w.columns, output = w.rows
    var dx = Tensor.uninitialized(x.shape)
    dy.data.withUnsafeBufferPointer { pdy in
      w.data.withUnsafeBufferPointer { pw in
        dx.data.withUnsafeMutableBufferPointer { pdx in
          Gemm.sgemm(m: n, n: input, k: output, a: pdy.baseAddress!, lda: output, b: pw.baseAddress!, ldb: input,
                     c: pdx.baseAddress!, ldc: input)
        }
      }
      x.data.withUnsafeBufferPointer { px in
        dw.data.withUnsafeMutableBufferPointer { pdw in
          Gemm.sgemm(transA: true, m: output, n: input, k: n, a: pdy.baseAddress!, lda: output, b: px.baseAddress!,
                     ldb: input, beta: 1, c: pdw.baseAddress!, ldc: input)
        }
      }
    }
    return dx
  }

  // MARK: RMSNorm: y = x / sqrt(mean(x²) + eps) * g.

  /// Returns y and the per-row inverse RMS (saved for the backward pass).
  public static func rmsNorm(_ x: Tensor, _ g: Tensor, eps: Float) -> (y: Tensor, inverseRMS: [Float]) {
    let d = x.columns
    var y = Tensor.uninitialized(x.shape)
    var r = [Float](repeating: 0, count: x.rows)
    x.data.withUnsafeBufferPointer { xp in
      g.data.withUnsafeBufferPointer { gp in
        y.data.withUnsafeMutableBufferPointer { yp in
          for i in 0..<x.rows {
            var s: Float = 0
            for j in 0..<d { s += xp[i * d + j] * xp[i * d + j] }
            let inv = 1 / (s / Float(d) + eps).squareRoot()
            r[i] = inv
            for j in 0..<d { yp[i * d + j] = xp[i * d + j] * inv * gp[j] }
          }
        }
      }
    }
    return (y, r)
  }

  /// Returns dx; adds into dg.
  public static func rmsNormBackward(_ dy: Tensor, _ x: Tensor, _ g: Tensor, inverseRMS r: [Float], dg: inout Tensor)
    -> Tensor
  {
    let d = x.columns
    var dx = Tensor.uninitialized(x.shape)
    x.data.withUnsafeBufferPointer { xp in
      dy.data.withUnsafeBufferPointer { yp in
        g.data.withUnsafeBufferPointer { gp in
          dg.data.withUnsafeMutableBufferPointer { dgp in
            dx.data.withUnsafeMutableBufferPointer { dxp in
              for i in 0..<x.rows {
                var dot: Float = 0
                let ri = r[i]
                for j in 0..<d {
                  dot += yp[i * d + j] * gp[j] * xp[i * d + j]
                  dgp[j] += yp[i * d + j] * xp[i * d + j] * ri
                }
                let c = ri * ri * dot / Float(d)
                for j in 0..<d { dxp[i * d + j] = ri * (yp[i * d + j] * gp[j] - xp[i * d + j] * c) }
              }
            }
          }
        }
      }
    }
    return dx
  }

  // MARK: SwiGLU: h = silu(a) ⊙ b.

  @inline(__always) static func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }

  public static func swiGLU(_ a: Tensor, _ b: Tensor) -> Tensor { swiGLUWithSigmoid(a, b).h }

  /// h and σ(a) (kept for the backward pass, which then needs no exponentials).
  public static func swiGLUWithSigmoid(_ a: Tensor, _ b: Tensor) -> (h: Tensor, sigmoid: [Float]) {
    var h = Tensor.uninitialized(a.shape)
    var sig = [Float](unsafeUninitializedCapacity: a.count) { _, n in n = a.count }
    a.data.withUnsafeBufferPointer { ap in
      b.data.withUnsafeBufferPointer { bp in
        h.data.withUnsafeMutableBufferPointer { hp in
          for i in 0..<ap.count {
            let v = ap[i], s = sigmoid(v)
            sig[i] = s
            hp[i] = v * s * bp[i]
          }
        }
      }
    }
    return (h, sig)
  }

  /// Returns (da, db); `sigmoid` is σ(a) when the forward pass kept it.
  public static func swiGLUBackward(_ dh: Tensor, _ a: Tensor, _ b: Tensor, sigmoid cached: [Float]? = nil) -> (Tensor, Tensor) {
    var da = Tensor.uninitialized(a.shape), db = Tensor.uninitialized(b.shape)
    let sig = cached ?? a.data.map(sigmoid)
    a.data.withUnsafeBufferPointer { ap in
      b.data.withUnsafeBufferPointer { bp in
        dh.data.withUnsafeBufferPointer { hp in
          sig.withUnsafeBufferPointer { sp in
            da.data.withUnsafeMutableBufferPointer { dap in
              db.data.withUnsafeMutableBufferPointer { dbp in
                for i in 0..<ap.count {
                  let v = ap[i], s = sp[i]
                  dap[i] = hp[i] * bp[i] * s * (1 + v * (1 - s))
                  dbp[i] = hp[i] * v * s
                }
              }
            }
          }
        }
      }
    }
    return (da, db)
  }

  // MARK: RoPE (Hugging Face LLaMA layout: element i pairs with i + headDim/2).

  /// Rotates each head of each row by its position's angles. `x` is (rows, heads × headDim);
  /// `positions[row]` is the row's position in its sequence. `inverse` rotates backwards (the
  /// backward pass of a rotation is the opposite rotation).
  /// cos and sin of every (position, frequency) pair up to `positions`, for ``rope(_:heads:table:positions:inverse:)``.
  public struct RopeTable: Sendable {
    public var half: Int
    public var cos: [Float]
    public var sin: [Float]
    public init(headDimension hd: Int, positions: Int, base: Float) {
      self.init(inverseFrequencies: (0..<(hd / 2)).map { powf(base, -Float(2 * $0) / Float(hd)) }, positions: positions)
    }

    /// A table from the inverse frequency of each pair (``ModelConfig/ropeInverseFrequencies(length:)``).
    public init(inverseFrequencies: [Float], positions: Int) {
      half = inverseFrequencies.count
      cos = [Float](repeating: 0, count: positions * half)
      sin = cos
      for i in 0..<half {
        let frequency = inverseFrequencies[i]
        for p in 0..<positions {
          let angle = Float(p) * frequency
          cos[p * half + i] = cosf(angle)
          sin[p * half + i] = sinf(angle)
        }
      }
    }
  }

  public static func rope(_ x: Tensor, heads: Int, positions: [Int], base: Float, inverse: Bool = false) -> Tensor {
    let table = RopeTable(headDimension: x.columns / heads, positions: (positions.max() ?? 0) + 1, base: base)
    return rope(x, heads: heads, table: table, positions: positions, inverse: inverse)
  }

  public static func rope(_ x: Tensor, heads: Int, table: RopeTable, positions: [Int], inverse: Bool = false) -> Tensor {
    let width = x.columns, hd = width / heads, half = hd / 2
    precondition(table.half == half, "rotary table for another head size")
    var y = x
    let cosTable = table.cos
    let sinTable = inverse ? table.sin.map { -$0 } : table.sin
    x.data.withUnsafeBufferPointer { xp in
      y.data.withUnsafeMutableBufferPointer { yp in
        for r in 0..<x.rows {
          let t = positions[r] * half
          for h in 0..<heads {
            let o = r * width + h * hd
            for i in 0..<half {
              let c = cosTable[t + i], s = sinTable[t + i]
              let u = xp[o + i], v = xp[o + i + half]
              yp[o + i] = u * c - v * s
              yp[o + i + half] = v * c + u * s
            }
          }
        }
      }
    }
    return y
  }

  // MARK: Softmax over rows.

  public static func softmaxRows(_ z: inout [Float], rows: Int, columns: Int) {
    for i in 0..<rows {
      var m = -Float.infinity
      for j in 0..<columns { m = max(m, z[i * columns + j]) }
      var s: Float = 0
      for j in 0..<columns {
        let e = m == -.infinity ? 0 : expf(z[i * columns + j] - m)
        z[i * columns + j] = e
        s += e
      }
      let inv = s > 0 ? 1 / s : 0
      for j in 0..<columns { z[i * columns + j] *= inv }
    }
  }

  /// Softmax of each row i over the columns j ≤ i whose key is not padding; the others get 0.
  /// With a `window`, row i sees only the columns i − window + 1 ... i (a sliding window).
  /// Row-wise softmax of attention scores under the causal mask, the key mask and the window;
  /// `blockEnds` (per position of the whole batch: the last position of its bidirectional
  /// block, or -1) lets a row also see the later positions of its block.
  static func causalSoftmax(_ z: inout [Float], length: Int, keyMask: [Bool], offset: Int, window: Int? = nil,
                            blockEnds: [Int]? = nil)
  {
    z.withUnsafeMutableBufferPointer { zp in
      keyMask.withUnsafeBufferPointer { kp in
        for i in 0..<length {
          let row = zp.baseAddress! + i * length
          let first = window.map { max(0, i - $0 + 1) } ?? 0
          let last = min(length - 1, max(i, blockEnds.map { $0[offset + i] } ?? -1))
          var m = -Float.infinity
          for j in first...last where kp[offset + j] { m = max(m, row[j]) }
          var sum: Float = 0
          for j in 0...last {
            let e: Float = j >= first && kp[offset + j] && m > -.infinity ? expf(row[j] - m) : 0
            row[j] = e
            sum += e
          }
          let inv = sum > 0 ? 1 / sum : 0
          for j in 0...last { row[j] *= inv }
          if last + 1 < length { for j in (last + 1)..<length { row[j] = 0 } }
        }
      }
    }
  }

  /// dz = p ⊙ (dp − Σ dp ⊙ p), row by row.
  public static func softmaxBackward(_ p: [Float], _ dp: [Float], rows: Int, columns: Int) -> [Float] {
    var dz = [Float](unsafeUninitializedCapacity: p.count) { _, n in n = p.count }
    p.withUnsafeBufferPointer { pp in
      dp.withUnsafeBufferPointer { dpp in
        dz.withUnsafeMutableBufferPointer { dzp in
          for i in 0..<rows {
            var dot: Float = 0
            for j in 0..<columns { dot += dpp[i * columns + j] * pp[i * columns + j] }
            for j in 0..<columns { dzp[i * columns + j] = pp[i * columns + j] * (dpp[i * columns + j] - dot) }
          }
        }
      }
    }
    return dz
  }

  // MARK: Causal multi-head attention.

  /// Saved probabilities of an attention forward pass, per (sequence, head), each T × T.
  public struct AttentionCache: Sendable {
    public var probabilities: [[Float]]
  }

  /// `q` is (batch × T, heads × headDim), `k` and `v` (batch × T, kvHeads × headDim) with
  /// kvHeads dividing heads: query head h reads key/value head h / (heads / kvHeads) (grouped-
  /// query attention; kvHeads = heads is plain multi-head). Rows are grouped by sequence.
  /// Position j of a sequence attends to positions ≤ j (and > j − `window` when given) whose
  /// `keyMask` is true (padding is false).
  public static func attention(q: Tensor, k: Tensor, v: Tensor, batch: Int, length: Int, heads: Int, keyMask: [Bool],
                               blockEnds: [Int]? = nil, window: Int? = nil) -> (Tensor, AttentionCache)
  {
    let width = q.columns, hd = width / heads, kvWidth = k.columns, group = heads / (kvWidth / hd)
    precondition(kvWidth % hd == 0 && heads % (kvWidth / hd) == 0 && v.columns == kvWidth, "key/value heads do not divide heads")
    let scale = 1 / Float(hd).squareRoot()
    var out = Tensor(zeros: q.shape)
    var cache = AttentionCache(probabilities: [])
    var scores = [Float](repeating: 0, count: length * length)
    for b in 0..<batch {
      for h in 0..<heads {
        let offset = b * length * width + h * hd, kvOffset = b * length * kvWidth + (h / group) * hd
        q.data.withUnsafeBufferPointer { pq in
          k.data.withUnsafeBufferPointer { pk in
            scores.withUnsafeMutableBufferPointer { ps in
              Gemm.sgemm(transB: true, m: length, n: length, k: hd, alpha: scale, a: pq.baseAddress! + offset, lda: width,
                         b: pk.baseAddress! + kvOffset, ldb: kvWidth, c: ps.baseAddress!, ldc: length)
            }
          }
        }
        causalSoftmax(&scores, length: length, keyMask: keyMask, offset: b * length, window: window, blockEnds: blockEnds)
        scores.withUnsafeBufferPointer { ps in
          v.data.withUnsafeBufferPointer { pv in
            out.data.withUnsafeMutableBufferPointer { po in
              Gemm.sgemm(m: length, n: hd, k: length, a: ps.baseAddress!, lda: length, b: pv.baseAddress! + kvOffset,
                         ldb: kvWidth, c: po.baseAddress! + offset, ldc: width)
            }
          }
        }
        cache.probabilities.append(scores)
      }
    }
    return (out, cache)
  }

  /// Returns (dq, dk, dv); the gradients of a shared key/value head sum over its query heads.
  public static func attentionBackward(_ dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, cache: AttentionCache,
                                       batch: Int, length: Int, heads: Int) -> (Tensor, Tensor, Tensor)
  {
    let width = q.columns, hd = width / heads, kvWidth = k.columns, group = heads / (kvWidth / hd)
    let scale = 1 / Float(hd).squareRoot()
    var dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
    var dp = [Float](repeating: 0, count: length * length)
    for b in 0..<batch {
      for h in 0..<heads {
        let offset = b * length * width + h * hd, kvOffset = b * length * kvWidth + (h / group) * hd
        let p = cache.probabilities[b * heads + h]
        dOut.data.withUnsafeBufferPointer { pdo in
          // dP = dO Vᵀ; dV = Pᵀ dO.
          v.data.withUnsafeBufferPointer { pv in
            dp.withUnsafeMutableBufferPointer { pdp in
              Gemm.sgemm(transB: true, m: length, n: length, k: hd, a: pdo.baseAddress! + offset, lda: width,
                         b: pv.baseAddress! + kvOffset, ldb: kvWidth, c: pdp.baseAddress!, ldc: length)
            }
          }
          p.withUnsafeBufferPointer { pp in
            dv.data.withUnsafeMutableBufferPointer { pdv in
              Gemm.sgemm(transA: true, m: length, n: hd, k: length, a: pp.baseAddress!, lda: length,
                         b: pdo.baseAddress! + offset, ldb: width, beta: 1, c: pdv.baseAddress! + kvOffset, ldc: kvWidth)
            }
          }
        }
        let ds = softmaxBackward(p, dp, rows: length, columns: length)
        ds.withUnsafeBufferPointer { pds in
          // dQ = dS K · scale; dK = dSᵀ Q · scale.
          k.data.withUnsafeBufferPointer { pk in
            dq.data.withUnsafeMutableBufferPointer { pdq in
              Gemm.sgemm(m: length, n: hd, k: length, alpha: scale, a: pds.baseAddress!, lda: length,
                         b: pk.baseAddress! + kvOffset, ldb: kvWidth, c: pdq.baseAddress! + offset, ldc: width)
            }
          }
          q.data.withUnsafeBufferPointer { pq in
            dk.data.withUnsafeMutableBufferPointer { pdk in
              Gemm.sgemm(transA: true, m: length, n: hd, k: length, alpha: scale, a: pds.baseAddress!, lda: length,
                         b: pq.baseAddress! + offset, ldb: width, beta: 1, c: pdk.baseAddress! + kvOffset, ldc: kvWidth)
            }
          }
        }
      }
    }
    return (dq, dk, dv)
  }

  // MARK: Losses.

  /// Mean cross-entropy over the rows whose weight is non-zero (weighted mean), and its
  /// gradient with respect to the logits.
  /// `normalizer` replaces the sum of the weights as the divisor (a shard of a batch divides by
  /// the whole batch's weight, so that shard gradients add up to the batch's).
  public static func crossEntropy(logits: Tensor, targets: [Int], weights: [Float], normalizer: Float? = nil)
    -> (loss: Float, dLogits: Tensor)
  {
    let n = logits.rows, vocab = logits.columns
    var p = logits.data
    softmaxRows(&p, rows: n, columns: vocab)
    var total: Float = 0, loss: Float = 0
    for i in 0..<n where weights[i] != 0 {
      total += weights[i]
      loss -= weights[i] * logf(max(p[i * vocab + targets[i]], 1e-30))
    }
    if let normalizer { total = total > 0 ? normalizer : 0 }
    var d = Tensor(zeros: logits.shape)
    guard total > 0 else { return (0, d) }
    for i in 0..<n where weights[i] != 0 {
      let w = weights[i] / total
      for j in 0..<vocab { d.data[i * vocab + j] = w * p[i * vocab + j] }
      d.data[i * vocab + targets[i]] -= w
    }
    return (loss / total, d)
  }

  /// Mean squared error and its gradient.
  public static func meanSquaredError(_ prediction: [Float], _ target: [Float], normalizer: Float? = nil)
    -> (loss: Float, dPrediction: [Float])
  {
    let n = normalizer ?? Float(max(prediction.count, 1))
    var loss: Float = 0
    var d = [Float](repeating: 0, count: prediction.count)
    for i in prediction.indices {
      let e = prediction[i] - target[i]
      loss += e * e
      d[i] = 2 * e / n
    }
    return (loss / n, d)
  }
}
