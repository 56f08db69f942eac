import CBZ2
import CZlib

/// Size of the compressed-input buffer of every decompressor.
let compressedChunk = 1 << 18

/// The compressed side every decompressor shares: its inner source, one input buffer refilled
/// from it when the codec has used what it held, and whether the input has ended.
final class CompressedInput {
  let inner: ByteSource
  let buffer: UnsafeMutableRawBufferPointer
  @exclusivity(unchecked) private(set) var ended = false

  init(_ inner: ByteSource) {
    self.inner = inner
    buffer = .allocate(byteCount: compressedChunk, alignment: 16)
  }

  deinit { buffer.deallocate() }

  /// The next chunk of compressed bytes when the codec holds none (`available` is 0) and the
  /// input has not ended; nil otherwise (the codec's input is left as it is).
  func refill(available: Int) throws -> UnsafeRawBufferPointer? {
    if available > 0 || ended { return nil }
    let n = try inner.read(into: buffer)
    if n == 0 { ended = true }
    return UnsafeRawBufferPointer(rebasing: buffer[0..<n])
  }
}

/// Decoded bytes before damage are handed out first; the damage is reported on the next read.
struct DeferredDamage {
  private var pending: (any Error)?

  /// Runs `decode`; when it throws after producing bytes (`produced()` of them), returns those
  /// and keeps the error for the next call.
  mutating func read(_ decode: () throws -> Int, produced: () -> Int, count: (Int) -> Void) throws -> Int {
    if let e = pending { throw e }
    do {
      return try decode()
    } catch {
      let n = produced()
      if n > 0 {
        pending = error
        count(n)
        return n
      }
      throw error
    }
  }
}

/// Decompresses gzip input, including files of several concatenated members (`cat a.gz b.gz`),
/// as `gzip -dc` does. Trailing zero padding after the last member is ignored; other trailing
/// bytes are an error.
public final class GzipSource: ByteSource {
  private let input: CompressedInput
  private var inner: ByteSource { input.inner }
  private let stream: UnsafeMutablePointer<z_stream>
  @exclusivity(unchecked) private var memberEnded = false
  @exclusivity(unchecked) private var finished = false
  @exclusivity(unchecked) public private(set) var bytesProduced: Int64 = 0
  public var name: String { inner.name }
  /// Compressed bytes the decompressor has actually used.
  public var rawBytesConsumed: Int64 { inner.rawBytesConsumed - Int64(stream.pointee.avail_in) }

  public init(_ inner: ByteSource) throws {
    input = CompressedInput(inner)
    stream = .allocate(capacity: 1)
    stream.initialize(to: z_stream())
    // 15 + 32: zlib or gzip header, detected automatically.
    guard tagdata_inflateInit2(stream, 15 + 32) == Z_OK else {
      stream.deallocate()
      throw InputError.corrupt(file: inner.name, format: "gzip", rawOffset: 0, message: "cannot initialise zlib")
    }
  }

  deinit {
    inflateEnd(stream)
    stream.deallocate()
  }

  private func refill() throws {
    guard let chunk = try input.refill(available: Int(stream.pointee.avail_in)) else { return }
    stream.pointee.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress?.assumingMemoryBound(to: Bytef.self))
    stream.pointee.avail_in = uInt(chunk.count)
  }

  @exclusivity(unchecked) private var damage = DeferredDamage()

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    try damage.read({ try decode(into: buffer) }, produced: { buffer.count - Int(stream.pointee.avail_out) },
                    count: { bytesProduced += Int64($0) })
  }

  private func decode(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard buffer.count > 0, !finished else { return 0 }
    stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
    stream.pointee.avail_out = uInt(buffer.count)
    while stream.pointee.avail_out > 0 {
      if memberEnded {
        // Between members: another gzip header, zero padding, or the end.
        try refill()
        if stream.pointee.avail_in == 0 { finished = true; break }
        let next = stream.pointee.next_in!
        if next[0] == 0 {
          // Zero padding (tar-like block fill): skip it.
          while stream.pointee.avail_in > 0 && stream.pointee.next_in![0] == 0 {
            stream.pointee.next_in! += 1
            stream.pointee.avail_in -= 1
          }
          continue
        }
        if next[0] != 0x1f {
          throw InputError.corrupt(file: name, format: "gzip", rawOffset: rawBytesConsumed,
                         message: "trailing bytes after the last gzip member")
        }
        inflateReset(stream)
        memberEnded = false
      }
      try refill()
      let before = stream.pointee.avail_out
      let status = inflate(stream, Z_NO_FLUSH)
      switch status {
      case Z_STREAM_END:
        memberEnded = true
      case Z_OK:
        break
      case Z_BUF_ERROR:
        if input.ended && stream.pointee.avail_in == 0 {
          throw InputError.truncated(file: name, format: "gzip", rawOffset: rawBytesConsumed,
                           decodedOffset: bytesProduced + Int64(UInt32(buffer.count) - stream.pointee.avail_out))
        }
      default:
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
        throw InputError.corrupt(file: name, format: "gzip", rawOffset: rawBytesConsumed, message: message)
      }
      if input.ended && stream.pointee.avail_in == 0 && !memberEnded
        && before == stream.pointee.avail_out
      {
        throw InputError.truncated(file: name, format: "gzip", rawOffset: rawBytesConsumed,
                         decodedOffset: bytesProduced + Int64(UInt32(buffer.count) - stream.pointee.avail_out))
      }
    }
    let n = buffer.count - Int(stream.pointee.avail_out)
    bytesProduced += Int64(n)
    return n
  }
}

/// Decompresses bzip2 input, including files of several concatenated streams (`pbzip2` output,
/// `cat a.bz2 b.bz2`), as `bzip2 -dc` does.
public final class Bzip2Source: ByteSource {
  private let input: CompressedInput
  private var inner: ByteSource { input.inner }
  private let stream: UnsafeMutablePointer<bz_stream>
  @exclusivity(unchecked) private var streamEnded = false
  @exclusivity(unchecked) private var finished = false
  @exclusivity(unchecked) public private(set) var bytesProduced: Int64 = 0
  public var name: String { inner.name }
  public var rawBytesConsumed: Int64 { inner.rawBytesConsumed - Int64(stream.pointee.avail_in) }

  public init(_ inner: ByteSource) throws {
    input = CompressedInput(inner)
    stream = .allocate(capacity: 1)
    stream.initialize(to: bz_stream())
    guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else {
      stream.deallocate()
      throw InputError.corrupt(file: inner.name, format: "bzip2", rawOffset: 0, message: "cannot initialise libbz2")
    }
  }

  deinit {
    BZ2_bzDecompressEnd(stream)
    stream.deallocate()
  }

  private func refill() throws {
    guard let chunk = try input.refill(available: Int(stream.pointee.avail_in)) else { return }
    stream.pointee.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress?.assumingMemoryBound(to: CChar.self))
    stream.pointee.avail_in = UInt32(chunk.count)
  }

  @exclusivity(unchecked) private var damage = DeferredDamage()

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    try damage.read({ try decode(into: buffer) }, produced: { buffer.count - Int(stream.pointee.avail_out) },
                    count: { bytesProduced += Int64($0) })
  }

  private func decode(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard buffer.count > 0, !finished else { return 0 }
    stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
    stream.pointee.avail_out = UInt32(buffer.count)
    while stream.pointee.avail_out > 0 {
      if streamEnded {
        try refill()
        if stream.pointee.avail_in == 0 { finished = true; break }
        // Keep the unread input across the re-initialisation.
        let nextIn = stream.pointee.next_in
        let availIn = stream.pointee.avail_in
        let nextOut = stream.pointee.next_out
        let availOut = stream.pointee.avail_out
        BZ2_bzDecompressEnd(stream)
        stream.initialize(to: bz_stream())
        guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else {
          throw InputError.corrupt(file: name, format: "bzip2", rawOffset: rawBytesConsumed, message: "cannot re-initialise libbz2")
        }
        stream.pointee.next_in = nextIn
        stream.pointee.avail_in = availIn
        stream.pointee.next_out = nextOut
        stream.pointee.avail_out = availOut
        streamEnded = false
      }
      try refill()
      let before = stream.pointee.avail_out
      let status = BZ2_bzDecompress(stream)
      switch status {
      case BZ_STREAM_END:
        streamEnded = true
      case BZ_OK:
        if input.ended && stream.pointee.avail_in == 0 && before == stream.pointee.avail_out {
          throw InputError.truncated(file: name, format: "bzip2", rawOffset: rawBytesConsumed,
                           decodedOffset: bytesProduced + Int64(UInt32(buffer.count) - stream.pointee.avail_out))
        }
      case BZ_DATA_ERROR, BZ_DATA_ERROR_MAGIC:
        throw InputError.corrupt(file: name, format: "bzip2", rawOffset: rawBytesConsumed,
                       message: status == BZ_DATA_ERROR_MAGIC ? "bad stream header" : "data integrity error")
      default:
        throw InputError.corrupt(file: name, format: "bzip2", rawOffset: rawBytesConsumed, message: "libbz2 error \(status)")
      }
    }
    let n = buffer.count - Int(stream.pointee.avail_out)
    bytesProduced += Int64(n)
    return n
  }
}

/// The CRC32 that Swiss-Prot entries before release 40 (2001) declare on their SQ line
/// (`75818910 CRC32;`): the bitwise complement of the CRC-32 of zlib, Ethernet and PNG
/// (reflected polynomial 0xEDB88320) over the residues as written.
public enum SwissProtCRC32 {
  public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
    var crc: UInt = 0
    var rest = bytes
    // zlib takes at most 2^32 - 1 bytes a call.
    while !rest.isEmpty {
      let n = min(rest.count, 1 << 30)
      crc = CZlib.crc32(crc, rest.baseAddress, UInt32(n))
      rest = UnsafeBufferPointer(rebasing: rest[n...])
    }
    return ~UInt32(truncatingIfNeeded: crc)
  }

  /// Eight upper-case hex digits, as Swiss-Prot prints it.
  public static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: 8 - digits.count) + digits
  }
}
