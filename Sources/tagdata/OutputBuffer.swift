import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to standard output as bytes.
final class OutputBuffer {
  private var buffer: [UInt8] = []
  /// The error of the first write that failed (a full disk, a closed pipe); later writes are dropped.
  private(set) var failure: Int32?
  init() { buffer.reserveCapacity(1 << 16) }
  deinit { flush() }

  func write(_ s: String) { buffer.append(contentsOf: s.utf8); if buffer.count >= 1 << 16 { flush() } }
  func write(_ b: [UInt8]) { buffer.append(contentsOf: b); if buffer.count >= 1 << 16 { flush() } }
  func write(_ b: UnsafeBufferPointer<UInt8>) { buffer.append(contentsOf: b); if buffer.count >= 1 << 16 { flush() } }

  func flush() {
    guard !buffer.isEmpty else { return }
    buffer.withUnsafeBytes { p in
      var off = 0
      while off < p.count {
        let n = Glibc.write(1, p.baseAddress! + off, p.count - off)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 {
          if failure == nil { failure = n < 0 ? errno : EIO }
          break
        }
        off += n
      }
    }
    buffer.removeAll(keepingCapacity: true)
  }
}

/// Writes `data` beside `path` and renames it into place: a reader never sees half a file.
func writeReplacing(_ data: Data, _ path: String) throws {
  let tmp = path + ".partial"
  do {
    try data.write(to: URL(fileURLWithPath: tmp))
  } catch {
    throw OutputError(what: path, errno: errno)
  }
  guard rename(tmp, path) == 0 else { throw OutputError(what: path, errno: errno) }
}
