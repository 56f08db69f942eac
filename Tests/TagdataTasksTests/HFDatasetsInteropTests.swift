import Foundation
import TestSupport
import Testing

/// A build of the shipped corpora read by Python: every record valid against
/// Schemas/task-record.schema.json (jsonschema), every shard loaded by Hugging Face
/// `datasets.load_dataset("json", ...)` with the manifest's row counts.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct HFDatasetsInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/hf_datasets.py").path
  static let schema = TestSupport.root.appendingPathComponent("Schemas/task-record.schema.json").path

  @Test func recordsValidateAndShardsLoad() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let catalog = try StageBuildTests.catalog()
    let dir = TestSupport.tempDirectory()
    let custom = TestSupport.root.appendingPathComponent("Examples/tasks-custom.yaml").path
    for (ablation, shards, gzip) in [("both", "3", false), ("none", "1", false), ("no-domain", "2", true), ("custom", "2", false)] {
      let out = dir.appendingPathComponent("build-\(ablation)").path
      let what = ablation == "custom" ? ["--config", custom] : ["--preset", "tag-llm", "--ablation", ablation]
      let b = try TestSupport.tagdata(["build", "--catalog", catalog, "--out", out, "--shards", shards] + what
                                        + (gzip ? ["--gzip"] : []))
      #expect(b.status == 0, "\(b.stderr)")
      var env = ProcessInfo.processInfo.environment
      env["HF_DATASETS_CACHE"] = dir.appendingPathComponent("hf-cache").path
      env["HF_HUB_OFFLINE"] = "1"
      let r = try TestSupport.run(python, [Self.script, Self.schema, out], environment: env)
      if r.status == 3 && !TestSupport.interopRequired {
        print("skipped: \(r.stdout)")
        return
      }
      #expect(r.status == 0, "ablation \(ablation):\n\(r.stdout)\n\(r.stderr)")
      #expect(r.stdout.contains("SUMMARY") && r.stdout.contains("problems=0"), "\(r.stdout)")
    }
  }

  /// Label strings of awkward values (tiny, huge, inexact sums, negative, whole) equal Python's
  /// `str(value)[:6]` padded with 0, on BA (Y as given) and DC (Y * 0.1).
  @Test func awkwardLabelsMatchPython() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let dir = TestSupport.tempDirectory()
    let values = ["1e-05", "0.00012345", "1234567.0", "0.30000000000000004", "-1.5", "164", "12.3456", "1e+16", "1e15",
                  "3.14159e-7", "99999.99", "0.5", "7", "-0.000001"]
    var dti = "Drug_ID,Drug,Target_ID,Target,Y\n"
    var comb = "Drug1_ID,Drug1,Drug2_ID,Drug2,Cell_Line_ID,Y\n"
    for (k, v) in values.enumerated() {
      dti += "d\(k),\(String(repeating: "C", count: k + 1))O,T\(k),MKTAYIAKQRQISFVKSHFSRQ,\(v)\n"
      comb += "a\(k),\(String(repeating: "C", count: k + 1))N,b\(k),CCO,L1,\(v)\n"
    }
    try Data(dti.utf8).write(to: dir.appendingPathComponent("dti.csv"))
    try Data(comb.utf8).write(to: dir.appendingPathComponent("comb.csv"))
    let catalog = dir.appendingPathComponent("c.sqlite").path
    for (preset, file) in [("tdc-dti", "dti.csv"), ("tdc-drugcomb", "comb.csv")] {
      let r = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", catalog, "--preset", preset,
                                       dir.appendingPathComponent(file).path])
      #expect(r.status == 0, "\(r.stderr)")
    }
    let out = dir.appendingPathComponent("build").path
    let b = try TestSupport.tagdata(["build", "--catalog", catalog, "--out", out, "--tasks", "BA,DC", "--shards", "2"])
    #expect(b.status == 0, "\(b.stderr)")
    var env = ProcessInfo.processInfo.environment
    env["HF_DATASETS_CACHE"] = dir.appendingPathComponent("hf-cache").path
    env["HF_HUB_OFFLINE"] = "1"
    let r = try TestSupport.run(python, [Self.script, Self.schema, out], environment: env)
    if r.status == 3 && !TestSupport.interopRequired {
      print("skipped: \(r.stdout)")
      return
    }
    #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    #expect(r.stdout.contains("labels=\(2 * values.count) "), "\(r.stdout)")
  }
}
