import Foundation
import TagdataBio
import TagdataCatalog
@testable import TagdataTasks
import TestSupport
import Testing

/// `tagdata build --preset tag-llm` on catalogs of the shipped corpora: every task, determinism,
/// shard stability when the catalog grows.
@Suite struct StageBuildTests {
  static let molecularFiles = ["uniprot/flat/multi_ex.txt", "pubchem/sdf/pubchem.200.sdf"]
  static let tables = [("tdc-dti", "tables/tdc_dti_sample.csv"), ("tdc-drugcomb", "tables/drugcomb_sample.csv"),
                       ("parallel-text", "tables/parallel_text_sample.tsv")]

  /// A catalog of the shipped corpora with the named tables, labelled with qed and BLOSUM1 when `describe`.
  static func catalog(tables: [String] = ["tdc-dti", "tdc-drugcomb", "parallel-text"], describe: Bool = true) throws -> String {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let r = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + molecularFiles.map { TestSupport.corpus($0).path })
    #expect(r.status == 0, "\(r.stderr)")
    for (preset, file) in Self.tables where tables.contains(preset) {
      let t = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path, "--preset", preset, TestSupport.corpus(file).path])
      #expect(t.status == 0, "\(t.stderr)")
    }
    if describe {
      let d = try TestSupport.tagdata(["describe", "--catalog", path, "--descriptors", "qed,descriptor"])
      #expect(d.status == 0, "\(d.stderr)")
    }
    return path
  }

  static func files(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
      out[f] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))
    }
    return out
  }

  static func records(_ dir: String) throws -> [[String: Any]] {
    try files(dir).filter { $0.key.hasSuffix(".jsonl") }.sorted { $0.key < $1.key }.flatMap { _, data in
      try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
      }
    }
  }

  @Test func everyTaskFromTheShippedCorpora() throws {
    let path = try Self.catalog()
    let out = TestSupport.tempDirectory().appendingPathComponent("build").path
    let r = try TestSupport.tagdata(["build", "--preset", "tag-llm", "--catalog", path, "--out", out, "--shards", "3", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let tasks = try #require(summary["tasks"] as? [String: [String: Any]])
    #expect(Set(tasks.keys) == Set(TagLLM.Task.allCases.map(\.rawValue)))
    let recs = try Self.records(out)
    var perTask: [String: Int] = [:]
    for rec in recs { perTask[rec["task"] as! String, default: 0] += 1 }
    for t in TagLLM.Task.allCases {
      let c = tasks[t.rawValue] ?? [:]
      let n = ["train", "valid", "test"].map { c[$0] as? Int ?? 0 }.reduce(0, +)
      #expect(n > 0, "task \(t.rawValue) has examples")
      #expect(perTask[t.rawValue] == n, "\(t.rawValue): the shards hold what the summary says")
    }
    // 100 DTI rows (three pairs measured twice, with other values: two examples each, in one
    // split), 60 DrugComb rows, 40 parallel-text rows (both directions).
    #expect(perTask["BA"] == 100 && perTask["DC"] == 60 && perTask["Translate"] == 80, "\(perTask)")
    var pairSplits: [String: Set<String>] = [:]
    for rec in recs where rec["task"] as? String == "BA" {
      let inputs = rec["inputs"] as! [String]
      pairSplits[inputs[0] + "|" + inputs[1], default: []].insert(rec["split"] as! String)
    }
    #expect(pairSplits.count == 97 && pairSplits.values.allSatisfy { $0.count == 1 }, "a pair measured twice stays in one split")
    for rec in recs {
      let segs = try #require(rec["segments"] as? [[String: String]])
      #expect(segs.map { $0["text"]! }.joined() == rec["formulation"] as? String, "segments spell the formulation")
      if rec["task"] as? String == "DC" {
        let inputs = rec["inputs"] as! [String]
        #expect((rec["formulation"] as! String).hasPrefix("# # Input: Drug 1 is \(inputs[2]). Its SMILES is <SMILES> \(inputs[0]). \nDrug 2 is "))
      }
      if rec["task"] as? String == "Protein" {
        let f = rec["formulation"] as! String
        #expect(f.hasPrefix("<Protein> ") && f.utf8.count <= 10 + 2 * 512, "spaced residues of at most 512")
        #expect(f.dropFirst(10).enumerated().allSatisfy { k, c in (k % 2 == 1) == (c == " ") })
      }
      if rec["regression"] as? Bool == true {
        let output = try #require(rec["output"] as? String)
        #expect(output.count == 6)
        #expect(rec["target"] is Double)
      }
    }
    // An example repeated within its task is written once.
    let keys = recs.map { "\($0["task"]!)\t\($0["formulation"]!)" }
    #expect(Set(keys).count == keys.count)
    #expect(perTask["Language"]! < 80, "40 rows, 80 sides, some sentences repeat")
    // The first DrugComb row: Y = 51.823, label str(51.823 * 0.1)[:6].
    let dc = recs.filter { $0["task"] as? String == "DC" && $0["inputs"].map { ($0 as! [String])[2] } == "chembl_smi_3921" }
    #expect(dc.contains { $0["output"] as? String == "5.1823" && $0["target"] as? Double == 51.823 * 0.1 })
    let manifest = try #require(try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))) as? [String: Any])
    #expect((manifest["catalog_sha256"] as? String)?.count == 64)
    let shards = try #require(manifest["shards"] as? [[String: Any]])
    #expect(shards.count == 3)
    for s in shards {
      let data = try Data(contentsOf: URL(fileURLWithPath: out + "/" + (s["file"] as! String)))
      #expect(s["sha256"] as? String == SequenceDigest.hex(SequenceDigest.sha256([UInt8](data))))
    }
  }

  @Test func sameCatalogSameBytes() throws {
    let path = try Self.catalog()
    let catalog = try Catalog(path: path, readOnly: true)
    let a = TestSupport.tempDirectory().appendingPathComponent("a").path
    let b = TestSupport.tempDirectory().appendingPathComponent("b").path
    _ = try ShardExport.export(catalog, config: .tagLLM, shards: 4, out: a, toolVersion: "test")
    _ = try ShardExport.export(catalog, config: .tagLLM, shards: 4, out: b, toolVersion: "test")
    let fa = try Self.files(a)
    #expect(fa.count == 7)  // 4 shards, the manifest and the leakage report (JSON, Markdown)
    #expect(fa == (try Self.files(b)))
    // Building again into the same directory replaces it, with the same bytes.
    _ = try ShardExport.export(catalog, config: .tagLLM, shards: 4, out: a, toolVersion: "test")
    #expect(fa == (try Self.files(a)))
    var other = TaskConfig.tagLLM
    other.seed = 7
    _ = try ShardExport.export(catalog, config: other, shards: 4, out: b, toolVersion: "test")
    #expect(fa != (try Self.files(b)), "another seed, other splits")
  }

  /// Gzip shards: the same bytes twice, and the plain shards once decompressed.
  @Test func gzipShardsAreDeterministicToo() throws {
    let catalog = try Catalog(path: try Self.catalog(tables: ["tdc-dti"], describe: false), readOnly: true)
    let dir = TestSupport.tempDirectory()
    let (plain, z1, z2) = (dir.appendingPathComponent("p").path, dir.appendingPathComponent("z1").path,
                           dir.appendingPathComponent("z2").path)
    _ = try ShardExport.export(catalog, config: .tagLLM, shards: 2, out: plain, toolVersion: "test")
    _ = try ShardExport.export(catalog, config: .tagLLM, shards: 2, out: z1, toolVersion: "test", gzip: true)
    _ = try ShardExport.export(catalog, config: .tagLLM, shards: 2, out: z2, toolVersion: "test", gzip: true)
    #expect(try Self.files(z1) == Self.files(z2))
    for k in 0..<2 {
      let name = ShardExport.shardName(k, of: 2)
      let r = try TestSupport.shell("gzip -dc '\(z1)/\(name).gz' | cmp - '\(plain)/\(name)'")
      #expect(r.status == 0, "\(name): \(r.stdout)\(r.stderr)")
    }
  }

  @Test func addedRowsLeaveExamplesInTheirShard() throws {
    let small = try Self.catalog(tables: ["tdc-dti"])
    let big = try Self.catalog()
    let a = TestSupport.tempDirectory().appendingPathComponent("a").path
    let b = TestSupport.tempDirectory().appendingPathComponent("b").path
    _ = try ShardExport.export(try Catalog(path: small, readOnly: true), config: .tagLLM, shards: 4, out: a,
                               toolVersion: "test")
    _ = try ShardExport.export(try Catalog(path: big, readOnly: true), config: .tagLLM, shards: 4, out: b,
                               toolVersion: "test")
    let fa = try Self.files(a)
    let fb = try Self.files(b)
    var checked = 0
    for (name, data) in fa where name.hasSuffix(".jsonl") {
      let mine = Set(String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
        // The source path differs between the two catalogs' tables only for table rows; compare
        // the records whole: both catalogs read the same files.
        String(line)
      })
      let theirs = Set(String(decoding: fb[name] ?? Data(), as: UTF8.self).split(separator: "\n").map(String.init))
      #expect(mine.isSubset(of: theirs), "\(name): every example of the smaller catalog is in the same shard")
      checked += mine.count
    }
    #expect(checked > 400)
  }

  /// With both tags off, a regression prompt ends after "is " and the label string is only the output.
  @Test func ablationNoneCutsThePrompt() throws {
    let path = try Self.catalog(tables: ["tdc-dti"], describe: false)
    let out = TestSupport.tempDirectory().appendingPathComponent("build").path
    let r = try TestSupport.tagdata(["build", "--catalog", path, "--out", out, "--ablation", "none", "--shards", "1"])
    #expect(r.status == 0, "\(r.stderr)")
    let recs = try Self.records(out)
    let qed = try #require(recs.first { $0["task"] as? String == "QED" })
    let f = qed["formulation"] as! String
    #expect(f.hasPrefix("# # Input: The SMILES of the molecule is ") && !f.contains("<SMILES>"))
    #expect(f.hasSuffix(". \n# # Output: the quantitative estimate of druglikeness score is "))
    #expect((qed["output"] as? String)?.count == 6 && qed["target"] is Double)
    let ba = try #require(recs.first { $0["task"] as? String == "BA" })
    #expect((ba["formulation"] as! String).hasSuffix("The binding affinity is "))
    #expect(recs.contains { ($0["formulation"] as! String).hasPrefix("<Protein> ") }, "stage 1 keeps its domain tag")
  }

  /// The label-string trap: 1e-05 gives the label `1e-050`; the record keeps the exact value.
  @Test func tinyValuesKeepTheirExactTarget() throws {
    var e = TaskExample(task: "QED", stage: 2, regression: true, key: "k", segments: [.init(.text, "x")], inputs: ["C"],
                        output: TagLLM.labelString(1e-05), target: 1e-05)
    e.split = "train"
    let json = ShardExport.recordJSON(e)
    #expect(json.contains("\"output\":\"1e-050\",\"target\":1e-05,"))
    let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    #expect(parsed?["target"] as? Double == 1e-05)
  }

  /// Exit codes: a catalog that cannot be opened or an output that cannot be written is 74, a bad
  /// option 64; a failed build leaves no temporary directory behind.
  @Test func errorsHaveTheirExitCodes() throws {
    let dir = TestSupport.tempDirectory()
    let missing = try TestSupport.tagdata(["build", "--catalog", dir.appendingPathComponent("none.sqlite").path, "--out",
                                           dir.appendingPathComponent("o").path])
    #expect(missing.status == 74, "\(missing.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("none.sqlite").path), "not created")
    let path = try Self.catalog(tables: [], describe: false)
    let blocker = dir.appendingPathComponent("file")
    try Data("x".utf8).write(to: blocker)
    let unwritable = try TestSupport.tagdata(["build", "--catalog", path, "--out", blocker.path + "/sub/out"])
    #expect(unwritable.status == 74, "\(unwritable.stderr)")
    #expect(unwritable.stderr.contains("sub"))
    #expect(try TestSupport.tagdata(["build", "--catalog", path, "--out", dir.path + "/o", "--preset", "x"]).status == 64)
    #expect(try TestSupport.tagdata(["build", "--catalog", path, "--out", dir.path + "/o", "--shards", "0"]).status == 64)
    #expect(try TestSupport.tagdata(["build", "--catalog", path, "--out", dir.path + "/o", "--shards", "5000"]).status == 64)
    #expect(try TestSupport.tagdata(["build", "--catalog", path, "--out", dir.path + "/o", "--ablation", "x"]).status == 64)
    let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") || $0.contains(".old-") }
    #expect(left.isEmpty, "\(left)")
  }

  /// --tasks builds the named tasks only; a killed build's temporary directory is removed by the next.
  @Test func chosenTasksAndAbandonedTemporaries() throws {
    let path = try Self.catalog(tables: ["tdc-dti"], describe: false)
    let dir = TestSupport.tempDirectory()
    let abandoned = dir.appendingPathComponent(".build.tmp-4194303")
    try FileManager.default.createDirectory(at: abandoned, withIntermediateDirectories: true)
    let out = dir.appendingPathComponent("build").path
    let r = try TestSupport.tagdata(["build", "--catalog", path, "--out", out, "--tasks", "qed,BA", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    #expect((summary?["tasks"] as? [String: Any]).map { Set($0.keys) } == ["QED", "BA"])
    #expect(Set(try Self.records(out).map { $0["task"] as! String }) == ["QED", "BA"])
    #expect(!FileManager.default.fileExists(atPath: abandoned.path))
    #expect(try TestSupport.tagdata(["build", "--catalog", path, "--out", out, "--tasks", "QED,Foo"]).status == 64)
  }

  /// QED comes from the stored label when the catalog has one of the current definition (here a
  /// planted 1e-05, which also shows the label-string trap end to end), else it is computed.
  @Test func storedLabelsWinOverComputedOnes() throws {
    let path = try Self.catalog(tables: [], describe: false)
    let catalog = try Catalog(path: path)
    let def = Catalog.LabelDefinition(name: "qed", version: "1")
    let first = try #require(try catalog.pendingLabels(.molecule, [def], after: 0, limit: 1).first)
    try catalog.writeLabels(.molecule, id: first.id, [(def, .number(1e-05))], run: nil)
    let out = TestSupport.tempDirectory().appendingPathComponent("build").path
    let s = try ShardExport.export(catalog, config: .tagLLM, shards: 2, out: out, toolVersion: "test")
    #expect(s.counts["QED"]?.total == s.counts["SMILES"]?.total, "every molecule once: stored or computed")
    let recs = try Self.records(out).filter { $0["task"] as? String == "QED" }
    let planted = try #require(recs.first { ($0["inputs"] as? [String])?.first == first.input })
    #expect(planted["output"] as? String == "1e-050")
    #expect(planted["target"] as? Double == 1e-05)
    #expect(recs.filter { $0["output"] as? String == "1e-050" }.count == 1)
    #expect(s.reports.first { $0.task == "QED" }?.labelsOff == 1, "the planted label is reported as off its value")
  }

  /// The split follows the fractions, depends on the seed, and not on anything but the key.
  @Test func seededSplitFollowsTheFractions() {
    let a = SeededRandomSplit(seed: 42, train: 0.8, valid: 0.1)
    let b = SeededRandomSplit(seed: 43, train: 0.8, valid: 0.1)
    var counts: [String: Int] = [:]
    var moved = 0
    for k in 0..<20_000 {
      let key = "example \(k)"
      let s = a.split(task: "QED", key: key)
      counts[s, default: 0] += 1
      #expect(s == a.split(task: "QED", key: key))
      if s != b.split(task: "QED", key: key) { moved += 1 }
    }
    #expect((15_700...16_300).contains(counts["train"] ?? 0), "\(counts)")
    #expect((1_800...2_200).contains(counts["valid"] ?? 0), "\(counts)")
    #expect((1_800...2_200).contains(counts["test"] ?? 0), "\(counts)")
    #expect(moved > 4_000, "another seed, another split")
    // Pinned (computed independently in Python): shards and splits must not move between versions.
    #expect(StableHash.hash(["QED", "CCO"]) == 0x7cd3_687f_2935_403c)
    #expect(StableHash.hash(["QE", "DCCO"]) != StableHash.hash(["QED", "CCO"]), "parts are separated")
    for parts in [["QED", "CCO"], ["", ""], ["BA", String(repeating: "é", count: 300)]] {
      let two = StableHash.hash2(parts, seeds: (0, ShardExport.identitySeed))
      #expect(two.0 == StableHash.hash(parts) && two.1 == StableHash.hash(parts, seed: ShardExport.identitySeed))
    }
  }

  /// Rejections are counted by kind: positions and lengths do not make a reason of their own.
  @Test func rejectionReasonsAreClasses() {
    #expect(StageBuilder.reasonClass("residue 'O' at position 356: no value") == "residue 'O' at position #: no value")
    #expect(StageBuilder.reasonClass(String(repeating: "x", count: 300)).count == 100)
  }

  @Test func missingTablesAreSkippedWithTheReason() throws {
    let path = try Self.catalog(tables: [], describe: false)
    let out = TestSupport.tempDirectory().appendingPathComponent("build").path
    let s = try ShardExport.export(try Catalog(path: path, readOnly: true), config: .tagLLM, shards: 2, out: out,
                                   toolVersion: "test")
    let skipped = Dictionary(uniqueKeysWithValues: s.reports.compactMap { r in r.skipped.map { (r.task, $0) } })
    #expect(Set(skipped.keys) == ["BA", "DC", "Language", "Translate"])
    #expect(skipped["BA"]?.contains("tdc-dti") == true)
    #expect((s.counts["QED"]?.total ?? 0) > 0, "QED computed without stored labels")
    #expect((s.counts["Descriptor"]?.total ?? 0) > 0, "BLOSUM1 computed without stored labels")
  }
}
