import Foundation
import TestSupport
import Testing
@testable import TagdataIO

/// The sequential writer gives back the bytes written, whatever the chunk sizes, the buffer size
/// and whether the file system took direct I/O; and it reports a device that cannot be written.
@Suite struct SequentialFileWriterTests {
  /// Writes `total` random bytes in chunks of random sizes (up to `maxChunk`) and reads them back.
  static func roundTrip(in dir: String, total: Int, maxChunk: Int, bufferSize: Int, direct: Bool, seed: UInt64)
    throws -> (same: Bool, direct: Bool)
  {
    var rng = SplitMix64(seed: seed)
    let bytes = (0..<total).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let path = dir + "/file-\(seed).bin"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let w = try SequentialFileWriter(path: path, direct: direct, bufferSize: bufferSize)
    let wasDirect = w.direct
    var at = 0
    while at < total {
      let n = min(total - at, rng.below(maxChunk + 1))
      try bytes[at..<(at + n)].withUnsafeBytes { try w.write($0) }
      at += n
    }
    try w.close(sync: true)
    let back = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    return (back == bytes, wasDirect)
  }

  /// Sizes around the 4 KiB unit and the buffer, in the test's temporary directory (direct I/O on
  /// ext4, XFS, Btrfs, F2FS) and in /dev/shm (tmpfs: never direct).
  @Test(arguments: [0, 1, 4095, 4096, 4097, 8192, 65_536 + 123, 300_000])
  func givesBackItsBytes(total: Int) throws {
    let temp = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: temp) }
    var dirs = [temp.path]
    if FileManager.default.fileExists(atPath: "/dev/shm") {
      let shm = "/dev/shm/tagdata-test-\(getpid())-\(total)"
      try FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: true)
      dirs.append(shm)
    }
    defer { for d in dirs.dropFirst() { try? FileManager.default.removeItem(atPath: d) } }
    for dir in dirs {
      for (buffer, chunk) in [(4096, 5000), (1 << 16, 100), (1 << 20, 70_000), (10_000, 1)] where chunk > 1 || total < 10_000 {
        for direct in [true, false] {
          let r = try Self.roundTrip(in: dir, total: total, maxChunk: chunk, bufferSize: buffer, direct: direct,
                                     seed: UInt64(total * 31 + buffer + chunk))
          #expect(r.same, "\(dir): \(total) bytes, buffer \(buffer), chunks up to \(chunk), direct \(r.direct)")
          if !direct { #expect(!r.direct) }
          if dir.hasPrefix("/dev/shm") { #expect(!r.direct, "tmpfs takes no direct I/O") }
        }
      }
    }
  }

  /// Where the temporary directory is on a file system that takes direct I/O, the writer uses it.
  @Test func usesDirectIOWhereTheFileSystemTakesIt() throws {
    let temp = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: temp) }
    let w = try SequentialFileWriter(path: temp.path + "/x")
    let fsType = try #require(SequentialFileWriter.fileSystemType(path: temp.path))
    #expect(w.direct == SequentialFileWriter.directFileSystems.contains(fsType))
    try w.close(sync: false)
  }

  /// A full device fails on writing or closing, naming the file.
  @Test func fullDeviceFails() throws {
    guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
    let w = try SequentialFileWriter(path: "/dev/full", bufferSize: 4096)
    let chunk = [UInt8](repeating: 7, count: 10_000)
    #expect(throws: FileWriteError.self) {
      try chunk.withUnsafeBytes { try w.write($0) }
      try w.close(sync: false)
    }
  }

  @Test func missingDirectoryFails() {
    #expect(throws: FileWriteError(path: "/nonexistent-dir/x", message: "No such file or directory")) {
      _ = try SequentialFileWriter(path: "/nonexistent-dir/x")
    }
  }
}
