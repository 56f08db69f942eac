import ArgumentParser
import TagdataBio
import TagdataIO
import TagdataSources

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
      let out = OutputBuffer()
      var failures = 0

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

      // FASTA when the first line that is not empty starts with `>`; the bytes looked at are
      // read once and handed on.
      let head = try opened.source.readPrefix(1 << 16)
      let source = PrefixedSource(prefix: head, inner: opened.source)
      let fasta = head.first { $0 != 0x0A && $0 != 0x0D } == UInt8(ascii: ">")
      if fasta {
        let reader = FastaReader(lines: LineReader(source))
        var sequence: [UInt8] = []
        while let event = try reader.nextRaw(sequence: &sequence) {
          switch event {
          case let .record(header, location):
            emit(sequence, line: location.line, label: String(decoding: header, as: UTF8.self))
          case let .malformed(m):
            failures += 1
            warn("\(opened.source.name): line \(m.line): \(m.reason)")
          }
          sequence.removeAll(keepingCapacity: true)
        }
      } else {
        let lines = LineReader(source)
        while let l = try lines.nextLine() {
          if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            out.write("\n")
            continue
          }
          emit(Array(l), line: lines.lineNumber, label: nil)
        }
      }
      out.flush()
      if failures > 0 {
        warn("\(failures) sequence(s) failed")
        throw ExitCode(1)
      }
    }
  }
}
