import Foundation
import TestSupport
import Testing
@testable import TagdataChem

/// Descriptors against RDKit 2026.09.1's values (Tests/Fixtures/descriptor_examples.tsv and
/// cases checked by hand with RDKit).
@Suite struct DescriptorTests {
  /// Rows of the examples table as [column: value].
  static let examples: [[String: String]] = {
    let url = TestSupport.root.appendingPathComponent("Tests/Fixtures/descriptor_examples.tsv")
    let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
    guard let header = lines.first?.split(separator: "\t").map(String.init) else { return [] }
    return lines.dropFirst().map { line in
      Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)))
    }
  }()

  /// `value` equals `expected` as written in the table (rounded there to its decimals).
  func close(_ value: Double, _ expected: String) -> Bool {
    let decimals = expected.split(separator: ".").dropFirst().first?.count ?? 0
    return abs(value - Double(expected)!) <= 0.5 * pow(10, -Double(decimals)) + 1e-9
  }

  @Test func examplesTableIsThere() {
    #expect(Self.examples.count >= 12)
  }

  @Test func weightsFormulaCountsAndTPSAMatchTheExamples() throws {
    for row in Self.examples {
      let name = row["name"]!
      let mol = try Smiles.read(row["smiles"]!)
      let mw = Descriptors.molecularWeight(mol), exact = Descriptors.exactMolecularWeight(mol)
      #expect(close(mw, row["MolWt"]!), "\(name) MolWt \(mw)")
      #expect(close(exact, row["ExactMolWt"]!), "\(name) ExactMolWt \(exact)")
      #expect(Descriptors.formula(mol) == row["formula"]!, "\(name)")
      #expect(Descriptors.heavyAtomCount(mol) == Int(row["HeavyAtoms"]!)!, "\(name)")
      #expect(close(Descriptors.tpsa(mol), row["TPSA"]!), "\(name) TPSA \(Descriptors.tpsa(mol))")
      #expect(close(Descriptors.tpsa(mol, includeSandP: true), row["TPSA_withSandP"]!), "\(name) TPSA with S, P")
      #expect(Descriptors.aromaticRingCount(mol) == Int(row["NumAromaticRings"]!)!, "\(name)")
    }
  }

  /// Values RDKit 2026.09.1 gives for isotopes, dummies, charges and formulas without carbon.
  static let weightCases: [(String, String, Double, Double, Double)] = [
    ("*C", "CH3*", 15.035, 15.023475096, 12.011),
    ("[1*]C", "CH3*", 15.035, 15.023475096, 12.011),
    ("[Na+].[Cl-]", "ClNa", 58.443, 57.95862196, 58.443),
    ("[2H]O[2H]", "H2O", 20.027203556, 20.023118176, 15.999),
    ("Cl[Hs]", "ClHs", 304.453, 304.10291268, 304.453),
    ("[Ds]C", "CH3Ds", 296.035, 296.185535096, 293.011),
    ("N", "H3N", 17.031, 17.026549096, 14.007),
    ("[13CH4]", "CH4", 17.03535484, 17.034654967999998, 13.00335484),
    ("[999C]", "C", 999.0, 999.0, 999.0),
    ("[5C]", "C", 5.0, 5.0, 5.0),
    ("[0C]", "C", 12.011, 12.0, 12.011),
    ("[100*]", "*", 0.0, 0.0, 0.0),
    ("[4H]", "H", 4.02781, 4.02781, 0.0),
    ("[2H+]", "H+", 2.014101778, 2.0135531980900003, 0.0),
    ("[13C-]", "C-", 13.00335484, 13.00390341991, 13.00335484),
    ("O=S(=O)(O)O", "H2O4S", 98.07899999999998, 97.96737954400001, 96.06299999999999),
    ("[H][H]", "H2", 2.016, 2.015650064, 0.0),
    ("[Sn]", "Sn", 118.711, 119.9021947, 118.711),
  ]

  @Test(arguments: weightCases)
  func weightsAndFormula(_ smiles: String, _ formula: String, _ mw: Double, _ exact: Double, _ heavy: Double) throws {
    let mol = try Smiles.read(smiles)
    #expect(Descriptors.formula(mol) == formula)
    #expect(abs(Descriptors.molecularWeight(mol) - mw) <= 1e-9 * max(1, mw))
    #expect(abs(Descriptors.exactMolecularWeight(mol) - exact) <= 1e-9 * max(1, exact))
    #expect(abs(Descriptors.heavyAtomMolecularWeight(mol) - heavy) <= 1e-9 * max(1, heavy))
  }

  /// RDKit counts a carbon as sp3 by its four connections, not by its hybridization flag.
  static let csp3Cases: [(String, Double)] = [
    ("[CH2]CC", 2.0 / 3), ("[CH2-]CC", 2.0 / 3), ("[CH3-]", 0.0), ("[C]", 0.0), ("C[C@SP1](F)(Cl)Br", 1.0),
    ("C[CH+]C=C", 0.25), ("c1ccccc1C", 1.0 / 7), ("O", 0.0), ("C", 1.0),
  ]

  @Test(arguments: csp3Cases)
  func fractionCSP3(_ smiles: String, _ expected: Double) throws {
    #expect(abs(Descriptors.fractionCSP3(try Smiles.read(smiles)) - expected) < 1e-12)
  }

  static let ringCases: [(String, Int, Int, Int, Int, Int, Int)] = [
    // SMILES, rings, aromatic, aliphatic, saturated, NHOH, NO
    ("c1ccc2ccccc2c1", 2, 2, 0, 0, 0, 0),
    ("C1CCC2CCCCC2C1", 2, 0, 2, 2, 0, 0),
    ("O=C1CCCCN1", 1, 0, 1, 1, 1, 2),
    ("c1ccccc1C1CC1N", 2, 1, 1, 1, 2, 1),
    ("[NH4+]", 0, 0, 0, 0, 4, 1),
    ("[2H]OC", 0, 0, 0, 0, 1, 1),
  ]

  @Test(arguments: ringCases)
  func ringAndNOCounts(_ smiles: String, _ rings: Int, _ aromatic: Int, _ aliphatic: Int, _ saturated: Int, _ nhoh: Int, _ no: Int) throws {
    let mol = try Smiles.read(smiles)
    #expect(Descriptors.ringCount(mol) == rings)
    #expect(Descriptors.aromaticRingCount(mol) == aromatic)
    #expect(Descriptors.aliphaticRingCount(mol) == aliphatic)
    #expect(Descriptors.saturatedRingCount(mol) == saturated)
    #expect(Descriptors.nhohCount(mol) == nhoh)
    #expect(Descriptors.noCount(mol) == no)
  }

  @Test func explicitHydrogensComeAfterTheHeavyAtoms() throws {
    let mol = try Smiles.read("C1CC1O")
    let h = mol.addingExplicitHydrogens()
    #expect(h.atoms.count == 4 + 6)
    #expect(h.atoms.prefix(4).map(\.element) == [6, 6, 6, 8])
    #expect(h.atoms.allSatisfy { $0.hydrogens == 0 })
    #expect(h.atoms.dropFirst(4).allSatisfy { $0.element == 1 })
    #expect(h.ringBonds == mol.ringBonds && h.ringAtoms == mol.ringAtoms)
    #expect(h.bonds.prefix(mol.bonds.count).elementsEqual(mol.bonds))
    for i in 4..<h.atoms.count { #expect(h.degree(i) == 1) }
    #expect(h.degree(3) == 2 && h.degree(0) == 4)
    // Weights and formula do not change.
    #expect(Descriptors.formula(h) == Descriptors.formula(mol))
    #expect(abs(Descriptors.molecularWeight(h) - Descriptors.molecularWeight(mol)) < 1e-9)
    #expect(Descriptors.tpsa(h) == Descriptors.tpsa(mol))
    #expect(Descriptors.nhohCount(h) == Descriptors.nhohCount(mol))
  }

  @Test func calculatorNamesAndValues() throws {
    #expect(Set(MoleculeDescriptor.allCases.map(\.rawValue)).count == MoleculeDescriptor.allCases.count)
    let mol = try Smiles.read("CC(=O)Oc1ccccc1C(=O)O")
    let values = DescriptorCalculator([.formula, .heavyAtoms, .tpsa]).compute(mol)
    #expect(values == [.text("C9H8O4"), .count(13), .number(Descriptors.tpsa(mol))])
    #expect(values.map(\.description) == ["C9H8O4", "13", "63.60000000000001"])
  }
}

/// Descriptors that need substructure search, against RDKit's examples and hand-checked cases.
@Suite struct SmartsDescriptorTests {
  func close(_ value: Double, _ expected: String) -> Bool {
    let decimals = expected.split(separator: ".").dropFirst().first?.count ?? 0
    return abs(value - Double(expected)!) <= 0.5 * pow(10, -Double(decimals)) + 1e-9
  }

  @Test func countsLogPAndQEDMatchTheExamples() throws {
    #expect(DescriptorTests.examples.count >= 12)
    for row in DescriptorTests.examples {
      let name = row["name"]!
      let mol = try Smiles.read(row["smiles"]!)
      #expect(Descriptors.hDonors(mol) == Int(row["NumHDonors"]!)!, "\(name)")
      #expect(Descriptors.hAcceptors(mol) == Int(row["NumHAcceptors"]!)!, "\(name)")
      #expect(Descriptors.rotatableBonds(mol) == Int(row["NumRotatableBonds"]!)!, "\(name)")
      let (logP, mr) = Descriptors.crippen(mol)
      #expect(close(logP, row["MolLogP"]!), "\(name) logP \(logP)")
      #expect(close(mr, row["MolMR"]!), "\(name) MR \(mr)")
      let p = QED.properties(mol)
      #expect(p.hba == Int(row["QED_HBA"]!)!, "\(name) QED HBA")
      #expect(p.rotb == Int(row["QED_ROTB"]!)!, "\(name) QED ROTB")
      #expect(p.arom == Int(row["QED_AROM"]!)!, "\(name) QED AROM")
      #expect(p.alerts == Int(row["QED_ALERTS"]!)!, "\(name) QED ALERTS")
      #expect(close(QED.qed(p), row["QED"]!), "\(name) QED \(QED.qed(p))")
      // The calculator shares work but gives the same values.
      let values = DescriptorCalculator([.qed, .logP, .mr, .hbd, .rotatableBonds]).compute(mol)
      #expect(values == [.number(QED.qed(p)), .number(logP), .number(mr), .count(p.hbd), .count(p.rotb)], "\(name)")
    }
  }

  static let rotatableCases: [(String, Int, Int)] = [
    ("CC(=O)NC", 0, 1), ("CCOC(=O)c1ccccc1", 2, 3), ("c1ccccc1-c1ccccc1", 1, 1), ("CC(C)(C)CC", 0, 1),
  ]

  @Test(arguments: rotatableCases)
  func rotatableBonds(_ smiles: String, _ strict: Int, _ nonStrict: Int) throws {
    let mol = try Smiles.read(smiles)
    #expect(Descriptors.rotatableBonds(mol) == strict)
    #expect(Descriptors.rotatableBonds(mol, .nonStrict) == nonStrict)
  }

  /// Every pattern of the tables compiles (a failure would stop the program at first use).
  @Test func everyDescriptorPatternCompiles() {
    let all = [DescriptorData.hbdSmarts, DescriptorData.hbaSmarts, DescriptorData.rotatableStrictSmarts,
               DescriptorData.rotatableNonStrictSmarts, DescriptorData.qedAliphaticRingSmarts]
      + DescriptorData.crippen.map(\.smarts) + DescriptorData.qedAcceptors + DescriptorData.qedAlerts
    for s in all {
      #expect(throws: Never.self, "\(s)") { _ = try SmartsPattern(s) }
    }
    #expect(DescriptorData.crippen.count == 110)
  }

  /// Large molecules: RDKit stops each search at 1,000 matches (Crippen typing, counts), and so
  /// must we (values of RDKit 2026.09.1).
  @Test func searchesStopAtOneThousandMatchesAsInRDKit() throws {
    let alkane = try Smiles.read(String(repeating: "C", count: 600))
    let (logP, mr) = Descriptors.crippen(alkane)
    #expect(abs(logP - 203.30461999999577) < 1e-9 && abs(mr - 2631.319999999885) < 1e-9, "\(logP) \(mr)")
    let polyol = try Smiles.read("c1ccccc1" + String(repeating: "C(O)", count: 1100))
    #expect(Descriptors.hDonors(polyol) == 1000 && Descriptors.hAcceptors(polyol) == 1000)
    #expect(Descriptors.rotatableBonds(polyol) == 1000)
    let p = QED.properties(polyol)
    #expect(p.hba == 1000 && p.rotb == 1000 && p.arom == 1)
    #expect(abs(p.alogp - -495.63172999999745) < 1e-9)
  }

  /// Benzene: 1.6866 / 26.442; ethanol: -0.0014 / 12.7598 (RDKit's reference values).
  @Test func crippenSmallMolecules() throws {
    let benzene = Descriptors.crippen(try Smiles.read("c1ccccc1"))
    #expect(abs(benzene.logP - 1.6866) < 1e-9 && abs(benzene.mr - 26.442) < 1e-9)
    let ethanol = Descriptors.crippen(try Smiles.read("CCO"))
    #expect(abs(ethanol.logP - -0.0014) < 1e-9 && abs(ethanol.mr - 12.7598) < 1e-9)
  }
}

/// The pattern prefilters never rule out a molecule a pattern matches.
@Suite struct PatternFilterTests {
  @Test func filtersAreConservativeOnRealMolecules() throws {
    let r = try TestSupport.shell(
      "gzip -dc '\(TestSupport.corpus("smiles/nextmove_chembl.smi.gz").path)' | awk 'NR % 40 == 3' | head -700")
    var smiles = r.stdout.split(whereSeparator: \.isNewline).compactMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) }
    // Charged, aromatic, isotope-labelled and metal-containing cases.
    smiles += ["[O-][n+]1ccccc1", "C#CC(=O)C", "[15NH3]", "[Na+].[O-]C(=O)C", "FC(F)(F)F.F", "c1ccc2c(c1)ccc(=O)o2",
               "[SH]CC", "[S-]CC", "C[N+](C)(C)[O-]", "[Fe]", "B(O)O", "C=[N+]=[N-]", "[2H]C([2H])([2H])O", "[13CH3]O",
               // Upper-case Te, Se, As, Si in SMARTS match aromatic atoms too (RDKit).
               "[Te]1C=CC=C1", "C1=CC=C[Te+]=C1", "c1cc[se]c1", "c1cc[as]c1", "[SiH3]c1ccccc1"]
    var checked = 0
    for s in smiles {
      guard let mol = try? Smiles.read(s) else { continue }
      let target = SmartsTarget(mol), features = MoleculeFeatures(mol)
      for (k, p) in DescriptorPatterns.qedAlerts.enumerated() where !DescriptorData.qedAlertFilters[k].mayMatch(features) {
        #expect(!p.hasMatch(in: target), "alert \(p.smarts) ruled out but matches \(s)")
      }
      for (k, p) in DescriptorPatterns.qedAcceptors.enumerated() where !DescriptorData.qedAcceptorFilters[k].mayMatch(features) {
        #expect(!p.hasMatch(in: target), "acceptor \(p.smarts) ruled out but matches \(s)")
      }
      let h = mol.addingExplicitHydrogens()
      let ht = SmartsTarget(h), hf = MoleculeFeatures(h)
      for (k, p) in DescriptorPatterns.crippen.enumerated() {
        let filter = DescriptorData.crippenFilters[k]
        if !filter.mayMatch(hf) { #expect(!p.hasMatch(in: ht), "Crippen \(p.smarts) ruled out but matches \(s)") }
        if let first = filter.first {
          for m in p.matches(in: ht, unique: false) {
            let c = MoleculeFeatures.atomClass(h.atoms[m[0]])
            #expect(first[c >> 6] & (1 << UInt64(c & 63)) != 0, "Crippen \(p.smarts) first atom class of \(s)")
          }
        }
      }
      checked += 1
    }
    #expect(checked > 650)
  }
}

/// Every descriptor on every shipped edge-case SMILES and SD record (no reference tool needed):
/// no crash, and the relations that hold between descriptors hold.
@Suite struct DescriptorCorpusTests {
  @Test func relationsHoldOnTheEdgeCorpora() throws {
    var molecules: [Molecule] = []
    for url in TestSupport.corpusFiles("smiles") where url.pathExtension == "smi" {
      for line in try Data(contentsOf: url).split(separator: UInt8(ascii: "\n")) {
        guard let token = line.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 13 }).first,
          let s = String(validating: token, as: UTF8.self), let mol = try? Smiles.read(s)
        else { continue }
        molecules.append(mol)
      }
    }
    for url in TestSupport.corpusFiles("pubchem/sdf") where url.pathExtension == "sdf" {
      let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
      for block in text.components(separatedBy: "$$$$") {
        if let mol = try? Molfile.read(block).molecule { molecules.append(mol) }
      }
    }
    #expect(molecules.count > 1000)
    let all = MoleculeDescriptor.allCases
    let calculator = DescriptorCalculator(all)
    func index(_ d: MoleculeDescriptor) -> Int { all.firstIndex(of: d)! }
    for mol in molecules {
      let v = calculator.compute(mol)
      #expect(v.count == all.count)
      func number(_ d: MoleculeDescriptor) -> Double {
        switch v[index(d)] {
        case .number(let x): return x
        case .count(let n): return Double(n)
        case .text: return .nan
        }
      }
      let name = SmilesWriter(isomeric: true, kekule: false).write(mol)
      #expect(number(.heavyAtomMolWt) <= number(.molWt) + 1e-9, "\(name)")
      #expect(number(.rings) == number(.aromaticRings) + number(.aliphaticRings), "\(name)")
      #expect(number(.saturatedRings) <= number(.aliphaticRings), "\(name)")
      #expect((0...1).contains(number(.fractionCSP3)), "\(name)")
      #expect(number(.tpsa) <= number(.tpsaSP) + 1e-9, "\(name)")
      #expect(number(.nhohCount) >= number(.hbd) || mol.atoms.contains { $0.element == 16 }, "\(name)")
      for q in [MoleculeDescriptor.qed, .qedMax, .qedNone] {
        #expect(number(q) > 0 && number(q) < 1, "\(name) \(q.rawValue)")
      }
      #expect(number(.logP).isFinite && number(.mr).isFinite, "\(name)")
      // The calculator's shared work gives what the single functions give.
      #expect(v[index(.logP)] == .number(Descriptors.crippen(mol).logP), "\(name)")
      #expect(v[index(.qed)] == .number(QED.qed(mol)), "\(name)")
      #expect(v[index(.formula)] == .text(Descriptors.formula(mol)), "\(name)")
    }
  }
}

/// The generated tables are what Scripts/gen-descriptor-tables writes from the shipped data.
@Suite struct DescriptorDataTests {
  @Test func generatedTablesAreUpToDate() throws {
    let out = TestSupport.tempDirectory().appendingPathComponent("DescriptorData.swift")
    let script = TestSupport.root.appendingPathComponent("Scripts/gen-descriptor-tables").path
    let r = try TestSupport.run("/usr/bin/env", ["python3", script, out.path])
    #expect(r.status == 0, "\(r.stderr)")
    let committed = try Data(contentsOf: TestSupport.root.appendingPathComponent("Sources/TagdataChem/Descriptors/DescriptorData.swift"))
    #expect(try Data(contentsOf: out) == committed, "rerun Scripts/gen-descriptor-tables")
  }

  @Test func tablesHaveTheReferenceSizes() {
    #expect(DescriptorData.crippen.count == 110 && DescriptorData.crippenFilters.count == 110)
    #expect(DescriptorData.qedAlerts.count == DescriptorData.qedAlertFilters.count && DescriptorData.qedAlerts.count == 116)
    #expect(DescriptorData.qedAcceptors.count == 11 && DescriptorData.qedAcceptorFilters.count == 11)
    #expect(DescriptorData.tpsaRules.count == 43)
    #expect(DescriptorData.qedParameters.count == 8)
    // Isotopes: 13C and 2H as RDKit has them.
    #expect(Descriptors.isotopeMass(element: 6, isotope: 13) == 13.00335484)
    #expect(Descriptors.isotopeMass(element: 1, isotope: 2) == 2.014101778)
  }
}
