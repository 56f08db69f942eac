#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-range helpers for the readers: positions into one buffer, no `String` and no slice
/// arrays until a value is final.
enum Bytes {
  typealias Buffer = UnsafeBufferPointer<UInt8>

  @inline(__always) static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

  static func trim(_ b: Buffer, _ r: Range<Int>) -> Range<Int> {
    var lo = r.lowerBound, hi = r.upperBound
    while lo < hi && isBlank(b[lo]) { lo += 1 }
    while hi > lo && isBlank(b[hi - 1]) { hi -= 1 }
    return lo..<hi
  }

  static func dropSuffix(_ b: Buffer, _ r: Range<Int>, _ byte: UInt8) -> Range<Int> {
    !r.isEmpty && b[r.upperBound - 1] == byte ? r.lowerBound..<(r.upperBound - 1) : r
  }

  /// The blank-separated tokens of `b`.
  static func tokens(_ b: Buffer, into out: inout [Range<Int>]) {
    out.removeAll(keepingCapacity: true)
    var i = 0
    let n = b.count
    while i < n {
      while i < n && isBlank(b[i]) { i += 1 }
      let s = i
      while i < n && !isBlank(b[i]) { i += 1 }
      if i > s { out.append(s..<i) }
    }
  }

  /// Calls `body` with each `separator`-separated field of `r` (empty fields included).
  @inline(__always)
  static func forEachField(_ b: Buffer, _ r: Range<Int>, separator: UInt8, _ body: (Range<Int>) -> Void) {
    var s = r.lowerBound
    for i in r where b[i] == separator {
      body(s..<i)
      s = i + 1
    }
    body(s..<r.upperBound)
  }

  static func firstIndex(of byte: UInt8, in b: Buffer, _ r: Range<Int>) -> Int? {
    for i in r where b[i] == byte { return i }
    return nil
  }

  static func equal(_ b: Buffer, _ r: Range<Int>, _ text: StaticString) -> Bool {
    let n = text.utf8CodeUnitCount
    guard r.count == n else { return false }
    return memcmp(b.baseAddress! + r.lowerBound, text.utf8Start, n) == 0
  }

  static func hasPrefix(_ b: Buffer, _ r: Range<Int>, _ text: StaticString) -> Bool {
    let n = text.utf8CodeUnitCount
    guard r.count >= n else { return false }
    return memcmp(b.baseAddress! + r.lowerBound, text.utf8Start, n) == 0
  }

  static func endsWith(_ bytes: [UInt8], from start: Int, _ text: StaticString) -> Bool {
    let n = text.utf8CodeUnitCount
    guard bytes.count - start >= n else { return false }
    return bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + $0.count - n, text.utf8Start, n) == 0 }
  }

  static func appendText(_ text: StaticString, to out: inout [UInt8]) {
    out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }

  static func append(_ text: StaticString, to a: inout ProteinArena) -> ByteRange {
    a.append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }

  static func int(_ b: Buffer, _ r: Range<Int>) -> Int? {
    guard !r.isEmpty, r.count <= 18 else { return nil }
    var v = 0
    for i in r {
      let d = b[i]
      guard d >= 0x30 && d <= 0x39 else { return nil }
      v = v * 10 + Int(d - 0x30)
    }
    return v
  }

  /// Exactly 8 hex digits (either case).
  static func hex32(_ b: Buffer, _ r: Range<Int>) -> UInt32? {
    r.count == 8 ? hex(b, r).map { UInt32($0) } : nil
  }

  /// Exactly 16 hex digits (either case).
  static func hex64(_ b: Buffer, _ r: Range<Int>) -> UInt64? { r.count == 16 ? hex(b, r) : nil }

  /// Hex digits (either case, at most 16), nil if any byte is not one.
  static func hex(_ b: Buffer, _ r: Range<Int>) -> UInt64? {
    guard !r.isEmpty, r.count <= 16 else { return nil }
    var v: UInt64 = 0
    for i in r {
      let c = b[i]
      let d: UInt8
      switch c {
      case 0x30...0x39: d = c - 0x30
      case 0x41...0x46: d = c - 0x41 + 10
      case 0x61...0x66: d = c - 0x61 + 10
      default: return nil
      }
      v = v << 4 | UInt64(d)
    }
    return v
  }

  /// Offset of the first occurrence of `needle` in `b`.
  static func find(_ needle: StaticString, in b: Buffer) -> Int? {
    let n = needle.utf8CodeUnitCount
    guard n > 0, b.count >= n else { return nil }
    let p = needle.utf8Start
    let first = p[0]
    var i = 0
    outer: while i <= b.count - n {
      if b[i] == first {
        for j in 1..<n where b[i + j] != p[j] {
          i += 1
          continue outer
        }
        return i
      }
      i += 1
    }
    return nil
  }

  /// The digits right after the first occurrence of `marker`.
  static func int(after marker: StaticString, in b: Buffer) -> Int? {
    guard let at = find(marker, in: b) else { return nil }
    let from = at + marker.utf8CodeUnitCount
    var to = from
    while to < b.count && b[to] >= 0x30 && b[to] <= 0x39 { to += 1 }
    return int(b, from..<to)
  }
}

