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
    for (ablation, shards, gzip) in [("both", "3", false), ("none", "1", false), ("no-domain", "2", true)] {
      let out = dir.appendingPathComponent("build-\(ablation)").path
      let b = try TestSupport.tagdata(["build", "--preset", "tag-llm", "--catalog", catalog, "--out", out, "--shards", shards,
                                       "--ablation", ablation] + (gzip ? ["--gzip"] : []))
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
}
