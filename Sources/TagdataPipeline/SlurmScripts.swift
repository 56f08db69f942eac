import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `tagdata slurm` passes to every job as `#SBATCH` lines: the site's account, time
/// limit, memory, Slurm partition and QOS, and any other sbatch options verbatim.
public struct SlurmOptions: Sendable, Equatable {
  public var account: String?
  public var time: String?
  public var memory: String?
  /// Slurm's partition (queue), not one of tagdata's partitions of the inputs.
  public var partition: String?
  public var qos: String?
  /// Further sbatch options, each one `#SBATCH` line as given (e.g. `--constraint=skylake`).
  public var extra: [String] = []

  public init() {}

  /// The `#SBATCH` lines of these options.
  func lines() -> [String] {
    var out: [String] = []
    if let account { out.append("--account=\(account)") }
    if let time { out.append("--time=\(time)") }
    if let memory { out.append("--mem=\(memory)") }
    if let partition { out.append("--partition=\(partition)") }
    if let qos { out.append("--qos=\(qos)") }
    out += extra
    return out
  }

  /// A problem with a value (a blank or line break in a single-word option, a line break in an
  /// extra option), or nil.
  func problem() -> String? {
    let words: [(String, String?)] = [("--account", account), ("--time", time), ("--mem", memory),
                                      ("--slurm-partition", partition), ("--qos", qos)]
    for (name, value) in words {
      guard let value else { continue }
      if value.isEmpty || value.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "'" }) {
        return "\(name) '\(value)': one word without blanks or quotes"
      }
    }
    for e in extra where e.contains(where: \.isNewline) || !e.hasPrefix("-") {
      return "--sbatch-arg '\(e)': one sbatch option on one line, starting with '-'"
    }
    return nil
  }
}

/// Why a Slurm chain could not be planned, submitted or waited for.
public enum SlurmError: Error, CustomStringConvertible, Sendable {
  /// A value that cannot go into a job script (exit 64).
  case usage(String)
  /// A Slurm command is missing or failed (exit 69).
  case unavailable(String)
  /// Jobs of an earlier submission are still pending or running (exit 75).
  case stillQueued(jobs: [String], work: String)
  /// Another `tagdata slurm` is submitting into the same work folder (exit 75).
  case busy(String)
  /// `--wait` ran out of time (exit 75).
  case waitTimeout(seconds: Int, jobs: [String])
  /// The work folder or a script could not be written (exit 74).
  case output(String)

  public var description: String {
    switch self {
    case let .usage(m), let .unavailable(m), let .output(m): return m
    case let .stillQueued(jobs, work):
      return "jobs of the last submission into \(work) are still pending or running (\(jobs.joined(separator: ", "))): "
        + "nothing submitted. Run again when they have ended, add --wait to wait for them first, or scancel them."
    case let .busy(work):
      return "another tagdata slurm is submitting into \(work) (it holds \(work)/slurm.lock): nothing submitted"
    case let .waitTimeout(seconds, jobs):
      return "--wait: jobs still pending or running after \(seconds) s (\(jobs.joined(separator: ", "))); they go on in Slurm"
    }
  }
}

/// The chain of Slurm jobs that does a pipeline configuration's ingest, describe and builds on N
/// partitions, and where each writes:
///
///     WORK/ingest/part-K.sqlite      ingest array, task K: every ingest entry, in order, --partition K/N
///     OUT/CATALOG                    catalog merge (afterok on the array)
///     WORK/labels/part-K.sqlite      describe array, task K: the configuration's descriptors,
///                                    --partition K/N (afterok on the merge; only with `describe`)
///     OUT/CATALOG                    labels merge: the N labels parts into the catalog (afterok on it)
///     WORK/builds/NAME/part-K/       build array per build, task K: --partition K/N (afterok on the
///                                    catalog's last job)
///     OUT/builds/NAME/               export --merge of the N parts (afterok on its array)
///     WORK/tokens/NAME/part-K/       tokenized export array per tokenize entry, task K: the build
///                                    shards K modulo N (afterok on its build's merge)
///     OUT/tokens/NAME/               export --merge of the N parts (afterok on its array)
///     WORK/scripts/*.sh, WORK/logs/  the job scripts and their logs
///
/// Each job (each array task) writes its completion marker last, only when its commands
/// succeeded: `WORK/ingest/part-K.done`, `WORK/catalog.done`, `WORK/labels/part-K.done`,
/// `WORK/labels.done`, `WORK/builds/NAME/part-K.done`, `WORK/builds/NAME/merge.done`,
/// `WORK/tokens/NAME/part-K.done`, `WORK/tokens/NAME/merge.done`. A marker holds the job's key: the SHA-256 of its commands,
/// the identity (path, size, modification time) of the files it reads and the keys of the jobs
/// before it, so a marker left by other inputs or options is stale.
public struct SlurmPlan: Sendable {
  public enum Kind: String, Sendable, Codable {
    case ingest, catalogMerge = "catalog-merge", describe, labelsMerge = "labels-merge", build, buildMerge = "build-merge"
    case tokenize, tokenizeMerge = "tokenize-merge"
  }

  /// One job (an array of N tasks, or one task).
  public struct Job: Sendable {
    /// `ingest`, `catalog-merge`, `describe`, `labels-merge`, `build:NAME`, `build-merge:NAME`,
    /// `tokenize:NAME`, `tokenize-merge:NAME`.
    public var id: String
    public var kind: Kind
    /// The job name in Slurm.
    public var slurmName: String
    /// The script's file name under WORK/scripts.
    public var scriptName: String
    /// The job whose success this one waits for (by id), if any.
    public var after: String?
    public var isArray: Bool
    public var key: String
    /// The marker of each task (arrays: one per partition; others: one).
    public var markers: [String]
    /// What must exist besides the marker for a task to count as done (its output).
    public var outputs: [String]
    /// The script's text before and after its `#SBATCH --array` line.
    var scriptHead: String
    var scriptTail: String

    init(id: String, kind: Kind, slurmName: String, scriptName: String, after: String?, isArray: Bool, key: String,
         markers: [String], outputs: [String], script: (head: String, tail: String))
    {
      self.id = id
      self.kind = kind
      self.slurmName = slurmName
      self.scriptName = scriptName
      self.after = after
      self.isArray = isArray
      self.key = key
      self.markers = markers
      self.outputs = outputs
      self.scriptHead = script.head
      self.scriptTail = script.tail
    }

    /// The script, for the given array spec (arrays; ignored for single jobs).
    public func script(_ array: String?) -> String {
      scriptHead + (isArray ? "#SBATCH --array=\(array ?? "0-\(markers.count - 1)")\n" : "") + scriptTail
    }
  }

  public let config: PipelineConfig
  public let partitions: Int
  public let output: String
  public let work: String
  public let tagdata: String
  public let options: SlurmOptions
  public let jobs: [Job]

  public var catalogPath: String { output + "/" + config.catalog }
  public var scriptsFolder: String { work + "/scripts" }
  public var logsFolder: String { work + "/logs" }
  public var statePath: String { work + "/slurm-state.json" }

  /// Plans the chain. `output` and `work` are made absolute; `tagdata` is the binary the jobs
  /// run (an absolute path). Work paths must be usable in `#SBATCH` lines (no `"`, `%`, `\`
  /// or line break).
  /// - Throws: `SlurmError.usage`.
  public init(config: PipelineConfig, partitions: Int, output: String, work: String? = nil, tagdata: String,
              toolVersion: String, options: SlurmOptions = SlurmOptions()) throws
  {
    guard partitions >= 1 && partitions <= 10_000 else { throw SlurmError.usage("--partitions must be between 1 and 10000") }
    if let p = options.problem() { throw SlurmError.usage(p) }
    guard tagdata.hasPrefix("/") else { throw SlurmError.usage("the tagdata binary must be an absolute path (got '\(tagdata)')") }
    let cwd = FileManager.default.currentDirectoryPath
    func absolute(_ p: String) -> String { Self.normalized(p.hasPrefix("/") ? p : cwd + "/" + p) }
    let output = absolute(output)
    let work = absolute(work ?? output + "/slurm")
    for (what, path) in [("--out", output), ("--work", work)] where path.contains(where: { "\"%\\\n\r".contains($0) }) {
      throw SlurmError.usage("\(what) \(path): a folder whose path has no '\"', '%', '\\' or line break "
        + "(Slurm reads the log paths of #SBATCH lines, where those mean something)")
    }
    if config.ingest.isEmpty { throw SlurmError.usage("\(config.file): no ingest entry, nothing to run on Slurm") }
    self.config = config
    self.partitions = partitions
    self.output = output
    self.work = work
    self.tagdata = tagdata
    self.options = options
    self.jobs = Self.chain(config: config, n: partitions, output: output, work: work, tagdata: tagdata,
                           toolVersion: toolVersion, options: options)
  }

  /// `a/./b/../c` → `a/c`, no trailing slash.
  static func normalized(_ path: String) -> String {
    var parts: [Substring] = []
    for c in path.split(separator: "/", omittingEmptySubsequences: true) {
      if c == "." { continue }
      if c == ".." {
        if !parts.isEmpty { parts.removeLast() }
        continue
      }
      parts.append(c)
    }
    return "/" + parts.joined(separator: "/")
  }

  /// A path or word quoted for bash (single quotes; a quote inside as `'\''`).
  public static func quote(_ s: String) -> String {
    if !s.isEmpty && s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+=:,@".contains($0)) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// A value in an `#SBATCH` line: in double quotes when it has blanks (Slurm's own reading).
  static func sbatchValue(_ s: String) -> String { s.contains(where: \.isWhitespace) ? "\"" + s + "\"" : s }

  /// A name Slurm and file names take as is: letters, digits, `.`, `_`, `-`.
  static func safeName(_ s: String) -> String {
    String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "_" })
  }

  /// What a file is known by in a key: its path, size and modification time (nanoseconds); a
  /// missing file by its path alone. Stat only: the submission host does not read the dumps.
  static func identity(_ path: String) -> String {
    var st = stat()
    guard stat(path, &st) == 0 else { return "\(path)\tmissing" }
    return "\(path)\t\(st.st_size)\t\(Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))"
  }

  /// The arguments of `tagdata build` for a build entry (without catalog, partition and out).
  static func buildArguments(_ b: PipelineConfig.Build) -> [String] {
    var a: [String] = []
    if let c = b.config { a += ["--config", c] } else { a += ["--preset", b.preset ?? "tag-llm"] }
    if let t = b.tasks { a += ["--tasks", t.joined(separator: ",")] }
    if let s = b.split { a += ["--split", s.rawValue] }
    if let s = b.seed { a += ["--seed", String(s)] }
    if let x = b.ablation { a += ["--ablation", x.rawValue] }
    a += ["--shards", String(b.shards)]
    for (lang, path) in b.texts { a += ["--text", lang + "=" + path] }
    return a
  }

  /// The arguments of `tagdata ingest` for an ingest entry (without catalog and partition).
  static func ingestArguments(_ e: PipelineConfig.Ingest, files: [String]) -> [String] {
    var a: [String] = []
    if let p = e.preset { a += ["--preset", p] }
    if let c = e.columns { a += ["--columns", c] }
    return a + ["--"] + files
  }

  static func chain(config: PipelineConfig, n: Int, output: String, work: String, tagdata: String, toolVersion: String,
                    options: SlurmOptions) -> [Job]
  {
    let q = quote
    let header = "tagdata slurm \(toolVersion)\npartitions=\(n)\ntagdata=\(tagdata)\n"
    var jobs: [Job] = []

    /// The script's head (up to the array line) and tail.
    func script(name: String, array: Bool, log: String, body: String) -> (String, String) {
      var h = "#!/bin/bash\n"
      h += "# Written by tagdata slurm (\(toolVersion)) from \(config.file); submitted again by `tagdata slurm`.\n"
      h += "#SBATCH --job-name=\(name)\n"
      var s = ""
      let pattern = array ? "%A_%a" : "%j"
      s += "#SBATCH --output=\(sbatchValue(work + "/logs/" + log + "-" + pattern + ".out"))\n"
      s += "#SBATCH --error=\(sbatchValue(work + "/logs/" + log + "-" + pattern + ".err"))\n"
      for line in options.lines() { s += "#SBATCH \(line)\n" }
      s += "set -euo pipefail\n\n"
      s += "tagdata=\(q(tagdata))\n"
      return (h, s + body)
    }
    /// The marker written last: the key, through a temporary file and a rename.
    func finish(_ marker: String) -> String {
      "\n# Done: the marker, last and only on success.\nprintf '%s\\n' \"$key\" > \(marker).tmp\nmv -f \(marker).tmp \(marker)\n"
    }
    let taskLine = "k=${SLURM_ARRAY_TASK_ID:?this script runs as a task of a Slurm array}\n"
    /// An array whose task K runs `command` (a tagdata command line, quoted) with
    /// `--partition K/N --out FOLDER/part-K`; done when the part's `partition.json` exists.
    func partitionArray(_ kind: Kind, name: String, folder: String, after: String?, key: String, command: String) -> Job {
      let slug = kind.rawValue + "-" + safeName(name)
      return Job(
        id: kind.rawValue + ":" + name, kind: kind, slurmName: "tagdata-" + slug, scriptName: slug + ".sh", after: after,
        isArray: true, key: key, markers: (0..<n).map { "\(folder)/part-\($0).done" },
        outputs: (0..<n).map { "\(folder)/part-\($0)/partition.json" },
        script: {
          var b = "work=\(q(folder))\nkey=\(key)\n" + taskLine + "done=\"$work/part-$k.done\"\n"
          b += "rm -f \"$done\"\nmkdir -p \"$work\"\n"
          b += "\"$tagdata\" " + command + " --partition \"$k/\(n)\" --out \"$work/part-$k\"\n"
          b += finish("\"$done\"")
          return script(name: "tagdata-" + slug, array: true, log: slug, body: b)
        }())
    }
    /// The merge of an array's parts (`tagdata export --merge`) into `out`, done when `outputFile` is there.
    func exportMerge(_ kind: Kind, name: String, folder: String, after: String, key: String, out: String, parent: String,
                     outputFile: String) -> Job
    {
      let slug = kind.rawValue + "-" + safeName(name)
      let marker = folder + "/merge.done"
      return Job(
        id: kind.rawValue + ":" + name, kind: kind, slurmName: "tagdata-" + slug, scriptName: slug + ".sh", after: after,
        isArray: false, key: key, markers: [marker], outputs: [out + "/" + outputFile],
        script: {
          var b = "key=\(key)\ndone=\(q(marker))\nrm -f \"$done\"\nmkdir -p \(q(parent))\n"
          b += "\"$tagdata\" export --merge --out \(q(out)) " + (0..<n).map { q("\(folder)/part-\($0)") }.joined(separator: " ") + "\n"
          b += finish("\"$done\"")
          return script(name: "tagdata-" + slug, array: false, log: slug, body: b)
        }())
    }

    // Ingest: every entry in order into the partition's catalog.
    let entries = config.ingest.map { ($0, config.inputs(of: $0)) }
    var ingestText = header + "ingest\n"
    var commands = ""
    for (e, files) in entries {
      let args = ["--catalog", "$part", "--partition", "$k/\(n)", "--quiet"] + ingestArguments(e, files: files)
      ingestText += args.joined(separator: " ") + "\n"
      for f in files { ingestText += identity(f) + "\n" }
      commands += "\"$tagdata\" ingest --catalog \"$part\" --partition \"$k/\(n)\" --quiet "
        + ingestArguments(e, files: files).map(q).joined(separator: " ") + "\n"
    }
    let ingestKey = Fingerprints.hash(ingestText)
    /// The head of an array task that makes SQLite part `$k` in `folder`: its marker removed, and
    /// the part removed too when it was begun under another key (`why` says so in the script).
    func sqlitePart(_ folder: String, _ key: String, _ why: String) -> String {
      var b = "work=\(q(folder))\nkey=\(key)\n" + taskLine
      b += "part=\"$work/part-$k.sqlite\"\ndone=\"$work/part-$k.done\"\n"
      b += "rm -f \"$done\"\n"
      b += "# \(why)\n"
      b += "if [[ \"$(cat \"$work/part-$k.key\" 2>/dev/null || true)\" != \"$key\" ]]; then\n"
      b += "  rm -f \"$part\" \"$part-wal\" \"$part-shm\"\n"
      b += "  printf '%s\\n' \"$key\" > \"$work/part-$k.key\"\nfi\n\n"
      return b
    }
    let ingestFolder = work + "/ingest"
    let parts = (0..<n).map { "\(ingestFolder)/part-\($0).sqlite" }
    jobs.append(
      Job(
        id: "ingest", kind: .ingest, slurmName: "tagdata-ingest", scriptName: "ingest.sh", after: nil, isArray: true, key: ingestKey,
        markers: (0..<n).map { "\(ingestFolder)/part-\($0).done" }, outputs: parts,
        script: {
          var b = sqlitePart(ingestFolder, ingestKey, "A catalog begun with these inputs and options resumes; one from others starts afresh.")
          b += commands
          b += finish("\"$done\"")
          return script(name: "tagdata-ingest", array: true, log: "ingest", body: b)
        }()))

    // Catalog merge, then the configuration's descriptors.
    let catalog = output + "/" + config.catalog
    let catalogMarker = work + "/catalog.done"
    let mergeKey = Fingerprints.hash(header + "catalog-merge\n\(ingestKey)\n\(catalog)\n")
    jobs.append(
      Job(
        id: "catalog-merge", kind: .catalogMerge, slurmName: "tagdata-catalog-merge", scriptName: "catalog-merge.sh", after: "ingest",
        isArray: false, key: mergeKey, markers: [catalogMarker], outputs: [catalog],
        script: {
          var b = "key=\(mergeKey)\nout=\(q(catalog))\ntmp=\(q(catalog + ".merging"))\ndone=\(q(catalogMarker))\n"
          b += "rm -f \"$done\" \"$tmp\" \"$tmp-wal\" \"$tmp-shm\"\n"
          b += "mkdir -p \(q(output))\n"
          b += "\"$tagdata\" catalog merge --out \"$tmp\" " + parts.map(q).joined(separator: " ") + "\n"
          b += "rm -f \"$out-wal\" \"$out-shm\"\nmv -f \"$tmp\" \"$out\"\n"
          b += finish("\"$done\"")
          return script(name: "tagdata-catalog-merge", array: false, log: "catalog-merge", body: b)
        }()))

    // The configuration's descriptors: an array of labels parts, then their merge into the catalog
    // (in place: merging a part again changes nothing, so a killed merge is simply run again).
    var catalogJob = "catalog-merge", catalogKey = mergeKey
    if !config.describe.isEmpty {
      let labelsFolder = work + "/labels"
      let descriptors = config.describe.joined(separator: ",")
      let describeKey = Fingerprints.hash(header + "describe\n\(mergeKey)\n\(descriptors)\n")
      let labelParts = (0..<n).map { "\(labelsFolder)/part-\($0).sqlite" }
      jobs.append(
        Job(
          id: "describe", kind: .describe, slurmName: "tagdata-describe", scriptName: "describe.sh", after: "catalog-merge",
          isArray: true, key: describeKey, markers: (0..<n).map { "\(labelsFolder)/part-\($0).done" }, outputs: labelParts,
          script: {
            var b = sqlitePart(labelsFolder, describeKey, "A part begun for this catalog and these descriptors resumes; one from others starts afresh.")
            b += "\"$tagdata\" describe --quiet --catalog \(q(catalog)) --descriptors \(q(descriptors)) --partition \"$k/\(n)\" --out \"$part\"\n"
            b += finish("\"$done\"")
            return script(name: "tagdata-describe", array: true, log: "describe", body: b)
          }()))
      let labelsKey = Fingerprints.hash(header + "labels-merge\n\(describeKey)\n\(catalog)\n")
      let labelsMarker = work + "/labels.done"
      jobs.append(
        Job(
          id: "labels-merge", kind: .labelsMerge, slurmName: "tagdata-labels-merge", scriptName: "labels-merge.sh", after: "describe",
          isArray: false, key: labelsKey, markers: [labelsMarker], outputs: [catalog],
          script: {
            var b = "key=\(labelsKey)\ndone=\(q(labelsMarker))\nrm -f \"$done\"\n"
            b += "\"$tagdata\" catalog merge --out \(q(catalog)) " + labelParts.map(q).joined(separator: " ") + "\n"
            b += finish("\"$done\"")
            return script(name: "tagdata-labels-merge", array: false, log: "labels-merge", body: b)
          }()))
      catalogJob = "labels-merge"
      catalogKey = labelsKey
    }

    // Per build: the array of partial builds, then their merge.
    var buildMergeKeys: [String: String] = [:]
    for build in config.builds {
      let folder = work + "/builds/" + build.name
      let args = buildArguments(build)
      var text = header + "build \(build.name)\n\(catalogKey)\n" + args.joined(separator: "\u{1F}") + "\n"
      for path in [build.config].compactMap({ $0 }) + build.texts.map(\.path) { text += identity(path) + "\n" }
      let buildKey = Fingerprints.hash(text)
      jobs.append(partitionArray(.build, name: build.name, folder: folder, after: catalogJob, key: buildKey,
                                 command: "build --quiet --catalog \(q(catalog)) " + args.map(q).joined(separator: " ")))
      let out = output + "/builds/" + build.name
      let exportKey = Fingerprints.hash(header + "build-merge \(build.name)\n\(buildKey)\n\(out)\n")
      buildMergeKeys[build.name] = exportKey
      jobs.append(exportMerge(.buildMerge, name: build.name, folder: folder, after: "build:" + build.name, key: exportKey,
                              out: out, parent: output + "/builds", outputFile: "manifest.json"))
    }

    // Per tokenized export: the array of partial datasets (build shards K modulo N), then their merge.
    for t in config.tokenize {
      let folder = work + "/tokens/" + t.name
      let build = output + "/builds/" + t.build
      var args = ["--tokenized", build]
      if let tokenizer = t.tokenizer { args += ["--tokenizer", tokenizer] }
      if t.smilesTokens { args.append("--smiles-tokens") }
      if t.smilesMinimumCount != 1 { args += ["--smiles-min-count", String(t.smilesMinimumCount)] }
      if t.residueTokens { args.append("--residue-tokens") }
      if t.regressionAsText { args.append("--regression-as-text") }
      var text = header + "tokenize \(t.name)\n\(buildMergeKeys[t.build] ?? "")\n" + args.joined(separator: "\u{1F}") + "\n"
      if let tokenizer = t.tokenizer {
        for path in [tokenizer, tokenizer + "/tokenizer.json", tokenizer + "/tokenizer_config.json"] { text += identity(path) + "\n" }
      }
      let tokenizeKey = Fingerprints.hash(text)
      jobs.append(partitionArray(.tokenize, name: t.name, folder: folder, after: "build-merge:" + t.build, key: tokenizeKey,
                                 command: "export --quiet " + args.map(q).joined(separator: " ")))
      let out = output + "/tokens/" + t.name
      let mergeKey = Fingerprints.hash(header + "tokenize-merge \(t.name)\n\(tokenizeKey)\n\(out)\n")
      jobs.append(exportMerge(.tokenizeMerge, name: t.name, folder: folder, after: "tokenize:" + t.name, key: mergeKey,
                              out: out, parent: output + "/tokens", outputFile: "dataset.json"))
    }
    return jobs
  }
}

/// What a submission would run: per job, the tasks (partitions) whose marker is missing or
/// stale or whose output is gone; a job after one that runs again runs whole.
public struct SlurmWork: Sendable, Equatable {
  public struct Item: Sendable, Equatable {
    public var id: String
    /// Array jobs: the partitions to run, ascending; single jobs: `[0]`.
    public var tasks: [Int]
  }

  /// The jobs that have work, in chain order.
  public var items: [Item]
  /// The jobs that are complete.
  public var complete: [String]

  public var isEmpty: Bool { items.isEmpty }

  /// Reads the markers. A task is done when its marker holds the job's key and its output
  /// exists; a job whose upstream job runs (any task) runs all its tasks.
  public static func pending(_ plan: SlurmPlan) -> SlurmWork {
    var items: [Item] = []
    var complete: [String] = []
    var running: Set<String> = []
    for job in plan.jobs {
      var tasks: [Int] = []
      let upstreamRuns = job.after.map { running.contains($0) } ?? false
      for k in job.markers.indices {
        if upstreamRuns || !isDone(marker: job.markers[k], key: job.key, output: job.outputs[k]) { tasks.append(k) }
      }
      if tasks.isEmpty {
        complete.append(job.id)
      } else {
        running.insert(job.id)
        items.append(Item(id: job.id, tasks: tasks))
      }
    }
    return SlurmWork(items: items, complete: complete)
  }

  static func isDone(marker: String, key: String, output: String) -> Bool {
    guard let data = FileManager.default.contents(atPath: marker) else { return false }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return text == key && FileManager.default.fileExists(atPath: output)
  }

  /// `0-3` for a whole range, else `1,3,5-7`.
  public static func arraySpec(_ tasks: [Int]) -> String {
    var out: [String] = []
    var i = 0
    while i < tasks.count {
      var j = i
      while j + 1 < tasks.count && tasks[j + 1] == tasks[j] + 1 { j += 1 }
      out.append(i == j ? "\(tasks[i])" : "\(tasks[i])-\(tasks[j])")
      i = j + 1
    }
    return out.joined(separator: ",")
  }
}
