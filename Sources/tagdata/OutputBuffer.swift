#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to standard output as bytes.
final class OutputBuffer {
  private var buffer: [UInt8] = []
  init() { buffer.reserveCapacity(1 << 16) }
  deinit { flush() }

  func write(_ s: String) { buffer.append(contentsOf: s.utf8); if buffer.count >= 1 << 16 { flush() } }
  func write(_ b: [UInt8]) { buffer.append(contentsOf: b); if buffer.count >= 1 << 16 { flush() } }

  func flush() {
    guard !buffer.isEmpty else { return }
    buffer.withUnsafeBytes { p in
      var off = 0
      while off < p.count {
        let n = Glibc.write(1, p.baseAddress! + off, p.count - off)
        if n <= 0 { break }
        off += n
      }
    }
    buffer.removeAll(keepingCapacity: true)
  }
}
