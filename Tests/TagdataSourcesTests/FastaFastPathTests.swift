import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

/// The FASTA reader parses headers on bytes (`parseHeader(bytes:into:arena:)`). A plain String
/// statement of the same header rules (``ReferenceHeaderParser``, here in the tests) gives the
/// same fields for every header: the shipped files' and thousands of generated ones, with text
/// beyond ASCII among them.
@Suite struct FastaFastPathTests {
  /// Every header field of a record, as text.
  func fields(_ r: ProteinRecord) -> String {
    let parts: [String?] = [
      r.accession, r.secondaryAccessions.joined(separator: ","), r.entryName, r.reviewed.map { "\($0)" }, r.proteinName,
      r.gene, r.organism, r.taxonID.map { "\($0)" }, r.existence.map { "\($0)" }, r.sequenceVersion.map { "\($0)" },
      "\(r.fragment)", r.label, r.headerDescription,
    ]
    return parts.map { $0 ?? "∅" }.joined(separator: "\t")
  }

  func bothParsers(_ header: [UInt8]) -> (String, String) {
    let loc = RecordLocation(index: 0, line: 1, offset: 0)
    var r = ProteinRecord(format: .fasta, location: loc)
    ReferenceHeaderParser.parseHeader(String(decoding: header, as: UTF8.self), into: &r)
    var arena = ProteinArena()
    var p = PackedProtein(format: .fasta, location: loc)
    header.withUnsafeBufferPointer { FastaReader.parseHeader(bytes: $0, into: &p, arena: &arena) }
    return (fields(r), fields(arena.record(p)))
  }

  @Test(arguments: ["uniprot/fasta/multi_ex.fasta", "uniprot/fasta/protein_lib.fa"])
  func shippedHeadersGiveTheSameFields(file: String) throws {
    let text = try Data(contentsOf: TestSupport.corpus(file))
    let headers = text.split(separator: 0x0A).filter { $0.first == UInt8(ascii: ">") }.map { Array($0.dropFirst()) }
    #expect(headers.count > 0)
    for h in headers {
      let (a, b) = bothParsers(h)
      #expect(a == b, "\(String(decoding: h, as: UTF8.self))")
    }
  }

  @Test func generatedHeadersGiveTheSameFields() throws {
    let seed = ProcessInfo.processInfo.environment["TAGDATA_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0xFA57A
    print("FastaFastPathTests seed \(seed) (TAGDATA_FUZZ_SEED)")
    var rng = SplitMix64(seed: seed)
    let prefixes = ["", " ", "sp|P12345|NAME_HUMAN ", "tr|Q9Z|X_Y", "sp|P1-2|A|B ", "UniRef90_P1 ", "UniRef50_UPI0001 ", "id "]
    let tokens = ["sp|", "tr|", "|", " ", "  ", "P12345", "-2", "NAME_HUMAN", " OS=", " OX=", " GN=", " PE=", " SV=", "OS=",
                  "SV=", "UniRef50_", " RepID=", " TaxID=", " Tax=", " n=", "TaxID=", " (Fragment)", " (Fragments)", "12",
                  "-3", "+4", "x=y", "Homo sapiens", "=", "sp", "tr", "UniRef", "\t", "β-lactamase", "Müller", "日本", "é|"]
    var differing = 0
    for _ in 0..<5000 {
      var header = prefixes[Int(rng.next() % UInt64(prefixes.count))]
      for _ in 0..<Int(rng.next() % 14) { header += tokens[Int(rng.next() % UInt64(tokens.count))] }
      let (a, b) = bothParsers(Array(header.utf8))
      if a != b {
        differing += 1
        if differing == 1 { Issue.record("seed \(seed): '\(header)'\n  String: \(a)\n  bytes:  \(b)") }
      }
    }
    #expect(differing == 0, "seed \(seed)")
  }

  @Test func recordsOverTheLimitAreMalformedAndTheOthersRead() throws {
    let text = ">a\nMKT\n>big\n" + String(repeating: "A", count: 5000) + "\n>b\nMK\n"
    let reader = FastaReader(lines: LineReader(MemorySource(Array(text.utf8), name: "t.fa")),
                             limits: ReaderLimits(maxRecordBytes: 1000))
    var arena = ProteinArena()
    var seen: [String] = []
    while let e = try reader.next(into: &arena) {
      switch e {
      case let .record(p): seen.append((arena.string(p.label) ?? "") + ":" + (arena.string(p.sequence) ?? ""))
      case let .malformed(m): seen.append("malformed \(m.location.index) line \(m.line)")
      }
    }
    #expect(seen == ["a:MKT", "malformed 1 line 4", "b:MK"])
  }
}

/// The FASTA header rules in their plainest form, on Strings: the oracle for the byte parser.
enum ReferenceHeaderParser {
  /// Fills identifiers and annotations from a header line (without its `>`).
  static func parseHeader(_ header: String, into r: inout ProteinRecord) {
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

extension StringProtocol {
  fileprivate func trimmingCharacters(in set: Character) -> String {
    var s = Substring(self)
    while s.first == set { s.removeFirst() }
    while s.last == set { s.removeLast() }
    return String(s)
  }
}
