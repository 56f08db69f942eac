import Foundation
import TagdataBio

#if canImport(Glibc)
import Glibc
#endif

/// Content hashes of files and folders, with a cache keyed by what `stat` says of a file
/// (device, inode, size, modification time to the nanosecond): a file that has not been touched
/// is not read again, so a run with nothing changed costs a `stat` per file.
public final class Fingerprints: @unchecked Sendable {
  public struct Entry: Codable, Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modified: Int64
    public var sha256: String
  }

  /// Path → the last hash computed and the file's identity then.
  public private(set) var cache: [String: Entry]
  private let lock = NSLock()

  public init(cache: [String: Entry] = [:]) { self.cache = cache }

  /// Adds entries of an earlier run (a state file).
  public func load(_ entries: [String: Entry]) {
    lock.lock()
    defer { lock.unlock() }
    cache.merge(entries) { current, _ in current }
  }

  public struct Failure: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
  }

  /// SHA-256 (hex) of a regular file's content.
  public func file(_ path: String) throws -> String {
    var st = stat()
    guard stat(path, &st) == 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw Failure(path: path, reason: "not a regular file") }
    let modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    let identity = Entry(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), modified: modified, sha256: "")
    lock.lock()
    let known = cache[path]
    lock.unlock()
    if let known, known.device == identity.device, known.inode == identity.inode, known.size == identity.size,
      known.modified == identity.modified
    {
      return known.sha256
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var digest = StreamDigest()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw Failure(path: path, reason: String(cString: strerror(errno)))
      }
      if n == 0 { break }
      buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    var entry = identity
    entry.sha256 = SequenceDigest.hex(digest.finalize())
    lock.lock()
    cache[path] = entry
    lock.unlock()
    return entry.sha256
  }

  /// SHA-256 of a folder: of every regular file below it (relative path, size and content hash,
  /// sorted by path), skipping names that `skip` accepts. A missing folder throws.
  public func folder(_ path: String, skip: (String) -> Bool = { _ in false }) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw Failure(path: path, reason: "no such folder")
    }
    guard let walker = FileManager.default.enumerator(atPath: path) else { throw Failure(path: path, reason: "cannot be listed") }
    var files: [String] = []
    while let relative = walker.nextObject() as? String {
      if skip(relative) { continue }
      var st = stat()
      if stat(path + "/" + relative, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { files.append(relative) }
    }
    var text = ""
    for relative in files.sorted() {
      text += relative + "\t" + (try file(path + "/" + relative)) + "\n"
    }
    return Self.hash(text)
  }

  /// SHA-256 (hex) of a text.
  public static func hash(_ text: String) -> String {
    SequenceDigest.hex(SequenceDigest.sha256(Array(text.utf8)))
  }

  /// Forgets paths below `prefix` that no longer exist (keeps the state file small).
  public func prune(below prefix: String) {
    lock.lock()
    defer { lock.unlock() }
    for key in cache.keys where key.hasPrefix(prefix) && !FileManager.default.fileExists(atPath: key) { cache[key] = nil }
  }
}
