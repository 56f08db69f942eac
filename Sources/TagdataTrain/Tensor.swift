import TagdataIO

/// A dense float32 tensor: a shape and its elements, contiguous in row-major order.
public struct Tensor: Sendable, Equatable {
  public var shape: [Int]
  public var data: [Float]

  public init(shape: [Int], data: [Float]) {
    precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) elements")
    self.shape = shape
    self.data = data
  }

  public init(zeros shape: [Int]) { self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *))) }

  /// Adds `other` (same number of elements) in place.
  public mutating func add(_ other: Tensor) {
    precondition(other.count == count)
    data.withUnsafeMutableBufferPointer { a in
      other.data.withUnsafeBufferPointer { b in
        for i in 0..<a.count { a[i] += b[i] }
      }
    }
  }

  /// A tensor whose elements the caller overwrites before reading (no zero fill).
  static func uninitialized(_ shape: [Int]) -> Tensor {
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, data: [Float](unsafeUninitializedCapacity: n) { _, count in count = n })
  }

  public var count: Int { data.count }
  /// Rows when seen as a matrix over the last dimension.
  public var rows: Int { shape.count <= 1 ? 1 : shape.dropLast().reduce(1, *) }
  /// The last dimension.
  public var columns: Int { shape.last ?? 1 }

  public subscript(_ i: Int, _ j: Int) -> Float {
    get { data[i * columns + j] }
    set { data[i * columns + j] = newValue }
  }

  /// Deterministic values uniform in [-scale, scale) from a seed (SplitMix64).
  public static func random(_ shape: [Int], scale: Float, seed: UInt64) -> Tensor {
    var rng = SplitMix64(seed: seed)
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, data: (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * scale })
  }
}
