import Foundation

/// Version 2 of the token dataset: a build's records, tokenized, one token shard per build
/// shard. A directory holds `dataset.json` (`TokenShards.Manifest`) and per shard `NAME`:
///
/// - `NAME.tokens.bin`: every example's ids, concatenated, little-endian, `uint16` when the whole
///   vocabulary fits (`tokenType` in the manifest says which), else `uint32`;
/// - `NAME.offsets.bin`: little-endian `uint64`, examples + 1 values: example i is
///   `tokens[offsets[i] ..< offsets[i + 1]]`;
/// - `NAME.loss_mask.bin`: one `uint8` per token, 1 where the token is a next-token target;
/// - `NAME.examples.jsonl`: one line per example: `task`, `split`, `key` and `regression`
///   (`head`, `position` of the function tag's last virtual token, exact `target`); a generation
///   record with an output adds `outputStart` (where the output begins), a regression record
///   written as text (`--regression-as-text`) adds `numberTarget` (its exact value).
///
/// `Schemas/training-data.schema.json` describes the manifest and the example lines; numpy reads
/// the binary files with `np.fromfile` or `np.memmap`.
public enum TokenShards {
  public static let manifestName = "dataset.json"

  public struct Manifest: Codable, Sendable, Equatable {
    public var format = "tagdata-tokens"
    public var version = 2
    /// The text tokenizer's vocabulary size; tag ids follow it.
    public var vocabularySize: Int
    /// Tag name → its virtual token ids.
    public var tags: [String: [Int]]
    public var examples: Int
    public var tokens: Int
    /// `uint16` or `uint32`: the width of the ids in every `tokens.bin`.
    public var tokenType: String
    public var vocabulary: VocabularyInfo
    public var shards: [Shard]
    /// Examples per task and split.
    public var counts: [String: [String: Int]]
    /// Domain symbols without a token of their own (mapped to their range's unknown token).
    public var unknown: [String: Int]
    public var source: Source

    public init(vocabularySize: Int, tags: [String: [Int]], examples: Int, tokens: Int, tokenType: String,
                vocabulary: VocabularyInfo, shards: [Shard], counts: [String: [String: Int]], unknown: [String: Int],
                source: Source)
    {
      self.vocabularySize = vocabularySize
      self.tags = tags
      self.examples = examples
      self.tokens = tokens
      self.tokenType = tokenType
      self.vocabulary = vocabulary
      self.shards = shards
      self.counts = counts
      self.unknown = unknown
      self.source = source
    }
  }

  public struct VocabularyInfo: Codable, Sendable, Equatable {
    /// All ids are below this.
    public var size: Int
    /// The text tokenizer: a `tokenizer.json`'s name or `bytes` (the byte tokenizer).
    public var text: String
    public var textSize: Int
    /// SHA-256 of the text tokenizer's file, when it has one.
    public var textSHA256: String?
    public var bos: Int?
    public var eos: Int?
    public var tagList: [TagInfo]
    public var smiles: DomainRange?
    public var residues: DomainRange?
    public init(size: Int, text: String, textSize: Int, textSHA256: String?, bos: Int?, eos: Int?, tagList: [TagInfo],
                smiles: DomainRange?, residues: DomainRange?)
    {
      self.size = size
      self.text = text
      self.textSize = textSize
      self.textSHA256 = textSHA256
      self.bos = bos
      self.eos = eos
      self.tagList = tagList
      self.smiles = smiles
      self.residues = residues
    }
  }

  public struct TagInfo: Codable, Sendable, Equatable {
    public var name: String
    public var text: String
    public var kind: String
    public var firstID: Int
    public var tokens: Int
    public init(name: String, text: String, kind: String, firstID: Int, tokens: Int) {
      self.name = name
      self.text = text
      self.kind = kind
      self.firstID = firstID
      self.tokens = tokens
    }
  }

  /// A domain range: its first id and its token strings (the first is the unknown token).
  public struct DomainRange: Codable, Sendable, Equatable {
    public var firstID: Int
    public var tokens: [String]
    public init(firstID: Int, tokens: [String]) {
      self.firstID = firstID
      self.tokens = tokens
    }
  }

  public struct Shard: Codable, Sendable, Equatable {
    public var name: String
    public var examples: Int
    public var tokens: Int
    /// File suffix (`tokens.bin`, …) → SHA-256 of the file.
    public var sha256: [String: String]
    public init(name: String, examples: Int, tokens: Int, sha256: [String: String]) {
      self.name = name
      self.examples = examples
      self.tokens = tokens
      self.sha256 = sha256
    }
  }

  /// Where the examples come from: the build's manifest and configuration hashes.
  public struct Source: Codable, Sendable, Equatable {
    public var build: String
    public var buildManifestSHA256: String
    public var configSHA256: String?
    public var toolVersion: String
    public init(build: String, buildManifestSHA256: String, configSHA256: String?, toolVersion: String) {
      self.build = build
      self.buildManifestSHA256 = buildManifestSHA256
      self.configSHA256 = configSHA256
      self.toolVersion = toolVersion
    }
  }

  /// Whether `directory` holds a version-2 dataset (its manifest says version 2).
  public static func isVersion2(_ directory: String) throws -> Bool {
    struct Head: Decodable { var version: Int? }
    let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + manifestName))
    return (try? JSONDecoder().decode(Head.self, from: data))?.version == 2
  }

  public static let files = ["tokens.bin", "offsets.bin", "loss_mask.bin", "examples.jsonl"]

  /// Writes one shard's four files, streaming (buffers of 1 MiB).
  public final class Writer {
    public let name: String
    public private(set) var examples = 0
    public private(set) var tokens = 0
    let wide: Bool
    let handles: [FileHandle]
    var buffers: [[UInt8]]
    let encoder = JSONEncoder()
    /// Sees every byte written, file by file (index in `TokenShards.files`), in order: a digest
    /// of each file without reading it back.
    public var observe: ((Int, UnsafeRawBufferPointer) -> Void)?

    /// `wide`: ids as uint32 (else uint16; an id that does not fit is an error).
    public init(directory: String, name: String, wide: Bool) throws {
      self.name = name
      self.wide = wide
      var handles: [FileHandle] = []
      for f in TokenShards.files {
        let path = directory + "/" + name + "." + f
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
          throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        handles.append(try FileHandle(forWritingTo: URL(fileURLWithPath: path)))
      }
      self.handles = handles
      buffers = Array(repeating: [], count: 4)
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      append(1, UInt64(0))
    }

    func append<T: FixedWidthInteger>(_ file: Int, _ v: T) {
      withUnsafeBytes(of: v.littleEndian) { buffers[file].append(contentsOf: $0) }
    }

    public func append(_ e: Example_) throws {
      guard e.tokens.count == e.lossMask.count else { throw TokenShardError("\(name): tokens and loss mask differ in length") }
      for t in e.tokens {
        if wide {
          guard t >= 0 && t <= Int(UInt32.max) else { throw TokenShardError("\(name): id \(t) does not fit uint32") }
          append(0, UInt32(t))
        } else {
          guard t >= 0 && t <= Int(UInt16.max) else { throw TokenShardError("\(name): id \(t) does not fit uint16") }
          append(0, UInt16(t))
        }
      }
      tokens += e.tokens.count
      append(1, UInt64(tokens))
      for m in e.lossMask { buffers[2].append(m ? 1 : 0) }
      let spans = e.spans.isEmpty ? nil : e.spans.map { [$0.lowerBound, $0.upperBound] }
      buffers[3].append(contentsOf: try encoder.encode(TokenDataset.Line(task: e.task, regression: e.regression, split: e.split,
                                                                         key: e.key, spans: spans, outputStart: e.outputStart,
                                                                         numberTarget: e.numberTarget)))
      buffers[3].append(0x0A)
      examples += 1
      if buffers.contains(where: { $0.count >= 1 << 20 }) { try flush() }
    }

    func flush() throws {
      for (i, h) in handles.enumerated() where !buffers[i].isEmpty {
        if let observe { buffers[i].withUnsafeBytes { observe(i, $0) } }
        try h.write(contentsOf: buffers[i])
        buffers[i].removeAll(keepingCapacity: true)
      }
    }

    public func finish() throws {
      try flush()
      for h in handles {
        try h.synchronize()
        try h.close()
      }
    }
  }

  public typealias Example_ = TokenDataset.Example

  /// Reads a version-2 directory: the manifest and the examples of the chosen tasks and splits
  /// (all when nil), shard by shard, checking every file against the manifest.
  public static func read(from directory: String, tasks: Set<String>? = nil, splits: Set<String>? = nil) throws
    -> (manifest: Manifest, examples: [TokenDataset.Example])
  {
    let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/" + manifestName)))
    guard manifest.format == "tagdata-tokens", manifest.version == 2 else {
      throw TokenShardError("\(directory)/\(manifestName): not a version-2 tagdata token dataset")
    }
    let width: Int
    switch manifest.tokenType {
    case "uint16": width = 2
    case "uint32": width = 4
    default: throw TokenShardError("\(directory)/\(manifestName): tokenType \(manifest.tokenType) is neither uint16 nor uint32")
    }
    let decoder = JSONDecoder()
    var out: [TokenDataset.Example] = []
    for shard in manifest.shards {
      let base = directory + "/" + shard.name + "."
      func load(_ f: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: base + f)) }
      let tokens = try load("tokens.bin"), offsets = try load("offsets.bin"), mask = try load("loss_mask.bin")
      let lines = try load("examples.jsonl").split(separator: 0x0A, omittingEmptySubsequences: true)
      let n = shard.examples
      guard offsets.count == 8 * (n + 1), lines.count == n, tokens.count == width * shard.tokens, mask.count == shard.tokens else {
        throw TokenShardError("\(base)*: the files do not match the manifest (\(n) examples, \(shard.tokens) tokens)")
      }
      var previous = 0
      try tokens.withUnsafeBytes { tb in
        try offsets.withUnsafeBytes { ob in
          try mask.withUnsafeBytes { mb in
            for i in 0..<n {
              let a = Int(UInt64(littleEndian: ob.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
              let b = Int(UInt64(littleEndian: ob.loadUnaligned(fromByteOffset: 8 * (i + 1), as: UInt64.self)))
              guard a == previous, b >= a, b <= shard.tokens else {
                throw TokenShardError("\(base)offsets.bin: offset \(i + 1) is out of order or past the tokens")
              }
              previous = b
              let line: TokenDataset.Line
              do {
                line = try decoder.decode(TokenDataset.Line.self, from: Data(lines[i]))
              } catch {
                throw TokenShardError("\(base)examples.jsonl:\(i + 1): \(error)")
              }
              if let tasks, !tasks.contains(line.task) { continue }
              if let splits, !splits.contains(line.split ?? "") { continue }
              var ids = [Int](repeating: 0, count: b - a)
              for k in a..<b {
                ids[k - a] = width == 2 ? Int(UInt16(littleEndian: tb.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))
                  : Int(UInt32(littleEndian: tb.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
              }
var example = TokenDataset.Example(tokens: ids, lossMask: (a..<b).map { mb.load(fromByteOffset: $0, as: UInt8.self) != 0 },
                                                task: line.task, regression: line.regression, split: line.split, key: line.key)
              for sp in line.spans ?? [] {
                guard sp.count == 2, sp[0] >= 0, sp[0] < sp[1], sp[1] <= ids.count else {
                  throw TokenShardError("\(base)examples.jsonl:\(i + 1): span \(sp) is not a range inside the example's \(ids.count) tokens")
                }
                example.spans.append(sp[0]..<sp[1])
              }
              if let start = line.outputStart {
                guard start >= 0, start <= ids.count else {
                  throw TokenShardError("\(base)examples.jsonl:\(i + 1): outputStart \(start) is outside the example's \(ids.count) tokens")
                }
                example.outputStart = start
              }
              if let x = line.numberTarget {
                guard x.isFinite else { throw TokenShardError("\(base)examples.jsonl:\(i + 1): numberTarget is not finite") }
                example.numberTarget = x
              }
              out.append(example)
            }
          }
        }
      }
    }
    return (manifest, out)
  }
}

public struct TokenShardError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
