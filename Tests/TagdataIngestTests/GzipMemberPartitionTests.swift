import CZlib
import Foundation
import Testing
import TagdataCatalog
import TagdataIngest
import TagdataIO
import TagdataSources
import TestSupport

/// gzip members written with zlib: plain members, and BGZF blocks (a member whose header has the
/// extra subfield `BC` holding the block's size less one, as the SAM/BGZF specification says).
enum GzipWriter {
  /// One member of `bytes`.
  static func member(_ bytes: ArraySlice<UInt8>, bgzf: Bool = false) -> [UInt8] {
    var stream = z_stream()
    precondition(tagdata_deflateInit2(&stream, 6, -15) == Z_OK)
    defer { deflateEnd(&stream) }
    var input = Array(bytes)
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
    let produced = input.withUnsafeMutableBufferPointer { i in
      output.withUnsafeMutableBufferPointer { o in
        stream.next_in = i.baseAddress
        stream.avail_in = uInt(i.count)
        stream.next_out = o.baseAddress
        stream.avail_out = uInt(o.count)
        precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
        return o.count - Int(stream.avail_out)
      }
    }
    let body = output.prefix(produced)
    let crc = input.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    func le32(_ x: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) } }
    var out: [UInt8] = [0x1F, 0x8B, 8, bgzf ? 4 : 0, 0, 0, 0, 0, 0, 0xFF]
    if bgzf {
      let total = 10 + 8 + body.count + 8
      precondition(total <= 1 << 16, "a BGZF block holds at most 64 KiB")
      out += [6, 0, UInt8(ascii: "B"), UInt8(ascii: "C"), 2, 0, UInt8((total - 1) & 0xFF), UInt8((total - 1) >> 8)]
    }
    out += body
    out += le32(crc) + le32(UInt32(truncatingIfNeeded: input.count))
    return out
  }

  /// `bytes` as members cut at `cuts` (offsets into `bytes`, ascending), with an empty member
  /// inserted before member `emptyAt` when given.
  static func members(_ bytes: [UInt8], cuts: [Int], emptyAt: Int? = nil, bgzf: Bool = false) -> [UInt8] {
    let bounds = [0] + cuts + [bytes.count]
    var out: [UInt8] = []
    for k in 0..<bounds.count - 1 {
      if k == emptyAt { out += member([], bgzf: bgzf) }
      out += member(bytes[bounds[k]..<bounds[k + 1]], bgzf: bgzf)
    }
    return out
  }

  /// BGZF as bgzip writes it: 64 KiB of input per block (less, so that a block compresses into
  /// 64 KiB), cut regardless of records, and the empty end-of-file block.
  static func bgzf(_ bytes: [UInt8]) -> [UInt8] {
    let cuts = Array(stride(from: 0xFF00, to: bytes.count, by: 0xFF00))
    return members(bytes, cuts: cuts, bgzf: true) + member([], bgzf: true)
  }
}

/// Multi-member gzip files cut into spans of whole members: N partitions merged equal one ingest,
/// provenance and quarantine included.
@Suite struct GzipMemberPartitionTests {
  static let counts = [1, 2, 3, 7]

  static let inputs: URL = {
    let dir = TestSupport.tempDirectory()
    func file(_ name: String) -> [UInt8] { [UInt8](try! Data(contentsOf: PartitionTests.inputs.appendingPathComponent(name))) }
    func write(_ bytes: [UInt8], _ name: String) { try! Data(bytes).write(to: dir.appendingPathComponent(name)) }
    /// Cuts every `step` bytes (prime steps land inside records, lines and CRLF pairs).
    func cuts(_ bytes: [UInt8], _ step: Int) -> [Int] { Array(stride(from: step, to: bytes.count, by: step)) }
    let flat = file("big.dat")
    // The shipped flat files cut into members every 7919 bytes, an empty member among them.
    write(GzipWriter.members(flat, cuts: cuts(flat, 7919), emptyAt: 5), "cut.dat.gz")
    // Cut exactly at record ends (`cat a.gz b.gz` of whole files).
    var ends: [Int] = []
    for i in 0..<flat.count - 3 where flat[i] == 0x0A && flat[i + 1] == 0x2F && flat[i + 2] == 0x2F && flat[i + 3] == 0x0A {
      ends.append(i + 4)
    }
    write(GzipWriter.members(flat, cuts: ends.filter { $0 < flat.count }), "records.dat.gz")
    // The same as BGZF.
    write(GzipWriter.bgzf(flat), "big.dat.bgz")
    // CRLF, SDF, CID-SMILES (CRLF) and BindingDB TSV (a header every range reads).
    let crlf = file("crlf.dat")
    write(GzipWriter.members(crlf, cuts: cuts(crlf, 5003)), "crlf.dat.gz")
    let sdf = file("big.sdf")
    write(GzipWriter.members(sdf, cuts: cuts(sdf, 3001)), "big.sdf.gz")
    let smi = file("cid.smi")
    write(GzipWriter.members(smi, cuts: cuts(smi, 997)), "cid.smi.gz")
    let tsv = [UInt8](try! Data(contentsOf: TestSupport.corpus("bindingdb/bindingdb_2022m5_sample.tsv")))
    write(GzipWriter.members(tsv, cuts: cuts(tsv, 4099)), "bindingdb.tsv.gz")
    // Hostile: the last member cut short (inside a record); a byte-order mark.
    let whole = GzipWriter.members(flat, cuts: cuts(flat, 7919))
    write(Array(whole.prefix(whole.count - 2000)), "truncated.dat.gz")
    write(GzipWriter.members([0xEF, 0xBB, 0xBF] + flat, cuts: cuts(flat, 6007)), "bom.dat.gz")
    // A corrupt BGZF block in the middle (found by its size, so that spans follow it): one read
    // stops there, and so must the merged partitions.
    let bounds = [0] + cuts(flat, 7919) + [flat.count]
    var corrupt: [UInt8] = []
    for k in 0..<bounds.count - 1 {
      var m = GzipWriter.member(flat[bounds[k]..<bounds[k + 1]], bgzf: true)
      if k == bounds.count / 2 { for i in m.count / 2..<m.count / 2 + 16 { m[i] = 0xFF } }
      corrupt += m
    }
    write(corrupt, "corrupt.dat.bgz")
    return dir
  }()

  static func path(_ name: String) -> String { inputs.appendingPathComponent(name).path }

  static let kinds = ["cut.dat.gz", "records.dat.gz", "big.dat.bgz", "crlf.dat.gz", "big.sdf.gz", "cid.smi.gz",
                      "bindingdb.tsv.gz", "bom.dat.gz"]

  @Test func membersAreFoundFromBGZFOrByInflating() throws {
    let bgzf = Self.path("big.dat.bgz"), size = try FileSource(path: bgzf).size!
    let fast = try GzipMembers.scan(path: bgzf, size: size)
    #expect(fast.bgzf && fast.members.count > 3)
    let slow = try GzipMembers.inflateScan(path: bgzf, size: size)
    #expect(!slow.bgzf && slow.members == fast.members && slow.decompressedSize == fast.decompressedSize)
    let flat = try Data(contentsOf: PartitionTests.inputs.appendingPathComponent("big.dat"))
    #expect(fast.decompressedSize == Int64(flat.count))
    // The last BGZF block is the empty end-of-file block.
    #expect(fast.members.last?.decompressedStart == Int64(flat.count))
    let cut = Self.path("cut.dat.gz")
    let scan = try GzipMembers.scan(path: cut, size: try FileSource(path: cut).size!)
    #expect(!scan.bgzf && scan.members.count == (flat.count + 7918) / 7919 + 1)
    #expect(scan.members.map(\.decompressedStart) == scan.members.map(\.decompressedStart).sorted())
    // A truncated file: its last member reaches to the end, and the size is unknown.
    let truncated = Self.path("truncated.dat.gz")
    let t = try GzipMembers.scan(path: truncated, size: try FileSource(path: truncated).size!)
    #expect(t.decompressedSize == nil && t.members.count > 3)
  }

  @Test func planCutsMultiMemberGzipIntoSpans() throws {
    for name in Self.kinds {
      for n in [1, 2, 3, 7, 16] {
        let plan = try PartitionPlan(files: [Self.path(name)], partitions: n)
        let units = plan.assignments.map(\.unit)
        #expect(units.count <= n && (n == 1 ? units.count == 1 : units.count > 1), "\(name) \(n)")
        if n > 1 {
          // Whole members, following each other from 0 to the file's size.
          let size = try FileSource(path: Self.path(name)).size!
          let ranges = units.compactMap(\.range).sorted { $0.lowerBound < $1.lowerBound }
          #expect(ranges.count == units.count && ranges.first?.lowerBound == 0 && ranges.last?.upperBound == size)
          for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
          #expect(units.allSatisfy { $0.members != nil })
          #expect(units.filter { $0.members?.decompressedEnd == nil }.count == 1)
        }
      }
    }
    // A single member is one unit.
    let one = TestSupport.tempDirectory().appendingPathComponent("one.dat.gz")
    _ = try TestSupport.shell("gzip -c '\(PartitionTests.path("big.dat"))' > '\(one.path)'")
    #expect(try PartitionPlan(files: [one.path], partitions: 3).assignments.map(\.unit.range) == [nil])
  }

  @Test(arguments: counts) func mergedEqualsSingleIngest(n: Int) throws {
    for name in Self.kinds {
      let files = [Self.path(name)]
      let single = try PartitionTests.single(files)
      let parts = try PartitionTests.partitions(files, n)
      let whole = try PartitionTests.records(single)
      #expect(whole.count > 10)
      let read = try parts.flatMap { try PartitionTests.records($0) }.sorted()
      #expect(read == whole, "\(name), \(n): \(read.count) records read, \(whole.count) in one ingest")
      let merged = try PartitionTests.merge(parts)
      let a = try PartitionTests.dump(merged, provenance: true), b = try PartitionTests.dump(single, provenance: true)
      #expect(a == b, "\(name), \(n): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0.prefix(300))\n\($1.prefix(300))" } ?? "in length \(a.count) \(b.count)")")
      #expect(!a.contains { $0.contains("incomplete") }, "\(name)")
    }
  }

  /// The last member cut short, or a BGZF block in the middle corrupt: one ingest keeps the
  /// records before the damage and marks the file failed; the merged partitions do the same, or,
  /// when spans after the damage were read (which one ingest never reaches), the merge refuses.
  @Test(arguments: [("truncated.dat.gz", 1), ("truncated.dat.gz", 2), ("truncated.dat.gz", 3), ("truncated.dat.gz", 7),
                    ("corrupt.dat.bgz", 1), ("corrupt.dat.bgz", 2), ("corrupt.dat.bgz", 3), ("corrupt.dat.bgz", 7)])
  func damagedMemberAsInOneIngest(name: String, n: Int) throws {
    let file = Self.path(name)
    let singlePath = TestSupport.tempDirectory().appendingPathComponent("single.sqlite").path
    let catalog = try Catalog(path: singlePath)
    let ingestor = try Ingestor(catalog: catalog)
    let report = try ingestor.ingest(path: file)
    try ingestor.close()
    #expect(report.status == .failed && report.records > 10)
    var parts: [String] = []
    var failed = 0
    let dir = TestSupport.tempDirectory()
    for i in 0..<n {
      let path = dir.appendingPathComponent("part-\(i).sqlite").path
      let part = try Catalog(path: path)
      let ing = try Ingestor(catalog: part)
      for unit in try PartitionPlan(files: [file], partitions: n).units(for: i) {
        let r = try ing.ingest(unit: unit, partition: PartitionSpec(index: i, count: n))
        if r.status == .failed {
          failed += 1
          #expect(r.error?.contains("gzip") == true, "\(r.error ?? "")")
        }
      }
      try ing.close()
      parts.append(path)
    }
    #expect(failed >= 1)
    let out = TestSupport.tempDirectory().appendingPathComponent("merged.sqlite").path
    let merged = try Catalog(path: out)
    if name.hasSuffix(".bgz"), n > 1 {
      // Spans after the damage read records that one ingest never reaches.
      #expect(try parts.map { try PartitionTests.records($0).count }.reduce(0, +) > report.records + report.quarantined)
      #expect {
        try merged.merge(parts: parts, arguments: "test", now: "2026-01-01T00:00:00Z")
      } throws: { "\($0)".contains("corrupt.dat.bgz") && "\($0)".contains("damaged in the middle") }
      #expect(try merged.db.scalar("SELECT count(*) FROM proteins") == 0)
      return
    }
    _ = try merged.merge(parts: parts, arguments: "test", now: "2026-01-01T00:00:00Z")
    _ = try MergedContentHash.fill(merged)
    #expect(try merged.db.text("SELECT status FROM sources") == "failed")
    let a = try merged.dump(provenance: true), b = try Catalog(path: singlePath, readOnly: true).dump(provenance: true)
    #expect(a == b, "\(n): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0.prefix(300))\n\($1.prefix(300))" } ?? "in length \(a.count) \(b.count)")")
  }

  /// A span's ingest killed after some batches resumes at its checkpoint: the same rows and counts.
  @Test(arguments: ["cut.dat.gz", "big.sdf.gz", "big.dat.bgz"]) func spanResumesAtItsCheckpoint(name: String) throws {
    let file = Self.path(name)
    let plan = try PartitionPlan(files: [file], partitions: 3)
    // A span that starts inside the file (it skips to its first record).
    let assigned = try #require(plan.assignments.first { $0.unit.members?.decompressedStart ?? 0 > 0 })
    let unit = assigned.unit
    let spec = try PartitionSpec(index: assigned.partition, count: 3)
    try PartitionResumeCheck.expectResumesAtItsCheckpoint(unit, spec)
  }

  @Test func commandLineIngestsSpansAndMerges() throws {
    let dir = TestSupport.tempDirectory()
    let file = Self.path("big.dat.bgz")
    var parts: [String] = []
    for i in 0..<3 {
      let part = dir.appendingPathComponent("p\(i).sqlite").path
      let out = try TestSupport.tagdata(["ingest", "--quiet", "--partition", "\(i)/3", "--catalog", part, file])
      #expect(out.status == 0, "\(out.stderr)")
      parts.append(part)
    }
    let merged = dir.appendingPathComponent("m.sqlite").path
    let out = try TestSupport.tagdata(["catalog", "merge", "--out", merged] + parts)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(try PartitionTests.dump(merged, provenance: true) == PartitionTests.dump(PartitionTests.single([file]), provenance: true))
  }
}
