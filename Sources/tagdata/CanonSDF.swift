import ArgumentParser
import TagdataChem
import TagdataIO
import TagdataSources

extension Canon {
  struct SDFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "sdf",
      abstract: "Canonical SMILES of every record of an SDF or molfile.",
      discussion: """
        Reads V2000 and V3000 connection tables (plain or compressed; `-` for standard input), \
        takes stereo from the structure (wedge/hash bonds in 2D, coordinates in 3D, double-bond \
        geometry) and writes one line per record: canonical SMILES, a tab, the record's title. \
        A record that cannot be read gives an empty SMILES and an error on standard error with \
        its record number and line; the exit code is then 1.
        """)

    @Flag(help: "Leave stereo and isotopes out.") var noIsomeric = false
    @Argument(help: ArgumentHelp("Input file, or - for standard input.", valueName: "file")) var input = "-"

    func run() throws {
      let opened = try openInput(input)
      let reader = SDFReader(lines: LineReader(opened.source))
      let writer = SmilesWriter(isomeric: !noIsomeric)
      let out = OutputBuffer()
      var failures = 0
      while let record = try reader.next() {
        var smiles = ""
        let name = "\(opened.source.name): record \(record.location.index + 1)"
        if let problem = record.problem {
          // A damaged record (no M  END, a second molfile run into it, over the size limit):
          // not canonicalized from what is left of it.
          failures += 1
          warn("\(name), line \(problem.line): \(problem.reason)")
        } else {
          do {
            smiles = writer.write(try Molfile.read(block: record.molfile).molecule)
          } catch {
            failures += 1
            let line = error.line > 0 ? record.location.line + error.line - 1 : record.location.line
            warn("\(name), line \(line): \(error.message)")
          }
        }
        out.write(smiles + "\t" + (record.molfile.isEmpty ? "" : record.molfile.text(0)) + "\n")
      }
      out.flush()
      if failures > 0 { throw ExitCode(1) }
    }
  }
}
