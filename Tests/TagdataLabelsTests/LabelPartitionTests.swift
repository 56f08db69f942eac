import Foundation
import Testing
import TagdataCatalog
import TagdataLabels
import TestSupport

/// `tagdata describe --catalog C --partition i/N --out PART` and `tagdata catalog merge --out C
/// PARTS...`: N partitions' labels merged into the catalog equal one `tagdata describe --catalog
/// C`, dump for dump.
@Suite struct LabelPartitionTests {
  static let descriptors = "mol_wt,formula,tpsa,qed,scaffold,pi,gravy,BLOSUM1"

  /// A catalog of shipped molecules and proteins, some labels already there and some of them
  /// stale (another version), made once; tests work on copies.
  static let files = ["uniprot/flat/multi_ex.txt", "uniprot/flat/P04439.txt", "uniprot/fasta/protein_lib.fa",
                       "pubchem/sdf/pubchem.200.sdf", "pubchem/sdf/Issue3228150.full.sdf",
                       "bindingdb/bindingdb_2022m5_sample.tsv"].map { TestSupport.corpus($0).path }

  static let base: String = {
    let dir = TestSupport.tempDirectory()
    let path = dir.appendingPathComponent("base.sqlite").path
    let ingest = try! TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + files)
    precondition(ingest.status == 0, ingest.stderr)
    let some = try! TestSupport.tagdata(["describe", "--quiet", "--catalog", path, "--descriptors", "mol_wt,pi"])
    precondition(some.status == 0, some.stderr)
    try! Catalog(path: path).db.execute("UPDATE labels SET version = 'stale' WHERE entity_id % 3 = 0")
    return path
  }()

  /// A copy of `base`.
  static func copy() throws -> String {
    let path = TestSupport.tempDirectory().appendingPathComponent("catalog.sqlite").path
    try Catalog(path: base, readOnly: true).db.execute("VACUUM INTO '\(path)'")
    return path
  }

  static func describe(_ catalog: String, _ extra: [String] = []) throws -> TestSupport.Output {
    try TestSupport.tagdata(["describe", "--quiet", "--catalog", catalog, "--descriptors", descriptors] + extra)
  }

  /// The N parts of `catalog`.
  static func parts(_ catalog: String, _ n: Int) throws -> [String] {
    let dir = TestSupport.tempDirectory()
    return try (0..<n).map { i in
      let part = dir.appendingPathComponent("labels-\(i).sqlite").path
      let out = try describe(catalog, ["--partition", "\(i)/\(n)", "--out", part])
      #expect(out.status == 0, "\(out.stderr)")
      return part
    }
  }

  static func merge(_ catalog: String, _ parts: [String]) throws -> TestSupport.Output {
    try TestSupport.tagdata(["catalog", "merge", "--out", catalog] + parts)
  }

  static func dump(_ path: String) throws -> [String] { try Catalog(path: path, readOnly: true).dump(provenance: true) }

  @Test(arguments: [1, 2, 3, 7]) func mergedPartsEqualOneDescribe(n: Int) throws {
    let single = try Self.copy(), partitioned = try Self.copy()
    #expect(try Self.describe(single).status == 0)
    let before = try Self.dump(partitioned)
    let parts = try Self.parts(partitioned, n)
    // The catalog is only read by the partitions.
    #expect(try Self.dump(partitioned) == before)
    // Every entity with a label to compute is in exactly one part.
    var labelled: [String] = []
    for part in parts {
      let s = try Catalog(path: part, readOnly: true).db.prepare("SELECT DISTINCT entity || ' ' || entity_id FROM labels")
      while try s.step() { labelled.append(s.text(0) ?? "") }
    }
    #expect(Set(labelled).count == labelled.count && !labelled.isEmpty)
    let out = try Self.merge(partitioned, parts)
    #expect(out.status == 0, "\(out.stderr)")
    let a = try Self.dump(partitioned), b = try Self.dump(single)
    #expect(a.filter { $0.hasPrefix("label\t") }.count > 100)
    #expect(a.contains { $0.hasPrefix("label\tprotein\t") } && a.contains { $0.hasPrefix("label\tmolecule\t") })
    #expect(!a.contains { $0.contains("\tstale") })
    #expect(a == b, "\(n): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0.prefix(300))\n\($1.prefix(300))" } ?? "in length \(a.count) \(b.count)")")
    // Merging again changes nothing; describing again finds nothing to do.
    #expect(try Self.merge(partitioned, parts).status == 0)
    #expect(try Self.dump(partitioned) == b)
  }

  /// Ingest partitions each described, then merged: their labels (entities matched by key) equal
  /// one ingest described.
  @Test(arguments: [2, 3, 7]) func ingestPartitionsCarryTheirLabels(n: Int) throws {
    let dir = TestSupport.tempDirectory()
    let single = dir.appendingPathComponent("single.sqlite").path
    #expect(try TestSupport.tagdata(["ingest", "--quiet", "--catalog", single] + Self.files).status == 0)
    #expect(try Self.describe(single).status == 0)
    let parts = try (0..<n).map { i in
      let part = dir.appendingPathComponent("part-\(i).sqlite").path
      let out = try TestSupport.tagdata(["ingest", "--quiet", "--partition", "\(i)/\(n)", "--catalog", part] + Self.files)
      #expect(out.status == 0, "\(out.stderr)")
      #expect(try Self.describe(part).status == 0)
      return part
    }
    let merged = dir.appendingPathComponent("merged.sqlite").path
    let out = try Self.merge(merged, parts)
    #expect(out.status == 0, "\(out.stderr)")
    let a = try Self.dump(merged), b = try Self.dump(single)
    #expect(a.filter { $0.hasPrefix("label\t") }.count > 100)
    #expect(a == b, "\(n): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0.prefix(300))\n\($1.prefix(300))" } ?? "in length \(a.count) \(b.count)")")
  }

  /// A partition killed after some pages reruns into the same part: the labels it committed are
  /// kept and not computed again, the rest are computed, and the result is a full run's.
  @Test func killedPartitionResumes() throws {
    let catalog = try Self.copy()
    let chosen = try DescriptorRegistry.resolve(Self.descriptors, kinds: LabelKind.allCases)
    let dir = TestSupport.tempDirectory()
    func run(_ part: String) throws -> [LabelKind: CatalogLabeling.Summary] {
      let c = try Catalog(path: catalog, readOnly: true), p = try Catalog(path: part)
      return try CatalogLabeling.labelPartition(c, catalogPath: catalog, into: p, partPath: part, chosen, partition: (1, 3),
                                                run: nil, pageSize: 8)
    }
    let full = dir.appendingPathComponent("full.sqlite").path
    let first = try run(full)
    let killed = dir.appendingPathComponent("killed.sqlite").path
    _ = try run(killed)
    // As a run killed after its first pages leaves it: the later entities' labels not committed.
    let p = try Catalog(path: killed)
    try p.db.execute("""
      DELETE FROM labels WHERE entity = 'molecule' AND entity_id > (SELECT max(id) / 2 FROM molecules);
      DELETE FROM labels WHERE entity = 'protein';
      """)
    let resumed = try run(killed)
    #expect(resumed[.molecule]!.entities > 0 && resumed[.molecule]!.entities < first[.molecule]!.entities)
    #expect(resumed[.protein]!.entities == first[.protein]!.entities)
    let labels = "SELECT entity, name, entity_id, value, text, reason, version FROM labels ORDER BY 1, 2, 3"
    func rows(_ path: String) throws -> [String] {
      let s = try Catalog(path: path, readOnly: true).db.prepare(labels)
      var out: [String] = []
      while try s.step() { out.append((0..<7).map { s.text(Int32($0)) ?? "∅" }.joined(separator: " ")) }
      return out
    }
    #expect(try rows(killed) == rows(full))
    // A third run computes nothing.
    let again = try run(killed)
    #expect(again.values.allSatisfy { $0.entities == 0 })
  }

  @Test func refusals() throws {
    let catalog = try Self.copy()
    let parts = try Self.parts(catalog, 3)
    // A missing partition.
    let missing = try Self.merge(catalog, [parts[0], parts[2]])
    #expect(missing.status == 74 && missing.stderr.contains("labels partition 1/3 is missing"), "\(missing.stderr)")
    // A part of another catalog.
    let other = TestSupport.tempDirectory().appendingPathComponent("other.sqlite").path
    #expect(try TestSupport.tagdata(["ingest", "--quiet", "--catalog", other, TestSupport.corpus("pubchem/sdf/pubchem.200.sdf").path]).status == 0)
    let foreign = try Self.parts(other, 3)
    let refused = try Self.merge(catalog, [parts[0], foreign[1], parts[2]])
    #expect(refused.status == 74 && refused.stderr.contains(foreign[1]) && refused.stderr.contains("another catalog"), "\(refused.stderr)")
    // Parts of another describe run (other N).
    let two = try Self.parts(catalog, 2)
    let mixedN = try Self.merge(catalog, parts + [two[0]])
    #expect(mixedN.status == 74 && mixedN.stderr.contains("another describe run"), "\(mixedN.stderr)")
    // Labels parts with an ingest partition.
    let ingestPart = TestSupport.tempDirectory().appendingPathComponent("ingest.sqlite").path
    #expect(try TestSupport.tagdata(["ingest", "--quiet", "--partition", "0/1", "--catalog", ingestPart,
                                     TestSupport.corpus("uniprot/flat/P04439.txt").path]).status == 0)
    let mixed = try Self.merge(catalog, parts + [ingestPart])
    #expect(mixed.status == 74 && mixed.stderr.contains(ingestPart) && mixed.stderr.contains("labels part"), "\(mixed.stderr)")
    // Nothing was merged by the refused runs.
    #expect(try Catalog(path: catalog, readOnly: true).db.scalar("SELECT count(*) FROM labels WHERE version = 'stale'") ?? 0 > 0)
    // The catalog changed (another ingest) since the parts were made.
    #expect(try TestSupport.tagdata(["ingest", "--quiet", "--catalog", catalog, TestSupport.corpus("pubchem/sdf/pubchem_87396055.sdf").path]).status == 0)
    let changed = try Self.merge(catalog, parts)
    #expect(changed.status == 74 && changed.stderr.contains("before it changed"), "\(changed.stderr)")
    // A part file reused for another partition, or a catalog with content as --out.
    let reused = try Self.describe(catalog, ["--partition", "2/3", "--out", parts[0]])
    #expect(reused.status == 74 && reused.stderr.contains("give another --out"), "\(reused.stderr)")
    let notPart = try Self.describe(catalog, ["--partition", "0/3", "--out", other])
    #expect(notPart.status == 74 && notPart.stderr.contains("not a labels part"), "\(notPart.stderr)")
    // Usage.
    #expect(try Self.describe(catalog, ["--partition", "0/3"]).status == 64)
    #expect(try Self.describe(catalog, ["--partition", "3/3", "--out", parts[0]]).status == 64)
  }
}
