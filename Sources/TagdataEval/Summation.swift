/// Sums that stay accurate on long inputs.
///
/// numpy sums float64 arrays pairwise (blocks of 128 with eight partial sums, then halving); the
/// result of a plain left-to-right loop can differ from it in the last bits and, on a million values,
/// lose several digits. `Summation.pairwise` uses the same block scheme and combines block sums with
/// a binary counter (an explicit stack of at most 64 partial sums, no recursion): the error grows
/// with log(n), as numpy's does, though the last bit need not be numpy's.
@usableFromInline
protocol Summable {
  static var zero: Self { get }
  static func + (lhs: Self, rhs: Self) -> Self
  static func += (lhs: inout Self, rhs: Self)
}

extension Double: Summable {}
extension SIMD4: Summable where Scalar == Double {}

@usableFromInline
enum Summation {
  @usableFromInline static let block = 128

  /// Σ term(i) for i in 0..<n, pairwise.
  @inlinable
  static func pairwise<T: Summable>(_ n: Int, _ term: (Int) -> T) -> T {
    if n <= 0 { return .zero }
    if n < 8 {
      var s = T.zero
      for i in 0..<n { s += term(i) }
      return s
    }
    // Block sums merged like a binary counter: level k holds the sum of 2^k blocks.
    var levels = [T](repeating: .zero, count: 64)
    var occupied: UInt64 = 0
    var start = 0
    while start < n {
      let end = min(start + block, n)
      var s = blockSum(start, end, term)
      var k = 0
      while occupied & (1 << UInt64(k)) != 0 {
        s = levels[k] + s
        occupied &= ~(1 << UInt64(k))
        k += 1
      }
      levels[k] = s
      occupied |= 1 << UInt64(k)
      start = end
    }
    var total = T.zero
    var first = true
    for k in 0..<64 where occupied & (1 << UInt64(k)) != 0 {
      total = first ? levels[k] : levels[k] + total
      first = false
    }
    return total
  }

  @inlinable
  static func blockSum<T: Summable>(_ start: Int, _ end: Int, _ term: (Int) -> T) -> T {
    let count = end - start
    if count < 8 {
      var s = T.zero
      for i in start..<end { s += term(i) }
      return s
    }
    var r0 = term(start), r1 = term(start + 1), r2 = term(start + 2), r3 = term(start + 3)
    var r4 = term(start + 4), r5 = term(start + 5), r6 = term(start + 6), r7 = term(start + 7)
    var i = start + 8
    while i + 8 <= end {
      r0 += term(i); r1 += term(i + 1); r2 += term(i + 2); r3 += term(i + 3)
      r4 += term(i + 4); r5 += term(i + 5); r6 += term(i + 6); r7 += term(i + 7)
      i += 8
    }
    var s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < end {
      s += term(i)
      i += 1
    }
    return s
  }
}
