#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pull-based stream of bytes: the one input abstraction every reader in tagdata uses.
///
/// `read(into:)` fills up to `buffer.count` bytes and returns how many it wrote; `0` means end of
/// input. Sources stack: a ``FileSource`` under a ``GzipSource`` under a reader. Memory use is a
/// fixed buffer per layer, whatever the size of the input.
public protocol ByteSource: AnyObject {
  /// A human-readable name used in error messages: the path, or `<stdin>`.
  var name: String { get }
  /// Bytes handed out so far by this source (for a decompressor: decompressed bytes).
  var bytesProduced: Int64 { get }
  /// Raw bytes consumed from the underlying file so far (for a plain file: `bytesProduced`).
  var rawBytesConsumed: Int64 { get }
  /// Reads up to `buffer.count` bytes. Returns 0 at end of input.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Everything that can go wrong while reading input bytes. Every case names the file.
public enum InputError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file could not be opened or read (`errno` text included).
  case io(file: String, message: String)
  /// A compressed stream ended before its end-of-stream marker.
  case truncated(file: String, format: String, rawOffset: Int64, decodedOffset: Int64)
  /// A compressed stream is damaged (bad header, checksum or data).
  case corrupt(file: String, format: String, rawOffset: Int64, message: String)
  /// The bytes are in a container or format tagdata does not read.
  case unsupported(file: String, message: String)
  /// A single line exceeded the configured limit (a binary file read as text, most likely).
  case lineTooLong(file: String, line: Int, limit: Int)

  public var description: String {
    switch self {
    case let .io(file, message):
      return "\(file): \(message)"
    case let .truncated(file, format, raw, decoded):
      return "\(file): \(format) stream is truncated at compressed byte offset \(raw) "
        + "(after \(decoded) decompressed bytes)"
    case let .corrupt(file, format, raw, message):
      return "\(file): corrupt \(format) data at compressed byte offset \(raw): \(message)"
    case let .unsupported(file, message):
      return "\(file): \(message)"
    case let .lineTooLong(file, line, limit):
      return "\(file): line \(line) is longer than \(limit) bytes (is this a binary file?)"
    }
  }
}

/// A plain file, or standard input when the path is `-`, read with POSIX `read(2)`.
public final class FileSource: ByteSource {
  public let name: String
  @exclusivity(unchecked) public private(set) var bytesProduced: Int64 = 0
  public var rawBytesConsumed: Int64 { bytesProduced }
  /// The file size when known (regular files), for progress reporting.
  public let size: Int64?
  /// The modification time in nanoseconds since the epoch, for regular files.
  public let modificationTimeNanoseconds: Int64?
  /// True when the input is a regular file (standard input redirected from a file included):
  /// it can be read again from the start. Pipes, FIFOs, sockets and terminals are read once.
  public var isRegularFile: Bool { size != nil }
  private let fd: Int32
  private let ownsDescriptor: Bool

  /// Opens `path` for reading; `-` is standard input.
  public init(path: String) throws {
    let d: Int32
    if path == "-" {
      name = "<stdin>"
      d = 0
      ownsDescriptor = false
    } else {
      name = path
      d = open(path, O_RDONLY | O_CLOEXEC)
      guard d >= 0 else { throw InputError.io(file: path, message: String(cString: strerror(errno))) }
      ownsDescriptor = true
    }
    var st = stat()
    let known = fstat(d, &st) == 0
    if known && (st.st_mode & S_IFMT) == S_IFDIR {
      if ownsDescriptor { close(d) }
      throw InputError.io(file: name, message: "is a directory")
    }
    fd = d
    // Standard input redirected from a file part of which was already read is taken as a stream.
    if known && (st.st_mode & S_IFMT) == S_IFREG && lseek(d, 0, SEEK_CUR) == 0 {
      size = Int64(st.st_size)
      modificationTimeNanoseconds = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
      // Read front to back: ask the kernel for a larger read-ahead window.
      _ = posix_fadvise(d, 0, 0, POSIX_FADV_SEQUENTIAL)
    } else {
      size = nil
      modificationTimeNanoseconds = nil
    }
  }

  deinit { if ownsDescriptor { close(fd) } }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
    while true {
      let n = Glibc.read(fd, base, buffer.count)
      if n >= 0 {
        bytesProduced += Int64(n)
        return n
      }
      if errno == EINTR { continue }
      throw InputError.io(file: name, message: String(cString: strerror(errno)))
    }
  }

  /// Moves the read position to `offset` (regular files only). Returns false if not seekable.
  public func seek(to offset: Int64) -> Bool {
    guard ownsDescriptor, size != nil, lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
      return false
    }
    bytesProduced = offset
    return true
  }
}

/// A source that can lend its bytes where they already are instead of copying them out.
public protocol LendingByteSource: ByteSource {
  /// The next bytes of the stream, read-only, valid until the next call to any method of the
  /// source; nil at the end. Counts as read.
  func lend() throws -> UnsafeRawBufferPointer?
}

/// Replays a few already-read bytes before continuing with the wrapped source.
/// Used to sniff magic bytes without losing them.
public final class PrefixedSource: LendingByteSource {
  @exclusivity(unchecked) private var prefix: [UInt8]
  @exclusivity(unchecked) private var prefixPos = 0
  public let inner: ByteSource
  @exclusivity(unchecked) public private(set) var bytesProduced: Int64 = 0
  public var name: String { inner.name }
  public var rawBytesConsumed: Int64 { inner.rawBytesConsumed }

  public init(prefix: [UInt8], inner: ByteSource) {
    self.prefix = prefix
    self.inner = inner
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard buffer.count > 0 else { return 0 }
    if prefixPos < prefix.count {
      let n = min(buffer.count, prefix.count - prefixPos)
      prefix.withUnsafeBytes { p in
        buffer.baseAddress!.copyMemory(from: p.baseAddress! + prefixPos, byteCount: n)
      }
      prefixPos += n
      if prefixPos == prefix.count { prefix = []; prefixPos = 0 }
      bytesProduced += Int64(n)
      return n
    }
    let n = try inner.read(into: buffer)
    bytesProduced += Int64(n)
    return n
  }

  /// The prefix, then whatever the inner source lends (or reads into a buffer of this source's
  /// own, when it cannot lend).
  public func lend() throws -> UnsafeRawBufferPointer? {
    if prefixPos < prefix.count {
      // Moved to a buffer of stable address, which stays valid until the next call.
      if lent == nil { lent = .allocate(byteCount: max(1 << 16, prefix.count), alignment: 8) }
      let n = prefix.count - prefixPos
      prefix.withUnsafeBytes { lent!.baseAddress!.copyMemory(from: $0.baseAddress! + prefixPos, byteCount: n) }
      prefix = []
      prefixPos = 0
      bytesProduced += Int64(n)
      return UnsafeRawBufferPointer(start: lent!.baseAddress, count: n)
    }
    if let lending = innerLending {
      guard let chunk = try lending.lend() else { return nil }
      bytesProduced += Int64(chunk.count)
      return chunk
    }
    if lent == nil { lent = .allocate(byteCount: 1 << 16, alignment: 8) }
    let n = try inner.read(into: lent!)
    bytesProduced += Int64(n)
    return n == 0 ? nil : UnsafeRawBufferPointer(start: lent!.baseAddress, count: n)
  }

  @exclusivity(unchecked) private var lent: UnsafeMutableRawBufferPointer?
  private lazy var innerLending = inner as? LendingByteSource
  deinit { lent?.deallocate() }
}

extension ByteSource {
  /// Reads until `buffer` is full or the input ends; returns the number of bytes read.
  public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var total = 0
    while total < buffer.count {
      let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
      if n == 0 { break }
      total += n
    }
    return total
  }

  /// Reads up to `count` bytes from the start of the source into an array.
  public func readPrefix(_ count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let n = try bytes.withUnsafeMutableBytes { (p) throws -> Int in try readFully(into: p) }
    bytes.removeSubrange(n...)
    return bytes
  }

  /// Reads and discards `count` bytes. Returns the number actually skipped.
  public func skip(_ count: Int64) throws -> Int64 {
    var left = count
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
    defer { scratch.deallocate() }
    while left > 0 {
      let want = Int(min(Int64(scratch.count), left))
      let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<want]))
      if n == 0 { break }
      left -= Int64(n)
    }
    return count - left
  }
}

/// Bytes already in memory, as a source (parsing a string or a downloaded buffer with the same
/// readers as files).
public final class MemorySource: ByteSource {
  private let bytes: [UInt8]
  @exclusivity(unchecked) private var position = 0
  public let name: String
  public var bytesProduced: Int64 { Int64(position) }
  public var rawBytesConsumed: Int64 { Int64(position) }

  public init(_ bytes: [UInt8], name: String = "<memory>") {
    self.bytes = bytes
    self.name = name
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, bytes.count - position)
    guard n > 0 else { return 0 }
    bytes.withUnsafeBytes { p in buffer.baseAddress!.copyMemory(from: p.baseAddress! + position, byteCount: n) }
    position += n
    return n
  }
}
