#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes `[start, end)` of a regular file, read with `pread(2)`: the work unit of one
/// partition of a large uncompressed input. It also counts the line feeds it hands out, so that
/// a partition can record how many lines its range holds (the merge numbers lines with it).
public final class RangeSource: ByteSource {
  public let name: String
  public let start: Int64
  public let end: Int64
  private let fd: Int32
  @exclusivity(unchecked) private var position: Int64
  /// Line feeds among the bytes handed out so far.
  @exclusivity(unchecked) public private(set) var lineFeeds: Int64 = 0
  /// Bytes handed out so far (from `start`).
  public var bytesProduced: Int64 { position - start }
  public var rawBytesConsumed: Int64 { position - start }

  /// Opens `path` and reads `[start, end)`; `end` past the file's end stops at the end.
  public init(path: String, start: Int64, end: Int64) throws {
    name = path
    let d = open(path, O_RDONLY | O_CLOEXEC)
    guard d >= 0 else { throw InputError.io(file: path, message: String(cString: strerror(errno))) }
    fd = d
    self.start = start
    self.end = end
    position = start
    _ = posix_fadvise(d, off_t(start), off_t(max(0, end - start)), POSIX_FADV_SEQUENTIAL)
  }

  deinit { close(fd) }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard let base = buffer.baseAddress, buffer.count > 0, position < end else { return 0 }
    let want = Int(min(Int64(buffer.count), end - position))
    while true {
      let n = pread(fd, base, want, off_t(position))
      if n >= 0 {
        position += Int64(n)
        lineFeeds += Self.countLineFeeds(UnsafeRawBufferPointer(start: base, count: n))
        return n
      }
      if errno == EINTR { continue }
      throw InputError.io(file: name, message: String(cString: strerror(errno)))
    }
  }

  /// Line feeds in `bytes` (by `memchr`, a word at a time).
  public static func countLineFeeds(_ bytes: UnsafeRawBufferPointer) -> Int64 {
    guard var p = bytes.baseAddress else { return 0 }
    let end = p + bytes.count
    var n: Int64 = 0
    while p < end, let hit = memchr(p, 0x0A, end - p) {
      n += 1
      p = UnsafeRawPointer(hit) + 1
    }
    return n
  }
}

/// Reads up to `count` bytes of a regular file at `offset` (fewer at its end).
public func readFileBytes(_ path: String, at offset: Int64, count: Int) throws -> [UInt8] {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { throw InputError.io(file: path, message: String(cString: strerror(errno))) }
  defer { close(fd) }
  var bytes = [UInt8](repeating: 0, count: count)
  var got = 0
  while got < count {
    let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
    if n < 0 {
      if errno == EINTR { continue }
      throw InputError.io(file: path, message: String(cString: strerror(errno)))
    }
    if n == 0 { break }
    got += n
  }
  bytes.removeSubrange(got...)
  return bytes
}
