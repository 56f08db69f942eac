import Foundation

/// The training-data interface: tokenized examples on disk, written by the dataset exporter
/// and read by the trainer (and by numpy: `np.memmap`). A directory holds
///
/// - `tokens.bin`: every example's token ids, concatenated, little-endian uint32;
/// - `offsets.bin`: little-endian uint64, examples + 1 values: example i is
///   `tokens[offsets[i] ..< offsets[i + 1]]`;
/// - `loss_mask.bin`: one uint8 per token: 1 where the token is a next-token target (its loss
///   counts), 0 for prompts, tags and inputs;
/// - `examples.jsonl`: one JSON object per example: `task`, and `regression`, a list of
///   `{"head", "position", "target"}` (position within the example of the token whose hidden
///   state feeds the head: the function tag's last virtual token);
/// - `dataset.json`: the manifest (format, version, vocabulary size, tag token ids, counts).
///
/// `Schemas/training-data.schema.json` describes `dataset.json` and the `examples.jsonl` lines.
public struct TokenDataset: Sendable {
  public struct Example: Sendable, Equatable {
    public var tokens: [Int]
    public var lossMask: [Bool]
    public var task: String
    public var regression: [Regression]
    /// The example's split in the build (`train`, `valid`, `test`), when it comes from one.
    public var split: String?
    /// The build record's key (its link back to the record and the catalog).
    public var key: String?
    /// Tag-LLM's bidirectional blocks: each domain tag with its input, as half-open position ranges.
    public var spans: [Range<Int>] = []
    /// Where the record's output begins (a generation record with an output, such as Translate's
    /// target sentence): the prompt is `tokens[..<outputStart]`, what an evaluator decodes from.
    public var outputStart: Int?
    /// The exact value of a regression record written as text (its label string is the output,
    /// decoded and parsed by the evaluator, compared with this).
    public var numberTarget: Double?

    public init(tokens: [Int], lossMask: [Bool], task: String, regression: [Regression] = [], split: String? = nil,
                key: String? = nil)
    {
      self.tokens = tokens
      self.lossMask = lossMask
      self.task = task
      self.regression = regression
      self.split = split
      self.key = key
    }
  }

  public struct Regression: Codable, Sendable, Equatable {
    public var head: String
    public var position: Int
    public var target: Double
    public init(head: String, position: Int, target: Double) {
      self.head = head
      self.position = position
      self.target = target
    }
  }

  public struct Manifest: Codable, Sendable, Equatable {
    public var format = "tagdata-tokens"
    public var version = 1
    public var vocabularySize: Int
    /// Tag name → its virtual token ids.
    public var tags: [String: [Int]]
    public var examples: Int
    public var tokens: Int
  }

  struct Line: Codable {
    var task: String
    var regression: [Regression]
    var split: String?
    var key: String?
    /// [start, end) of each bidirectional block; absent when there is none.
    var spans: [[Int]]?
    /// Absent unless set (older readers ignore them).
    var outputStart: Int? = nil
    var numberTarget: Double? = nil
  }

  public var manifest: Manifest
  public var examples: [Example]

  public init(vocabularySize: Int, tags: [String: [Int]], examples: [Example]) {
    manifest = Manifest(vocabularySize: vocabularySize, tags: tags, examples: examples.count,
                        tokens: examples.reduce(0) { $0 + $1.tokens.count })
    self.examples = examples
  }

  public func write(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var tokens = Data(), offsets = Data(), mask = Data(), lines = Data()
    var offset: UInt64 = 0
    func append<T: FixedWidthInteger>(_ data: inout Data, _ v: T) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    append(&offsets, offset)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    for e in examples {
      precondition(e.tokens.count == e.lossMask.count)
      for t in e.tokens { append(&tokens, UInt32(t)) }
      for m in e.lossMask { mask.append(m ? 1 : 0) }
      offset += UInt64(e.tokens.count)
      append(&offsets, offset)
      lines.append(try encoder.encode(Line(task: e.task, regression: e.regression, split: e.split, key: e.key,
                                           spans: e.spans.isEmpty ? nil : e.spans.map { [$0.lowerBound, $0.upperBound] },
                                           outputStart: e.outputStart, numberTarget: e.numberTarget)))
      lines.append(0x0A)
    }
    try tokens.write(to: URL(fileURLWithPath: directory + "/tokens.bin"))
    try offsets.write(to: URL(fileURLWithPath: directory + "/offsets.bin"))
    try mask.write(to: URL(fileURLWithPath: directory + "/loss_mask.bin"))
    try lines.write(to: URL(fileURLWithPath: directory + "/examples.jsonl"))
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    try encoder.encode(manifest).write(to: URL(fileURLWithPath: directory + "/dataset.json"))
  }

  public static func read(from directory: String) throws -> TokenDataset {
    let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/dataset.json")))
    let tokens = try Data(contentsOf: URL(fileURLWithPath: directory + "/tokens.bin"))
    let offsets = try Data(contentsOf: URL(fileURLWithPath: directory + "/offsets.bin"))
    let mask = try Data(contentsOf: URL(fileURLWithPath: directory + "/loss_mask.bin"))
    let lines = try String(contentsOfFile: directory + "/examples.jsonl", encoding: .utf8).split(separator: "\n")
    func u32(_ i: Int) -> Int { tokens.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) } }
    func u64(_ i: Int) -> Int { offsets.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) } }
    let n = offsets.count / 8 - 1
    guard n == manifest.examples, lines.count == n, tokens.count == 4 * manifest.tokens, mask.count == manifest.tokens else {
      throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: directory])
    }
    let decoder = JSONDecoder()
    var examples: [Example] = []
    for i in 0..<n {
      let (a, b) = (u64(i), u64(i + 1))
      let line = try decoder.decode(Line.self, from: Data(lines[i].utf8))
      var e = Example(tokens: (a..<b).map(u32), lossMask: (a..<b).map { mask[$0] != 0 }, task: line.task,
                      regression: line.regression, split: line.split, key: line.key)
      e.outputStart = line.outputStart
      e.numberTarget = line.numberTarget
      examples.append(e)
    }
    var d = TokenDataset(vocabularySize: manifest.vocabularySize, tags: manifest.tags, examples: examples)
    d.manifest = manifest
    return d
  }
}
