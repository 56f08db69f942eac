import Foundation
import TestSupport
import Testing
@testable import TagdataChem

/// Every descriptor checked against RDKit 2026.09.1 (from the test venv) on real molecules: the
/// shipped SMILES edge-case files, 10,000 ChEMBL SMILES (every fourth line) and the records of
/// the PubChem SD files (Corpora/pubchem/sdf, uncompressed ones). tagdata computes
/// its values in-process and writes them to a table; Tests/Interop/rdkit_descriptors.py computes
/// RDKit's on the same SMILES and lists every disagreement. Each descriptor must agree (1e-6
/// relative for numbers, exactly for counts and formulas) on at least 99.9% of the molecules.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct DescriptorInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/rdkit_descriptors.py").path

  /// Dummies, metals, dative bonds, radicals, aromatic Se and Te, explicit and isotopic H, charges,
  /// cages; and large molecules where RDKit's searches stop at 1,000 matches.
  static let extraSmiles: [String] = [
    "*c1ccccc1",
    "[*]CC(=O)[O-]",
    "C[N+](C)(C)C.[Cl-]",
    "[Cu+2].[O-]C(=O)C.[O-]C(=O)C",
    "N->[Pt](<-N)(Cl)Cl",
    "C[Se]C",
    "c1cc[se]c1",
    "c1cc[te]c1",
    "[CH2]C",
    "[CH]C",
    "[C]",
    "[2H]OC([2H])([2H])[2H]",
    "[H][H]",
    "[HH]",
    "OB(O)O",
    "CS(=O)(=O)[O-].[Na+]",
    "O=[N+]([O-])c1ccccc1",
    "C1CC2CCC1C2",
    "C1=CC=CC=CC=C1",
    "c1ccc2c(c1)[nH]c1ccccc12",
    "[NH4+]",
    "[OH-]",
    "O",
    "C#N",
    "[C-]#[O+]",
    "FC(F)(F)C(F)(F)F",
    "ClC(Cl)(Cl)Cl",
    "BrC(Br)(Br)c1ccccc1",
    "CC(C)(C)c1ccccc1",
    "CC(=O)N(C)C",
    "NC(=N)N",
    "C[S+](C)C",
    "[O-][S+](C)C",
    "CP(C)C",
    "C[P+](C)(C)C",
    "O=P(O)(O)O",
    "[Si](C)(C)(C)C",
    "[Li]CCCC",
    "C[Mg]Br",
    "c1ccc2ccccc2c1-c1ccccc1",
    "C12C3C4C1C5C2C3C45",
    String(repeating: "C", count: 600), "c1ccccc1" + String(repeating: "C(O)", count: 1100),
    String(repeating: "C(F)(F)", count: 400),
  ]

  /// The first whitespace-separated token of each line of the edge-case files and of the ChEMBL
  /// sample, then ``extraSmiles``.
  static func inputSmiles() throws -> [String] {
    var data = Data()
    for url in TestSupport.corpusFiles("smiles") where url.pathExtension == "smi" { data.append(try Data(contentsOf: url)) }
    data.append(UInt8(ascii: "\n"))
    let chembl = try TestSupport.shell(
      "gzip -dc '\(TestSupport.corpus("smiles/nextmove_chembl.smi.gz").path)' | awk 'NR % 4 == 1' | head -10000")
    data.append(Data(chembl.stdout.utf8))
    var out: [String] = []
    for line in data.split(separator: UInt8(ascii: "\n")) {
      let token = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }).first
      if let token, let s = String(validating: token, as: UTF8.self) { out.append(s) }
    }
    return out + extraSmiles
  }

  /// The records of an SD file: the chunks between `$$$$` lines that are not blank (the Python
  /// side splits the same way and reads record k with MolFromMolBlock).
  static func sdfRecords(_ url: URL) throws -> [String] {
    let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
    var records: [String] = [], current: [Substring] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.last == "\r" ? line.dropLast() == "$$$$" : line == "$$$$" {
        records.append(current.joined(separator: "\n"))
        current = []
      } else {
        current.append(line)
      }
    }
    records.append(current.joined(separator: "\n"))
    return records.filter { !$0.allSatisfy(\.isWhitespace) }
  }

  @Test func everyDescriptorAgreesWithRDKit() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let smiles = try Self.inputSmiles()
    let descriptors = MoleculeDescriptor.allCases
    let calculator = DescriptorCalculator(descriptors)
    var table = "input\t" + descriptors.map(\.rawValue).joined(separator: "\t") + "\n"
    var read = 0
    let start = Date()
    for s in smiles {
      guard let mol = try? Smiles.read(s) else { continue }
      read += 1
      table += s + "\t" + calculator.compute(mol).map(\.description).joined(separator: "\t") + "\n"
    }
    var records = 0
    for url in TestSupport.corpusFiles("pubchem/sdf") where ["sdf", "mol"].contains(url.pathExtension) {
      for (k, block) in try Self.sdfRecords(url).enumerated() {
        records += 1
        guard let mol = try? Molfile.read(block).molecule else { continue }
        read += 1
        table += "sdf:\(k):\(url.path)\t" + calculator.compute(mol).map(\.description).joined(separator: "\t") + "\n"
      }
    }
    print("descriptors: \(smiles.count) SMILES and \(records) SD records, \(read) read, computed in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    #expect(read >= 10_000)
    let dir = TestSupport.tempDirectory()
    let ours = dir.appendingPathComponent("ours.tsv")
    try Data(table.utf8).write(to: ours)
    let r = try TestSupport.run(python, [Self.script, "compare", ours.path])
    #expect(r.status == 0, "\(r.stderr)")
    var summaries = 0
    for line in r.stdout.split(separator: "\n") {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      switch f[0] {
      case "DIFF": print("disagreement: \(f[1]) \(f[2]): tagdata \(f[3]), RDKit \(f[4])\(f.count > 5 ? " (RDKit QED properties \(f[5]))" : "")")
      case "SUMMARY":
        summaries += 1
        let (agree, n) = (Int(f[2])!, Int(f[3])!)
        print("\(f[1]): \(agree) of \(n) agree (\(String(format: "%.3f", 100 * Double(agree) / Double(max(n, 1))))%)")
        #expect(n >= 10_000, "\(f[1]): only \(n) molecules compared")
        #expect(Double(agree) >= 0.999 * Double(n), "\(f[1]): \(n - agree) of \(n) disagree")
      case "RDKITERROR": print("not compared: RDKit fails on \(f[1]) of \(f[2].prefix(80))\(f[2].count > 80 ? "..." : "") (\(f[4])); tagdata \(f[3])")
      case "READ": print("RDKit read \(f[2]) of the \(f[1]) SMILES tagdata read")
      default: break
      }
    }
    #expect(summaries == descriptors.count)
  }
}
