/// Reproducible pseudo-random numbers (SplitMix64): small, fast, the same on every platform.
/// Used for model initialisation and data shuffling in training, and by the tests for
/// reproducible mutations.
public struct SplitMix64: Sendable {
  public var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// A number in 0..<n (0 when n < 1); the tiny modulo bias does not matter for mutations.
  public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
  /// A float in [0, 1) with 24 random bits.
  public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
