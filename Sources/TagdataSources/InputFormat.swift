import TagdataIO

/// Every record format tagdata reads, in one table: what kind of record each gives, how it is
/// recognised from the first decompressed bytes, whether an interrupted read resumes by byte
/// offset, and how its reader is made. Adding a format is one case here plus its reader file.
public enum InputFormat: String, Sendable, CaseIterable {
  case uniprotFlat = "uniprot-flat"
  case uniprotXML = "uniprot-xml"
  case fasta
  case sdf
  case cidSmiles = "cid-smiles"
  case pubchemXML = "pubchem-xml"
  case pubchemASN = "pubchem-asn"
  /// BindingDB's TSV (`BindingDB_All.tsv` and its subsets): one measurement per row.
  case bindingdb = "bindingdb"

  /// What a format's records become in the catalog.
  public enum Kind: String, Sendable {
    case protein, molecule
    /// Ligand–target measurements (BindingDB rows).
    case measurement
  }

  /// A format's reader, not made yet: made by calling it.
  public enum Reader {
    case proteins(() throws -> ProteinReader)
    case molecules(() throws -> MoleculeReader)
    case measurements(() throws -> BindingDBReader)
  }

  /// One row of the registry.
  struct Entry: Sendable {
    var kind: Kind
    /// Line-based formats skip straight to a byte offset when resuming; the others are read again
    /// from the start and the records already done are dropped.
    var resumesByOffset: Bool
    /// How strongly the first bytes look like this format (0: not at all).
    var evidence: @Sendable (HeadView) -> Int
  }

  static func entry(_ format: InputFormat) -> Entry {
    switch format {
    case .uniprotFlat: return Entry(kind: .protein, resumesByOffset: true, evidence: Evidence.uniprotFlat)
    case .uniprotXML: return Entry(kind: .protein, resumesByOffset: false, evidence: Evidence.uniprotXML)
    case .fasta: return Entry(kind: .protein, resumesByOffset: true, evidence: Evidence.fasta)
    case .sdf: return Entry(kind: .molecule, resumesByOffset: true, evidence: Evidence.sdf)
    case .cidSmiles: return Entry(kind: .molecule, resumesByOffset: true, evidence: Evidence.cidSmiles)
    case .pubchemXML: return Entry(kind: .molecule, resumesByOffset: false, evidence: Evidence.pubchemXML)
    case .pubchemASN: return Entry(kind: .molecule, resumesByOffset: false, evidence: Evidence.pubchemASN)
    case .bindingdb: return Entry(kind: .measurement, resumesByOffset: true, evidence: Evidence.bindingdb)
    }
  }

  public var kind: Kind { Self.entry(self).kind }
  public var resumesByOffset: Bool { Self.entry(self).resumesByOffset }

  /// The reader for this format over a decompressed stream, positioned at `resume` when given,
  /// keeping to `limits`.
  public func reader(source: ByteSource, resume: RecordLocation? = nil, limits: ReaderLimits = ReaderLimits()) -> Reader {
    switch self {
    case .uniprotFlat: return .proteins { try makeProteinReader(format: .uniprotFlat, source: source, resume: resume, limits: limits) }
    case .uniprotXML: return .proteins { try makeProteinReader(format: .uniprotXML, source: source, resume: resume, limits: limits) }
    case .fasta: return .proteins { try makeProteinReader(format: .fasta, source: source, resume: resume, limits: limits) }
    case .sdf: return .molecules { try makeMoleculeReader(format: .sdf, source: source, resume: resume, limits: limits) }
    case .cidSmiles: return .molecules { try makeMoleculeReader(format: .cidSmiles, source: source, resume: resume, limits: limits) }
    case .pubchemXML: return .molecules { try makeMoleculeReader(format: .pubchemXML, source: source, resume: resume, limits: limits) }
    case .pubchemASN: return .molecules { try makeMoleculeReader(format: .pubchemASN, source: source, resume: resume, limits: limits) }
    case .bindingdb: return .measurements { try BindingDBReader(source: source, resume: resume, limits: limits) }
    }
  }

  /// The protein format of this input format, if it is one.
  public var proteinFormat: ProteinFormat? { ProteinFormat(rawValue: rawValue) }
  /// The molecule format of this input format, if it is one.
  public var moleculeFormat: MoleculeFormat? { MoleculeFormat(rawValue: rawValue) }

  /// How many decompressed bytes detection looks at.
  public static let detectionBytes = 16 << 10

  /// Recognises the format of a file from its first decompressed bytes (the content, never the
  /// name). A UTF-8 byte-order mark and leading blank lines are skipped; LF, CRLF and mixed line
  /// ends are the same. Each format weighs the evidence it finds (a molfile counts line, `M  END`
  /// and `$$$$` lines; `ID`/`AC`/`SQ`/`//` lines; sequence lines under `>` headers; XML roots;
  /// ASN.1 headers; CID-tab-SMILES lines; a BindingDB TSV header) and the strongest wins, so an SD file whose first title
  /// starts with `>` or `ID   ` is still an SD file. Throws when nothing matches, or when the
  /// file has CR-only line ends, which no reader takes.
  public static func detect(_ head: [UInt8], file: String) throws -> InputFormat {
    var view = HeadView(head)
    // CR-only line ends: XML and ASN.1 do not care; a line-based reader would see one line.
    let crOnly = view.crOnly
    if crOnly { view = HeadView(head.map { $0 == 0x0D ? 0x0A : $0 }) }
    var best: (format: InputFormat, score: Int)?
    for format in allCases {
      let score = entry(format).evidence(view)
      if score > 0, score > (best?.score ?? 0) { best = (format, score) }
    }
    if crOnly && (best?.format.resumesByOffset ?? true) {
      throw InputError.unsupported(
        file: file,
        message: "has CR-only line ends (classic Mac OS); convert them first, e.g. `tr '\\r' '\\n' < FILE | tagdata ingest -`")
    }
    if let best { return best.format }
    let first = view.lines.first { !$0.isEmpty }.map { String(decoding: $0.prefix(60), as: UTF8.self) } ?? ""
    throw InputError.unsupported(
      file: file,
      message: "not a recognised format (expected a UniProt flat file, UniProt/UniRef XML, FASTA, SDF/molfile, "
        + "CID-SMILES, PubChem XML, PubChem ASN.1 or BindingDB TSV)" + (first.isEmpty ? "; it is empty or blank" : "; it starts with \"\(first)\""))
  }
}

/// The first bytes of a file as detection sees them: a byte-order mark dropped, split into lines
/// without their `\n` or `\r\n`, the last line dropped when the head cut it.
struct HeadView: Sendable {
  /// The bytes after the byte-order mark and leading blank space.
  let text: ArraySlice<UInt8>
  /// Complete lines, line ends removed.
  let lines: [ArraySlice<UInt8>]
  /// The file uses CR alone as its line end.
  let crOnly: Bool

  init(_ head: [UInt8]) {
    let bom = head.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    // Leading blank space says nothing about the format (but lines keep their numbers: a
    // molfile's title line may be blank).
    var i = bom
    while i < head.count, head[i] == 0x20 || head[i] == 0x0A || head[i] == 0x0D || head[i] == 0x09 { i += 1 }
    text = head[i...]
    let body = head[bom...]
    var lines: [ArraySlice<UInt8>] = []
    var start = body.startIndex
    var sawLF = false
    var crs = 0
    for j in body.indices {
      if body[j] == 0x0D { crs += 1 }
      guard body[j] == 0x0A else { continue }
      sawLF = true
      var end = j
      if end > start, body[end - 1] == 0x0D { end -= 1 }
      lines.append(body[start..<end])
      start = j + 1
      if lines.count >= 400 { break }
    }
    // A file with no line break in its head is one line; a head cut mid-line loses that line.
    if !sawLF, !body.isEmpty, crs == 0 { lines.append(body[...]) }
    self.lines = lines
    crOnly = !sawLF && crs >= 2
  }

  func contains(_ needle: String) -> Bool {
    let n = Array(needle.utf8)
    guard n.count <= text.count, let first = n.first else { return false }
    var i = text.startIndex
    let last = text.endIndex - n.count
    while i <= last {
      if text[i] == first && text[i..<(i + n.count)].elementsEqual(n) { return true }
      i += 1
    }
    return false
  }

  func textStarts(with prefix: String) -> Bool { text.starts(with: prefix.utf8) }
}

/// Each format's evidence, as a score: 0 means "not this format"; a larger score wins.
enum Evidence {
  static func isLine(_ line: ArraySlice<UInt8>, _ s: String) -> Bool {
    var end = line.endIndex
    while end > line.startIndex, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
    return line[line.startIndex..<end].elementsEqual(s.utf8)
  }

  @Sendable static func uniprotXML(_ h: HeadView) -> Int {
    guard h.text.first == UInt8(ascii: "<") else { return 0 }
    return h.contains("<uniprot") || h.contains("<UniRef") || h.contains("http://uniprot.org/uniprot")
      || h.contains("http://uniprot.org/uniref") ? 100 : 0
  }

  @Sendable static func pubchemXML(_ h: HeadView) -> Int {
    guard h.text.first == UInt8(ascii: "<") else { return 0 }
    return h.contains("<PC-Compound") || h.contains("<PC-Substance") ? 100 : 0
  }

  @Sendable static func pubchemASN(_ h: HeadView) -> Int {
    for type in ["PC-Compounds", "PC-Compound", "PC-Substances", "PC-Substance"] where h.textStarts(with: type) {
      var rest = h.text.dropFirst(type.utf8.count)
      // `PC-Compounds` also starts with `PC-Compound`: the type name must end here.
      guard let next = rest.first, next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D || next == UInt8(ascii: ":") else {
        continue
      }
      while let b = rest.first, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { rest = rest.dropFirst() }
      if rest.starts(with: "::=".utf8) { return 100 }
    }
    return 0
  }

  /// A molfile counts line: V2000 or V3000 in columns 35-39, or the fixed-width layout of two
  /// right-aligned atom and bond counts.
  static func isCountsLine(_ line: ArraySlice<UInt8>) -> Bool {
    if line.count >= 39 {
      let tag = line.dropFirst(34).prefix(5)
      if tag.elementsEqual("V2000".utf8) || tag.elementsEqual("V3000".utf8) { return true }
    }
    guard line.count >= 6 else { return false }
    func field(_ k: Int) -> Bool {
      let f = line.dropFirst(3 * k).prefix(3)
      guard let lastDigit = f.last, (0x30...0x39).contains(lastDigit) else { return false }
      return f.allSatisfy { $0 == 0x20 || (0x30...0x39).contains($0) }
    }
    return field(0) && field(1)
      && (line.count == 6 || line.contains(UInt8(ascii: "V")) || line.allSatisfy { $0 == 0x20 || (0x30...0x39).contains($0) })
  }

  @Sendable static func sdf(_ h: HeadView) -> Int {
    var score = 0
    // The counts line is the fourth line of each record: of the file, and after each `$$$$`.
    var recordStart = 0
    var countsLines = 0
    for (k, line) in h.lines.enumerated() {
      if k == recordStart + 3, isCountsLine(line) { countsLines += 1 }
      if isLine(line, "$$$$") {
        score += 40
        recordStart = k + 1
      } else if isLine(line, "M  END") {
        score += 40
      }
    }
    score += min(countsLines, 3) * 70
    return min(score, 400)
  }

  static func isFlatLine(_ line: ArraySlice<UInt8>) -> Bool {
    if line.isEmpty || line.starts(with: "//".utf8) || line.starts(with: "     ".utf8) { return true }
    guard line.count >= 2 else { return false }
    let a = line[line.startIndex], b = line[line.startIndex + 1]
    func code(_ c: UInt8) -> Bool { (0x41...0x5A).contains(c) || (0x30...0x39).contains(c) }
    guard code(a), code(b) else { return false }
    return line.count == 2 || line.dropFirst(2).prefix(3).allSatisfy { $0 == 0x20 }
  }

  @Sendable static func uniprotFlat(_ h: HeadView) -> Int {
    guard let first = h.lines.first(where: { !$0.isEmpty }), first.starts(with: "ID   ".utf8) else { return 0 }
    let shaped = h.lines.filter(isFlatLine).count
    // Every line of a flat file has its two-letter code (or is a sequence or `//` line).
    guard shaped * 10 >= h.lines.count * 9 else { return 0 }
    var score = 30
    if h.lines.contains(where: { $0.starts(with: "AC   ".utf8) }) { score += 20 }
    if h.lines.contains(where: { $0.starts(with: "SQ   ".utf8) }) { score += 20 }
    if h.lines.contains(where: { isLine($0, "//") }) { score += 20 }
    return score
  }

  static func isSequenceLine(_ line: ArraySlice<UInt8>) -> Bool {
    var body = line
    while let last = body.last, last == 0x20 || last == 0x09 { body = body.dropLast() }
    return body.allSatisfy { c in
      (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == UInt8(ascii: "*") || c == UInt8(ascii: "-")
        || c == UInt8(ascii: ".")
    }
  }

  @Sendable static func fasta(_ h: HeadView) -> Int {
    guard let first = h.lines.first(where: { !$0.isEmpty }), first.first == UInt8(ascii: ">") else {
      // A head with one long header line and no line break yet.
      return h.lines.isEmpty && h.text.first == UInt8(ascii: ">") ? 20 : 0
    }
    let body = h.lines.filter { !$0.isEmpty && $0.first != UInt8(ascii: ">") }
    let sequenceLike = body.filter(isSequenceLine).count
    guard sequenceLike * 10 >= body.count * 9 else { return 0 }
    return 30 + (body.isEmpty ? 0 : 30)
  }

  static func isCIDLine(_ line: ArraySlice<UInt8>) -> Bool {
    guard let tab = line.firstIndex(of: 0x09), tab > line.startIndex else { return false }
    let cid = line[line.startIndex..<tab]
    var smiles = line[(tab + 1)...]
    while let last = smiles.last, last == 0x20 { smiles = smiles.dropLast() }
    return cid.allSatisfy { (0x30...0x39).contains($0) } && !smiles.isEmpty && !smiles.contains(0x09)
      && !smiles.contains(0x20)
  }

  /// A BindingDB header line: stronger than any other evidence (its rows are tab-separated text
  /// that other formats might half match).
  @Sendable static func bindingdb(_ h: HeadView) -> Int {
    BindingDBReader.looksLikeBindingDB(Array(h.text)) ? 500 : 0
  }

  @Sendable static func cidSmiles(_ h: HeadView) -> Int {
    let lines = h.lines.filter { !$0.isEmpty }
    guard let first = lines.first, isCIDLine(first) else { return 0 }
    // A dirty line further on is the reader's business, not the detector's.
    return lines.filter(isCIDLine).count * 3 >= lines.count * 2 ? 50 : 0
  }
}
