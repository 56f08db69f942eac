import ArgumentParser
import Foundation
import TagdataIO
import TagdataTasks
import TagdataTokenizer

#if canImport(Glibc)
import Glibc
#endif

struct Tokenize: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Inspect, train and export tokenizers: encode, decode, export-hf.",
    discussion: """
      A vocabulary is the text tokenizer (a base model's tokenizer.json with --tokenizer, else the \
      byte tokenizer) plus the tags of a build (--build DIR, each tag's p tokens as <TAG i>) and, \
      with --smiles-tokens / --residue-tokens, the domain ranges; or exactly the vocabulary a \
      token dataset was made with (--dataset DIR, from tagdata export --tokenized).

      Examples:
        tagdata tokenize encode --tokenizer tokenizer.json "The binding affinity is"
        tagdata tokenize encode --build build/tag-llm --kind record --json < build/tag-llm/shard-00000-of-00004.jsonl
        tagdata tokenize encode --build build/tag-llm --smiles-tokens --kind smiles 'CC(=O)Oc1ccccc1C(=O)O'
        echo '4 5 6' | tagdata tokenize decode
        tagdata tokenize export-hf --dataset tokens/tag-llm --tokenizer tokenizer.json --out hf-tokenizer
      """,
    subcommands: [Encode.self, Decode.self, ExportHF.self, TokenizeTrain.self])

  /// Options that choose a vocabulary.
  struct VocabularyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A base model's Hugging Face tokenizer.json for text (default: the byte tokenizer).", valueName: "file"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("Take the tags (and domain ranges) of this build (the --out of tagdata build).", valueName: "build-dir"))
    var build: String?

    @Option(help: ArgumentHelp("Take exactly the vocabulary of this token dataset (the --out of tagdata export --tokenized).",
                               valueName: "dir"))
    var dataset: String?

    @Flag(help: "With --build: SMILES atom by atom in a range of their own (from the build's training split).")
    var smilesTokens = false

    @Flag(help: "With --build: one token per residue in a range of their own.")
    var residueTokens = false

    @Option(help: ArgumentHelp("BOS token (default: tokenizer_config.json's when it adds one).", valueName: "token"))
    var bos: String?

    @Option(help: ArgumentHelp("EOS token (default: tokenizer_config.json's, or </s>, <|endoftext|>, ...).", valueName: "token"))
    var eos: String?

    func validate() throws {
      if build != nil && dataset != nil { throw ValidationError("give --build or --dataset, not both") }
      if (smilesTokens || residueTokens) && build == nil { throw ValidationError("--smiles-tokens and --residue-tokens need --build") }
    }

    func vocabulary() throws -> Vocabulary {
      var options = try TokenizedExport.Options.load(tokenizer: tokenizer, bos: bos, eos: eos)
      options.smilesTokens = smilesTokens
      options.residueTokens = residueTokens
      if let dataset { return try TokenizedExport.vocabulary(dataset: dataset, options: options) }
      if let build {
        return try TokenizedExport.vocabulary(build: build, manifest: TokenizedExport.readManifest(build), options: options)
      }
      return try TokenizedExport.vocabulary(build: nil, manifest: nil, options: options)
    }
  }

  /// Inputs: the arguments, or lines of standard input when there are none or the one argument is `-`.
  static func inputs(_ arguments: [String]) throws -> [String] {
    if !arguments.isEmpty && arguments != ["-"] { return arguments }
    let reader = LineReader(try openInput("-").source)
    var out: [String] = []
    while let line = try reader.nextLine() {
      var l = Array(line)
      if l.last == 0x0D { l.removeLast() }
      out.append(String(decoding: l, as: UTF8.self))
    }
    return out
  }

  struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the ids of texts, SMILES, sequences or whole build records.",
      discussion: """
        Each argument (or each line of standard input) is one input. --kind text (the default) \
        tokenizes it as text; smiles and protein by the domain rule when the vocabulary has that \
        range, else as text; record reads a build record (a JSON line of tagdata build) and \
        gives exactly the ids tagdata export --tokenized writes for it. Output: the ids, space \
        separated, one line per input; --json: one JSON object per input with ids, tokens and \
        the counts of unknown domain symbols.
        """)
    @OptionGroup var vocabularyOptions: VocabularyOptions
    @Option(help: ArgumentHelp("text, smiles, protein or record.", valueName: "kind")) var kind = "text"
    @Flag(help: "One JSON object per input.") var json = false
    @Argument(help: "Inputs (default, or -: lines of standard input).") var inputs: [String] = []

    func validate() throws {
      if !["text", "smiles", "protein", "record"].contains(kind) { throw ValidationError("--kind is text, smiles, protein or record") }
    }

    func run() throws {
      let v = try vocabularyOptions.vocabulary()
      var out: [UInt8] = []
      for (n, input) in try Tokenize.inputs(inputs).enumerated() {
        let enc: Vocabulary.Encoded
        if kind == "record" {
          let r = try TokenizedExport.record(Array(input.utf8), at: "input \(n + 1)")
          let (e, encoded) = try TokenizedExport.example(r, vocabulary: v)
          var x = encoded
          x.ids = e.tokens
          x.lossMask = e.lossMask
          enc = x
        } else {
          let k: Vocabulary.Segment.Kind = kind == "smiles" ? .smiles : kind == "protein" ? .protein : .text
          enc = try v.withoutBOS.encode([Vocabulary.Segment(k, input)], eos: false)
        }
        if json {
          out += Array("{\"ids\":[\(enc.ids.map(String.init).joined(separator: ","))],\"tokens\":[".utf8)
          for (i, id) in enc.ids.enumerated() {
            if i > 0 { out.append(0x2C) }
            JSONString.append(v.tokenString(id) ?? "", to: &out)
          }
          out += Array("],\"unknown\":{\"smiles\":\(enc.unknownSmiles),\"residues\":\(enc.unknownResidues)}}\n".utf8)
        } else {
          out += Array((enc.ids.map(String.init).joined(separator: " ") + "\n").utf8)
        }
        if out.count > 1 << 16 {
          writeOut(String(decoding: out, as: UTF8.self))
          out.removeAll(keepingCapacity: true)
        }
      }
      writeOut(String(decoding: out, as: UTF8.self))
    }
  }

  struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the text of ids (space or comma separated; one sequence per line of standard input, or the arguments).",
      discussion: "Text ids are decoded by the text tokenizer; tag ids print as <TAG i>, domain ids as their tokens.")
    @OptionGroup var vocabularyOptions: VocabularyOptions
    @Flag(help: "One JSON object per input: text and tokens.") var json = false
    @Argument(help: "Ids (default, or -: one sequence per line of standard input).") var ids: [String] = []

    func run() throws {
      let v = try vocabularyOptions.vocabulary()
      let lines = ids.isEmpty || ids == ["-"] ? try Tokenize.inputs(ids) : [ids.joined(separator: " ")]
      for (n, line) in lines.enumerated() {
        var seq: [Int] = []
        for part in line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }) {
          guard let id = Int(part), id >= 0, id < v.size else {
            throw ValidationError("input \(n + 1): '\(part)' is not an id of this vocabulary (0..<\(v.size))")
          }
          seq.append(id)
        }
        let text = v.decode(seq)
        if json {
          writeOut("{\"text\":\(JSONString.quoted(text)),\"tokens\":[\(seq.map { JSONString.quoted(v.tokenString($0) ?? "") }.joined(separator: ","))]}\n")
        } else {
          writeOut(text + "\n")
        }
      }
    }
  }

  struct ExportHF: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export-hf",
      abstract: "Write Hugging Face tokenizer files that give tagdata's ids, tags and domain tokens included.",
      discussion: """
        OUT/tokenizer.json is the text tokenizer with every tag token <TAG i> as a special added \
        token (id text-size + i, as Tag-LLM adds them); a formulation with its tags written as \
        their <TAG i> tokens encodes to tagdata's ids (Tokenizer.from_file(...).encode(text, \
        add_special_tokens=False)). OUT/tokenizer_config.json and special_tokens_map.json make it \
        loadable by transformers' AutoTokenizer. With domain ranges, OUT/smiles/tokenizer.json and \
        OUT/protein/tokenizer.json tokenize SMILES and sequences into tagdata's domain ids.
        """)
    @OptionGroup var vocabularyOptions: VocabularyOptions
    @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
    @Option(help: ArgumentHelp("model_max_length in tokenizer_config.json.", valueName: "n")) var maxLength: Int?

    func run() throws {
      let v = try vocabularyOptions.vocabulary()
      let base = try vocabularyOptions.tokenizer.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
      let files = try HFExport.files(vocabulary: v, base: base, maxLength: maxLength)
      for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
        let path = out + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let tmp = path + ".partial"
        try Data(bytes).write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, path) == 0 else { throw OutputError(what: path, errno: errno) }
      }
      warn("\(out): \(files.keys.sorted().joined(separator: ", ")); vocabulary \(v.size) (text \(v.textSize), tag tokens \(v.tagEnd - v.textSize))")
    }
  }
}
