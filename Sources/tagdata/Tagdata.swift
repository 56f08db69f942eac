import ArgumentParser
import TagdataBio
import TagdataCatalog
import TagdataIngest
import TagdataIO

#if canImport(Glibc)
import Glibc
#endif

@main
struct Tagdata: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tagdata",
    abstract: "Turn raw chemistry and biology dumps into Tag-LLM training sets.",
    discussion: """
      Pipeline: ingest dumps into a catalog (SQLite), canonicalize sequences and molecules, then build, \
      tokenize and export (coming), and train tags and heads (tagdata train). Every input may be plain, gzip, bzip2 or zip; the \
      container and the format are recognised from the content, not the file name.

      Exit codes: 0 success; 1 an input could not be read completely (truncated, corrupt, \
      unknown format) or a sequence failed to canonicalize; 64 bad usage.
      """,
    version: tagdataVersion,
    subcommands: [Ingest.self, Canon.self, CatalogCommand.self, Train.self, Debug.self])
}

/// Options shared by commands that use the catalog.
struct CatalogOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("The catalog file (SQLite).", valueName: "path"))
  var catalog = "tagdata.sqlite"
}

/// Writes a line to standard error.
func warn(_ text: String) { writeFD(2, text + "\n") }

/// Writes text to standard output, unbuffered.
func writeOut(_ text: String) { writeFD(1, text) }

func writeFD(_ fd: Int32, _ text: String) {
  var bytes = Array(text.utf8)
  bytes.withUnsafeMutableBytes { p in
    var off = 0
    while off < p.count {
      let n = write(fd, p.baseAddress! + off, p.count - off)
      if n <= 0 { break }
      off += n
    }
  }
}

extension AmbiguityPolicy: ExpressibleByArgument {}
