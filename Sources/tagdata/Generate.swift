import ArgumentParser
import Foundation
import TagdataIO
import TagdataTokenizer
import TagdataTrain

#if canImport(Glibc)
import Glibc
#endif

struct Generate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Continue a prompt with a trained model (its tags included): greedy or sampled, with a key/value cache.",
    discussion: """
      The model directory is one that tagdata train wrote (OUT/stage-N-NAME/model) or a \
      Hugging Face Llama, Mistral or Qwen2 directory. The prompt is text (--prompt), tokenized \
      by --tokenizer, else DIR/tokenizer.json when present, else the byte tokenizer that \
      tagdata train's built-in data use; or token ids (--ids). In the text, a tag of the model \
      (tags.json) written as <NAME> stands for its virtual tokens, e.g. <Protein>; other <...> \
      words must be tokens of the tokenizer (<eos>, <0x0A>, ...). The model's bos_token_id \
      (the byte tokenizer's <bos>) starts a text prompt unless --no-bos.

      Generation stops after --max-new-tokens tokens or at a stop token (kept as the last id): \
      the model's eos_token_id (the byte tokenizer's <eos>) unless --no-eos, and every --stop \
      token or --stop-id id. Greedy by default (the most probable token each step, as \
      transformers' generate with do_sample=False); --temperature above 0 samples, after \
      --top-k and --top-p filtering, reproducibly from --seed.

      Output: the continuation's text on standard output as it is generated, then for each \
      regression head whose function tag is in the prompt (Tag-LLM: "... <QED>") a line \
      "head NAME: VALUE", the head on the final hidden state at the tag's last virtual token. \
      With --json one object {"prompt_ids", "ids", "tokens", "text", "stopped": "eos" | \
      "length", "heads": {NAME: VALUE}}. --max-new-tokens 0 only reads the heads.

      A prompt longer than the model's context (max_position_embeddings) is refused; text of a \
      SMILES or protein domain vocabulary (a model whose domain stage grew the vocabulary) is \
      not tokenized here: give such prompts as --ids.

      Examples (models of Scripts/demo and Examples/train-small.json):
        tagdata generate --model runs/tag-llm/stage-2-domain/model \\
            --prompt "<SMILES> CCO" --max-new-tokens 40
        tagdata generate --model runs/small/stage-3-hydrophobicity/model \\
            --prompt "<Protein>MKTAYIAK" --temperature 0.8 --top-p 0.9 --seed 1
        tagdata generate --model runs/tag-llm/stage-1-base-text/model \\
            --tags runs/tag-llm/stage-4-multi-domain/model \\
            --prompt "<SMILES> c1ccccc1"
        tagdata generate --model SmolLM2-135M --ids "1 504 3125" --json
      """)

  @Option(help: ArgumentHelp("The model directory (config.json, model.safetensors, optional tags.json + tags.safetensors).",
                             valueName: "dir")) var model: String
  @Option(help: ArgumentHelp("Take the tags and regression heads from this model directory instead (a later stage's output).",
                             valueName: "dir")) var tags: String?
  @Option(help: ArgumentHelp("The tokenizer.json (default: DIR/tokenizer.json, else the byte tokenizer).", valueName: "file"))
  var tokenizer: String?
  @Option(help: ArgumentHelp("The prompt text; <NAME> is the model's tag NAME.", valueName: "text")) var prompt: String?
  @Option(help: ArgumentHelp("The prompt as token ids, separated by spaces or commas.", valueName: "ids")) var ids: String?
  @Option(help: ArgumentHelp("The most tokens to generate.", valueName: "n")) var maxNewTokens = 64
  @Option(help: ArgumentHelp("0: greedy; above 0: sample from the softmax of logits / temperature.", valueName: "t"))
  var temperature: Float = 0
  @Option(help: ArgumentHelp("Sample among the k most probable tokens only.", valueName: "k")) var topK: Int?
  @Option(help: ArgumentHelp("Sample among the most probable tokens whose probabilities reach p (nucleus).", valueName: "p"))
  var topP: Float?
  @Option(help: ArgumentHelp("The sampling seed (SplitMix64).", valueName: "n")) var seed: UInt64 = 0
  @Option(help: ArgumentHelp("Stop after this token (a token string of the tokenizer); repeatable.", valueName: "token"))
  var stop: [String] = []
  @Option(help: ArgumentHelp("Stop after this token id; repeatable.", valueName: "id")) var stopId: [Int] = []
  @Flag(help: "Do not stop at the model's end-of-sequence token.") var noEos = false
  @Flag(help: "Do not start a text prompt with the beginning-of-sequence token.") var noBos = false
  @Flag(help: "Print one JSON object (ids, tokens, text, why it stopped).") var json = false

  func validate() throws {
    if (prompt == nil) == (ids == nil) { throw ValidationError("give the prompt as --prompt TEXT or --ids \"1 2 3\" (one of them)") }
    if maxNewTokens < 0 { throw ValidationError("--max-new-tokens must be 0 or more, not \(maxNewTokens)") }
    if !(temperature >= 0) || !temperature.isFinite { throw ValidationError("--temperature must be 0 (greedy) or more, not \(temperature)") }
    if let k = topK, k < 1 { throw ValidationError("--top-k must be 1 or more, not \(k)") }
    if let p = topP, !(p > 0 && p <= 1) { throw ValidationError("--top-p must be in (0, 1], not \(p)") }
  }

  func run() throws {
    var m: Model
    // Unreadable or damaged: config.json, the weights (safetensors), the tag dictionary.
    do {
      m = try Model.load(from: model)
    } catch {
      throw InputError.unsupported(file: model, message: "cannot be loaded: \(error)")
    }
    if let tags {
      do {
        try m.replaceTags(from: tags)
      } catch {
        throw InputError.unsupported(file: tags, message: "cannot be loaded: \(error)")
      }
    }
    let text = try loadTokenizer()
    let intKey = { (key: String) in m.config.passthrough[key].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    let isByte = text is ByteTextTokenizer
    let bos = intKey("bos_token_id") ?? (isByte ? ByteTokenizer.bos : nil)
    var stops = Set(stopId)
    if !noEos {
      if let eos = m.config.passthrough["eos_token_id"] {
        // An id or a list of ids.
        for part in eos.split(whereSeparator: { !$0.isNumber }) { if let id = Int(part) { stops.insert(id) } }
      } else if isByte {
        stops.insert(ByteTokenizer.eos)
      }
    }
    for token in stop {
      guard let id = text.tokenID(token) else { throw ValidationError("--stop \(token): the tokenizer has no such token") }
      stops.insert(id)
    }

    var promptIDs: [Int]
    if let ids {
      promptIDs = []
      for part in ids.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" }) {
        guard let id = Int(part) else { throw ValidationError("--ids: \(part) is not a token id") }
        promptIDs.append(id)
      }
    } else {
      promptIDs = try Self.encode(prompt!, text: text, model: m)
      if let bos, !noBos, !promptIDs.isEmpty { promptIDs.insert(bos, at: 0) }
    }
    guard !promptIDs.isEmpty else { throw ValidationError("the prompt is empty") }
    if let bad = promptIDs.first(where: { $0 < 0 || $0 >= m.inputTokenCount }) {
      let tagCount = m.inputTokenCount - m.config.vocabularySize
      throw ValidationError("token id \(bad) is neither in the model's vocabulary (0..<\(m.config.vocabularySize)) nor one of its "
                              + "\(tagCount) tag ids" + (tagCount > 0 ? " (\(m.config.vocabularySize)..<\(m.inputTokenCount))" : ""))
    }
    if promptIDs.count > m.config.maxPositions {
      throw ValidationError("the prompt has \(promptIDs.count) tokens, more than the model's context of \(m.config.maxPositions) "
                              + "(max_position_embeddings)")
    }

    // Streams the text as it grows: the new ids are decoded after a few already printed ones (so
    // that a decoder's spacing rules see their context) and printed once they end on a whole
    // character; a constant cost per token.
    var printedIDs: [Int] = [], pending: [Int] = []
    let stream = !json
    func flush(force: Bool) {
      let context = Array(printedIDs.suffix(4))
      let before = text.decodeText(context), after = text.decodeText(context + pending)
      guard force || (after.hasPrefix(before) && !after.hasSuffix("\u{FFFD}")) else { return }
      writeOut(after.hasPrefix(before) ? String(after.dropFirst(before.count)) : text.decodeText(pending))
      printedIDs += pending
      pending = []
    }
    let sampling = Sampling(temperature: temperature, topK: topK, topP: topP, seed: seed)
    let (out, stopped, heads) = try m.generateReadingHeads(prompt: promptIDs, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: stops) { id in
      guard stream, !stops.contains(id) else { return }
      pending.append(id)
      flush(force: false)
    }
    if json {
      let object: [String: Any] = [
        "prompt_ids": promptIDs, "ids": out, "tokens": out.map { text.tokenText($0) ?? "" },
        "text": text.decodeText(out.filter { !stops.contains($0) }), "stopped": stopped.rawValue,
        "heads": heads.mapValues { Double($0) },
      ]
      writeOut(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n")
    } else {
      if !pending.isEmpty { flush(force: true) }
      writeOut("\n")
      for name in heads.keys.sorted() { writeOut("head \(name): \(heads[name]!)\n") }
    }
  }

  func loadTokenizer() throws -> any TextTokenizer {
    let path = tokenizer ?? (FileManager.default.fileExists(atPath: model + "/tokenizer.json") ? model + "/tokenizer.json" : nil)
    guard let path else { return ByteTextTokenizer() }
    guard FileManager.default.fileExists(atPath: path) else { throw InputError.io(file: path, message: "no such file") }
    return try HFTokenizer(contentsOf: URL(fileURLWithPath: path))
  }

  /// Prompt text to ids: `<NAME>` of a model tag becomes its virtual tokens, `<...>` of a token
  /// of the tokenizer that token, the rest text.
  static func encode(_ prompt: String, text: any TextTokenizer, model: Model) throws -> [Int] {
    let bytes = Array(prompt.utf8)
    var out: [Int] = []
    var plainStart = 0, i = 0
    func flush(_ end: Int) {
      if end > plainStart { out += text.encodeText(String(decoding: bytes[plainStart..<end], as: UTF8.self)) }
    }
    while i < bytes.count {
      guard bytes[i] == UInt8(ascii: "<") else { i += 1; continue }
      var j = i + 1
      while j < bytes.count, bytes[j] != UInt8(ascii: ">"), bytes[j] != UInt8(ascii: "<"), bytes[j] > 0x20 { j += 1 }
      guard j < bytes.count, bytes[j] == UInt8(ascii: ">"), j > i + 1 else { i += 1; continue }
      let name = String(decoding: bytes[(i + 1)..<j], as: UTF8.self)
      let whole = "<" + name + ">"
      if model.tagNames.contains(name) {
        flush(i)
        out += model.tagTokens(name)
      } else if let id = text.tokenID(whole) {
        flush(i)
        out.append(id)
      } else {
        let known = model.tagNames.isEmpty ? "the model has no tags" : "the model's tags are " + model.tagNames.map { "<\($0)>" }.joined(separator: ", ")
        throw ValidationError("unknown tag \(whole) at byte \(i + 1) of the prompt: \(known) (and \(whole) is no token of the tokenizer)")
      }
      i = j + 1
      plainStart = i
    }
    flush(bytes.count)
    return out
  }
}
