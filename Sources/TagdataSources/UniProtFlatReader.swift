#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TagdataIO

/// Streams UniProtKB flat-file entries (`ID` ... `//`).
///
/// Reads ID, AC (primary and secondary accessions), DT (sequence and entry versions), DE
/// (RecName/AltName/SubName, Flags), GN, OS, OC, OX, CC (free-text topics), PE, KW, SQ and the
/// sequence; other line types (references, cross-references, features) are skipped without
/// being decoded. Both the current and the pre-2008 layouts are read (old `ID` lines with five
/// tokens, free-text `DE` and `GN`).
///
/// Damage confined to one entry (a line that is not flat-file syntax, a missing `//`, a missing
/// SQ line) gives a ``MalformedRecord`` and the reader carries on with the next `ID` line.
public final class UniProtFlatReader: ProteinReader {
  public let format = ProteinFormat.uniprotFlat
  private let lines: LineReader
  private var recordIndex: Int
  /// An `ID` line seen while an entry was still open (the open entry lacked its `//`).
  private var pendingStart: (line: Int, offset: Int64, text: [UInt8])?

  public init(lines: LineReader, firstRecordIndex: Int = 0) {
    self.lines = lines
    self.recordIndex = firstRecordIndex
  }

  // Per-entry accumulators, reused across entries to avoid reallocation.
  private var entry = EntryState()

  struct EntryState {
    var start = RecordLocation(index: 0, line: 0, offset: 0)
    var idLine: [UInt8] = []
    var ac: [UInt8] = []
    var de: [[UInt8]] = []
    var gn: [UInt8] = []
    var os: [UInt8] = []
    var oc: [UInt8] = []
    var ox: [UInt8] = []
    var kw: [UInt8] = []
    var pe: [UInt8] = []
    var sq: [UInt8] = []
    var dt: [[UInt8]] = []
    var cc: [(topic: [UInt8], text: [UInt8])] = []
    var ccInCopyright = false
    var sequence: [UInt8] = []
    var problem: (line: Int, reason: String, excerpt: String)?

    mutating func reset(_ at: RecordLocation) {
      start = at
      idLine.removeAll(keepingCapacity: true)
      ac.removeAll(keepingCapacity: true)
      de.removeAll(keepingCapacity: true)
      gn.removeAll(keepingCapacity: true)
      os.removeAll(keepingCapacity: true)
      oc.removeAll(keepingCapacity: true)
      ox.removeAll(keepingCapacity: true)
      kw.removeAll(keepingCapacity: true)
      pe.removeAll(keepingCapacity: true)
      sq.removeAll(keepingCapacity: true)
      dt.removeAll(keepingCapacity: true)
      cc.removeAll(keepingCapacity: true)
      ccInCopyright = false
      sequence.removeAll(keepingCapacity: true)
      problem = nil
    }
  }

  @inline(__always) private static func code(_ l: UnsafeBufferPointer<UInt8>) -> UInt16 {
    l.count >= 2 ? UInt16(l[0]) << 8 | UInt16(l[1]) : 0
  }
  private static func c(_ s: StaticString) -> UInt16 {
    let p = s.utf8Start
    return UInt16(p[0]) << 8 | UInt16(p[1])
  }
  private static let ID = c("ID"), AC = c("AC"), DT = c("DT"), DE = c("DE"), GN = c("GN"),
    OS = c("OS"), OC = c("OC"), OX = c("OX"), CC = c("CC"), PE = c("PE"), KW = c("KW"),
    SQ = c("SQ"), blank = c("  "), end = c("//")

  /// The data part of a line: from column 6 on.
  @inline(__always) private static func data(_ l: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    l.count > 5 ? UnsafeBufferPointer(rebasing: l[5...]) : UnsafeBufferPointer(start: l.baseAddress, count: 0)
  }

  /// True for a line of flat-file syntax: a two-letter code (or two blanks) then blanks or
  /// end of line.
  @inline(__always) private static func wellFormed(_ l: UnsafeBufferPointer<UInt8>) -> Bool {
    if l.count < 2 { return false }
    let a = l[0], b = l[1]
    let isCode = (a >= 0x41 && a <= 0x5A || a == 0x2A) && (b >= 0x41 && b <= 0x5A || b == 0x2A)
    let isBlank = a == 0x20 && b == 0x20
    guard isCode || isBlank else { return false }
    if l.count == 2 { return true }
    return l[2] == 0x20
  }

  public func next() throws -> ReadEvent? {
    // Find the start of the next entry.
    if let p = pendingStart {
      pendingStart = nil
      entry.reset(RecordLocation(index: recordIndex, line: p.line, offset: p.offset))
      entry.idLine = p.text
    } else {
      var junk: (line: Int, offset: Int64, excerpt: String)?
      while true {
        guard let l = try lines.nextLine() else {
          if let j = junk { return malformedJunk(j) }
          return nil
        }
        if Self.code(l) == Self.ID && (l.count == 2 || l[2] == 0x20) {
          if let j = junk {
            pendingStart = (lines.lineNumber, lines.lineOffset, Array(l))
            return malformedJunk(j)
          }
          entry.reset(RecordLocation(index: recordIndex, line: lines.lineNumber, offset: lines.lineOffset))
          entry.idLine = Array(Self.data(l))
          break
        }
        if isBlankLine(l) { continue }
        if junk == nil { junk = (lines.lineNumber, lines.lineOffset, excerptText(l)) }
      }
    }
    recordIndex += 1

    // Accumulate until `//`.
    while true {
      guard let l = try lines.nextLine() else {
        let reason = "entry ends without its // line (input ends at line \(lines.lineNumber))"
        return .malformed(MalformedRecord(location: entry.start, line: lines.lineNumber, reason: reason,
                                          excerpt: String(decoding: entry.idLine, as: UTF8.self)))
      }
      let code = Self.code(l)
      if code == Self.end && (l.count == 2 || l[2] == 0x20 || l[2] == 0x0D) { break }
      if code == Self.blank && l.count > 2 {
        // Sequence data: blocks of ten residues separated by blanks; copy each block whole.
        var i = 5
        let n = l.count
        while i < n {
          while i < n && l[i] == 0x20 { i += 1 }
          var j = i
          while j < n && l[j] != 0x20 { j += 1 }
          if j > i { entry.sequence.append(contentsOf: UnsafeBufferPointer(rebasing: l[i..<j])) }
          i = j
        }
        continue
      }
      if !Self.wellFormed(l) {
        if isBlankLine(l) { continue }
        if entry.problem == nil {
          entry.problem = (lines.lineNumber, "line \(lines.lineNumber) is not UniProt flat-file syntax", excerptText(l))
        }
        continue
      }
      let d = Self.data(l)
      switch code {
      case Self.ID:
        // A new entry began before this one ended.
        pendingStart = (lines.lineNumber, lines.lineOffset, Array(d))
        return .malformed(MalformedRecord(
          location: entry.start, line: lines.lineNumber - 1,
          reason: "entry ends without its // line (next ID line at line \(lines.lineNumber))",
          excerpt: String(decoding: entry.idLine, as: UTF8.self)))
      case Self.AC:
        entry.ac.append(0x20); entry.ac.append(contentsOf: d)
      case Self.DE: entry.de.append(Array(d))
      case Self.DT: entry.dt.append(Array(d))
      case Self.GN: entry.gn.append(0x0A); entry.gn.append(contentsOf: d)
      case Self.OS: UniProtText.join(&entry.os, d)
      case Self.OC: entry.oc.append(0x20); entry.oc.append(contentsOf: d)
      case Self.OX: entry.ox.append(0x20); entry.ox.append(contentsOf: d)
      case Self.KW: entry.kw.append(0x20); entry.kw.append(contentsOf: d)
      case Self.PE: entry.pe.append(contentsOf: d)
      case Self.SQ: entry.sq.append(contentsOf: d)
      case Self.CC: addComment(d)
      default: break
      }
    }
    return finish()
  }

  private func isBlankLine(_ l: UnsafeBufferPointer<UInt8>) -> Bool {
    l.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
  }

  private func malformedJunk(_ j: (line: Int, offset: Int64, excerpt: String)) -> ReadEvent {
    defer { recordIndex += 1 }
    let loc = RecordLocation(index: recordIndex, line: j.line, offset: j.offset)
    return .malformed(MalformedRecord(location: loc, line: j.line,
                                      reason: "text outside a UniProt entry (expected an ID line)",
                                      excerpt: j.excerpt))
  }

  private func addComment(_ d: UnsafeBufferPointer<UInt8>) {
    if d.count >= 4 && d[0] == UInt8(ascii: "-") && d[1] == UInt8(ascii: "-") && d[2] == UInt8(ascii: "-") {
      entry.ccInCopyright.toggle()
      return
    }
    if entry.ccInCopyright { return }
    if d.count >= 4 && d[0] == UInt8(ascii: "-") && d[1] == UInt8(ascii: "!") && d[2] == UInt8(ascii: "-") {
      // "-!- TOPIC: text"
      let body = UnsafeBufferPointer(rebasing: d[4...])
      if let colon = body.firstIndex(of: UInt8(ascii: ":")) {
        let topic = Array(body[..<colon])
        var text = [UInt8]()
        UniProtText.join(&text, UnsafeBufferPointer(rebasing: body[(colon + 1)...]))
        entry.cc.append((topic, text))
      } else {
        entry.cc.append((Array(body), []))
      }
      return
    }
    guard !entry.cc.isEmpty else { return }
    UniProtText.join(&entry.cc[entry.cc.count - 1].text, d)
  }

  // MARK: - Building the record

  private func finish() -> ReadEvent {
    var r = ProteinRecord(format: .uniprotFlat, location: entry.start)
    func bad(_ reason: String) -> ReadEvent {
      .malformed(MalformedRecord(location: entry.start, line: entry.start.line, reason: reason,
                                 excerpt: String(decoding: entry.idLine, as: UTF8.self)))
    }
    if let p = entry.problem {
      return .malformed(MalformedRecord(location: entry.start, line: p.line, reason: p.reason, excerpt: p.excerpt))
    }
    // ID: "NAME Reviewed; 123 AA." or old "NAME STANDARD; PRT; 123 AA."
    let idTokens = tokens(entry.idLine)
    guard let name = idTokens.first, idTokens.count >= 3 else { return bad("ID line is incomplete") }
    r.entryName = name
    switch idTokens[1].trimmingSuffix(";") {
    case "Reviewed", "STANDARD": r.reviewed = true
    case "Unreviewed", "PRELIMINARY": r.reviewed = false
    default: r.reviewed = nil
    }
    if idTokens.last == "AA.", let n = Int(idTokens[idTokens.count - 2]) {
      r.declaredLength = n
    } else {
      return bad("ID line does not end with the length in AA")
    }
    // AC
    let acc = String(decoding: entry.ac, as: UTF8.self).split(separator: ";").map {
      $0.trimmingCharacters(in: " ")
    }.filter { !$0.isEmpty }
    guard let primary = acc.first else { return bad("entry has no AC line") }
    r.accession = primary
    r.secondaryAccessions = Array(acc.dropFirst())
    // DT
    for line in entry.dt {
      let t = String(decoding: line, as: UTF8.self)
      if let v = number(after: "sequence version ", in: t) { r.sequenceVersion = v }
      if let v = number(after: "entry version ", in: t) { r.entryVersion = v }
    }
    parseDE(&r)
    r.gene = parseGN()
    if !entry.os.isEmpty {
      var os = String(decoding: entry.os, as: UTF8.self)
      if os.hasSuffix(".") { os.removeLast() }
      r.organism = UniProtText.clean(os)
    }
    if !entry.oc.isEmpty {
      var oc = UniProtText.clean(String(decoding: entry.oc, as: UTF8.self))
      if oc.hasSuffix(".") { oc.removeLast() }
      r.lineage = oc
    }
    if !entry.ox.isEmpty {
      let ox = String(decoding: entry.ox, as: UTF8.self)
      if let v = number(after: "NCBI_TaxID=", in: ox) { r.taxonID = v }
    }
    if let first = entry.pe.first, first >= 0x31, first <= 0x35 { r.existence = Int(first - 0x30) }
    if !entry.kw.isEmpty {
      var kw = String(decoding: entry.kw, as: UTF8.self).trimmingCharacters(in: " ")
      if kw.hasSuffix(".") { kw.removeLast() }
      r.keywords = kw.split(separator: ";").map { UniProtText.clean(String($0)) }.filter { !$0.isEmpty }.sorted()
    }
    for (topic, text) in entry.cc {
      let t = String(decoding: topic, as: UTF8.self).trimmingCharacters(in: " ")
      guard UniProtText.freeTextTopics.contains(t) else { continue }
      r.comments.append((t, UniProtText.clean(String(decoding: text, as: UTF8.self))))
    }
    // SQ: "SEQUENCE   291 AA;  30495 MW;  07E95E632BD020E9 CRC64;"
    guard !entry.sq.isEmpty else { return bad("entry has no SQ line") }
    let sq = tokens(entry.sq)
    if sq.count >= 7, sq[0] == "SEQUENCE", let len = Int(sq[1]), sq[2] == "AA;", let mw = Int(sq[3]),
      sq[4] == "MW;", let crc = CRC64Text.parse(sq[5]), sq[6] == "CRC64;"
    {
      if len != r.declaredLength {
        return bad("ID line says \(r.declaredLength ?? 0) AA but the SQ line says \(len)")
      }
      r.declaredMass = mw
      r.declaredCRC64 = crc
    } else {
      return bad("SQ line is not `SEQUENCE n AA; m MW; crc CRC64;`")
    }
    r.sequence = entry.sequence
    return .record(r)
  }

  private func parseDE(_ r: inout ProteinRecord) {
    let lines = entry.de.map { String(decoding: $0, as: UTF8.self) }
    guard !lines.isEmpty else { return }
    let structured = lines.contains { $0.hasPrefix("RecName:") || $0.hasPrefix("SubName:") || $0.hasPrefix("AltName:") }
    if !structured {
      // Pre-2008 free text: "Name (Alt) (EC 1.2.3.4) (Fragment)."
      var text = UniProtText.clean(lines.joined(separator: " "))
      if text.hasSuffix(".") { text.removeLast() }
      for flag in [" (Fragments)", " (Fragment)"] where text.hasSuffix(flag) {
        r.fragment = true
        text.removeLast(flag.count)
      }
      r.proteinName = text
      r.names.append(ProteinName(kind: "recommended", value: text))
      return
    }
    var section = ""  // recommended, alternative, submitted
    var inSubsection = false  // Includes:/Contains: blocks belong to parts of the protein
    for raw in lines {
      let indented = raw.hasPrefix(" ")
      var line = raw.trimmingCharacters(in: " ")
      if !indented && (line.hasPrefix("Includes:") || line.hasPrefix("Contains:")) {
        inSubsection = true
        continue
      }
      if indented && inSubsection { continue }
      if line.hasPrefix("Flags:") {
        if line.contains("Fragment") { r.fragment = true }
        continue
      }
      if !indented { inSubsection = false }
      for (prefix, kind) in [("RecName:", "recommended"), ("AltName:", "alternative"), ("SubName:", "submitted")]
      where line.hasPrefix(prefix) {
        section = kind
        line = line.dropFirst(prefix.count).trimmingCharacters(in: " ")
      }
      guard let eq = line.firstIndex(of: "=") else { continue }
      let key = String(line[..<eq])
      var value = String(line[line.index(after: eq)...])
      if value.hasSuffix(";") { value.removeLast() }
      value = UniProtText.clean(value)
      let kind: String
      switch key {
      case "Full": kind = section
      case "Short": kind = section + "-short"
      case "EC": kind = "ec"
      case "Allergen": kind = "allergen"
      case "Biotech": kind = "biotech"
      case "CD_antigen": kind = "cd-antigen"
      case "INN": kind = "inn"
      default: continue
      }
      r.names.append(ProteinName(kind: kind, value: value))
      if key == "Full" && r.proteinName == nil && (section == "recommended" || section == "submitted") {
        r.proteinName = value
      }
    }
  }

  private func parseGN() -> String? {
    guard !entry.gn.isEmpty else { return nil }
    let text = String(decoding: entry.gn, as: UTF8.self)
    // Genes are separated by a line "and"; keep the first gene.
    var first: [Substring] = []
    for line in text.split(separator: "\n") {
      if line.trimmingCharacters(in: " ") == "and" { break }
      first.append(line)
    }
    let gene = first.map { $0.trimmingCharacters(in: " ") }.joined(separator: " ")
    if !gene.contains("=") {
      // Old free-text style: "FOS." or "HTR4 OR X."
      var g = gene
      if g.hasSuffix(".") { g.removeLast() }
      let head = g.components(separatedBy: " OR ").first ?? g
      let value = UniProtText.clean(head.components(separatedBy: " AND ").first ?? head)
      return value.isEmpty ? nil : value
    }
    // Fields end with "; " (values may contain ';', e.g. "Name=HvPIP2;8;").
    var fields: [String: String] = [:]
    var cleanedGene = UniProtText.clean(gene)
    if cleanedGene.hasSuffix(";") { cleanedGene.removeLast() }
    for part in cleanedGene.split(separator: "; ") {
      let p = part.trimmingCharacters(in: " ")
      guard let eq = p.firstIndex(of: "=") else { continue }
      let key = String(p[..<eq])
      if fields[key] == nil { fields[key] = String(p[p.index(after: eq)...]) }
    }
    for key in ["Name", "OrderedLocusNames", "ORFNames"] {
      if let v = fields[key] {
        let firstName = v.split(separator: ",").first.map(String.init) ?? v
        let cleaned = UniProtText.clean(firstName)
        if !cleaned.isEmpty { return cleaned }
      }
    }
    return nil
  }

  private func tokens(_ bytes: [UInt8]) -> [String] {
    bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { String(decoding: $0, as: UTF8.self) }
  }

  private func number(after marker: String, in text: String) -> Int? {
    let t = Array(text.utf8), m = Array(marker.utf8)
    guard t.count >= m.count else { return nil }
    for i in 0...(t.count - m.count) where t[i..<(i + m.count)].elementsEqual(m) {
      let digits = t[(i + m.count)...].prefix { $0 >= 0x30 && $0 <= 0x39 }
      return Int(String(decoding: digits, as: UTF8.self))
    }
    return nil
  }
}

/// CRC64 text as printed by UniProt (16 hex digits).
enum CRC64Text {
  static func parse(_ s: String) -> UInt64? { s.utf8.count == 16 ? UInt64(s, radix: 16) : nil }
}

extension StringProtocol {
  func trimmingCharacters(in set: Character) -> String {
    var s = Substring(self)
    while s.first == set { s.removeFirst() }
    while s.last == set { s.removeLast() }
    return String(s)
  }
  func trimmingSuffix(_ suffix: String) -> String {
    hasSuffix(suffix) ? String(dropLast(suffix.count)) : String(self)
  }
}
