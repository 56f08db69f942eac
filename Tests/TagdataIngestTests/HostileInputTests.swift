import Foundation
import TagdataCatalog
import TagdataIO
import TestSupport
import Testing

/// Every reader and command on adversarial variants of every shipped file and on generated
/// monsters. For each run: no crash (no signal, no "Fatal error"), no hang (a time bound), memory
/// under a bound, and every record stored or quarantined with a reason: none lost.
enum Hostile {
  /// Seconds one command may take (debug build, 2 shared cores).
  static let timeLimit = 120
  /// Peak resident memory one command may use, in KiB.
  static let memoryLimitKiB = 600 * 1024

  struct Outcome {
    var status: Int32
    var seconds: Double
    var maxRSSKiB: Int
    var stdout: String
    var stderr: String
  }

  /// Runs `tagdata` under `timeout -s KILL` and GNU time; `stdin` is a file fed as standard input.
  static func run(_ args: [String], stdin: String? = nil) throws -> Outcome {
    let dir = TestSupport.tempDirectory().path
    let quoted = args.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    let input = stdin.map { "< '\($0)'" } ?? "< /dev/null"
    let r = try TestSupport.run("/bin/bash", ["-c", """
      /usr/bin/time -f '%M %e' -o '\(dir)/time' timeout -s KILL \(timeLimit) '\(TestSupport.tagdataBinary)' \(quoted) \(input)
      """])
    let time = (try? String(contentsOfFile: dir + "/time", encoding: .utf8)) ?? ""
    // GNU time writes "Command terminated by signal N" before its line when the child died.
    let fields = time.split(separator: "\n").last?.split(separator: " ") ?? []
    return Outcome(status: r.status, seconds: fields.count > 1 ? Double(fields[1]) ?? -1 : -1,
                   maxRSSKiB: fields.first.flatMap { Int($0) } ?? -1, stdout: r.stdout, stderr: r.stderr + time)
  }

  /// No crash, no hang, bounded memory; the exit status is one of `allowed`.
  static func checkHealthy(_ o: Outcome, _ what: String, allowed: Set<Int32> = [0, 1]) {
    #expect(o.status != 137, "\(what): killed after \(timeLimit) s (hang?)")
    #expect(!o.stderr.contains("terminated by signal"), "\(what): crashed: \(o.stderr.suffix(400))")
    #expect(!o.stderr.contains("Fatal error"), "\(what): \(o.stderr.suffix(400))")
    #expect(allowed.contains(o.status), "\(what): exit \(o.status): \(o.stderr.suffix(400))")
    #expect(o.maxRSSKiB < memoryLimitKiB, "\(what): peak RSS \(o.maxRSSKiB) KiB")
  }

  struct Report {
    var status: String
    var records: Int
    var quarantined: Int
    var error: String?
  }

  static func report(_ o: Outcome) -> Report? {
    guard let rows = try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [[String: Any]], let r = rows.first
    else { return nil }
    return Report(status: r["status"] as? String ?? "", records: r["records"] as? Int ?? -1,
                  quarantined: r["quarantined"] as? Int ?? -1, error: r["error"] as? String)
  }

  /// Ingests one file into a fresh catalog with --json, checks health, and that every quarantine
  /// row has a reason.
  static func ingest(_ path: String, stdin: Bool = false, extra: [String] = [], what: String) throws -> Report? {
    let catalog = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let o = try run(["ingest", "--quiet", "--json", "--catalog", catalog] + extra + [stdin ? "-" : path], stdin: stdin ? path : nil)
    checkHealthy(o, what)
    if FileManager.default.fileExists(atPath: catalog), let c = try? Catalog(path: catalog, readOnly: true) {
      let unexplained = (try? c.db.scalar("SELECT count(*) FROM quarantine WHERE reason IS NULL OR reason = ''")) ?? 0
      #expect(unexplained == 0, "\(what): quarantine rows without a reason")
    }
    let r = report(o)
    #expect(r != nil, "\(what): no JSON report: \(o.stderr.suffix(300))")
    if let r, r.status == "failed" { #expect(r.error?.isEmpty == false, "\(what): failed without a reason") }
    return r
  }

  /// Complete records in a text prefix of a file of this format (records before a cut).
  static func completeRecords(_ bytes: Data, format: String) -> Int {
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
    switch format {
    case "sdf": return lines.filter { $0 == "$$$$" }.count
    case "uniprot-flat": return lines.filter { $0 == "//" }.count
    case "fasta": return max(0, lines.filter { $0.hasPrefix(">") }.count - 1)
    case "uniprot-xml": return text.components(separatedBy: "</entry>").count - 1
    // Rows ended by a line feed, after the header.
    case "bindingdb": return max(0, lines.count - 2)
    default: return 0
    }
  }

  static let textFiles: [URL] = ["uniprot/flat", "uniprot/fasta", "uniprot/xml", "pubchem/sdf", "pubchem/mdl_other", "pubchem/xml",
                                 "pubchem/asn", "bindingdb"].flatMap(TestSupport.corpusFiles)
    .filter { !$0.path.hasSuffix(".gz") && !$0.path.hasSuffix(".zip") && !$0.path.hasSuffix(".txt") }
}

@Suite struct HostileCorpusVariantTests {
  /// Each shipped text file as CRLF, with a BOM, with CR-only line ends, cut at a third and two
  /// thirds, twice in a row, and through a pipe.
  @Test(arguments: Hostile.textFiles)
  func variantsOfShippedFiles(file: URL) throws {
    let name = file.lastPathComponent
    let dir = TestSupport.tempDirectory()
    let original = try Data(contentsOf: file)
    guard let base = try Hostile.ingest(file.path, what: name) else { return }
    let format = (try? JSONSerialization.jsonObject(with: Data(try Hostile.run(["ingest", "--quiet", "--json", "--catalog",
      dir.appendingPathComponent("f.sqlite").path, file.path]).stdout.utf8)) as? [[String: Any]])?.first?["format"] as? String ?? ""
    let total = base.records + base.quarantined

    func write(_ data: Data, _ suffix: String) throws -> String {
      let url = dir.appendingPathComponent(name + "." + suffix)
      try data.write(to: url)
      return url.path
    }
    var lf = original
    if lf.contains(0x0D) { lf = Data(lf.filter { $0 != 0x0D }) }
    let crlf = Data(lf.split(separator: 0x0A, omittingEmptySubsequences: false).map { Data($0) + Data([0x0D]) }
      .joined(separator: [0x0A]).dropLast())
    let bom = Data([0xEF, 0xBB, 0xBF]) + original

    for (variant, data) in [("crlf", crlf), ("bom", bom)] {
      let r = try Hostile.ingest(try write(data, variant), what: "\(name) \(variant)")
      #expect(r?.records == base.records && r?.quarantined == base.quarantined,
              "\(name) \(variant): \(r.map { "\($0.records)+\($0.quarantined)" } ?? "-") vs \(base.records)+\(base.quarantined): \(r?.error ?? "")")
    }
    // CR-only: refused with a reason, or (XML, ASN.1, where lines do not matter) read alike.
    let cr = try Hostile.ingest(try write(Data(lf.map { $0 == 0x0A ? 0x0D : $0 }), "cr"), what: "\(name) cr-only")
    if let cr, cr.status == "failed" {
      #expect(cr.error?.contains("CR-only") == true || format.hasSuffix("xml") || format.hasSuffix("asn"), "\(name) cr-only: \(cr.error ?? "")")
    }
    // Cut: every complete record before the cut is stored or quarantined.
    for k in [1, 2] where original.count > 3 {
      let prefix = original.prefix(original.count * k / 3)
      let r = try Hostile.ingest(try write(Data(prefix), "cut\(k)"), what: "\(name) cut \(k)/3")
      let complete = Hostile.completeRecords(Data(prefix), format: format)
      if let r { #expect(r.records + r.quarantined >= complete, "\(name) cut \(k)/3: \(r.records)+\(r.quarantined) < \(complete)") }
    }
    // Twice in a row: line formats give every record twice; XML and ASN.1 documents end after
    // the first, and at least its records are kept.
    let twice = try Hostile.ingest(try write(original + original, "twice"), what: "\(name) twice")
    if let twice {
      let lineFormat = ["sdf", "uniprot-flat", "fasta", "cid-smiles"].contains(format)
      let delimited = format != "sdf" || Hostile.completeRecords(original, format: "sdf") == total
      if format == "bindingdb" {
        // The second header is a row of its own, and not a usable one.
        #expect(twice.records == 2 * base.records && twice.quarantined == 2 * base.quarantined + 1,
                "\(name) twice: \(twice.records)+\(twice.quarantined) vs 2x\(base.records)+2x\(base.quarantined)+1")
      } else if lineFormat && delimited {
        #expect(twice.records + twice.quarantined == 2 * total, "\(name) twice: \(twice.records)+\(twice.quarantined) vs 2x\(total)")
      } else {
        #expect(twice.records + twice.quarantined >= total, "\(name) twice: \(twice.records)+\(twice.quarantined) < \(total)")
      }
    }
    // Through a pipe.
    let piped = try Hostile.ingest(file.path, stdin: true, what: "\(name) stdin")
    #expect(piped?.records == base.records && piped?.quarantined == base.quarantined, "\(name) stdin")
    // The canon commands on the same bytes: no crash, no hang.
    let canon = format == "sdf" ? "sdf" : format.hasPrefix("uniprot") || format == "fasta" ? "protein" : nil
    if let canon {
      for variant in ["crlf", "bom", "cut1", "twice"] {
        Hostile.checkHealthy(try Hostile.run(["canon", canon, dir.appendingPathComponent(name + "." + variant).path]),
                             "canon \(canon) \(name) \(variant)")
      }
    }
  }
}

@Suite struct HostileGeneratedInputTests {
  private func python(_ script: String, _ out: String) throws {
    let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", script, out])
    #expect(r.status == 0, "generator: \(r.stderr)")
  }

  @Test func randomBytesAreRefusedCleanly() throws {
    let dir = TestSupport.tempDirectory().path
    let seed = fuzzSeed(default: 12)
    var rng = SplitMix64(seed: seed)
    for k in 0..<8 {
      let path = "\(dir)/random\(k)"
      try Data((0..<(1 << (10 + k))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).write(to: URL(fileURLWithPath: path))
      let r = try Hostile.ingest(path, what: "random \(k) (seed \(seed))")
      #expect(r?.status == "failed", "random \(k): \(r?.status ?? "-")")
      for command in [["canon", "smiles", path], ["canon", "sdf", path], ["canon", "protein", path]] {
        Hostile.checkHealthy(try Hostile.run(command), "\(command) random \(k) (seed \(seed))")
      }
    }
  }

  /// Huge rings and chains, many components: stored (or quarantined with a reason) in bounded
  /// time, through ingest (CID-SMILES and V3000 SD) and canon smiles.
  @Test func hugeMolecules() throws {
    let dir = TestSupport.tempDirectory().path
    try python("""
      import sys
      n = 50000
      rows = ['c1' + 'c' * (n - 2) + 'c1', 'C' * n, '.'.join(['c1ccccc1'] * 10000), 'C1' + 'C' * (n - 2) + '1',
              'C' + '(C' * 20000 + ')' * 20000, 'CCO']
      with open(sys.argv[1], 'w') as f:
          for i, s in enumerate(rows): f.write(f'{i + 1}\\t{s}\\n')
      with open(sys.argv[1] + '.tsv', 'w') as f:
          f.write('id\\tx\\n')
          for i, s in enumerate(rows): f.write(f'{i + 1}\\t{s}\\n')
      """, "\(dir)/huge.cid")
    let r = try Hostile.ingest("\(dir)/huge.cid", what: "huge CID-SMILES")
    #expect(r?.records == 6 && r?.quarantined == 0, "huge CID-SMILES: \(r.map { "\($0.records)+\($0.quarantined)" } ?? "-")")
    let canon = try Hostile.run(["canon", "smiles", "--column", "x", "-"], stdin: "\(dir)/huge.cid.tsv")
    Hostile.checkHealthy(canon, "canon smiles huge", allowed: [0])
    #expect(canon.stdout.split(separator: "\n").count == 7, "canon smiles huge: a header and six rows")
    try python("""
      import sys
      n = 30000
      lines = ['', '  tagdata', '', '  0  0  0     0  0            999 V3000', 'M  V30 BEGIN CTAB', f'M  V30 COUNTS {n} {n} 0 0 0',
               'M  V30 BEGIN ATOM']
      lines += [f'M  V30 {i + 1} C {i * 1.5:.4f} 0 0 0' for i in range(n)]
      lines += ['M  V30 END ATOM', 'M  V30 BEGIN BOND']
      lines += [f'M  V30 {i + 1} 1 {i + 1} {(i + 1) % n + 1}' for i in range(n)]
      lines += ['M  V30 END BOND', 'M  V30 END CTAB', 'M  END', '$$$$']
      open(sys.argv[1], 'w').write('\\n'.join(lines) + '\\n')
      """, "\(dir)/ring.sdf")
    let ring = try Hostile.ingest("\(dir)/ring.sdf", what: "V3000 ring")
    #expect(ring.map { $0.records + $0.quarantined } == 1, "V3000 ring")
    Hostile.checkHealthy(try Hostile.run(["canon", "sdf", "\(dir)/ring.sdf"]), "canon sdf V3000 ring")
  }

  /// Deep nesting in every nested format: the entry is quarantined (or read), its neighbours kept.
  @Test func deepNesting() throws {
    let dir = TestSupport.tempDirectory().path
    let entry = try String(contentsOf: TestSupport.corpus("uniprot/xml/P84001.xml"), encoding: .utf8)
    guard let open = entry.range(of: "<entry"), let close = entry.range(of: "</entry>", options: .backwards) else {
      Issue.record("no entry in P84001.xml")
      return
    }
    let one = String(entry[open.lowerBound..<close.upperBound])
    let deep = one.replacingOccurrences(of: "</entry>", with: String(repeating: "<a>", count: 200_000) + String(repeating: "</a>", count: 200_000) + "</entry>")
    let doc = String(entry[..<open.lowerBound]) + one + "\n" + deep + "\n" + one.replacingOccurrences(of: "P84001", with: "Q84001")
      + String(entry[close.upperBound...])
    try doc.write(toFile: "\(dir)/deep.xml", atomically: true, encoding: .utf8)
    let r = try Hostile.ingest("\(dir)/deep.xml", what: "deep UniProt XML")
    #expect((r?.records ?? 0) >= 2, "deep UniProt XML: \(r.map { "\($0.records)+\($0.quarantined)" } ?? "-") \(r?.error ?? "")")

    let asn = try String(contentsOf: TestSupport.corpus("pubchem/asn/cid1.asn"), encoding: .utf8)
    let deepASN = asn.replacingOccurrences(of: "PC-Compound ::= {", with: "PC-Compound ::= {" + String(repeating: "{", count: 200_000)
      + String(repeating: "}", count: 200_000) + ",")
    try deepASN.write(toFile: "\(dir)/deep.asn", atomically: true, encoding: .utf8)
    let a = try Hostile.ingest("\(dir)/deep.asn", what: "deep ASN.1")
    #expect(a.map { $0.records + $0.quarantined } ?? 0 >= 1 || a?.status == "failed", "deep ASN.1")

    let xml = try String(contentsOf: TestSupport.corpus("pubchem/xml/cid176.xml"), encoding: .utf8)
    if let at = xml.range(of: "<PC-Compound_id>") {
      var d = xml
      d.replaceSubrange(at, with: String(repeating: "<x>", count: 200_000) + String(repeating: "</x>", count: 200_000) + "<PC-Compound_id>")
      try d.write(toFile: "\(dir)/deep-pubchem.xml", atomically: true, encoding: .utf8)
      _ = try Hostile.ingest("\(dir)/deep-pubchem.xml", what: "deep PubChem XML")
    }
  }

  /// A record far larger than the record limit, between two good ones: quarantined with the
  /// reason, the others stored, memory flat.
  @Test(arguments: ["fasta", "flat", "sdf", "cid"])
  func giantRecords(kind: String) throws {
    let dir = TestSupport.tempDirectory().path
    let path = "\(dir)/giant.\(kind)"
    try python("""
      import sys
      kind, out = '\(kind)', sys.argv[1]
      n = 8 << 20
      with open(out, 'w') as f:
          if kind == 'fasta':
              f.write('>a\\nMKTAYIAK\\n>giant\\n')
              for _ in range(n // 60): f.write('A' * 60 + '\\n')
              f.write('>b\\nMKTAYIAKQR\\n')
          elif kind == 'flat':
              entry = open('\(TestSupport.corpus("uniprot/flat/P60137.txt").path)').read()
              head, seq = entry.split('SQ   ')
              f.write(entry)
              f.write(head.replace('P60137', 'Q00001'))
              for _ in range(n // 80): f.write('CC   ' + 'x' * 74 + '\\n')
              f.write('SQ   ' + seq)
              f.write(entry.replace('P60137', 'Q00002'))
          elif kind == 'sdf':
              # The molfile alone: the shipped record carries its own data items and $$$$.
              text = open('\(TestSupport.corpus("pubchem/sdf/pubchem_paracetamol.mol").path)').read()
              mol = text[:text.index('M  END') + len('M  END')] + '\\n'
              f.write(mol + '$$$$\\n')
              f.write(mol + '> <BIG>\\n')
              for _ in range(n // 80): f.write('y' * 79 + '\\n')
              f.write('\\n$$$$\\n' + mol + '$$$$\\n')
          else:
              f.write('1\\tCCO\\n2\\t' + 'C' * n + '\\n3\\tCCN\\n')
      """, path)
    let r = try Hostile.ingest(path, extra: ["--max-record-bytes", "1000000"], what: "giant \(kind)")
    #expect(r?.records == 2 && r?.quarantined == 1, "giant \(kind): \(r.map { "\($0.records)+\($0.quarantined)" } ?? "-") \(r?.error ?? "")")
  }
}

/// The fuzz seed: TAGDATA_FUZZ_SEED when set, else a fixed one; printed with every failure.
func fuzzSeed(default value: UInt64) -> UInt64 {
  ProcessInfo.processInfo.environment["TAGDATA_FUZZ_SEED"].flatMap { UInt64($0) } ?? value
}

@Suite struct HostileTableTests {
  static let tables = [("tdc-dti", "tables/tdc_dti_sample.csv"), ("tdc-dti-patent", "tables/tdc_dti_patent_sample.csv"),
                       ("tdc-drugcomb", "tables/drugcomb_sample.csv"), ("parallel-text", "tables/parallel_text_sample.tsv")]

  /// Each shipped table as CRLF, with a BOM, piped, cut at a third and two thirds, and with seeded
  /// random byte damage: no crash, no hang, and every row stored or quarantined (a cut keeps every
  /// row it left complete).
  @Test(arguments: tables.map { $0.0 })
  func variantsOfShippedTables(preset: String) throws {
    let file = TestSupport.corpus(Self.tables.first { $0.0 == preset }!.1)
    let name = file.lastPathComponent
    let dir = TestSupport.tempDirectory()
    let original = try Data(contentsOf: file)
    let extra = ["--preset", preset]
    let base = try #require(try Hostile.ingest(file.path, extra: extra, what: name))
    let rows = original.split(separator: 0x0A).count - 1
    #expect(base.records + base.quarantined == rows, "\(name): \(base.records)+\(base.quarantined) of \(rows) rows")
    func write(_ data: Data, _ suffix: String) throws -> String {
      let url = dir.appendingPathComponent(name + "." + suffix)
      try data.write(to: url)
      return url.path
    }
    let crlf = Data(original.split(separator: 0x0A, omittingEmptySubsequences: false).map { Data($0) + Data([0x0D]) }
      .joined(separator: [0x0A]).dropLast())
    for (variant, data) in [("crlf", crlf), ("bom", Data([0xEF, 0xBB, 0xBF]) + original)] {
      let r = try Hostile.ingest(try write(data, variant), extra: extra, what: "\(name) \(variant)")
      #expect(r?.records == base.records && r?.quarantined == base.quarantined, "\(name) \(variant)")
    }
    let piped = try Hostile.ingest(file.path, stdin: true, extra: extra, what: "\(name) stdin")
    #expect(piped?.records == base.records && piped?.quarantined == base.quarantined, "\(name) stdin")
    for k in [1, 2] {
      let prefix = original.prefix(original.count * k / 3)
      let complete = prefix.split(separator: 0x0A, omittingEmptySubsequences: false).count - 2
      let r = try Hostile.ingest(try write(Data(prefix), "cut\(k)"), extra: extra, what: "\(name) cut \(k)/3")
      if let r { #expect(r.records + r.quarantined >= complete, "\(name) cut \(k)/3") }
    }
    var rng = SplitMix64(seed: fuzzSeed(default: 16))
    for round in 0..<6 {
      var bytes = Array(original)
      for _ in 0..<(1 + Int(rng.next() % 40)) {
        let at = 1 + Int(rng.next() % UInt64(bytes.count - 1))  // the header's first byte stays
        switch rng.next() % 4 {
        case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
        case 1: bytes.insert([0x22, 0x2C, 0x09, 0x0A, 0xFF][Int(rng.next() % 5)], at: at)
        case 2: bytes.remove(at: at)
        default: bytes.insert(contentsOf: [UInt8](repeating: 0x41, count: Int(rng.next() % 5000)), at: at)
        }
      }
      _ = try Hostile.ingest(try write(Data(bytes), "mut\(round)"), extra: extra, what: "\(name) mutation \(round)")
    }
    // A giant row (64 MiB, over a 1 MiB record limit) after the header: quarantined with the
    // limit named and passed over unbuffered; every other row as before.
    let lines = original.split(separator: 0x0A, omittingEmptySubsequences: false)
    var giant = Data(lines[0]) + Data([0x0A])
    giant.append(Data(repeating: 0x41, count: 64 << 20))
    giant.append(Data(lines[1].drop { $0 != 0x2C && $0 != 0x09 }) + Data([0x0A]))
    for line in lines.dropFirst() where !line.isEmpty { giant.append(Data(line) + Data([0x0A])) }
    let big = try #require(try Hostile.ingest(try write(giant, "giant"), extra: extra + ["--max-record-bytes", "1048576"],
                                              what: "\(name) giant row"))
    #expect(big.records == base.records && big.quarantined == base.quarantined + 1,
            "\(name) giant row: \(big.records)+\(big.quarantined)")
  }
}
