import Foundation
import TestSupport
import Testing

/// Hostile use of `tagdata ingest --partition` and `tagdata catalog merge`, as a user on a
/// cluster makes it. Every run of the binary is bounded in time (`timeout`).
@Suite struct IngestPartitionHostileTests {
  @discardableResult
  static func tagdata(_ arguments: [String]) throws -> TestSupport.Output {
    try TestSupport.run("/usr/bin/timeout", ["-s", "KILL", "300", TestSupport.tagdataBinary] + arguments)
  }

  /// A partition that read whole files only leaves no byte range for the merge to miss: a merge
  /// without its catalog once gave, silently, a catalog without those files. Every partition's
  /// catalog is needed, also that of a partition with no unit (more partitions than units);
  /// partitions of another N are refused.
  @Test func everyPartitionIsNeeded() throws {
    let dir = TestSupport.tempDirectory().path
    let fm = FileManager.default
    // One SD file cut in two ranges; two smaller files whole, both in partition 2 of 3.
    for (name, corpus) in [("a.sdf", "pubchem/sdf/pubchem.200.sdf"), ("b.tsv", "bindingdb/bindingdb_2015m10_sample.tsv"),
                           ("u.txt", "uniprot/flat/multi_ex.txt")]
    {
      try fm.copyItem(atPath: TestSupport.corpus(corpus).path, toPath: dir + "/" + name)
    }
    let files = ["a.sdf", "b.tsv", "u.txt"].map { dir + "/" + $0 }
    func ingest(_ n: Int) throws -> [String] {
      var parts: [String] = []
      for i in 0..<n {
        parts.append(dir + "/n\(n)-\(i).sqlite")
        let r = try Self.tagdata(["ingest", "--quiet", "--partition", "\(i)/\(n)", "--catalog", parts[i]] + files)
        #expect(r.status == 0, "\(i)/\(n): \(r.stderr)")
      }
      return parts
    }
    let single = dir + "/single.sqlite"
    #expect(try Self.tagdata(["ingest", "--quiet", "--catalog", single] + files).status == 0)
    let expected = try Self.tagdata(["catalog", "dump", "--catalog", single]).stdout
    let three = try ingest(3)
    // Which partition read only whole files (the plan gives the two halves of a.sdf to two
    // partitions, and the two small files to the third).
    var wholeOnly: Int?
    for (i, p) in three.enumerated() {
      let m = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: p + ".partition.json")))
                             as? [String: Any])
      let units = try #require(m["units"] as? [[String: Any]])
      if !units.isEmpty && units.allSatisfy({ $0["start"] == nil }) { wholeOnly = i }
    }
    let w = try #require(wholeOnly, "a partition reads whole files only")
    let without = three.enumerated().filter { $0.offset != w }.map(\.element)
    let r = try Self.tagdata(["catalog", "merge", "--out", dir + "/m1.sqlite"] + without)
    #expect(r.status == 74, "merged without partition \(w): \(r.stderr)")
    #expect(r.stderr.contains("ingest partitions missing: \(w)/3"), "\(r.stderr)")
    // All three: the single ingest.
    let ok = try Self.tagdata(["catalog", "merge", "--out", dir + "/m3.sqlite"] + three.reversed())
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(try Self.tagdata(["catalog", "dump", "--catalog", dir + "/m3.sqlite"]).stdout == expected)
    // 50 partitions of 3 files: many read nothing; all are needed, and merge to the single ingest.
    let fifty = try ingest(50)
    let some = try Self.tagdata(["catalog", "merge", "--out", dir + "/m49.sqlite"] + fifty.dropLast())
    #expect(some.status == 74 && some.stderr.contains("49/50"), "\(some.stderr)")
    let all = try Self.tagdata(["catalog", "merge", "--out", dir + "/m50.sqlite"] + fifty.shuffled())
    #expect(all.status == 0, "\(all.stderr)")
    #expect(try Self.tagdata(["catalog", "dump", "--catalog", dir + "/m50.sqlite"]).stdout == expected)
    // Partitions of another N.
    let mixed = try Self.tagdata(["catalog", "merge", "--out", dir + "/mx.sqlite", three[0], three[1], three[2], fifty[7]])
    #expect(mixed.status == 74 && mixed.stderr.contains("one N"), "\(mixed.stderr)")
  }

  /// A partition whose only unit is a missing input fails before it records any unit, and
  /// writes no manifest: given with the others it still counts (its run names its partition),
  /// and the merge equals one ingest of the same inputs.
  @Test func aPartitionThatFailedOnAMissingInputCounts() throws {
    let dir = TestSupport.tempDirectory().path
    // Whole units only (single-member gzip), and a missing file: the smallest unit, alone in its partition.
    _ = try TestSupport.shell("gzip -c '\(TestSupport.corpus("pubchem/sdf/pubchem.200.sdf").path)' > '\(dir)/a.sdf.gz'; "
                                + "gzip -c '\(TestSupport.corpus("uniprot/flat/multi_ex.txt").path)' > '\(dir)/u.txt.gz'")
    let files = [dir + "/a.sdf.gz", dir + "/missing.sdf", dir + "/u.txt.gz"]
    let single = dir + "/single.sqlite"
    try Self.tagdata(["ingest", "--quiet", "--catalog", single] + files)
    let expected = try Self.tagdata(["catalog", "dump", "--catalog", single]).stdout
    var parts: [String] = []
    var failed: [Int] = []
    for i in 0..<5 {
      parts.append(dir + "/p\(i).sqlite")
      if try Self.tagdata(["ingest", "--quiet", "--partition", "\(i)/5", "--catalog", parts[i]] + files).status != 0 { failed.append(i) }
    }
    #expect(failed.count == 1, "one partition reads the missing file: \(failed)")
    let m = try Self.tagdata(["catalog", "merge", "--out", dir + "/m.sqlite"] + parts)
    #expect(m.status == 0, "\(m.stderr)")
    #expect(try Self.tagdata(["catalog", "dump", "--catalog", dir + "/m.sqlite"]).stdout == expected)
    if let f = failed.first {
      let without = try Self.tagdata(["catalog", "merge", "--out", dir + "/m2.sqlite"] + parts.enumerated().filter { $0.offset != f }.map(\.element))
      #expect(without.status == 74 && without.stderr.contains("ingest partitions missing: \(f)/5"), "\(without.stderr)")
    }
  }

  /// A file that grew between its partitions' runs (each planned it at its own size): the merge
  /// refuses, saying the file changed, not that a partition is missing.
  @Test func aFileChangedBetweenPartitionsIsNamed() throws {
    let dir = TestSupport.tempDirectory().path
    let file = dir + "/g.sdf"
    let sdf = try Data(contentsOf: TestSupport.corpus("pubchem/sdf/pubchem.200.sdf"))
    try sdf.write(to: URL(fileURLWithPath: file))
    #expect(try Self.tagdata(["ingest", "--quiet", "--partition", "0/2", "--catalog", dir + "/p0.sqlite", file]).status == 0)
    try (sdf + sdf).write(to: URL(fileURLWithPath: file))
    #expect(try Self.tagdata(["ingest", "--quiet", "--partition", "1/2", "--catalog", dir + "/p1.sqlite", file]).status == 0)
    let m = try Self.tagdata(["catalog", "merge", "--out", dir + "/m.sqlite", dir + "/p0.sqlite", dir + "/p1.sqlite"])
    #expect(m.status == 74 && m.stderr.contains("changed between its partitions"), "\(m.stderr)")
  }
}
