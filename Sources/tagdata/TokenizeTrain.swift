import ArgumentParser
import Foundation
import TagdataIO
import TagdataTokenizer

#if canImport(Glibc)
import Glibc
#endif

extension BPETrainer.PreTokenization: ExpressibleByArgument {}

/// `tagdata tokenize train`: a byte-level BPE tokenizer trained from text files, written as a
/// Hugging Face tokenizer.json.
struct TokenizeTrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a byte-level BPE tokenizer (GPT-2 style) on text and write it as a Hugging Face tokenizer.json.",
    discussion: """
      For when there is no base model whose tokenizer to reuse. Each line of each input is one \
      text (plain, gzip, bzip2 or zip, recognised from the content; `-` is standard input; a CRLF \
      ends a line like LF). Texts are split into words by GPT-2's pattern (--pre-tokenizer \
      llama3: LLaMA-3's), then the most frequent adjacent pair of symbols is merged, again and \
      again, until the vocabulary has --vocab-size tokens (special tokens and the 256 byte \
      symbols included) or no pair is seen --min-frequency times. Ties go to the pair of the \
      smallest ids: the result is the same as Hugging Face tokenizers' BpeTrainer with the \
      byte-level alphabet, and the same input and options give a byte-identical file.

      Any bytes are accepted: a byte that is not valid UTF-8 is a word of its own and is never \
      merged; the 256 byte symbols are always in the vocabulary, so every text encodes. Memory \
      grows with the number of distinct words, not with the input; --max-words bounds it (the \
      rarest words are dropped, counts become approximate), --max-bytes stops reading early.

      The output loads with tokenizers (Tokenizer.from_file), transformers \
      (PreTrainedTokenizerFast(tokenizer_file=...)) and tagdata's own tokenizer. Special tokens \
      get ids 0, 1, ... in the order given. The file is written whole or not at all (a temporary \
      file renamed into place). An input that cannot be read to the end (missing, truncated, \
      corrupt) is reported with the line it stopped after; the texts read before, and the other \
      inputs, are still trained on, and the exit code is 1.

      Examples:
        tagdata tokenize train corpus.txt --output tokenizer.json
        tagdata tokenize train notes.txt.gz smiles.smi --vocab-size 16000 --special '<|endoftext|>' --special '<SMILES>' --output tok.json
        zcat big.txt.gz | tagdata tokenize train - --max-words 2000000 --output tok.json --json
      """)

  @Argument(help: ArgumentHelp("Text files, one text per line; `-` for standard input.", valueName: "file"))
  var inputs: [String] = []

  @Option(help: ArgumentHelp("Tokens wanted, special tokens and the 256 byte symbols included.", valueName: "n"))
  var vocabSize = 8000

  @Option(help: ArgumentHelp("Merge only pairs seen at least this many times.", valueName: "n"))
  var minFrequency = 2

  @Option(name: .customLong("special"),
          help: ArgumentHelp("A special token (repeat for more; ids 0, 1, ... in this order). Default: <|endoftext|>.",
                             valueName: "token"))
  var specials: [String] = []

  @Flag(help: "No special token at all.")
  var noSpecial = false

  @Option(help: ArgumentHelp("Split pattern: gpt2 or llama3.", valueName: "name"))
  var preTokenizer: BPETrainer.PreTokenization = .gpt2

  @Option(help: ArgumentHelp("Read at most this many bytes of text (the rest is left out).", valueName: "n"))
  var maxBytes: Int?

  @Option(help: ArgumentHelp("Keep at most this many distinct words while counting (the rarest are dropped).",
                             valueName: "n"))
  var maxWords: Int?

  @Option(help: ArgumentHelp("Lines longer than this many bytes are cut to it (a warning says how many).", valueName: "n"))
  var maxLineBytes = 1 << 24

  @Option(name: .shortAndLong, help: ArgumentHelp("The tokenizer.json to write; `-` for standard output.", valueName: "file"))
  var output: String

  @Flag(help: "Print a summary as JSON on standard output.")
  var json = false

  @Flag(help: "No progress line, even on a terminal.")
  var quiet = false

  var trainerConfiguration: BPETrainer.Configuration {
    .init(vocabularySize: vocabSize, minimumFrequency: minFrequency,
          specialTokens: noSpecial ? [] : specials.isEmpty ? ["<|endoftext|>"] : specials,
          preTokenization: preTokenizer, maximumInputBytes: maxBytes, maximumDistinctWords: maxWords)
  }

  func validate() throws {
    if inputs.isEmpty { throw ValidationError("give at least one input file (`-` for standard input)") }
    if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read only once") }
    if output.isEmpty { throw ValidationError("--output must name a file (or `-` for standard output)") }
    if output == "-" && json { throw ValidationError("--json and --output - would both write to standard output") }
    if noSpecial && !specials.isEmpty { throw ValidationError("--no-special and --special exclude each other") }
    if maxLineBytes < 1 { throw ValidationError("--max-line-bytes must be at least 1") }
    do {
      _ = try BPETrainer(trainerConfiguration)
    } catch let e as BPETrainerError {
      throw ValidationError(e.message)
    }
  }

  func run() throws {
    let started = Date()
    var trainer = try BPETrainer(trainerConfiguration)
    let tty = isatty(2) == 1 && !quiet
    var lastProgress = 0.0
    var cutLines = 0
    func progress(_ file: String) {
      let now = Date().timeIntervalSince1970
      guard now - lastProgress > 0.2 else { return }
      lastProgress = now
      let s = trainer.statistics
      writeFD(2, "\r\u{1B}[K\(file): \(s.texts) texts, \(s.bytes >> 20) MiB, \(trainer.distinctWords) distinct words")
    }
    // A damaged input loses only its own rest: what was read of it, and the other inputs, are
    // trained on, and the exit code is 1.
    var failed = 0
    reading: for path in inputs {
      let name = path == "-" ? "standard input" : path
      var reader: LineReader? = nil
      do {
        let input = try openInput(path)
        let lines = LineReader(input.source, maxLineLength: maxLineBytes)
        lines.truncatesLongLines = true
        reader = lines
        while let line = try lines.nextLine() {
          if lines.lastLineTruncated {
            cutLines += 1
            if cutLines <= 3 { warn("\(name): line \(lines.lineNumber) is longer than \(maxLineBytes) bytes: cut") }
          }
          trainer.add(line)
          if trainer.statistics.truncated { break reading }
          if tty && lines.lineNumber & 0x3FF == 0 { progress(name) }
        }
      } catch let error as InputError {
        failed += 1
        if tty { writeFD(2, "\r\u{1B}[K") }
        if let reader {
          warn("tagdata: \(error); after line \(reader.lineNumber), whose texts are kept")
        } else {
          warn("tagdata: \(error)")
        }
      }
    }
    if failed > 0 && trainer.statistics.bytes == 0 {
      warn("tagdata: no text could be read: no tokenizer written")
      throw ExitCode(ExitStatus.input)
    }
    if cutLines > 3 { warn("\(cutLines) lines were longer than \(maxLineBytes) bytes and were cut") }
    if tty { writeFD(2, "\r\u{1B}[Klearning merges from \(trainer.distinctWords) distinct words…") }
    let model = trainer.train()
    let bytes = model.tokenizerJSON()
    if tty { writeFD(2, "\r\u{1B}[K") }
    if output == "-" {
      try Self.write(bytes, to: 1, what: "standard output")
    } else {
      try Self.writeAtomically(bytes, to: output)
    }
    let s = trainer.statistics
    let seconds = Date().timeIntervalSince(started)
    if json {
      var o: [UInt8] = []
      func w(_ t: String) { o.append(contentsOf: t.utf8) }
      w("{\"bytes\": \(s.bytes), \"cutLines\": \(cutLines), \"distinctWords\": \(model.distinctWords), ")
      w("\"droppedWords\": \(s.droppedWords), \"inputs\": [")
      for (k, p) in inputs.enumerated() {
        if k > 0 { w(", ") }
        JSONString.append(p, to: &o)
      }
      w("], \"invalidBytes\": \(s.invalidBytes), \"merges\": \(model.merges.count), \"output\": ")
      JSONString.append(output, to: &o)
      w(", \"seconds\": \(String(format: "%.3f", seconds)), \"texts\": \(s.texts), \"truncated\": \(s.truncated), ")
      w("\"unreadableInputs\": \(failed), \"vocabularySize\": \(model.tokens.count)}\n")
      try Self.write(o, to: 1, what: "standard output")
    } else if !quiet {
      var line = "\(output == "-" ? "standard output" : output): \(model.tokens.count) tokens (\(model.merges.count) merges) "
        + "from \(s.texts) texts, \(s.bytes) bytes, \(model.distinctWords) distinct words in \(String(format: "%.1f", seconds)) s"
      if model.tokens.count < vocabSize { line += "; fewer than \(vocabSize): no pair left seen \(minFrequency) times" }
      if s.truncated { line += "; input cut at \(maxBytes ?? 0) bytes" }
      if s.droppedWords > 0 { line += "; \(s.droppedWords) rare words dropped (--max-words)" }
      warn(line)
    }
    if failed > 0 {
      warn("tagdata: \(failed) of \(inputs.count) inputs could not be read to the end; the tokenizer holds what was read")
      throw ExitCode(ExitStatus.input)
    }
  }

  /// Writes all of `bytes` to a file descriptor.
  static func write(_ bytes: [UInt8], to fd: Int32, what: String) throws {
    try bytes.withUnsafeBytes { p in
      var off = 0
      while off < p.count {
        let n = Glibc.write(fd, p.baseAddress! + off, p.count - off)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { throw OutputError(what: what, errno: n < 0 ? errno : EIO) }
        off += n
      }
    }
  }

  /// Writes a file whole or not at all: a temporary file next to it, flushed, then renamed.
  static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if fd < 0 { throw OutputError(what: path, errno: errno) }
    do {
      try write(bytes, to: fd, what: path)
      if fsync(fd) != 0 { throw OutputError(what: path, errno: errno) }
    } catch {
      close(fd)
      unlink(temporary)
      throw error
    }
    if close(fd) != 0 {
      let e = errno
      unlink(temporary)
      throw OutputError(what: path, errno: e)
    }
    if rename(temporary, path) != 0 {
      let e = errno
      unlink(temporary)
      throw OutputError(what: path, errno: e)
    }
  }
}
