import ArgumentParser
import TagdataBio
import TagdataCatalog
import TagdataIngest
import TagdataIO
import TagdataPipeline
import TagdataShards
import TagdataTasks
import TagdataTokenizer
import TagdataTrain

#if canImport(Glibc)
import Glibc
#endif

@main
struct Tagdata: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tagdata",
    abstract: "Turn raw chemistry and biology dumps into Tag-LLM training sets.",
    discussion: """
      Pipeline: ingest dumps into a catalog (SQLite), canonicalize sequences and molecules, label \
      them (tagdata describe), build Tag-LLM's stage-1/2/3 sets and export them as shards (tagdata \
      build), and train tags and heads (tagdata train). Every input may be plain, gzip, bzip2 or zip; the \
      container and the format are recognised from the content, not the file name.

      Exit codes (every command):
        0   success
        1   an input could not be read to the end (truncated, corrupt, unreadable), was not \
      recognised, or gave no usable record; canon: a line failed
        2   training stopped: the loss diverged (not finite)
        64  bad usage: unknown option, missing or bad argument
        74  the catalog or an output could not be opened, created or written (read-only, \
      disk full, locked, not a tagdata catalog)
        69  tagdata slurm: sbatch, squeue or scancel missing or failing
        75  tagdata slurm: jobs of the last submission still queued, the work folder locked, or \
      --wait past --timeout
        78  invalid configuration, or one that does not match an existing run's output
        70  internal error (a bug: please report it)
      """,
    version: tagdataVersion,
    subcommands: [Ingest.self, Canon.self, Describe.self, CatalogCommand.self, Build.self, Export.self, Tokenize.self, Train.self, Generate.self, Eval.self, Run.self, Slurm.self, Debug.self])
}

extension Tagdata {
  /// Runs the command and turns what it throws into a message on standard error and the
  /// documented exit code.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      if let code = ExitStatus.code(for: error) {
        warn("tagdata: \(ExitStatus.message(for: error))")
        exit(withError: ExitCode(code))
      }
      // Usage errors, help and version: ArgumentParser prints and exits (64 for bad usage).
      exit(withError: error)
    }
  }
}

/// The exit code table (see `tagdata --help`).
enum ExitStatus {
  static let input: Int32 = 1
  static let diverged: Int32 = 2
  static let usage: Int32 = 64
  static let software: Int32 = 70
  static let catalog: Int32 = 74
  static let config: Int32 = 78

  /// The exit code of a library error; nil for ArgumentParser's own errors and exit codes.
  static func code(for error: Error) -> Int32? {
    switch error {
    case is ExitCode, is ValidationError, is CleanExit: return nil
    case is InputError: return input
    case is IngestError, is SQLiteError, is OutputError, is TrainOutputError, is ShardExportError, is ExternalSortError:
      return catalog
    case is TrainConfigError, is TaskConfigError: return config
    case is TokenizedExportError, is TokenShardError, is VocabularyError, is HFTokenizerError, is TagDictionaryError: return input
    case is GenerationError: return usage
    case let f as Pipeline.Failure: return f.underlying.flatMap(code(for:)) ?? input
    case is TrainingDiverged: return diverged
    default:
      return String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") ? nil : software
    }
  }

  static func message(for error: Error) -> String { "\(error)" }
}

/// An output that could not be written (a full disk, a closed pipe): exit 74.
struct OutputError: Error, CustomStringConvertible {
  var what: String
  var errno: Int32
  var description: String { "cannot write \(what): \(String(cString: strerror(errno)))" }
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
