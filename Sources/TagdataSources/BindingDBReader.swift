#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TagdataIO

/// The columns of a BindingDB TSV header, found by name.
///
/// Names are compared after normalising: blanks trimmed, runs of blanks collapsed to one, ASCII
/// letters lower-cased, and a trailing ` <digits>` chain index stripped. So the 2015m10 and
/// 2022m5 headers (un-numbered chain columns, two blanks in `BindingDB Target Chain  Sequence`)
/// and the 2024+ headers (`Target Name`, `BindingDB Entry DOI`, `... of Target Chain 1`) all map.
/// An un-numbered chain column belongs to chain k at its k-th occurrence; a numbered one to the
/// chain its number names.
public struct BindingDBHeader: Sendable {
  /// The column names as written.
  public let names: [String]

  /// The columns of one chain group.
  struct Chain: Sendable {
    var columns = [Int?](repeating: nil, count: ChainField.allCases.count)
    subscript(_ f: ChainField) -> Int? {
      get { columns[f.rawValue] }
      set { columns[f.rawValue] = newValue }
    }
  }

  enum ChainField: Int, CaseIterable, Sendable {
    case sequence, pdb, spName, spEntry, spPrimary, spSecondary, spAlternative, trName, trEntry, trPrimary, trSecondary,
      trAlternative
  }

  enum Field: Int, CaseIterable, Sendable {
    case reactantSet, smiles, inchiKey, monomer, ligandName, targetName, organism, curation, doi, pmid, aid, patent,
      institution, cid, chembl, chainCount
  }

  private var fixed = [Int?](repeating: nil, count: Field.allCases.count)
  subscript(_ f: Field) -> Int? { fixed[f.rawValue] }
  var measurements: [(kind: MeasurementKind, column: Int)] = []
  var chains: [Chain] = []

  /// The most chain groups a header is read with; columns of later groups are not used.
  public static let maxChainGroups = 10_000

  /// How many chain groups the header has: chains 1...n each with a sequence column.
  public var chainGroups: Int {
    var n = 0
    while n < chains.count, chains[n][.sequence] != nil { n += 1 }
    return n
  }

  /// The columns a BindingDB header must have; the names of those missing (empty: it is one).
  public var missing: [String] {
    var out: [String] = []
    if self[.smiles] == nil { out.append("Ligand SMILES") }
    if !measurements.contains(where: { $0.kind.isAffinity }) { out.append("Ki (nM) / IC50 (nM) / Kd (nM) / EC50 (nM)") }
    if self[.chainCount] == nil { out.append("Number of Protein Chains in Target (>1 implies a multichain complex)") }
    if chainGroups == 0 { out.append("BindingDB Target Chain Sequence") }
    return out
  }

  /// Normalised column name and its chain index (a trailing ` <digits>`), if any.
  public static func normalise(_ name: String) -> (name: String, index: Int?) {
    var out: [UInt8] = []
    var pendingBlank = false
    for b in name.utf8 {
      if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A || b == 0xA0 {
        pendingBlank = !out.isEmpty
        continue
      }
      if pendingBlank { out.append(0x20) }
      pendingBlank = false
      out.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b)
    }
    // A trailing ` <digits>` (at most 6 digits) is a chain index.
    var i = out.count
    while i > 0, out[i - 1] >= 0x30, out[i - 1] <= 0x39 { i -= 1 }
    if i < out.count, i >= 2, out[i - 1] == 0x20, out.count - i <= 6 {
      var k = 0
      for d in out[i...] { k = k * 10 + Int(d - 0x30) }
      return (String(decoding: out[..<(i - 1)], as: UTF8.self), k)
    }
    return (String(decoding: out, as: UTF8.self), nil)
  }

  private static let measurementColumns: [String: MeasurementKind] = [
    "ki (nm)": .ki, "ic50 (nm)": .ic50, "kd (nm)": .kd, "ec50 (nm)": .ec50, "kon (m-1-s-1)": .kon, "koff (s-1)": .koff,
    "ph": .pH, "temp (c)": .temperature,
  ]

  private static let chainColumns: [String: ChainField] = [
    "bindingdb target chain sequence": .sequence,
    "pdb id(s) of target chain": .pdb,
    "uniprot (swissprot) recommended name of target chain": .spName,
    "uniprot (swissprot) entry name of target chain": .spEntry,
    "uniprot (swissprot) primary id of target chain": .spPrimary,
    "uniprot (swissprot) secondary id(s) of target chain": .spSecondary,
    "uniprot (swissprot) alternative id(s) of target chain": .spAlternative,
    "uniprot (trembl) submitted name of target chain": .trName,
    "uniprot (trembl) entry name of target chain": .trEntry,
    "uniprot (trembl) primary id of target chain": .trPrimary,
    "uniprot (trembl) secondary id(s) of target chain": .trSecondary,
    "uniprot (trembl) alternative id(s) of target chain": .trAlternative,
  ]

  private static let fixedColumns: [String: Field] = [
    "bindingdb reactant_set_id": .reactantSet,
    "ligand smiles": .smiles,
    "ligand inchi key": .inchiKey,
    "bindingdb monomerid": .monomer,
    "bindingdb ligand name": .ligandName,
    "target name assigned by curator or datasource": .targetName,
    "target name": .targetName,
    "target source organism according to curator or datasource": .organism,
    "target source organism": .organism,
    "curation/datasource": .curation,
    "article doi": .doi,
    "pmid": .pmid,
    "pubchem aid": .aid,
    "patent number": .patent,
    "institution": .institution,
    "pubchem cid": .cid,
    "chembl id of ligand": .chembl,
    "number of protein chains in target (>1 implies a multichain complex)": .chainCount,
    "number of protein chains in target": .chainCount,
  ]

  public init(names: [String]) {
    self.names = names
    var occurrences: [String: Int] = [:]
    for (column, raw) in names.enumerated() {
      let (name, index) = Self.normalise(raw)
      if let kind = Self.measurementColumns[name], index == nil {
        if !measurements.contains(where: { $0.kind == kind }) { measurements.append((kind, column)) }
      } else if let field = Self.chainColumns[name] {
        let k: Int
        if let index {
          k = index
        } else {
          k = (occurrences[name] ?? 0) + 1
          occurrences[name] = k
        }
        // A chain can only be named by a number the header could hold (and at most 10,000: the
        // releases seen have 13 groups or so).
        guard k >= 1, k <= min(names.count, Self.maxChainGroups) else { continue }
        while chains.count < k { chains.append(Chain()) }
        if chains[k - 1][field] == nil { chains[k - 1][field] = column }
      } else if let field = Self.fixedColumns[name], index == nil {
        if fixed[field.rawValue] == nil { fixed[field.rawValue] = column }
      }
    }
  }
}

/// A measurement cell, read: empty, a value, or text that names a measurement but cannot be read.
public enum MeasurementCell: Sendable, Equatable {
  case absent
  case value(Measurement)
  case bad(BadMeasurement)
}

/// Streams the rows of a BindingDB TSV (`BindingDB_All.tsv` and its subsets), one
/// ``BindingRecord`` per row.
///
/// Tab-separated, no quoting (a `"` is an ordinary byte, as BindingDB is read with quoting
/// disabled). Columns are found by header name (``BindingDBHeader``), never by position; a header
/// without the BindingDB columns is an error naming what is missing. A row with more fields than
/// the header is malformed (its columns cannot be trusted; the usual loaders skip such rows); a
/// shorter row reads its missing cells as empty. A row without a ligand SMILES, with a chain
/// count that is not a positive integer or larger than the header's chain groups, without the
/// sequence of a chain it declares, or with a SMILES or sequence that is not UTF-8, is malformed
/// with the reason. Other text cells with bytes that are not UTF-8 are repaired (U+FFFD). A
/// measurement cell that cannot be read is a ``BadMeasurement`` of an otherwise good record.
///
/// Record index = 0-based data row (blank lines are passed over and not counted); each record and
/// malformed row carries its line and byte offset, and the reader resumes at a byte offset.
/// Lines over the record limit are passed over unbuffered and handed out as malformed.
public final class BindingDBReader {
  public let header: BindingDBHeader
  private let lines: LineReader
  private let limits: ReaderLimits
  private let name: String
  private let chainGroups: Int
  @exclusivity(unchecked) private var index: Int
  /// Ends of the fields of the current line (exclusive), reused.
  @exclusivity(unchecked) private var ends: [Int] = []

  /// The longest header line read.
  public static let maxHeaderBytes = 4 << 20

  /// Reads the header of `source` and the rows after it, numbering the first row
  /// `firstRecordIndex`.
  public convenience init(source: ByteSource, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) throws {
    try self.init(source: source, resume: nil, firstRecordIndex: firstRecordIndex, limits: limits)
  }

  /// Reads the header of `source`, then goes on at `resume` (the first row not yet read): when
  /// its byte offset lies after the header, straight there (`source` is read on, not re-read);
  /// otherwise from the first row, passing over `resume.index` rows.
  public convenience init(source: ByteSource, resume: RecordLocation?, limits: ReaderLimits = ReaderLimits()) throws {
    try self.init(source: source, resume: resume, firstRecordIndex: 0, limits: limits)
  }

  private init(source: ByteSource, resume: RecordLocation?, firstRecordIndex: Int, limits: ReaderLimits) throws {
    self.limits = limits
    name = source.name
    let (headerBytes, rest, headerEnd, headerLine) = try Self.readHeader(source)
    let names = Self.splitHeader(headerBytes)
    let header = BindingDBHeader(names: names)
    let missing = header.missing
    if !missing.isEmpty {
      let first = String(decoding: headerBytes.prefix(80), as: UTF8.self)
      throw InputError.unsupported(
        file: source.name,
        message: "not a BindingDB TSV: its header (line \(headerLine)) lacks the column\(missing.count == 1 ? "" : "s") "
          + missing.map { "\"\($0)\"" }.joined(separator: ", ")
          + (first.isEmpty ? "; the file is empty" : "; it starts with \"\(first)\""))
    }
    self.header = header
    chainGroups = header.chainGroups
    var prefix = rest
    var position = (offset: headerEnd, line: headerLine + 1, index: firstRecordIndex)
    var dropRows = 0
    if let resume {
      if resume.offset >= headerEnd {
        let ahead = resume.offset - headerEnd
        if ahead <= Int64(prefix.count) {
          prefix.removeFirst(Int(ahead))
        } else {
          let want = ahead - Int64(prefix.count)
          prefix = []
          guard try source.skip(want) == want else {
            throw InputError.io(file: source.name, message: "file is shorter than when it was last read; cannot resume")
          }
        }
        position = (resume.offset, resume.line, resume.index)
      } else {
        dropRows = resume.index
      }
    }
    lines = LineReader(prefix.isEmpty ? source : PrefixedSource(prefix: prefix, inner: source))
    lines.maxLineLength = min(lines.maxLineLength, limits.maxRecordBytes)
    lines.truncatesLongLines = true
    lines.assumePosition(offset: position.offset, line: position.line)
    index = position.index
    ends.reserveCapacity(names.count + 1)
    for _ in 0..<dropRows where try next() == nil { break }
  }

  /// Reads the header from `headerSource` (the file from its start; only its header is read),
  /// then the rows of `rows`, a source already positioned at `location` (a line start after the
  /// header, where a byte range of the file begins): records are numbered from
  /// `location.index`, lines from `location.line`, and offsets are the file's.
  public init(headerSource: ByteSource, rows: ByteSource, at location: RecordLocation,
              limits: ReaderLimits = ReaderLimits()) throws
  {
    self.limits = limits
    name = rows.name
    let (headerBytes, _, _, headerLine) = try Self.readHeader(headerSource)
    let names = Self.splitHeader(headerBytes)
    header = BindingDBHeader(names: names)
    if !header.missing.isEmpty {
      throw InputError.unsupported(file: rows.name, message: "not a BindingDB TSV: its header (line \(headerLine)) lacks the columns "
        + header.missing.map { "\"\($0)\"" }.joined(separator: ", "))
    }
    chainGroups = header.chainGroups
    lines = LineReader(rows)
    lines.maxLineLength = min(lines.maxLineLength, limits.maxRecordBytes)
    lines.truncatesLongLines = true
    lines.assumePosition(offset: location.offset, line: location.line)
    index = location.index
    ends.reserveCapacity(names.count + 1)
  }

  /// The header line (byte-order mark and line end removed; blank lines before it passed over),
  /// the bytes read after it, the offset of the first byte after it and the header's line number.
  private static func readHeader(_ source: ByteSource) throws -> (header: [UInt8], rest: [UInt8], end: Int64, line: Int) {
    var buffer: [UInt8] = []
    var lineStart = 0
    var line = 1
    var scanned = 0
    /// Bytes of blank lines dropped from the front of `buffer`.
    var dropped: Int64 = 0
    let chunk = 1 << 16
    func crOnly() -> InputError {
      .unsupported(file: source.name,
                   message: "has CR-only line ends (classic Mac OS); convert them first, e.g. `tr '\\r' '\\n' < FILE | tagdata ingest -`")
    }
    /// The line from `lineStart` to `end`, without its CR and (first line) byte-order mark.
    func text(to end: Int) -> ArraySlice<UInt8> {
      var t = buffer[lineStart..<end]
      if line == 1, t.starts(with: [0xEF, 0xBB, 0xBF]) { t = t.dropFirst(3) }
      if t.last == 0x0D { t = t.dropLast() }
      return t
    }
    func blank(_ t: ArraySlice<UInt8>) -> Bool { t.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }
    while true {
      while let nl = buffer[scanned...].firstIndex(of: 0x0A) {
        let header = text(to: nl)
        if blank(header) {
          lineStart = nl + 1
          scanned = lineStart
          line += 1
          continue
        }
        if header.contains(0x0D) { throw crOnly() }
        return (Array(header), Array(buffer[(nl + 1)...]), dropped + Int64(nl + 1), line)
      }
      if lineStart > 0 {
        // Blank lines passed over are not kept.
        buffer.removeFirst(lineStart)
        dropped += Int64(lineStart)
        lineStart = 0
      }
      scanned = buffer.count
      if buffer.count - lineStart > maxHeaderBytes {
        if buffer[lineStart...].contains(0x0D) { throw crOnly() }
        throw InputError.unsupported(
          file: source.name, message: "header line (line \(line)) is longer than \(maxHeaderBytes) bytes: not a BindingDB TSV")
      }
      let old = buffer.count
      buffer.append(contentsOf: repeatElement(0, count: chunk))
      let n = try buffer.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[old...])) }
      buffer.removeLast(chunk - n)
      if n == 0 {
        // A header and no rows (no line end after it), or nothing.
        let header = text(to: buffer.count)
        if header.contains(0x0D) && !blank(header) { throw crOnly() }
        return (blank(header) ? [] : Array(header), [], dropped + Int64(buffer.count), line)
      }
    }
  }

  private static func splitHeader(_ bytes: [UInt8]) -> [String] {
    guard !bytes.isEmpty else { return [] }
    return bytes.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
  }

  /// The first line of `head` is a BindingDB header: tab-separated, with the columns
  /// `BindingDB Reactant_set_id` and `Ligand SMILES`.
  public static func looksLikeBindingDB(_ head: [UInt8]) -> Bool {
    var body = head[...]
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
    let line = body.prefix { $0 != 0x0A }
    guard line.contains(0x09) else { return false }
    var hasID = false, hasSMILES = false
    for field in line.split(separator: 0x09, omittingEmptySubsequences: false) {
      let n = BindingDBHeader.normalise(String(decoding: field, as: UTF8.self)).name
      if n == "bindingdb reactant_set_id" { hasID = true }
      if n == "ligand smiles" { hasSMILES = true }
    }
    return hasID && hasSMILES
  }

  // MARK: Rows

  /// The next row: a record, or a malformed row with the reason; nil at the end of input.
  public func next() throws -> BindingEvent? {
    while let line = try lines.nextLine() {
      var blank = true
      for b in line where b != 0x20 && b != 0x09 && b != 0x0D {
        blank = false
        break
      }
      if blank && !lines.lastLineTruncated { continue }
      let loc = RecordLocation(index: index, line: lines.lineNumber, offset: lines.lineOffset)
      index += 1
      if lines.lastLineTruncated {
        return .malformed(MalformedRecord(location: loc, line: loc.line, reason: limits.tooLarge(line: loc.line),
                                          excerpt: excerptText(line, limit: 80)))
      }
      return row(line, loc)
    }
    return nil
  }

  private func malformed(_ loc: RecordLocation, _ line: UnsafeBufferPointer<UInt8>, _ reason: String) -> BindingEvent {
    .malformed(MalformedRecord(location: loc, line: loc.line, reason: reason, excerpt: excerptText(line, limit: 80)))
  }

  /// `column 2 ("Ligand SMILES")`.
  private func columnName(_ c: Int) -> String { "column \(c + 1) (\"\(header.names[c])\")" }

  private func row(_ line: UnsafeBufferPointer<UInt8>, _ loc: RecordLocation) -> BindingEvent {
    // Field ends; fields past the header's count are only counted.
    ends.removeAll(keepingCapacity: true)
    let width = header.names.count
    var fields = 1
    var s = 0
    guard let base = line.baseAddress else { return malformed(loc, line, "empty row") }
    while s < line.count, let p = memchr(base + s, 0x09, line.count - s) {
      let tab = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
      if ends.count < width { ends.append(tab) }
      fields += 1
      s = tab + 1
    }
    if ends.count < width { ends.append(line.count) }
    if fields > width {
      return malformed(loc, line, "\(fields) fields where the header has \(width) (a tab too many shifts the columns)")
    }

    func cell(_ c: Int?) -> Range<Int> {
      guard let c, c < ends.count else { return 0..<0 }
      return Bytes.trim(line, (c == 0 ? 0 : ends[c - 1] + 1)..<ends[c])
    }
    func text(_ c: Int?) -> String? {
      let r = cell(c)
      return r.isEmpty ? nil : String(decoding: UnsafeBufferPointer(rebasing: line[r]), as: UTF8.self)
    }
    func bytes(_ r: Range<Int>) -> [UInt8] { Array(UnsafeBufferPointer(rebasing: line[r])) }

    var record = BindingRecord(location: loc)
    // The ligand.
    let smiles = cell(header[.smiles])
    if smiles.isEmpty {
      return malformed(loc, line, "no ligand SMILES in \(columnName(header[.smiles]!))")
    }
    if let bad = Self.invalidUTF8(line, smiles) {
      return malformed(loc, line, "the ligand SMILES in \(columnName(header[.smiles]!)) has a byte that is not UTF-8 (0x\(Self.hex(line[bad])) at byte \(bad - smiles.lowerBound + 1) of the cell)")
    }
    record.ligandSMILES = bytes(smiles)

    // The chains it declares.
    let countCell = cell(header[.chainCount])
    guard let count = Bytes.int(line, countCell), count >= 1 else {
      let what = countCell.isEmpty ? "is empty" : "is not a positive integer: '\(excerptText(UnsafeBufferPointer(rebasing: line[countCell]), limit: 20))'"
      return malformed(loc, line, "the chain count in \(columnName(header[.chainCount]!)) \(what)")
    }
    guard count <= chainGroups else {
      return malformed(loc, line, "declares \(count) protein chains in \(columnName(header[.chainCount]!)); the header has \(chainGroups) chain group\(chainGroups == 1 ? "" : "s")")
    }
    record.chains.reserveCapacity(count)
    for k in 0..<count {
      let g = header.chains[k]
      let seq = cell(g[.sequence])
      if seq.isEmpty {
        return malformed(loc, line, "declares \(count) protein chain\(count == 1 ? "" : "s") but chain \(k + 1) has no sequence in \(columnName(g[.sequence]!))")
      }
      if let bad = Self.invalidUTF8(line, seq) {
        return malformed(loc, line, "the sequence of chain \(k + 1) in \(columnName(g[.sequence]!)) has a byte that is not UTF-8 (0x\(Self.hex(line[bad])) at byte \(bad - seq.lowerBound + 1) of the cell)")
      }
      var chain = TargetChain(sequence: bytes(seq))
      let sp = Self.list(text(g[.spPrimary]))
      let tr = Self.list(text(g[.trPrimary]))
      chain.accession = sp.first ?? tr.first
      var ids: [String] = Array(sp.dropFirst())
      ids += Self.list(text(g[.spSecondary]))
      ids += Self.list(text(g[.spAlternative]))
      ids += sp.isEmpty ? Array(tr.dropFirst()) : tr
      ids += Self.list(text(g[.trSecondary]))
      ids += Self.list(text(g[.trAlternative]))
      var others: [String] = []
      var seen: Set<String> = chain.accession.map { [$0] } ?? []
      for id in ids where seen.insert(id).inserted { others.append(id) }
      chain.otherAccessions = others
      chain.entryName = text(g[.spEntry]) ?? text(g[.trEntry])
      chain.name = text(g[.spName]) ?? text(g[.trName])
      chain.pdbIDs = Self.list(text(g[.pdb]))
      record.chains.append(chain)
    }

    // Measurements.
    for (kind, c) in header.measurements {
      let r = cell(c)
      if r.isEmpty { continue }
      switch Self.parseMeasurement(UnsafeBufferPointer(rebasing: line[r]), kind: kind) {
      case .absent: break
      case let .value(m): record.measurements.append(m)
      case var .bad(b):
        b.reason += " (\(columnName(c)))"
        record.badMeasurements.append(b)
      }
    }

    // Identifiers and provenance.
    record.reactantSetID = Self.leadingInt(line, cell(header[.reactantSet]))
    record.ligandName = text(header[.ligandName])
    record.monomerID = Self.leadingInt(line, cell(header[.monomer]))
    record.pubchemCID = Self.leadingInt(line, cell(header[.cid]))
    record.chemblID = text(header[.chembl])
    record.inchiKey = text(header[.inchiKey])
    record.targetName = text(header[.targetName])
    record.organism = text(header[.organism])
    record.curation = text(header[.curation])
    record.doi = text(header[.doi])
    record.pmid = Self.leadingInt(line, cell(header[.pmid]))
    record.patent = text(header[.patent])
    record.institution = text(header[.institution])
    record.pubchemAID = Self.leadingInt(line, cell(header[.aid]))
    return .record(record)
  }

  // MARK: Cells

  /// The comma-separated items of a cell, trimmed, empty ones dropped.
  static func list(_ s: String?) -> [String] {
    guard let s else { return [] }
    return s.split(separator: ",").map { String($0).trimmingCharacters() }.filter { !$0.isEmpty }
  }

  /// The integer a cell starts with, when what follows it is the end or a list separator
  /// (`123`, `123,456`, `123; 456`); nil otherwise.
  static func leadingInt(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int64? {
    var i = r.lowerBound
    var v: Int64 = 0
    while i < r.upperBound, b[i] >= 0x30, b[i] <= 0x39 {
      guard i - r.lowerBound < 18 else { return nil }
      v = v * 10 + Int64(b[i] - 0x30)
      i += 1
    }
    guard i > r.lowerBound else { return nil }
    if i < r.upperBound, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: ";"), b[i] != 0x20 { return nil }
    return v
  }

  static func hex(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
  }

  /// The position of the first byte of `r` that is not part of well-formed UTF-8, nil if none.
  static func invalidUTF8(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      let c = b[i]
      if c < 0x80 {
        i += 1
        continue
      }
      let n: Int
      var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
      switch c {
      case 0xC2...0xDF: n = 1
      case 0xE0: n = 2; lo = 0xA0
      case 0xE1...0xEC, 0xEE...0xEF: n = 2
      case 0xED: n = 2; hi = 0x9F
      case 0xF0: n = 3; lo = 0x90
      case 0xF1...0xF3: n = 3
      case 0xF4: n = 3; hi = 0x8F
      default: return i
      }
      guard i + n < end else { return i }
      if b[i + 1] < lo || b[i + 1] > hi { return i }
      for j in 2..<(n + 1) where b[i + j] < 0x80 || b[i + j] > 0xBF { return i }
      i += n + 1
    }
    return nil
  }

  /// Reads a measurement cell: empty is absent; otherwise an optional relation (`=`, `<`, `>`,
  /// `<=`, `>=`, `~`, blanks allowed after it) and a decimal number (`12`, `0.5`, `.5`, `1.2E+3`,
  /// signs allowed); a temperature may end in `C` or `°C`. Anything else is a ``BadMeasurement``.
  public static func parseMeasurement(_ text: String, kind: MeasurementKind) -> MeasurementCell {
    var bytes = Array(text.utf8)
    return bytes.withUnsafeMutableBufferPointer { parseMeasurement(UnsafeBufferPointer($0), kind: kind) }
  }

  static let maxMeasurementBytes = 64

  static func parseMeasurement(_ cell: UnsafeBufferPointer<UInt8>, kind: MeasurementKind) -> MeasurementCell {
    let r = Bytes.trim(cell, 0..<cell.count)
    if r.isEmpty { return .absent }
    let text = String(decoding: UnsafeBufferPointer(rebasing: cell[r]), as: UTF8.self)
    func bad(_ why: String) -> MeasurementCell {
      let shown = r.count > maxMeasurementBytes ? String(text.prefix(maxMeasurementBytes)) + "…" : text
      return .bad(BadMeasurement(kind: kind, text: shown, reason: "\(kind.rawValue) '\(shown)' is not a number: \(why)"))
    }
    if r.count > maxMeasurementBytes { return bad("\(r.count) bytes long") }
    var i = r.lowerBound
    let end = r.upperBound
    var relation = MeasurementRelation.equal
    let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), eq = UInt8(ascii: "=")
    switch cell[i] {
    case lt, gt:
      if i + 1 < end, cell[i + 1] == eq {
        relation = cell[i] == lt ? .lessOrEqual : .greaterOrEqual
        i += 2
      } else {
        relation = cell[i] == lt ? .less : .greater
        i += 1
      }
    case eq:
      i += 1
    case UInt8(ascii: "~"):
      relation = .approximate
      i += 1
    default: break
    }
    while i < end, Bytes.isBlank(cell[i]) { i += 1 }
    if i == end { return bad("a relation and no number") }
    // [+-] digits [. digits] [(e|E) [+-] digits]
    let numberStart = i
    if cell[i] == UInt8(ascii: "+") || cell[i] == UInt8(ascii: "-") { i += 1 }
    var digits = 0
    while i < end, cell[i] >= 0x30, cell[i] <= 0x39 { i += 1; digits += 1 }
    if i < end, cell[i] == UInt8(ascii: ".") {
      i += 1
      while i < end, cell[i] >= 0x30, cell[i] <= 0x39 { i += 1; digits += 1 }
    }
    if digits == 0 { return bad("no digits at character \(i - r.lowerBound + 1)") }
    if i < end, cell[i] == UInt8(ascii: "e") || cell[i] == UInt8(ascii: "E") {
      var j = i + 1
      if j < end, cell[j] == UInt8(ascii: "+") || cell[j] == UInt8(ascii: "-") { j += 1 }
      let expStart = j
      while j < end, cell[j] >= 0x30, cell[j] <= 0x39 { j += 1 }
      if j == expStart { return bad("an exponent without digits at character \(i - r.lowerBound + 1)") }
      i = j
    }
    let numberEnd = i
    if i < end, kind == .temperature {
      // `25 C`, `25C`, `25°C`, `25 °C`.
      var j = i
      while j < end, Bytes.isBlank(cell[j]) { j += 1 }
      if j + 1 < end, cell[j] == 0xC2, cell[j + 1] == 0xB0 || cell[j + 1] == 0xBA { j += 2 }
      if j + 1 == end, cell[j] == UInt8(ascii: "C") || cell[j] == UInt8(ascii: "c") { i = end }
    }
    if i < end {
      let rest = String(decoding: UnsafeBufferPointer(rebasing: cell[i..<end]), as: UTF8.self)
      return bad("unexpected '\(rest.prefix(16))' at character \(i - r.lowerBound + 1)")
    }
    guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: cell[numberStart..<numberEnd]), as: UTF8.self)),
      value.isFinite
    else { return bad("out of range") }
    return .value(Measurement(kind: kind, relation: relation, value: value, text: text))
  }
}
