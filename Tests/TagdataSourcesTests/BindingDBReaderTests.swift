import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

/// Headers of the three release layouts, and rows placed into them by exact column name.
enum BindingDBLayouts {
  static let fixed2015: [String] = [
    "BindingDB Reactant_set_id", "Ligand SMILES", "Ligand InChI", "Ligand InChI Key", "BindingDB MonomerID",
    "BindingDB Ligand Name", "Target Name Assigned by Curator or DataSource",
    "Target Source Organism According to Curator or DataSource", "Ki (nM)", "IC50 (nM)", "Kd (nM)", "EC50 (nM)",
    "kon (M-1-s-1)", "koff (s-1)", "pH", "Temp (C)", "Curation/DataSource", "Article DOI", "PMID", "PubChem AID",
    "Patent Number", "Authors", "Institution", "Link to Ligand in BindingDB", "Link to Target in BindingDB",
    "Link to Ligand-Target Pair in BindingDB", "Ligand HET ID in PDB", "PDB ID(s) for Ligand-Target Complex",
    "PubChem CID", "PubChem SID", "ChEBI ID of Ligand", "ChEMBL ID of Ligand", "DrugBank ID of Ligand",
    "IUPHAR_GRAC ID of Ligand", "KEGG ID of Ligand", "ZINC ID of Ligand",
    "Number of Protein Chains in Target (>1 implies a multichain complex)",
  ]
  static let group: [String] = [
    "BindingDB Target Chain  Sequence", "PDB ID(s) of Target Chain", "UniProt (SwissProt) Recommended Name of Target Chain",
    "UniProt (SwissProt) Entry Name of Target Chain", "UniProt (SwissProt) Primary ID of Target Chain",
    "UniProt (SwissProt) Secondary ID(s) of Target Chain", "UniProt (SwissProt) Alternative ID(s) of Target Chain",
    "UniProt (TrEMBL) Submitted Name of Target Chain", "UniProt (TrEMBL) Entry Name of Target Chain",
    "UniProt (TrEMBL) Primary ID of Target Chain", "UniProt (TrEMBL) Secondary ID(s) of Target Chain",
    "UniProt (TrEMBL) Alternative ID(s) of Target Chain",
  ]

  /// The real 2015m10 header, as shipped in the sample.
  static func header2015m10() throws -> [String] {
    let text = try String(contentsOf: TestSupport.corpus("bindingdb/bindingdb_2015m10_sample.tsv"), encoding: .isoLatin1)
    return text.prefix { $0 != "\n" }.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
  }

  /// 2022m5 (FORMATS.md 5.2): the same fixed columns, `groups` un-numbered chain groups.
  static func header2022m5(groups: Int) -> [String] { fixed2015 + Array([[String]](repeating: group, count: groups).joined()) }

  /// A 2024-style header (FORMATS.md 5.3): `Target Name`, `BindingDB Entry DOI` after `Article DOI`,
  /// chain columns numbered with one blank before `Sequence`; groups written in `order`.
  static func header2024(order: [Int]) -> [String] {
    var fixed = fixed2015
    fixed[6] = "Target Name"
    fixed.insert("BindingDB Entry DOI", at: fixed.firstIndex(of: "Article DOI")! + 1)
    var out = fixed
    for k in order {
      out += group.map { ($0 == "BindingDB Target Chain  Sequence" ? "BindingDB Target Chain Sequence" : $0) + " \(k)" }
    }
    return out
  }

  /// A row for `header`: `cells[name]` at the first column named exactly `name`; chain k's cells
  /// (keys: the un-numbered group names) at the k-th un-numbered occurrence, or the column
  /// numbered k.
  static func row(_ header: [String], _ cells: [String: String], chains: [[String: String]] = []) -> String {
    var out = [String](repeating: "", count: header.count)
    for (name, value) in cells { out[header.firstIndex(of: name)!] = value }
    for (k, chain) in chains.enumerated() {
      for (name, value) in chain {
        let numbered = (name == "BindingDB Target Chain  Sequence" ? "BindingDB Target Chain Sequence" : name) + " \(k + 1)"
        if let i = header.firstIndex(of: numbered) {
          out[i] = value
        } else {
          let all = header.indices.filter { header[$0] == name }
          out[all[k]] = value
        }
      }
    }
    return out.joined(separator: "\t")
  }

  static func chain(_ seq: String, sp: String? = nil, tr: String? = nil, entry: String? = nil, name: String? = nil,
                    pdb: String? = nil, secondary: String? = nil) -> [String: String]
  {
    var c = ["BindingDB Target Chain  Sequence": seq]
    if let sp { c["UniProt (SwissProt) Primary ID of Target Chain"] = sp }
    if let tr { c["UniProt (TrEMBL) Primary ID of Target Chain"] = tr }
    if let entry { c[sp != nil ? "UniProt (SwissProt) Entry Name of Target Chain" : "UniProt (TrEMBL) Entry Name of Target Chain"] = entry }
    if let name { c[sp != nil ? "UniProt (SwissProt) Recommended Name of Target Chain" : "UniProt (TrEMBL) Submitted Name of Target Chain"] = name }
    if let pdb { c["PDB ID(s) of Target Chain"] = pdb }
    if let secondary { c["UniProt (SwissProt) Secondary ID(s) of Target Chain"] = secondary }
    return c
  }
}

@Suite struct BindingDBReaderTests {
  typealias L = BindingDBLayouts

  static func events(_ bytes: [UInt8], name: String = "t.tsv", limits: ReaderLimits = ReaderLimits()) throws -> [BindingEvent] {
    let reader = try BindingDBReader(source: MemorySource(bytes, name: name), limits: limits)
    var out: [BindingEvent] = []
    while let e = try reader.next() { out.append(e) }
    return out
  }

  static func events(_ text: String) throws -> [BindingEvent] { try events(Array(text.utf8)) }

  static func records(_ events: [BindingEvent]) -> [BindingRecord] {
    events.compactMap { if case let .record(r) = $0 { return r } else { return nil } }
  }

  static func malformed(_ events: [BindingEvent]) -> [MalformedRecord] {
    events.compactMap { if case let .malformed(m) = $0 { return m } else { return nil } }
  }

  static func file(_ header: [String], _ rows: [String]) -> String {
    ([header.joined(separator: "\t")] + rows).joined(separator: "\n") + "\n"
  }

  /// One full row's cells, for every layout.
  static let ligand: [String: String] = [
    "BindingDB Reactant_set_id": "50000001", "Ligand SMILES": "CC(=O)Oc1ccccc1C(=O)O", "Ligand InChI Key": "BSYNRYMUTXBXSQ-UHFFFAOYSA-N",
    "BindingDB MonomerID": "100001", "BindingDB Ligand Name": "aspirin", "Ki (nM)": ">10000", "IC50 (nM)": "12.5",
    "pH": "7.4", "Temp (C)": "25.00 C", "Curation/DataSource": "ChEMBL", "Article DOI": "10.5555/x.1", "PMID": "12345678",
    "PubChem AID": "1234", "Patent Number": "US1234567", "Institution": "Sample University", "PubChem CID": "2244,3000",
    "ChEMBL ID of Ligand": "CHEMBL25", "Target Source Organism According to Curator or DataSource": "Homo sapiens",
  ]

  func checkLigand(_ r: BindingRecord, targetName: String) {
    #expect(r.reactantSetID == 50_000_001)
    #expect(String(decoding: r.ligandSMILES, as: UTF8.self) == "CC(=O)Oc1ccccc1C(=O)O")
    #expect(r.inchiKey == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N")
    #expect(r.monomerID == 100_001)
    #expect(r.ligandName == "aspirin")
    #expect(r.targetName == targetName)
    #expect(r.organism == "Homo sapiens")
    #expect(r.pubchemCID == 2244)
    #expect(r.chemblID == "CHEMBL25")
    #expect(r.curation == "ChEMBL" && r.doi == "10.5555/x.1" && r.pmid == 12_345_678 && r.pubchemAID == 1234)
    #expect(r.patent == "US1234567" && r.institution == "Sample University")
    #expect(r.measurements.map(\.kind) == [.ki, .ic50, .pH, .temperature])
    #expect(r.measurements.map(\.relation) == [.greater, .equal, .equal, .equal])
    #expect(r.measurements.map(\.value) == [10000, 12.5, 7.4, 25])
    #expect(r.badMeasurements.isEmpty)
  }

  func twoChains() -> [[String: String]] {
    [L.chain("MKTAYIAKQR", sp: "P12345", entry: "TEST1_HUMAN", name: "Test protein 1", pdb: "1ABC,2DEF", secondary: "Q11111, Q22222"),
     L.chain("GSHMLEDPVD", tr: "A0A000", entry: "A0A000_HUMAN", name: "Submitted 2")]
  }

  func checkTwoChains(_ r: BindingRecord) {
    #expect(r.chains.count == 2)
    guard r.chains.count == 2 else { return }
    #expect(String(decoding: r.chains[0].sequence, as: UTF8.self) == "MKTAYIAKQR")
    #expect(r.chains[0].accession == "P12345")
    #expect(r.chains[0].otherAccessions == ["Q11111", "Q22222"])
    #expect(r.chains[0].entryName == "TEST1_HUMAN" && r.chains[0].name == "Test protein 1")
    #expect(r.chains[0].pdbIDs == ["1ABC", "2DEF"])
    #expect(String(decoding: r.chains[1].sequence, as: UTF8.self) == "GSHMLEDPVD")
    #expect(r.chains[1].accession == "A0A000" && r.chains[1].entryName == "A0A000_HUMAN" && r.chains[1].name == "Submitted 2")
  }

  @Test func the2015m10HeaderMapsByName() throws {
    let header = try L.header2015m10()
    #expect(header.count == 193)
    var cells = Self.ligand
    cells["Target Name Assigned by Curator or DataSource"] = "Test target"
    cells["Number of Protein Chains in Target (>1 implies a multichain complex)"] = "2"
    let reader = try BindingDBReader(source: MemorySource(Array(Self.file(header, [L.row(header, cells, chains: twoChains())]).utf8), name: "t.tsv"))
    #expect(reader.header.chainGroups == 13)
    guard case let .record(r)? = try reader.next() else { Issue.record("no record"); return }
    checkLigand(r, targetName: "Test target")
    checkTwoChains(r)
    #expect(r.location == RecordLocation(index: 0, line: 2, offset: Int64(header.joined(separator: "\t").utf8.count + 1)))
  }

  @Test func the2022m5HeaderMapsByName() throws {
    let header = L.header2022m5(groups: 3)
    var cells = Self.ligand
    cells["Target Name Assigned by Curator or DataSource"] = "Test target"
    cells["Number of Protein Chains in Target (>1 implies a multichain complex)"] = "2"
    // Rows shorter than the header (unused chain groups left off) read their missing cells as empty.
    let row = L.row(header, cells, chains: twoChains())
    let short = String(row.split(separator: "\t", omittingEmptySubsequences: false).prefix(L.fixed2015.count + 24).joined(separator: "\t"))
    let events = try Self.events(Self.file(header, [row, short]))
    let records = Self.records(events)
    #expect(records.count == 2)
    for r in records {
      checkLigand(r, targetName: "Test target")
      checkTwoChains(r)
    }
  }

  @Test func a2024HeaderWithNumberedChainsInAnyOrderMapsByName() throws {
    let header = L.header2024(order: [2, 1, 3])
    #expect(header.contains("BindingDB Entry DOI") && header.contains("BindingDB Target Chain Sequence 1"))
    var cells = Self.ligand
    cells["Target Name"] = "New-style target"
    cells["BindingDB Entry DOI"] = "10.7270/Q2XXXX"
    cells["Number of Protein Chains in Target (>1 implies a multichain complex)"] = "2"
    let reader = try BindingDBReader(source: MemorySource(Array(Self.file(header, [L.row(header, cells, chains: twoChains())]).utf8), name: "t.tsv"))
    #expect(reader.header.chainGroups == 3)
    guard case let .record(r)? = try reader.next() else { Issue.record("no record"); return }
    checkLigand(r, targetName: "New-style target")
    // Chain 1 is the group numbered 1, though it comes second.
    checkTwoChains(r)
  }

  @Test func headerNamesNormalise() {
    #expect(BindingDBHeader.normalise("BindingDB Target Chain  Sequence") == ("bindingdb target chain sequence", nil))
    #expect(BindingDBHeader.normalise(" BindingDB Target Chain Sequence 12 ") == ("bindingdb target chain sequence", 12))
    #expect(BindingDBHeader.normalise("UniProt (SwissProt) Primary ID of Target Chain 1") == ("uniprot (swissprot) primary id of target chain", 1))
    #expect(BindingDBHeader.normalise("Ki (nM)") == ("ki (nm)", nil))
  }

  @Test func aHeaderThatIsNotBindingDBIsAnErrorNamingWhatIsMissing() throws {
    func message(_ text: String) -> String? {
      do {
        _ = try BindingDBReader(source: MemorySource(Array(text.utf8), name: "x.tsv"))
        return nil
      } catch let e as InputError {
        return "\(e)"
      } catch {
        return "other: \(error)"
      }
    }
    let plain = message("Drug_ID\tDrug\tTarget_ID\tTarget\tY\n1\tCC\tP1\tMK\t5\n")
    #expect(plain?.hasPrefix("x.tsv: not a BindingDB TSV") == true, "\(plain ?? "no error")")
    for name in ["Ligand SMILES", "Ki (nM)", "Number of Protein Chains in Target", "BindingDB Target Chain Sequence"] {
      #expect(plain?.contains(name) == true, "\(name) in \(plain ?? "")")
    }
    // Only the chain sequence missing: only it is named.
    let noChains = message(L.fixed2015.joined(separator: "\t") + "\n")?.components(separatedBy: "; it starts with").first
    #expect(noChains?.contains("lacks the column \"BindingDB Target Chain Sequence\"") == true, "\(noChains ?? "")")
    #expect(noChains?.contains("Ligand SMILES") == false)
    // No affinity column.
    let noAffinity = message(L.header2022m5(groups: 1).filter { !$0.hasSuffix("(nM)") }.joined(separator: "\t") + "\n")
    #expect(noAffinity?.contains("Ki (nM) / IC50 (nM)") == true, "\(noAffinity ?? "")")
    // Other formats and nothing.
    let flat = try Data(contentsOf: TestSupport.corpus("uniprot/flat/P60137.txt"))
    #expect(message(String(decoding: flat, as: UTF8.self))?.contains("not a BindingDB TSV") == true)
    #expect(message("")?.contains("the file is empty") == true)
    #expect(message("\u{1F}\u{8B}\u{8}binary")?.contains("not a BindingDB TSV") == true)
  }

  @Test func multiChainRowsGiveTheirDeclaredChains() throws {
    let header = L.header2022m5(groups: 4)
    let count = "Number of Protein Chains in Target (>1 implies a multichain complex)"
    let chains = (1...4).map { L.chain("SEQ\($0)AAA", sp: "P0000\($0)") }
    var a = ["Ligand SMILES": "C", "Kd (nM)": "5", count: "3"]
    let three = L.row(header, a, chains: chains)  // group 4 filled, not declared: not read
    a[count] = "1"
    let one = L.row(header, a, chains: chains)
    a[count] = "5"
    let tooMany = L.row(header, a, chains: chains)
    a[count] = "2"
    let missing = L.row(header, a, chains: [chains[0]])
    a[count] = "0"
    let zero = L.row(header, a, chains: chains)
    let events = try Self.events(Self.file(header, [three, one, tooMany, missing, zero]))
    #expect(events.count == 5)
    let records = Self.records(events)
    #expect(records.map(\.chains.count) == [3, 1])
    #expect(records.first?.chains.map(\.accession) == ["P00001", "P00002", "P00003"])
    let bad = Self.malformed(events)
    #expect(bad.map(\.location.index) == [2, 3, 4])
    #expect(bad[0].reason.contains("declares 5 protein chains") && bad[0].reason.contains("4 chain groups"), "\(bad[0].reason)")
    #expect(bad[1].reason.contains("chain 2 has no sequence"), "\(bad[1].reason)")
    #expect(bad[2].reason.contains("not a positive integer"), "\(bad[2].reason)")
  }

  @Test func measurementCellsParse() {
    func value(_ s: String, _ kind: MeasurementKind = .ki) -> (MeasurementRelation, Double)? {
      if case let .value(m) = BindingDBReader.parseMeasurement(s, kind: kind) {
        #expect(m.kind == kind)
        return (m.relation, m.value)
      }
      return nil
    }
    let cases: [(String, MeasurementRelation, Double)] = [
      ("12.5", .equal, 12.5), ("=3", .equal, 3), ("<0.1", .less, 0.1), (">10000", .greater, 10000), ("<=5", .lessOrEqual, 5),
      (">=7.25", .greaterOrEqual, 7.25), ("~40", .approximate, 40), ("> 10000", .greater, 10000), ("<= 0.5", .lessOrEqual, 0.5),
      ("~ 12", .approximate, 12), ("1.2E+3", .equal, 1200), ("4.5e-2", .equal, 0.045), ("2E3", .equal, 2000), (".5", .equal, 0.5),
      ("5.", .equal, 5), ("0", .equal, 0), ("-1.5", .equal, -1.5), ("+3", .equal, 3), ("  7  ", .equal, 7), (">= 0", .greaterOrEqual, 0),
    ]
    for (text, relation, v) in cases {
      let got = value(text)
      #expect(got?.0 == relation && got?.1 == v, "\(text) -> \(String(describing: got))")
    }
    // Temperatures carry a unit.
    for t in ["25 C", "25C", "25°C", "25 °C", "25.00 C", "25"] {
      #expect(value(t, .temperature)?.1 == 25, "\(t)")
    }
    #expect(value("1.8E+5", .kon)?.1 == 180_000)
    #expect(value("7.4E-4", .koff)?.1 == 0.00074)
    #expect(value("7.4", .pH)?.1 == 7.4)
    // Empty is absent; anything else is a bad measurement with its reason.
    #expect(BindingDBReader.parseMeasurement("", kind: .ki) == .absent)
    #expect(BindingDBReader.parseMeasurement("   ", kind: .ki) == .absent)
    for bad in ["n/a", "1..2", "12abc", "NaN", "inf", ">", "< ", "~", "1e", "1e+", "--1", "12 nM", "25 C", "1,5", "1e999", "0x10",
                String(repeating: "9", count: 100), "\"5\"", "<>5"]
    {
      guard case let .bad(b) = BindingDBReader.parseMeasurement(bad, kind: .ic50) else {
        Issue.record("\(bad) should be a bad measurement")
        continue
      }
      #expect(b.kind == .ic50 && b.reason.contains("is not a number"), "\(bad): \(b.reason)")
    }
    #expect(value("25 K", .temperature) == nil)
    // pX is exact; nil at and below zero.
    if case let .value(m) = BindingDBReader.parseMeasurement("10", kind: .kd) { #expect(m.pX == 8) }
    if case let .value(m) = BindingDBReader.parseMeasurement("0", kind: .kd) { #expect(m.pX == nil) }
    if case let .value(m) = BindingDBReader.parseMeasurement("-3", kind: .kd) { #expect(m.pX == nil) }
  }

  @Test func rowsWithBadCellsFieldsAndBytes() throws {
    let header = L.header2022m5(groups: 2)
    let count = "Number of Protein Chains in Target (>1 implies a multichain complex)"
    let chain = [L.chain("MKTAYIAKQR", sp: "P12345")]
    let good = ["Ligand SMILES": "CCO", count: "1"]
    var rows: [String] = []
    var g = good
    g["Ki (nM)"] = "n/a"
    g["IC50 (nM)"] = "12"
    rows.append(L.row(header, g, chains: chain))  // 0: record, a bad measurement
    g = good
    g["BindingDB Ligand Name"] = "a \"quoted, name"
    rows.append(L.row(header, g, chains: chain))  // 1: record, the quote is a byte
    rows.append(L.row(header, good, chains: chain) + "\textra")  // 2: malformed, one field too many
    g = good
    g["Ligand SMILES"] = ""
    rows.append(L.row(header, g, chains: chain))  // 3: malformed, no SMILES
    rows.append(String(L.row(header, good, chains: chain).prefix(20)))  // 4: malformed (short: no chain count)
    let text = Self.file(header, rows)
    // 5: a name with a Latin-1 byte (repaired), 6: a SMILES with one (malformed).
    var bytes = Array(text.utf8)
    bytes += Array(L.row(header, ["Ligand SMILES": "CCN", "BindingDB Ligand Name": "caf#ine", count: "1"], chains: chain).utf8) + [0x0A]
    bytes[bytes.lastIndex(of: UInt8(ascii: "#"))!] = 0xE9
    bytes += Array(L.row(header, ["Ligand SMILES": "CC#N", count: "1"], chains: chain).utf8) + [0x0A]
    bytes[bytes.lastIndex(of: UInt8(ascii: "#"))!] = 0xFF
    let events = try Self.events(bytes)
    #expect(events.count == 7)
    let records = Self.records(events)
    #expect(records.map(\.location.index) == [0, 1, 5])
    #expect(records[0].badMeasurements.map(\.text) == ["n/a"] && records[0].measurements.map(\.value) == [12])
    #expect(records[0].badMeasurements.first?.reason.contains("column 9 (\"Ki (nM)\")") == true)
    #expect(records[1].ligandName == "a \"quoted, name")
    #expect(records[2].ligandName == "caf\u{FFFD}ine")
    let bad = Self.malformed(events)
    #expect(bad.map(\.location.index) == [2, 3, 4, 6])
    #expect(bad[0].reason.hasPrefix("\(header.count + 1) fields where the header has \(header.count)"), "\(bad[0].reason)")
    #expect(bad[1].reason.contains("no ligand SMILES in column 2 (\"Ligand SMILES\")"), "\(bad[1].reason)")
    #expect(bad[2].reason.contains("chain count") && bad[2].reason.contains("is empty"), "\(bad[2].reason)")
    #expect(bad[3].reason.contains("not UTF-8") && bad[3].reason.contains("0xFF"), "\(bad[3].reason)")
    // Lines and offsets point at each row.
    let lineStarts = [0] + bytes.indices.filter { bytes[$0] == 0x0A }.map { $0 + 1 }
    for e in events {
      let loc: RecordLocation
      switch e {
      case let .record(r): loc = r.location
      case let .malformed(m): loc = m.location
      }
      #expect(loc.line == loc.index + 2)
      #expect(loc.offset == Int64(lineStarts[loc.line - 1]))
    }
  }

  // MARK: Shipped samples

  /// What each row of a sample is meant to be (written by Scripts/make-bindingdb-samples).
  static func intended(_ release: String) throws -> [String] {
    let text = try String(contentsOf: TestSupport.corpus("bindingdb/bindingdb_sample_rows.txt"), encoding: .utf8)
    return text.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }.filter { $0[0] == release }.map { $0[2] }
  }

  static func read(_ path: String) throws -> [BindingEvent] {
    let opened = try openInput(TestSupport.corpus(path).path)
    let reader = try BindingDBReader(source: opened.source)
    var out: [BindingEvent] = []
    while let e = try reader.next() { out.append(e) }
    return out
  }

  @Test(arguments: [
    ("bindingdb/bindingdb_2015m10_sample.tsv", "2015m10", 213, 8),
    ("bindingdb/bindingdb_2022m5_sample.tsv", "2022m5", 163, 8),
    ("bindingdb/bindingdb_2022m5_sample.tsv.zip", "2022m5", 163, 8),
  ])
  func shippedSamplesReadRowByRow(path: String, release: String, records: Int, malformed: Int) throws {
    let events = try Self.read(path)
    let intended = try Self.intended(release)
    #expect(events.count == intended.count)
    var reasons: [String: Int] = [:]
    for (e, note) in zip(events, intended) {
      switch e {
      case let .record(r):
        #expect(note.hasPrefix("record"), "row \(r.location.index): a record, meant as \(note)")
        #expect(!r.ligandSMILES.isEmpty && !r.chains.isEmpty)
        #expect(r.chains.allSatisfy { !$0.sequence.isEmpty })
        // (The short row ends after its first sequence.)
        if note != "record: short row" { #expect(r.chains.allSatisfy { $0.accession != nil }) }
        if note == "record: 2 chains" { #expect(r.chains.count == 2) }
        if note == "record: 3 chains" { #expect(r.chains.count == 3) }
        if note == "record: undeclared chain" { #expect(r.chains.count == 1) }
        if note == "record: no measurement" { #expect(r.measurements.isEmpty && r.badMeasurements.isEmpty) }
        if note.hasPrefix("record: bad number"), !note.contains("''") { #expect(r.badMeasurements.count == 1, "\(note)") }
        if note == "record: non-UTF-8 name" { #expect(r.ligandName?.contains("\u{FFFD}") == true) }
        if note == "record: stray quote" { #expect(r.ligandName?.contains("\"") == true) }
      case let .malformed(m):
        #expect(note.hasPrefix("malformed"), "row \(m.location.index): malformed (\(m.reason)), meant as \(note)")
        #expect(!m.reason.isEmpty)
        reasons[String(note.dropFirst("malformed: ".count)), default: 0] += 1
        print("\(path) row \(m.location.index) line \(m.line): \(m.reason)")
      }
    }
    #expect(Self.records(events).count == records)
    #expect(Self.malformed(events).count == malformed)
    // Every kind of value is in the samples.
    let all = Self.records(events)
    let ms = all.flatMap(\.measurements)
    for kind in MeasurementKind.allCases { #expect(ms.contains { $0.kind == kind }, "\(kind)") }
    for relation in MeasurementRelation.allCases { #expect(ms.contains { $0.relation == relation }, "\(relation)") }
    #expect(ms.contains { $0.value == 0 } && ms.contains { $0.value < 0 })
    #expect(ms.contains { $0.kind == .temperature && $0.text.hasSuffix("C") })
    // The same ligand in several rows.
    #expect(Dictionary(grouping: all, by: \.ligandSMILES).values.contains { $0.count >= 4 })
    print("\(path): \(all.count) records, \(Self.malformed(events).count) malformed \(reasons)")
  }

  // MARK: Line ends, marks, truncation, streams, resume

  static func sampleBytes() throws -> [UInt8] {
    Array(try Data(contentsOf: TestSupport.corpus("bindingdb/bindingdb_2022m5_sample.tsv")))
  }

  /// Events as comparable text (locations left out).
  static func summary(_ events: [BindingEvent]) -> [String] {
    events.map {
      switch $0 {
      case let .record(r):
        return "R \(r.reactantSetID ?? -1) \(r.ligandSMILES.count) \(r.chains.map(\.sequence.count)) \(r.measurements.map(\.text)) \(r.badMeasurements.map(\.text)) \(r.ligandName ?? "")"
      case let .malformed(m):
        return "M \(m.reason)"
      }
    }
  }

  @Test func crlfAndByteOrderMarkReadTheSame() throws {
    let bytes = try Self.sampleBytes()
    let plain = try Self.events(bytes)
    var crlf: [UInt8] = [0xEF, 0xBB, 0xBF]
    for b in bytes {
      if b == 0x0A { crlf.append(0x0D) }
      crlf.append(b)
    }
    let other = try Self.events(crlf)
    #expect(Self.summary(other) == Self.summary(plain))
    // Offsets count the bytes of the file, mark and CRs included.
    for e in other {
      if case let .record(r) = e {
        let at = Int(r.location.offset)
        #expect(Array(crlf[at..<(at + 8)]) == Array("\(r.reactantSetID!)".utf8))
      }
    }
    // A blank line between rows is passed over and not counted.
    var withBlank = bytes
    let second = bytes.indices.filter { bytes[$0] == 0x0A }[1] + 1
    withBlank.insert(contentsOf: [0x0A, 0x20, 0x0D, 0x0A], at: second)
    #expect(Self.summary(try Self.events(withBlank)) == Self.summary(plain))
  }

  @Test func blankLinesBeforeTheHeaderAndCROnlyLineEnds() throws {
    let bytes = try Self.sampleBytes()
    let plain = try Self.events(bytes)
    // A byte-order mark and blank lines before the header: the same rows, two lines further on.
    let lead: [UInt8] = [0xEF, 0xBB, 0xBF, 0x0A, 0x20, 0x09, 0x0D, 0x0A]
    let shifted = try Self.events(lead + bytes)
    #expect(Self.summary(shifted) == Self.summary(plain))
    if case let .record(a)? = shifted.first, case let .record(b)? = plain.first {
      #expect(a.location.line == b.location.line + 2 && a.location.offset == b.location.offset + Int64(lead.count))
    }
    // A million blank lines before the header are passed over in bounded memory.
    let many = [UInt8](repeating: 0x0A, count: 1_000_000) + bytes
    #expect(Self.summary(try Self.events(many)) == Self.summary(plain))
    // CR-only line ends are named, small file or large.
    for copies in [1, 40] {
      var cr: [UInt8] = []
      for _ in 0..<copies { cr += bytes.map { $0 == 0x0A ? 0x0D : $0 } }
      do {
        _ = try Self.events(cr)
        Issue.record("CR-only file read")
      } catch let e as InputError {
        #expect("\(e)".contains("CR-only line ends"), "\(e)")
      }
    }
  }

  @Test func aTruncatedFileEndsWithItsLastPartialRow() throws {
    let bytes = try Self.sampleBytes()
    let full = try Self.events(bytes)
    let ends = bytes.indices.filter { bytes[$0] == 0x0A }
    // No final line end: the same rows.
    #expect(Self.summary(try Self.events(Array(bytes.dropLast()))) == Self.summary(full))
    // Cut in the middle of a row: the rows before it, then that row as far as it goes.
    var rng = SplitMix64(seed: 7)
    for _ in 0..<40 {
      let k = 1 + Int(rng.next() % UInt64(ends.count - 2))
      // Data row k is line k + 1 (0-based), from ends[k] + 1 to ends[k + 1]; at least one byte kept.
      let cut = ends[k] + 2 + Int(rng.next() % UInt64(ends[k + 1] - ends[k] - 2))
      let events = try Self.events(Array(bytes[..<cut]))
      #expect(events.count == k + 1)
      #expect(Self.summary(Array(events.prefix(k))) == Self.summary(Array(full.prefix(k))))
    }
  }

  @Test func aPipeIsReadOnce() throws {
    let dir = TestSupport.tempDirectory()
    let fifo = dir.appendingPathComponent("in.fifo").path
    #expect(mkfifo(fifo, 0o600) == 0)
    let sample = TestSupport.corpus("bindingdb/bindingdb_2015m10_sample.tsv").path
    let writer = Process()
    writer.executableURL = URL(fileURLWithPath: "/bin/sh")
    writer.arguments = ["-c", "cat '\(sample)' > '\(fifo)'"]
    try writer.run()
    let opened = try openInput(fifo)
    #expect(opened.file.isRegularFile == false)
    let reader = try BindingDBReader(source: opened.source)
    var events: [BindingEvent] = []
    while let e = try reader.next() { events.append(e) }
    writer.waitUntilExit()
    #expect(Self.summary(events) == Self.summary(try Self.read("bindingdb/bindingdb_2015m10_sample.tsv")))
  }

  @Test func resumingAtARowGivesTheRestAsBefore() throws {
    let bytes = try Self.sampleBytes()
    let all = try Self.events(bytes)
    for k in [0, 1, 17, all.count - 1, all.count] {
      let resume: RecordLocation
      if k < all.count {
        switch all[k] {
        case let .record(r): resume = r.location
        case let .malformed(m): resume = m.location
        }
      } else {
        resume = RecordLocation(index: all.count, line: all.count + 2, offset: Int64(bytes.count))
      }
      let reader = try BindingDBReader(source: MemorySource(bytes, name: "t.tsv"), resume: resume)
      var rest: [BindingEvent] = []
      while let e = try reader.next() { rest.append(e) }
      #expect(Self.summary(rest) == Self.summary(Array(all[k...])), "resume at \(k)")
      if case let .record(r)? = rest.first, case let .record(o) = all[k] { #expect(r.location == o.location) }
      // Without an offset (formats that re-read): the rows before are passed over.
      let again = try BindingDBReader(source: MemorySource(bytes, name: "t.tsv"), resume: RecordLocation(index: k, line: 0, offset: 0))
      var tail: [BindingEvent] = []
      while let e = try again.next() { tail.append(e) }
      #expect(Self.summary(tail) == Self.summary(Array(all[k...])))
    }
  }

  @Test func aRowOverTheRecordLimitIsPassedOverAndTheNextRead() throws {
    let header = L.header2022m5(groups: 1)
    let count = "Number of Protein Chains in Target (>1 implies a multichain complex)"
    let chain = [L.chain("MKTAYIAKQR", sp: "P12345")]
    let big = L.row(header, ["Ligand SMILES": "C", count: "1", "BindingDB Ligand Name": String(repeating: "x", count: 5000)], chains: chain)
    let small = L.row(header, ["Ligand SMILES": "CC", count: "1", "Ki (nM)": "3"], chains: chain)
    let events = try Self.events(Array(Self.file(header, [small, big, small]).utf8), limits: ReaderLimits(maxRecordBytes: 2000))
    #expect(events.count == 3)
    #expect(Self.records(events).map(\.location.index) == [0, 2])
    #expect(Self.malformed(events).first?.reason.contains("record limit of 2000 bytes") == true)
    #expect(Self.malformed(events).first?.line == 3)
  }

  /// A cell of 100,000 ids and a header of 60,000 chain columns are read in linear time.
  @Test func hugeIdListsAndHeadersStayLinear() throws {
    let header = L.header2022m5(groups: 1)
    let count = "Number of Protein Chains in Target (>1 implies a multichain complex)"
    let ids = (0..<100_000).map { "Q\($0)" }.joined(separator: ",")
    var chain = L.chain("MKTAYIAKQR", sp: "P12345", secondary: ids)
    chain["UniProt (SwissProt) Alternative ID(s) of Target Chain"] = ids
    let start = Date()
    let events = try Self.events(Self.file(header, [L.row(header, ["Ligand SMILES": "C", count: "1"], chains: [chain])]))
    #expect(Self.records(events).first?.chains.first?.otherAccessions.count == 100_000)
    let wide = L.fixed2015 + [String](repeating: "PDB ID(s) of Target Chain", count: 60_000) + L.group
    let reader = try BindingDBReader(source: MemorySource(Array((wide.joined(separator: "\t") + "\n").utf8), name: "t.tsv"))
    #expect(reader.header.chainGroups == 1)
    #expect(Date().timeIntervalSince(start) < 20)
  }

  // MARK: Fuzz

  /// Mutations of real sample rows never crash or hang, and every row comes out as a record or
  /// as malformed with a reason.
  @Test func mutatedRowsAreRecordsOrMalformed() throws {
    let bytes = try Self.sampleBytes()
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    let header = lines[0]
    let rows = lines.dropFirst().filter { !$0.isEmpty }
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 20_151_005))
    let deadline = Date().addingTimeInterval(8)
    var files = 0, total = 0
    func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
    while Date() < deadline && files < 400 {
      var out = header + [0x0A]
      var expected = 0
      for _ in 0..<(1 + pick(12)) {
        var row = rows[pick(rows.count)]
        for _ in 0..<(1 + pick(3)) {
          let at = pick(row.count + 1)
          switch pick(8) {
          case 0:  // columns missing
            let to = min(row.count, at + pick(400))
            row.removeSubrange(at..<to)
          case 1:  // extra tabs
            row.insert(contentsOf: [UInt8](repeating: 0x09, count: 1 + pick(3)), at: at)
          case 2:  // unbalanced quotes
            row.insert(UInt8(ascii: "\""), at: at)
          case 3:  // a bad number in a measurement-like place
            row.insert(contentsOf: Array(["n/a", "1..2", "12abc", ">", "~-", "1e+"][pick(6)].utf8), at: at)
          case 4:  // bytes that are not UTF-8
            row.insert(contentsOf: [0xFF, 0xC3, 0x80 + UInt8(pick(64))].prefix(1 + pick(3)), at: at)
          case 5:  // a control byte or CR
            row.insert([0x00, 0x0D, 0x1F, 0x7F][pick(4)], at: at)
          case 6:  // a cell cleared
            if let tab = row[at...].firstIndex(of: 0x09), let next = row[(tab + 1)...].firstIndex(of: 0x09) {
              row.removeSubrange((tab + 1)..<next)
            }
          default:  // a digit changed
            if at < row.count, row[at] >= 0x30, row[at] <= 0x39 { row[at] = UInt8(ascii: "x") }
          }
        }
        // A row of only blanks is passed over; anything else is one event.
        if row.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) { expected += 1 }
        out += row + [0x0A]
      }
      let events = try Self.events(out)
      #expect(events.count == expected)
      for case let .malformed(m) in events { #expect(!m.reason.isEmpty) }
      files += 1
      total += events.count
    }
    // A 10 MB field: a record (or malformed) like any other, read whole.
    var row = rows[0]
    let tab = row.firstIndex(of: 0x09)!
    row.insert(contentsOf: [UInt8](repeating: UInt8(ascii: "C"), count: 10 << 20), at: tab + 1)
    let events = try Self.events(header + [0x0A] + row + [0x0A] + rows[1] + [0x0A])
    #expect(events.count == 2)
    if case let .record(r)? = events.first { #expect(r.ligandSMILES.count > 10 << 20) }
    let limited = try Self.events(header + [0x0A] + row + [0x0A] + rows[1] + [0x0A], limits: ReaderLimits(maxRecordBytes: 1 << 20))
    #expect(limited.count == 2 && Self.malformed(limited).count == 1)
    print("fuzz: \(files) files, \(total) rows")
    #expect(files >= 20)
  }

  @Test func detection() {
    let header = Array((L.header2022m5(groups: 1).joined(separator: "\t") + "\n").utf8)
    #expect(BindingDBReader.looksLikeBindingDB(header))
    #expect(BindingDBReader.looksLikeBindingDB([0xEF, 0xBB, 0xBF] + header))
    #expect(BindingDBReader.looksLikeBindingDB(Array((L.header2024(order: [1]).joined(separator: "\t") + "\r\n").utf8)))
    #expect(!BindingDBReader.looksLikeBindingDB(Array("BindingDB Reactant_set_id Ligand SMILES\n".utf8)))
    #expect(!BindingDBReader.looksLikeBindingDB(Array("123\tCCO\n".utf8)))
    #expect(!BindingDBReader.looksLikeBindingDB(Array("x\ty\nBindingDB Reactant_set_id\tLigand SMILES\n".utf8)))
  }
}
