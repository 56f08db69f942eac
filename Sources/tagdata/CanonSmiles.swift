import ArgumentParser
import TagdataChem
import TagdataIO
import TagdataSources

extension Canon {
  struct SmilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "smiles",
      abstract: "Canonicalize SMILES.",
      discussion: """
        Reads SMILES one per line (anything after the first blank is a name and is ignored, or \
        kept with --keep-rest; a CXSMILES block right after the SMILES, "SMILES |...|", \
        belongs to it), or one column of a TSV/CSV file with a header (--column), from a file or standard input, \
        plain or compressed, and writes canonical SMILES.

        Line mode writes exactly one output line per input line, in order: a SMILES that cannot \
        be read gives an empty line (or none, with --skip-failed) and an error on standard \
        error with its line number and reason. Column mode rewrites the chosen column and \
        passes the others through; a failed cell becomes empty. CSV is read as RFC 4180 \
        defines (quoted fields may hold commas, quotes and line breaks) and written back quoted \
        where needed; TSV has no quoting. A row with the wrong number of fields or a quote that \
        is never closed is reported with its line and passed through as read. The exit code is \
        1 if any SMILES or row failed.

        Canonical form: aromatic (RDKit's aromaticity model) lower case unless --kekule, \
        stereo kept unless --no-isomeric, components sorted. A double bond of unknown geometry \
        between two specified ones, which plain SMILES cannot state, is declared in a CXSMILES \
        block: C/C=C/C=C/C=C/C |ctu:3| (bond numbers in order of appearance).

        Examples:
          echo 'OCC' | tagdata canon smiles                    # CCO
          tagdata canon smiles --column smiles data.tsv > canonical.tsv
        """)

    @Option(help: "Canonicalize this column of a TSV/CSV file with a header row (tab or comma separated).")
    var column: String?

    @Flag(help: "Leave stereo and isotopes out.")
    var noIsomeric = false

    @Flag(help: "Write Kekulé SMILES (upper case, explicit double bonds).")
    var kekule = false

    @Flag(help: "In line mode, write nothing (instead of an empty line) for a SMILES that fails.")
    var skipFailed = false

    @Flag(help: "In line mode, keep the rest of each line (the name) after the canonical SMILES.")
    var keepRest = false

    @Argument(help: ArgumentHelp("Input file, or - for standard input.", valueName: "file"))
    var input = "-"

    func run() throws {
      let writer = SmilesWriter(isomeric: !noIsomeric, kekule: kekule)
      let opened = try openInput(input)
      let out = OutputBuffer()
      var failures = 0
      func canonical(_ text: ArraySlice<UInt8>, line: Int) -> String? {
        do {
          return writer.write(try Smiles.read(bytes: Array(text)))
        } catch {
          failures += 1
          warn("\(opened.source.name): line \(line): \(String(decoding: text, as: UTF8.self)): \(error)")
          return nil
        }
      }
      if let column {
        let table = try DelimitedReader(source: opened.source)
        guard let index = table.column(column) else {
          throw ValidationError("no column '\(column)' in the header (\(table.header.joined(separator: ", ")))")
        }
        let dialect = table.dialect
        func writeRow(_ fields: [[UInt8]]) {
          out.write(Array(fields.map { DelimitedReader.quoted($0, dialect: dialect) }.joined(separator: [dialect.separator])))
          out.write("\n")
        }
        writeRow(table.header.map { Array($0.utf8) })
        while let event = try table.next() {
          switch event {
          case var .row(row):
            if !row.fields[index].isEmpty {
              let c = canonical(row.fields[index][...], line: row.line) ?? ""
              row.fields[index] = Array(c.utf8)
            }
            writeRow(row.fields)
          case let .malformed(damage):
            // A damaged row is passed through as far as it was read, and counts as a failure.
            failures += 1
            warn("\(damage)")
            writeRow(damage.fields)
          }
        }
      } else {
        let lines = LineReader(opened.source)
        while let l = try lines.nextLine() {
          let bytes = Array(l)
          // The SMILES, with its CXSMILES block if one follows (`SMILES |ctu:3| name`).
          let end = SmilesParser.recordLength(bytes)
          if end == 0 {
            if !skipFailed || !bytes.isEmpty { out.write("\n") }
            continue
          }
          if let c = canonical(bytes[0..<end], line: lines.lineNumber) {
            out.write(c)
            if keepRest && end < bytes.count { out.write(Array(bytes[end...])) }
            out.write("\n")
          } else if !skipFailed {
            out.write("\n")
          }
        }
      }
      out.flush()
      if failures > 0 {
        warn("\(failures) SMILES failed")
        throw ExitCode(1)
      }
    }
  }
}
