import TagdataIO

/// Streams FASTA records. Headers are read as UniProtKB (`>sp|P12345|NAME_HUMAN Name OS=... OX=...
/// GN=... PE=... SV=...`, isoforms `>sp|P12345-2|...`), UniRef (`>UniRef50_X Name n=2 Tax=...
/// TaxID=... RepID=...`) or free-form (`>id description`). Sequence lines are kept raw; the
/// canonicalizer decides what is a residue.
public final class FastaReader: ProteinReader {
  public let format = ProteinFormat.fasta
  private let lines: LineReader
  @exclusivity(unchecked) private var recordIndex: Int
  @exclusivity(unchecked) private var header: (line: Int, offset: Int64, text: [UInt8])?

  private let limits: ReaderLimits

  public init(lines: LineReader, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    self.lines = lines
    self.recordIndex = firstRecordIndex
    self.limits = limits
  }

  /// A FASTA record as written: its header line (without `>`), where it starts; its sequence
  /// lines were appended, joined, to the caller's buffer.
  public enum RawEvent {
    case record(header: [UInt8], location: RecordLocation)
    case malformed(MalformedRecord)
  }

  /// The next record as written, its sequence lines appended to `sequence` (nothing is appended
  /// for a malformed record): the one FASTA reading loop, under ``next(into:)`` and any caller
  /// that wants the text as is.
  public func nextRaw(sequence: inout [UInt8]) throws -> RawEvent? {
    if header == nil {
      // Skip blank lines and ';' comments before the first header; anything else is junk.
      while let l = try lines.nextLine() {
        if l.first == UInt8(ascii: ">") {
          header = (lines.lineNumber, lines.lineOffset, Array(l.dropFirst()))
          break
        }
        if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) || l.first == UInt8(ascii: ";") { continue }
        let loc = RecordLocation(index: recordIndex, line: lines.lineNumber, offset: lines.lineOffset)
        recordIndex += 1
        return .malformed(MalformedRecord(location: loc, line: loc.line,
                                          reason: "sequence text before the first FASTA header", excerpt: excerptText(l)))
      }
      if header == nil { return nil }
    }
    let h = header!
    header = nil
    let loc = RecordLocation(index: recordIndex, line: h.line, offset: h.offset)
    recordIndex += 1
    let start = sequence.count
    // The line where the record passed the size limit; from there on nothing is kept.
    var tooLarge: Int?
    if h.text.count + 1 > limits.maxRecordBytes { tooLarge = h.line }
    while let l = try lines.nextLine() {
      if l.first == UInt8(ascii: ">") {
        header = (lines.lineNumber, lines.lineOffset, Array(l.dropFirst()))
        break
      }
      if tooLarge != nil { continue }
      if lines.lastLineTruncated || lines.offset - h.offset > Int64(limits.maxRecordBytes) {
        tooLarge = lines.lineNumber
        continue
      }
      sequence.append(contentsOf: l)
    }
    if let line = tooLarge {
      sequence.removeSubrange(start...)
      return .malformed(MalformedRecord(location: loc, line: line, reason: limits.tooLarge(line: line),
                                        excerpt: String(decoding: h.text.prefix(60), as: UTF8.self)))
    }
    return .record(header: h.text, location: loc)
  }

  /// The next record laid out in `arena`: residues go from the line reader straight into the
  /// arena, and the header is parsed on its bytes (``parseHeader(bytes:into:arena:)``).
  public func next(into arena: inout ProteinArena) throws -> PackedEvent? {
    let sequenceStart = arena.bytes.count
    switch try nextRaw(sequence: &arena.bytes) {
    case nil: return nil
    case let .malformed(m)?: return .malformed(m)
    case let .record(header, location)?:
      var p = PackedProtein(format: .fasta, location: location)
      p.sequence = arena.range(from: sequenceStart)
      header.withUnsafeBufferPointer { Self.parseHeader(bytes: $0, into: &p, arena: &arena) }
      return .record(p)
    }
  }

  /// Fills identifiers and annotations from a header line (without its `>`) into a packed record:
  /// UniProtKB (`sp|P12345|NAME_HUMAN name OS=... OX=... GN=... PE=... SV=...`, keys read at their
  /// last occurrence, right to left, since names may contain `=`), UniRef (`UniRef90_X name n=
  /// Tax= TaxID= RepID=`), or any other identifier and description.
  public static func parseHeader(bytes h: UnsafeBufferPointer<UInt8>, into p: inout PackedProtein, arena: inout ProteinArena) {
    if h.contains(where: { $0 >= 0x80 }) {
      // Text beyond ASCII: bytes that are not UTF-8 become U+FFFD (as every text the catalog
      // stores), then the same byte parser reads the repaired header.
      var repaired = String(decoding: h, as: UTF8.self)
      repaired.withUTF8 { Self.parseASCIIFramedHeader(bytes: $0, into: &p, arena: &arena) }
      return
    }
    parseASCIIFramedHeader(bytes: h, into: &p, arena: &arena)
  }

  /// The header parser proper: separators (blank, `|`, `=`) are ASCII, so any UTF-8 text between
  /// them is carried through as it is.
  private static func parseASCIIFramedHeader(bytes h: UnsafeBufferPointer<UInt8>, into p: inout PackedProtein,
                                             arena: inout ProteinArena)
  {
    let space = UInt8(ascii: " ")
    func trimmed(_ r: Range<Int>) -> Range<Int> {
      var (a, b) = (r.lowerBound, r.upperBound)
      while a < b && h[a] == space { a += 1 }
      while b > a && h[b - 1] == space { b -= 1 }
      return a..<b
    }
    func append(_ r: Range<Int>) -> ByteRange { arena.append(UnsafeBufferPointer(rebasing: h[r])) }
    func int(_ r: Range<Int>) -> Int? { Int(String(decoding: UnsafeBufferPointer(rebasing: h[r]), as: UTF8.self)) }
    func starts(_ r: Range<Int>, with prefix: StaticString) -> Bool {
      let n = prefix.utf8CodeUnitCount
      guard r.count >= n else { return false }
      for i in 0..<n where h[r.lowerBound + i] != prefix.utf8Start[i] { return false }
      return true
    }
    func ends(_ r: Range<Int>, with suffix: StaticString) -> Bool {
      let n = suffix.utf8CodeUnitCount
      guard r.count >= n else { return false }
      for i in 0..<n where h[r.upperBound - n + i] != suffix.utf8Start[i] { return false }
      return true
    }
    /// The last occurrence of " " + key in `r`: where the blank is.
    func lastField(_ key: StaticString, in r: Range<Int>) -> Int? {
      let n = key.utf8CodeUnitCount
      var i = r.upperBound - n - 1
      while i >= r.lowerBound {
        if h[i] == space {
          var match = true
          for k in 0..<n where h[i + 1 + k] != key.utf8Start[k] {
            match = false
            break
          }
          if match { return i }
        }
        i -= 1
      }
      return nil
    }
    let text = trimmed(0..<h.count)
    let blank = h[text].firstIndex(of: space)
    let id = text.lowerBound..<(blank ?? text.upperBound)
    var rest = blank.map { trimmed(($0 + 1)..<text.upperBound) } ?? text.upperBound..<text.upperBound
    p.label = append(id)
    // `db|accession|name...`: the first three `|`-separated parts.
    var bars: [Int] = []
    for i in id where h[i] == UInt8(ascii: "|") && bars.count < 2 { bars.append(i) }
    let db = bars.isEmpty ? id : id.lowerBound..<bars[0]
    let isUniProt = bars.count == 2 && db.count == 2
      && ((h[db.lowerBound] == UInt8(ascii: "s") && h[db.lowerBound + 1] == UInt8(ascii: "p"))
        || (h[db.lowerBound] == UInt8(ascii: "t") && h[db.lowerBound + 1] == UInt8(ascii: "r")))
    if isUniProt {
      p.reviewed = h[db.lowerBound] == UInt8(ascii: "s")
      let listStart = arena.listStart
      arena.pieces.append(append((bars[0] + 1)..<bars[1]))
      p.accessions = arena.list(from: listStart)
      let afterName = h[(bars[1] + 1)..<id.upperBound].firstIndex(of: UInt8(ascii: "|")) ?? id.upperBound
      p.entryName = append((bars[1] + 1)..<afterName)
      var values: [Range<Int>?] = [nil, nil, nil, nil, nil]
      for (k, key) in [("SV=" as StaticString), "PE=", "GN=", "OX=", "OS="].enumerated() {
        if let at = lastField(key, in: rest) {
          values[k] = trimmed((at + 1 + key.utf8CodeUnitCount)..<rest.upperBound)
          rest = rest.lowerBound..<at
        } else if starts(rest, with: key) {
          values[k] = (rest.lowerBound + key.utf8CodeUnitCount)..<rest.upperBound
          rest = rest.upperBound..<rest.upperBound
        }
      }
      var name = trimmed(rest)
      p.headerDescription = append(name)
      if ends(name, with: " (Fragments)") {
        p.fragment = true
        name = name.lowerBound..<(name.upperBound - 12)
      }
      if ends(name, with: " (Fragment)") {
        p.fragment = true
        name = name.lowerBound..<(name.upperBound - 11)
      }
      if !name.isEmpty { p.proteinName = append(name) }
      if let os = values[4] { p.organism = append(os) }
      p.taxonID = values[3].flatMap(int)
      if let gn = values[2] { p.gene = append(gn) }
      p.existence = values[1].flatMap(int)
      p.sequenceVersion = values[0].flatMap(int)
    } else if starts(id, with: "UniRef") {
      p.headerDescription = append(rest)
      var name = rest
      for (k, key) in [("RepID=" as StaticString), "TaxID=", "Tax=", "n="].enumerated() {
        if let at = lastField(key, in: name) {
          let value = trimmed((at + 1 + key.utf8CodeUnitCount)..<name.upperBound)
          switch k {
          case 0: p.entryName = append(value)
          case 1: p.taxonID = int(value)
          case 2: p.organism = append(value)
          default: break
          }
          name = name.lowerBound..<at
        }
      }
      if !name.isEmpty { p.proteinName = append(name) }
    } else if !rest.isEmpty {
      p.headerDescription = append(rest)
    }
  }
}
