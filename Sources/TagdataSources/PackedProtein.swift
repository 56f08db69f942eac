/// A run of bytes in a ``ProteinArena``: `start` and `count`, or no value at all (`count < 0`).
public struct ByteRange: Sendable, Equatable {
  public var start: Int32
  public var count: Int32

  public init(start: Int, count: Int) {
    self.start = Int32(truncatingIfNeeded: start)
    self.count = Int32(truncatingIfNeeded: count)
  }

  /// No value (a field the record lacks), as opposed to an empty one.
  public static let none = ByteRange(start: 0, count: -1)
  public var isNone: Bool { count < 0 }

  /// The range after its bytes moved back by `delta`.
  public func shifted(_ delta: Int32) -> ByteRange {
    isNone ? self : ByteRange(start: Int(start - delta), count: Int(count))
  }
}

/// A run of list elements in ``ProteinArena/pieces`` (a type of its own, so that a range of
/// pieces is never taken for a range of bytes).
public struct PieceRange: Sendable, Equatable {
  public var start: Int32
  public var count: Int32
  public init(start: Int, count: Int) {
    self.start = Int32(truncatingIfNeeded: start)
    self.count = Int32(truncatingIfNeeded: count)
  }
  public static let empty = PieceRange(start: 0, count: 0)

  public func shifted(_ delta: Int32) -> PieceRange {
    count == 0 ? .empty : PieceRange(start: Int(start - delta), count: Int(count))
  }
}

/// Where packed records keep their bytes: one growing buffer for text and residues, and one
/// table of ranges for list fields (accessions, names, keywords, comments). A batch of records
/// shares one arena, so a thousand records cost a handful of allocations, not tens of thousands,
/// and freeing them is two deallocations wherever it happens.
///
/// Arenas hold at most 2 GiB (ranges are 32-bit); ingest batches stay far below that.
public struct ProteinArena: Sendable {
  public var bytes: [UInt8] = []
  public var pieces: [ByteRange] = []

  public init() {}

  public mutating func removeAll() {
    bytes.removeAll(keepingCapacity: true)
    pieces.removeAll(keepingCapacity: true)
  }

  /// The arena's current ends, to move what comes after them elsewhere.
  public var mark: (bytes: Int, pieces: Int) { (bytes.count, pieces.count) }

  /// How far ranges moved back in ``moveTail(from:to:)``.
  public struct Shift: Sendable {
    public var bytes: Int32
    public var pieces: Int32
  }

  /// Moves everything appended since `mark` to the end of `other`; ranges of records laid out
  /// after `mark` are valid in `other` once shifted (``PackedProtein/shifted(_:)``).
  public mutating func moveTail(from mark: (bytes: Int, pieces: Int), to other: inout ProteinArena) -> Shift {
    let shift = Shift(bytes: Int32(mark.bytes - other.bytes.count), pieces: Int32(mark.pieces - other.pieces.count))
    other.bytes.append(contentsOf: bytes[mark.bytes...])
    other.pieces.append(contentsOf: pieces[mark.pieces...].lazy.map { $0.shifted(shift.bytes) })
    bytes.removeSubrange(mark.bytes...)
    pieces.removeSubrange(mark.pieces...)
    return shift
  }

  /// Appends `b` and returns its range.
  @inline(__always)
  public mutating func append(_ b: UnsafeBufferPointer<UInt8>) -> ByteRange {
    let start = bytes.count
    bytes.append(contentsOf: b)
    return ByteRange(start: start, count: b.count)
  }

  public mutating func append(_ s: String?) -> ByteRange {
    guard var s else { return .none }
    return s.withUTF8 { append($0) }
  }

  /// The range of everything appended since `start`.
  @inline(__always)
  public func range(from start: Int) -> ByteRange { ByteRange(start: start, count: bytes.count - start) }

  /// Starts a list: elements appended to `pieces` from here on belong to it.
  @inline(__always)
  public var listStart: Int { pieces.count }
  @inline(__always)
  public func list(from start: Int) -> PieceRange { PieceRange(start: start, count: pieces.count - start) }

  /// The bytes of `r` within `bytes` (seen through `b`), or nil for no value.
  @inline(__always)
  public static func view(_ b: UnsafeBufferPointer<UInt8>, _ r: ByteRange) -> UnsafeBufferPointer<UInt8>? {
    r.isNone ? nil : UnsafeBufferPointer(rebasing: b[Int(r.start)..<Int(r.start + r.count)])
  }

  public func string(_ r: ByteRange) -> String? {
    bytes.withUnsafeBufferPointer { b in Self.view(b, r).map { String(decoding: $0, as: UTF8.self) } }
  }

  public func strings(_ l: PieceRange) -> [String] {
    (Int(l.start)..<Int(l.start + l.count)).map { string(pieces[$0]) ?? "" }
  }

  /// Pairs stored as consecutive pieces (key, value, key, value, ...).
  public func pairs(_ l: PieceRange) -> [(String, String)] {
    stride(from: Int(l.start), to: Int(l.start + l.count) - 1, by: 2).map {
      (string(pieces[$0]) ?? "", string(pieces[$0 + 1]) ?? "")
    }
  }

  /// Sorts the pieces of `l` by their bytes (UniProt keywords are listed in order).
  public mutating func sortPieces(_ l: PieceRange) {
    guard l.count > 1 else { return }
    let lo = Int(l.start), hi = Int(l.start + l.count)
    bytes.withUnsafeBufferPointer { b in
      pieces[lo..<hi].sort { x, y in
        let a = UnsafeBufferPointer(rebasing: b[Int(x.start)..<Int(x.start + x.count)])
        let c = UnsafeBufferPointer(rebasing: b[Int(y.start)..<Int(y.start + y.count)])
        return a.lexicographicallyPrecedes(c)
      }
    }
  }

  /// Appends `strings` as one list.
  public mutating func appendList(_ strings: [String]) -> PieceRange {
    let start = listStart
    for s in strings { pieces.append(append(s)) }
    return list(from: start)
  }

  /// Appends `pairs` as one list of consecutive pieces (first, second, first, second, ...).
  public mutating func appendPairs(_ pairs: [(String, String)]) -> PieceRange {
    let start = listStart
    for (a, b) in pairs {
      pieces.append(append(a))
      pieces.append(append(b))
    }
    return list(from: start)
  }

  /// The record a packed one stands for: the one mapping between the two forms (readers lay
  /// records out packed; this makes Strings and arrays of them for callers that want those).
  public func record(_ p: PackedProtein) -> ProteinRecord {
    var r = ProteinRecord(format: p.format, location: p.location)
    let accessions = strings(p.accessions)
    r.accession = accessions.first
    r.secondaryAccessions = Array(accessions.dropFirst())
    r.entryName = string(p.entryName)
    r.reviewed = p.reviewed
    r.proteinName = string(p.proteinName)
    r.names = pairs(p.names).map { ProteinName(kind: $0.0, value: $0.1) }
    r.gene = string(p.gene)
    r.organism = string(p.organism)
    r.taxonID = p.taxonID
    r.lineage = string(p.lineage)
    r.existence = p.existence
    r.keywords = strings(p.keywords)
    r.comments = pairs(p.comments).map { (topic: $0.0, text: $0.1) }
    r.sequenceVersion = p.sequenceVersion
    r.entryVersion = p.entryVersion
    r.fragment = p.fragment
    r.declaredLength = p.declaredLength
    r.declaredMass = p.declaredMass
    r.declaredCRC64 = p.declaredCRC64
    r.declaredCRC32 = p.declaredCRC32
    r.checksumLine = p.checksumLine
    if !p.sequence.isNone { r.sequence = Array(bytes[Int(p.sequence.start)..<Int(p.sequence.start + p.sequence.count)]) }
    r.label = string(p.label)
    r.headerDescription = string(p.headerDescription)
    return r
  }
}

/// A ``ProteinRecord`` whose text, residues and lists live in a ``ProteinArena``: the same
/// fields, as ranges. Plain data (no references), so arrays of them cost nothing to free.
///
/// `names` and `comments` are lists of pairs (kind or topic, then the text); `accessions` lists
/// the primary accession first.
public struct PackedProtein: Sendable {
  public var format: ProteinFormat
  public var location: RecordLocation
  public var accessions = PieceRange.empty
  public var entryName = ByteRange.none
  public var reviewed: Bool?
  public var proteinName = ByteRange.none
  public var names = PieceRange.empty
  public var gene = ByteRange.none
  public var organism = ByteRange.none
  public var taxonID: Int?
  public var lineage = ByteRange.none
  public var existence: Int?
  public var keywords = PieceRange.empty
  public var comments = PieceRange.empty
  public var sequenceVersion: Int?
  public var entryVersion: Int?
  public var fragment = false
  public var declaredLength: Int?
  public var declaredMass: Int?
  public var declaredCRC64: UInt64?
  /// The CRC32 of a pre-2001 Swiss-Prot entry (see ``ProteinRecord/declaredCRC32``).
  public var declaredCRC32: UInt32?
  /// The line that declares the length and checksum (flat SQ line, XML `<sequence>`), if known.
  public var checksumLine: Int?
  public var sequence = ByteRange.none
  public var label = ByteRange.none
  public var headerDescription = ByteRange.none

  public init(format: ProteinFormat, location: RecordLocation) {
    self.format = format
    self.location = location
  }

  /// Which checksum the entry declares, if any.
  public var checksumKind: ChecksumKind? { declaredCRC64 != nil ? .crc64 : declaredCRC32 != nil ? .crc32 : nil }

  /// The same record after its bytes moved (see ``ProteinArena/moveTail(from:to:)``).
  public func shifted(_ shift: ProteinArena.Shift) -> PackedProtein {
    var p = self
    for k in [\PackedProtein.accessions, \.names, \.keywords, \.comments] {
      p[keyPath: k] = p[keyPath: k].shifted(shift.pieces)
    }
    for k in [\PackedProtein.entryName, \.proteinName, \.gene, \.organism, \.lineage, \.sequence, \.label,
              \.headerDescription] {
      p[keyPath: k] = p[keyPath: k].shifted(shift.bytes)
    }
    return p
  }
}

/// What ``UniProtFlatReader/next(into:)`` hands out.
public enum PackedEvent: Sendable {
  case record(PackedProtein)
  case malformed(MalformedRecord)
}
