import ArgumentParser
import Foundation
import TagdataIngest
import TagdataPipeline

#if canImport(Glibc)
import Glibc
#endif

struct Slurm: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a pipeline configuration's ingest, labels, builds and tokenized exports on a Slurm cluster, N partitions at a time.",
    discussion: """
      Reads the same configuration as tagdata run (its ingest entries, describe, builds and \
      tokenized exports) and \
      submits a chain of jobs with sbatch, each waiting for the one before it \
      (--dependency=afterok):

        1. ingest, an array 0-(N-1): task K runs every ingest entry, in order,
           with --partition K/N, into WORK/ingest/part-K.sqlite
        2. catalog merge: tagdata catalog merge of the N parts into OUT/CATALOG
        3. with describe: an array 0-(N-1), tagdata describe --partition K/N of
           the configuration's descriptors into WORK/labels/part-K.sqlite,
           then their merge into OUT/CATALOG (tagdata catalog merge)
        4. per build, an array 0-(N-1): tagdata build --partition K/N
           into WORK/builds/NAME/part-K
        5. per build, its merge: tagdata export --merge into OUT/builds/NAME
        6. per tokenize entry, an array 0-(N-1): tagdata export --tokenized
           --partition K/N of its build into WORK/tokens/NAME/part-K,
           then their merge: tagdata export --merge into OUT/tokens/NAME

      The result equals what one process gives (tagdata ingest of every entry, tagdata \
      describe --catalog, tagdata build, tagdata export --tokenized), byte for byte. WORK (default OUT/slurm) holds the \
      scripts (WORK/scripts), the logs \
      (WORK/logs/NAME-JOB_TASK.out and .err) and WORK/slurm-state.json (every submission's job \
      ids and arrays). OUT and WORK must be on a file system every node sees. The jobs run this \
      tagdata binary, by its absolute path.

      Each task writes a completion marker last, only when its commands succeeded; the marker \
      holds a hash of the commands and of what they read (the input files' paths, sizes and \
      modification times, the jobs before it). Running the same command again submits only \
      what is not done: the partitions whose marker is missing or stale (e.g. --array=1,3), \
      and the merges after them; when everything is done it says so and submits nothing. A task \
      killed or failed is simply submitted again; an ingest task resumes its partition's \
      catalog where its last batch ended.

      Jobs of the last submission that are still pending or running are never submitted twice: \
      tagdata slurm says which and exits with 75 (without --wait), or waits for them to end \
      first (with --wait). A job whose dependency failed (Slurm leaves it pending with \
      DependencyNeverSatisfied) is cancelled, and its work submitted again.

      --wait waits (polling squeue, at most --timeout seconds) for the jobs to end, then checks \
      every marker: exit 0 when all succeeded, 1 when a task failed (named, with its log's last \
      lines). \
      Exit codes besides the usual: 69 sbatch, squeue or scancel missing or failing; 75 jobs \
      still queued, another tagdata slurm submitting into the same work folder (WORK/slurm.lock), \
      or --timeout passed (the jobs go on).

      Training and evaluation are not submitted: run tagdata train and tagdata eval on \
      OUT/tokens/NAME.

      --dry-run prints the scripts and sbatch lines of what is not done, and writes nothing.

      Examples:
        tagdata slurm --config pipeline.yaml --out /scratch/p1 --partitions 16 \\
            --account chem --time 02:00:00 --mem 8G --slurm-partition cpu
        tagdata slurm --config pipeline.yaml --out /scratch/p1 \\
            --partitions 16 --dry-run        # print the scripts
        tagdata slurm --config pipeline.yaml --out /scratch/p1 \\
            --partitions 16 --wait           # again: only what failed
        tagdata slurm ... --sbatch-arg=--constraint=skylake --sbatch-arg=--exclusive
      """)

  @Option(help: ArgumentHelp("The pipeline configuration (YAML, or JSON for a .json name), as for tagdata run.", valueName: "file"))
  var config: String

  @Option(help: ArgumentHelp("The output folder: the merged catalog and OUT/builds/NAME.", valueName: "dir"))
  var out: String

  @Option(help: ArgumentHelp("How many partitions (array tasks) each array has.", valueName: "N"))
  var partitions: Int

  @Option(help: ArgumentHelp("The work folder: partition catalogs and builds, scripts, logs, state (default OUT/slurm).",
                             valueName: "dir"))
  var work: String?

  @Option(help: ArgumentHelp("sbatch --account for every job.", valueName: "name"))
  var account: String?

  @Option(help: ArgumentHelp("sbatch --time for every job (e.g. 02:00:00).", valueName: "limit"))
  var time: String?

  @Option(help: ArgumentHelp("sbatch --mem for every job (e.g. 8G).", valueName: "size"))
  var mem: String?

  @Option(help: ArgumentHelp("sbatch --partition (Slurm's queue; tagdata's partitions are --partitions).", valueName: "name"))
  var slurmPartition: String?

  @Option(help: ArgumentHelp("sbatch --qos for every job.", valueName: "name"))
  var qos: String?

  @Option(help: ArgumentHelp("Another sbatch option for every job, as one #SBATCH line (repeatable): "
                               + "--sbatch-arg=--constraint=skylake.", valueName: "option"))
  var sbatchArg: [String] = []

  @Option(help: ArgumentHelp("The sbatch program: a name on PATH, or a path.", valueName: "path"))
  var sbatch = "sbatch"

  @Option(help: ArgumentHelp("The squeue program: a name on PATH, or a path.", valueName: "path"))
  var squeue = "squeue"

  @Option(help: ArgumentHelp("The scancel program: a name on PATH, or a path.", valueName: "path"))
  var scancel = "scancel"

  @Option(help: ArgumentHelp("The tagdata binary the jobs run (default: this one).", valueName: "path"))
  var tagdata: String?

  @Flag(help: "Print every script and the sbatch command lines, and submit nothing.")
  var dryRun = false

  @Flag(help: "Wait for earlier jobs still queued, and for the submitted jobs to end; exit 1 if a task failed.")
  var wait = false

  @Option(help: ArgumentHelp("Seconds --wait waits at most.", valueName: "seconds"))
  var timeout: Double = 86_400

  @Option(help: ArgumentHelp("Seconds between two looks at the queue while waiting.", valueName: "seconds"))
  var poll: Double = 10

  @Flag(help: "Print the submission summary as JSON on standard output.")
  var json = false

  @Flag(help: "No progress lines.")
  var quiet = false

  func validate() throws {
    if partitions < 1 || partitions > 10_000 { throw ValidationError("--partitions must be between 1 and 10000") }
    if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
    if !(poll > 0) { throw ValidationError("--poll must be positive") }
  }

  /// The running executable's absolute path.
  static func ownPath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    let arg0 = CommandLine.arguments[0]
    return arg0.hasPrefix("/") ? arg0 : FileManager.default.currentDirectoryPath + "/" + arg0
  }

  func run() throws {
    do {
      try submit()
    } catch let e as SlurmError {
      warn("tagdata: \(e)")
      switch e {
      case .usage: throw ExitCode(64)
      case .unavailable: throw ExitCode(69)
      case .stillQueued, .busy, .waitTimeout: throw ExitCode(75)
      case .output: throw ExitCode(74)
      }
    }
  }

  func submit() throws {
    let parsed = try PipelineConfig.load(path: config)
    var options = SlurmOptions()
    options.account = account
    options.time = time
    options.memory = mem
    options.partition = slurmPartition
    options.qos = qos
    options.extra = sbatchArg
    var binary = tagdata ?? Self.ownPath()
    if !binary.hasPrefix("/") { binary = FileManager.default.currentDirectoryPath + "/" + binary }
    let plan = try SlurmPlan(config: parsed, partitions: partitions, output: out, work: work, tagdata: binary,
                             toolVersion: tagdataVersion, options: options)
    func tool(_ name: String, _ given: String) throws -> String {
      if dryRun { return given }
      guard let found = SlurmSubmitter.find(given) else {
        throw SlurmError.unavailable("\(given): not found\(given.contains("/") ? "" : " on PATH") (is this a Slurm login node? --\(name) PATH names it)")
      }
      return found.hasPrefix("/") ? found : FileManager.default.currentDirectoryPath + "/" + found
    }
    let submitter = SlurmSubmitter(plan: plan, sbatch: try tool("sbatch", sbatch), squeue: try tool("squeue", squeue),
                                   scancel: try tool("scancel", scancel))
    submitter.pollInterval = poll
    if !quiet { submitter.onMessage = { warn($0) } }
    let work = SlurmWork.pending(plan)
    if dryRun {
      if work.isEmpty {
        warn("\(plan.output): every job is done; nothing to submit")
      } else {
        writeOut(submitter.dryRun(work))
      }
      return
    }
    var summary = try submitter.submit(waitForEarlier: wait, timeout: timeout)
    if summary.complete && !quiet { warn("\(plan.output): every job is done (\(summary.done.joined(separator: ", "))); nothing submitted") }
    if wait {
      try submitter.wait(&summary, timeout: timeout)
    }
    if json { writeOut(try encodeJSON(summary) + "\n") }
    if let failed = summary.failed, !failed.isEmpty {
      warn("tagdata: failed: \(failed.joined(separator: ", ")); run the same command again to submit only what failed")
      let logs = summary.logs ?? []
      for log in logs.prefix(5) {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(5)
        warn("  \(log):" + (tail.isEmpty ? " (empty)" : "\n    " + tail.joined(separator: "\n    ")))
      }
      if logs.count > 5 { warn("  and \(logs.count - 5) more logs in \(plan.logsFolder)") }
      if logs.isEmpty { warn("  logs: \(plan.logsFolder)") }
      throw ExitCode(1)
    }
    if wait && !quiet && !summary.complete { warn("\(plan.output): done") }
  }
}
