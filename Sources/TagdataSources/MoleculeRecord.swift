import TagdataChem
import TagdataIO

/// The molecule formats tagdata reads.
public enum MoleculeFormat: String, Sendable, CaseIterable {
  /// MDL SD file (V2000/V3000 molfiles with data items), e.g. PubChem's `Compound_*.sdf.gz`.
  case sdf
  /// PubChem's `CID-SMILES`: `CID<TAB>SMILES` per line, no header.
  case cidSmiles = "cid-smiles"
  /// PubChem XML: `<PC-Compounds>`, `<PC-Compound>` or `<PC-Substances>` documents.
  case pubchemXML = "pubchem-xml"
  /// PubChem ASN.1 text: `PC-Compounds ::= { ... }`, `PC-Compound ::=`, `PC-Substances ::=`.
  case pubchemASN = "pubchem-asn"
}

/// One molecule record as read, before any chemistry: its structure in the source's own form and
/// the identifiers and properties the source states about it.
public struct MoleculeRecord: Sendable {
  public enum Structure: Sendable {
    /// Molfile lines (title, program line, comment, counts line, blocks, `M  END`).
    case molfile(MolBlock)
    case smiles(String)
    case table(ConnectionTable)
  }

  public var location: RecordLocation
  public var structure: Structure
  /// The record's own name: a molfile title, a `CID_n` label.
  public var title: String?
  /// PubChem compound id.
  public var cid: Int?
  /// PubChem's isomeric SMILES (`PUBCHEM_SMILES`, older `PUBCHEM_OPENEYE_ISO_SMILES`; XML
  /// `SMILES`/`Absolute` or `Isomeric`).
  public var pubchemSmiles: String?
  /// PubChem's SMILES without stereo and isotopes (`PUBCHEM_CONNECTIVITY_SMILES`, older
  /// `PUBCHEM_OPENEYE_CAN_SMILES`).
  public var pubchemConnectivitySmiles: String?
  public var inchi: String?
  public var inchikey: String?
  public var formula: String?
  /// Molecular weight as the source writes it (precision varies between releases).
  public var weight: String?

  public init(location: RecordLocation, structure: Structure) {
    self.location = location
    self.structure = structure
  }
}

public enum MoleculeEvent: Sendable {
  case record(MoleculeRecord)
  case malformed(MalformedRecord)

  public var location: RecordLocation {
    switch self {
    case let .record(r): return r.location
    case let .malformed(m): return m.location
    }
  }
}

/// A streaming reader of molecule records; the same contract as ``ProteinReader``.
public protocol MoleculeReader: AnyObject {
  var format: MoleculeFormat { get }
  func next() throws -> MoleculeEvent?
}

extension MoleculeFormat {
  /// The molecule format of a file's first decompressed bytes (see ``InputFormat/detect(_:file:)``);
  /// nil when they are not a molecule format.
  public static func detect(_ head: [UInt8]) -> MoleculeFormat? {
    (try? InputFormat.detect(head, file: ""))?.moleculeFormat
  }
}

/// Makes the reader for a molecule format, positioned at `resume` when given (line formats skip
/// to the byte offset; XML and ASN.1 are re-read and the first records dropped).
public func makeMoleculeReader(format: MoleculeFormat, source: ByteSource, resume: RecordLocation? = nil,
                               limits: ReaderLimits = ReaderLimits()) throws
  -> MoleculeReader
{
  switch format {
  case .sdf, .cidSmiles:
    let (lines, first) = try positionedLines(source, resume, limits)
    return format == .sdf
      ? PubChemSDFReader(lines: lines, firstRecordIndex: first, limits: limits)
      : CIDSmilesReader(lines: lines, firstRecordIndex: first, limits: limits)
  case .pubchemXML, .pubchemASN:
    let reader: MoleculeReader = format == .pubchemXML
      ? try PubChemXMLReader(source: source, limits: limits) : PubChemASNReader(source: source, limits: limits)
    if let resume {
      for _ in 0..<resume.index where try reader.next() != nil {}
    }
    return reader
  }
}

/// SDF records with PubChem's data items mapped onto ``MoleculeRecord``.
public final class PubChemSDFReader: MoleculeReader {
  public let format = MoleculeFormat.sdf
  private let sdf: SDFReader

  public init(lines: LineReader, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    sdf = SDFReader(lines: lines, firstRecordIndex: firstRecordIndex, limits: limits)
  }

  public func next() throws -> MoleculeEvent? {
    guard let r = try sdf.next() else { return nil }
    var m = MoleculeRecord(location: r.location, structure: .molfile(r.molfile))
    let title = r.title
    m.title = title.isEmpty ? nil : title
    if let p = r.problem {
      return .malformed(MalformedRecord(location: r.location, line: p.line, reason: p.reason,
                                        excerpt: String(title.prefix(80))))
    }
    func tag(_ names: String...) -> String? {
      for n in names { if let v = r.value(n)?.trimmingCharacters(), !v.isEmpty { return v } }
      return nil
    }
    if let c = tag("PUBCHEM_COMPOUND_CID") {
      guard let cid = Int(c), cid > 0 else {
        let line = r.line(of: "PUBCHEM_COMPOUND_CID") ?? r.location.line
        return .malformed(MalformedRecord(location: r.location, line: line,
                                          reason: "PUBCHEM_COMPOUND_CID at line \(line) is not a positive integer: '\(c.prefix(40))'",
                                          excerpt: m.title ?? ""))
      }
      m.cid = cid
    }
    m.pubchemSmiles = tag("PUBCHEM_SMILES", "PUBCHEM_OPENEYE_ISO_SMILES")
    m.pubchemConnectivitySmiles = tag("PUBCHEM_CONNECTIVITY_SMILES", "PUBCHEM_OPENEYE_CAN_SMILES")
    m.inchi = tag("PUBCHEM_IUPAC_INCHI", "PUBCHEM_NIST_INCHI")
    m.inchikey = tag("PUBCHEM_IUPAC_INCHIKEY", "PUBCHEM_NIST_INCHIKEY")
    m.formula = tag("PUBCHEM_MOLECULAR_FORMULA")
    m.weight = tag("PUBCHEM_MOLECULAR_WEIGHT")
    return .record(m)
  }
}

/// `CID<TAB>SMILES` lines (PubChem's `Extras/CID-SMILES.gz`). Blank lines are skipped; a line
/// that is not a positive CID, a tab and a SMILES is malformed.
public final class CIDSmilesReader: MoleculeReader {
  public let format = MoleculeFormat.cidSmiles
  private let lines: LineReader
  @exclusivity(unchecked) private var index: Int
  private let limits: ReaderLimits

  public init(lines: LineReader, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    self.lines = lines
    index = firstRecordIndex
    self.limits = limits
  }

  public func next() throws -> MoleculeEvent? {
    while let raw = try lines.nextLine() {
      var end = raw.count
      while end > 0, raw[end - 1] == 0x0D || raw[end - 1] == 0x20 { end -= 1 }
      if end == 0 { continue }
      let bytes = UnsafeBufferPointer(rebasing: raw[0..<end])
      let loc = RecordLocation(index: index, line: lines.lineNumber, offset: lines.lineOffset)
      index += 1
      if lines.lastLineTruncated || raw.count > limits.maxRecordBytes {
        return .malformed(MalformedRecord(location: loc, line: loc.line, reason: limits.tooLarge(line: loc.line),
                                          excerpt: excerptText(bytes, limit: 60)))
      }
      guard let tab = bytes.firstIndex(of: 0x09) else {
        return .malformed(MalformedRecord(location: loc, line: loc.line,
                                          reason: "expected CID<TAB>SMILES: no tab on line \(loc.line)",
                                          excerpt: excerptText(bytes)))
      }
      guard tab > 0, let cid = Int(String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<tab]), as: UTF8.self)), cid > 0
      else {
        return .malformed(MalformedRecord(location: loc, line: loc.line,
                                          reason: "expected CID<TAB>SMILES: the CID at line \(loc.line), column 1 is not a positive integer",
                                          excerpt: excerptText(bytes)))
      }
      guard tab < end - 1 else {
        return .malformed(MalformedRecord(location: loc, line: loc.line,
                                          reason: "expected CID<TAB>SMILES: no SMILES after the tab at line \(loc.line), column \(tab + 1)",
                                          excerpt: excerptText(bytes)))
      }
      // The SMILES ends at the next tab or blank, unless a CXSMILES block follows it.
      let rest = Array(bytes[(tab + 1)..<end])
      let smilesEnd = tab + 1 + SmilesParser.recordLength(rest)
      var m = MoleculeRecord(
        location: loc,
        structure: .smiles(String(decoding: UnsafeBufferPointer(rebasing: bytes[(tab + 1)..<smilesEnd]), as: UTF8.self)))
      m.cid = cid
      if case let .smiles(s) = m.structure { m.pubchemSmiles = s }
      return .record(m)
    }
    return nil
  }
}

extension String {
  func trimmingCharacters() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s.removeLast() }
    return String(s)
  }
}
