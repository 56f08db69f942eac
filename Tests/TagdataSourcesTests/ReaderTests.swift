import Foundation
import TagdataIO
import TestSupport
import Testing
@testable import TagdataSources

/// Reads every event of a file with the reader its content calls for.
func events(_ bytes: [UInt8], name: String = "mem") throws -> [ReadEvent] {
  let source = MemorySource(bytes, name: name)
  let head = try source.readPrefix(4096)
  guard let format = ProteinFormat.detect(head) else { return [] }
  let reader = try makeProteinReader(format: format, source: PrefixedSource(prefix: head, inner: source))
  var out: [ReadEvent] = []
  while let e = try reader.next() { out.append(e) }
  return out
}

final class MemorySource: ByteSource {
  let bytes: [UInt8]
  var pos = 0
  let name: String
  var bytesProduced: Int64 { Int64(pos) }
  var rawBytesConsumed: Int64 { Int64(pos) }
  init(_ bytes: [UInt8], name: String) {
    self.bytes = bytes
    self.name = name
  }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, bytes.count - pos)
    bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + pos, byteCount: n) }
    pos += n
    return n
  }
}

@Suite struct FastaHeaderTests {
  func parse(_ h: String) -> ProteinRecord {
    var arena = ProteinArena()
    var p = PackedProtein(format: .fasta, location: RecordLocation(index: 0, line: 1, offset: 0))
    var header = h
    header.withUTF8 { FastaReader.parseHeader(bytes: $0, into: &p, arena: &arena) }
    return arena.record(p)
  }

  @Test func uniprotHeaderWithAllFields() {
    let r = parse("sp|P60137|PSBL_ORYSJ Photosystem II reaction center protein L OS=Oryza sativa subsp. japonica OX=39947 GN=psbL PE=3 SV=1")
    #expect(r.accession == "P60137")
    #expect(r.entryName == "PSBL_ORYSJ")
    #expect(r.reviewed == true)
    #expect(r.proteinName == "Photosystem II reaction center protein L")
    #expect(r.organism == "Oryza sativa subsp. japonica")
    #expect(r.taxonID == 39947)
    #expect(r.gene == "psbL")
    #expect(r.existence == 3)
    #expect(r.sequenceVersion == 1)
  }

  @Test func isoformAndFragmentAndNamesWithEquals() {
    let r = parse("sp|Q4R572-2|1433B_MACFA Isoform Short of 14-3-3 protein beta/alpha OS=Macaca fascicularis OX=9541 GN=YWHAB")
    #expect(r.accession == "Q4R572-2")
    #expect(r.proteinName == "Isoform Short of 14-3-3 protein beta/alpha")
    #expect(r.existence == nil)
    let f = parse("tr|Q8I6R7|ACN2_ACAGO Acanthoscurrin-2 (Fragment) OS=Acanthoscurria gomesiana GN=acantho2 PE=1 SV=1")
    #expect(f.reviewed == false)
    #expect(f.fragment)
    #expect(f.proteinName == "Acanthoscurrin-2")
    let e = parse("sp|P1|X_Y Protein with a=b in name OS=Homo sapiens OX=9606")
    #expect(e.proteinName == "Protein with a=b in name")
  }

  @Test func unirefAndPlainHeaders() {
    let u = parse("UniRef50_Q9K794 Putative AgrB-like protein n=2 Tax=Bacillus TaxID=1386 RepID=AGRB_BACHD")
    #expect(u.label == "UniRef50_Q9K794")
    #expect(u.proteinName == "Putative AgrB-like protein")
    #expect(u.taxonID == 1386)
    #expect(u.entryName == "AGRB_BACHD")
    let p = parse("my_protein some description")
    #expect(p.accession == nil)
    #expect(p.label == "my_protein")
    #expect(p.headerDescription == "some description")
  }
}

@Suite struct ReaderFuzzTests {
  /// Random damage to real files (byte flips, deletions, duplications, insertions of random and
  /// non-UTF-8 bytes, truncation) never crashes or hangs a reader: each run ends, and every
  /// event is a record or a malformed record with a reason.
  @Test(arguments: ["uniprot/flat/multi_ex.txt", "uniprot/xml/multi_ex.xml", "uniprot/fasta/protein_lib.fa",
                    "uniprot/flat/sp013.dat", "uniprot/xml/UniRef90_P99999.xml"])
  func randomDamageNeverCrashesOrHangs(file: String) throws {
    let original = Array(try Data(contentsOf: TestSupport.corpus(file)))
    // A fixed seed, printed; TAGDATA_FUZZ_SEED chooses another. Input k uses seed + k.
    let seed = TestSupport.fuzzSeed(default: 20261205)
    let iterations = 300
    let started = Date()
    for k in 0..<iterations {
      var g = SplitMix64(seed: seed &+ UInt64(k))
      var b = original
      for _ in 0..<(1 + g.below(12)) {
        guard !b.isEmpty else { break }
        let at = g.below(b.count)
        switch g.below(6) {
        case 0: b[at] ^= UInt8(truncatingIfNeeded: 1 + g.below(255))
        case 1: b.removeSubrange(at..<min(b.count, at + g.below(200)))
        case 2: b.insert(contentsOf: b[at..<min(b.count, at + g.below(300))], at: g.below(b.count))
        case 3: b.insert(contentsOf: (0..<(1 + g.below(20))).map { _ in UInt8(truncatingIfNeeded: g.below(256)) }, at: at)
        case 4: b.insert(contentsOf: [0xFF, 0xC3, 0x28, 0x00], at: at)
        default: b.removeSubrange(at...)
        }
      }
      var n = 0
      do {
        for e in try events(b) {
          n += 1
          if case let .malformed(m) = e { #expect(!m.reason.isEmpty, "\(file) input \(k) of seed \(seed)") }
          if case let .record(r) = e { #expect(r.location.index >= 0, "\(file) input \(k) of seed \(seed)") }
        }
      } catch is XMLError {
        // XML that is no longer well-formed stops the file with a located error: expected.
      } catch is InputError {
      }
      #expect(n <= 10_000, "\(file) input \(k) of seed \(seed)")
    }
    #expect(Date().timeIntervalSince(started) < 60, "\(iterations) damaged inputs took too long (seed \(seed))")
  }

  @Test func everyEntryOfTheShippedFilesReadsAsARecord() throws {
    for dir in ["uniprot/flat", "uniprot/xml", "uniprot/fasta"] {
      for url in TestSupport.corpusFiles(dir) {
        let evs = try events(Array(try Data(contentsOf: url)), name: url.lastPathComponent)
        #expect(!evs.isEmpty)
        for e in evs {
          if case let .malformed(m) = e { Issue.record("\(url.lastPathComponent): \(m.reason)") }
        }
      }
    }
  }
}
