import TagdataIO

/// Trains a byte-level BPE tokenizer (GPT-2 style) from texts, for users without a base model, and
/// writes it as a Hugging Face `tokenizer.json` that `HFTokenizer` and `tokenizers` read.
///
/// Texts are given one at a time (`add(_:)`) and may hold any bytes:
/// - each run of valid UTF-8 is pre-tokenized with the chosen split pattern (GPT-2's by default,
///   the pattern of ByteLevel's `use_regex`), as `tokenizers` does with the same pre-tokenizer;
/// - a byte that is not part of valid UTF-8 ends the run and is a word of its own: a single
///   symbol, which takes part in no merge (it is counted in ``Statistics/invalidBytes`` only).
///   The 256 byte symbols are always in the vocabulary, so any byte sequence still encodes.
/// Special tokens written in the texts are ordinary text to the trainer, as to `tokenizers`.
///
/// Only the distinct words are kept, with their counts: memory grows with the number of distinct
/// words, not with the input (and ``Configuration/maximumDistinctWords`` bounds it). Training
/// takes about 27 bytes per byte of the distinct words (16 for the symbols' links, the rest for
/// the pairs' places); the distinct words' bytes are kept below 2 GiB (past it, the rarest quarter
/// of the words is dropped, as with the cap).
///
/// Ids: the special tokens are 0..<k in the order given, then the 256 byte symbols ordered by
/// their byte-level character's code point (U+0021 "!" first, U+0143 last), then each merge's new
/// token in the order of the merges (a merge whose token already exists adds no id).
///
/// Merges: repeatedly the adjacent pair of symbols with the highest count (summed over words,
/// weighted by the words' counts) is merged in every word that has it, left to right without
/// overlap. Ties go to the pair with the smallest (first id, second id). Training stops when the
/// vocabulary has ``Configuration/vocabularySize`` tokens, or when the best pair is seen fewer than
/// ``Configuration/minimumFrequency`` times. These are the rules of `tokenizers`' BpeTrainer with
/// the same special tokens and the byte-level alphabet as its initial alphabet.
///
/// The result depends only on the texts, their order (when words are dropped, see
/// ``Configuration/maximumDistinctWords``) and the configuration: nothing follows a hash table's
/// order, so two runs give byte-identical files. Training is single-threaded; each merge visits
/// only the places where its pair occurs (a pair → places index and a priority queue), so the work
/// is about O(symbols × log) rather than O(vocabulary × corpus).
public struct BPETrainer: Sendable {
  /// How texts are split into words before BPE.
  public enum PreTokenization: String, Sendable, CaseIterable {
    /// GPT-2's pattern, as ByteLevel's own regex (`use_regex` true):
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// LLaMA-3's pattern in a `Split` before ByteLevel (`use_regex` false).
    case llama3
  }

  public struct Configuration: Sendable, Equatable {
    /// The number of tokens wanted, special tokens and the 256 byte symbols included.
    public var vocabularySize: Int
    /// A pair seen fewer times than this is not merged.
    public var minimumFrequency: Int
    /// Special tokens: ids 0..<k, added tokens with `special` true.
    public var specialTokens: [String]
    public var preTokenization: PreTokenization
    /// Bytes of input read at most: the rest of the text that crosses it, and later texts, are
    /// left out (``Statistics/truncated``). Nil: no limit.
    public var maximumInputBytes: Int?
    /// Distinct words kept at most while counting, nil for no limit. When the table grows past it,
    /// the rarest words (fewest occurrences so far; among equals, the greatest bytes) are dropped
    /// until a quarter of it is free, so that memory stays bounded on endless input. A dropped
    /// word seen again starts counting from zero: counts become approximate (words that were rare
    /// early lose their first occurrences), and depend on the order of the texts.
    public var maximumDistinctWords: Int?

    public init(vocabularySize: Int = 8000, minimumFrequency: Int = 2, specialTokens: [String] = ["<|endoftext|>"],
                preTokenization: PreTokenization = .gpt2, maximumInputBytes: Int? = nil, maximumDistinctWords: Int? = nil)
    {
      self.vocabularySize = vocabularySize
      self.minimumFrequency = minimumFrequency
      self.specialTokens = specialTokens
      self.preTokenization = preTokenization
      self.maximumInputBytes = maximumInputBytes
      self.maximumDistinctWords = maximumDistinctWords
    }
  }

  /// What the trainer has read.
  public struct Statistics: Sendable, Equatable {
    /// Texts given to `add(_:)` (those past ``Configuration/maximumInputBytes`` included).
    public var texts = 0
    /// Bytes read (up to ``Configuration/maximumInputBytes``).
    public var bytes = 0
    /// Words (pre-tokenized pieces) counted, with repetition.
    public var words = 0
    /// Bytes that were not part of valid UTF-8.
    public var invalidBytes = 0
    /// Distinct words dropped to keep within ``Configuration/maximumDistinctWords``.
    public var droppedWords = 0
    /// Whether input was left out because of ``Configuration/maximumInputBytes``.
    public var truncated = false
  }

  public let configuration: Configuration
  public private(set) var statistics = Statistics()
  /// The distinct words (UTF-8 bytes of a piece) and their counts.
  private var table = WordTable()
  // Scratch buffers of the pre-tokenizer, grown to the longest text: its scalars, their classes
  // and their byte offsets (one more, the end).
  private var scalars: [Unicode.Scalar] = []
  private var classes: [UInt8] = []
  private var offsets: [Int] = []
  private var pieces: [Range<Int>] = []
  /// The classes of the Basic Multilingual Plane's scalars, filled as they are met (255: not yet).
  private var classCache = [UInt8](repeating: 255, count: 0x10000)
  private let asciiClasses = SplitPattern.asciiClasses
  /// The distinct words' bytes kept at most (training numbers their symbols with Int32): past it,
  /// the rarest quarter of the words is dropped, as with ``Configuration/maximumDistinctWords``.
  var tableByteLimit = Int(Int32.max) - 1

  /// - Throws: `BPETrainerError` when the configuration cannot be trained (a vocabulary smaller
  ///   than the special tokens and the 256 byte symbols, an empty or repeated special token, a
  ///   limit below 1).
  public init(_ configuration: Configuration = Configuration()) throws {
    let c = configuration
    var seen = Set<String>()
    for t in c.specialTokens {
      if t.isEmpty { throw BPETrainerError("a special token is empty") }
      if !seen.insert(t).inserted { throw BPETrainerError("the special token \(JSONString.quoted(t)) is given twice") }
    }
    let base = Self.baseVocabulary(c.specialTokens).tokens.count
    if c.vocabularySize < base {
      throw BPETrainerError("the vocabulary size \(c.vocabularySize) is below the \(base) tokens every vocabulary has (the special tokens, \(c.specialTokens.count), and the 256 byte symbols)")
    }
    if c.minimumFrequency < 0 { throw BPETrainerError("the minimum frequency \(c.minimumFrequency) is negative") }
    if let m = c.maximumInputBytes, m < 0 { throw BPETrainerError("the maximum input bytes \(m) is negative") }
    if let m = c.maximumDistinctWords, m < 4 { throw BPETrainerError("the maximum of distinct words \(m) is below 4") }
    self.configuration = c
  }

  /// The number of distinct words kept.
  public var distinctWords: Int { table.count }

  public mutating func add(_ text: String) {
    var t = text
    t.withUTF8 { add($0) }
  }

  public mutating func add(_ text: [UInt8]) { text.withUnsafeBufferPointer { add($0) } }

  public mutating func add(_ text: ArraySlice<UInt8>) { text.withUnsafeBufferPointer { add($0) } }

  /// Counts the words of one text (any bytes).
  public mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
    statistics.texts += 1
    var n = text.count
    if let limit = configuration.maximumInputBytes {
      let left = max(0, limit - statistics.bytes)
      if n > left {
        n = left
        statistics.truncated = true
      }
    }
    if n == 0 { return }
    statistics.bytes += n
    if scalars.count < n + 1 {
      let size = max(n + 1, scalars.count * 2)
      scalars = Array(repeating: "\0", count: size)
      classes = Array(repeating: 0, count: size)
      offsets = Array(repeating: 0, count: size)
    }
    var i = 0
    while i < n {
      // The run of valid UTF-8 from i, decoded into the scratch buffers.
      let (count, stop) = decodeRun(text, from: i, to: n)
      if count > 0 { countRun(text, count, end: stop) }
      if stop < n {
        statistics.invalidBytes += 1
        statistics.words += 1
      }
      i = stop + 1
    }
    if scalars.count > 1 << 20 {
      // Scratch for a long text (13 bytes a byte) is not kept for the next ones, nor for training.
      (scalars, classes, offsets) = ([], [], [])
    }
  }

  /// Decodes valid UTF-8 from `start` into the scratch buffers (scalars, classes, offsets) up to
  /// the first byte that is not part of valid UTF-8, or `n`: the scalars decoded and where it stopped.
  private mutating func decodeRun(_ text: UnsafeBufferPointer<UInt8>, from start: Int, to n: Int) -> (Int, Int) {
    var sc = scalars, cl = classes, off = offsets, cache = classCache
    (scalars, classes, offsets, classCache) = ([], [], [], [])
    defer { (scalars, classes, offsets, classCache) = (sc, cl, off, cache) }
    let ascii = asciiClasses
    var i = start, k = 0
    sc.withUnsafeMutableBufferPointer { s in
      cl.withUnsafeMutableBufferPointer { c in
        off.withUnsafeMutableBufferPointer { o in
          cache.withUnsafeMutableBufferPointer { memo in
            while i < n {
              let b = text[i]
              if b < 0x80 {
                s[k] = Unicode.Scalar(b)
                c[k] = ascii[Int(b)]
                o[k] = i
                k += 1
                i += 1
                continue
              }
              guard let (u, len) = Self.scalar(text, i, n) else { break }
              s[k] = u
              if u.value < 0x10000 {
                var m = memo[Int(u.value)]
                if m == 255 {
                  m = SplitPattern.classify(u)
                  memo[Int(u.value)] = m
                }
                c[k] = m
              } else {
                c[k] = SplitPattern.classify(u)
              }
              o[k] = i
              k += 1
              i += len
            }
            o[k] = i
          }
        }
      }
    }
    return (k, i)
  }

  /// Pre-tokenizes the `count` scalars in the scratch buffers and counts their words.
  private mutating func countRun(_ text: UnsafeBufferPointer<UInt8>, _ count: Int, end: Int) {
    pieces.removeAll(keepingCapacity: true)
    switch configuration.preTokenization {
    case .gpt2:
      SplitPattern.gpt2.split(scalars, classes, 0..<count, into: &pieces)
    case .llama3:
      // The Split, then ByteLevel's own (no regex): the Split's pieces.
      SplitPattern.llama3.split(scalars, classes, 0..<count, into: &pieces)
    }
    let cap = configuration.maximumDistinctWords ?? Int.max
    for r in pieces {
      table.add(UnsafeBufferPointer(rebasing: text[offsets[r.lowerBound]..<offsets[r.upperBound]]))
      statistics.words += 1
      if table.count > cap || table.bytes.count > tableByteLimit {
        let keep = min(cap, table.count) - min(cap, table.count) / 4
        statistics.droppedWords += table.count - keep
        table.prune(keeping: keep)
      }
    }
  }

  /// The scalar of valid UTF-8 at `i` and its length, nil when the byte there does not start one.
  @inline(__always)
  static func scalar(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> (Unicode.Scalar, Int)? {
    let b0 = b[i]
    if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
    @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> UInt32? {
      guard k < n, b[k] >= lo, b[k] <= hi else { return nil }
      return UInt32(b[k] & 0x3F)
    }
    switch b0 {
    case 0xC2...0xDF:
      guard let c1 = cont(i + 1) else { return nil }
      return (Unicode.Scalar(UInt32(b0 & 0x1F) << 6 | c1)!, 2)
    case 0xE0...0xEF:
      let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80, hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
      guard let c1 = cont(i + 1, lo, hi), let c2 = cont(i + 2) else { return nil }
      return (Unicode.Scalar(UInt32(b0 & 0x0F) << 12 | c1 << 6 | c2)!, 3)
    case 0xF0...0xF4:
      let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80, hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
      guard let c1 = cont(i + 1, lo, hi), let c2 = cont(i + 2), let c3 = cont(i + 3) else { return nil }
      return (Unicode.Scalar(UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3)!, 4)
    default:
      return nil
    }
  }

  /// The tokens before any merge: the special tokens, then the byte symbols by code point.
  static func baseVocabulary(_ specials: [String]) -> (tokens: [String], ids: [String: Int32], byteIDs: [Int32]) {
    var tokens: [String] = []
    var ids: [String: Int32] = [:]
    for t in specials where ids[t] == nil {
      ids[t] = Int32(tokens.count)
      tokens.append(t)
    }
    let order = (0..<256).sorted { ByteLevelMap.characters[$0].value < ByteLevelMap.characters[$1].value }
    var byteIDs = [Int32](repeating: 0, count: 256)
    for b in order {
      let s = String(Character(ByteLevelMap.characters[b]))
      if let id = ids[s] {
        byteIDs[b] = id
      } else {
        ids[s] = Int32(tokens.count)
        byteIDs[b] = Int32(tokens.count)
        tokens.append(s)
      }
    }
    return (tokens, ids, byteIDs)
  }

  /// Learns the merges from the words counted so far.
  public func train() -> TrainedBPE {
    let c = configuration
    var (tokens, ids, byteIDs) = Self.baseVocabulary(c.specialTokens)
    // Symbols of all words, one slot per byte, linked within their word. The words are in the
    // order the table holds them (first seen, or by count after pruning); no result depends on
    // that order: pair counts are sums, and each word is merged on its own, left to right.
    let words = table
    let total = words.bytes.count
    var sym = [Int32](repeating: -1, count: total)
    var next = [Int32](repeating: -1, count: total)
    var prev = [Int32](repeating: -1, count: total)
    var wordOf = [Int32](repeating: 0, count: total)
    let weight = words.counts
    for k in 0..<words.count {
      let start = words.starts[k], end = words.starts[k + 1]
      for q in start..<end {
        sym[q] = byteIDs[Int(words.bytes[q])]
        wordOf[q] = Int32(k)
        if q > start { prev[q] = Int32(q - 1) }
        if q + 1 < end { next[q] = Int32(q + 1) }
      }
    }

    // Pairs: index by (first, second); count; the places where they occur (first symbol's slot,
    // checked when used: a place may have gone since).
    var pairIndex: [UInt64: Int32] = [:]
    var pairKey: [UInt64] = []
    var pairCount: [Int] = []
    var places: [[Int32]] = []
    @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
    func index(_ a: Int32, _ b: Int32) -> Int {
      let k = key(a, b)
      if let i = pairIndex[k] { return Int(i) }
      pairIndex[k] = Int32(pairKey.count)
      pairKey.append(k)
      pairCount.append(0)
      places.append([])
      return pairKey.count - 1
    }
    for q in 0..<total where next[q] >= 0 {
      let i = index(sym[q], sym[Int(next[q])])
      pairCount[i] += weight[Int(wordOf[q])]
      places[i].append(Int32(q))
    }
    var heap = PairHeap()
    for i in 0..<pairKey.count where pairCount[i] > 0 {
      heap.push(.init(count: pairCount[i], key: pairKey[i], index: Int32(i)))
    }

    var merges: [(Int32, Int32)] = []
    var raised: [Int32] = []
    var raisedMark: [Bool] = []
    func raise(_ i: Int, by w: Int) {
      pairCount[i] += w
      if i >= raisedMark.count { raisedMark.append(contentsOf: repeatElement(false, count: i + 1 - raisedMark.count)) }
      if !raisedMark[i] {
        raisedMark[i] = true
        raised.append(Int32(i))
      }
    }
    func lower(_ i: Int, by w: Int) {
      pairCount[i] -= w
      // No place of a pair seen 0 times is current: let them go.
      if pairCount[i] == 0 { places[i] = [] }
    }
    while tokens.count < c.vocabularySize, let top = heap.pop() {
      let i = Int(top.index)
      let current = pairCount[i]
      if top.count != current {
        // A stale entry: a lower count is queued again; a higher one has an entry of its own.
        if current > 0 && current < top.count { heap.push(.init(count: current, key: top.key, index: top.index)) }
        continue
      }
      if current < 1 || current < c.minimumFrequency { break }
      let a = Int32(truncatingIfNeeded: top.key >> 32), b = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
      let merged = tokens[Int(a)] + tokens[Int(b)]
      let id: Int32
      if let existing = ids[merged] {
        id = existing
      } else {
        id = Int32(tokens.count)
        ids[merged] = id
        tokens.append(merged)
      }
      merges.append((a, b))
      var at = places[i]
      places[i] = []
      at.sort()  // left to right within each word: (x, x) merges without overlap
      for q32 in at {
        let q = Int(q32)
        guard sym[q] == a else { continue }
        let r = Int(next[q])
        guard r >= 0, sym[r] == b else { continue }
        let w = weight[Int(wordOf[q])]
        let l = Int(prev[q])
        if l >= 0 {
          lower(index(sym[l], a), by: w)
          let j = index(sym[l], id)
          raise(j, by: w)
          places[j].append(Int32(l))
        }
        let s = Int(next[r])
        if s >= 0 {
          lower(index(b, sym[s]), by: w)
          let j = index(id, sym[s])
          raise(j, by: w)
          places[j].append(Int32(q))
          prev[s] = Int32(q)
        }
        sym[q] = id
        next[q] = Int32(s)
        sym[r] = -1
        next[r] = -1
        prev[r] = -1
      }
      pairCount[i] = 0
      for j in raised {
        raisedMark[Int(j)] = false
        if pairCount[Int(j)] > 0 {
          heap.push(.init(count: pairCount[Int(j)], key: pairKey[Int(j)], index: j))
        }
      }
      raised.removeAll(keepingCapacity: true)
    }
    return TrainedBPE(configuration: c, tokens: tokens, merges: merges, statistics: statistics, distinctWords: table.count)
  }

  /// Trains and writes the tokenizer.json.
  public func tokenizerJSON() -> [UInt8] { train().tokenizerJSON() }
}

/// A trained byte-level BPE tokenizer.
public struct TrainedBPE: Sendable {
  public let configuration: BPETrainer.Configuration
  /// The token string of each id (byte-level characters; a special token's content).
  public let tokens: [String]
  /// The merges in rank order, as pairs of ids.
  public let merges: [(Int32, Int32)]
  public let statistics: BPETrainer.Statistics
  public let distinctWords: Int

  /// The merges in rank order, as pairs of token strings.
  public var mergeStrings: [(String, String)] { merges.map { (tokens[Int($0.0)], tokens[Int($0.1)]) } }

  static let llama3Source = SplitPattern.llama3Source

  /// A Hugging Face tokenizer.json (version 1.0, the keys in the order `tokenizers` writes them):
  /// model BPE (vocab in id order, merges as [a, b] pairs, byte_fallback and ignore_merges false),
  /// added_tokens for the special tokens, no normalizer, pre-tokenizer ByteLevel (add_prefix_space
  /// false, use_regex true; for LLaMA-3's pattern a Split before ByteLevel without regex),
  /// decoder ByteLevel, no post-processor. Deterministic bytes, ending in a newline.
  public func tokenizerJSON() -> [UInt8] {
    var o: [UInt8] = []
    o.reserveCapacity(tokens.count * 24 + merges.count * 24 + 1024)
    func w(_ s: String) { o.append(contentsOf: s.utf8) }
    func q(_ s: String) { JSONString.append(s, to: &o) }
    w("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
    for (k, t) in configuration.specialTokens.enumerated() {
      w(k == 0 ? "\n    " : ",\n    ")
      w("{\"id\": \(k), \"content\": ")
      q(t)
      w(", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}")
    }
    w(configuration.specialTokens.isEmpty ? "],\n" : "\n  ],\n")
    w("  \"normalizer\": null,\n")
    switch configuration.preTokenization {
    case .gpt2:
      w("  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n")
    case .llama3:
      w("  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": ")
      q(Self.llama3Source)
      w("}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]},\n")
    }
    w("  \"post_processor\": null,\n")
    w("  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n")
    w("  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n")
    w("    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n")
    w("    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": {")
    for (id, t) in tokens.enumerated() {
      w(id == 0 ? "\n      " : ",\n      ")
      q(t)
      w(": \(id)")
    }
    w(tokens.isEmpty ? "},\n" : "\n    },\n")
    w("    \"merges\": [")
    for (k, (a, b)) in merges.enumerated() {
      w(k == 0 ? "\n      [" : ",\n      [")
      q(tokens[Int(a)])
      w(", ")
      q(tokens[Int(b)])
      w("]")
    }
    w(merges.isEmpty ? "]\n" : "\n    ]\n")
    w("  }\n}\n")
    return o
  }
}

/// A configuration the trainer refuses.
public struct BPETrainerError: Error, CustomStringConvertible, Sendable, Equatable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "invalid BPE training configuration: \(message)" }
}

/// A binary max-heap of pair counts: the highest count first, among equal counts the smallest
/// (first id, second id) key.
struct PairHeap {
  struct Entry {
    var count: Int
    var key: UInt64
    var index: Int32
    @inline(__always) func before(_ o: Entry) -> Bool { count != o.count ? count > o.count : key < o.key }
  }

  private var items: [Entry] = []

  var isEmpty: Bool { items.isEmpty }

  mutating func push(_ e: Entry) {
    items.append(e)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard items[i].before(items[parent]) else { break }
      items.swapAt(i, parent)
      i = parent
    }
  }

  mutating func pop() -> Entry? {
    guard let top = items.first else { return nil }
    let last = items.removeLast()
    if !items.isEmpty {
      items[0] = last
      var i = 0
      let n = items.count
      while true {
        let l = 2 * i + 1, r = l + 1
        var best = i
        if l < n && items[l].before(items[best]) { best = l }
        if r < n && items[r].before(items[best]) { best = r }
        if best == i { break }
        items.swapAt(i, best)
        i = best
      }
    }
    return top
  }
}

/// Distinct words and their counts: the words' bytes one after another in one array, an open
/// addressing table of their indices (a hash seeded per process: its order is never used).
struct WordTable: Sendable {
  private(set) var bytes: [UInt8] = []
  /// Word k is bytes[starts[k]..<starts[k + 1]].
  private(set) var starts: [Int] = [0]
  private(set) var counts: [Int] = []
  private var hashes: [UInt64] = []
  /// Word index + 1 in each slot, 0 for none; a power of two long.
  private var slots = [Int32](repeating: 0, count: 1 << 10)
  private let seed: UInt64

  init() { seed = UInt64.random(in: .min ... .max) }

  var count: Int { counts.count }

  func word(_ k: Int) -> ArraySlice<UInt8> { bytes[starts[k]..<starts[k + 1]] }

  @inline(__always) func hash(_ w: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var h = seed ^ (UInt64(w.count) &* 0x9E37_79B9_7F4A_7C15)
    var i = 0
    let n = w.count
    let raw = UnsafeRawPointer(w.baseAddress)
    while i + 8 <= n {
      h = (h ^ raw!.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
      h ^= h >> 29
      i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
      tail |= UInt64(w[i]) << shift
      shift += 8
      i += 1
    }
    h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
    h ^= h >> 31
    h = h &* 0xBF58_476D_1CE4_E5B9
    return h ^ (h >> 32)
  }

  /// Counts one occurrence of a word.
  mutating func add(_ w: UnsafeBufferPointer<UInt8>) {
    let h = hash(w)
    let mask = slots.count - 1
    var i = Int(truncatingIfNeeded: h) & mask
    while true {
      let s = Int(slots[i])
      if s == 0 { break }
      let k = s - 1
      if hashes[k] == h && starts[k + 1] - starts[k] == w.count {
        let same = bytes.withUnsafeBufferPointer { b in
          UnsafeBufferPointer(rebasing: b[starts[k]..<starts[k + 1]]).elementsEqual(w)
        }
        if same {
          counts[k] += 1
          return
        }
      }
      i = (i + 1) & mask
    }
    slots[i] = Int32(counts.count + 1)
    bytes.append(contentsOf: w)
    starts.append(bytes.count)
    counts.append(1)
    hashes.append(h)
    if counts.count * 2 > slots.count { rehash(slots.count * 2) }
  }

  private mutating func rehash(_ size: Int) {
    slots = [Int32](repeating: 0, count: size)
    let mask = size - 1
    for k in 0..<counts.count {
      var i = Int(truncatingIfNeeded: hashes[k]) & mask
      while slots[i] != 0 { i = (i + 1) & mask }
      slots[i] = Int32(k + 1)
    }
  }

  /// Keeps the `keep` most frequent words (among equal counts, the smallest bytes).
  mutating func prune(keeping keep: Int) {
    var order = Array(0..<counts.count)
    order.sort { a, b in counts[a] != counts[b] ? counts[a] > counts[b] : word(a).lexicographicallyPrecedes(word(b)) }
    var nb: [UInt8] = [], ns = [0], nc: [Int] = [], nh: [UInt64] = []
    for k in order.prefix(keep) {
      nb.append(contentsOf: word(k))
      ns.append(nb.count)
      nc.append(counts[k])
      nh.append(hashes[k])
    }
    (bytes, starts, counts, hashes) = (nb, ns, nc, nh)
    rehash(slots.count)
  }

}
