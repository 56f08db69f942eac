#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Single-precision matrix multiply, row-major: `C = alpha * op(A) * op(B) + beta * C`, where
/// `op(A)` is `m × k`, `op(B)` is `k × n`, and `op` transposes when asked. Leading dimensions
/// are row strides, so sub-matrices (one attention head of a batch) need no copies.
///
/// ``sgemm`` calls OpenBLAS; ``reference`` is the plain triple loop the tests compare it with.
///
/// OpenBLAS is opened on first use (`dlopen`), not linked: a linked OpenBLAS starts its thread
/// pool when the program loads, and those threads spin for a while, which costs every tagdata
/// command (ingest, canon, ...) CPU time it has no use for on a small machine. Its own threads
/// are kept off (`OPENBLAS_NUM_THREADS=1` unless set) until ``setThreads(_:)`` asks for more.
public enum Gemm {
  /// The CBLAS entry points in use.
  struct BLAS: @unchecked Sendable {
    typealias SgemmFn = @convention(c) (
      Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
      UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SgemvFn = @convention(c) (
      Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
      UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreadsFn = @convention(c) (Int32) -> Void
    let sgemm: SgemmFn
    let sgemv: SgemvFn?
    let setThreads: SetThreadsFn?
  }

  /// Why OpenBLAS could not be opened.
  public struct LoadError: Error, CustomStringConvertible {
    public let description: String
  }

  /// Shared objects tried in order (Debian's libopenblas0 first).
  static let libraryNames = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libcblas.so.3"]

  static let blas: Result<BLAS, LoadError> = {
    setenv("OPENBLAS_NUM_THREADS", "1", 0)
    var tried: [String] = []
    for name in libraryNames {
      guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
        tried.append(dlerror().map { String(cString: $0) } ?? name)
        continue
      }
      guard let sgemm = dlsym(handle, "cblas_sgemm") else {
        tried.append("\(name): no cblas_sgemm")
        continue
      }
      let threads = dlsym(handle, "openblas_set_num_threads")
      return .success(BLAS(sgemm: unsafeBitCast(sgemm, to: BLAS.SgemmFn.self),
                           sgemv: dlsym(handle, "cblas_sgemv").map { unsafeBitCast($0, to: BLAS.SgemvFn.self) },
                           setThreads: threads.map { unsafeBitCast($0, to: BLAS.SetThreadsFn.self) }))
    }
    return .failure(LoadError(description: "OpenBLAS could not be loaded (on Debian: apt install libopenblas0): "
                                + tried.joined(separator: "; ")))
  }()

  /// Opens OpenBLAS now, so that a missing library is an error here rather than a stop at the
  /// first matrix multiply.
  public static func load() throws {
    if case let .failure(e) = blas { throw e }
  }

  private static var loaded: BLAS {
    switch blas {
    case let .success(b): return b
    case let .failure(e): fatalError("\(e)")
    }
  }

  // CBLAS enumerations (cblas.h).
  static let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112

  public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                           c: UnsafeMutablePointer<Float>, ldc: Int)
  {
    guard m > 0 && n > 0 else { return }
    // One row (a decoding step): a matrix-vector product, which reads B once without packing it.
    if m == 1, let sgemv = loaded.sgemv {
      let incx = Int32(transA ? lda : 1)
      if transB {
        // c = a · Bᵀ: B is n × k.
        sgemv(rowMajor, noTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, incx, beta, c, 1)
      } else {
        // c = a · B: B is k × n.
        sgemv(rowMajor, trans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, incx, beta, c, 1)
      }
      return
    }
    loaded.sgemm(rowMajor, transA ? trans : noTrans, transB ? trans : noTrans,
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
  public static func setThreads(_ n: Int) { loaded.setThreads?(Int32(max(1, n))) }

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
