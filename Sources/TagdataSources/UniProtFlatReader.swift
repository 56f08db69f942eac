#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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
  @exclusivity(unchecked) private var recordIndex: Int
  /// An `ID` line seen while an entry was still open (the open entry lacked its `//`).
  @exclusivity(unchecked) private var pendingStart: (line: Int, offset: Int64, text: [UInt8])?

  private let limits: ReaderLimits

  public init(lines: LineReader, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    self.lines = lines
    self.recordIndex = firstRecordIndex
    self.limits = limits
  }

  // Per-entry accumulators and scratch buffers, reused across entries to avoid reallocation.
  @exclusivity(unchecked) private var entry = EntryState()
  @exclusivity(unchecked) private var tokens: [Range<Int>] = []
  @exclusivity(unchecked) private var lineRanges: [Range<Int>] = []
  @exclusivity(unchecked) private var scratch: [UInt8] = []
  @exclusivity(unchecked) private var gene: [UInt8] = []
  private let ignored = UniProtFlatReader.ignoredCodes

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
    /// CC topics and their text, one after the other in `ccText`: a comment's text runs from
    /// its `text` offset to the next comment's topic (or the end).
    var ccText: [UInt8] = []
    var cc: [(topic: Range<Int>, text: Int)] = []
    var ccInCopyright = false
    var sequence: [UInt8] = []
    var problem: (line: Int, reason: String, excerpt: String)?
    /// Lines of the first AC and SQ lines, and of the `//` line: where their damage is named.
    var acLine = 0
    var sqLine = 0
    var endLine = 0
    /// The line at which the entry passed the record size limit; nothing is kept after it.
    var tooLarge: Int?

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
      ccText.removeAll(keepingCapacity: true)
      cc.removeAll(keepingCapacity: true)
      ccInCopyright = false
      sequence.removeAll(keepingCapacity: true)
      problem = nil
      acLine = 0
      sqLine = 0
      endLine = 0
      tooLarge = nil
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

  /// Line codes read past without a look: well-formed lines (code, blank) of every type this
  /// reader does not keep (references, cross-references, features, ...).
  nonisolated(unsafe) static let ignoredCodes: UnsafePointer<Bool> = {
    let table = UnsafeMutablePointer<Bool>.allocate(capacity: 1 << 16)
    table.initialize(repeating: false, count: 1 << 16)
    let kept: Set<UInt16> = [ID, AC, DT, DE, GN, OS, OC, OX, CC, PE, KW, SQ]
    let letters = Array(UInt8(ascii: "A")...UInt8(ascii: "Z")) + [UInt8(ascii: "*")]
    for a in letters {
      for b in letters where !kept.contains(UInt16(a) << 8 | UInt16(b)) { table[Int(a) << 8 | Int(b)] = true }
    }
    return UnsafePointer(table)
  }()

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

  /// The next entry laid out in `arena` (appended to what is there): the form ingest uses, with
  /// no `String` or array made per field.
  public func next(into arena: inout ProteinArena) throws -> PackedEvent? {
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
      guard let l = try lines.nextLine(skipping: ignored) else {
        // Where the input ends is the quarantine row's line, not part of the reason: a partition
        // numbers lines from its range's start, and the merge renumbers the line column only.
        let reason = "entry ends without its // line: the input ends first"
        return .malformed(MalformedRecord(location: entry.start, line: lines.lineNumber, reason: reason,
                                          excerpt: String(decoding: entry.idLine, as: UTF8.self)))
      }
      let code = Self.code(l)
      if code == Self.end && (l.count == 2 || l[2] == 0x20 || l[2] == 0x0D) {
        entry.endLine = lines.lineNumber
        break
      }
      if entry.tooLarge == nil && (lines.lastLineTruncated || lines.offset - entry.start.offset > Int64(limits.maxRecordBytes)) {
        // Too large: the entry's text is dropped, and the lines up to its end passed over.
        entry.tooLarge = lines.lineNumber
        entry.sequence = []
        entry.ccText = []
        entry.cc = []
        entry.de = []
        entry.oc = []
      }
      if entry.tooLarge != nil && code != Self.ID { continue }
      if code == Self.blank && l.count > 2 {
        // Sequence data from column 6: blocks of ten residues separated by blanks. The residues
        // are gathered in scratch space, then appended at once.
        if l.count > 5 {
          withUnsafeTemporaryAllocation(of: UInt8.self, capacity: l.count - 5) { residues in
            var w = 0
            for i in 5..<l.count where l[i] != 0x20 {
              residues[w] = l[i]
              w += 1
            }
            entry.sequence.append(contentsOf: UnsafeBufferPointer(rebasing: residues[0..<w]))
          }
        }
        continue
      }
      if !Self.wellFormed(l) {
        if isBlankLine(l) { continue }
        if entry.problem == nil {
          entry.problem = (lines.lineNumber, "line \(lines.lineNumber) is not UniProt flat-file syntax "
            + "(expected a two-letter line code and blanks in columns 1-5)", excerptText(l))
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
        if entry.acLine == 0 { entry.acLine = lines.lineNumber }
        entry.ac.append(0x20); entry.ac.append(contentsOf: d)
      case Self.DE: entry.de.append(contentsOf: d); entry.de.append(0x0A)
      case Self.DT: entry.dt.append(contentsOf: d); entry.dt.append(0x0A)
      case Self.GN: entry.gn.append(0x0A); entry.gn.append(contentsOf: d)
      case Self.OS: UniProtText.join(&entry.os, d)
      case Self.OC: entry.oc.append(0x20); entry.oc.append(contentsOf: d)
      case Self.OX: entry.ox.append(0x20); entry.ox.append(contentsOf: d)
      case Self.KW: entry.kw.append(0x20); entry.kw.append(contentsOf: d)
      case Self.PE: entry.pe.append(contentsOf: d)
      case Self.SQ:
        if entry.sqLine == 0 { entry.sqLine = lines.lineNumber }
        entry.sq.append(contentsOf: d)
      case Self.CC: addComment(d)
      default: break
      }
    }
    return finish(into: &arena)
  }

  private func isBlankLine(_ l: UnsafeBufferPointer<UInt8>) -> Bool {
    l.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
  }

  private func malformedJunk(_ j: (line: Int, offset: Int64, excerpt: String)) -> PackedEvent {
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
      let colon = body.firstIndex(of: UInt8(ascii: ":")) ?? body.count
      let topicStart = entry.ccText.count
      entry.ccText.append(contentsOf: UnsafeBufferPointer(rebasing: body[..<colon]))
      let textStart = entry.ccText.count
      entry.cc.append((topicStart..<textStart, textStart))
      if colon < body.count { UniProtText.join(&entry.ccText, from: textStart, UnsafeBufferPointer(rebasing: body[(colon + 1)...])) }
      return
    }
    guard let last = entry.cc.last else { return }
    UniProtText.join(&entry.ccText, from: last.text, d)
  }

  // MARK: - Building the record

  /// Lays the entry out in `a`. A bad entry leaves `a` as it found it.
  private func finish(into a: inout ProteinArena) -> PackedEvent {
    let mark = (bytes: a.bytes.count, pieces: a.pieces.count)
    func bad(_ reason: String, line: Int? = nil, column: Int? = nil) -> PackedEvent {
      a.bytes.removeSubrange(mark.bytes...)
      a.pieces.removeSubrange(mark.pieces...)
      let at = line ?? entry.start.line
      let place = column.map { "line \(at), column \($0)" } ?? "line \(at)"
      return .malformed(MalformedRecord(location: entry.start, line: at, reason: "\(reason) (\(place))",
                                        excerpt: String(decoding: entry.idLine, as: UTF8.self)))
    }
    if let line = entry.tooLarge {
      return .malformed(MalformedRecord(location: entry.start, line: line, reason: limits.tooLarge(line: line),
                                        excerpt: String(decoding: entry.idLine.prefix(80), as: UTF8.self)))
    }
    if let p = entry.problem {
      return .malformed(MalformedRecord(location: entry.start, line: p.line, reason: p.reason, excerpt: p.excerpt))
    }
    // Ranges in an arena are 32-bit; no real entry comes near this.
    if entry.sequence.count + entry.ccText.count + entry.de.count + entry.oc.count > Self.maxEntryBytes {
      return bad("entry holds over \(Self.maxEntryBytes >> 20) MiB of sequence and text")
    }
    var p = PackedProtein(format: .uniprotFlat, location: entry.start)
    // ID: "NAME Reviewed; 123 AA." or old "NAME STANDARD; PRT; 123 AA."
    var length = 0
    let idProblem: String? = entry.idLine.withUnsafeBufferPointer { b in
      Bytes.tokens(b, into: &tokens)
      guard tokens.count >= 3 else { return "ID line is incomplete" }
      p.entryName = a.append(UnsafeBufferPointer(rebasing: b[tokens[0]]))
      let status = Bytes.dropSuffix(b, tokens[1], 0x3B)
      if Bytes.equal(b, status, "Reviewed") || Bytes.equal(b, status, "STANDARD") {
        p.reviewed = true
      } else if Bytes.equal(b, status, "Unreviewed") || Bytes.equal(b, status, "PRELIMINARY") {
        p.reviewed = false
      }
      guard Bytes.equal(b, tokens[tokens.count - 1], "AA."), let n = Bytes.int(b, tokens[tokens.count - 2]) else {
        return "ID line does not end with the length in AA"
      }
      length = n
      return nil
    }
    if let idProblem { return bad(idProblem) }
    p.declaredLength = length
    // AC: "P1; P2;" over one or more lines.
    let accessions = a.listStart
    entry.ac.withUnsafeBufferPointer { b in
      Bytes.forEachField(b, 0..<b.count, separator: 0x3B) { r in
        let t = Bytes.trim(b, r)
        if !t.isEmpty { a.pieces.append(a.append(UnsafeBufferPointer(rebasing: b[t]))) }
      }
    }
    p.accessions = a.list(from: accessions)
    guard p.accessions.count > 0 else {
      return bad(entry.acLine == 0 ? "entry has no AC line" : "AC line has no accession", line: entry.acLine == 0 ? nil : entry.acLine)
    }
    // DT: "... sequence version 2." and "... entry version 95."
    entry.dt.withUnsafeBufferPointer { b in
      p.sequenceVersion = Bytes.int(after: "sequence version ", in: b)
      p.entryVersion = Bytes.int(after: "entry version ", in: b)
    }
    parseDE(&p, &a)
    p.gene = parseGN(&a)
    if !entry.os.isEmpty { p.organism = entry.os.withUnsafeBufferPointer { Self.sentence($0, into: &a) } }
    if !entry.oc.isEmpty { p.lineage = entry.oc.withUnsafeBufferPointer { Self.sentence($0, into: &a) } }
    if !entry.ox.isEmpty { p.taxonID = entry.ox.withUnsafeBufferPointer { Bytes.int(after: "NCBI_TaxID=", in: $0) } }
    if let first = entry.pe.first, first >= 0x31, first <= 0x35 { p.existence = Int(first - 0x30) }
    let keywords = a.listStart
    if !entry.kw.isEmpty {
      entry.kw.withUnsafeBufferPointer { b in
        var kw = Bytes.trim(b, 0..<b.count)
        if !kw.isEmpty && b[kw.upperBound - 1] == 0x2E { kw = kw.lowerBound..<(kw.upperBound - 1) }
        Bytes.forEachField(b, kw, separator: 0x3B) { r in
          let start = a.bytes.count
          UniProtText.clean(UnsafeBufferPointer(rebasing: b[r]), into: &a.bytes)
          if a.bytes.count > start { a.pieces.append(a.range(from: start)) }
        }
      }
    }
    p.keywords = a.list(from: keywords)
    a.sortPieces(p.keywords)
    let comments = a.listStart
    entry.ccText.withUnsafeBufferPointer { b in
      for (k, c) in entry.cc.enumerated() {
        let topic = Bytes.trim(b, c.topic)
        guard UniProtText.isFreeTextTopic(UnsafeBufferPointer(rebasing: b[topic])) else { continue }
        let end = k + 1 < entry.cc.count ? entry.cc[k + 1].topic.lowerBound : b.count
        a.pieces.append(a.append(UnsafeBufferPointer(rebasing: b[topic])))
        let start = a.bytes.count
        UniProtText.clean(UnsafeBufferPointer(rebasing: b[c.text..<end]), into: &a.bytes)
        a.pieces.append(a.range(from: start))
      }
    }
    p.comments = a.list(from: comments)
    // SQ: "SEQUENCE   291 AA;  30495 MW;  07E95E632BD020E9 CRC64;", before 2001 (release 40)
    // "SEQUENCE   348 AA;  39676 MW;  75818910 CRC32;".
    guard !entry.sq.isEmpty else { return bad("entry has no SQ line", line: entry.endLine > 0 ? entry.endLine : nil) }
    var sqColumn = 0  // 1-based column of the first bad field
    let sq: (length: Int, mass: Int, crc: UInt64, crc32: Bool)? = entry.sq.withUnsafeBufferPointer { b in
      Bytes.tokens(b, into: &tokens)
      // Data start in column 6.
      func fail(_ k: Int) -> (Int, Int, UInt64, Bool)? {
        sqColumn = 6 + (k < tokens.count ? tokens[k].lowerBound : b.count)
        return nil
      }
      guard tokens.count >= 1, Bytes.equal(b, tokens[0], "SEQUENCE") else { return fail(0) }
      guard tokens.count >= 2, let len = Bytes.int(b, tokens[1]) else { return fail(1) }
      guard tokens.count >= 3, Bytes.equal(b, tokens[2], "AA;") else { return fail(2) }
      guard tokens.count >= 4, let mw = Bytes.int(b, tokens[3]) else { return fail(3) }
      guard tokens.count >= 5, Bytes.equal(b, tokens[4], "MW;") else { return fail(4) }
      guard tokens.count >= 7 else { return fail(tokens.count) }
      if Bytes.equal(b, tokens[6], "CRC64;") {
        guard let crc = Bytes.hex64(b, tokens[5]) else { return fail(5) }
        return (len, mw, crc, false)
      }
      if Bytes.equal(b, tokens[6], "CRC32;") {
        guard let crc = Bytes.hex32(b, tokens[5]) else { return fail(5) }
        return (len, mw, UInt64(crc), true)
      }
      return fail(6)
    }
    guard let sq else {
      return bad("SQ line is not `SEQUENCE n AA; m MW; crc CRC64;` (or CRC32)", line: entry.sqLine, column: sqColumn)
    }
    if sq.length != length {
      return bad("ID line says \(length) AA but the SQ line says \(sq.length)", line: entry.sqLine)
    }
    p.declaredMass = sq.mass
    if sq.crc32 { p.declaredCRC32 = UInt32(sq.crc) } else { p.declaredCRC64 = sq.crc }
    p.checksumLine = entry.sqLine
    p.sequence = entry.sequence.withUnsafeBufferPointer { a.append($0) }
    return .record(p)
  }

  static let maxEntryBytes = 1 << 30

  /// Evidence removed, blanks collapsed, one final full stop dropped (OS and OC lines).
  private static func sentence(_ b: UnsafeBufferPointer<UInt8>, into a: inout ProteinArena) -> ByteRange {
    let start = a.bytes.count
    UniProtText.clean(b, into: &a.bytes)
    if a.bytes.count > start && a.bytes[a.bytes.count - 1] == 0x2E { a.bytes.removeLast() }
    return a.range(from: start)
  }

  /// Name kinds by DE section, and the kinds of the special names.
  private static let sectionKinds: [StaticString] = ["", "recommended", "alternative", "submitted"]

  private func parseDE(_ p: inout PackedProtein, _ a: inout ProteinArena) {
    guard !entry.de.isEmpty else { return }
    let names = a.listStart
    defer { p.names = a.list(from: names) }
    entry.de.withUnsafeBufferPointer { b in
      lineRanges.removeAll(keepingCapacity: true)
      Bytes.forEachField(b, 0..<b.count, separator: 0x0A) { lineRanges.append($0) }
      let structured = lineRanges.contains {
        Bytes.hasPrefix(b, $0, "RecName:") || Bytes.hasPrefix(b, $0, "SubName:") || Bytes.hasPrefix(b, $0, "AltName:")
      }
      if !structured {
        // Pre-2008 free text: "Name (Alt) (EC 1.2.3.4) (Fragment)."
        scratch.removeAll(keepingCapacity: true)
        for (k, r) in lineRanges.enumerated() {
          if k > 0 { scratch.append(0x20) }
          scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[r]))
        }
        let start = a.bytes.count
        scratch.withUnsafeBufferPointer { UniProtText.clean($0, into: &a.bytes) }
        if a.bytes.count > start && a.bytes[a.bytes.count - 1] == 0x2E { a.bytes.removeLast() }
        for flag: StaticString in [" (Fragments)", " (Fragment)"] where Bytes.endsWith(a.bytes, from: start, flag) {
          p.fragment = true
          a.bytes.removeLast(flag.utf8CodeUnitCount)
        }
        let value = a.range(from: start)
        p.proteinName = value
        a.pieces.append(Bytes.append("recommended", to: &a))
        a.pieces.append(value)
        return
      }
      var section = 0  // index in sectionKinds: none, recommended, alternative, submitted
      var inSubsection = false  // Includes:/Contains: blocks describe parts of the protein
      for raw in lineRanges {
        let indented = !raw.isEmpty && b[raw.lowerBound] == 0x20
        var line = Bytes.trim(b, raw)
        if !indented && (Bytes.hasPrefix(b, line, "Includes:") || Bytes.hasPrefix(b, line, "Contains:")) {
          inSubsection = true
          continue
        }
        if indented && inSubsection { continue }
        if Bytes.hasPrefix(b, line, "Flags:") {
          if Bytes.find("Fragment", in: UnsafeBufferPointer(rebasing: b[line])) != nil { p.fragment = true }
          continue
        }
        if !indented { inSubsection = false }
        if line.count >= 8 && b[line.lowerBound + 7] == UInt8(ascii: ":") {
          let head = line.lowerBound..<(line.lowerBound + 8)
          let kind = Bytes.equal(b, head, "RecName:") ? 1 : Bytes.equal(b, head, "AltName:") ? 2
            : Bytes.equal(b, head, "SubName:") ? 3 : 0
          if kind > 0 {
            section = kind
            line = Bytes.trim(b, head.upperBound..<line.upperBound)
          }
        }
        guard let eq = Bytes.firstIndex(of: 0x3D, in: b, line) else { continue }
        let key = line.lowerBound..<eq
        let full = Bytes.equal(b, key, "Full")
        let kindStart = a.bytes.count
        if full {
          Bytes.appendText(Self.sectionKinds[section], to: &a.bytes)
        } else if Bytes.equal(b, key, "Short") {
          Bytes.appendText(Self.sectionKinds[section], to: &a.bytes)
          Bytes.appendText("-short", to: &a.bytes)
        } else if let special = Self.specialKind(b, key) {
          Bytes.appendText(special, to: &a.bytes)
        } else {
          continue
        }
        let kind = a.range(from: kindStart)
        let valueStart = a.bytes.count
        let value = Bytes.dropSuffix(b, (eq + 1)..<line.upperBound, 0x3B)
        UniProtText.clean(UnsafeBufferPointer(rebasing: b[value]), into: &a.bytes)
        a.pieces.append(kind)
        a.pieces.append(a.range(from: valueStart))
        if full && p.proteinName.isNone && (section == 1 || section == 3) { p.proteinName = a.range(from: valueStart) }
      }
    }
  }

  private static func specialKind(_ b: UnsafeBufferPointer<UInt8>, _ key: Range<Int>) -> StaticString? {
    if Bytes.equal(b, key, "EC") { return "ec" }
    if Bytes.equal(b, key, "Allergen") { return "allergen" }
    if Bytes.equal(b, key, "Biotech") { return "biotech" }
    if Bytes.equal(b, key, "CD_antigen") { return "cd-antigen" }
    if Bytes.equal(b, key, "INN") { return "inn" }
    return nil
  }

  private func parseGN(_ a: inout ProteinArena) -> ByteRange {
    guard !entry.gn.isEmpty else { return .none }
    // Genes are separated by a line "and"; keep the first gene.
    scratch.removeAll(keepingCapacity: true)
    entry.gn.withUnsafeBufferPointer { b in
      var stop = false
      Bytes.forEachField(b, 0..<b.count, separator: 0x0A) { r in
        let t = Bytes.trim(b, r)
        if stop || Bytes.equal(b, t, "and") {
          stop = true
          return
        }
        if !scratch.isEmpty { scratch.append(0x20) }
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[t]))
      }
    }
    gene.removeAll(keepingCapacity: true)
    scratch.withUnsafeBufferPointer { UniProtText.clean($0, into: &gene) }
    return gene.withUnsafeBufferPointer { g -> ByteRange in
      var whole = 0..<g.count
      if Bytes.firstIndex(of: UInt8(ascii: "="), in: g, whole) == nil {
        // Old free-text style: "FOS." or "HTR4 OR X."
        if !whole.isEmpty && g[whole.upperBound - 1] == UInt8(ascii: ".") { whole = 0..<(whole.upperBound - 1) }
        let text = UnsafeBufferPointer(rebasing: g[whole])
        if let or = Bytes.find(" OR ", in: text) { whole = 0..<or }
        if let and = Bytes.find(" AND ", in: UnsafeBufferPointer(rebasing: g[whole])) { whole = 0..<and }
        return whole.isEmpty ? .none : a.append(UnsafeBufferPointer(rebasing: g[whole]))
      }
      // Fields end with "; " (values may contain ';', e.g. "Name=HvPIP2;8;"). The first field of
      // each key counts; Name wins over OrderedLocusNames, which wins over ORFNames.
      if !whole.isEmpty && g[whole.upperBound - 1] == UInt8(ascii: ";") { whole = 0..<(whole.upperBound - 1) }
      var found: (Range<Int>?, Range<Int>?, Range<Int>?) = (nil, nil, nil)
      var rest = whole
      while !rest.isEmpty {
        let end = Bytes.find("; ", in: UnsafeBufferPointer(rebasing: g[rest])).map { rest.lowerBound + $0 } ?? rest.upperBound
        let field = rest.lowerBound..<end
        rest = end == rest.upperBound ? end..<end : (end + 2)..<rest.upperBound
        guard let eq = Bytes.firstIndex(of: UInt8(ascii: "="), in: g, field) else { continue }
        let key = field.lowerBound..<eq, value = (eq + 1)..<field.upperBound
        if Bytes.equal(g, key, "Name") {
          if found.0 == nil { found.0 = value }
        } else if Bytes.equal(g, key, "OrderedLocusNames") {
          if found.1 == nil { found.1 = value }
        } else if Bytes.equal(g, key, "ORFNames") {
          if found.2 == nil { found.2 = value }
        }
      }
      for case let v? in [found.0, found.1, found.2] {
        // The first non-empty comma-separated name of the field.
        var first = v
        Bytes.forEachField(g, v, separator: UInt8(ascii: ",")) { r in
          if first == v && !r.isEmpty { first = r }
        }
        let start = a.bytes.count
        UniProtText.clean(UnsafeBufferPointer(rebasing: g[first]), into: &a.bytes)
        if a.bytes.count > start { return a.range(from: start) }
      }
      return .none
    }
  }
}
