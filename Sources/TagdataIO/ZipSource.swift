import CZlib

/// Streams the single member of a zip archive (BindingDB ships `.tsv.zip`), reading local file
/// headers front to back, so it works on pipes and never needs the central directory.
///
/// Supported: stored (method 0, with known size) and deflate (method 8) members, data
/// descriptors, zip64 sizes. The member's CRC-32 is checked at its end. Directory entries are
/// skipped. An archive with more than one file member is rejected when the second one is
/// reached: tagdata reads one data file per archive.
public final class ZipSource: ByteSource {
  private let inner: ByteSource
  private let stream: UnsafeMutablePointer<z_stream>
  private let input: UnsafeMutableRawBufferPointer
  @exclusivity(unchecked) private var inputEnded = false
  @exclusivity(unchecked) private var state: State = .header
  @exclusivity(unchecked) private var method: UInt16 = 0
  @exclusivity(unchecked) private var storedLeft: Int64 = 0
  @exclusivity(unchecked) private var hasDescriptor = false
  @exclusivity(unchecked) private var expectedCRC: UInt32 = 0
  @exclusivity(unchecked) private var crc: uLong = 0
  @exclusivity(unchecked) private var memberName = ""
  @exclusivity(unchecked) private var filesSeen = 0
  @exclusivity(unchecked) private var pendingError: (any Error)?
  @exclusivity(unchecked) public private(set) var bytesProduced: Int64 = 0
  public var name: String { inner.name }
  public var rawBytesConsumed: Int64 { inner.rawBytesConsumed - Int64(stream.pointee.avail_in) }
  /// The archive member being read (known after the first read).
  public var entryName: String { memberName }

  private enum State { case header, data, done }

  public init(_ inner: ByteSource) throws {
    self.inner = inner
    stream = .allocate(capacity: 1)
    stream.initialize(to: z_stream())
    input = .allocate(byteCount: compressedChunk, alignment: 16)
    guard tagdata_inflateInit2(stream, -15) == Z_OK else {
      input.deallocate(); stream.deallocate()
      throw InputError.corrupt(file: inner.name, format: "zip", rawOffset: 0, message: "cannot initialise zlib")
    }
  }

  deinit {
    inflateEnd(stream)
    stream.deallocate()
    input.deallocate()
  }

  /// Makes at least `count` unread bytes available (fewer only at end of input).
  private func ensure(_ count: Int) throws -> Bool {
    while Int(stream.pointee.avail_in) < count {
      if inputEnded { return false }
      let have = Int(stream.pointee.avail_in)
      if have > 0, let next = stream.pointee.next_in {
        input.baseAddress!.copyMemory(from: next, byteCount: have)
      }
      let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: input[have...]))
      if n == 0 { inputEnded = true }
      stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
      stream.pointee.avail_in = uInt(have + n)
    }
    return true
  }

  private func take(_ count: Int) -> UnsafeBufferPointer<UInt8> {
    let p = UnsafeBufferPointer(start: stream.pointee.next_in!, count: count)
    stream.pointee.next_in! += count
    stream.pointee.avail_in -= uInt(count)
    return p
  }

  private func le16(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt16 { UInt16(p[i]) | UInt16(p[i + 1]) << 8 }
  private func le32(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
    UInt32(le16(p, i)) | UInt32(le16(p, i + 2)) << 16
  }
  private func le64(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt64 {
    UInt64(le32(p, i)) | UInt64(le32(p, i + 4)) << 32
  }

  private func corrupt(_ message: String) -> InputError {
    .corrupt(file: name, format: "zip", rawOffset: rawBytesConsumed, message: message)
  }

  private func truncated() -> InputError {
    .truncated(file: name, format: "zip", rawOffset: rawBytesConsumed, decodedOffset: bytesProduced)
  }

  /// Reads local headers until a file member starts, or the archive's central directory.
  private func readHeader() throws {
    while true {
      guard try ensure(4) else {
        if filesSeen == 0 { throw truncated() }
        state = .done
        return
      }
      let sig = le32(UnsafeBufferPointer(start: stream.pointee.next_in!, count: 4), 0)
      if sig == 0x0201_4b50 || sig == 0x0605_4b50 || sig == 0x0606_4b50 {
        // Central directory: no more members.
        if filesSeen == 0 { throw InputError.unsupported(file: name, message: "zip archive holds no file") }
        state = .done
        return
      }
      guard sig == 0x0403_4b50 else { throw corrupt("expected a local file header") }
      guard try ensure(30) else { throw truncated() }
      let h = take(30)
      let flags = le16(h, 6)
      method = le16(h, 8)
      expectedCRC = le32(h, 14)
      var compressedSize = Int64(le32(h, 18))
      let nameLength = Int(le16(h, 26))
      let extraLength = Int(le16(h, 28))
      guard try ensure(nameLength + extraLength) else { throw truncated() }
      let nameBytes = take(nameLength)
      let entry = String(decoding: nameBytes, as: UTF8.self)
      let extra = take(extraLength)
      // zip64 extended information: header id 1, uncompressed then compressed size.
      var i = 0
      while i + 4 <= extra.count {
        let id = le16(extra, i)
        let size = Int(le16(extra, i + 2))
        if id == 1 && size >= 16 && i + 4 + 16 <= extra.count && compressedSize == 0xFFFF_FFFF {
          compressedSize = Int64(bitPattern: le64(extra, i + 12))
        }
        i += 4 + size
      }
      if flags & 1 != 0 { throw InputError.unsupported(file: name, message: "zip member \(entry) is encrypted") }
      hasDescriptor = flags & 8 != 0
      let isDirectory = entry.hasSuffix("/")
      if isDirectory {
        if method != 0 || hasDescriptor { throw corrupt("directory entry with data") }
        _ = try skipStored(compressedSize)
        continue
      }
      filesSeen += 1
      if filesSeen > 1 {
        throw InputError.unsupported(
          file: name,
          message: "zip archive holds more than one file (\(memberName), \(entry)); tagdata reads one file per archive")
      }
      memberName = entry
      crc = crc32(0, nil, 0)
      switch method {
      case 0:
        if hasDescriptor { throw InputError.unsupported(file: name, message: "stored zip member of unknown size") }
        storedLeft = compressedSize
      case 8:
        inflateReset(stream)
      default:
        throw InputError.unsupported(file: name, message: "zip member \(entry) uses compression method \(method); only deflate and stored are read")
      }
      state = .data
      return
    }
  }

  private func skipStored(_ count: Int64) throws -> Int64 {
    var left = count
    while left > 0 {
      guard try ensure(1) else { throw truncated() }
      let n = min(Int64(stream.pointee.avail_in), left)
      _ = take(Int(n))
      left -= n
    }
    return count
  }

  private func finishMember() throws {
    if hasDescriptor {
      guard try ensure(4) else { throw truncated() }
      var sigSkip = 0
      if le32(UnsafeBufferPointer(start: stream.pointee.next_in!, count: 4), 0) == 0x0807_4b50 { sigSkip = 4 }
      guard try ensure(sigSkip + 4) else { throw truncated() }
      let d = take(sigSkip + 4)
      expectedCRC = le32(d, sigSkip)
      // Skip the sizes: 8 bytes, or 16 with zip64. Peek at what follows to tell which.
      guard try ensure(8) else { throw truncated() }
      _ = take(8)
      if try ensure(4) {
        let sig = le32(UnsafeBufferPointer(start: stream.pointee.next_in!, count: 4), 0)
        if sig != 0x0403_4b50 && sig != 0x0201_4b50 && sig != 0x0605_4b50 && sig != 0x0606_4b50 {
          guard try ensure(8) else { throw truncated() }
          _ = take(8)
        }
      }
    }
    if UInt32(truncatingIfNeeded: crc) != expectedCRC {
      throw corrupt("CRC-32 mismatch in member \(memberName)")
    }
    state = .header
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if let e = pendingError { throw e }
    var produced = 0
    do {
      while produced < buffer.count {
        switch state {
        case .done:
          bytesProduced += Int64(produced)
          return produced
        case .header:
          try readHeader()
        case .data:
          let out = UnsafeMutableRawBufferPointer(rebasing: buffer[produced...])
          var n = 0
          if method == 0 {
            if storedLeft == 0 { try finishMember(); continue }
            guard try ensure(1) else { throw truncated() }
            n = Int(min(Int64(min(Int(stream.pointee.avail_in), out.count)), storedLeft))
            out.baseAddress!.copyMemory(from: take(n).baseAddress!, byteCount: n)
            storedLeft -= Int64(n)
          } else {
            _ = try ensure(1)
            stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(out.count)
            let status = inflate(stream, Z_NO_FLUSH)
            n = out.count - Int(stream.pointee.avail_out)
            if status == Z_STREAM_END {
              crc = crc32(crc, out.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(n))
              produced += n
              try finishMember()
              continue
            }
            if status == Z_BUF_ERROR || (status == Z_OK && n == 0 && inputEnded && stream.pointee.avail_in == 0) {
              if inputEnded && stream.pointee.avail_in == 0 {
                crc = crc32(crc, out.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(n))
                produced += n
                throw truncated()
              }
            } else if status != Z_OK {
              throw corrupt(stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)")
            }
          }
          crc = crc32(crc, out.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(n))
          produced += n
        }
      }
    } catch {
      if produced > 0 {
        pendingError = error
        bytesProduced += Int64(produced)
        return produced
      }
      throw error
    }
    bytesProduced += Int64(produced)
    return produced
  }
}
