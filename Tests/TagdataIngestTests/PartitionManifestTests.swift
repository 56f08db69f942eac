import Foundation
import TagdataIngest
import TestSupport
import Testing

/// The manifest a partitioned ingest writes beside its catalog.
@Suite struct PartitionManifestTests {
  @Test func everyPartitionStatesItsUnitsCountsAndHash() throws {
    let dir = TestSupport.tempDirectory().path
    let files = ["uniprot/flat/multi_ex.txt", "pubchem/sdf/pubchem.200.sdf", "bindingdb/bindingdb_2015m10_sample.tsv"]
      .map { TestSupport.corpus($0).path }
    let single = try TestSupport.tagdata(["ingest", "--json", "--catalog", dir + "/single.sqlite"] + files)
    #expect(single.status == 0, "\(single.stderr)")
    let singleRecords = try #require(try JSONSerialization.jsonObject(with: Data(single.stdout.utf8)) as? [[String: Any]])
      .reduce(0) { $0 + ($1["records"] as? Int ?? 0) }
    var records = 0
    var unitsSeen = 0
    for i in 0..<3 {
      let catalog = dir + "/p\(i).sqlite"
      let r = try TestSupport.tagdata(["ingest", "--quiet", "--partition", "\(i)/3", "--catalog", catalog] + files)
      #expect(r.status == 0, "\(r.stderr)")
      let data = try Data(contentsOf: URL(fileURLWithPath: IngestPartitionManifest.path(catalog: catalog)))
      let decoder = JSONDecoder()
      decoder.keyDecodingStrategy = .convertFromSnakeCase
      let m = try decoder.decode(IngestPartitionManifest.self, from: data)
      #expect(m.partition == i && m.partitions == 3)
      #expect(Set(m.inputs.map(\.path)) == Set(files))
      #expect(m.units.allSatisfy { $0.status == "complete" })
      #expect(m.totals.records == m.units.reduce(0) { $0 + $1.records })
      records += m.totals.records
      unitsSeen += m.units.count
      // Each input is known by its size and the SHA-256 of its first 64 KiB.
      for input in m.inputs {
        let head = try TestSupport.shell("head -c 65536 '\(input.path)' | sha256sum")
        #expect(input.headSha256 == String(head.stdout.prefix(64)), "\(input.path)")
        #expect(input.size == (try FileManager.default.attributesOfItem(atPath: input.path)[.size] as? NSNumber)?.int64Value)
      }
    }
    #expect(records == singleRecords, "the partitions' records add up to a single ingest's")
    #expect(unitsSeen >= files.count)
    // A partition that fails (a file cut inside its gzip stream) writes no manifest, and an old
    // one is removed when the partition runs again.
    let cut = dir + "/cut.sdf.gz"
    let gz = try Data(contentsOf: TestSupport.corpusFiles("pubchem/compressed").first { $0.path.hasSuffix(".gz") }!)
    try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: cut))
    let catalog = dir + "/f.sqlite"
    try Data("{}".utf8).write(to: URL(fileURLWithPath: IngestPartitionManifest.path(catalog: catalog)))
    let f = try TestSupport.tagdata(["ingest", "--quiet", "--partition", "0/1", "--catalog", catalog, cut])
    #expect(f.status == 1, "\(f.stderr)")
    #expect(!FileManager.default.fileExists(atPath: IngestPartitionManifest.path(catalog: catalog)))
  }
}
