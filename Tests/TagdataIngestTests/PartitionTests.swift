import Foundation
import Testing
import TagdataCatalog
import TagdataIngest
import TagdataIO
import TagdataSources
import TestSupport

/// The partition contract: N partitions of the same inputs read every record exactly once, and
/// their catalogs merged equal one ingest of the inputs, dump for dump.
@Suite struct PartitionTests {
  static let counts = [1, 2, 3, 7]

  /// A folder with the inputs of every kind the tests use, made once.
  static let inputs: URL = {
    let dir = TestSupport.tempDirectory()
    func bytes(_ urls: [URL]) -> Data { urls.reduce(into: Data()) { $0.append(try! Data(contentsOf: $1)) } }
    // One large plain UniProt flat file and its CRLF twin.
    let flat = bytes(flatFiles)
    try! flat.write(to: dir.appendingPathComponent("big.dat"))
    var crlf = Data()
    for b in flat { if b == 0x0A { crlf.append(0x0D) }; crlf.append(b) }
    try! crlf.write(to: dir.appendingPathComponent("crlf.dat"))
    // One large SD file.
    let sdf = bytes(["pubchem.200.sdf", "pubchem_87396055.sdf", "Issue3228150.full.sdf"].map {
      TestSupport.corpus("pubchem/sdf/\($0)")
    })
    try! sdf.write(to: dir.appendingPathComponent("big.sdf"))
    // A multi-member gzip: each flat file its own member.
    let members = dir.appendingPathComponent("members.dat.gz").path
    let gz = flatFiles.map { "gzip -c '\($0.path)'" }.joined(separator: "; ")
    _ = try! TestSupport.shell("(\(gz)) > '\(members)'")
    // A CID-SMILES file (CRLF) from a SMILES corpus.
    let smi = String(decoding: try! Data(contentsOf: TestSupport.corpus("smiles/rdkit_canonSmiles.smi")), as: UTF8.self)
    let cid = smi.split(separator: "\n").prefix(300).compactMap { line -> String? in
      let f = line.split(separator: "\t")
      return f.count == 2 ? "\(f[1])\t\(f[0])\r\n" : nil
    }.joined()
    try! Data(cid.utf8).write(to: dir.appendingPathComponent("cid.smi"))
    // Hostile variants of the flat file: a byte-order mark; cut in the middle of a record; and a
    // giant record (one entry with a sequence of 1.2 million residues, quarantined for its declared
    // length) between ordinary ones, so that several cuts fall inside it.
    try! (Data([0xEF, 0xBB, 0xBF]) + flat).write(to: dir.appendingPathComponent("bom.dat"))
    try! flat.prefix(flat.count * 7 / 10).write(to: dir.appendingPathComponent("truncated.dat"))
    let entry = String(decoding: try! Data(contentsOf: TestSupport.corpus("uniprot/flat/H2CNN8.txt")), as: UTF8.self)
    let sq = entry.range(of: "\nSQ ")!.upperBound, seqStart = entry[sq...].firstIndex(of: "\n")!, end = entry.range(of: "\n//")!.lowerBound
    let giant = String(entry[..<seqStart]) + String(repeating: "\n     MKTAYIAKQR QISFVKSHFS RQLEERLGLI EVQAPILSRV GDGTQDNLSG AEKAVQVKVK", count: 20_000)
      + entry[end...]
    let middle = flat.range(of: Data("\n//\n".utf8), in: flat.count / 2..<flat.count)!.upperBound
    try! (flat.prefix(upTo: middle) + Data(giant.utf8) + flat.suffix(from: middle)).write(to: dir.appendingPathComponent("giant.dat"))
    // A file of one record.
    try! Data(contentsOf: TestSupport.corpus("uniprot/flat/H2CNN8.txt")).write(to: dir.appendingPathComponent("one.dat"))
    return dir
  }()

  static func path(_ name: String) -> String { inputs.appendingPathComponent(name).path }

  /// The inputs of each kind.
  static let kinds: [(name: String, files: [String])] = [
    ("many files", flatFiles.map(\.path) + ["uniprot/fasta/multi_ex.fasta", "uniprot/compressed/multi_ex.txt.gz",
      "pubchem/sdf/pubchem_87396055.sdf", "pubchem/sdf/Issue3228150.full.sdf", "bindingdb/bindingdb_2022m5_sample.tsv",
      "pubchem/xml/cid176.xml", "pubchem/asn/cid1.asn"].map { TestSupport.corpus($0).path }),
    ("one large flat file", [path("big.dat")]),
    ("one large CRLF flat file", [path("crlf.dat")]),
    ("one large SD file", [path("big.sdf")]),
    ("one large CRLF CID-SMILES file", [path("cid.smi")]),
    ("one BindingDB TSV", [TestSupport.corpus("bindingdb/bindingdb_2022m5_sample.tsv").path]),
    ("one large file among small ones", [path("big.dat"), TestSupport.corpus("uniprot/fasta/protein_lib.fa").path]),
    ("multi-member gzip", [path("members.dat.gz")]),
    ("a flat file with a byte-order mark", [path("bom.dat")]),
    ("a flat file cut inside a record", [path("truncated.dat")]),
    ("a giant record among ordinary ones", [path("giant.dat")]),
    ("fewer records than partitions", [path("one.dat")]),
  ]

  /// One ingest of `files` (in path order, as the plan orders them).
  static func single(_ files: [String], table: TableMapping? = nil) throws -> String {
    let path = TestSupport.tempDirectory().appendingPathComponent("single.sqlite").path
    let catalog = try Catalog(path: path)
    let ingestor = try Ingestor(catalog: catalog)
    for f in files.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
      let r = try table.map { try ingestor.ingestTable(path: f, mapping: $0) } ?? ingestor.ingest(path: f)
      #expect(r.status == .complete, "\(f): \(r.error ?? "")")
    }
    try ingestor.close()
    return path
  }

  /// The N partition catalogs of `files`.
  static func partitions(_ files: [String], _ n: Int, table: TableMapping? = nil) throws -> [String] {
    let dir = TestSupport.tempDirectory()
    return try (0..<n).map { i in
      let path = dir.appendingPathComponent("part-\(i).sqlite").path
      let catalog = try Catalog(path: path)
      let ingestor = try Ingestor(catalog: catalog)
      let plan = try PartitionPlan(files: files, partitions: n, splitFiles: table == nil)
      for unit in plan.units(for: i) {
        let r = try ingestor.ingest(unit: unit, partition: PartitionSpec(index: i, count: n), table: table)
        #expect(r.status == .complete, "\(unit): \(r.error ?? "")")
      }
      try ingestor.close()
      let violations = try catalog.foreignKeyViolations()
      #expect(violations.isEmpty, "\(violations.prefix(3))")
      return path
    }
  }

  /// Every record (stored or quarantined) of a catalog: file, byte offset and what it became.
  static func records(_ path: String) throws -> [String] {
    let catalog = try Catalog(path: path, readOnly: true)
    var out: [String] = []
    for sql in [
      "SELECT s.path, r.byte_offset, hex(p.sha256) FROM records r JOIN sources s ON s.id = r.source_id JOIN proteins p ON p.id = r.protein_id",
      "SELECT s.path, r.byte_offset, m.smiles FROM molecule_records r JOIN sources s ON s.id = r.source_id JOIN molecules m ON m.id = r.molecule_id",
      """
      SELECT s.path, r.byte_offset, m.smiles || ' ' || hex(t.key) FROM binding_records r JOIN sources s ON s.id = r.source_id
      JOIN molecules m ON m.id = r.molecule_id JOIN targets t ON t.id = r.target_id
      """,
      "SELECT s.path, q.byte_offset, q.reason FROM quarantine q JOIN sources s ON s.id = q.source_id",
    ] {
      let s = try catalog.db.prepare(sql)
      while try s.step() { out.append("\(s.text(0) ?? "")\t\(s.int(1))\t\(s.text(2) ?? "")") }
    }
    return out.sorted()
  }

  static func dump(_ path: String, provenance: Bool) throws -> [String] {
    try Catalog(path: path, readOnly: true).dump(provenance: provenance)
  }

  static func merge(_ parts: [String]) throws -> String {
    let path = TestSupport.tempDirectory().appendingPathComponent("merged.sqlite").path
    let catalog = try Catalog(path: path)
    _ = try catalog.merge(parts: parts, arguments: "test", now: "2026-01-01T00:00:00Z")
    #expect(try MergedContentHash.fill(catalog).isEmpty)
    let violations = try catalog.foreignKeyViolations()
    #expect(violations.isEmpty, "\(violations.prefix(3))")
    return path
  }

  @Test func partitionSpecsParse() throws {
    #expect(try PartitionSpec(parsing: "2/7") == PartitionSpec(index: 2, count: 7))
    for bad in ["7/7", "-1/3", "1/0", "1", "a/b", "1/2/3"] {
      #expect(throws: PartitionError.self, "\(bad)") { try PartitionSpec(parsing: bad) }
    }
  }

  @Test func planIsDeterministicAndCoversEveryByte() throws {
    for (name, files) in Self.kinds {
      for n in [1, 2, 3, 5, 7, 16] {
        let plan = try PartitionPlan(files: files, partitions: n)
        let again = try PartitionPlan(files: files.reversed(), partitions: n)
        #expect(plan.assignments.map { "\($0.unit) \($0.partition)" } == again.assignments.map { "\($0.unit) \($0.partition)" })
        // Each file: whole once, or ranges that follow each other from 0 to its size.
        for f in Set(files) {
          let units = plan.assignments.map(\.unit).filter { $0.path == f }
          let size = try FileSource(path: f).size!
          if units.count == 1, units[0].range == nil { continue }
          let ranges = units.compactMap(\.range).sorted { $0.lowerBound < $1.lowerBound }
          #expect(ranges.count == units.count && ranges.first?.lowerBound == 0 && ranges.last?.upperBound == size, "\(name) \(n)")
          for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound, "\(name) \(n)") }
        }
      }
    }
    // One file splits into N ranges; a multi-member gzip into spans of whole members; a
    // compressed file of another kind never does.
    #expect(try PartitionPlan(files: [Self.path("big.dat")], partitions: 3).assignments.count == 3)
    #expect(try PartitionPlan(files: [Self.path("members.dat.gz")], partitions: 3).assignments.allSatisfy { $0.unit.members != nil })
    #expect(try PartitionPlan(files: [Self.path("members.dat.gz")], partitions: 3).assignments.count > 1)
    let zip = TestSupport.corpus("bindingdb/bindingdb_2022m5_sample.tsv.zip").path
    #expect(try PartitionPlan(files: [zip], partitions: 3).assignments.map(\.unit.range) == [nil])
    #expect(throws: PartitionError.self) { try PartitionPlan(files: ["-"], partitions: 2) }
    // A FIFO is refused without being opened; a missing file is a whole unit (its partition reports it).
    let fifo = TestSupport.tempDirectory().appendingPathComponent("fifo").path
    _ = try TestSupport.shell("mkfifo '\(fifo)'")
    #expect(throws: PartitionError.self) { try PartitionPlan(files: [fifo], partitions: 2) }
    let missing = try PartitionPlan(files: ["/nonexistent/x.dat", Self.path("one.dat")], partitions: 2)
    #expect(missing.assignments.filter { $0.unit.path == "/nonexistent/x.dat" }.map(\.unit.range) == [nil])
  }

  @Test func boundariesFollowTheReaders() throws {
    let flat = Self.path("big.dat"), crlf = Self.path("crlf.dat"), sdf = Self.path("big.sdf")
    for (file, format, end) in [(flat, InputFormat.uniprotFlat, "//\n"), (crlf, .uniprotFlat, "//\r\n"), (sdf, .sdf, "$$$$\n")] {
      let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
      let size = Int64(bytes.count)
      var inside = 0
      for from in stride(from: Int64(1), to: size, by: 997) {
        let b = try format.nextRecordStart(path: file, from: from, size: size)
        #expect(b >= from)
        if b < size {
          // Just after a record's end line, and no other boundary between.
          #expect(Array(bytes[Int(b) - end.utf8.count..<Int(b)]) == Array(end.utf8), "\(file) \(from)")
          let needle = Array(("\n" + end).utf8)
          let lastStart = Int(b) - needle.count
          var earlier = false
          if lastStart > Int(from) {
            for i in Int(from)..<lastStart where bytes[i] == 0x0A && Array(bytes[i..<i + needle.count]) == needle { earlier = true }
          }
          #expect(!earlier, "\(file) \(from)")
        }
        if b > from { inside += 1 }
      }
      // Most cuts land inside a record and are moved forward.
      #expect(inside > 10)
    }
    let bytes = [UInt8](try Data(contentsOf: TestSupport.corpus("uniprot/fasta/protein_lib.fa")))
    let fa = TestSupport.corpus("uniprot/fasta/protein_lib.fa").path
    let b = try InputFormat.fasta.nextRecordStart(path: fa, from: 10, size: Int64(bytes.count))
    #expect(bytes[Int(b)] == UInt8(ascii: ">") && bytes[Int(b) - 1] == 0x0A)
  }

  @Test(arguments: counts) func partitionsReadEveryRecordOnce(n: Int) throws {
    for (name, files) in Self.kinds {
      let whole = try Self.records(Self.single(files))
      #expect(!whole.isEmpty)
      let parts = try Self.partitions(files, n).flatMap { try Self.records($0) }.sorted()
      let extra = Set(parts).subtracting(whole).sorted().prefix(3), lost = Set(whole).subtracting(parts).sorted().prefix(3)
      #expect(parts == whole, "\(name), \(n) partitions: \(parts.count) records, single ingest \(whole.count); only in the partitions: \(extra); lost: \(lost)")
    }
  }

  @Test(arguments: counts) func mergedEqualsSingleIngest(n: Int) throws {
    for (name, files) in Self.kinds {
      let single = try Self.single(files)
      let merged = try Self.merge(Self.partitions(files, n))
      let m = try Self.dump(merged, provenance: false), o = try Self.dump(single, provenance: false)
      #expect(m == o, "\(name), \(n): \(m.count) lines merged, \(o.count) single; first difference \(zip(m, o).first { $0 != $1 }.map { "\($0.prefix(200))\n\($1.prefix(200))" } ?? "in length")")
      // With provenance too: records keep the whole file's numbers, lines and offsets.
      let a = try Self.dump(merged, provenance: true), b = try Self.dump(single, provenance: true)
      #expect(a == b, "\(name), \(n): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0)\n\($1)" } ?? "in length")")
    }
  }

  @Test(arguments: counts) func mergedTablesEqualSingleIngest(n: Int) throws {
    let mapping = try #require(TableMapping.presets["tdc-dti"])
    let dir = TestSupport.tempDirectory()
    let copy = dir.appendingPathComponent("copy.csv")
    try Data(contentsOf: TestSupport.corpus("tables/tdc_dti_sample.csv")).write(to: copy)
    let files = [TestSupport.corpus("tables/tdc_dti_sample.csv").path, copy.path]
    let single = try Self.single(files, table: mapping)
    let parts = try Self.partitions(files, n, table: mapping)
    // Each part's molecules' group keys stored, as `tagdata catalog groups` stores them.
    for p in parts + [single] { try Catalog(path: p).fillMoleculeGroups() }
    let merged = try Self.merge(parts)
    #expect(try Self.dump(merged, provenance: true) == Self.dump(single, provenance: true))
    // The molecules' group keys, which the dump leaves out, come along: as the single catalog stores them.
    let g = try Self.moleculeGroups(merged)
    let s = try Self.moleculeGroups(single)
    #expect(!g.isEmpty && g == s)
  }

  /// Each molecule's stored parent and scaffold, by SMILES.
  static func moleculeGroups(_ path: String) throws -> [String] {
    let s = try Catalog(path: path, readOnly: true).db.prepare("""
      SELECT m.smiles, g.parent, g.scaffold, g.version FROM molecule_groups g JOIN molecules m ON m.id = g.molecule_id
      """)
    var out: [String] = []
    while try s.step() { out.append((0..<4).map { s.text(Int32($0)) ?? "" }.joined(separator: "\t")) }
    return out.sorted()
  }

  @Test func mergingAgainChangesNothing() throws {
    let files = Self.kinds[0].files + [Self.path("big.dat")]
    let parts = try Self.partitions(files, 3)
    let merged = try Self.merge(parts)
    let before = try Self.dump(merged, provenance: true)
    let catalog = try Catalog(path: merged)
    _ = try catalog.merge(parts: [parts[1], parts[1]] + parts, arguments: "again", now: "2026-01-01T00:00:00Z")
    #expect(try catalog.dump(provenance: true) == before)
    #expect(try catalog.db.scalar("SELECT count(*) FROM sources") == Int64(Set(files).count))
  }

  @Test func mergeRefusesMissingRanges() throws {
    let parts = try Self.partitions([Self.path("big.dat")], 3)
    let path = TestSupport.tempDirectory().appendingPathComponent("m.sqlite").path
    let catalog = try Catalog(path: path)
    #expect {
      try catalog.merge(parts: [parts[0], parts[2]], arguments: "", now: "")
    } throws: { error in
      guard let e = error as? MergeError, case .incompleteRanges = e else { return false }
      return "\(e)".contains("big.dat") && "\(e)".contains("missing")
    }
    #expect(try catalog.db.scalar("SELECT count(*) FROM proteins") == 0)
  }

  /// The same compound (CID and structure) in two files with different identifiers, and the same
  /// entry in two files with different names: the merge keeps what one ingest in path order
  /// keeps (the first file's), whichever partition holds which file.
  @Test(arguments: counts) func conflictingDuplicatesKeepTheFirstFilesValues(n: Int) throws {
    let dir = TestSupport.tempDirectory()
    let sdf = String(decoding: try Data(contentsOf: TestSupport.corpus("pubchem/sdf/pubchem_87396055.sdf")), as: UTF8.self)
    func key(_ text: String, _ value: String) -> String {
      var lines = text.components(separatedBy: "\n")
      let i = lines.firstIndex(of: "> <PUBCHEM_IUPAC_INCHIKEY>")!
      lines[i + 1] = value
      return lines.joined(separator: "\n")
    }
    // The second file is larger: whole-file balancing gives it to partition 0, merged first.
    try Data(key(sdf, "AAAAAAAAAAAAAA-AAAAAAAAAA-N").utf8).write(to: dir.appendingPathComponent("a.sdf"))
    try Data((key(sdf, "BBBBBBBBBBBBBB-BBBBBBBBBB-N") + "\n\n\n\n").utf8).write(to: dir.appendingPathComponent("b.sdf"))
    let flat = String(decoding: try Data(contentsOf: TestSupport.corpus("uniprot/flat/H2CNN8.txt")), as: UTF8.self)
    let gene = try #require(flat.components(separatedBy: "\n").first { $0.hasPrefix("GN   ") })
    try Data(flat.replacingOccurrences(of: gene, with: "GN   Name=first;").utf8).write(to: dir.appendingPathComponent("a.dat"))
    try Data((flat.replacingOccurrences(of: gene, with: "GN   Name=second;") + "\n\n\n\n").utf8)
      .write(to: dir.appendingPathComponent("b.dat"))
    let files = ["a.sdf", "b.sdf", "a.dat", "b.dat"].map { dir.appendingPathComponent($0).path }
    let single = try Self.single(files)
    let dump = try Self.dump(single, provenance: false)
    #expect(dump.contains { $0.hasPrefix("compound\t") && $0.contains("AAAAAAAAAAAAAA") })
    #expect(dump.contains { $0.hasPrefix("entry\t") && $0.contains("\tfirst\t") })
    let merged = try Self.merge(Self.partitions(files, n))
    #expect(try Self.dump(merged, provenance: true) == Self.dump(single, provenance: true))
  }

  @Test func mergeRefusesAnInterruptedPartition() throws {
    let parts = try Self.partitions([Self.path("big.dat")], 2)
    try Catalog(path: parts[1]).db.execute("UPDATE sources SET status = 'partial'")
    let out = try Catalog(path: TestSupport.tempDirectory().appendingPathComponent("m.sqlite").path)
    #expect {
      try out.merge(parts: parts, arguments: "", now: "")
    } throws: { error in
      "\(error)".contains("big.dat") && "\(error)".contains("run that partition again") && "\(error)".contains(parts[1])
    }
  }

  @Test func commandLineIngestsAPartitionAndMerges() throws {
    let dir = TestSupport.tempDirectory()
    let file = Self.path("big.sdf")
    var parts: [String] = []
    for i in 0..<2 {
      let part = dir.appendingPathComponent("p\(i).sqlite").path
      let out = try TestSupport.tagdata(["ingest", "--quiet", "--partition", "\(i)/2", "--catalog", part, file])
      #expect(out.status == 0, "\(out.stderr)")
      parts.append(part)
      let c = try Catalog(path: part, readOnly: true)
      #expect(try c.db.scalar("SELECT count(*) FROM partition_ranges WHERE partition = \(i) AND partitions = 2 AND range_end IS NOT NULL") == 1)
    }
    let merged = dir.appendingPathComponent("m.sqlite").path
    let out = try TestSupport.tagdata(["catalog", "merge", "--out", merged] + parts)
    #expect(out.status == 0, "\(out.stderr)")
    let single = try Self.single([file])
    #expect(try Self.dump(merged, provenance: true) == Self.dump(single, provenance: true))
    let bad = try TestSupport.tagdata(["ingest", "--partition", "2/2", "--catalog", merged, file])
    #expect(bad.status == 64)
    // Catalogs of another schema version are refused, with the reason.
    try Catalog(path: parts[0]).db.execute("PRAGMA user_version = 7")
    let old = try TestSupport.tagdata(["catalog", "merge", "--out", dir.appendingPathComponent("m2.sqlite").path] + parts)
    #expect(old.status == 74 && old.stderr.contains("schema version 7"), "\(old.stderr)")
  }
}

@Suite struct PartitionResumeTests {
  /// A range whose ingest stopped after some batches (its checkpoint as a killed run leaves it)
  /// is resumed at the checkpoint: the same rows, lines and counts as reading it in one go.
  @Test(arguments: ["big.dat", "big.sdf", "cid.smi"]) func rangeResumesAtItsCheckpoint(name: String) throws {
    let file = PartitionTests.path(name)
    let plan = try PartitionPlan(files: [file], partitions: 3)
    let unit = try #require(plan.units(for: 1).first { $0.range != nil })
    let spec = try PartitionSpec(index: 1, count: 3)
    try PartitionResumeCheck.expectResumesAtItsCheckpoint(unit, spec)
  }
}
