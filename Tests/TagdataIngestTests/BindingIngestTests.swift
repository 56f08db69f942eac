import Foundation
import TagdataCatalog
import TestSupport
import Testing

/// BindingDB samples into the catalog: every row stored or quarantined, one link per chain,
/// measurements with their errors, the same catalog whatever the order of the sources, and
/// aggregation policies as pandas computes them.
@Suite struct BindingIngestTests {
  static let samples = ["bindingdb/bindingdb_2015m10_sample.tsv", "bindingdb/bindingdb_2022m5_sample.tsv"]

  static func ingest(_ files: [String]) throws -> (Catalog, String, [[String: Any]]) {
    let path = TestSupport.tempDirectory().appendingPathComponent("b.sqlite").path
    let r = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--catalog", path] + files.map { TestSupport.corpus($0).path })
    #expect(r.status == 0, "\(r.stderr)")
    let reports = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
    return (try Catalog(path: path, readOnly: true), path, reports)
  }

  @Test func everyRowIsStoredOrQuarantinedWithItsReason() throws {
    let (c, _, reports) = try Self.ingest(Self.samples + ["bindingdb/bindingdb_2022m5_sample.tsv.zip"])
    // Per file: rows stored and quarantined (bindingdb_sample_rows.txt lists what each row is:
    // 213 and 163 readable rows, one of each with a bad SMILES, 8 malformed rows each).
    #expect(reports.map { $0["records"] as? Int } == [212, 162, 162])
    #expect(reports.map { $0["quarantined"] as? Int } == [9, 9, 9])
    #expect(reports.allSatisfy { $0["format"] as? String == "bindingdb" })
    var reasons: [String] = []
    try c.forEachQuarantined { reasons.append($0.reason); return true }
    #expect(reasons.count == 27)
    for needle in ["fields where the header has", "no ligand SMILES", "not UTF-8", "unmatched '('", "chain count",
                   "has no sequence"] {
      #expect(reasons.contains { $0.contains(needle) }, "\(needle)")
    }
    // One link per chain; targets of 1, 2 and 3 chains.
    let chains = try c.db.scalar("SELECT count(*) FROM target_chains") ?? 0
    let declared = try c.db.scalar("SELECT sum(chains) FROM targets") ?? -1
    #expect(chains == declared)
    #expect(try c.db.scalar("SELECT count(DISTINCT chains) FROM targets") == 3)
    // A cell that cannot be read keeps its text and error; the rest of its row is there.
    let unreadable = try c.db.scalar("SELECT count(*) FROM measurements WHERE error IS NOT NULL") ?? 0
    #expect(unreadable > 0)
    #expect(try c.db.scalar("""
      SELECT count(*) FROM measurements x WHERE x.error IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM binding_records r WHERE r.source_id = x.source_id AND r.record_no = x.record_no)
      """) == 0)
    // pX of every affinity with a value above 0; none, with the reason, at or below 0; never infinite.
    #expect(try c.db.scalar("""
      SELECT count(*) FROM measurements WHERE kind IN ('Ki', 'IC50', 'Kd', 'EC50') AND error IS NULL AND value > 0
        AND (px IS NULL OR abs(px - (9 - log10(value))) > 1e-12)
      """) == 0)
    let nonPositive = try c.db.scalar("""
      SELECT count(*) FROM measurements WHERE kind IN ('Ki', 'IC50', 'Kd', 'EC50') AND error IS NULL AND value <= 0
      """) ?? 0
    #expect(nonPositive > 0)
    #expect(try c.db.scalar("SELECT count(*) FROM measurements WHERE px IS NULL AND px_reason IS NOT NULL") == nonPositive)
    #expect(try c.db.scalar("SELECT count(*) FROM measurements WHERE kind IN ('kon', 'koff', 'pH', 'temp') AND px IS NOT NULL") == 0)
    // Ligands are the catalog's molecules, chains its proteins.
    #expect(try c.db.scalar("SELECT count(*) FROM binding_records r LEFT JOIN molecules m ON m.id = r.molecule_id WHERE m.id IS NULL") == 0)
    #expect(try c.foreignKeyViolations().isEmpty)
  }

  /// UniProt, PubChem and BindingDB in either order: the same catalog.
  @Test func anyOrderGivesTheSameCatalog() throws {
    let others = ["uniprot/flat/multi_ex.txt", "pubchem/sdf/pubchem.200.sdf"]
    let (a, _, _) = try Self.ingest(others + Self.samples)
    let (b, _, _) = try Self.ingest(Self.samples.reversed() + others.reversed())
    let da = try a.dump(), db = try b.dump()
    #expect(da.count == db.count && da.filter { $0.hasPrefix("measurement\t") }.count > 500)
    #expect(da == db)
  }

  /// Aggregated values against a hand computation on a small case and pandas on every group.
  @Test func aggregationAsPandasComputesIt() throws {
    let (c, path, _) = try Self.ingest(Self.samples)
    var lines: [String] = []
    var groups = 0
    for policy in Catalog.AggregationPolicy.allCases {
      for censored in Catalog.CensoredPolicy.allCases {
        for scale in Catalog.MeasurementScale.allCases {
          for kind in ["*", "Ki", "IC50", "Kd", "EC50"] {
            if kind == "*" && (policy == .maxAffinity || scale == .pX) { continue }
            try c.forEachAggregatedMeasurement(kind: kind == "*" ? nil : kind, policy: policy, censored: censored,
                                               scale: scale) { m in
              groups += 1
              #expect(m.count > 0 && m.value.isFinite && (censored == .keep || m.censored == 0))
              lines.append([policy.rawValue, censored.rawValue, scale.rawValue, kind, m.smiles, m.target, m.kind,
                            "\(m.value)", "\(m.count)", "\(m.censored)"].joined(separator: "\t"))
              return true
            }
          }
        }
      }
    }
    #expect(groups > 100)
    // A kind that is no affinity has no max_affinity.
    #expect(throws: Catalog.AggregationError.self) {
      try c.forEachAggregatedMeasurement(kind: "pH", policy: .maxAffinity, censored: .keep, scale: .raw) { _ in true }
    }
    guard let python = TestSupport.python else {
      if TestSupport.interopRequired { Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python") }
      return
    }
    let ours = TestSupport.tempDirectory().appendingPathComponent("ours.tsv")
    try (lines.joined(separator: "\n") + "\n").write(to: ours, atomically: true, encoding: .utf8)
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/pandas_aggregation.py").path
    let r = try TestSupport.run(python, [script, path, ours.path])
    print(r.stdout.split(separator: "\n").last.map(String.init) ?? "")
    #expect(r.status == 0, "\(r.stdout.prefix(4000))\(r.stderr.prefix(2000))")
  }
}
