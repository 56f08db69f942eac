#if canImport(Glibc)
import CFileSystem
import Glibc
#endif

/// A file that could not be written.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
  public var path: String
  public var message: String
  public var description: String { "\(path): \(message)" }
}

/// A file written once, from start to end, in large blocks (a build's shards).
///
/// On a local file system known to take it (ext4, XFS, Btrfs, F2FS), the file is written with
/// direct I/O: whole 4 KiB-aligned blocks go from this writer's buffer to the disk, without being
/// copied into the page cache. Written through the page cache, each byte is copied once more in the
/// kernel and written back later by its threads: for gigabytes of shards, which the build does not
/// read again, that copy was the largest cost of writing them (BENCHMARKS.md). The file's last
/// partial block is written through the page cache. Anywhere else (tmpfs, network and overlay file
/// systems, devices), and as soon as a direct write is refused, the file is written as usual.
///
/// One thread writes; `close` makes the file whole (and, with `sync`, durable).
public final class SequentialFileWriter {
  public let path: String
  /// Whether the file is (still) written with direct I/O.
  public private(set) var direct = false
  private let fd: Int32
  private let buffer: UnsafeMutableRawPointer
  private let capacity: Int
  private var count = 0
  private var closed = false
  /// Direct I/O's unit: offsets, lengths and the buffer's address are multiples of it.
  static let alignment = 4096

  /// Local file systems that take direct writes, by `statfs` type: ext2/3/4, XFS, Btrfs, F2FS.
  static let directFileSystems: Set<Int> = [0xEF53, 0x5846_5342, 0x9123_683E, 0xF2F5_2010]

  /// Creates (or truncates) `path`. `direct: false` never uses direct I/O; `bufferSize` is rounded
  /// up to a multiple of 4 KiB.
  public init(path: String, direct allowDirect: Bool = true, bufferSize: Int = 1 << 20) throws {
    self.path = path
    // 0666 less the umask, as fopen makes files.
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
    guard fd >= 0 else { throw FileWriteError(path: path, message: String(cString: strerror(errno))) }
    self.fd = fd
    capacity = max(1, (bufferSize + Self.alignment - 1) / Self.alignment) * Self.alignment
    buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.alignment)
    #if canImport(Glibc)
    let flag = tagdata_o_direct()
    if allowDirect && flag != 0 && Self.directFileSystems.contains(tagdata_fs_type(fd)) {
      let flags = fcntl(fd, F_GETFL)
      direct = flags >= 0 && fcntl(fd, F_SETFL, flags | flag) == 0
    }
    #endif
  }

  /// The `statfs` type of the file system that holds `path` (nil: it cannot be told).
  static func fileSystemType(path: String) -> Int? {
    #if canImport(Glibc)
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    let t = tagdata_fs_type(fd)
    return t < 0 ? nil : t
    #else
    return nil
    #endif
  }

  deinit {
    if !closed { Glibc.close(fd) }
    buffer.deallocate()
  }

  /// Appends `bytes`.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard var from = bytes.baseAddress else { return }
    var left = bytes.count
    while left > 0 {
      let n = min(left, capacity - count)
      (buffer + count).copyMemory(from: from, byteCount: n)
      count += n
      from += n
      left -= n
      if count == capacity { try flush(capacity) }
    }
  }

  /// Writes the buffer's first `n` bytes (a multiple of the alignment while writing directly) and
  /// keeps the rest at its start.
  private func flush(_ n: Int) throws {
    var done = 0
    while done < n {
      let w = Glibc.write(fd, buffer + done, n - done)
      if w > 0 {
        done += w
        // A short direct write leaves an unaligned rest: it is written through the page cache.
        if direct && done % Self.alignment != 0 { try leaveDirect() }
      } else if w < 0 && errno == EINTR {
        continue
      } else if w < 0 && errno == EINVAL && direct {
        // The file system took the flag but not this write: as usual, from here on.
        try leaveDirect()
      } else {
        throw FileWriteError(path: path, message: "cannot write: \(String(cString: strerror(w < 0 ? errno : EIO)))")
      }
    }
    let rest = count - n
    if rest > 0 { buffer.copyMemory(from: buffer + n, byteCount: rest) }
    count = rest
  }

  private func leaveDirect() throws {
    #if canImport(Glibc)
    let flags = fcntl(fd, F_GETFL)
    guard flags >= 0, fcntl(fd, F_SETFL, flags & ~tagdata_o_direct()) == 0 else {
      throw FileWriteError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
    }
    #endif
    direct = false
  }

  /// Writes what is buffered and closes the file; with `sync`, waits until it is on disk. Nothing
  /// may be written after it.
  public func close(sync: Bool) throws {
    guard !closed else { return }
    closed = true
    var failure: FileWriteError?
    do {
      if direct {
        let whole = count / Self.alignment * Self.alignment
        if whole > 0 { try flush(whole) }
        if count > 0 { try leaveDirect() }
      }
      if count > 0 { try flush(count) }
      if sync && fsync(fd) != 0 {
        failure = FileWriteError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
      }
    } catch let e as FileWriteError {
      failure = e
    }
    if Glibc.close(fd) != 0 && failure == nil {
      failure = FileWriteError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
    }
    if let failure { throw failure }
  }
}
