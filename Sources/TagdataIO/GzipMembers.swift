#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

/// One gzip member of a file: where it starts in the file and where its decompressed bytes
/// start in the decompressed stream of the whole file.
public struct GzipMember: Sendable, Equatable {
  public var compressedStart: Int64
  public var decompressedStart: Int64

  public init(compressedStart: Int64, decompressedStart: Int64) {
    self.compressedStart = compressedStart
    self.decompressedStart = decompressedStart
  }
}

/// The members of a gzip file (`cat a.gz b.gz`, `bgzip`, `pigz --independent`), for cutting it
/// into spans of whole members that partitions decompress independently.
///
/// A member's compressed start is only known once the members before it are found:
/// - **BGZF** (`bgzip`, htslib, most sequencing pipelines): every member carries the extra
///   subfield `BC` with its compressed size (`BSIZE + 1`) and ends with its decompressed size
///   (`ISIZE`), so members are found by reading 22 bytes per member (about 16 000 small reads
///   per GB), without inflating anything.
/// - **Any other gzip**: one inflate pass over the whole file (zlib, output thrown away),
///   measured at 2.6-3.0 s per GB of decompressed UniProt text on one core (about 9 s per GB of
///   a file compressed 3.5 times; `gzip -dc` takes twice as long), against minutes per GB for
///   parsing; done by every partition as it plans (BGZF: 0.05 s per GB). It is not cached: each partition runs
///   on its own node, the pass is a small part of a partition's work for N up to a few
///   dozen, and a cache would be one more thing to invalidate.
///
/// Trailing zero padding belongs to the member before it, as `GzipSource` skips it. The scan
/// stops at the first thing that is not a complete member (a truncated or corrupt member,
/// trailing garbage): that member then reaches to the end of the file, and whoever reads it meets
/// the damage just where one read of the whole file meets it.
public enum GzipMembers {
  /// The scan's result: members in file order (at least one), and the decompressed size when
  /// every member was complete.
  public struct Scan: Sendable, Equatable {
    public var members: [GzipMember]
    public var decompressedSize: Int64?
    /// True when the members were found from their BGZF sizes.
    public var bgzf: Bool
  }

  /// Scans `path` (a regular gzip file of `size` bytes).
  public static func scan(path: String, size: Int64) throws -> Scan {
    if let blocks = try bgzfScan(path: path, size: size) { return blocks }
    return try inflateScan(path: path, size: size)
  }

  /// The BGZF fast path: nil when the first member is not BGZF; a member that is not (or is cut
  /// short) ends the scan there, with the rest of the file found by inflating from it.
  static func bgzfScan(path: String, size: Int64) throws -> Scan? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw InputError.io(file: path, message: String(cString: strerror(errno))) }
    defer { close(fd) }
    var members: [GzipMember] = []
    var offset: Int64 = 0, decompressed: Int64 = 0
    var header = [UInt8](repeating: 0, count: 18)
    var trailer = [UInt8](repeating: 0, count: 4)
    while offset < size {
      guard try preadFully(fd, &header, at: offset, path: path) == 18, let blockSize = bgzfBlockSize(header),
        offset + blockSize <= size, try preadFully(fd, &trailer, at: offset + blockSize - 4, path: path) == 4
      else { break }
      members.append(GzipMember(compressedStart: offset, decompressedStart: decompressed))
      decompressed += Int64(trailer[0]) | Int64(trailer[1]) << 8 | Int64(trailer[2]) << 16 | Int64(trailer[3]) << 24
      offset += blockSize
    }
    if members.isEmpty { return nil }
    if offset == size { return Scan(members: members, decompressedSize: decompressed, bgzf: true) }
    // The rest is not BGZF (or is damaged): inflated from there.
    let rest = try inflateScan(path: path, size: size, from: offset, decompressedBase: decompressed)
    return Scan(members: members + rest.members, decompressedSize: rest.decompressedSize, bgzf: true)
  }

  /// A BGZF member's total size from its first 18 bytes (gzip header with `FEXTRA`, `XLEN` 6,
  /// subfield `BC` of length 2 holding `BSIZE`), or nil.
  static func bgzfBlockSize(_ h: [UInt8]) -> Int64? {
    guard h.count >= 18, h[0] == 0x1F, h[1] == 0x8B, h[2] == 8, h[3] & 4 != 0, h[10] == 6, h[11] == 0,
      h[12] == UInt8(ascii: "B"), h[13] == UInt8(ascii: "C"), h[14] == 2, h[15] == 0
    else { return nil }
    return (Int64(h[16]) | Int64(h[17]) << 8) + 1
  }

  /// Finds members by inflating from `from` (a member's start) to the end (also for a BGZF
  /// file, ignoring its block sizes).
  public static func inflateScan(path: String, size: Int64, from: Int64 = 0, decompressedBase: Int64 = 0) throws -> Scan {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw InputError.io(file: path, message: String(cString: strerror(errno))) }
    defer { close(fd) }
    _ = posix_fadvise(fd, off_t(from), 0, POSIX_FADV_SEQUENTIAL)
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { stream.deallocate() }
    // 15 + 16: gzip only (a zlib stream is not a member).
    guard tagdata_inflateInit2(stream, 15 + 16) == Z_OK else {
      throw InputError.corrupt(file: path, format: "gzip", rawOffset: from, message: "cannot initialise zlib")
    }
    defer { inflateEnd(stream) }
    let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { input.deallocate(); output.deallocate() }
    var members = [GzipMember(compressedStart: from, decompressedStart: decompressedBase)]
    var readTo = from  // file offset of the end of the bytes read so far
    var decompressed = decompressedBase
    var inMember = true
    func refill() throws -> Bool {
      let n = pread(fd, input.baseAddress!, input.count, off_t(readTo))
      if n < 0 {
        if errno == EINTR { return try refill() }
        throw InputError.io(file: path, message: String(cString: strerror(errno)))
      }
      readTo += Int64(n)
      stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
      stream.pointee.avail_in = uInt(n)
      return n > 0
    }
    var complete = false
    scanning: while true {
      if stream.pointee.avail_in == 0, try !refill() {
        // The end of the file: complete when it falls between members.
        complete = !inMember
        break
      }
      if !inMember {
        // Between members: zero padding (skipped), the next member, or trailing bytes.
        while stream.pointee.avail_in > 0, stream.pointee.next_in[0] == 0 {
          stream.pointee.next_in += 1
          stream.pointee.avail_in -= 1
        }
        if stream.pointee.avail_in == 0 { continue }
        guard stream.pointee.next_in[0] == 0x1F else { break scanning }
        let at = readTo - Int64(stream.pointee.avail_in)
        members.append(GzipMember(compressedStart: at, decompressedStart: decompressed))
        inflateReset(stream)
        inMember = true
      }
      stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
      stream.pointee.avail_out = uInt(output.count)
      let status = inflate(stream, Z_NO_FLUSH)
      decompressed += Int64(output.count - Int(stream.pointee.avail_out))
      switch status {
      case Z_STREAM_END: inMember = false
      case Z_OK, Z_BUF_ERROR: break
      default: break scanning  // damaged: the member reaches to the end of the file
      }
    }
    return Scan(members: members, decompressedSize: complete ? decompressed : nil, bgzf: false)
  }

  private static func preadFully(_ fd: Int32, _ bytes: inout [UInt8], at offset: Int64, path: String) throws -> Int {
    var got = 0
    let count = bytes.count
    while got < count {
      let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
      if n < 0 {
        if errno == EINTR { continue }
        throw InputError.io(file: path, message: String(cString: strerror(errno)))
      }
      if n == 0 { break }
      got += n
    }
    return got
  }
}
