import ArgumentParser
import Foundation
import TagdataCatalog
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
      --preset tag-llm builds Tag-LLM's eight tasks from one catalog: stage 1 Protein (sequences \
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

      Example:
        tagdata build --preset tag-llm --catalog tagdata.sqlite --out build/tag-llm --shards 8
      """)

  @Option(help: ArgumentHelp("The build preset: tag-llm.", valueName: "name"))
  var preset = "tag-llm"

  @Option(name: .long, help: ArgumentHelp("The catalog file (SQLite).", valueName: "path"))
  var catalog = "tagdata.sqlite"

  @Option(help: ArgumentHelp("The output directory (replaced).", valueName: "dir"))
  var out: String

  @Option(help: "Number of shards.")
  var shards = 4

  @Option(help: ArgumentHelp("Which tags the prompts keep: both, no-domain, no-function, none.", valueName: "tags"))
  var ablation: TagLLM.Ablation = .both

  @Option(help: ArgumentHelp("Build only these tasks (comma-separated: Language, Protein, SMILES, Descriptor, QED, BA, DC, "
                               + "Translate; any case). Default: all.", valueName: "names"))
  var tasks: String?

  @Option(help: "Seed of the train/valid/test split (80/10/10).")
  var seed: UInt64 = 42

  @Option(help: ArgumentHelp("How examples are split: random (by content), scaffold (no Bemis-Murcko scaffold in two "
                               + "splits), cold-drug (no molecule in two splits), cold-target (no protein in two splits).",
                             valueName: "kind"))
  var split = "random"

  @Flag(help: "Write the shards gzip-compressed (.jsonl.gz).")
  var gzip = false

  @Flag(help: "Print a JSON summary on standard output.")
  var json = false

  @Flag(help: "No progress line, even on a terminal.")
  var quiet = false

  func validate() throws {
    if preset != "tag-llm" { throw ValidationError("unknown preset '\(preset)' (known: tag-llm)") }
    // One spill file per shard is open during the build: stay well under the usual limit of 1024 descriptors.
    if shards < 1 || shards > 900 { throw ValidationError("--shards must be between 1 and 900") }
    _ = try chosenTasks()
    _ = try splitKind()
  }

  func splitKind() throws -> SplitKind {
    guard let kind = SplitKind(rawValue: split) else {
      throw ValidationError("unknown split '\(split)' (known: random, scaffold, cold-drug, cold-target)")
    }
    if kind == .temporal {
      throw ValidationError("the temporal split needs years, and no task of the tag-llm preset carries one")
    }
    return kind
  }

  func chosenTasks() throws -> [TagLLM.Task] {
    guard let tasks else { return TagLLM.Task.allCases }
    var out: [TagLLM.Task] = []
    for part in tasks.split(separator: ",") {
      let name = part.trimmingCharacters(in: .whitespaces).lowercased()
      if name.isEmpty { continue }
      guard let t = TagLLM.Task.allCases.first(where: { $0.rawValue.lowercased() == name }) else {
        throw ValidationError("unknown task '\(part)' (known: \(TagLLM.Task.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      if !out.contains(t) { out.append(t) }
    }
    if out.isEmpty { throw ValidationError("--tasks names no task") }
    return out
  }

  func run() throws {
    let cat = try Catalog(path: catalog, readOnly: true)
    var options = StageBuildOptions()
    options.ablation = ablation
    options.seed = seed
    options.split = try splitKind()
    options.tasks = try chosenTasks()
    let tty = isatty(2) == 1 && !quiet
    let summary: ShardExport.Summary
    do {
      summary = try ShardExport.export(cat, options: options, shards: shards, out: out, toolVersion: tagdataVersion,
                                       gzip: gzip) { n in
        if tty { writeFD(2, "\r\u{1B}[Kexamples: \(n)") }
      }
    } catch {
      if tty { writeFD(2, "\r\u{1B}[K") }
      throw error
    }
    if tty { writeFD(2, "\r\u{1B}[K") }
    for r in summary.reports {
      let c = summary.counts[r.task] ?? ShardExport.Counts()
      var line = "\(r.task.rawValue) (stage \(r.task.stage)): \(c.total) examples (train \(c.train), valid \(c.valid), "
        + "test \(c.test))"
      if let d = summary.duplicates[r.task], d > 0 { line += ", \(d) repeats dropped" }
      for (why, n) in r.rejected.sorted(by: { $0.key < $1.key }) { line += ", \(n) rejected: \(why)" }
      if r.labelsOff > 0 { line += ", \(r.labelsOff) label strings more than 1% off their value (kept as target)" }
      if let s = r.skipped { line += " - skipped: \(s)" }
      warn(line)
    }
    warn("\(out): \(summary.shardRecords.reduce(0, +)) records in \(shards) shards")
    if json {
      let tasks = summary.reports.map { r in
        let c = summary.counts[r.task] ?? ShardExport.Counts()
        return "\"\(r.task.rawValue)\":{\"train\":\(c.train),\"valid\":\(c.valid),\"test\":\(c.test),"
          + "\"skipped\":\(r.skipped.map { JSONString.quoted($0) } ?? "null")}"
      }
      writeOut("{\"out\":\(JSONString.quoted(out)),\"records\":\(summary.shardRecords.reduce(0, +)),\"shards\":\(shards),"
        + "\"tasks\":{\(tasks.joined(separator: ","))}}\n")
    }
  }
}
