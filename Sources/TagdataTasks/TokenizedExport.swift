import Foundation
import TagdataBio
import TagdataIO
import TagdataShards
import TagdataTokenizer

/// `tagdata export --tokenized`: a build's JSON Lines shards, tokenized into the trainer's token
/// shards (`TokenShards`), one token shard per build shard, with one vocabulary over text, tags
/// and (optionally) SMILES atoms and residues.
///
/// - Generation records (stage 1, `Translate`) keep every segment; every token but the tags and
///   the BOS is a next-token target, and the EOS (when the text tokenizer has one) ends them, as
///   in Tag-LLM, where the cross-entropy labels are every non-special token.
/// - Regression records end before their label: the label is the regression `target` (the exact
///   value, not the formatted label string), read by the head at the last virtual token of the
///   record's last function tag (Tag-LLM's `reg_pred_idx`), or at the last token when the
///   ablation has no function tag. No token of a regression record is a next-token target.
///
/// The output directory is written beside its final place and renamed into it, so a reader never
/// sees half a dataset. The same build and options give byte-identical files.
public enum TokenizedExport {
  public struct Options: Sendable {
    public var text: any TextTokenizer
    /// The text tokenizer's name (a file name or `bytes`) and its file's SHA-256.
    public var textName: String
    public var textSHA256: String?
    /// The text tokenizer's `tokenizer.json` (nil for the byte tokenizer).
    public var textJSON: [UInt8]?
    public var bos: Int?
    public var eos: Int?
    /// SMILES segments as atom-level tokens of their own range (else as text).
    public var smilesTokens = false
    /// SMILES tokens that occur fewer times than this in the training split map to the unknown token.
    public var smilesMinimumCount = 1
    /// Protein segments as one token per residue (else as text).
    public var residueTokens = false
    /// Regression records as generation records ("number as text"): the label string is the
    /// output, the only next-token targets are the output's tokens (and the rest of the
    /// formulation after it, and the EOS), the exact target is kept as `numberTarget`, and no
    /// head reads the example.
    public var regressionAsText = false

    /// What of these options shapes the tokens, as text: the partitions of one export must agree.
    public var identity: [String: String] {
      ["text": textName, "textSHA256": textSHA256 ?? "", "bos": bos.map(String.init) ?? "", "eos": eos.map(String.init) ?? "",
       "smilesTokens": "\(smilesTokens)", "smilesMinimumCount": "\(smilesMinimumCount)", "residueTokens": "\(residueTokens)",
       "regressionAsText": "\(regressionAsText)", "toolVersion": toolVersion]
    }
    public var toolVersion = "dev"

    public init(text: any TextTokenizer, textName: String, textSHA256: String? = nil, bos: Int? = nil, eos: Int? = nil) {
      self.text = text
      self.textName = textName
      self.textSHA256 = textSHA256
      self.bos = bos
      self.eos = eos
    }
  }

  /// One record of a build, the fields tokenization reads.
  public struct Record: Sendable {
    public var task: String
    public var split: String
    public var regression: Bool
    public var target: Double?
    public var key: String?
    public var segments: [Vocabulary.Segment]
    /// The label string (regression) or generated text (Translate); nil when the record has none.
    public var output: String? = nil
  }

  /// The parts of a build's `manifest.json` that tokenization reads.
  public struct BuildManifest: Sendable {
    public var tags: [Vocabulary.Tag]
    public var shardFiles: [String]
    public var configSHA256: String?
    public var sha256: String
  }

  public static func readManifest(_ build: String) throws -> BuildManifest {
    let path = build + "/manifest.json"
    let bytes: [UInt8]
    do {
      bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw TokenizedExportError("\(path): cannot read the build's manifest (\(error.localizedDescription))")
    }
    let root: ConfigJSON.Node
    do {
      root = try ConfigJSON.parse(bytes)
    } catch {
      throw TokenizedExportError("\(path): \(error)")
    }
    func fail(_ n: ConfigJSON.Node, _ what: String) -> TokenizedExportError {
      TokenizedExportError("\(path):\(n.line):\(n.column): \(what)")
    }
    guard case .string("tagdata-tasks/1")? = root["format"]?.value else { throw fail(root, "not a tagdata build manifest (format)") }
    var tags: [Vocabulary.Tag] = []
    guard case .array(let tagNodes)? = root["tags"]?.value else { throw fail(root, "no `tags` list") }
    for t in tagNodes {
      guard let name = t["name"]?.stringValue, let text = t["text"]?.stringValue, let kind = t["kind"]?.stringValue,
        let k = Vocabulary.TagKind(rawValue: kind), let first = t["first_token"]?.intValue, let count = t["tokens"]?.intValue
      else { throw fail(t, "a tag needs name, text, kind (domain or function), first_token and tokens") }
      tags.append(Vocabulary.Tag(name: name, text: text, kind: k, first: first, count: count))
    }
    guard case .array(let shardNodes)? = root["shards"]?.value else { throw fail(root, "no `shards` list") }
    var files: [String] = []
    for s in shardNodes {
      guard let f = s["file"]?.stringValue, !f.contains("/"), !f.hasPrefix(".") else { throw fail(s, "a shard needs a plain `file` name") }
      files.append(f)
    }
    return BuildManifest(tags: tags, shardFiles: files, configSHA256: root["config_sha256"]?.stringValue,
                         sha256: SequenceDigest.hex(SequenceDigest.sha256(bytes)))
  }

  /// Reads a build shard's records one by one (gzip or plain).
  public static func forEachRecord(_ path: String, _ body: (Record) throws -> Void) throws {
    let input = try openInput(path)
    let reader = LineReader(input.source)
    while let line = try reader.nextLine() {
      if line.isEmpty { continue }
      try body(record(Array(line), at: "\(path):\(reader.lineNumber)"))
    }
  }

  /// One build record from its JSON line; errors name `place` (file:line).
  public static func record(_ bytes: [UInt8], at place: String) throws -> Record {
    let n: ConfigJSON.Node
    do {
      n = try ConfigJSON.parse(bytes)
    } catch {
      throw TokenizedExportError("\(place): \(error)")
    }
    guard let task = n["task"]?.stringValue, let split = n["split"]?.stringValue, case .bool(let regression)? = n["regression"]?.value,
      case .array(let segs)? = n["segments"]?.value
    else { throw TokenizedExportError("\(place): a record needs task, split, regression and segments") }
    var segments: [Vocabulary.Segment] = []
    segments.reserveCapacity(segs.count)
    for s in segs {
      guard let k = s["kind"]?.stringValue, let kind = Vocabulary.Segment.Kind(rawValue: k), let text = s["text"]?.stringValue else {
        throw TokenizedExportError("\(place): a segment needs a kind (text, tag, smiles, protein, label) and a text")
      }
      segments.append(Vocabulary.Segment(kind, text))
    }
    var target: Double?
    if case .number(let v, _)? = n["target"]?.value { target = v }
    if regression && target == nil { throw TokenizedExportError("\(place): a regression record without a numeric target") }
    return Record(task: task, split: split, regression: regression, target: target, key: n["key"]?.stringValue, segments: segments,
                  output: n["output"]?.stringValue)
  }

  /// Tags follow the text ids only if those have no gap: `tokenizers` numbers added tokens
  /// itself, past the ids in use, so after a gap its ids would not be the file's.
  static func checkContiguous(_ options: Options) throws {
    for id in 0..<options.text.vocabularySize where options.text.tokenText(id) == nil {
      throw TokenizedExportError("\(options.textName): no token has id \(id), below the vocabulary size "
                                 + "\(options.text.vocabularySize); Hugging Face would number tags after such a gap otherwise")
    }
  }

  /// The vocabulary of a token dataset (version 2), rebuilt from its manifest with the text
  /// tokenizer it was made with (checked by size and SHA-256).
  public static func vocabulary(dataset: String, options: Options) throws -> Vocabulary {
    let path = dataset + "/" + TokenShards.manifestName
    let m: TokenShards.Manifest
    do {
      m = try JSONDecoder().decode(TokenShards.Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw TokenizedExportError("\(path): not a version-2 token dataset (\(error))")
    }
    let v = m.vocabulary
    guard v.textSize == options.text.vocabularySize, v.textSHA256 == options.textSHA256 else {
      throw TokenizedExportError("\(path): made with the text tokenizer \(v.text) (\(v.textSize) tokens), not \(options.textName) "
                                 + "(\(options.text.vocabularySize) tokens); pass its file with --tokenizer")
    }
    try checkContiguous(options)
    let tags = v.tagList.map {
      Vocabulary.Tag(name: $0.name, text: $0.text, kind: Vocabulary.TagKind(rawValue: $0.kind) ?? .domain, first: $0.firstID - v.textSize,
                     count: $0.tokens)
    }
    let count = tags.map { $0.first + $0.count }.max() ?? 0
    let tagged = try HFTokenizer(json: HFExport.taggedTokenizer(base: options.textJSON, textSize: v.textSize, tagTokens: count),
                                 name: options.textName)
    do {
      return try Vocabulary(text: options.text, tagged: tagged, tags: tags, smilesTokens: v.smiles?.tokens, residues: v.residues != nil,
                            bos: v.bos, eos: v.eos)
    } catch {
      throw TokenizedExportError("\(path): \(error)")
    }
  }

  /// The SMILES tokens every range has, whatever the data.
  public static let baseSmilesTokens = ["B", "C", "N", "O", "S", "P", "F", "I", "Cl", "Br", "b", "c", "n", "o", "s", "p",
                                        "(", ")", ".", "=", "#", "-", "+", "\\", "/", ":", "~", "@", "?", ">", "*", "$"]
    + (0...9).map(String.init)

  /// The SMILES range for a build: the unknown token, the base tokens, then every other token of
  /// the training split's SMILES seen at least `minimumCount` times, most frequent first (ties by bytes).
  public static func smilesVocabulary(build: String, manifest: BuildManifest, minimumCount: Int) throws -> [String] {
    var counts: [[UInt8]: Int] = [:]
    for f in manifest.shardFiles {
      try forEachRecord(build + "/" + f) { r in
        guard r.split == "train" else { return }
        for s in r.segments where s.kind == .smiles {
          let b = Array(s.text.utf8)
          for t in SmilesTokenizer.tokens(b) where !t.unknown { counts[Array(b[t.range]), default: 0] += 1 }
        }
      }
    }
    let base = Set(baseSmilesTokens.map { Array($0.utf8) })
    let extra = counts.filter { !base.contains($0.key) && $0.value >= max(1, minimumCount) }
      .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }
    return [Vocabulary.smilesUnknown] + baseSmilesTokens + extra.map { String(decoding: $0.key, as: UTF8.self) }
  }

  /// The vocabulary a build is tokenized with (no tags and no SMILES range without a build).
  public static func vocabulary(build: String?, manifest: BuildManifest?, options: Options) throws -> Vocabulary {
    let smiles: [String]?
    if options.smilesTokens, let build, let manifest {
      smiles = try smilesVocabulary(build: build, manifest: manifest, minimumCount: options.smilesMinimumCount)
    } else {
      smiles = options.smilesTokens ? [Vocabulary.smilesUnknown] + baseSmilesTokens : nil
    }
    let tags = manifest?.tags ?? []
    try checkContiguous(options)
    do {
      let count = tags.map { $0.first + $0.count }.max() ?? 0
      let tagged = try HFTokenizer(json: HFExport.taggedTokenizer(base: options.textJSON, textSize: options.text.vocabularySize,
                                                                  tagTokens: count), name: options.textName)
      return try Vocabulary(text: options.text, tagged: tagged, tags: tags, smilesTokens: smiles,
                            residues: options.residueTokens, bos: options.bos, eos: options.eos)
    } catch {
      throw TokenizedExportError("\(build ?? "vocabulary")/manifest.json: \(error)")
    }
  }

  /// The index of the record's output segment: the last text or label segment whose text is the
  /// record's `output` (the template gives a filled output a segment of its own).
  static func outputSegment(_ r: Record) -> Int? {
    guard let output = r.output, !output.isEmpty else { return nil }
    return r.segments.lastIndex { ($0.kind == .label || $0.kind == .text) && $0.text == output }
  }

  /// One record as a token example. A generation record with an output gets `outputStart`: the
  /// length of the longest common prefix of its ids and the ids of the segments before the
  /// output (a tokenizer that joins the output's first word with the space before it ends the
  /// prompt before that space). With `asText`, a regression record becomes such a generation
  /// record whose only next-token targets are from `outputStart` on, with `numberTarget`.
  public static func example(_ r: Record, vocabulary v: Vocabulary, asText: Bool = false) throws
    -> (TokenDataset.Example, Vocabulary.Encoded)
  {
    let textual = r.regression && asText
    var segments = r.segments
    if r.regression && !textual, let cut = segments.firstIndex(where: { $0.kind == .label }) { segments.removeSubrange(cut...) }
    var enc = try v.encode(segments, eos: !r.regression || textual)
    var outputStart: Int?
    if !r.regression || textual, let o = outputSegment(r) {
      let prompt = try v.encode(Array(r.segments[..<o]), eos: false).ids
      var k = 0
      while k < prompt.count && k < enc.ids.count && prompt[k] == enc.ids[k] { k += 1 }
      outputStart = k
    }
    if textual {
      guard let start = outputStart, r.target != nil else {
        throw TokenizedExportError("a \(r.task) record\(r.key.map { " (\($0))" } ?? "") has no label segment to write as text")
      }
      for i in enc.lossMask.indices { enc.lossMask[i] = i >= start && enc.lossMask[i] }
      var e = TokenDataset.Example(tokens: enc.ids, lossMask: enc.lossMask, task: r.task, split: r.split, key: r.key)
      e.spans = enc.inputSpans.map { $0.lowerBound..<($0.upperBound + 1) }
      e.outputStart = start
      e.numberTarget = r.target
      return (e, enc)
    }
    var regression: [TokenDataset.Regression] = []
    if r.regression, let target = r.target {
      let function = enc.tagEnds.last { v.tags[$0.tag].kind == .function }
      let head = function.map { v.tags[$0.tag].name } ?? r.task
      regression = [TokenDataset.Regression(head: head, position: function?.position ?? max(0, enc.ids.count - 1), target: target)]
      enc.lossMask = [Bool](repeating: false, count: enc.ids.count)
    }
    var e = TokenDataset.Example(tokens: enc.ids, lossMask: enc.lossMask, task: r.task, regression: regression, split: r.split, key: r.key)
    e.spans = enc.inputSpans.map { $0.lowerBound..<($0.upperBound + 1) }
    e.outputStart = outputStart
    return (e, enc)
  }

  public struct Summary: Sendable {
    public var manifest: TokenShards.Manifest
    public var seconds: Double
  }

  /// Tokenizes the build at `build` into `out` (replaced atomically).
  ///
  /// With `partition` (index, count), only the build shards whose number is `index` modulo
  /// `count` are tokenized, with the whole build's vocabulary, and `out` is a partial dataset:
  /// its token shards and `partition.json` (``TokensPartial``); ``merge(parts:out:)`` makes of
  /// the `count` partial datasets the dataset this function writes without a partition.
  public static func run(build: String, out: String, options: Options, partition: (index: Int, count: Int)? = nil,
                         progress: ((Int) -> Void)? = nil) throws -> Summary
  {
    let started = Date()
    if let p = partition, p.count < 1 || p.index < 0 || p.index >= p.count {
      throw TokenizedExportError("\(out): partition \(p.index)/\(p.count) does not exist (0 <= index < count)")
    }
    if let problem = OutputGuard.problem(out: out, inputs: [("the build", build)]) {
      throw TokenizedExportError("\(out): \(problem)")
    }
    if partitionFormat(build) == BuildPartial.format {
      throw TokenizedExportError("\(build): is a partition of a build (tagdata build --partition): merge the partitions "
                                   + "(tagdata export --merge --out BUILD PARTS...) and tokenize the build")
    }
    let manifest = try readManifest(build)
    let vocabulary = try vocabulary(build: build, manifest: manifest, options: options)
    let target = try OutputDirectory(out)
    let staging = target.temporary
    let wide = vocabulary.size > Int(UInt16.max) + 1
    var shards: [TokenShards.Shard] = []
    var counts: [String: [String: Int]] = [:]
    var unknown = ["smiles": 0, "residues": 0]
    var examples = 0, tokens = 0
    let mine = manifest.shardFiles.indices.filter { partition == nil || $0 % partition!.count == partition!.index }
    for f in mine.map({ manifest.shardFiles[$0] }) {
      var stem = f
      for suffix in [".gz", ".jsonl"] where stem.hasSuffix(suffix) { stem.removeLast(suffix.count) }
      let writer = try TokenShards.Writer(directory: staging, name: stem, wide: wide)
      let digests = Digests()
      writer.observe = { file, bytes in digests.all[file].update(bytes) }
      try forEachRecord(build + "/" + f) { r in
        let (e, enc) = try example(r, vocabulary: vocabulary, asText: options.regressionAsText)
        try writer.append(e)
        counts[r.task, default: [:]][r.split, default: 0] += 1
        unknown["smiles"]! += enc.unknownSmiles
        unknown["residues"]! += enc.unknownResidues
        examples += 1
        if examples % 4096 == 0 { progress?(examples) }
      }
      try writer.finish()
      var sha: [String: String] = [:]
      for (k, file) in TokenShards.files.enumerated() { sha[file] = SequenceDigest.hex(digests.all[k].finalize()) }
      shards.append(TokenShards.Shard(name: stem, examples: writer.examples, tokens: writer.tokens, sha256: sha))
      tokens += writer.tokens
    }
    var tagIDs: [String: [Int]] = [:]
    for t in vocabulary.tags { tagIDs[t.name] = Array(vocabulary.tagIDs(t.text)!) }
    let info = TokenShards.VocabularyInfo(
      size: vocabulary.size, text: options.textName, textSize: vocabulary.textSize, textSHA256: options.textSHA256,
      bos: vocabulary.bos, eos: vocabulary.eos,
      tagList: vocabulary.tags.map {
        TokenShards.TagInfo(name: $0.name, text: $0.text, kind: $0.kind.rawValue, firstID: vocabulary.textSize + $0.first, tokens: $0.count)
      },
      smiles: vocabulary.smilesTokens.map { TokenShards.DomainRange(firstID: vocabulary.tagEnd, tokens: $0) },
      residues: vocabulary.residueTokens.map { TokenShards.DomainRange(firstID: vocabulary.smilesEnd, tokens: $0) })
    let m = TokenShards.Manifest(
      vocabularySize: vocabulary.textSize, tags: tagIDs, examples: examples, tokens: tokens, tokenType: wide ? "uint32" : "uint16",
      vocabulary: info, shards: shards, counts: counts, unknown: unknown,
      source: TokenShards.Source(build: (build as NSString).lastPathComponent, buildManifestSHA256: manifest.sha256,
                                 configSHA256: manifest.configSHA256, toolVersion: options.toolVersion))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    if let p = partition {
      let partial = TokensPartial(format: TokensPartial.format, partition: p.index, partitions: p.count,
                                  buildShards: manifest.shardFiles.count, shardIndexes: mine, manifest: m,
                                  options: options.identity)
      try encoder.encode(partial).write(to: URL(fileURLWithPath: staging + "/" + TokensPartial.file))
    } else {
      try encoder.encode(m).write(to: URL(fileURLWithPath: staging + "/" + TokenShards.manifestName))
    }
    try target.commit()
    return Summary(manifest: m, seconds: Date().timeIntervalSince(started))
  }

  /// A partition of a tokenized export: the dataset manifest of its own shards, and which.
  public struct TokensPartial: Codable, Sendable {
    public static let format = "tagdata-tokens-partition/1"
    public static let file = "partition.json"
    public var format: String
    public var partition: Int
    public var partitions: Int
    public var buildShards: Int
    public var shardIndexes: [Int]
    public var manifest: TokenShards.Manifest
    /// The options that shape the tokens (``Options/identity``); absent in older partitions.
    public var options: [String: String]? = nil
  }

  /// The format of a partial output's `partition.json` (a build's or a tokenized export's), nil
  /// when there is none or it names no format.
  public static func partitionFormat(_ dir: String) -> String? {
    guard let data = FileManager.default.contents(atPath: dir + "/" + TokensPartial.file),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return object["format"] as? String
  }

  /// Merges the partial token datasets `parts` (every partition of one tokenized export) into the
  /// dataset `out` (replaced atomically), equal byte for byte to the export made without
  /// partitions: the shards are linked (or copied) into place, checked against their SHA-256.
  public static func merge(parts: [String], out: String) throws -> Summary {
    let started = Date()
    guard !parts.isEmpty else { throw TokenizedExportError("\(out): no partitions to merge") }
    if let problem = OutputGuard.problem(out: out, inputs: parts.map { ("the partition", $0) }) {
      throw TokenizedExportError("\(out): \(problem)")
    }
    var loaded: [(dir: String, p: TokensPartial)] = []
    for dir in parts {
      guard let data = FileManager.default.contents(atPath: dir + "/" + TokensPartial.file) else {
        throw TokenizedExportError("\(dir): not a finished tokenized partition (no \(TokensPartial.file))")
      }
      let p: TokensPartial
      do { p = try JSONDecoder().decode(TokensPartial.self, from: data) } catch {
        throw TokenizedExportError("\(dir)/\(TokensPartial.file): not a tokenized partition's manifest (\(error))")
      }
      guard p.format == TokensPartial.format else {
        throw TokenizedExportError("\(dir)/\(TokensPartial.file): format \(p.format), this tagdata reads \(TokensPartial.format)")
      }
      guard p.partitions >= 1, p.partition >= 0, p.partition < p.partitions, p.buildShards >= 0 else {
        throw TokenizedExportError("\(dir)/\(TokensPartial.file): partition \(p.partition) of \(p.partitions) "
                                     + "of \(p.buildShards) build shards does not exist (damaged?)")
      }
      loaded.append((dir, p))
    }
    let first = loaded[0].p
    for (dir, p) in loaded.dropFirst() {
      let a = p.manifest, b = first.manifest
      if p.partitions != first.partitions || p.buildShards != first.buildShards || a.vocabulary != b.vocabulary
        || a.tags != b.tags || a.tokenType != b.tokenType || a.source != b.source || a.vocabularySize != b.vocabularySize
      {
        throw TokenizedExportError("\(dir): not a partition of the same tokenized export as \(loaded[0].dir) "
                                     + "(build, vocabulary, options or number of partitions differ)")
      }
      if p.options != first.options {
        let (x, y) = (p.options ?? [:], first.options ?? [:])
        let differ = Set(x.keys).union(y.keys).filter { x[$0] != y[$0] }.sorted()
          .map { "\($0) \(x[$0] ?? "unset"), not \(y[$0] ?? "unset")" }
        throw TokenizedExportError("\(dir): not a partition of the same tokenized export as \(loaded[0].dir): its options "
                                     + "differ (" + differ.joined(separator: "; ") + ")")
      }
    }
    if let missing = PartitionIndexes.missing(loaded.map(\.p.partition), of: first.partitions) {
      throw TokenizedExportError("\(out): \(missing)")
    }
    var byIndex = [String?](repeating: nil, count: first.partitions)
    for (dir, p) in loaded {
      guard p.partition >= 0 && p.partition < first.partitions else {
        throw TokenizedExportError("\(dir): partition \(p.partition) of \(p.partitions) does not exist")
      }
      if let other = byIndex[p.partition] { throw TokenizedExportError("\(dir): partition \(p.partition) given twice (also \(other))") }
      byIndex[p.partition] = dir
    }
    let missing = byIndex.indices.filter { byIndex[$0] == nil }
    if !missing.isEmpty {
      throw TokenizedExportError("\(out): partitions missing: " + missing.map { "\($0)/\(first.partitions)" }.joined(separator: ", "))
    }
    // Every build shard once, in the build's order.
    let given = loaded.reduce(0) { $0 + $1.p.shardIndexes.count }
    guard first.buildShards <= given else {
      throw TokenizedExportError("\(out): the build has \(first.buildShards) shards, the partitions hold \(given)")
    }
    var shards = [(dir: String, shard: TokenShards.Shard)?](repeating: nil, count: first.buildShards)
    for (dir, p) in loaded {
      guard p.shardIndexes.count == p.manifest.shards.count else {
        throw TokenizedExportError("\(dir)/\(TokensPartial.file): \(p.shardIndexes.count) shard numbers for \(p.manifest.shards.count) shards")
      }
      for (k, shard) in zip(p.shardIndexes, p.manifest.shards) {
        guard k >= 0 && k < shards.count && shards[k] == nil && k % first.partitions == p.partition else {
          throw TokenizedExportError("\(dir): shard \(k) is not this partition's")
        }
        shards[k] = (dir, shard)
      }
    }
    let target = try OutputDirectory(out)
    let staging = target.temporary
    var counts: [String: [String: Int]] = [:]
    var unknown: [String: Int] = [:]
    for (_, p) in loaded {
      for (task, splits) in p.manifest.counts { for (split, n) in splits { counts[task, default: [:]][split, default: 0] += n } }
      for (kind, n) in p.manifest.unknown { unknown[kind, default: 0] += n }
    }
    var list: [TokenShards.Shard] = []
    for (k, entry) in shards.enumerated() {
      guard let (dir, shard) = entry else { throw TokenizedExportError("\(out): build shard \(k) is in no partition") }
      for file in TokenShards.files {
        let name = shard.name + "." + file
        let from = dir + "/" + name, to = staging + "/" + name
        if link(from, to) != 0 { try FileManager.default.copyItem(atPath: from, toPath: to) }
        let sha = try fileDigest(to)
        guard sha == shard.sha256[file] else {
          throw TokenizedExportError("\(from): its SHA-256 is not the one its partition wrote (changed since?)")
        }
      }
      list.append(shard)
    }
    let b = first.manifest
    let m = TokenShards.Manifest(
      vocabularySize: b.vocabularySize, tags: b.tags, examples: list.reduce(0) { $0 + $1.examples },
      tokens: list.reduce(0) { $0 + $1.tokens }, tokenType: b.tokenType, vocabulary: b.vocabulary, shards: list,
      counts: counts, unknown: unknown, source: b.source)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    try encoder.encode(m).write(to: URL(fileURLWithPath: staging + "/" + TokenShards.manifestName))
    try target.commit()
    return Summary(manifest: m, seconds: Date().timeIntervalSince(started))
  }

  /// The SHA-256 of a file, streamed.
  static func fileDigest(_ path: String) throws -> String {
    guard let f = fopen(path, "rb") else { throw TokenizedExportError("\(path): \(String(cString: strerror(errno)))") }
    defer { fclose(f) }
    var d = StreamDigest()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
      if n == 0 { break }
      buffer.withUnsafeBytes { d.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    if ferror(f) != 0 { throw TokenizedExportError("\(path): cannot read") }
    return SequenceDigest.hex(d.finalize())
  }

  /// One running SHA-256 per file of a token shard.
  final class Digests {
    var all = TokenShards.files.map { _ in StreamDigest() }
  }
}

public struct TokenizedExportError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

extension ConfigJSON.Node {
  subscript(key: String) -> ConfigJSON.Node? {
    guard case .object(let members) = value else { return nil }
    return members.first { $0.key == key }?.value
  }
  var stringValue: String? {
    if case .string(let s) = value { return s }
    return nil
  }
  var intValue: Int? {
    if case .number(_, let i?) = value { return Int(i) }
    return nil
  }
}

extension TokenizedExport.Options {
  /// The options for a text tokenizer file (`tokenizer.json` of a base model), or the byte
  /// tokenizer when `path` is nil. BOS and EOS are the named tokens when given; otherwise a
  /// `tokenizer_config.json` beside the file says (`bos_token` when `add_bos_token` is true,
  /// `eos_token`); otherwise the byte tokenizer's `<bos>`/`<eos>`, or for a file the first of
  /// `</s>`, `<|endoftext|>`, `<|end_of_text|>`, `<eos>` it has as EOS and no BOS.
  public static func load(tokenizer path: String?, bos: String? = nil, eos: String? = nil) throws -> TokenizedExport.Options {
    let text: any TextTokenizer
    var name = "bytes", sha: String?
    var bosID: Int?, eosID: Int?
    if let path {
      let bytes: [UInt8]
      do {
        bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
      } catch {
        throw TokenizedExportError("\(path): cannot read the tokenizer (\(error.localizedDescription))")
      }
      let hf = try HFTokenizer(json: bytes, name: path)
      text = hf
      name = (path as NSString).lastPathComponent
      sha = SequenceDigest.hex(SequenceDigest.sha256(bytes))
      let configPath = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("tokenizer_config.json")
      var configBOS: String?, configEOS: String?
      if let data = FileManager.default.contents(atPath: configPath), let root = try? ConfigJSON.parse(Array(data)) {
        func token(_ key: String) -> String? {
          guard let n = root[key] else { return nil }
          return n.stringValue ?? n["content"]?.stringValue
        }
        if case .bool(true)? = root["add_bos_token"]?.value { configBOS = token("bos_token") }
        configEOS = token("eos_token")
      }
      if let b = bos ?? configBOS {
        guard let id = hf.id(forToken: b) else { throw TokenizedExportError("\(path): no token \(b) for BOS") }
        bosID = id
      }
      if let e = eos ?? configEOS {
        guard let id = hf.id(forToken: e) else { throw TokenizedExportError("\(path): no token \(e) for EOS") }
        eosID = id
      } else {
        eosID = ["</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>"].lazy.compactMap { hf.id(forToken: $0) }.first
      }
    } else {
      let b = ByteTextTokenizer()
      text = b
      if let bos, b.tokenID(bos) == nil { throw TokenizedExportError("the byte tokenizer has no token \(bos)") }
      if let eos, b.tokenID(eos) == nil { throw TokenizedExportError("the byte tokenizer has no token \(eos)") }
      bosID = b.tokenID(bos ?? "<bos>")
      eosID = b.tokenID(eos ?? "<eos>")
    }
    var options = TokenizedExport.Options(text: text, textName: name, textSHA256: sha, bos: bosID, eos: eosID)
    if let path { options.textJSON = Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    return options
  }
}
