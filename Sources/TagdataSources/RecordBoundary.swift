#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TagdataIO

/// Where records of a line-based format can start, for cutting one large uncompressed file into
/// byte ranges that partitions read independently. A boundary is a point where the reader, read
/// from the start of the file, has just finished a record and looks for the next one: a reader
/// started there reads the same records from there on.
public enum RecordBoundary: Sendable, Equatable {
  /// After a line that ends a record (UniProt flat `//`, SDF `$$$$`), as the reader tests it.
  case afterTerminatorLine
  /// At a line that starts with this byte (FASTA `>`).
  case lineStarting(UInt8)
  /// At any line start (one record per line, no header: CID-SMILES).
  case anyLine
}

extension InputFormat {
  /// How a file of this format is cut at record boundaries, or nil when it cannot be: XML and
  /// ASN.1 nest records inside one document. BindingDB's TSV is cut at line starts; each range
  /// after the first reads the header from the file's start.
  public var recordBoundary: RecordBoundary? {
    switch self {
    case .uniprotFlat, .sdf: return .afterTerminatorLine
    case .fasta: return .lineStarting(UInt8(ascii: ">"))
    case .cidSmiles, .bindingdb: return .anyLine
    case .uniprotXML, .pubchemXML, .pubchemASN: return nil
    }
  }

  /// True for a line (without its line feed) that ends a record of this format, as its reader
  /// decides: UniProt's `//` (alone, or followed by a blank or a carriage return), SDF's `$$$$`.
  func isTerminator(_ line: ArraySlice<UInt8>) -> Bool {
    switch self {
    case .uniprotFlat:
      guard line.count >= 2, line[line.startIndex] == 0x2F, line[line.startIndex + 1] == 0x2F else { return false }
      if line.count == 2 { return true }
      let c = line[line.startIndex + 2]
      return c == 0x20 || c == 0x0D
    case .sdf:
      return line.starts(with: [0x24, 0x24, 0x24, 0x24])
    default:
      return false
    }
  }

  /// The first record boundary at or after byte `from` of the uncompressed file at `path` of
  /// `size` bytes (`size` when there is none). Deterministic: every partition computes the same
  /// boundaries. Reads from `from` to the boundary only (about one record).
  public func nextRecordStart(path: String, from: Int64, size: Int64) throws -> Int64 {
    guard let rule = recordBoundary else {
      throw InputError.unsupported(file: path, message: "\(rawValue) files cannot be cut into byte ranges")
    }
    if from <= 0 { return 0 }
    if from >= size { return size }
    var scan = try ForwardScan(path: path, size: size)
    // The first line start at or after `from`.
    guard let lf = try scan.lineFeed(from: from - 1) else { return size }
    var p = lf + 1
    while p < size {
      switch rule {
      case .anyLine:
        return p
      case let .lineStarting(b):
        if try scan.byte(at: p) == b { return p }
        guard let next = try scan.lineFeed(from: p) else { return size }
        p = next + 1
      case .afterTerminatorLine:
        let head = try scan.bytes(at: p, count: 4)
        let next = try scan.lineFeed(from: p)
        let lineEnd = next ?? size
        let line = head.prefix(Int(min(4, lineEnd - p)))
        if isTerminator(line[...]) { return next.map { $0 + 1 } ?? size }
        guard let next else { return size }
        p = next + 1
      }
    }
    return size
  }

  /// A reader over `source`, which is already positioned at `location` (a record boundary of
  /// the file, from ``nextRecordStart(path:from:size:)``): records are numbered from
  /// `location.index` and lines from `location.line`, and their offsets are the file's. A
  /// format with a header (BindingDB) reads it from `headerSource`, the file from its start,
  /// unless `location` is the file's start.
  public func reader(positionedSource source: ByteSource, at location: RecordLocation, headerSource: () throws -> ByteSource,
                     limits: ReaderLimits = ReaderLimits()) throws -> Reader
  {
    if self == .bindingdb {
      if location.offset == 0 && location.index == 0 {
        return .measurements { try BindingDBReader(source: source, resume: nil, limits: limits) }
      }
      let header = try headerSource()
      return .measurements { try BindingDBReader(headerSource: header, rows: source, at: location, limits: limits) }
    }
    let lines = LineReader(source)
    lines.maxLineLength = min(lines.maxLineLength, limits.maxRecordBytes)
    lines.truncatesLongLines = true
    lines.assumePosition(offset: location.offset, line: location.line)
    let first = location.index
    switch self {
    case .uniprotFlat: return .proteins { UniProtFlatReader(lines: lines, firstRecordIndex: first, limits: limits) }
    case .fasta: return .proteins { FastaReader(lines: lines, firstRecordIndex: first, limits: limits) }
    case .sdf: return .molecules { PubChemSDFReader(lines: lines, firstRecordIndex: first, limits: limits) }
    case .cidSmiles: return .molecules { CIDSmilesReader(lines: lines, firstRecordIndex: first, limits: limits) }
    case .uniprotXML, .pubchemXML, .pubchemASN, .bindingdb:
      throw InputError.unsupported(file: source.name, message: "\(rawValue) files cannot be read from a byte range")
    }
  }
}

/// Forward reading of a file in 64 KiB windows, for finding record boundaries.
private struct ForwardScan {
  let path: String
  let size: Int64
  var window: [UInt8] = []
  var windowStart: Int64 = -1

  init(path: String, size: Int64) throws {
    self.path = path
    self.size = size
  }

  static let windowBytes = 1 << 16

  mutating func load(_ offset: Int64) throws {
    if windowStart >= 0, offset >= windowStart, offset < windowStart + Int64(window.count) { return }
    window = try readFileBytes(path, at: offset, count: Self.windowBytes)
    windowStart = offset
  }

  mutating func byte(at offset: Int64) throws -> UInt8? {
    guard offset < size else { return nil }
    try load(offset)
    guard offset - windowStart < Int64(window.count) else { return nil }
    return window[Int(offset - windowStart)]
  }

  mutating func bytes(at offset: Int64, count: Int) throws -> [UInt8] {
    var out: [UInt8] = []
    var o = offset
    while out.count < count, let b = try byte(at: o) {
      out.append(b)
      o += 1
    }
    return out
  }

  /// The offset of the first line feed at or after `offset`, or nil.
  mutating func lineFeed(from offset: Int64) throws -> Int64? {
    var o = offset
    while o < size {
      try load(o)
      let i = Int(o - windowStart)
      guard i < window.count else { return nil }
      if let j = window[i...].firstIndex(of: 0x0A) { return windowStart + Int64(j) }
      o = windowStart + Int64(window.count)
    }
    return nil
  }
}
