import ArgumentParser
import Foundation
import TagdataCatalog
import TagdataChem
import TagdataIngest
import TagdataIO
import TagdataTasks

#if canImport(Glibc)
import Glibc
#endif

extension TagLLM.Ablation: ExpressibleByArgument {}

struct Build: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Build training sets from a catalog (Tag-LLM's stages and tasks) as sharded JSON Lines.",
    discussion: """
      --preset tag-llm (the default) builds Tag-LLM's eight tasks from one catalog: stage 1 Protein (sequences \
      of at most 512 residues, space-joined), SMILES (canonical SMILES of at most 512 characters), \
      Language (each side of the parallel-text rows, with its language tag); stage 2 QED and \
      Descriptor (BLOSUM1), from the labels stored by tagdata describe --catalog, computed when \
      missing; stage 3 BA (tdc-dti rows), DC (tdc-drugcomb rows, Y scaled by 0.1) and Translate \
      (parallel-text rows, both directions). Prompts are Tag-LLM's templates byte for byte; labels \
      are its label strings (str(value)[:6], padded with 0), the exact value is kept as target. A \
      task the catalog cannot feed is reported with 0 examples and the reason.

      Output: DIR/shard-NNNNN-of-NNNNN.jsonl (one record per line, Schemas/task-record.schema.json; \
      .jsonl.gz with --gzip) \
      and DIR/manifest.json (counts per task, split and shard, SHA-256 of each shard, the options \
      and their hash, the catalog's content hash, the tags), and DIR/leakage.json and leakage.md: \
      per task, what the splits share (molecules, Bemis-Murcko scaffolds, proteins, sequences of \
      90% identity or more), with the pairs. --split scaffold, cold-drug or cold-target assigns \
      whole groups (a scaffold, a drug and every drug it is combined with, a protein) to one split. An example's shard and split follow \
      from its content alone: the same catalog and options give byte-identical files, and new \
      catalog rows leave existing examples where they were. DIR is replaced as a whole, atomically.

      --config FILE builds a task configuration of your own (YAML; Schemas/task-config.schema.json): \
      tags, and tasks drawn from the catalog's molecules or proteins, an ingested table, aggregated \
      BindingDB measurements or a plain text file, each with its template, label (a descriptor, a \
      column, the measurement) and filters. --print-config prints the preset in that form. A \
      configuration is checked whole before any work: each problem names the key and the line, \
      and a tag, descriptor, field or column that does not exist is an error (exit 78). \
      --split temporal splits by year (train/valid 2013-2018, test 2019-2021, as TDC's \
      BindingDB_Patent); with the preset it reads BA from the tdc-dti-patent table.

      Examples:
        tagdata build --preset tag-llm --catalog tagdata.sqlite --out build/tag-llm --shards 8
        tagdata build --catalog tagdata.sqlite --out build/ba-temporal --split temporal --tasks BA
        tagdata build --print-config > tasks.yaml     # edit, then:
        tagdata build --config tasks.yaml --catalog tagdata.sqlite --out build/mine
        tagdata build --catalog tagdata.sqlite --out build/lang --tasks Language --text DE=notes-de.txt

      On a cluster, --partition i/N builds one of N partitions (every N-th source unit of each \
      task: a molecule, a protein, a table row, a measurement, a line of text) into a partial \
      build directory, and tagdata export --merge makes of the N of them the build one process \
      writes, byte for byte (tagdata slurm runs both as Slurm jobs). A partition's directory is \
      finished when its partition.json exists. Group splits (scaffold, cold-*, temporal) need \
      every example's keys: each partition reads them all first, then makes its own examples.
        for i in 0 1 2 3; do tagdata build --catalog tagdata.sqlite --partition $i/4 --out parts/$i; done
        tagdata export --merge --out build/tag-llm parts/0 parts/1 parts/2 parts/3
      """)

  @Option(help: ArgumentHelp("The build preset: tag-llm (Tag-LLM's eight tasks), unless --config is given.",
                             valueName: "name"))
  var preset = "tag-llm"

  @Option(help: ArgumentHelp("A task configuration (YAML, or JSON for a .json name; Schemas/task-config.schema.json). "
                               + "--print-config prints the preset in this form, a start for your own.",
                             valueName: "file"))
  var config: String?

  @Flag(help: "Print the configuration that would be built (the preset, or --config with the options applied) as YAML, and stop.")
  var printConfig = false

  @Option(name: .long, help: ArgumentHelp("The catalog file (SQLite).", valueName: "path"))
  var catalog = "tagdata.sqlite"

  @Option(help: ArgumentHelp("The output directory (replaced).", valueName: "dir"))
  var out: String?

  @Option(help: "Number of shards.")
  var shards = 4

  @Option(help: ArgumentHelp("Which tags the prompts keep: both, no-domain, no-function, none (overrides the configuration).",
                             valueName: "tags"))
  var ablation: TagLLM.Ablation?

  @Option(help: ArgumentHelp("Build only these tasks (comma-separated names, any case). Default: all of the configuration.",
                             valueName: "names"))
  var tasks: String?

  @Option(help: "Seed of the split (overrides the configuration; default 42).")
  var seed: UInt64?

  @Option(help: ArgumentHelp("How examples are split (overrides the configuration): random (by content), scaffold (no "
                               + "Bemis-Murcko scaffold in two splits), cold-drug (no molecule in two splits), cold-target (no "
                               + "protein in two splits), temporal (by year: train/valid 2013-2018, test 2019-2021 unless "
                               + "configured; needs tasks with a year field).",
                             valueName: "kind"))
  var split: String?

  @Option(help: ArgumentHelp("Stage 1 Language from a plain text file too (one example per non-blank line): "
                               + "LANG=PATH, e.g. EN=notes.txt; repeatable.", valueName: "lang=path"))
  var text: [String] = []

  @Option(help: ArgumentHelp("Build partition i of N (0 <= i < N) into a partial build; merge the N with tagdata export --merge.",
                             valueName: "i/N"))
  var partition: String?

  @Flag(help: "Write the shards gzip-compressed (.jsonl.gz).")
  var gzip = false

  @Flag(help: "Print a JSON summary on standard output.")
  var json = false

  @Flag(help: "No progress line, even on a terminal.")
  var quiet = false

  func validate() throws {
    if config == nil && preset != "tag-llm" { throw ValidationError("unknown preset '\(preset)' (known: tag-llm)") }
    // One spill file per shard is open during the build: stay well under the usual limit of 1024 descriptors.
    if shards < 1 || shards > 900 { throw ValidationError("--shards must be between 1 and 900") }
    if out == nil && !printConfig { throw ValidationError("--out is required") }
    if let split, SplitKind(rawValue: split) == nil {
      throw ValidationError("unknown split '\(split)' (known: \(SplitKind.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    for t in text where !t.contains("=") { throw ValidationError("--text takes LANG=PATH (got '\(t)')") }
    if let partition {
      do { _ = try PartitionSpec(parsing: partition) } catch { throw ValidationError("--partition: \(error)") }
    }
  }

  /// The configuration to build: the preset or the file, with the command line's options applied.
  func effectiveConfig() throws -> TaskConfig {
    let c = try config.map { try TaskConfig.load(path: $0) } ?? TaskConfig.tagLLM
    var o = BuildOverrides()
    o.ablation = ablation
    o.seed = seed
    o.split = split.flatMap(SplitKind.init(rawValue:))
    o.texts = text.map { t in
      let eq = t.firstIndex(of: "=")!
      return (String(t[..<eq]), String(t[t.index(after: eq)...]))
    }
    o.tasks = tasks.map { $0.split(separator: ",").map(String.init) }
    do {
      return try c.applying(o, file: config)
    } catch let p as BuildOverrides.Problem {
      throw ValidationError(p.description)
    }
  }

  func run() throws {
    let taskConfig = try effectiveConfig()
    if printConfig {
      writeOut(taskConfig.yaml)
      return
    }
    let out = self.out!
    let cat = try Catalog(path: catalog, readOnly: true)
    let plan = try taskConfig.compile(for: cat, file: config)
    let tty = isatty(2) == 1 && !quiet
    let part = try partition.map { try PartitionSpec(parsing: $0) }
    let summary: ShardExport.Summary
    do {
      summary = try ShardExport.export(cat, plan: plan, shards: shards, out: out, toolVersion: tagdataVersion,
                                       gzip: gzip, partition: part.map { ($0.index, $0.count) }) { n in
        if tty { writeFD(2, "\r\u{1B}[Kexamples: \(n)") }
      }
    } catch {
      if tty { writeFD(2, "\r\u{1B}[K") }
      throw error
    }
    if tty { writeFD(2, "\r\u{1B}[K") }
    for r in summary.reports {
      let c = summary.counts[r.task] ?? ShardExport.Counts()
      var line = "\(r.task) (stage \(r.stage)): \(c.total) examples (train \(c.train), valid \(c.valid), "
        + "test \(c.test))"
      if let d = summary.duplicates[r.task], d > 0 { line += ", \(d) repeats dropped" }
      for (why, n) in r.rejected.sorted(by: { $0.key < $1.key }) { line += ", \(n) rejected: \(why)" }
      if r.labelsOff > 0 { line += ", \(r.labelsOff) label strings more than 1% off their value (kept as target)" }
      if let s = r.skipped { line += " - skipped: \(s)" }
      warn(line)
      for f in r.firstRejections { warn("  rejected: \(f)") }
    }
    warn("\(out): \(summary.shardRecords.reduce(0, +)) records in \(shards) shards"
      + (part.map { " (partition \($0); tagdata export --merge combines the \($0.count))" } ?? ""))
    if summary.shardRecords.reduce(0, +) == 0 { warn("no task gave an example: nothing usable in the catalog for this configuration") }
    if let g = try? cat.moleculeGroupCounts(version: MoleculeGroups.version), g.missing > 0, !quiet {
      warn("note: \(g.missing) molecules of the catalog have no stored parent and scaffold: a build that needs "
        + "them works them out; `tagdata catalog groups --catalog \(catalog)` stores them once for every build")
    }
    if json {
      let tasks = summary.reports.map { r in
        let c = summary.counts[r.task] ?? ShardExport.Counts()
        return "\(JSONString.quoted(r.task)):{\"stage\":\(r.stage),\"train\":\(c.train),\"valid\":\(c.valid),\"test\":\(c.test),"
          + "\"skipped\":\(r.skipped.map { JSONString.quoted($0) } ?? "null")}"
      }
      writeOut("{\"out\":\(JSONString.quoted(out)),\"records\":\(summary.shardRecords.reduce(0, +)),\"shards\":\(shards),"
        + "\"tasks\":{\(tasks.joined(separator: ","))}}\n")
    }
  }
}
