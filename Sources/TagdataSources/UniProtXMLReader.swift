import CLibXML2
import TagdataIO

/// Streams `<entry>` elements from UniProtKB XML (`<uniprot>`) and UniRef XML (`<UniRef>`) with
/// libxml2's pull reader: one entry in memory at a time, never a whole-document tree.
///
/// From UniProtKB entries it reads the same fields as ``UniProtFlatReader`` and renders them
/// the same way (organism as on OS lines, free-text comments, names). From UniRef entries it
/// reads the representative member: its UniProtKB accessions, entry name, organism, taxon,
/// protein name and sequence.
///
/// Entries are cut from the bytes first (``XMLRecordSplitter``) and each is parsed on its own:
/// an entry that is not well-formed XML (bytes that are not UTF-8, broken markup, elements
/// nested deeper than ``maxDepth``) is malformed, with the line, and the reader goes on at the
/// next `<entry`. An entry over the record size limit is passed over unbuffered. Entities are
/// not expanded and nothing is fetched from the network.
public final class UniProtXMLReader: ProteinReader {
  public let format = ProteinFormat.uniprotXML
  private let records: XMLRecordStream
  @exclusivity(unchecked) private var reader: xmlTextReaderPtr!
  /// Line and offset of the entry being parsed.
  private var piece: (line: Int, offset: Int64) { records.piece }
  /// Elements nested deeper than this inside an entry make it malformed (UniProt's go 6 deep).
  public static let maxDepth = 64
  private var recordIndex: Int {
    get { records.recordIndex }
    set { records.recordIndex = newValue }
  }
  @exclusivity(unchecked) private var stack: [String] = []
  /// The path of the element being read, from inside the entry (`comment/text`), kept as
  /// elements open and close, and the path's length before each element inside the entry.
  @exclusivity(unchecked) private var path = ""
  @exclusivity(unchecked) private var pathLengths: [Int] = []
  @exclusivity(unchecked) private var entryDepth = -1
  @exclusivity(unchecked) private var isUniRef = false
  /// The entry being read, laid out in `work` as it is read; nil outside an entry.
  @exclusivity(unchecked) private var current: PackedProtein?
  @exclusivity(unchecked) private var work = ProteinArena()
  @exclusivity(unchecked) private var text: [UInt8] = []
  @exclusivity(unchecked) private var capturing = false
  // Per-entry scratch.
  @exclusivity(unchecked) private var geneNames: [(type: String, value: String)] = []
  @exclusivity(unchecked) private var geneCount = 0
  @exclusivity(unchecked) private var organismNames: [(type: String, value: String)] = []
  @exclusivity(unchecked) private var lineage: [String] = []
  @exclusivity(unchecked) private var commentTopic: String?
  @exclusivity(unchecked) private var commentTexts: [String] = []
  // List fields, as ranges in `work`, laid out as lists when the entry ends (their elements may
  // come in any order of elements).
  @exclusivity(unchecked) private var accessions: [ByteRange] = []
  @exclusivity(unchecked) private var names: [ByteRange] = []
  @exclusivity(unchecked) private var keywords: [ByteRange] = []
  @exclusivity(unchecked) private var comments: [ByteRange] = []
  @exclusivity(unchecked) private var nameRefs: [String] = []
  @exclusivity(unchecked) private var ecByKey: [(key: String, id: String)] = []
  /// Creates a reader over decompressed XML bytes.
  public init(source: ByteSource, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) throws {
    records = XMLRecordStream(source: source, element: "entry", noun: "entry", firstRecordIndex: firstRecordIndex,
                              limits: limits)
  }

  public func next(into arena: inout ProteinArena) throws -> PackedEvent? {
    work.removeAll()
    switch try records.next(parse: parse, malformed: { .malformed($0) }) {
    case nil: return nil
    case let .malformed(m)?: return .malformed(m)
    case let .record(p)?:
      let shift = work.moveTail(from: (0, 0), to: &arena)
      return .record(p.shifted(shift))
    }
  }

  private func skipped(_ loc: RecordLocation, at: Int, _ reason: String) -> PackedEvent { .malformed(records.skipped(loc, at: at, reason)) }

  /// The line in the file where the pull reader's current node starts.
  private var fileLine: Int { records.nodeLine(reader) }

  /// Reads one entry's bytes: its record, or malformed with the reason and line.
  private func parse(_ bytes: [UInt8]) -> PackedEvent? {
    guard let doc = records.document(bytes) else {
      return skipped(RecordLocation(index: recordIndex, line: piece.line, offset: piece.offset), at: piece.line,
                     "cannot create the XML reader")
    }
    reader = doc.reader
    defer { reader = nil }
    stack = []
    current = nil
    capturing = false
    entryDepth = -1
    while true {
      let status = xmlTextReaderRead(reader)
      if status == 0 {
        if current != nil { return abandon("entry ends before its end tag") }
        return nil
      }
      if status < 0 {
        let message = "XML error at \(doc.errorPlace(recordLine: piece.line, fallback: fileLine)): \(doc.errorMessage)"
        if current == nil { startEntry() }
        return abandon(message, line: doc.errorLine(recordLine: piece.line))
      }
      if current != nil && stack.count - entryDepth > Self.maxDepth {
        return abandon("elements nested deeper than \(Self.maxDepth) inside the entry at line \(fileLine)")
      }
      if let event = handleNode() { return event }
    }
  }

  private func abandon(_ reason: String, line: Int? = nil) -> PackedEvent {
    let r = current!
    current = nil
    capturing = false
    let excerpt = accessions.first.flatMap(work.string).map { "accession \($0)" } ?? "entry at line \(r.location.line)"
    return .malformed(MalformedRecord(location: r.location, line: line ?? fileLine, reason: reason, excerpt: excerpt))
  }

  private func attribute(_ name: String) -> String? {
    guard let p = xmlTextReaderGetAttribute(reader, name) else { return nil }
    defer { tagdata_xmlFree(p) }
    return String(cString: p)
  }

  private func handleNode() -> PackedEvent? {
    let type = xmlTextReaderNodeType(reader)
    switch type {
    case 1:  // element
      let name = xmlTextReaderConstLocalName(reader).map { String(cString: $0) } ?? ""
      let empty = xmlTextReaderIsEmptyElement(reader) == 1
      if current == nil {
        if stack.count == 0 { isUniRef = name == "UniRef" }
        if name == "entry" && stack.count <= 1 {
          startEntry()
          if empty { return finishEntry() }
          stack.append(name)
          return nil
        }
        if !empty { stack.append(name) }
        return nil
      }
      stack.append(name)
      openPath(name)
      elementStarted(path)
      if empty {
        elementEnded(path)
        closePath()
        stack.removeLast()
      }
      return nil
    case 3, 4:  // text, CDATA
      if capturing, let v = xmlTextReaderConstValue(reader) {
        var p = v
        while p.pointee != 0 { text.append(p.pointee); p += 1 }
      }
      return nil
    case 15:  // end element
      guard !stack.isEmpty else { return nil }
      if current != nil && stack.count - 1 == entryDepth {
        stack.removeLast()
        return finishEntry()
      }
      if current != nil {
        elementEnded(path)
        closePath()
      }
      stack.removeLast()
      return nil
    default:
      return nil
    }
  }

  private func openPath(_ name: String) {
    pathLengths.append(path.utf8.count)
    if !path.isEmpty { path += "/" }
    path += name
  }

  private func closePath() {
    guard let length = pathLengths.popLast() else { return }
    path = String(path.utf8.prefix(length))!
  }

  private func startEntry() {
    let loc = RecordLocation(index: recordIndex, line: piece.line, offset: piece.offset)
    recordIndex += 1
    var r = PackedProtein(format: .uniprotXML, location: loc)
    if isUniRef {
      r.label = work.append(attribute("id"))
    } else {
      switch attribute("dataset") {
      case "Swiss-Prot": r.reviewed = true
      case "TrEMBL": r.reviewed = false
      default: break
      }
      r.entryVersion = attribute("version").flatMap { Int($0) }
    }
    current = r
    entryDepth = stack.count
    path = ""
    pathLengths.removeAll(keepingCapacity: true)
    geneNames = []
    geneCount = 0
    organismNames = []
    lineage = []
    commentTopic = nil
    accessions = []
    names = []
    keywords = []
    comments = []
    nameRefs = []
    ecByKey = []
  }

  private static let captured: Set<String> = [
    "accession", "name", "keyword", "sequence", "gene/name", "organism/name", "organism/lineage/taxon",
    "comment/text", "representativeMember/sequence",
    "protein/recommendedName/fullName", "protein/recommendedName/shortName", "protein/recommendedName/ecNumber",
    "protein/alternativeName/fullName", "protein/alternativeName/shortName", "protein/alternativeName/ecNumber",
    "protein/submittedName/fullName", "protein/submittedName/shortName", "protein/submittedName/ecNumber",
    "protein/allergenName", "protein/biotechName", "protein/cdAntigenName", "protein/innName",
  ]

  private func elementStarted(_ path: String) {
    guard var r = current else { return }
    defer { current = r }
    if Self.captured.contains(path) {
      capturing = true
      text.removeAll(keepingCapacity: true)
    }
    switch path {
    case "gene":
      geneCount += 1
    case "protein/recommendedName", "protein/alternativeName", "protein/submittedName":
      // Older XML points from a name to its EC number: <recommendedName ref="1"> ... <dbReference type="EC" key="1">
      if let ref = attribute("ref") { nameRefs.append(contentsOf: ref.split(separator: " ").map(String.init)) }
    case "dbReference":
      if attribute("type") == "EC", let key = attribute("key"), let id = attribute("id") { ecByKey.append((key, id)) }
    case "organism/dbReference":
      if attribute("type") == "NCBI Taxonomy", r.taxonID == nil { r.taxonID = attribute("id").flatMap { Int($0) } }
    case "comment":
      commentTopic = attribute("type")?.uppercased()
      commentTexts = []
    case "proteinExistence":
      r.existence = attribute("type").flatMap { UniProtText.existenceLevel($0) }
    case "sequence", "representativeMember/sequence":
      r.checksumLine = fileLine
      r.declaredLength = attribute("length").flatMap { Int($0) }
      r.declaredMass = attribute("mass").flatMap { Int($0) }
      r.declaredCRC64 = attribute("checksum").flatMap { text in
        Array(text.utf8).withUnsafeBufferPointer { Bytes.hex64($0, 0..<$0.count) }
      }
      r.sequenceVersion = attribute("version").flatMap { Int($0) }
      if attribute("fragment") != nil { r.fragment = true }
    case "representativeMember/dbReference":
      if attribute("type") == "UniProtKB ID" { r.entryName = work.append(attribute("id")) }
    case "representativeMember/dbReference/property":
      guard let type = attribute("type"), let value = attribute("value") else { break }
      switch type {
      case "UniProtKB accession": accessions.append(work.append(value))
      case "NCBI taxonomy": r.taxonID = Int(value)
      case "source organism": r.organism = work.append(value)
      case "protein name": r.proteinName = work.append(value)
      default: break
      }
    default:
      break
    }
    if path == "gene/name" || path == "organism/name" {
      pendingType = attribute("type") ?? ""
    }
  }

  @exclusivity(unchecked) private var pendingType = ""

  private func elementEnded(_ path: String) {
    guard var r = current else { return }
    defer { current = r }
    guard capturing, Self.captured.contains(path) else {
      if path == "comment", let topic = commentTopic, UniProtText.freeTextTopics.contains(topic), !commentTexts.isEmpty {
        comments.append(work.append(topic))
        comments.append(work.append(UniProtText.clean(commentTexts.joined(separator: " "))))
      }
      return
    }
    capturing = false
    let value = String(decoding: text, as: UTF8.self)
    let cleaned = UniProtText.clean(value)
    func name(_ kind: String) {
      names.append(work.append(kind))
      names.append(work.append(cleaned))
    }
    switch path {
    case "accession": accessions.append(work.append(cleaned))
    case "name": r.entryName = work.append(cleaned)
    case "keyword": keywords.append(work.append(cleaned))
    case "sequence", "representativeMember/sequence":
      let start = work.bytes.count
      for b in text where b != 0x20 && b != 0x0A && b != 0x0D && b != 0x09 { work.bytes.append(b) }
      r.sequence = work.range(from: start)
    case "gene/name":
      if geneCount == 1 { geneNames.append((pendingType, cleaned)) }
    case "organism/name": organismNames.append((pendingType, cleaned))
    case "organism/lineage/taxon": lineage.append(cleaned)
    case "comment/text": commentTexts.append(value)
    case "protein/recommendedName/fullName":
      name("recommended")
      if r.proteinName.isNone { r.proteinName = work.append(cleaned) }
    case "protein/recommendedName/shortName": name("recommended-short")
    case "protein/alternativeName/fullName": name("alternative")
    case "protein/alternativeName/shortName": name("alternative-short")
    case "protein/submittedName/fullName":
      name("submitted")
      if r.proteinName.isNone { r.proteinName = work.append(cleaned) }
    case "protein/submittedName/shortName": name("submitted-short")
    case "protein/recommendedName/ecNumber", "protein/alternativeName/ecNumber", "protein/submittedName/ecNumber":
      name("ec")
    case "protein/allergenName": name("allergen")
    case "protein/biotechName": name("biotech")
    case "protein/cdAntigenName": name("cd-antigen")
    case "protein/innName": name("inn")
    default: break
    }
  }

  private func finishEntry() -> PackedEvent {
    var r = current!
    current = nil
    entryDepth = -1
    if !isUniRef {
      for type in ["primary", "ordered locus", "ORF"] {
        if let g = geneNames.first(where: { $0.type == type }) { r.gene = work.append(g.value); break }
      }
      r.organism = work.append(UniProtText.organism(
        scientific: organismNames.first { $0.type == "scientific" }?.value,
        common: organismNames.first { $0.type == "common" }?.value,
        synonyms: organismNames.filter { $0.type == "synonym" }.map(\.value)))
      if !lineage.isEmpty { r.lineage = work.append(lineage.joined(separator: "; ")) }
      for ref in nameRefs {
        for ec in ecByKey where ec.key == ref {
          names.append(work.append("ec"))
          names.append(work.append(ec.id))
        }
      }
    }
    func list(_ elements: [ByteRange]) -> PieceRange {
      let start = work.listStart
      work.pieces.append(contentsOf: elements)
      return work.list(from: start)
    }
    r.accessions = list(accessions)
    r.names = list(names)
    r.keywords = list(keywords)
    if !isUniRef { work.sortPieces(r.keywords) }
    r.comments = list(comments)
    if r.sequence.count <= 0 && r.declaredLength == nil {
      let excerpt = accessions.first.flatMap(work.string).map { "accession \($0)" } ?? work.string(r.label) ?? "entry"
      return .malformed(MalformedRecord(location: r.location, line: r.location.line,
                                        reason: "entry has no <sequence> element", excerpt: excerpt))
    }
    return .record(r)
  }
}

/// A well-formedness or encoding error in XML input.
public struct XMLError: Error, CustomStringConvertible, Sendable {
  public var file: String
  public var line: Int
  public var message: String
  public var description: String { "\(file): XML error at line \(line): \(message)" }
}
