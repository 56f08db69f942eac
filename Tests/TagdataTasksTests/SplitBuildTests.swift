import Foundation
import TagdataCatalog
import TagdataChem
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

  /// `tagdata catalog groups` stores each molecule's parent and scaffold, equal to those worked out
  /// from its SMILES; a build reads them: the same bytes as a build from the catalog without them
  /// (which works them out, and says so), and a build from stored scaffolds changed on purpose differs.
  @Test func storedMoleculeGroupsGiveTheBuildOfComputedOnes() throws {
    let path = try StageBuildTests.catalog(tables: ["tdc-dti"], describe: true)
    let g = try TestSupport.tagdata(["catalog", "groups", "--catalog", path, "--json"])
    #expect(g.status == 0, "\(g.stderr)")
    #expect(g.stdout.contains("\"missing\":0") && !g.stdout.contains("\"worked_out\":0,"), "\(g.stdout)")
    let missing = TestSupport.tempDirectory().appendingPathComponent("none.sqlite").path
    #expect(try TestSupport.tagdata(["catalog", "groups", "--catalog", missing]).status == 74)
    #expect(!FileManager.default.fileExists(atPath: missing), "no catalog is made where there was none")
    let again = try TestSupport.tagdata(["catalog", "groups", "--catalog", path, "--json"])
    #expect(again.stdout.hasPrefix("{\"worked_out\":0,"), "a second run has nothing left to do: \(again.stdout)")
    let c = try Catalog(path: path)
    #expect(try c.moleculeGroupCounts(version: MoleculeGroups.version).missing == 0)
    let s = try c.db.prepare("SELECT m.smiles, g.parent, g.scaffold FROM molecules m JOIN molecule_groups g ON g.molecule_id = m.id")
    var n = 0
    while try s.step() {
      let smiles = s.text(0) ?? ""
      let computed = MoleculeGroups.keys(smiles: smiles)
      #expect(s.text(1) == computed.parent && s.text(2) == computed.scaffold, "\(smiles)")
      n += 1
    }
    #expect(n > 100, "\(n) molecules stored with their groups")

    func build(_ name: String, noted: Bool = false) throws -> [String: Data] {
      let out = TestSupport.tempDirectory().appendingPathComponent(name).path
      let r = try TestSupport.tagdata(["build", "--catalog", path, "--out", out, "--split", "scaffold", "--tasks", "QED,BA"])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stderr.contains("tagdata catalog groups") == noted, "\(name): \(r.stderr)")
      return try StageBuildTests.files(out)
    }
    let stored = try build("stored")
    try c.db.execute("DELETE FROM molecule_groups")
    let computed = try build("computed", noted: true)
    #expect(stored == computed && stored["leakage.json"] != nil)
    // One scaffold for every molecule: the scaffold split then has one group only.
    try c.db.execute("""
      INSERT INTO molecule_groups(molecule_id, parent, scaffold, version)
        SELECT id, smiles, 'c1ccccc1', '\(MoleculeGroups.version)' FROM molecules
      """)
    let tampered = try build("tampered")
    #expect(tampered["leakage.json"] != nil && tampered["leakage.json"] != stored["leakage.json"])
  }

  /// A catalog of the patent sample (TDC BindingDB_Patent layout), read with `preset`.
  static func patentCatalog(_ preset: String) throws -> String {
    let path = TestSupport.tempDirectory().appendingPathComponent("p.sqlite").path
    let r = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", path, "--preset", preset,
                                     TestSupport.corpus("tables/tdc_dti_patent_sample.csv").path])
    #expect(r.status == 0, "\(r.stderr)")
    return path
  }

  /// The split of each Drug_ID's record (BA inputs: sequence, SMILES, Target_ID, Drug_ID).
  static func splitsByDrugID(_ recs: [[String: Any]]) -> [String: String] {
    var out: [String: String] = [:]
    for r in recs where r["task"] as? String == "BA" { out[(r["inputs"] as! [String])[3]] = r["split"] as? String }
    return out
  }

  /// Temporal split (TDC's BindingDB_Patent rule): train and valid hold 2013-2018, test
  /// 2019-2021; the same molecule written two ways for one target in two years goes where the
  /// earlier year's goes; no (molecule, target) pair is in two splits.
  @Test func temporalSplitByPatentYear() throws {
    let path = try Self.patentCatalog("tdc-dti-patent")
    let out = TestSupport.tempDirectory().appendingPathComponent("t").path
    let r = try TestSupport.tagdata(["build", "--quiet", "--catalog", path, "--out", out, "--split", "temporal", "--tasks", "BA"])
    #expect(r.status == 0, "\(r.stderr)")
    let recs = try StageBuildTests.records(out)
    #expect(recs.count >= 110, "\(recs.count) records")
    // Per (molecule, target) pair: its splits and its earliest year.
    var pairs: [String: (splits: Set<String>, year: Int)] = [:]
    for rec in recs {
      let year = try #require((rec["ids"] as? [String: Any])?["year"] as? Int)
      let pair = Self.ids(rec, "molecules").joined() + "|" + Self.ids(rec, "proteins").joined()
      var p = pairs[pair] ?? ([], year)
      p.splits.insert(rec["split"] as! String)
      p.year = min(p.year, year)
      pairs[pair] = p
    }
    for (pair, p) in pairs {
      #expect(p.splits.count == 1, "\(pair) in \(p.splits)")
      let split = p.splits.first ?? ""
      #expect(split == "test" ? (2019...2021).contains(p.year) : (2013...2018).contains(p.year), "\(split) \(p.year)")
    }
    let by = Self.splitsByDrugID(recs)
    #expect(by["chembl_smi_3883"] != nil && by["chembl_smi_3883"] != "test" && by["alias_aromatic_chembl_smi_3883"] == by["chembl_smi_3883"],
            "the 2020 aromatic spelling follows the 2014 Kekule one: \(by)")
    #expect(Set(recs.map { $0["split"] as! String }) == ["train", "valid", "test"])
    // Without a year field the temporal split is refused before any work.
    let noYear = try TestSupport.tagdata(["build", "--quiet", "--catalog", path, "--out", out + "2", "--split", "temporal"])
    #expect(noYear.status == 78 && noYear.stderr.contains("year"), "\(noYear.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out + "2"))
  }

  /// Cold-drug and scaffold splits on data built to tempt them: a molecule and its salt, two
  /// stereoisomers and their flat form, one molecule spelled two ways: each family lands in one
  /// split.
  @Test(arguments: ["cold-drug", "scaffold"])
  func groupSplitsKeepSaltsStereoisomersAndSpellingsTogether(kind: String) throws {
    let path = try Self.patentCatalog("tdc-dti")
    for seed in ["1", "2", "3", "42"] {
      let out = TestSupport.tempDirectory().appendingPathComponent("c\(seed)").path
      let r = try TestSupport.tagdata(["build", "--quiet", "--catalog", path, "--out", out, "--split", kind, "--tasks", "BA",
                                       "--seed", seed])
      #expect(r.status == 0, "\(r.stderr)")
      let by = Self.splitsByDrugID(try StageBuildTests.records(out))
      for family in [["chembl_smi_3921", "salt_hcl_chembl_smi_3921"], ["10777308", "salt_na_10777308"],
                     ["chembl_smi_3604", "stereo_a_chembl_smi_3604", "stereo_b_chembl_smi_3604"]]
      {
        let splits = Set(family.compactMap { by[$0] })
        #expect(splits.count == 1 && family.allSatisfy { by[$0] != nil }, "seed \(seed) \(family): \(family.map { by[$0] ?? "-" })")
      }
      // The leakage report counts no shared molecule between splits.
      let leak = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/leakage.json")))
        as? [String: Any])
      let pairs = try #require(((leak["tasks"] as? [String: Any])?["BA"] as? [String: Any])?["pairs"] as? [[String: Any]])
      let category = kind == "cold-drug" ? "molecules" : "scaffolds"
      #expect(pairs.allSatisfy { (($0[category] as? [String: Any])?["total"] as? Int) == 0 }, "\(kind): \(pairs)")
    }
  }
}

@Suite struct ParentMoleculeTests {
  /// A split's molecule key: salts, charges, stereo and isotopes do not make another molecule;
  /// a nitro group or a quaternary ammonium keeps its charges.
  @Test func parentsOfSaltsChargesAndStereo() {
    let k = SplitKeyMaker()
    #expect(k.parent("CC(=O)[O-].[Na+]") == k.parent("CC(=O)O"))
    #expect(k.parent("C[NH3+].[Cl-]") == k.parent("CN"))
    #expect(k.parent("Cl.CCN") == k.parent("CCN"))
    #expect(k.parent("C[C@H](N)O") == k.parent("CC(N)O"))
    #expect(k.parent("[13CH3]O") == k.parent("CO"))
    #expect(k.parent("C[N+](=O)[O-]") != k.parent("CN(=O)O"), "nitro keeps its charge separation")
    #expect(k.parent("C[N+](C)(C)C.[Br-]") == "C[N+](C)(C)C")
    #expect(k.parent("CCO.CCCO") == k.parent("CCCO"), "the largest component")
    #expect(k.parent("not a smiles") == "not a smiles")
  }

  /// A parent is written once, not read back and written again, unless an atom was neutralized
  /// or carries an isotope or is a hydrogen: on every SMILES the corpora ship (as the catalog
  /// holds them, canonical; every sixth of the 47,464 ChEMBL ones, for time), once gives what
  /// twice gives.
  @Test func oneCanonicalizationGivesTheParentTwoWouldGive() throws {
    var lines: [Substring] = []
    let dir = TestSupport.corpus("smiles")
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".smi") {
      let text = String(decoding: try Data(contentsOf: dir.appendingPathComponent(name)), as: UTF8.self)
      lines += text.split(whereSeparator: \.isNewline)
    }
    let chembl = try TestSupport.shell("gzip -dc '\(dir.appendingPathComponent("nextmove_chembl.smi.gz").path)'")
    lines += chembl.stdout.split(whereSeparator: \.isNewline).enumerated().filter { $0.offset % 6 == 0 }.map(\.element)
    var checked = 0, twice = 0, differ: [String] = []
    for line in lines {
      guard let first = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
        let canonical = try? Smiles.canonical(String(first)), var a = try? Smiles.read(canonical)
      else { continue }
      var b = a
      let once = MoleculeGroups.parent(of: &a)
      let again = MoleculeGroups.parent(of: &b, alwaysTwice: true)
      checked += 1
      if once != again { differ.append("\(canonical): \(once) against \(again)") }
      if a.atoms.contains(where: { $0.element == 1 || $0.isotope != 0 }) { twice += 1 }
    }
    #expect(checked > 10_000)
    #expect(differ.isEmpty, "\(differ.count) differ: \(differ.prefix(5))")
    // Hydrogen and isotope atoms are rare: most molecules take the single pass.
    #expect(twice < checked / 10)
  }
}
