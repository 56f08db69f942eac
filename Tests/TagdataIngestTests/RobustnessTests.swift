import Foundation
import TagdataBio
import TagdataCatalog
import TagdataIngest
import TestSupport
import TagdataIO
import Testing

@Suite struct CompressionEquivalenceTests {
  @Test func plainGzipBzip2ZipAndMultiMemberGiveIdenticalCatalogs() throws {
    let dir = TestSupport.tempDirectory()
    let src = TestSupport.corpus("uniprot/flat/emboss_swiss_seq.dat").path
    try TestSupport.shell("""
      cd '\(dir.path)' && cp '\(src)' plain.dat && gzip -c plain.dat > a.gz && bzip2 -c plain.dat > a.bz2 \
      && zip -q a.zip plain.dat && split -n 3 plain.dat part. && gzip -c part.aa > multi.gz && gzip -c part.ab >> multi.gz \
      && gzip -c part.ac >> multi.gz && bzip2 -c part.aa > multi.bz2 && bzip2 -c part.ab >> multi.bz2 && bzip2 -c part.ac >> multi.bz2
      """)
    let reference = try ingest([dir.appendingPathComponent("plain.dat").path]).catalog.dump()
    #expect(reference.filter { $0.hasPrefix("record\t") }.count == 100)
    for name in ["a.gz", "a.bz2", "a.zip", "multi.gz", "multi.bz2"] {
      let (catalog, reports) = try ingest([dir.appendingPathComponent(name).path])
      #expect(reports[0].status == .complete, "\(name): \(reports[0].error ?? "")")
      #expect(try catalog.dump() == reference, "\(name)")
    }
  }

  @Test(arguments: ["gzip", "bzip2"])
  func truncatedInputKeepsEveryCompleteRecordBeforeTheCut(tool: String) throws {
    let dir = TestSupport.tempDirectory()
    let src = TestSupport.corpus("uniprot/flat/emboss_swiss_seq.dat").path
    let cut = dir.appendingPathComponent("cut.dat.\(tool == "gzip" ? "gz" : "bz2")").path
    try TestSupport.shell("\(tool) -1 -c '\(src)' > '\(dir.path)/full' && head -c $(( $(stat -c %s '\(dir.path)/full') * 7 / 10 )) '\(dir.path)/full' > '\(cut)'")
    // What Python's zlib/bz2 decompressors recover from the cut file: count its complete entries.
    let script = tool == "gzip" ? "zlib.decompressobj(wbits=31)" : "bz2.BZ2Decompressor()"
    let recovered = try TestSupport.run("/usr/bin/env", ["python3", "-c", """
      import bz2, sys, zlib
      out = \(script).decompress(open(sys.argv[1], 'rb').read())
      print(sum(1 for line in out.split(b'\\n') if line == b'//'))
      """, cut]).stdout
    let complete = Int(recovered.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    #expect(complete > 10)
    let (catalog, reports) = try ingest([cut])
    let r = reports[0]
    #expect(r.status == .failed)
    #expect(r.error?.contains(cut) == true)
    #expect(r.error?.contains("truncated at compressed byte offset") == true)
    #expect(r.records == complete)
    #expect(r.quarantined == 0)
    #expect(try catalog.stats().records == complete)
    // The CLI says so too, with exit code 1.
    let cli = try TestSupport.tagdata(["ingest", "--catalog", dir.appendingPathComponent("cli.sqlite").path, cut])
    #expect(cli.status == 1)
    #expect(cli.stderr.contains("truncated at compressed byte offset"))
  }
}

@Suite struct KillResumeTests {
  /// SIGKILLs an ingest several times part-way, re-runs it each time, and compares the final
  /// catalog with an uninterrupted run.
  @Test(arguments: [("uniprot/flat/emboss_swiss_seq.dat", 20), ("pubchem/sdf/pubchem.200.sdf", 6),
                    ("bindingdb/bindingdb_2015m10_sample.tsv", 12)])
  func killedIngestResumesToTheCatalogOfACleanRun(file: String, copies: Int) throws {
    let dir = TestSupport.tempDirectory()
    let input = dir.appendingPathComponent("big." + (file as NSString).pathExtension)
    let one = try Data(contentsOf: TestSupport.corpus(file))
    let isBinding = file.hasSuffix(".tsv")
    var big = Data()
    if isBinding {
      // One header, then the rows again and again.
      let headerEnd = one.firstIndex(of: 0x0A)! + 1
      big.append(one[..<headerEnd])
      for _ in 0..<copies { big.append(one[headerEnd...]) }
    } else {
      for _ in 0..<copies { big.append(one) }
    }
    try big.write(to: input)
    let isMolecules = file.hasSuffix(".sdf")
    let recordPrefix = isBinding ? "binding-record\t" : isMolecules ? "molecule-record\t" : "record\t"
    // Rows stored per copy (the BindingDB sample's 221 rows include 9 it quarantines).
    let total = copies * (isBinding ? 212 : isMolecules ? 200 : 100)

    let clean = dir.appendingPathComponent("clean.sqlite").path
    let start = Date()
    let cleanRun = try TestSupport.tagdata(["ingest", "--quiet", "--batch-size", "25", "--catalog", clean, input.path])
    #expect(cleanRun.status == 0, "\(cleanRun.stderr)")
    let cleanSeconds = Date().timeIntervalSince(start)
    let reference = try Catalog(path: clean, readOnly: true).dump()
    #expect(reference.filter { $0.hasPrefix(recordPrefix) }.count == total)

    let killed = dir.appendingPathComponent("killed.sqlite").path
    var interrupted = 0
    var progress: [Int] = []
    // Each run is killed as soon as its checkpoint has moved a step past the previous kill's,
    // so the kills land part-way through, at different points, however loaded the machine is.
    let step = total / 8
    for k in 1...5 {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: TestSupport.tagdataBinary)
      p.arguments = ["ingest", "--quiet", "--batch-size", "25", "--catalog", killed, input.path]
      p.standardError = FileHandle.nullDevice
      try p.run()
      let target = k * step
      let deadline = Date().addingTimeInterval(max(30, cleanSeconds * 10))
      while p.isRunning && Date() < deadline {
        if let c = try? Catalog(path: killed, readOnly: true),
          let done = try? c.db.scalar("SELECT COALESCE(MAX(records_done), 0) FROM sources"), Int(done) >= target
        {
          break
        }
        Thread.sleep(forTimeInterval: 0.002)
      }
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      if p.terminationReason == .uncaughtSignal {
        interrupted += 1
        let c = try Catalog(path: killed, readOnly: true)
        let done = Int(try c.db.scalar("SELECT COALESCE(MAX(records_done), 0) FROM sources") ?? 0)
        progress.append(done)
      }
    }
    // The kills really interrupted the work, at different points.
    #expect(interrupted >= 3)
    #expect(progress.contains { $0 > 0 && $0 < total })
    let final = try TestSupport.tagdata(["ingest", "--quiet", "--batch-size", "25", "--catalog", killed, input.path])
    #expect(final.status == 0, "\(final.stderr)")
    let after = try Catalog(path: killed, readOnly: true).dump()
    #expect(after.count == reference.count)
    #expect(after == reference)
    // And once more: nothing changes.
    let again = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", killed, input.path])
    #expect(again.stderr.contains("already in the catalog"))
  }
}

@Suite struct MalformedEntryTests {
  /// Splits a flat file into entry texts (each ending with "//\n").
  func entries(_ url: URL) throws -> [[UInt8]] {
    let bytes = Array(try Data(contentsOf: url))
    var out: [[UInt8]] = []
    var current: [UInt8] = []
    var lineStart = 0
    for i in 0..<bytes.count where bytes[i] == 0x0A {
      let line = bytes[lineStart...i]
      current.append(contentsOf: line)
      if line.elementsEqual(Array("//\n".utf8)) { out.append(current); current = [] }
      lineStart = i + 1
    }
    return out
  }

  func lines(_ e: [UInt8]) -> [[UInt8]] { e.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { Array($0) + [0x0A] } }

  /// Each kind of damage applied to real entries: the entry is stored or quarantined with the
  /// right reason, and the undamaged entries around it are all stored.
  @Test func damagedEntriesAreQuarantinedWithAReasonAndTheRestStored() throws {
    let source = try entries(TestSupport.corpus("uniprot/flat/emboss_swiss_seq.dat"))
    #expect(source.count == 100)
    var file: [UInt8] = []
    var expected: [(stored: Bool, reason: String?)] = []
    var rng = SplitMix64(seed: 42)
    for (i, e) in source.enumerated() {
      var ls = lines(e)
      switch i % 7 {
      case 1:  // truncated: the entry stops before its sequence and //
        let cut = ls.firstIndex { $0.starts(with: Array("SQ".utf8)) } ?? ls.count - 1
        ls = Array(ls[..<max(2, cut - Int(rng.next() % 3))])
        expected.append((false, "without its // line"))
      case 2:  // wrong CRC64
        let k = ls.firstIndex { $0.starts(with: Array("SQ".utf8)) }!
        var sq = ls[k]
        let crcStart = sq.count - 1 - "CRC64;".count - 1 - 16
        sq[crcStart] = sq[crcStart] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        ls[k] = sq
        expected.append((false, "CRC64 mismatch"))
      case 3:  // junk line in the middle
        ls.insert(Array("@@ this is not a flat-file line \u{0}\n".utf8), at: 3)
        expected.append((false, "not UniProt flat-file syntax"))
      case 4:  // invalid residue, with a CRC64 that matches it (so the alphabet check must catch it)
        let k = ls.firstIndex { $0.starts(with: Array("SQ".utf8)) }!
        ls[k + 1][7] = UInt8(ascii: "#")
        let seq = ls[(k + 1)...].filter { $0.starts(with: [0x20, 0x20]) }.flatMap { $0.filter { $0 > 0x20 } }
        let crc = Array(CRC64.hex(CRC64.checksum(seq)).utf8)
        let crcStart = ls[k].count - 1 - "CRC64;".count - 1 - 16
        ls[k].replaceSubrange(crcStart..<(crcStart + 16), with: crc)
        expected.append((false, "invalid character '#'"))
      case 5:  // bytes that are not UTF-8 in a description line
        let k = ls.firstIndex { $0.starts(with: Array("DE".utf8)) }!
        ls[k].insert(contentsOf: [0xFF, 0xFE, 0xC3], at: 10)
        expected.append((true, nil))
      case 6:  // a length that disagrees with the sequence
        let k = ls.firstIndex { $0.starts(with: Array("SQ".utf8)) }!
        var seqLine = ls[k + 1]
        seqLine.insert(UInt8(ascii: "A"), at: 5)
        ls[k + 1] = seqLine
        expected.append((false, "residues but the entry declares"))
      default:
        expected.append((true, nil))
      }
      file.append(contentsOf: ls.joined())
    }
    let dir = TestSupport.tempDirectory()
    let path = dir.appendingPathComponent("damaged.dat")
    try Data(file).write(to: path)
    let (catalog, reports) = try ingest([path.path])
    #expect(reports[0].status == .complete)
    #expect(reports[0].records + reports[0].quarantined == source.count)
    let q = try catalog.db.prepare("SELECT record_no, reason, line FROM quarantine ORDER BY record_no")
    var quarantined: [Int: String] = [:]
    while try q.step() { quarantined[Int(q.int(0))] = q.text(1) ?? "" }
    let stored = try catalog.db.prepare("SELECT record_no FROM records")
    var storedSet = Set<Int>()
    while try stored.step() { storedSet.insert(Int(stored.int(0))) }
    for (i, e) in expected.enumerated() {
      if e.stored {
        #expect(storedSet.contains(i), "entry \(i) should be stored; quarantined as \(quarantined[i] ?? "-")")
      } else {
        let reason = quarantined[i]
        #expect(reason?.contains(e.reason!) == true, "entry \(i): expected '\(e.reason!)', got \(reason ?? "nothing")")
      }
    }
  }
}

@Suite struct MemoryTests {
  /// Peak RSS of `tagdata ingest` on an input four times larger stays about the same: nothing
  /// grows with the input (buffers, queues and the SQLite cache are all bounded).
  @Test(arguments: [("uniprot/flat/emboss_swiss_seq.dat", 10), ("pubchem/sdf/pubchem.200.sdf", 5)])
  func peakMemoryDoesNotGrowWithInputSize(file: String, copies base: Int) throws {
    let dir = TestSupport.tempDirectory()
    let one = try Data(contentsOf: TestSupport.corpus(file))
    func peakKB(copies: Int) throws -> Int {
      let input = dir.appendingPathComponent("in\(copies)." + (file as NSString).pathExtension)
      var data = Data()
      for _ in 0..<copies { data.append(one) }
      try data.write(to: input)
      let r = try TestSupport.run("/usr/bin/time", ["-f", "%M", TestSupport.tagdataBinary, "ingest", "--quiet",
                                                    "--catalog", dir.appendingPathComponent("c\(copies).sqlite").path, input.path])
      #expect(r.status == 0, "\(r.stderr)")
      return Int(r.stderr.split(separator: "\n").last.map(String.init) ?? "") ?? -1
    }
    let small = try peakKB(copies: base)
    let large = try peakKB(copies: base * 4)
    #expect(small > 0 && large > 0)
    #expect(Double(large) < Double(small) * 1.25 + 8_000, "peak RSS \(small) kB for \(base) copies, \(large) kB for \(base * 4)")
  }
}
