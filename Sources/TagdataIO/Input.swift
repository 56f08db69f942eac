/// The container a file came in, recognised by its first bytes (never by its name).
public enum Compression: String, Sendable, CaseIterable {
  case none, gzip, bzip2, zip

  /// Recognises a compression container from the first bytes of a file.
  /// Returns nil for plain data; throws for containers tagdata cannot read (xz, zstd, 7z).
  public static func sniff(_ head: [UInt8], file: String) throws -> Compression {
    func starts(_ magic: [UInt8]) -> Bool { head.count >= magic.count && Array(head.prefix(magic.count)) == magic }
    if starts([0x1f, 0x8b]) { return .gzip }
    if starts([0x42, 0x5a, 0x68]) && head.count >= 4 && (0x31...0x39).contains(head[3]) { return .bzip2 }
    if starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06]) { return .zip }
    if starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
      throw InputError.unsupported(file: file, message: "xz-compressed input is not supported; decompress it with `xz -dc FILE | tagdata ... -`")
    }
    if starts([0x28, 0xb5, 0x2f, 0xfd]) {
      throw InputError.unsupported(file: file, message: "zstd-compressed input is not supported; decompress it with `zstd -dc FILE | tagdata ... -`")
    }
    if starts([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) {
      throw InputError.unsupported(file: file, message: "7z archives are not supported")
    }
    return .none
  }
}

/// An opened input: decompressed bytes plus what is known about the file.
public struct OpenedInput {
  /// The decompressed byte stream.
  public let source: ByteSource
  /// The raw file underneath (for size and seeking).
  public let file: FileSource
  public let compression: Compression
  /// The first raw (possibly compressed) bytes of the file, up to the size asked for: read once
  /// and handed on to ``source``, so that a pipe is never read twice.
  public let rawHead: [UInt8]
}

/// Opens a path (or `-` for standard input) and stacks the right decompressor on it,
/// decided by magic bytes. The file is opened and read once: its first `headBytes` raw bytes
/// are kept in ``OpenedInput/rawHead`` (for identifying the input) and then read again from
/// memory, so pipes, FIFOs and `/dev/stdin` lose nothing.
public func openInput(_ path: String, headBytes: Int = 8) throws -> OpenedInput {
  let file = try FileSource(path: path)
  let head = try file.readPrefix(max(8, headBytes))
  let compression = try Compression.sniff(head, file: file.name)
  let raw = PrefixedSource(prefix: head, inner: file)
  let source: ByteSource
  switch compression {
  case .none: source = raw
  case .gzip: source = try GzipSource(raw)
  case .bzip2: source = try Bzip2Source(raw)
  case .zip: source = try ZipSource(raw)
  }
  return OpenedInput(source: source, file: file, compression: compression, rawHead: head)
}
