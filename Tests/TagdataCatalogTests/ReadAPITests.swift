import Foundation
import TagdataCatalog
import TestSupport
import Testing

/// The catalog's read API on a catalog of shipped files: every row, in order, filtered as asked,
/// and stopping when asked.
@Suite struct ReadAPITests {
  static func catalog() throws -> (Catalog, String) {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let files = ["uniprot/flat/multi_ex.txt", "uniprot/flat/sp012.dat", "pubchem/sdf/pubchem.200.sdf",
                 "pubchem/xml/taxols.xml"].map { TestSupport.corpus($0).path }
    _ = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path] + files)
    return (try Catalog(path: path, readOnly: true), path)
  }

  @Test func proteinsAndEntriesComeInKeyOrderAndFiltered() throws {
    let (c, _) = try Self.catalog()
    var all: [Catalog.StoredProtein] = []
    try c.forEachProtein { all.append($0); return true }
    #expect(all.count == Int(try c.db.scalar("SELECT count(*) FROM proteins") ?? -1) && all.count > 0)
    #expect(all.map(\.sha256) == all.map(\.sha256).sorted())
    #expect(all.allSatisfy { $0.sequence.utf8.count == $0.length && $0.sha256.count == 64 && $0.crc64.count == 16 })
    let lengths = all.map(\.length).sorted()
    let median = lengths[lengths.count / 2]
    var short = 0
    try c.forEachProtein(Catalog.ProteinFilter(maxLength: median)) { #expect($0.length <= median); short += 1; return true }
    #expect(short == lengths.filter { $0 <= median }.count)
    var entries: [Catalog.StoredEntry] = []
    try c.forEachEntry { entries.append($0); return true }
    #expect(entries.count == Int(try c.db.scalar("SELECT count(*) FROM entries") ?? -1))
    #expect(Set(entries.map(\.proteinSHA256)).isSubset(of: Set(all.map(\.sha256))))
    var reviewed = 0
    try c.forEachEntry(Catalog.EntryFilter(reviewed: true)) { #expect($0.reviewed == true); reviewed += 1; return true }
    #expect(reviewed == entries.filter { $0.reviewed == true }.count)
    var first = 0
    try c.forEachEntry { _ in first += 1; return false }
    #expect(first == 1)
  }

  @Test func moleculesAndQuarantine() throws {
    let (c, path) = try Self.catalog()
    var molecules: [Catalog.StoredMolecule] = []
    try c.forEachMolecule { molecules.append($0); return true }
    #expect(molecules.count == Int(try c.db.scalar("SELECT count(*) FROM molecules") ?? -1) && molecules.count >= 200)
    #expect(molecules.map(\.smiles) == molecules.map(\.smiles).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    var small = 0
    try c.forEachMolecule(Catalog.MoleculeFilter(maxHeavyAtoms: 10)) { #expect($0.heavyAtoms <= 10); small += 1; return true }
    #expect(small == molecules.filter { $0.heavyAtoms <= 10 }.count && small > 0)
    var quarantined: [Catalog.QuarantinedRecord] = []
    try c.forEachQuarantined { quarantined.append($0); return true }
    #expect(quarantined.count == 3 && quarantined.allSatisfy { $0.path.hasSuffix("taxols.xml") && !$0.reason.isEmpty })
    let cli = try TestSupport.tagdata(["catalog", "quarantine", "--catalog", path]).stdout.split(separator: "\n")
    #expect(cli.count == quarantined.count)
  }
}
