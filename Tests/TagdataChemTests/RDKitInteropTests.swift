import Foundation
import TestSupport
import Testing
@testable import TagdataChem

/// tagdata's canonical SMILES checked against RDKit (from the test venv) on the shipped SMILES
/// corpora: every SMILES edge-case file and 10,000 ChEMBL SMILES.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct RDKitInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/rdkit_smiles.py").path

  /// Inputs: (name, file).
  static func inputs(in dir: URL) throws -> [(String, URL)] {
    var out: [(String, URL)] = []
    let edge = dir.appendingPathComponent("edge.smi")
    var text = Data()
    for url in TestSupport.corpusFiles("smiles") where url.pathExtension == "smi" { text.append(try Data(contentsOf: url)) }
    try text.write(to: edge)
    out.append(("edge cases", edge))
    // Every fourth ChEMBL SMILES, 10,000 of them.
    let chembl = dir.appendingPathComponent("chembl.smi")
    try TestSupport.shell("gzip -dc '\(TestSupport.corpus("smiles/nextmove_chembl.smi.gz").path)' | awk 'NR % 4 == 1' | head -10000 > '\(chembl.path)'")
    out.append(("ChEMBL sample", chembl))
    return out
  }

  @Test func sameMoleculesSameValidityAndOneStringPerMolecule() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let dir = TestSupport.tempDirectory()
    for (name, input) in try Self.inputs(in: dir) {
      // 1. Canonicalize in line mode (one output line per input line).
      let ours = dir.appendingPathComponent(input.lastPathComponent + ".ours")
      let run = try TestSupport.run("/bin/sh", ["-c", "'\(TestSupport.tagdataBinary)' canon smiles '\(input.path)' > '\(ours.path)' 2>/dev/null"])
      // The exit status is the command's own: 0 when every line was canonicalized, 1 when some
      // line failed (its output line is empty); anything else (a crash) fails the test.
      let inputLines = try Self.lines(input), outputLines = try Self.lines(ours)
      #expect(outputLines.count == inputLines.count, "\(name): one output line per input line")
      let failedLines = zip(inputLines, outputLines).filter { !$0.0.isEmpty && $0.1.isEmpty }.count
      #expect(run.status == (failedLines > 0 ? 1 : 0), "\(name): exit status \(run.status) with \(failedLines) failed lines")
      // 2. RDKit: validity, InChI of input vs InChI of our output, exact string.
      let check = try TestSupport.run(python, [Self.script, "check", input.path, ours.path])
      #expect(check.status == 0, "\(check.stderr)")
      var both = 0, sameInchi = 0, sameString = 0, n = 0
      var disagreements: [String] = []
      for line in check.stdout.split(separator: "\n") {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        n += 1
        let (rdkitOK, oursOK) = (f[1] == "1", f[2] == "1")
        if rdkitOK != oursOK { disagreements.append("\(f[5]) RDKit \(rdkitOK ? "accepts" : "rejects"), tagdata \(oursOK ? "accepts" : "rejects")") }
        if rdkitOK && oursOK {
          both += 1
          if f[3] == "1" { sameInchi += 1 } else { Issue.record("\(name): different molecule: \(f[5]) -> \(f[6])") }
          if f[4] == "1" { sameString += 1 }
        }
      }
      print("\(name): \(n) SMILES, \(both) read by both, same InChI \(sameInchi) (\(percent(sameInchi, both))), "
        + "identical to RDKit's canonical string \(sameString) (\(percent(sameString, both)))")
      #expect(n > 2000)
      #expect(sameInchi == both)
      // Validity: no disagreement is expected; any would be listed here with its reason.
      #expect(disagreements.isEmpty, "\(name): \(disagreements.prefix(20).joined(separator: "; "))")

      // 3. Uniqueness: 20 RDKit-randomized SMILES and Kekulé forms per molecule, one string.
      let variants = try TestSupport.run(python, [Self.script, "variants", input.path, "20"])
      #expect(variants.status == 0, "\(variants.stderr)")
      let tsv = dir.appendingPathComponent(input.lastPathComponent + ".variants.tsv")
      try Data(("id\tsmiles\n" + variants.stdout).utf8).write(to: tsv)
      let canonical = try TestSupport.tagdata(["canon", "smiles", "--column", "smiles", tsv.path])
      var strings: [String: Set<String>] = [:]
      var count = 0
      for line in canonical.stdout.split(separator: "\n").dropFirst() {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        strings[String(f[0]), default: []].insert(String(f[1]))
        count += 1
      }
      let split = strings.filter { $0.value.count > 1 }
      print("\(name): \(strings.count) molecules, \(count) variants, \(split.count) with more than one canonical string")
      #expect(strings.count == both)
      #expect(count > strings.count * 15)
      #expect(split.isEmpty, "\(name): \(split.prefix(5).map { "\($0.key): \($0.value.sorted())" })")
    }
  }

  /// Aromaticity: per atom (in input order), our aromatic flags after reading equal RDKit's
  /// (MolFromSmiles with sanitization, GetIsAromatic) on every SMILES both read whose heavy
  /// atoms map one to one (inputs with explicit hydrogen atoms are left out: both readers fold
  /// them, and the numbering then depends on which ones stay).
  @Test func aromaticAtomsAgreeWithRDKit() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let dir = TestSupport.tempDirectory()
    let script = dir.appendingPathComponent("aromatic.py")
    try Data("""
      import sys
      from rdkit import Chem, RDLogger
      RDLogger.DisableLog('rdApp.*')
      data = open(sys.argv[1], 'rb').read()
      for line in (data[:-1] if data.endswith(b'\\n') else data).split(b'\\n'):
          fields = line.rstrip(b'\\r').split()
          smi = fields[0].decode('utf-8', 'replace') if fields else ''
          m = Chem.MolFromSmiles(smi) if smi else None
          print(''.join('1' if a.GetIsAromatic() else '0' for a in m.GetAtoms()) if m is not None else '-')
      """.utf8).write(to: script)
    for (name, input) in try Self.inputs(in: dir) {
      let r = try TestSupport.run(python, [script.path, input.path])
      #expect(r.status == 0, "\(r.stderr)")
      let flags = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
      let lines = try Self.lines(input)
      var compared = 0, aromaticAtoms = 0
      var differ: [String] = []
      for (k, line) in lines.enumerated() where k < flags.count && flags[k] != "-" {
        let smiles = String(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        guard !smiles.isEmpty, !smiles.contains("[H"), !smiles.contains("[2H"), !smiles.contains("[3H"),
          let m = try? Smiles.read(smiles), m.atoms.count == flags[k].count
        else { continue }
        compared += 1
        let ours = String(m.atoms.map { $0.aromatic ? "1" : "0" })
        aromaticAtoms += ours.filter { $0 == "1" }.count
        if ours != flags[k] { differ.append("\(smiles): tagdata \(ours), RDKit \(flags[k])") }
      }
      print("\(name): aromatic atoms compared on \(compared) SMILES (\(aromaticAtoms) aromatic atoms), \(differ.count) differ")
      #expect(compared > 2000, "\(name)")
      #expect(aromaticAtoms > compared, "\(name)")
      #expect(differ.isEmpty, "\(name): \(differ.count) differ: \(differ.prefix(10).joined(separator: "; "))")
    }
  }

  /// A file's lines split on LF only (the corpora mix LF and CRLF; a CR before the LF is dropped).
  static func lines(_ url: URL) throws -> [String] {
    var bytes = Array(try Data(contentsOf: url))
    if bytes.last == 0x0A { bytes.removeLast() }
    return bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map {
      String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self)
    }
  }

  func percent(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.1f%%", Double(a) * 100 / Double(b)) }
}
