import CCBLAS

/// Single-precision matrix multiply, row-major: `C = alpha * op(A) * op(B) + beta * C`, where
/// `op(A)` is `m × k`, `op(B)` is `k × n`, and `op` transposes when asked. Leading dimensions
/// are row strides, so sub-matrices (one attention head of a batch) need no copies.
///
/// ``sgemm`` calls OpenBLAS; ``reference`` is the plain triple loop the tests compare it with.
public enum Gemm {
  public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                           c: UnsafeMutablePointer<Float>, ldc: Int)
  {
    guard m > 0 && n > 0 else { return }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  public static func reference(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                               c: UnsafeMutablePointer<Float>, ldc: Int)
  {
    for i in 0..<m {
      for j in 0..<n {
        var s: Float = 0
        for p in 0..<k {
          let x = transA ? a[p * lda + i] : a[i * lda + p]
          let y = transB ? b[j * ldb + p] : b[p * ldb + j]
          s += x * y
        }
        c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j])
      }
    }
  }

  /// Threads OpenBLAS may use (one is the dependable choice on a shared small machine).
  public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

  /// `A × Bᵀ` or other combinations on whole tensors seen as matrices.
  public static func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
    let (m, k) = transA ? (a.columns, a.rows) : (a.rows, a.columns)
    let (k2, n) = transB ? (b.columns, b.rows) : (b.rows, b.columns)
    precondition(k == k2, "inner dimensions differ: \(k) and \(k2)")
    var c = Tensor.uninitialized([m, n])  // beta = 0: every element is written
    a.data.withUnsafeBufferPointer { pa in
      b.data.withUnsafeBufferPointer { pb in
        c.data.withUnsafeMutableBufferPointer { pc in
          sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: a.columns,
                b: pb.baseAddress!, ldb: b.columns, c: pc.baseAddress!, ldc: n)
        }
      }
    }
    return c
  }
}
