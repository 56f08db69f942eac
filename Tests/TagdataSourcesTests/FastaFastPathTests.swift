import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

/// The FASTA reader's packed path (`next(into:)`: residues straight into the arena, headers
/// parsed on bytes) gives the same records as its record path (`next()` and the String header
/// parser), on the shipped files and on generated headers.
@Suite struct FastaFastPathTests {
  /// Every field of a record, as text, to compare two records.
  func fields(_ r: ProteinRecord) -> String {
    let parts: [String?] = [
      r.accession, r.secondaryAccessions.joined(separator: ","), r.entryName, r.reviewed.map { "\($0)" }, r.proteinName,
      r.gene, r.organism, r.taxonID.map { "\($0)" }, r.existence.map { "\($0)" }, r.sequenceVersion.map { "\($0)" },
      "\(r.fragment)", r.label, r.headerDescription, String(decoding: r.sequence, as: UTF8.self),
      "\(r.location.index):\(r.location.line):\(r.location.offset)",
    ]
    return parts.map { $0 ?? "∅" }.joined(separator: "\t")
  }

  func bothPaths(_ bytes: [UInt8], limits: ReaderLimits = ReaderLimits()) throws -> ([String], [String]) {
    let slow = FastaReader(lines: LineReader(MemorySource(bytes, name: "t.fa")), limits: limits)
    var a: [String] = []
    while let e = try slow.next() {
      switch e {
      case let .record(r): a.append(fields(r))
      case let .malformed(m): a.append("malformed \(m.location.index) \(m.line) \(m.reason)")
      }
    }
    let fast = FastaReader(lines: LineReader(MemorySource(bytes, name: "t.fa")), limits: limits)
    var arena = ProteinArena()
    var b: [String] = []
    while let e = try fast.next(into: &arena) {
      switch e {
      case let .record(p): b.append(fields(arena.record(p)))
      case let .malformed(m): b.append("malformed \(m.location.index) \(m.line) \(m.reason)")
      }
    }
    return (a, b)
  }

  @Test(arguments: ["uniprot/fasta/multi_ex.fasta", "uniprot/fasta/protein_lib.fa"])
  func shippedFilesGiveTheSameRecords(file: String) throws {
    let bytes = Array(try Data(contentsOf: TestSupport.corpus(file)))
    let (a, b) = try bothPaths(bytes)
    #expect(a.count > 0)
    #expect(a == b)
  }

  @Test func generatedHeadersGiveTheSameFields() throws {
    let seed = fastaSeed(default: 0xFA57A)
    var rng = SplitMix64(seed: seed)
    let prefixes = ["", " ", "sp|P12345|NAME_HUMAN ", "tr|Q9Z|X_Y", "sp|P1-2|A|B ", "UniRef90_P1 ", "UniRef50_UPI0001 ", "id "]
    let tokens = ["sp|", "tr|", "|", " ", "  ", "P12345", "-2", "NAME_HUMAN", " OS=", " OX=", " GN=", " PE=", " SV=", "OS=",
                  "SV=", "UniRef50_", " RepID=", " TaxID=", " Tax=", " n=", "TaxID=", " (Fragment)", " (Fragments)", "12",
                  "-3", "+4", "x=y", "Homo sapiens", "é", "\u{301}", "=", "sp", "tr", "UniRef", "\t"]
    var text = ""
    for i in 0..<3000 {
      var header = prefixes[Int(rng.next() % UInt64(prefixes.count))]
      for _ in 0..<Int(rng.next() % 14) { header += tokens[Int(rng.next() % UInt64(tokens.count))] }
      text += ">" + header + "\nMKT\(i % 7 == 0 ? "\n" : "AY\n")"
    }
    let (a, b) = try bothPaths(Array(text.utf8))
    #expect(a.count == 3000)
    for (x, y) in zip(a, b) where x != y {
      Issue.record("seed \(seed): \(x)\n  vs \(y)")
      break
    }
  }

  @Test func recordsOverTheLimitAreMalformedOnBothPaths() throws {
    let text = ">a\nMKT\n>big\n" + String(repeating: "A", count: 5000) + "\n>b\nMK\n"
    let (a, b) = try bothPaths(Array(text.utf8), limits: ReaderLimits(maxRecordBytes: 1000))
    #expect(a == b)
    #expect(b.count == 3 && b[1].hasPrefix("malformed 1 "))
  }

  func fastaSeed(default value: UInt64) -> UInt64 {
    let seed = ProcessInfo.processInfo.environment["TAGDATA_FUZZ_SEED"].flatMap { UInt64($0) } ?? value
    print("FastaFastPathTests seed \(seed) (TAGDATA_FUZZ_SEED)")
    return seed
  }
}
