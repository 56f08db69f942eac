import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

/// The FASTA reader parses ASCII headers on bytes (`parseHeader(bytes:into:arena:)`); the
/// String parser (`parseHeader(_:into:)`) reads any other header. Both give the same fields for
/// every header: the shipped files' and thousands of generated ones.
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
    FastaReader.parseHeader(String(decoding: header, as: UTF8.self), into: &r)
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
                  "-3", "+4", "x=y", "Homo sapiens", "=", "sp", "tr", "UniRef", "\t"]
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
