import TagdataIO

/// Streams FASTA records. Headers are read as UniProtKB (`>sp|P12345|NAME_HUMAN Name OS=... OX=...
/// GN=... PE=... SV=...`, isoforms `>sp|P12345-2|...`), UniRef (`>UniRef50_X Name n=2 Tax=...
/// TaxID=... RepID=...`) or free-form (`>id description`). Sequence lines are kept raw; the
/// canonicalizer decides what is a residue.
public final class FastaReader: ProteinReader {
  public let format = ProteinFormat.fasta
  private let lines: LineReader
  private var recordIndex: Int
  private var header: (line: Int, offset: Int64, text: [UInt8])?

  private let limits: ReaderLimits

  public init(lines: LineReader, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    self.lines = lines
    self.recordIndex = firstRecordIndex
    self.limits = limits
  }

  public func next() throws -> ReadEvent? {
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
        // Skip the rest of the junk run.
        return .malformed(MalformedRecord(location: loc, line: loc.line,
                                          reason: "sequence text before the first FASTA header", excerpt: excerptText(l)))
      }
      if header == nil { return nil }
    }
    let h = header!
    header = nil
    var seq = [UInt8]()
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
        seq = []
        continue
      }
      seq.append(contentsOf: l)
    }
    let loc = RecordLocation(index: recordIndex, line: h.line, offset: h.offset)
    recordIndex += 1
    if let line = tooLarge {
      return .malformed(MalformedRecord(location: loc, line: line, reason: limits.tooLarge(line: line),
                                        excerpt: String(decoding: h.text.prefix(60), as: UTF8.self)))
    }
    var r = ProteinRecord(format: .fasta, location: loc)
    Self.parseHeader(String(decoding: h.text, as: UTF8.self), into: &r)
    r.sequence = seq
    return .record(r)
  }

  /// Fills identifiers and annotations from a header line (without its `>`).
  public static func parseHeader(_ header: String, into r: inout ProteinRecord) {
    let text = header.trimmingCharacters(in: " ")
    let firstBlank = text.firstIndex(of: " ")
    let id = String(text[..<(firstBlank ?? text.endIndex)])
    var rest = firstBlank.map { String(text[text.index(after: $0)...]).trimmingCharacters(in: " ") } ?? ""
    r.label = id
    let parts = id.split(separator: "|", omittingEmptySubsequences: false)
    if parts.count >= 3, parts[0] == "sp" || parts[0] == "tr" {
      r.reviewed = parts[0] == "sp"
      r.accession = String(parts[1])
      r.entryName = String(parts[2])
      // Fields at the last occurrence of each key, right to left; names may contain '='.
      var fields: [String: String] = [:]
      for key in ["SV=", "PE=", "GN=", "OX=", "OS="] {
        if let range = lastRange(of: " " + key, in: rest) {
          fields[key] = String(rest[range.upperBound...]).trimmingCharacters(in: " ")
          rest = String(rest[..<range.lowerBound])
        } else if rest.hasPrefix(key) {
          fields[key] = String(rest.dropFirst(key.count))
          rest = ""
        }
      }
      var name = rest.trimmingCharacters(in: " ")
      r.headerDescription = name
      for flag in [" (Fragments)", " (Fragment)"] where name.hasSuffix(flag) {
        r.fragment = true
        name.removeLast(flag.count)
      }
      if !name.isEmpty {
        r.proteinName = name
      }
      r.organism = fields["OS="]
      r.taxonID = fields["OX="].flatMap { Int($0) }
      r.gene = fields["GN="]
      r.existence = fields["PE="].flatMap { Int($0) }
      r.sequenceVersion = fields["SV="].flatMap { Int($0) }
    } else if id.hasPrefix("UniRef") {
      r.headerDescription = rest
      var name = rest
      for key in ["RepID=", "TaxID=", "Tax=", "n="] {
        if let range = lastRange(of: " " + key, in: name) {
          let value = String(name[range.upperBound...]).trimmingCharacters(in: " ")
          if key == "TaxID=" { r.taxonID = Int(value) }
          if key == "RepID=" { r.entryName = value }
          if key == "Tax=" { r.organism = value }
          name = String(name[..<range.lowerBound])
        }
      }
      r.proteinName = name.isEmpty ? nil : name
    } else {
      r.headerDescription = rest.isEmpty ? nil : rest
    }
  }

  static func lastRange(of needle: String, in hay: String) -> Range<String.Index>? {
    var found: Range<String.Index>?
    var i = hay.startIndex
    while i < hay.endIndex {
      if hay[i...].hasPrefix(needle) { found = i..<hay.index(i, offsetBy: needle.count) }
      i = hay.index(after: i)
    }
    return found
  }
}
