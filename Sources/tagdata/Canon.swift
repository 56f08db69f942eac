import ArgumentParser
import TagdataBio
import TagdataIO

struct Canon: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write canonical forms of sequences.",
    subcommands: [Protein.self, SmilesCommand.self, SDFCommand.self])

  struct Protein: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Canonicalize protein sequences.",
      discussion: """
        Reads one sequence per line, or FASTA (when the input starts with `>`), from a file or \
        standard input (plain or compressed) and writes canonical sequences: upper case, \
        whitespace and digits removed, a terminal `*` dropped, alphabet checked (20 residues, U, \
        O, and the ambiguity codes B Z J X per --ambiguity).

        Line mode writes exactly one output line per input line, so results line up with their \
        inputs; a bad line gives an empty output line and an error on standard error with its \
        line number. FASTA mode writes FASTA with the headers kept. The exit code is 1 if any \
        sequence failed.

        Examples:
          echo 'mkt ayiak*' | tagdata canon protein          # MKTAYIAK
          tagdata canon protein --checksums seqs.txt        # sequence, CRC64, SHA-256
        """)

    @Option(help: "What to do with ambiguity codes B, Z, J, X: keep, reject or map (B/Z/J to X).")
    var ambiguity = AmbiguityPolicy.keep

    @Flag(help: "Append the UniProt CRC64 and the SHA-256 of the canonical sequence, tab-separated.")
    var checksums = false

    @Argument(help: ArgumentHelp("Input file, or - for standard input.", valueName: "file"))
    var input = "-"

    func run() throws {
      let canonicalizer = ProteinCanonicalizer(ambiguity: ambiguity)
      let opened = try openInput(input)
      let lines = LineReader(opened.source)
      let out = OutputBuffer()
      var failures = 0
      var fasta: Bool?
      var header: (text: String, line: Int)?
      var pending: [UInt8] = []

      func emit(_ raw: [UInt8], line: Int, label: String?) {
        switch canonicalizer.canonicalize(raw) {
        case let .success(seq):
          if let label { out.write(">" + label + "\n") }
          out.write(seq)
          if checksums {
            out.write("\t" + CRC64.hex(CRC64.checksum(seq)) + "\t" + SequenceDigest.hex(SequenceDigest.sha256(seq)))
          }
          out.write("\n")
        case let .failure(e):
          failures += 1
          let what = label.map { " (\($0))" } ?? ""
          warn("\(opened.source.name): line \(line)\(what): \(e)")
          if label == nil { out.write("\n") }
        }
      }

      while let l = try lines.nextLine() {
        if fasta == nil {
          if l.isEmpty { out.write("\n"); continue }
          fasta = l.first == UInt8(ascii: ">")
        }
        if fasta == true {
          if l.first == UInt8(ascii: ">") {
            if let h = header { emit(pending, line: h.line, label: h.text) }
            header = (String(decoding: l.dropFirst(), as: UTF8.self), lines.lineNumber)
            pending.removeAll(keepingCapacity: true)
          } else {
            pending.append(contentsOf: l)
          }
        } else {
          if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            out.write("\n")
            continue
          }
          emit(Array(l), line: lines.lineNumber, label: nil)
        }
      }
      if let h = header { emit(pending, line: h.line, label: h.text) }
      out.flush()
      if failures > 0 {
        warn("\(failures) sequence(s) failed")
        throw ExitCode(1)
      }
    }
  }
}
