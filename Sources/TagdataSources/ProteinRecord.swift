import TagdataIO

/// The input formats tagdata recognises for protein sequences.
public enum ProteinFormat: String, Sendable, CaseIterable {
  /// UniProtKB flat file (`.dat`, Swiss-Prot/TrEMBL text).
  case uniprotFlat = "uniprot-flat"
  /// UniProtKB XML (`<uniprot>`) or UniRef XML (`<UniRef>`).
  case uniprotXML = "uniprot-xml"
  /// FASTA, with UniProt (`sp|`/`tr|`), UniRef or free-form headers.
  case fasta
}

/// The checksum a UniProt entry declares for its sequence.
public enum ChecksumKind: String, Sendable, CaseIterable {
  /// UniProt's CRC64 (SQ lines since 2001, XML `checksum`).
  case crc64
  /// Swiss-Prot's CRC32 of releases before 40 (2001).
  case crc32
}

/// Where a record sits in its input: for error messages and provenance, and, as the first record
/// not yet handled, where interrupted work resumes.
public struct RecordLocation: Sendable, Equatable {
  /// 0-based position among the records of the file (bad records count too).
  public var index: Int
  /// 1-based line of the record's first line.
  public var line: Int
  /// Byte offset of the record's first byte in the decompressed stream.
  public var offset: Int64

  public init(index: Int, line: Int, offset: Int64) {
    self.index = index
    self.line = line
    self.offset = offset
  }
}

/// A protein name as UniProt structures it: recommended, alternative or submitted, full or short
/// or EC number; or one of the special names (allergen, biotech, CD antigen, INN).
public struct ProteinName: Sendable, Equatable, Hashable {
  public var kind: String
  public var value: String
  public init(kind: String, value: String) {
    self.kind = kind
    self.value = value
  }
}

/// One protein record, as faithful to its source as the catalog needs. Flat-file, XML and FASTA
/// readers all produce this type, so the same entry read from any format maps to the same rows.
public struct ProteinRecord: Sendable {
  public var format: ProteinFormat
  public var location: RecordLocation
  /// Primary accession (UniProt), or an isoform accession like `P12345-2` from FASTA.
  public var accession: String?
  public var secondaryAccessions: [String] = []
  /// Entry name, e.g. `PSBL_ORYSJ`.
  public var entryName: String?
  /// true for Swiss-Prot, false for TrEMBL, nil when unknown.
  public var reviewed: Bool?
  /// The recommended (or first submitted) full name.
  public var proteinName: String?
  public var names: [ProteinName] = []
  public var gene: String?
  /// Organism as UniProt prints it on OS lines: `Scientific name (Common name) (Synonym)`.
  public var organism: String?
  public var taxonID: Int?
  public var lineage: String?
  /// Protein existence level 1...5.
  public var existence: Int?
  public var keywords: [String] = []
  /// Free-text comments, topic in upper case (`FUNCTION`), text with evidence tags removed.
  public var comments: [(topic: String, text: String)] = []
  public var sequenceVersion: Int?
  public var entryVersion: Int?
  public var fragment = false
  /// Length, average mass and CRC64 as the entry declares them (flat SQ line, XML attributes).
  public var declaredLength: Int?
  public var declaredMass: Int?
  public var declaredCRC64: UInt64?
  /// Swiss-Prot entries before release 40 (2001) declare a CRC32 instead: the bitwise complement
  /// of the CRC-32 of zlib, Ethernet and PNG over the residues (``SwissProtCRC32``).
  public var declaredCRC32: UInt32?
  /// The line that declares the length and checksum (flat SQ line, XML `<sequence>`), if known:
  /// where a mismatch is reported.
  public var checksumLine: Int?
  /// Which checksum the entry declares, if any.
  public var checksumKind: ChecksumKind? { declaredCRC64 != nil ? .crc64 : declaredCRC32 != nil ? .crc32 : nil }
  /// The residues as read, whitespace removed, not yet canonical.
  public var sequence: [UInt8] = []
  /// A FASTA identifier or UniRef cluster id, where the record has one.
  public var label: String?
  /// Free description (FASTA header text after the identifier).
  public var headerDescription: String?

  public init(format: ProteinFormat, location: RecordLocation) {
    self.format = format
    self.location = location
  }
}

/// A record the reader could not make sense of, with the reason and a short excerpt.
public struct MalformedRecord: Sendable, Equatable {
  public var location: RecordLocation
  /// The line the problem is on (may differ from the record's first line).
  public var line: Int
  public var reason: String
  public var excerpt: String

  public init(location: RecordLocation, line: Int, reason: String, excerpt: String) {
    self.location = location
    self.line = line
    self.reason = reason
    self.excerpt = excerpt
  }
}

/// What a reader hands out, record by record.
public enum ReadEvent: Sendable {
  case record(ProteinRecord)
  case malformed(MalformedRecord)

  public var location: RecordLocation {
    switch self {
    case let .record(r): return r.location
    case let .malformed(m): return m.location
    }
  }
}

/// A streaming reader of protein records. `next(into:)` returns nil at the end of input and
/// throws only for damage to the stream itself (I/O, decompression, XML well-formedness), after
/// handing out every complete record before the damage.
public protocol ProteinReader: AnyObject {
  var format: ProteinFormat { get }
  /// The next record laid out in `arena` (appended to what is there): the form ingest uses, with
  /// no `String` or array made per field.
  func next(into arena: inout ProteinArena) throws -> PackedEvent?
}

extension ProteinReader {
  /// The next record as a ``ProteinRecord`` (``ProteinArena/record(_:)`` of the packed one), for
  /// callers that want Strings and arrays.
  public func next() throws -> ReadEvent? {
    var arena = ProteinArena()
    switch try next(into: &arena) {
    case nil: return nil
    case let .record(p)?: return .record(arena.record(p))
    case let .malformed(m)?: return .malformed(m)
    }
  }
}

/// Text for excerpts: printable, bounded, never failing on bad UTF-8.
func excerptText(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = 160) -> String {
  let cut = UnsafeBufferPointer(rebasing: bytes[0..<min(bytes.count, limit)])
  var s = String(decoding: cut, as: UTF8.self)
  if bytes.count > limit { s += "…" }
  return s
}
