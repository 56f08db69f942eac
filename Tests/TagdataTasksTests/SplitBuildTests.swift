import Foundation
import TagdataCatalog
@testable import TagdataTasks
import TestSupport
import Testing

/// `tagdata build --split`: group splits keep every group in one split, checked on the written
/// records themselves (not only on the report), the report agrees, and builds stay byte-identical.
@Suite struct SplitBuildTests {
  /// Per split, the set of values `key` gives each written record of `task`.
  static func groups(_ records: [[String: Any]], task: String, key: ([String: Any]) -> [String]) -> [String: Set<String>] {
    var out: [String: Set<String>] = [:]
    for r in records where r["task"] as? String == task {
      out[r["split"] as! String, default: []].formUnion(key(r))
    }
    return out
  }

  static func ids(_ r: [String: Any], _ field: String) -> [String] {
    ((r["ids"] as? [String: Any])?[field] as? [String]) ?? []
  }

  @Test func groupSplitsKeepEachGroupInOneSplit() throws {
    let path = try StageBuildTests.catalog()
    for (kind, field) in [("cold-drug", "molecules"), ("cold-target", "proteins")] {
      let out = TestSupport.tempDirectory().appendingPathComponent("b-\(kind)").path
      let r = try TestSupport.tagdata(["build", "--quiet", "--catalog", path, "--out", out, "--split", kind])
      #expect(r.status == 0, "\(r.stderr)")
      let recs = try StageBuildTests.records(out)
      for task in ["BA", "DC"] where !(kind == "cold-target" && task == "DC") {
        let g = Self.groups(recs, task: task) { Self.ids($0, field) }
        let splits = Array(g.values)
        for i in splits.indices {
          for j in splits.indices where j > i {
            #expect(splits[i].isDisjoint(with: splits[j]), "\(kind) \(task): \(splits[i].intersection(splits[j]).prefix(3))")
          }
        }
        #expect(g.count >= 2 && splits.allSatisfy { !$0.isEmpty }, "\(kind) \(task): one split only, or no keys read")
      }
      // The report says the same, and a random split does leak (the data tempts it).
      let leak = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/leakage.json")))
        as? [String: Any])
      let ba = try #require((leak["tasks"] as? [String: Any])?["BA"] as? [String: Any])
      let pairs = try #require(ba["pairs"] as? [[String: Any]])
      let category = kind == "cold-drug" ? "molecules" : "targets"
      #expect(pairs.allSatisfy { (($0[category] as? [String: Any])?["total"] as? Int) == 0 }, "\(kind): \(pairs)")
    }
    let random = TestSupport.tempDirectory().appendingPathComponent("b-random").path
    #expect(try TestSupport.tagdata(["build", "--quiet", "--catalog", path, "--out", random]).status == 0)
    let leak = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: random + "/leakage.json")))
      as? [String: Any])
    let pairs = try #require(((leak["tasks"] as? [String: Any])?["BA"] as? [String: Any])?["pairs"] as? [[String: Any]])
    #expect(pairs.contains { (($0["molecules"] as? [String: Any])?["total"] as? Int ?? 0) > 0 })
  }

  /// Scaffold split: no scaffold in two splits (the records' molecules, scaffolds computed here by
  /// describe), and two builds give the same bytes, the leakage report included.
  @Test func scaffoldSplitIsDeterministicAndClean() throws {
    let path = try StageBuildTests.catalog()
    let a = TestSupport.tempDirectory().appendingPathComponent("a").path
    let b = TestSupport.tempDirectory().appendingPathComponent("b").path
    for out in [a, b] {
      let r = try TestSupport.tagdata(["build", "--quiet", "--catalog", path, "--out", out, "--split", "scaffold", "--tasks", "QED,BA"])
      #expect(r.status == 0, "\(r.stderr)")
    }
    let fa = try StageBuildTests.files(a), fb = try StageBuildTests.files(b)
    #expect(fa == fb && fa["leakage.json"] != nil && fa["leakage.md"] != nil)
    let recs = try StageBuildTests.records(a)
    let smiles = Set(recs.flatMap { Self.ids($0, "molecules") })
    let input = smiles.sorted().joined(separator: "\n") + "\n"
    let d = try TestSupport.tagdata(["describe", "--descriptors", "scaffold", "-"], input: Data(input.utf8))
    var scaffoldOf: [String: String] = [:]
    for line in d.stdout.split(separator: "\n").dropFirst() {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      if f.count >= 3 { scaffoldOf[f[1]] = f[2] }
    }
    for task in ["QED", "BA"] {
      let g = Self.groups(recs, task: task) { r in Self.ids(r, "molecules").compactMap { scaffoldOf[$0] } }
      let splits = Array(g.values)
      #expect(splits.count >= 2 && splits.allSatisfy { !$0.isEmpty }, "\(task): \(scaffoldOf.count) scaffolds read")
      for i in splits.indices {
        for j in splits.indices where j > i { #expect(splits[i].isDisjoint(with: splits[j]), "\(task)") }
      }
    }
    // An unknown or inapplicable split is a usage error.
    for bad in ["sideways"] {
      #expect(try TestSupport.tagdata(["build", "--catalog", path, "--out", a, "--split", bad]).status == 64)
    }
  }
}
