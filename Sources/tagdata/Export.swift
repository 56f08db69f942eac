import ArgumentParser
import Foundation
import TagdataIngest
import TagdataIO
import TagdataTasks

#if canImport(Glibc)
import Glibc
#endif

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export a build as tokenized shards for the trainer (--tokenized), or merge a partitioned build (--merge).",
    discussion: """
      Reads a build (tagdata build --out DIR) and writes one token shard per build shard \
      (Schemas/training-data.schema.json, version 2): NAME.tokens.bin (ids, uint16 when the \
      vocabulary fits, else uint32), NAME.offsets.bin (uint64), NAME.loss_mask.bin (uint8), \
      NAME.examples.jsonl (task, split, key, regression head, position and exact target) and \
      dataset.json (the vocabulary's ranges, tag ids, counts per task and split, SHA-256 of every \
      file, the build's manifest hash). numpy reads them with np.fromfile.

      One vocabulary, disjoint id ranges: the text tokenizer's ids (a base model's tokenizer.json \
      with --tokenizer, else the byte tokenizer), then the tags (each tag's p virtual tokens, in \
      the build's tag registry order: Tag-LLM's <TAG i> is id text-size + i), then, with \
      --smiles-tokens, atom-level SMILES tokens (from the training split), and with \
      --residue-tokens one token per residue. Without them SMILES and sequences are text, as in \
      Tag-LLM, and the ids equal the Hugging Face tokenizer's on the formulation with each tag \
      written as its <TAG i> tokens (tagdata tokenize export-hf writes that tokenizer).

      Generation records (stage 1, Translate) are next-token targets on every token but tags \
      and BOS, ended by EOS. Regression records end before their label; the regression head \
      reads the last virtual token of the function tag, and the target is the exact value. With \
      --regression-as-text they are generation records instead (Tag-LLM's text formulation): the \
      label string (as the build wrote it, 0.1234) and what follows it are the next-token targets, \
      the tokens before it the prompt, and the exact value stays beside them (numberTarget) for \
      tagdata eval to compare the decoded number with. A generation record with an output \
      (Translate) records where the output begins (outputStart). OUT is replaced as a whole, atomically; the same build and options give the same bytes.

      Examples:
        tagdata export --tokenized build/tag-llm --out tokens/tag-llm
        tagdata export --tokenized build/tag-llm --tokenizer SmolLM2-135M/tokenizer.json --out tokens/smollm
        tagdata export --tokenized build/tag-llm --smiles-tokens --residue-tokens --out tokens/domain
        tagdata export --tokenized build/tag-llm --regression-as-text --out tokens/tag-llm-text

      --merge PART... combines the partial builds of tagdata build --partition i/N (every i of one \
      build, in any order) into one build directory, byte for byte the one tagdata build writes \
      without partitions: each shard's records merged by their sort keys (an example two \
      partitions made is kept once, as one build keeps it), the leakage report made in the order \
      of one build, and the counts and rejections combined. It refuses partitions of different \
      configurations, catalogs, shard counts or tool versions, a missing or repeated index, and \
      a partition without its partition.json (unfinished or killed: build it again) (exit 74).
        tagdata export --merge --out build/tag-llm parts/0 parts/1 parts/2 parts/3

      --tokenized BUILD --partition i/N tokenizes the build shards whose number is i modulo N \
      (with the vocabulary of the whole build) into a partial dataset; --merge makes of the N \
      the dataset one process writes, byte for byte (the shards linked or copied, checked \
      against their SHA-256).
        tagdata export --tokenized build/tag-llm --partition 0/2 --out tokens-parts/0
        tagdata export --merge --out tokens/tag-llm tokens-parts/0 tokens-parts/1
      """)

  @Option(help: ArgumentHelp("The build to tokenize (the --out of tagdata build).", valueName: "build-dir"))
  var tokenized: String?

  @Flag(help: "Merge the partial builds (tagdata build --partition) or partial token datasets (tagdata export --tokenized --partition) given as arguments into --out.")
  var merge = false

  @Option(help: ArgumentHelp("With --tokenized: tokenize only the build shards whose number is i modulo N, into a partial dataset; merge the N with --merge.",
                             valueName: "i/N"))
  var partition: String?

  @Argument(help: ArgumentHelp("With --merge: the partial directories, one per partition.", valueName: "part"))
  var parts: [String] = []

  @Option(help: ArgumentHelp("Where the token shards go (replaced atomically).", valueName: "dir"))
  var out: String

  @Option(help: ArgumentHelp("A base model's Hugging Face tokenizer.json for text (default: the byte tokenizer).",
                             valueName: "file"))
  var tokenizer: String?

  @Option(help: ArgumentHelp("The BOS token put first in every example (default: tokenizer_config.json's, when it adds one).",
                             valueName: "token"))
  var bos: String?

  @Option(help: ArgumentHelp("The EOS token that ends generation examples (default: tokenizer_config.json's, or </s>, <|endoftext|>, ...).",
                             valueName: "token"))
  var eos: String?

  @Flag(help: "Tokenize SMILES atom by atom in a range of their own.")
  var smilesTokens = false

  @Option(help: ArgumentHelp("With --smiles-tokens: a SMILES token needs this many occurrences in the training split to get an id.",
                             valueName: "n"))
  var smilesMinCount = 1

  @Flag(help: "Tokenize protein sequences one residue per token in a range of their own.")
  var residueTokens = false

  @Flag(help: ArgumentHelp("Write regression records as generation records (number as text): the label string is the output "
                           + "to decode, the exact target is kept for tagdata eval, no head reads them."))
  var regressionAsText = false

  @Flag(help: "Print a JSON summary on standard output.")
  var json = false

  @Flag(help: "No progress line, even on a terminal.")
  var quiet = false

  func validate() throws {
    if smilesMinCount < 1 { throw ValidationError("--smiles-min-count must be at least 1") }
    if merge {
      if tokenized != nil { throw ValidationError("--merge and --tokenized exclude each other") }
      if partition != nil { throw ValidationError("--merge and --partition exclude each other") }
      if parts.isEmpty { throw ValidationError("--merge needs the partial build directories as arguments") }
    } else {
      if tokenized == nil { throw ValidationError("give --tokenized BUILD (or --merge PART...)") }
      if !parts.isEmpty { throw ValidationError("unexpected arguments \(parts.joined(separator: " ")) (only --merge takes directories)") }
      if let partition {
        do { _ = try PartitionSpec(parsing: partition) } catch { throw ValidationError("--partition: \(error)") }
      }
    }
  }

  func run() throws {
    if merge { return try mergeParts() }
    let tokenized = self.tokenized!
    var options = try TokenizedExport.Options.load(tokenizer: tokenizer, bos: bos, eos: eos)
    options.smilesTokens = smilesTokens
    options.smilesMinimumCount = smilesMinCount
    options.residueTokens = residueTokens
    options.regressionAsText = regressionAsText
    options.toolVersion = tagdataVersion
    let tty = isatty(2) == 1 && !quiet
    let summary: TokenizedExport.Summary
    do {
      let part = try partition.map { try PartitionSpec(parsing: $0) }
      summary = try TokenizedExport.run(build: tokenized, out: out, options: options,
                                        partition: part.map { ($0.index, $0.count) }) { n in
        if tty { writeFD(2, "\r\u{1B}[Kexamples: \(n)") }
      }
    } catch {
      if tty { writeFD(2, "\r\u{1B}[K") }
      throw error
    }
    if tty { writeFD(2, "\r\u{1B}[K") }
    let m = summary.manifest
    for (task, splits) in m.counts.sorted(by: { $0.key < $1.key }) {
      warn("\(task): " + ["train", "valid", "test"].map { "\($0) \(splits[$0] ?? 0)" }.joined(separator: ", "))
    }
    let unknown = m.unknown.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
    warn("\(out): \(m.examples) examples, \(m.tokens) tokens (\(m.tokenType)) in \(m.shards.count) shards; vocabulary "
      + "\(m.vocabulary.size) (text \(m.vocabulary.textSize), tags \(m.tags.values.reduce(0) { $0 + $1.count })"
      + (m.vocabulary.smiles.map { ", SMILES \($0.tokens.count)" } ?? "") + (m.vocabulary.residues.map { ", residues \($0.tokens.count)" } ?? "")
      + ")" + (unknown.isEmpty ? "" : "; unknown: " + unknown.joined(separator: ", ")))
    if json {
      let counts = m.counts.sorted { $0.key < $1.key }.map { t, s in
        "\(JSONString.quoted(t)):{" + s.sorted { $0.key < $1.key }.map { "\(JSONString.quoted($0.key)):\($0.value)" }.joined(separator: ",") + "}"
      }
      writeOut("{\"out\":\(JSONString.quoted(out)),\"examples\":\(m.examples),\"tokens\":\(m.tokens),\"tokenType\":\"\(m.tokenType)\","
        + "\"vocabularySize\":\(m.vocabulary.size),\"textSize\":\(m.vocabulary.textSize),\"shards\":\(m.shards.count),"
        + "\"unknown\":{\"smiles\":\(m.unknown["smiles"] ?? 0),\"residues\":\(m.unknown["residues"] ?? 0)},"
        + "\"counts\":{\(counts.joined(separator: ","))},\"seconds\":\(String(format: "%.3f", summary.seconds))}\n")
    }
  }
}

extension Export {
  func mergeParts() throws {
    // One kind of partition: a build's and a tokenized export's are not merged together.
    // (its kind: the format without its version, which the merge checks).
    let formats = parts.map { TokenizedExport.partitionFormat($0) }
    func kind(_ f: String) -> Substring { f.split(separator: "/").first ?? Substring(f) }
    if let first = formats[0], let k = formats.firstIndex(where: { $0 != nil && kind($0!) != kind(first) }) {
      warn("tagdata: \(parts[k]): is a partition of another kind (\(formats[k]!)) than \(parts[0]) (\(first)): "
        + "merge the partitions of one build, or of one tokenized export")
      throw ExitCode(74)
    }
    if formats[0] == TokenizedExport.TokensPartial.format {
      let s = try TokenizedExport.merge(parts: parts, out: out)
      warn("\(out): \(s.manifest.examples) examples, \(s.manifest.tokens) tokens in \(s.manifest.shards.count) shards, "
        + "merged from \(parts.count) partitions")
      if json {
        writeOut("{\"out\":\(JSONString.quoted(out)),\"examples\":\(s.manifest.examples),\"tokens\":\(s.manifest.tokens),"
          + "\"shards\":\(s.manifest.shards.count),\"partitions\":\(parts.count)}\n")
      }
      return
    }
    let tty = isatty(2) == 1 && !quiet
    let summary: ShardExport.Summary
    do {
      summary = try BuildPartial.merge(parts: parts, out: out) { n in
        if tty { writeFD(2, "\r\u{1B}[Krecords: \(n)") }
      }
    } catch {
      if tty { writeFD(2, "\r\u{1B}[K") }
      throw error
    }
    if tty { writeFD(2, "\r\u{1B}[K") }
    let total = summary.shardRecords.reduce(0, +)
    for r in summary.reports {
      let c = summary.counts[r.task] ?? ShardExport.Counts()
      warn("\(r.task) (stage \(r.stage)): \(c.total) examples (train \(c.train), valid \(c.valid), test \(c.test))"
        + (r.skipped.map { " - skipped: \($0)" } ?? ""))
    }
    warn("\(out): \(total) records in \(summary.shardRecords.count) shards, merged from \(parts.count) partitions")
    if json {
      writeOut("{\"out\":\(JSONString.quoted(out)),\"records\":\(total),\"shards\":\(summary.shardRecords.count),"
        + "\"partitions\":\(parts.count)}\n")
    }
  }
}
