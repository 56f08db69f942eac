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
    var de: [UInt8] = []
    var gn: [UInt8] = []
    var os: [UInt8] = []
    var oc: [UInt8] = []
    var ox: [UInt8] = []
    var kw: [UInt8] = []
    var pe: [UInt8] = []
    var sq: [UInt8] = []
    var dt: [UInt8] = []
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
  // Two-letter line codes as big-endian UInt16 constants ("ID" = 0x4944), so that the dispatch
  // below is a switch over integer literals.
  private static let ID: UInt16 = 0x4944, AC: UInt16 = 0x4143, DT: UInt16 = 0x4454, DE: UInt16 = 0x4445,
    GN: UInt16 = 0x474E, OS: UInt16 = 0x4F53, OC: UInt16 = 0x4F43, OX: UInt16 = 0x4F58, CC: UInt16 = 0x4343,
    PE: UInt16 = 0x5045, KW: UInt16 = 0x4B57, SQ: UInt16 = 0x5351, blank: UInt16 = 0x2020, end: UInt16 = 0x2F2F

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
      case Self.DE: entry.de.append(contentsOf: d); entry.de.append(0x0A)
      case Self.DT: entry.dt.append(contentsOf: d); entry.dt.append(0x0A)
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
    let id = Bytes.split(entry.idLine[...], blanks: true)
    guard id.count >= 3 else { return bad("ID line is incomplete") }
    r.entryName = Bytes.string(id[0])
    switch Bytes.string(Bytes.dropSuffix(id[1], 0x3B)) {
    case "Reviewed", "STANDARD": r.reviewed = true
    case "Unreviewed", "PRELIMINARY": r.reviewed = false
    default: r.reviewed = nil
    }
    guard Bytes.equal(id[id.count - 1], "AA."), let length = Bytes.int(id[id.count - 2]) else {
      return bad("ID line does not end with the length in AA")
    }
    r.declaredLength = length
    // AC: "P1; P2;" over one or more lines.
    var accessions: [String] = []
    for a in Bytes.split(entry.ac[...], separator: 0x3B) {
      let t = Bytes.trim(a)
      if !t.isEmpty { accessions.append(Bytes.string(t)) }
    }
    guard let primary = accessions.first else { return bad("entry has no AC line") }
    r.accession = primary
    r.secondaryAccessions = Array(accessions.dropFirst())
    // DT: "... sequence version 2." and "... entry version 95."
    if let v = Bytes.int(after: "sequence version ", in: entry.dt[...]) { r.sequenceVersion = v }
    if let v = Bytes.int(after: "entry version ", in: entry.dt[...]) { r.entryVersion = v }
    parseDE(&r)
    r.gene = parseGN()
    if !entry.os.isEmpty { r.organism = Bytes.cleanSentence(entry.os[...]) }
    if !entry.oc.isEmpty { r.lineage = Bytes.cleanSentence(entry.oc[...]) }
    if !entry.ox.isEmpty { r.taxonID = Bytes.int(after: "NCBI_TaxID=", in: entry.ox[...]) }
    if let first = entry.pe.first, first >= 0x31, first <= 0x35 { r.existence = Int(first - 0x30) }
    if !entry.kw.isEmpty {
      var kw = Bytes.trim(entry.kw[...])
      if kw.last == 0x2E { kw = kw.dropLast() }
      for k in Bytes.split(kw, separator: 0x3B) {
        let cleaned = k.withUnsafeBufferPointer { UniProtText.clean(bytes: $0) }
        if !cleaned.isEmpty { r.keywords.append(cleaned) }
      }
      r.keywords.sort()
    }
    for (topic, text) in entry.cc {
      let t = Bytes.string(Bytes.trim(topic[...]))
      guard UniProtText.freeTextTopics.contains(t) else { continue }
      r.comments.append((t, text.withUnsafeBufferPointer { UniProtText.clean(bytes: $0) }))
    }
    // SQ: "SEQUENCE   291 AA;  30495 MW;  07E95E632BD020E9 CRC64;"
    guard !entry.sq.isEmpty else { return bad("entry has no SQ line") }
    let sq = Bytes.split(entry.sq[...], blanks: true)
    guard sq.count >= 7, Bytes.equal(sq[0], "SEQUENCE"), let len = Bytes.int(sq[1]), Bytes.equal(sq[2], "AA;"),
      let mw = Bytes.int(sq[3]), Bytes.equal(sq[4], "MW;"), sq[5].count == 16,
      let crc = UInt64(Bytes.string(sq[5]), radix: 16), Bytes.equal(sq[6], "CRC64;")
    else {
      return bad("SQ line is not `SEQUENCE n AA; m MW; crc CRC64;`")
    }
    if len != length { return bad("ID line says \(length) AA but the SQ line says \(len)") }
    r.declaredMass = mw
    r.declaredCRC64 = crc
    r.sequence = entry.sequence
    return .record(r)
  }

  private func parseDE(_ r: inout ProteinRecord) {
    guard !entry.de.isEmpty else { return }
    let lines = Bytes.split(entry.de[...], separator: 0x0A)
    let structured = lines.contains {
      Bytes.hasPrefix($0, "RecName:") || Bytes.hasPrefix($0, "SubName:") || Bytes.hasPrefix($0, "AltName:")
    }
    if !structured {
      // Pre-2008 free text: "Name (Alt) (EC 1.2.3.4) (Fragment)."
      var text = UniProtText.clean(lines.map { Bytes.string($0) }.joined(separator: " "))
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
    var inSubsection = false  // Includes:/Contains: blocks describe parts of the protein
    for raw in lines {
      let indented = raw.first == 0x20
      var line = Bytes.trim(raw)
      if !indented && (Bytes.hasPrefix(line, "Includes:") || Bytes.hasPrefix(line, "Contains:")) {
        inSubsection = true
        continue
      }
      if indented && inSubsection { continue }
      if Bytes.hasPrefix(line, "Flags:") {
        if Bytes.find("Fragment", in: line) != nil { r.fragment = true }
        continue
      }
      if !indented { inSubsection = false }
      if line.count >= 8 && line[line.startIndex + 7] == UInt8(ascii: ":") {
        let head = line.prefix(8)
        let kind = Bytes.equal(head, "RecName:") ? "recommended" : Bytes.equal(head, "AltName:") ? "alternative"
          : Bytes.equal(head, "SubName:") ? "submitted" : nil
        if let kind {
          section = kind
          line = Bytes.trim(line.dropFirst(8))
        }
      }
      guard let eq = line.firstIndex(of: 0x3D) else { continue }
      let key = line[..<eq]
      let full = Bytes.equal(key, "Full")
      let kind: String
      if full {
        kind = section
      } else if Bytes.equal(key, "Short") {
        kind = section + "-short"
      } else if Bytes.equal(key, "EC") {
        kind = "ec"
      } else if Bytes.equal(key, "Allergen") {
        kind = "allergen"
      } else if Bytes.equal(key, "Biotech") {
        kind = "biotech"
      } else if Bytes.equal(key, "CD_antigen") {
        kind = "cd-antigen"
      } else if Bytes.equal(key, "INN") {
        kind = "inn"
      } else {
        continue
      }
      let value = Bytes.dropSuffix(line[(eq + 1)...], 0x3B).withUnsafeBufferPointer { UniProtText.clean(bytes: $0) }
      r.names.append(ProteinName(kind: kind, value: value))
      if full && r.proteinName == nil && (section == "recommended" || section == "submitted") {
        r.proteinName = value
      }
    }
  }

  private func parseGN() -> String? {
    guard !entry.gn.isEmpty else { return nil }
    // Genes are separated by a line "and"; keep the first gene.
    var first: [UInt8] = []
    for line in Bytes.split(entry.gn[...], separator: 0x0A) {
      let t = Bytes.trim(line)
      if Bytes.equal(t, "and") { break }
      if !first.isEmpty { first.append(0x20) }
      first.append(contentsOf: t)
    }
    var gene: [UInt8] = []
    gene.reserveCapacity(first.count)
    first.withUnsafeBufferPointer { UniProtText.clean($0, into: &gene) }
    if !gene.contains(UInt8(ascii: "=")) {
      // Old free-text style: "FOS." or "HTR4 OR X."
      var g = gene[...]
      if g.last == UInt8(ascii: ".") { g = g.dropLast() }
      if let or = Bytes.find(" OR ", in: g) { g = g[..<or] }
      if let and = Bytes.find(" AND ", in: g) { g = g[..<and] }
      return g.isEmpty ? nil : Bytes.string(g)
    }
    // Fields end with "; " (values may contain ';', e.g. "Name=HvPIP2;8;"). The first field of
    // each key counts; Name wins over OrderedLocusNames, which wins over ORFNames.
    var g = gene[...]
    if g.last == UInt8(ascii: ";") { g = g.dropLast() }
    var found: [ArraySlice<UInt8>?] = [nil, nil, nil]
    var rest = g
    while !rest.isEmpty {
      let end = Bytes.find("; ", in: rest) ?? rest.endIndex
      let field = rest[..<end]
      rest = end == rest.endIndex ? rest[end...] : rest[(end + 2)...]
      guard let eq = field.firstIndex(of: UInt8(ascii: "=")) else { continue }
      let key = field[..<eq]
      let slot = Bytes.equal(key, "Name") ? 0 : Bytes.equal(key, "OrderedLocusNames") ? 1 : Bytes.equal(key, "ORFNames") ? 2 : -1
      if slot >= 0 && found[slot] == nil { found[slot] = field[(eq + 1)...] }
    }
    for case let v? in found {
      let firstName = v.split(separator: UInt8(ascii: ",")).first ?? v
      let cleaned = firstName.withUnsafeBufferPointer { UniProtText.clean(bytes: $0) }
      if !cleaned.isEmpty { return cleaned }
    }
    return nil
  }
}

/// Byte-slice helpers for the flat-file reader: no `String` until a value is final.
enum Bytes {
  typealias Slice = ArraySlice<UInt8>

  static func string(_ s: Slice) -> String { String(decoding: s, as: UTF8.self) }

  static func trim(_ s: Slice) -> Slice {
    var a = s.startIndex, b = s.endIndex
    while a < b && (s[a] == 0x20 || s[a] == 0x09) { a += 1 }
    while b > a && (s[b - 1] == 0x20 || s[b - 1] == 0x09) { b -= 1 }
    return s[a..<b]
  }

  static func dropSuffix(_ s: Slice, _ byte: UInt8) -> Slice { s.last == byte ? s.dropLast() : s }

  static func split(_ s: Slice, separator: UInt8) -> [Slice] {
    s.split(separator: separator, omittingEmptySubsequences: false)
  }

  static func split(_ s: Slice, blanks: Bool) -> [Slice] {
    s.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
  }

  static func equal(_ s: Slice, _ text: StaticString) -> Bool {
    let n = text.utf8CodeUnitCount
    guard s.count == n else { return false }
    let p = text.utf8Start
    var i = 0
    for b in s {
      if b != p[i] { return false }
      i += 1
    }
    return true
  }

  static func hasPrefix(_ s: Slice, _ text: String) -> Bool { s.starts(with: text.utf8) }

  static func int(_ s: Slice) -> Int? {
    guard !s.isEmpty, s.count <= 18 else { return nil }
    var v = 0
    for b in s {
      guard b >= 0x30 && b <= 0x39 else { return nil }
      v = v * 10 + Int(b - 0x30)
    }
    return v
  }

  static func find(_ needle: StaticString, in s: Slice) -> Int? {
    let n = needle.utf8CodeUnitCount
    guard n > 0, s.count >= n else { return nil }
    let p = needle.utf8Start
    return s.withUnsafeBufferPointer { b -> Int? in
      let first = p[0]
      var i = 0
      outer: while i <= b.count - n {
        if b[i] == first {
          for j in 1..<n where b[i + j] != p[j] {
            i += 1
            continue outer
          }
          return s.startIndex + i
        }
        i += 1
      }
      return nil
    }
  }

  /// The digits right after the first occurrence of `marker`.
  static func int(after marker: StaticString, in s: Slice) -> Int? {
    guard let at = find(marker, in: s) else { return nil }
    let from = at + marker.utf8CodeUnitCount
    var to = from
    while to < s.endIndex && s[to] >= 0x30 && s[to] <= 0x39 { to += 1 }
    return int(s[from..<to])
  }

  /// Evidence removed, blanks collapsed, one final full stop dropped (OS and OC lines).
  static func cleanSentence(_ s: Slice) -> String {
    var t = s.withUnsafeBufferPointer { UniProtText.clean(bytes: $0) }
    if t.hasSuffix(".") { t.removeLast() }
    return t
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
}
