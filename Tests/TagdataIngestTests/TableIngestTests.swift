import Foundation
import TagdataCatalog
import TagdataSources
import TestSupport
import Testing

/// Labelled tables: presets and custom mappings, rows stored with their cells, bad rows
/// quarantined with the column, a missing column refused by name.
@Suite struct TableIngestTests {
  static func catalogPath() -> String { TestSupport.tempDirectory().appendingPathComponent("t.sqlite").path }

  @Test func presetsReadTheShippedTables() throws {
    let path = Self.catalogPath()
    for (preset, file, rows) in [("tdc-dti", "tables/tdc_dti_sample.csv", 100), ("tdc-drugcomb", "tables/drugcomb_sample.csv", 60),
                                 ("parallel-text", "tables/parallel_text_sample.tsv", 40)] {
      let r = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--catalog", path, "--preset", preset,
                                       TestSupport.corpus(file).path])
      #expect(r.status == 0, "\(r.stderr)")
      let report = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
      #expect(report["records"] as? Int == rows && report["quarantined"] as? Int == 0 && report["format"] as? String == "table")
    }
    let catalog = try Catalog(path: path, readOnly: true)
    var dti: [Catalog.StoredTableRow] = []
    try catalog.forEachTableRow(name: "tdc-dti") { dti.append($0); return true }
    #expect(dti.count == 100 && dti.allSatisfy { $0.fields == ["Drug_ID", "Drug", "Target_ID", "Target", "Y"] })
    // The Drug cell is stored as the canonical SMILES of the file's; Y as its number.
    let csv = try String(contentsOf: TestSupport.corpus("tables/tdc_dti_sample.csv"), encoding: .utf8)
    let lines = csv.split(separator: "\n").dropFirst().map(String.init)
    let rows = try lines.map { line -> (String, Double) in
      let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      return (f[1], try #require(Double(f[4])))
    }
    for (stored, (smiles, y)) in zip(dti.sorted { $0.recordNo < $1.recordNo }, rows) {
      #expect(stored.values[1] == .text(try canonical(smiles)))
      #expect(stored.values[4] == .number(y))
    }
    var translate = 0
    try catalog.forEachTableRow(name: "parallel-text") { row in
      translate += 1
      if case let .text(lang) = row.values[0] { #expect(!lang.isEmpty && lang.count <= 35) }
      return true
    }
    #expect(translate == 40)
  }

  /// TDC's BindingDB_Patent layout: every row stored with its Year as a number (2013-2021, each
  /// year present), the trap rows (another spelling, a salt, stereoisomers) among them.
  @Test func patentPresetKeepsTheYear() throws {
    let path = Self.catalogPath()
    let file = TestSupport.corpus("tables/tdc_dti_patent_sample.csv")
    let r = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--catalog", path, "--preset", "tdc-dti-patent", file.path])
    #expect(r.status == 0, "\(r.stderr)")
    let report = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
    #expect(report["records"] as? Int == 120 && report["quarantined"] as? Int == 0 && report["format"] as? String == "table",
            "\(r.stdout)")
    let catalog = try Catalog(path: path, readOnly: true)
    var stored: [Catalog.StoredTableRow] = []
    try catalog.forEachTableRow(name: "tdc-dti-patent") { stored.append($0); return true }
    #expect(stored.count == 120)
    #expect(stored.allSatisfy { $0.fields == ["Drug_ID", "Drug", "Target_ID", "Target", "Y", "Year"] })
    let csv = try String(contentsOf: file, encoding: .utf8)
    let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    #expect(rows.count == 120)
    var years: [Int: Int] = [:]
    for (row, fields) in zip(stored.sorted { $0.recordNo < $1.recordNo }, rows) {
      let year = try #require(Double(fields[5]))
      #expect(row.values[5] == .number(year), "row \(row.recordNo): \(row.values[5])")
      #expect(row.values[0] == .text(fields[0]))
      years[Int(year), default: 0] += 1
    }
    #expect(years.keys.sorted() == Array(2013...2021) && years.values.allSatisfy { $0 >= 10 }, "\(years)")
    // The traps are ordinary rows to ingest: a salt keeps its counter-ion, the aromatic spelling
    // and its Kekulé source give one canonical molecule, the enantiomers two.
    func drug(_ id: String) throws -> String? {
      let row = try #require(stored.first { $0.values[0] == .text(id) }, "\(id)")
      if case let .text(s) = row.values[1] { return s }
      return nil
    }
    #expect(try drug("alias_aromatic_chembl_smi_3883") == (try drug("chembl_smi_3883")))
    #expect(try drug("salt_hcl_chembl_smi_3921")?.contains(".") == true)
    #expect(try drug("salt_na_10777308")?.contains("Na") == true)
    #expect(try drug("stereo_a_chembl_smi_3604") != (try drug("stereo_b_chembl_smi_3604")))
    #expect(try drug("stereo_a_chembl_smi_3604")?.contains("@") == true && (try drug("chembl_smi_3604"))?.contains("@") == false)
  }

  func canonical(_ smiles: String) throws -> String {
    let r = try TestSupport.tagdata(["canon", "smiles", "-"], input: Data((smiles + "\n").utf8))
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test func badRowsAreQuarantinedWithTheColumnAndAMissingColumnIsNamed() throws {
    let path = Self.catalogPath()
    let dir = TestSupport.tempDirectory()
    let table = dir.appendingPathComponent("t.csv")
    try """
      name,smiles,pIC50,assay
      ethanol,CCO,5.5,a1
      "benzene, plain",c1ccccc1,6,a2
      broken,C1CC,7,a3
      noval,CCN,n/a,a4
      empty,,4,a5
      short,CCC
      quoted,"CC(=O)O","3.25",a6
      """.write(to: table, atomically: true, encoding: .utf8)
    let spec = "smiles=smiles,pIC50=number,assay=id,name=text"
    let r = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--catalog", path, "--columns", spec, table.path])
    #expect(r.status == 0, "\(r.stderr)")
    let report = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first)
    #expect(report["records"] as? Int == 3 && report["quarantined"] as? Int == 4)
    let catalog = try Catalog(path: path, readOnly: true)
    var reasons: [Int: String] = [:]
    try catalog.forEachQuarantined { reasons[$0.line] = $0.reason; return true }
    #expect(reasons[4]?.contains("column 'smiles' (smiles)") == true)
    #expect(reasons[5]?.contains("column 'pIC50' (number)") == true)
    #expect(reasons[6]?.contains("empty 'smiles'") == true)
    #expect(reasons[7] != nil)
    // Read again with the same mapping: nothing to do; with another mapping: another source.
    let again = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--catalog", path, "--columns", spec, table.path])
    #expect(again.stdout.contains("already-ingested"))
    let other = try TestSupport.tagdata(["ingest", "--quiet", "--json", "--catalog", path, "--columns", "smiles=smiles", table.path])
    #expect(other.stdout.contains("\"records\" : 4") && other.stdout.contains("\"newMolecules\" : 1"), "\(other.stdout)")
    // A mapped column the header lacks: an error naming it, exit 1.
    let missing = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path, "--columns", "SMILES=smiles,Y=number", table.path])
    #expect(missing.status == 1)
    #expect(missing.stderr.contains("'SMILES', 'Y'") && missing.stderr.contains("name, smiles, pIC50, assay"), "\(missing.stderr)")
    // Bad specifications are usage errors.
    for bad in [["--columns", "smiles"], ["--columns", "smiles=molecule"], ["--preset", "nope"],
                ["--preset", "tdc-dti", "--columns", "a=id"]] {
      #expect(try TestSupport.tagdata(["ingest", "--catalog", path] + bad + [table.path]).status == 64, "\(bad)")
    }
  }

  @Test func mappingSpecifications() throws {
    let m = try TableMapping.parse("Drug 1=smiles,Y=number")
    #expect(m.columns == [.init(header: "Drug 1", kind: .smiles), .init(header: "Y", kind: .number)])
    #expect(throws: TableMapping.SpecError.self) { try TableMapping.parse("a=number,a=id") }
    #expect(throws: TableMapping.SpecError.self) { try TableMapping.parse("") }
    #expect(TableMapping.presets["tdc-dti"]?.json
      == #"{"name":"tdc-dti","columns":[["Drug_ID","id"],["Drug","smiles"],["Target_ID","id"],["Target","protein"],["Y","number"]]}"#)
    #expect(TableMapping.presets["tdc-dti-patent"]?.json
      == #"{"name":"tdc-dti-patent","columns":[["Drug_ID","id"],["Drug","smiles"],["Target_ID","id"],["Target","protein"],["Y","number"],["Year","number"]]}"#)
  }
}
