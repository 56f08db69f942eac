import Foundation
import TagdataCatalog
import TagdataIO
@testable import TagdataTasks
import TestSupport
import Testing

/// `tagdata build --partition i/N` and `tagdata export --merge`: the merge of N partial builds is
/// the build one process writes, byte for byte, for every kind of source and split.
@Suite struct BuildPartitionTests {
  /// A catalog of the shipped corpora: UniProt, PubChem, BindingDB (measurements), every table;
  /// no stored labels (QED and BLOSUM1 are computed during the build).
  static let catalogPath: String = {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let files = ["uniprot/flat/multi_ex.txt", "pubchem/sdf/pubchem.200.sdf", "bindingdb/bindingdb_2015m10_sample.tsv",
                 "bindingdb/bindingdb_2022m5_sample.tsv"]
    _ = try? TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + files.map { TestSupport.corpus($0).path })
    for (preset, file) in [("tdc-dti", "tables/tdc_dti_sample.csv"), ("tdc-dti-patent", "tables/tdc_dti_patent_sample.csv"),
                           ("tdc-drugcomb", "tables/drugcomb_sample.csv"), ("parallel-text", "tables/parallel_text_sample.tsv")]
    {
      _ = try? TestSupport.tagdata(["ingest", "--quiet", "--catalog", path, "--preset", preset, TestSupport.corpus(file).path])
    }
    return path
  }()

  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var config: @Sendable () throws -> TaskConfig
    var shards: Int
    var gzip = false
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "tag-llm, random split", config: { .tagLLM }, shards: 4),
    Case(name: "tag-llm, scaffold split, gzip", config: {
      var c = TaskConfig.tagLLM
      c.split.method = .scaffold
      return c
    }, shards: 3, gzip: true),
    Case(name: "BA, temporal split", config: {
      var o = BuildOverrides()
      o.split = .temporal
      o.tasks = ["BA"]
      return try TaskConfig.tagLLM.applying(o, file: nil)
    }, shards: 2),
    // A text file, molecules with a computed label, BindingDB measurements; cold-drug split.
    Case(name: "custom configuration", config: {
      try TaskConfig.load(path: TestSupport.root.appendingPathComponent("Examples/tasks-custom.yaml").path)
    }, shards: 5),
  ]

  static func files(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
      out[f] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))
    }
    return out
  }

  @Test(arguments: cases) func mergedEqualsSingle(_ c: Case) throws {
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    let plan = try c.config().compile(for: catalog)
    let dir = TestSupport.tempDirectory().path
    let single = try ShardExport.export(catalog, plan: plan, shards: c.shards, out: dir + "/single", toolVersion: "test",
                                        gzip: c.gzip)
    #expect(single.shardRecords.reduce(0, +) > 50, "the case builds examples")
    let expected = try Self.files(dir + "/single")
    for n in [1, 2, 3, 7] {
      var parts: [String] = []
      var made = 0
      for i in 0..<n {
        let p = dir + "/p\(n)-\(i)"
        let s = try ShardExport.export(catalog, plan: plan, shards: c.shards, out: p, toolVersion: "test", gzip: c.gzip,
                                       memoryBudget: 1 << 16, partition: (i, n))
        made += s.reports.reduce(0) { $0 + $1.examples }
        parts.append(p)
      }
      #expect(made == single.reports.reduce(0) { $0 + $1.examples }, "N=\(n): every example made by exactly one partition")
      // Any order of the parts; a small budget, so that the leakage report spills.
      let merged = try BuildPartial.merge(parts: parts.reversed(), out: dir + "/merged\(n)", memoryBudget: 1 << 16)
      #expect(merged.manifest == single.manifest, "N=\(n)")
      let got = try Self.files(dir + "/merged\(n)")
      #expect(got.keys.sorted() == expected.keys.sorted(), "N=\(n)")
      for (name, bytes) in expected { #expect(got[name] == bytes, "N=\(n): \(name) differs") }
      #expect(merged.reports == single.reports.map { r in
        var r = r
        r.reasonFirstPlace = [:]
        r.firstRejectionUnits = []
        return r
      }, "N=\(n): the same reports")
    }
  }

  /// The merge refuses what is not every partition of one build, and names the problem.
  @Test func refusals() throws {
    let catalog = try Catalog(path: Self.catalogPath, readOnly: true)
    let plan = try TaskConfig.tagLLM.compile(for: catalog)
    let dir = TestSupport.tempDirectory().path
    var parts: [String] = []
    for i in 0..<3 {
      parts.append(dir + "/p\(i)")
      _ = try ShardExport.export(catalog, plan: plan, shards: 2, out: parts[i], toolVersion: "test", partition: (i, 3))
    }
    func refused(_ p: [String], _ needle: String) {
      do {
        _ = try BuildPartial.merge(parts: p, out: dir + "/m")
        Issue.record("merged: \(p)")
      } catch {
        #expect("\(error)".contains(needle), "\(error)")
      }
      #expect(!FileManager.default.fileExists(atPath: dir + "/m"), "nothing written")
    }
    refused([parts[0], parts[2]], "partitions missing: 1/3")
    refused([parts[0], parts[1], parts[1]], "given twice")
    var other = TaskConfig.tagLLM
    other.seed = 43
    _ = try ShardExport.export(catalog, plan: try other.compile(for: catalog), shards: 2, out: dir + "/o1", toolVersion: "test",
                               partition: (1, 3))
    refused([parts[0], dir + "/o1", parts[2]], "the configuration")
    _ = try ShardExport.export(catalog, plan: plan, shards: 3, out: dir + "/s1", toolVersion: "test", partition: (1, 3))
    refused([parts[0], dir + "/s1", parts[2]], "the number of shards")
    // An unfinished partition (killed before its manifest).
    try FileManager.default.copyItem(atPath: parts[1], toPath: dir + "/u1")
    try FileManager.default.removeItem(atPath: dir + "/u1/" + BuildPartial.manifestFile)
    refused([parts[0], dir + "/u1", parts[2]], "not a finished build partition")
    // A shard cut short after its partition finished.
    try FileManager.default.copyItem(atPath: parts[1], toPath: dir + "/c1")
    let shard = dir + "/c1/" + ShardExport.shardName(0, of: 2)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
    let cut = bytes.prefix(bytes.count / 2)
    try Data(cut.prefix(through: cut.lastIndex(of: 0x0A)!)).write(to: URL(fileURLWithPath: shard))
    refused([parts[0], dir + "/c1", parts[2]], "SHA-256 differs")
    // A sort-key sidecar damaged: refused before it is read.
    try FileManager.default.copyItem(atPath: parts[1], toPath: dir + "/k1")
    let keys = dir + "/k1/" + BuildPartial.keysName(1, of: 2)
    var k = try Data(contentsOf: URL(fileURLWithPath: keys))
    k[0] = 0xFF
    k[1] = 0xFF
    try k.write(to: URL(fileURLWithPath: keys))
    refused([parts[0], dir + "/k1", parts[2]], "SHA-256 differs")
    // What is left merges.
    _ = try BuildPartial.merge(parts: parts, out: dir + "/m")
    #expect(FileManager.default.fileExists(atPath: dir + "/m/manifest.json"))
  }

  /// Rejection reasons: a single build names the first `maxReasons` it meets and counts the rest
  /// as "other reasons"; the merge of partitions that keep every reason with where it was first
  /// met must come to the same, however the units fall into partitions.
  @Test func rejectionReasonsAreCappedAsInOneBuild() throws {
    // 100 units, each rejected once or twice for one of 50 reasons.
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 20))
    var stream: [(unit: Int, reason: String)] = []
    for u in 0..<100 {
      for _ in 0...rng.below(2) { stream.append((u, "reason \(rng.below(50))")) }
    }
    // One build, by the rule of StageBuilder.
    var single: [String: Int] = [:]
    for (_, why) in stream {
      if single[why] == nil && single.count >= StageBuilder.maxReasons { single["other reasons", default: 0] += 1 } else {
        single[why, default: 0] += 1
      }
    }
    for n in [1, 2, 3, 7] {
      var parts: [BuildPartial.Manifest.Task] = []
      for i in 0..<n {
        var counts: [String: (Int, BuildPartial.Place)] = [:]
        var order = 0, last = -1
        var firsts: [BuildPartial.Manifest.Rejection] = []
        for (u, why) in stream where u % n == i {
          if u != last { order = 0; last = u }
          if let c = counts[why] { counts[why] = (c.0 + 1, c.1) } else { counts[why] = (1, BuildPartial.Place(unit: u, order: order)) }
          if firsts.count < 5 { firsts.append(.init(unit: u, text: "\(u): \(why)")) }
          order += 1
        }
        parts.append(BuildPartial.Manifest.Task(
          task: "T", stage: 1, regression: false, template: "", examples: 0, seen: 100, labelsOff: 0, skipped: nil,
          rejected: counts.map { .init(reason: $0.key, count: $0.value.0, first: $0.value.1) }, firstRejections: firsts,
          duplicates: 0))
      }
      let r = BuildPartial.combine(parts)
      #expect(r.rejected == single, "N=\(n)")
      #expect(r.firstRejections == stream.prefix(5).map { "\($0.unit): \($0.reason)" }, "N=\(n)")
    }
  }

  /// The command line: `build --partition`, `export --merge`, their exit codes.
  @Test func commandLine() throws {
    let dir = TestSupport.tempDirectory().path
    var parts: [String] = []
    for i in 0..<2 {
      parts.append(dir + "/p\(i)")
      let r = try TestSupport.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--tasks", "SMILES,QED", "--shards", "2",
                                       "--partition", "\(i)/2", "--out", parts[i]])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stderr.contains("partition \(i)/2"), "\(r.stderr)")
    }
    let single = try TestSupport.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--tasks", "SMILES,QED",
                                          "--shards", "2", "--out", dir + "/single"])
    #expect(single.status == 0, "\(single.stderr)")
    let m = try TestSupport.tagdata(["export", "--merge", "--json", "--out", dir + "/merged"] + parts)
    #expect(m.status == 0, "\(m.stderr)")
    #expect(m.stdout.contains("\"partitions\":2"), "\(m.stdout)")
    let a = try Self.files(dir + "/single"), b = try Self.files(dir + "/merged")
    #expect(a.keys.sorted() == b.keys.sorted() && a.allSatisfy { b[$0.key] == $0.value }, "merged equals single")
    #expect(try TestSupport.tagdata(["export", "--merge", "--out", dir + "/m2", parts[0]]).status == 74, "a partition missing")
    #expect(try TestSupport.tagdata(["export", "--merge", "--out", dir + "/m3"]).status == 64, "no partitions named")
    #expect(try TestSupport.tagdata(["export", "--merge", "--tokenized", dir + "/single", "--out", dir + "/m4", parts[0]]).status == 64)
    for bad in ["2/2", "-1/2", "1", "a/b", "0/0"] {
      let r = try TestSupport.tagdata(["build", "--catalog", Self.catalogPath, "--partition", bad, "--out", dir + "/x"])
      #expect(r.status == 64, "--partition \(bad): \(r.stderr)")
    }
  }

  /// `tagdata export --tokenized --partition i/N` and its merge: the dataset one process writes,
  /// byte for byte, also when a partition has no shard (N larger than the shards).
  @Test func tokenizedPartitionsMergeToTheSameDataset() throws {
    let dir = TestSupport.tempDirectory().path
    let b = try TestSupport.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "4", "--out", dir + "/build"])
    #expect(b.status == 0, "\(b.stderr)")
    let single = try TestSupport.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--smiles-tokens", "--residue-tokens",
                                          "--out", dir + "/tokens"])
    #expect(single.status == 0, "\(single.stderr)")
    let expected = try Self.files(dir + "/tokens")
    #expect(expected.count == 1 + 4 * 4)
    for n in [1, 2, 3, 7] {
      var parts: [String] = []
      for i in 0..<n {
        parts.append(dir + "/t\(n)-\(i)")
        let r = try TestSupport.tagdata(["export", "--quiet", "--tokenized", dir + "/build", "--smiles-tokens", "--residue-tokens",
                                         "--partition", "\(i)/\(n)", "--out", parts[i]])
        #expect(r.status == 0, "\(r.stderr)")
      }
      let m = try TestSupport.tagdata(["export", "--merge", "--out", dir + "/merged\(n)"] + parts.shuffled())
      #expect(m.status == 0, "\(m.stderr)")
      let got = try Self.files(dir + "/merged\(n)")
      #expect(got.keys.sorted() == expected.keys.sorted(), "N=\(n)")
      for (name, bytes) in expected { #expect(got[name] == bytes, "N=\(n): \(name) differs") }
      if n == 3 {
        #expect(try TestSupport.tagdata(["export", "--merge", "--out", dir + "/x", parts[0], parts[2]]).status != 0)
        // A shard changed after its partition wrote it.
        let victim = try FileManager.default.contentsOfDirectory(atPath: parts[1]).first { $0.hasSuffix(".tokens.bin") }!
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: parts[1] + "/" + victim))
        let bad = try TestSupport.tagdata(["export", "--merge", "--out", dir + "/x"] + parts)
        #expect(bad.status != 0 && bad.stderr.contains("SHA-256"), "\(bad.stderr)")
      }
    }
  }

  /// The three partition manifests validate against Schemas/partition-manifest.schema.json
  /// (Python's jsonschema), and a manifest with a field taken away or of a wrong type does not.
  @Test(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
  func partitionManifestsMatchTheirSchema() throws {
    guard let python = TestSupport.python else {
      Issue.record("no venv python")
      return
    }
    let dir = TestSupport.tempDirectory().path
    let ingest = try TestSupport.tagdata(["ingest", "--quiet", "--partition", "0/2", "--catalog", dir + "/p.sqlite",
                                          TestSupport.corpus("uniprot/flat/multi_ex.txt").path,
                                          TestSupport.corpus("pubchem/sdf/pubchem.200.sdf").path])
    #expect(ingest.status == 0, "\(ingest.stderr)")
    let build = try TestSupport.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--partition", "1/2", "--shards", "2",
                                         "--out", dir + "/b1"])
    #expect(build.status == 0, "\(build.stderr)")
    let whole = try TestSupport.tagdata(["build", "--quiet", "--catalog", Self.catalogPath, "--shards", "2", "--out", dir + "/b"])
    #expect(whole.status == 0, "\(whole.stderr)")
    let tokens = try TestSupport.tagdata(["export", "--quiet", "--tokenized", dir + "/b", "--partition", "0/2", "--out", dir + "/t0"])
    #expect(tokens.status == 0, "\(tokens.stderr)")
    let manifests = [dir + "/p.sqlite.partition.json", dir + "/b1/partition.json", dir + "/t0/partition.json"]
    let schema = TestSupport.root.appendingPathComponent("Schemas/partition-manifest.schema.json").path
    let check = try TestSupport.run(python, ["-c", """
      import json, sys, jsonschema
      schema = json.load(open(sys.argv[1]))
      for path in sys.argv[2:]:
          doc = json.load(open(path))
          jsonschema.validate(doc, schema)
          # Broken copies must fail: a required key removed, a count made negative.
          for key in ("partition", "format"):
              bad = dict(doc); del bad[key]
              try:
                  jsonschema.validate(bad, schema); print("accepted without", key, path)
              except jsonschema.ValidationError:
                  pass
          bad = dict(doc); bad["partition"] = -1
          try:
              jsonschema.validate(bad, schema); print("accepted partition -1", path)
          except jsonschema.ValidationError:
              pass
      print("valid")
      """, schema] + manifests)
    #expect(check.stdout == "valid\n", "\(check.stdout) \(check.stderr)")
  }

  /// A non-empty folder that is not a tagdata output is never replaced (`--out .` must not wipe a
  /// working directory); a build, a partial build and a token dataset are.
  @Test func foreignFoldersAreNotReplaced() throws {
    let dir = TestSupport.tempDirectory().path
    let foreign = dir + "/mine"
    try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
    try Data("keep me".utf8).write(to: URL(fileURLWithPath: foreign + "/notes.txt"))
    let common = ["--quiet", "--catalog", Self.catalogPath, "--tasks", "QED", "--shards", "1"]
    let b = try TestSupport.tagdata(["build"] + common + ["--out", foreign])
    #expect(b.status == 74 && b.stderr.contains("not a tagdata output"), "\(b.stderr)")
    #expect(try TestSupport.tagdata(["build"] + common + ["--out", dir + "/build"]).status == 0)
    #expect(try TestSupport.tagdata(["build"] + common + ["--partition", "0/1", "--out", dir + "/part"]).status == 0)
    let m = try TestSupport.tagdata(["export", "--merge", "--out", foreign, dir + "/part"])
    #expect(m.status == 74 && m.stderr.contains("not a tagdata output"), "\(m.stderr)")
    let t = try TestSupport.tagdata(["export", "--tokenized", dir + "/build", "--out", foreign])
    #expect(t.status != 0 && t.stderr.contains("not a tagdata output"), "\(t.stderr)")
    #expect(try String(contentsOfFile: foreign + "/notes.txt", encoding: .utf8) == "keep me")
    // Outputs of tagdata are replaced: a build over a build, a token dataset over one.
    #expect(try TestSupport.tagdata(["build"] + common + ["--out", dir + "/build"]).status == 0)
    #expect(try TestSupport.tagdata(["export", "--merge", "--out", dir + "/build", dir + "/part"]).status == 0)
    #expect(try TestSupport.tagdata(["export", "--tokenized", dir + "/build", "--out", dir + "/tokens"]).status == 0)
    #expect(try TestSupport.tagdata(["export", "--tokenized", dir + "/build", "--out", dir + "/tokens"]).status == 0)
    // An empty folder is fine.
    try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
    #expect(try TestSupport.tagdata(["build"] + common + ["--out", dir + "/empty"]).status == 0)
  }
}
