import Foundation
import TagdataCatalog
import TestSupport
import Testing

/// Hostile use of the partitioned build and export commands, as a user on a cluster makes it:
/// outputs that hold the inputs, killed runs, many partitions. Every run of the binary is
/// bounded in time (`timeout`).
@Suite struct PartitionHostileTests {
  /// A small catalog: UniProt entries and PubChem molecules.
  static let catalogPath: String = {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    _ = try? TestSupport.tagdata(["ingest", "--quiet", "--catalog", path, TestSupport.corpus("uniprot/flat/multi_ex.txt").path,
                                  TestSupport.corpus("pubchem/sdf/pubchem.200.sdf").path])
    return path
  }()

  /// Runs tagdata, killed (SIGKILL) after `seconds`.
  @discardableResult
  static func tagdata(_ arguments: [String], killAfter seconds: Double = 300) throws -> TestSupport.Output {
    try TestSupport.run("/usr/bin/timeout", ["-s", "KILL", String(seconds), TestSupport.tagdataBinary] + arguments)
  }

  static func files(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
      out[f] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))
    }
    return out
  }

  static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

  /// An output directory is replaced as a whole: an `--out` that is an input, or holds one (the
  /// catalog, the build, the partitions), or that is an existing file, is refused, and the
  /// input is left as it was (it was deleted).
  @Test func outputThatHoldsAnInputIsRefused() throws {
    let dir = TestSupport.tempDirectory().path
    let fm = FileManager.default
    try fm.createDirectory(atPath: dir + "/w", withIntermediateDirectories: true)
    try fm.copyItem(atPath: Self.catalogPath, toPath: dir + "/w/c.sqlite")
    let catalog = dir + "/w/c.sqlite"
    let catalogBytes = try Data(contentsOf: URL(fileURLWithPath: catalog))
    func refused(_ args: [String], status: Int32, _ needle: String, keeps: [String]) throws {
      let r = try Self.tagdata(args)
      #expect(r.status == status, "\(args): \(r.stderr)")
      #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
      for k in keeps { #expect(Self.exists(k), "\(args): \(k) is gone") }
    }
    // The build: --out the catalog itself, its folder, the folder under another spelling.
    try refused(["build", "--quiet", "--catalog", catalog, "--shards", "2", "--out", catalog], status: 74, "not a directory",
                keeps: [catalog])
    try refused(["build", "--quiet", "--catalog", catalog, "--shards", "2", "--out", dir + "/w"], status: 74,
                "would replace the catalog", keeps: [catalog])
    try refused(["build", "--quiet", "--catalog", catalog, "--shards", "2", "--out", dir + "/w/../w/"], status: 74,
                "would replace the catalog", keeps: [catalog])
    try refused(["build", "--quiet", "--catalog", catalog, "--shards", "2", "--partition", "0/2", "--out", dir + "/w"],
                status: 74, "would replace the catalog", keeps: [catalog])
    #expect(try Data(contentsOf: URL(fileURLWithPath: catalog)) == catalogBytes, "the catalog unchanged")
    // An existing file is not replaced by a directory.
    try Data("notes\n".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
    try refused(["build", "--quiet", "--catalog", catalog, "--shards", "2", "--out", dir + "/notes.txt"], status: 74,
                "not a directory", keeps: [dir + "/notes.txt"])

    // The merge of build partitions: --out the folder of the partitions, directly or through a link.
    let parts = [dir + "/parts/0", dir + "/parts/1"]
    for (i, p) in parts.enumerated() {
      let r = try Self.tagdata(["build", "--quiet", "--catalog", catalog, "--shards", "2", "--partition", "\(i)/2", "--out", p])
      #expect(r.status == 0, "\(r.stderr)")
    }
    try refused(["export", "--merge", "--out", dir + "/parts"] + parts, status: 74, "would replace the partition", keeps: parts)
    try fm.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/parts")
    try refused(["export", "--merge", "--out", dir + "/link"] + parts, status: 74, "would replace the partition", keeps: parts)
    try refused(["export", "--merge", "--out", dir + "/notes.txt"] + parts, status: 74, "not a directory",
                keeps: [dir + "/notes.txt"])
    let merged = try Self.tagdata(["export", "--merge", "--out", dir + "/build"] + parts)
    #expect(merged.status == 0, "\(merged.stderr)")

    // The tokenized export: --out the build; its merge: --out a partition, or their folder.
    try refused(["export", "--quiet", "--tokenized", dir + "/build", "--out", dir + "/build"], status: 1,
                "would replace the build", keeps: [dir + "/build/manifest.json"])
    let tparts = [dir + "/tparts/0", dir + "/tparts/1"]
    for (i, p) in tparts.enumerated() {
      let r = try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--partition", "\(i)/2", "--out", p])
      #expect(r.status == 0, "\(r.stderr)")
    }
    try refused(["export", "--merge", "--out", tparts[0]] + tparts, status: 1, "would replace the partition",
                keeps: [tparts[0] + "/partition.json"])
    try refused(["export", "--merge", "--out", dir + "/tparts"] + tparts, status: 1, "would replace the partition",
                keeps: tparts.map { $0 + "/partition.json" })
    let tokens = try Self.tagdata(["export", "--merge", "--out", dir + "/tokens"] + tparts)
    #expect(tokens.status == 0, "\(tokens.stderr)")
  }

  /// A tokenized export killed with SIGKILL leaves its staging directory (`.NAME.partial-PID`);
  /// the next export of the same output removes those of dead processes (gone, or zombies: a
  /// killed process under `timeout -s KILL` stays one where nothing reaps orphans), and the
  /// partitions rerun after kills merge into the dataset one process writes.
  @Test func killedTokenizedExportsLeaveNothingBehind() throws {
    let dir = TestSupport.tempDirectory().path
    let fm = FileManager.default
    let b = try Self.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "4", "--out", dir + "/build"])
    #expect(b.status == 0, "\(b.stderr)")
    let single = try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--out", dir + "/tokens"])
    #expect(single.status == 0, "\(single.stderr)")
    // The staging directories of killed exports (a process that is gone).
    // (a pid no process has: the highest free one below the system's limit).
    let limit = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8))
      .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 32768
    let pid = try #require(stride(from: limit - 1, to: 300, by: -1).first { kill($0, 0) != 0 && errno == ESRCH })
    try fm.createDirectory(atPath: dir + "/parts", withIntermediateDirectories: true)
    for left in [".0.partial-\(pid)", ".0.partial-\(pid).old", ".1.partial-\(pid)"] {
      try fm.createDirectory(atPath: dir + "/parts/" + left, withIntermediateDirectories: true)
      try Data(count: 1000).write(to: URL(fileURLWithPath: dir + "/parts/" + left + "/shard.tokens.bin"))
    }
    // Real kills at a few delays; whatever they leave is removed by the run after them.
    for delay in [0.05, 0.2] {
      try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--partition", "0/2", "--out", dir + "/parts/0"],
                       killAfter: delay)
    }
    var parts: [String] = []
    for i in 0..<2 {
      parts.append(dir + "/parts/\(i)")
      let r = try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--partition", "\(i)/2", "--out", parts[i]])
      #expect(r.status == 0, "\(r.stderr)")
    }
    let left = try fm.contentsOfDirectory(atPath: dir + "/parts").sorted()
    #expect(left == ["0", "1"], "left behind: \(left)")
    let m = try Self.tagdata(["export", "--merge", "--out", dir + "/merged"] + parts)
    #expect(m.status == 0, "\(m.stderr)")
    #expect(try Self.files(dir + "/merged") == Self.files(dir + "/tokens"), "merged equals single")
  }

  /// A `partition.json` edited, cut short, of a future format or not JSON at all: the merge
  /// refuses it naming the file, never traps (a negative or huge partition or shard count once
  /// sized an array by it) and never writes the output.
  @Test func damagedPartitionManifestsAreRefused() throws {
    let dir = TestSupport.tempDirectory().path
    let fm = FileManager.default
    var parts: [String] = []
    for i in 0..<2 {
      parts.append(dir + "/p\(i)")
      let r = try Self.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "2", "--partition", "\(i)/2",
                                "--out", parts[i]])
      #expect(r.status == 0, "\(r.stderr)")
    }
    let b = try Self.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "2", "--out", dir + "/build"])
    #expect(b.status == 0, "\(b.stderr)")
    var tparts: [String] = []
    for i in 0..<2 {
      tparts.append(dir + "/t\(i)")
      let r = try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--partition", "\(i)/2", "--out", tparts[i]])
      #expect(r.status == 0, "\(r.stderr)")
    }
    /// A copy of `part` whose manifest is `edit`ed (as JSON) or replaced by `bytes`.
    var copies = 0
    func damaged(_ part: String, edit: ((inout [String: Any]) -> Void)? = nil, bytes: Data? = nil) throws -> String {
      copies += 1
      let copy = dir + "/damaged\(copies)"
      try fm.copyItem(atPath: part, toPath: copy)
      let file = URL(fileURLWithPath: copy + "/partition.json")
      if let edit {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: file)
      }
      if let bytes { try bytes.write(to: file) }
      return copy
    }
    func refused(_ given: [String], status: Int32, _ needles: [String]) {
      do {
        let r = try Self.tagdata(["export", "--merge", "--out", dir + "/merged"] + given)
        #expect(r.status == status, "\(given): \(r.stderr)")
        #expect(needles.contains { r.stderr.contains($0) }, "\(given): \(r.stderr)")
      } catch {
        Issue.record("\(error)")
      }
      #expect(!Self.exists(dir + "/merged"), "nothing written")
    }
    let manifest = try Data(contentsOf: URL(fileURLWithPath: parts[1] + "/partition.json"))
    for (key, value) in [("partitions", -1), ("partitions", 1_000_000_000_000_000), ("partition", -3), ("shards", -2),
                         ("shards", 0)] as [(String, Int)]
    {
      // Both partitions damaged alike (the first is the one the others are compared with).
      let a = try damaged(parts[0]) { $0[key] = value }, b = try damaged(parts[1]) { $0[key] = value }
      refused([a, b], status: 74, ["does not exist", "shard files", "partitions missing"])
    }
    refused([parts[0], try damaged(parts[1], bytes: manifest.prefix(manifest.count / 2))], status: 74, ["not a build partition"])
    refused([parts[0], try damaged(parts[1], bytes: Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))],
            status: 74, ["not a build partition"])
    refused([parts[0], try damaged(parts[1], bytes: Data())], status: 74, ["not a build partition"])
    refused([parts[0], try damaged(parts[1]) { $0["format"] = "tagdata-build-partition/9" }], status: 74,
            ["format tagdata-build-partition/9"])
    // Token partitions.
    for (key, value) in [("partitions", -1), ("partitions", 1_000_000_000_000_000), ("partition", -3),
                         ("buildShards", -1), ("buildShards", 1_000_000_000_000_000)] as [(String, Int)]
    {
      let a = try damaged(tparts[0]) { $0[key] = value }, b = try damaged(tparts[1]) { $0[key] = value }
      refused([a, b], status: 1, ["does not exist", "partitions missing", "shards, the partitions hold"])
    }
    // A build's partition and a tokenized export's together, either first.
    refused([parts[0], tparts[1]], status: 74, ["another kind (tagdata-tokens-partition/1)"])
    refused([tparts[0], parts[1]], status: 74, ["another kind (tagdata-build-partition/1)"])
    // What is left merges.
    let m = try Self.tagdata(["export", "--merge", "--out", dir + "/merged"] + parts)
    #expect(m.status == 0, "\(m.stderr)")
    #expect(try Self.files(dir + "/merged") == Self.files(dir + "/build"))
  }

  /// Partitions of different builds (another seed, ablation, task list, split, catalog, tool
  /// version, shard count, compression): the merge refuses, naming the partition and what
  /// differs, and writes nothing.
  @Test func partitionsOfDifferentBuildsAreRefusedNamingTheDifference() throws {
    let dir = TestSupport.tempDirectory().path
    let fm = FileManager.default
    let base = ["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "2"]
    let p0 = dir + "/p0"
    #expect(try Self.tagdata(base + ["--partition", "0/2", "--out", p0]).status == 0)
    // A catalog with one more file.
    let other = dir + "/other.sqlite"
    try fm.copyItem(atPath: Self.catalogPath, toPath: other)
    #expect(try Self.tagdata(["ingest", "--quiet", "--catalog", other, TestSupport.corpus("uniprot/flat/P04439.txt").path]).status == 0)
    let cases: [(options: [String], needle: String)] = [
      (["--seed", "7"], "seed 7, not 42"),
      (["--ablation", "no-function"], "ablation no-function, not both"),
      (["--tasks", "SMILES,QED"], "tasks SMILES,QED, not "),
      (["--split", "scaffold"], "split"),
      (["--shards", "3"], "the number of shards (3)"),
      (["--gzip"], "the compression"),
    ]
    for (k, c) in cases.enumerated() {
      let p = dir + "/v\(k)"
      var args = base + ["--partition", "1/2", "--out", p] + c.options
      if c.options.first == "--shards" { args = ["build", "--quiet", "--catalog", Self.catalogPath, "--partition", "1/2", "--out", p] + c.options }
      let r = try Self.tagdata(args)
      #expect(r.status == 0, "\(c.options): \(r.stderr)")
      let m = try Self.tagdata(["export", "--merge", "--out", dir + "/merged", p0, p])
      #expect(m.status == 74, "\(c.options): \(m.stderr)")
      #expect(m.stderr.contains(p) && m.stderr.contains(c.needle), "\(c.options): \(m.stderr)")
      #expect(!Self.exists(dir + "/merged"))
    }
    let pc = dir + "/vc"
    #expect(try Self.tagdata(["build", "--quiet", "--catalog", other, "--shards", "2", "--partition", "1/2", "--out", pc]).status == 0)
    let mc = try Self.tagdata(["export", "--merge", "--out", dir + "/merged", p0, pc])
    #expect(mc.status == 74 && mc.stderr.contains(pc) && mc.stderr.contains("the catalog"), "\(mc.stderr)")
    // Another tool version (the manifest edited: it is not among the hashed files).
    let pv = dir + "/vv"
    #expect(try Self.tagdata(base + ["--partition", "1/2", "--out", pv]).status == 0)
    let file = URL(fileURLWithPath: pv + "/partition.json")
    var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
    object["tool_version"] = "0.0.1-other"
    try JSONSerialization.data(withJSONObject: object).write(to: file)
    let mv = try Self.tagdata(["export", "--merge", "--out", dir + "/merged", p0, pv])
    #expect(mv.status == 74 && mv.stderr.contains("the tool version (0.0.1-other)"), "\(mv.stderr)")
    // The same partition under two spellings.
    let p1 = dir + "/p1"
    #expect(try Self.tagdata(base + ["--partition", "1/2", "--out", p1]).status == 0)
    let twice = try Self.tagdata(["export", "--merge", "--out", dir + "/merged", p0, dir + "/./p1/", p1])
    #expect(twice.status == 74 && twice.stderr.contains("given twice"), "\(twice.stderr)")
    #expect(try Self.tagdata(["export", "--merge", "--out", dir + "/merged", p1, p0]).status == 0)
  }

  /// Many partitions (N larger than the source units of some tasks and than the shards): each
  /// finishes, and their merge equals the single build. Under an open-file limit too low for
  /// them the merge is refused up front with the limit named (exit 74), not at the shard where
  /// the limit is met.
  @Test func manyPartitionsAndTheOpenFileLimit() throws {
    let dir = TestSupport.tempDirectory().path
    let base = ["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "3", "--tasks", "Protein,SMILES"]
    #expect(try Self.tagdata(base + ["--out", dir + "/single"]).status == 0)
    let n = 24
    var parts: [String] = []
    for i in 0..<n {
      parts.append(dir + "/p/\(i)")
      let r = try Self.tagdata(base + ["--partition", "\(i)/\(n)", "--out", parts[i]])
      #expect(r.status == 0, "\(i): \(r.stderr)")
    }
    let m = try Self.tagdata(["export", "--merge", "--out", dir + "/merged"] + parts.shuffled())
    #expect(m.status == 0, "\(m.stderr)")
    #expect(try Self.files(dir + "/merged") == Self.files(dir + "/single"), "merged equals single")
    let limited = try TestSupport.shell("ulimit -n 40 && ulimit -Hn 40 && exec timeout -s KILL 120 '\(TestSupport.tagdataBinary)' "
                                          + "export --merge --out '\(dir)/limited' " + parts.map { "'\($0)'" }.joined(separator: " "))
    #expect(limited.status == 74, "\(limited.stderr)")
    #expect(limited.stderr.contains("merging \(n) partitions") && limited.stderr.contains("40"), "\(limited.stderr)")
    #expect(!Self.exists(dir + "/limited"))
  }

  /// The parts are not what they merge into: a labels part (some of a catalog's entities) is
  /// neither built from nor ingested into (both once went on, silently), and a build's
  /// partition is not tokenized as a build.
  @Test func partsAreNotUsedAsWholes() throws {
    let dir = TestSupport.tempDirectory().path
    let labels = dir + "/labels-0.sqlite"
    let d = try Self.tagdata(["describe", "--all", "--quiet", "--catalog", Self.catalogPath, "--partition", "0/2", "--out", labels])
    #expect(d.status == 0, "\(d.stderr)")
    let before = try Data(contentsOf: URL(fileURLWithPath: labels))
    let b = try Self.tagdata(["build", "--quiet", "--catalog", labels, "--out", dir + "/build"])
    #expect(b.status == 74 && b.stderr.contains("is a labels part"), "\(b.stderr)")
    #expect(!Self.exists(dir + "/build"))
    let i = try Self.tagdata(["ingest", "--quiet", "--catalog", labels, TestSupport.corpus("uniprot/flat/multi_ex.txt").path])
    #expect(i.status == 74 && i.stderr.contains("is a labels part"), "\(i.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: labels)) == before, "the labels part unchanged")
    let p = try Self.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "2", "--partition", "0/2",
                              "--out", dir + "/p0"])
    #expect(p.status == 0, "\(p.stderr)")
    let t = try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/p0", "--out", dir + "/tokens"])
    #expect(t.status == 1 && t.stderr.contains("is a partition of a build"), "\(t.stderr)")
  }

  /// A text file a task reads, edited between two partitions (its lines as many as before):
  /// the merge once gave a build of neither version; it refuses, naming the file.
  @Test func aTextFileChangedBetweenPartitionsIsRefused() throws {
    let dir = TestSupport.tempDirectory().path
    let text = dir + "/de.txt"
    try Data((1...40).map { "Dies ist Satz Nummer \($0) über Proteine.\n" }.joined().utf8).write(to: URL(fileURLWithPath: text))
    let base = ["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "2", "--tasks", "Language", "--text", "DE=" + text]
    #expect(try Self.tagdata(base + ["--partition", "0/2", "--out", dir + "/p0"]).status == 0)
    try Data((1...40).map { "Dies ist Satz Nummer \($0 == 3 ? "drei" : String($0)) über Proteine.\n" }.joined().utf8)
      .write(to: URL(fileURLWithPath: text))
    #expect(try Self.tagdata(base + ["--partition", "1/2", "--out", dir + "/p1"]).status == 0)
    let m = try Self.tagdata(["export", "--merge", "--out", dir + "/merged", dir + "/p0", dir + "/p1"])
    #expect(m.status == 74 && m.stderr.contains("the text file " + text), "\(m.stderr)")
    #expect(!Self.exists(dir + "/merged"))
    // Partition 0 again, of the file as it is now: the merge is the single build.
    #expect(try Self.tagdata(base + ["--partition", "0/2", "--out", dir + "/p0"]).status == 0)
    #expect(try Self.tagdata(base + ["--out", dir + "/single"]).status == 0)
    let ok = try Self.tagdata(["export", "--merge", "--out", dir + "/merged", dir + "/p0", dir + "/p1"])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(try Self.files(dir + "/merged") == Self.files(dir + "/single"))
  }

  /// Token partitions made with different options (--regression-as-text in one only: its
  /// vocabulary is the same) once merged into a dataset of mixed formulations; the merge
  /// refuses, naming the option.
  @Test func tokenPartitionsOfOtherOptionsAreRefused() throws {
    let dir = TestSupport.tempDirectory().path
    #expect(try Self.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "3", "--out", dir + "/build"]).status == 0)
    func part(_ i: Int, _ extra: [String], _ name: String) throws -> String {
      let out = dir + "/" + name
      let r = try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--partition", "\(i)/2", "--out", out] + extra)
      #expect(r.status == 0, "\(r.stderr)")
      return out
    }
    let a = try part(0, ["--regression-as-text"], "a0"), b = try part(1, [], "b1")
    let m = try Self.tagdata(["export", "--merge", "--out", dir + "/merged", a, b])
    #expect(m.status == 1 && m.stderr.contains("regressionAsText false, not true"), "\(m.stderr)")
    #expect(!Self.exists(dir + "/merged"))
    let b2 = try part(1, ["--regression-as-text"], "b2")
    #expect(try Self.tagdata(["export", "--merge", "--out", dir + "/merged", a, b2]).status == 0)
    #expect(try Self.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--regression-as-text", "--out", dir + "/single"]).status == 0)
    #expect(try Self.files(dir + "/merged") == Self.files(dir + "/single"))
  }

  /// Labels parts whose `label_partition` row names a partition that cannot exist (a negative
  /// count once trapped the merge): refused, naming the part, the catalog unchanged.
  @Test func damagedLabelsPartsAreRefused() throws {
    let dir = TestSupport.tempDirectory().path
    let catalog = dir + "/c.sqlite"
    try FileManager.default.copyItem(atPath: Self.catalogPath, toPath: catalog)
    var parts: [String] = []
    for i in 0..<2 {
      parts.append(dir + "/l\(i).sqlite")
      let r = try Self.tagdata(["describe", "--quiet", "--descriptors", "qed", "--catalog", catalog, "--partition", "\(i)/2",
                                "--out", parts[i]])
      #expect(r.status == 0, "\(r.stderr)")
    }
    for p in parts { try Database(path: p).execute("UPDATE label_partition SET partition = -1, partitions = -1") }
    let before = try Self.tagdata(["catalog", "dump", "--catalog", catalog]).stdout
    let m = try Self.tagdata(["catalog", "merge", "--out", catalog] + parts)
    #expect(m.status == 74 && m.stderr.contains("does not exist"), "\(m.stderr)")
    #expect(try Self.tagdata(["catalog", "dump", "--catalog", catalog]).stdout == before)
  }
}
