import Foundation
import TagdataIO

/// How the leakage report looks for near-duplicate sequences.
///
/// Identity of two sequences = 1 - (edit distance) / (length of the longer), the Levenshtein
/// distance on the residue bytes (a global alignment with unit costs; close to the identity of a
/// global alignment divided by the longer length). For a threshold t the allowed distance is
/// e = floor((1 - t) * longer length); it is computed by a banded dynamic programme (band e, stops
/// as soon as a row exceeds e), O(e * length).
///
/// Candidates come from a k-mer index (k = 5 by default, residues as bytes): only pairs of
/// sequences in different splits whose lengths differ by at most e and that share at least
/// (shorter - k + 1) - k * e k-mers (counted with multiplicity; the q-gram lemma: each edit
/// destroys at most k k-mers, so no pair above the threshold is missed) are aligned. k-mers held by
/// more than `maxPostings` sequences (low complexity, large families) are not counted; the bound is
/// lowered by the query's occurrences of them, so it stays lossless. Where the bound falls below 1
/// (low thresholds, short sequences, many over-common k-mers), one counted shared k-mer is asked
/// for and the search is no longer exhaustive for that sequence: the report counts such sequences
/// in `sequencesWithoutGuarantee`. Sequences shorter than k are only matched when identical (and
/// counted there too). Work of the counting is at most (distinct k-mers of a sequence) *
/// `maxPostings` per sequence. At most `maxAlignments`
/// alignments and `maxCells` dynamic-programming cells (band width times length, counted before
/// each alignment) are spent; when either budget ends the search stops and the report says
/// `sequenceSearchComplete: false`.
public struct LeakageOptions: Sendable, Equatable {
  public var identityThreshold: Double
  public var kmer: Int
  /// Listed keys / pairs per category and split pair (the totals are always complete).
  public var listCap: Int
  public var maxAlignments: Int
  public var maxCells: Int
  public var maxPostings: Int

  public init(
    identityThreshold: Double = 0.9, kmer: Int = 5, listCap: Int = 100, maxAlignments: Int = 200_000,
    maxPostings: Int = 200, maxCells: Int = 1_000_000_000
  ) {
    self.maxCells = maxCells
    self.identityThreshold = identityThreshold
    self.kmer = min(max(kmer, 1), 12)
    self.listCap = max(listCap, 0)
    self.maxAlignments = maxAlignments
    self.maxPostings = max(maxPostings, 1)
  }
}

/// Overlaps between the splits: for each pair of splits, the keys found in both.
public struct LeakageReport: Codable, Sendable, Equatable {
  public struct KeyOverlap: Codable, Sendable, Equatable {
    /// Distinct keys present in both splits.
    public var total: Int
    /// The first `listCap` of them, sorted.
    public var keys: [String]
  }
  public struct SequencePair: Codable, Sendable, Equatable {
    public var exampleA: Int
    public var exampleB: Int
    public var targetA: String
    public var targetB: String
    public var lengthA: Int
    public var lengthB: Int
    public var identity: Double
  }
  public struct SequenceOverlap: Codable, Sendable, Equatable {
    /// Distinct sequence pairs (one from each split) at or above the threshold.
    public var total: Int
    /// The first `listCap` found, highest identity first.
    public var pairs: [SequencePair]
  }
  public struct PairOverlap: Codable, Sendable, Equatable {
    public var a: SplitName
    public var b: SplitName
    public var examples: KeyOverlap
    public var molecules: KeyOverlap
    public var scaffolds: KeyOverlap
    public var targets: KeyOverlap
    public var nearDuplicateSequences: SequenceOverlap
  }

  /// Examples per split (`train`, `valid`, `test`).
  public var examples: [String: Int]
  /// Examples without a split (duplicates removed, excluded).
  public var unassigned: Int
  /// From the `SplitAssignment`, when the report is made from one.
  public var duplicatesRemoved: Int?
  public var excluded: Int?
  public var identityThreshold: Double
  public var kmer: Int
  public var alignments: Int
  public var sequenceSearchComplete: Bool
  /// Sequences for which a near-duplicate partner could have been missed by the prefilter.
  public var sequencesWithoutGuarantee: Int
  public var pairs: [PairOverlap]

  public func pair(_ a: SplitName, _ b: SplitName) -> PairOverlap? {
    pairs.first { ($0.a == a && $0.b == b) || ($0.a == b && $0.b == a) }
  }

  public func jsonData() throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try e.encode(self)
  }

  public func writeJSON(to path: String) throws {
    try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  public func writeMarkdown(to path: String) throws {
    try Data(markdown().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  /// A short summary: counts per split pair and the first few keys of each leaking category,
  /// under `heading` (a Markdown heading line; nil: none, for a report inside a larger one).
  public func markdown(examplesPerCategory: Int = 3, heading: String? = "# Leakage report") -> String {
    var s = heading.map { $0 + "\n\n" } ?? ""
    let counts = SplitName.allCases.map { "\($0.rawValue) \(examples[$0.rawValue] ?? 0)" }.joined(separator: ", ")
    s += "Examples: \(counts); unassigned \(unassigned)"
    if let duplicatesRemoved { s += " (duplicates removed \(duplicatesRemoved)" + (excluded.map { ", excluded \($0)" } ?? "") + ")" }
    s += ".\n\n"
    let t = String(format: "%.2f", identityThreshold)
    s += "| splits | examples | molecules | scaffolds | targets | sequences >= \(t) |\n"
    s += "|---|---|---|---|---|---|\n"
    for p in pairs {
      s += "| \(p.a.rawValue)-\(p.b.rawValue) | \(p.examples.total) | \(p.molecules.total) | \(p.scaffolds.total)"
      s += " | \(p.targets.total) | \(p.nearDuplicateSequences.total) |\n"
    }
    s += "\nSequence search: \(alignments) alignments, k = \(kmer)"
    s += sequenceSearchComplete ? ", complete" : ", stopped by the alignment budget (counts are lower bounds)"
    s += sequencesWithoutGuarantee > 0 ? "; \(sequencesWithoutGuarantee) sequences without the prefilter's guarantee.\n" : ".\n"
    func short(_ k: String) -> String { k.count > 60 ? String(k.prefix(57)) + "..." : k }
    for p in pairs {
      let cats: [(String, KeyOverlap)] = [
        ("examples", p.examples), ("molecules", p.molecules), ("scaffolds", p.scaffolds), ("targets", p.targets),
      ]
      for (name, o) in cats where o.total > 0 {
        let list = o.keys.prefix(examplesPerCategory).map { "`\(short($0))`" }.joined(separator: ", ")
        s += "- \(p.a.rawValue)-\(p.b.rawValue) \(name): \(o.total) (\(list)\(o.total > examplesPerCategory ? ", ..." : ""))\n"
      }
      if p.nearDuplicateSequences.total > 0 {
        let list = p.nearDuplicateSequences.pairs.prefix(examplesPerCategory).map {
          "examples \($0.exampleA)/\($0.exampleB) \(String(format: "%.3f", $0.identity))"
        }.joined(separator: ", ")
        s += "- \(p.a.rawValue)-\(p.b.rawValue) near-duplicate sequences: \(p.nearDuplicateSequences.total) (\(list))\n"
      }
    }
    return s
  }
}

/// The report of an assignment, with its deduplication and exclusion counts.
public func leakageReport(_ keys: [SplitKeys], _ assignment: SplitAssignment, options: LeakageOptions = LeakageOptions())
  -> LeakageReport
{
  var r = leakageReport(keys, assignment.splits, options: options)
  r.duplicatesRemoved = assignment.duplicatesRemoved
  r.excluded = assignment.excluded
  return r
}

public func leakageReport(_ keys: [SplitKeys], _ splits: [SplitName], options: LeakageOptions = LeakageOptions())
  -> LeakageReport
{
  leakageReport(keys, splits.map { Optional($0) }, options: options)
}

/// The overlaps between the splits of `keys` (examples with a `nil` split are left out).
/// Holds every key in memory; `LeakageAccumulator` makes the same report in bounded memory.
public func leakageReport(_ keys: [SplitKeys], _ splits: [SplitName?], options: LeakageOptions = LeakageOptions())
  -> LeakageReport
{
  let n = keys.count
  // An example without a split (also one past the end of `splits`) is left out.
  func splitOf(_ i: Int) -> SplitName? { i < splits.count ? splits[i] : nil }
  var perSplit = [0, 0, 0]
  var unassigned = 0
  for i in 0..<n {
    if let s = splitOf(i) { perSplit[s.index] += 1 } else { unassigned += 1 }
  }

  func overlaps(_ keysOf: (Int) -> [Substring]) -> [LeakageReport.KeyOverlap] {
    var mask: [Substring: UInt8] = [:]
    for i in 0..<n {
      guard let s = splitOf(i) else { continue }
      for k in keysOf(i) { mask[k, default: 0] |= UInt8(1 << s.index) }
    }
    return leakageSplitPairs.map { (a, b) in
      let m = UInt8(1 << a.index) | UInt8(1 << b.index)
      let both = mask.compactMap { $0.value & m == m ? $0.key : nil }
      return LeakageReport.KeyOverlap(total: both.count, keys: both.sorted().prefix(options.listCap).map(String.init))
    }
  }
  let ex = overlaps { keys[$0].exampleKey.isEmpty ? [] : [Substring(keys[$0].exampleKey)] }
  let mol = overlaps { keys[$0].molecules.map { Substring($0) } }
  let sca = overlaps { keys[$0].scaffolds.flatMap(scaffoldComponents) }
  let tar = overlaps { keys[$0].targets.map { Substring($0) } }
  var sequences = SequenceEntries()
  for (i, k) in keys.enumerated() {
    guard let s = splitOf(i) else { continue }
    sequences.add(k, example: i, split: s)
  }
  return sequences.report(
    perSplit: perSplit, unassigned: unassigned, examples: ex, molecules: mol, scaffolds: sca, targets: tar,
    options: options)
}

/// Strings met with a split, remembered in bounded memory (``StringMemo``): `firstTime` is false
/// only for a string met before with that split (forgetting one makes it true again, never wrong).
/// The catalog's readers hand the same `String` over for a molecule or a target, row after row.
struct SentKeys {
  private var met = StringMemo<UInt8>(capacity: 1 << 14, shortCapacity: 1 << 16)

  /// Whether `text` is met with split `split` (0, 1 or 2) for the first time; it is then met.
  mutating func firstTime(_ text: String, split: Int) -> Bool {
    let bit = UInt8(1) << UInt8(split)
    let m = met.value(text) ?? 0
    if m & bit != 0 { return false }
    met.insert(text, m | bit)
    return true
  }
}

/// The split pairs of a report, in its order.
let leakageSplitPairs: [(SplitName, SplitName)] = [(.train, .valid), (.train, .test), (.valid, .test)]

/// The distinct (split, sequence) entries of a report, in the order of their first example, with
/// the first example and target holding each; and the report made from them and the key overlaps.
struct SequenceEntries {
  var seqs: [[UInt8]] = []
  var split: [Int] = []
  var example: [Int] = []
  var target: [String] = []
  /// Per split: sequence -> entry.
  var seen: [[String: Int]] = [[:], [:], [:]]
  /// Sequences already met in a split, by address: a target's sequence comes again row after
  /// row, and hashing its hundreds of bytes for `seen` each time would cost more than the rest.
  var met = SentKeys()

  mutating func add(_ k: SplitKeys, example i: Int, split s: SplitName) {
    add(targets: k.targets, sequences: k.sequences, example: i, split: s)
  }

  mutating func add(targets: [String], sequences: [String], example i: Int, split s: SplitName) {
    for (j, q) in sequences.enumerated() where !q.isEmpty {
      if !met.firstTime(q, split: s.index) || seen[s.index][q] != nil { continue }
      seen[s.index][q] = seqs.count
      seqs.append(Array(q.utf8))
      split.append(s.index)
      example.append(i)
      target.append(targets.count == sequences.count ? targets[j] : (targets.first ?? ""))
    }
  }

  mutating func report(
    perSplit: [Int], unassigned: Int, examples ex: [LeakageReport.KeyOverlap], molecules mol: [LeakageReport.KeyOverlap],
    scaffolds sca: [LeakageReport.KeyOverlap], targets tar: [LeakageReport.KeyOverlap], options: LeakageOptions
  ) -> LeakageReport {
    seen = []
    let seqs = seqs, entrySplit = split, entryExample = example, entryTarget = target
    var found: [[LeakageReport.SequencePair]] = [[], [], []]
    var totals = [0, 0, 0]
    var search = NearDuplicateSearch(sequences: seqs, classes: entrySplit, options: options)
    search.run { a, b, distance in
      let (x, y) = entrySplit[a] <= entrySplit[b] ? (a, b) : (b, a)
      let p = entrySplit[x] == 0 ? entrySplit[y] - 1 : 2
      totals[p] += 1
      if found[p].count < options.listCap {
        let longer = max(seqs[x].count, seqs[y].count)
        found[p].append(
          LeakageReport.SequencePair(
            exampleA: entryExample[x], exampleB: entryExample[y], targetA: entryTarget[x], targetB: entryTarget[y],
            lengthA: seqs[x].count, lengthB: seqs[y].count, identity: 1 - Double(distance) / Double(max(longer, 1))))
      }
    }

    var pairs: [LeakageReport.PairOverlap] = []
    for (p, (a, b)) in leakageSplitPairs.enumerated() {
      let listed = found[p].sorted {
        $0.identity != $1.identity ? $0.identity > $1.identity : ($0.exampleA, $0.exampleB) < ($1.exampleA, $1.exampleB)
      }
      pairs.append(
        LeakageReport.PairOverlap(
          a: a, b: b, examples: ex[p], molecules: mol[p], scaffolds: sca[p], targets: tar[p],
          nearDuplicateSequences: LeakageReport.SequenceOverlap(total: totals[p], pairs: listed)))
    }
    return LeakageReport(
      examples: Dictionary(uniqueKeysWithValues: SplitName.allCases.map { ($0.rawValue, perSplit[$0.index]) }),
      unassigned: unassigned, duplicatesRemoved: nil, excluded: nil, identityThreshold: options.identityThreshold,
      kmer: options.kmer, alignments: search.alignments, sequenceSearchComplete: search.complete,
      sequencesWithoutGuarantee: search.withoutGuarantee, pairs: pairs)
  }
}

/// The leakage report of a stream of examples, in memory that does not grow with their number:
/// `add` each example's keys and split in order, then `finish`. The report equals
/// `leakageReport(keys, splits, options:)` of the same examples.
///
/// Each key (example key, molecule, scaffold component, target) goes with its split into an
/// `ExternalSorter` (spilled to temporary files in `directory` beyond `memoryBudget`); `finish`
/// counts, in one pass over the merged keys, which splits share each key, and lists the first
/// `listCap` per category and split pair. Keys are compared as UTF-8 bytes; a key with non-ASCII
/// bytes is sorted by its NFC form, which orders and equates keys as Swift's `String` does, and
/// listed as the first example spelled it.
///
/// The near-duplicate sequence search is not streamed: the distinct (split, sequence) entries stay
/// in memory with their first example and target. They are bounded by the catalog's proteins
/// (three splits times the distinct sequences), not by the number of examples.
public final class LeakageAccumulator {
  public let options: LeakageOptions
  private let sorter: ExternalSorter
  private var examples = 0
  private var perSplit = [0, 0, 0]
  private var unassigned = 0
  private var sequences = SequenceEntries()
  private var finished = false
  /// Keys sent to the sorter, by kind, with their splits.
  private var sentMolecules = SentKeys()
  private var sentScaffolds = SentKeys()
  private var sentTargets = SentKeys()
  /// Reused: the key being added, and a scaffold's bytes.
  private var key: [UInt8] = []
  private var scaffold: [UInt8] = []

  static let exampleKind: UInt8 = 0
  static let moleculeKind: UInt8 = 1
  static let scaffoldKind: UInt8 = 2
  static let targetKind: UInt8 = 3

  /// - Parameters:
  ///   - directory: an existing directory for the sorter's temporary files (removed by `finish`
  ///     and when the accumulator goes away).
  ///   - memoryBudget: bytes of keys held before they are spilled.
  ///   - backgroundSpill: sort and write the spilled keys on a second thread (`ExternalSorter`).
  public init(directory: String, options: LeakageOptions = LeakageOptions(), memoryBudget: Int = 32 << 20,
              maxFanIn: Int = 64, backgroundSpill: Bool = true)
  {
    self.options = options
    sorter = ExternalSorter(directory: directory, memoryBudget: memoryBudget, maxFanIn: maxFanIn,
                            backgroundSpill: backgroundSpill)
  }

  /// Sort runs written so far (tests).
  public var runsWritten: Int { sorter.runsWritten }

  /// The next example's keys and split (`nil`: left out of the overlaps, counted as unassigned).
  public func add(_ keys: SplitKeys, _ split: SplitName?) throws {
    guard let (i, s) = try begin(split) else { return }
    if !keys.exampleKey.isEmpty { try add(Self.exampleKind, keys.exampleKey, UInt8(s.index)) }
    try addKeys(molecules: keys.molecules.count, { keys.molecules[$0] }, scaffolds: keys.scaffolds.count,
                { keys.scaffolds[$0] }, targets: keys.targets, sequences: keys.sequences, example: i, split: s)
  }

  /// ``add(_:_:)`` for an example given by its parts rather than its ``SplitKeys`` (a build's
  /// sink: nothing to allocate per example): its example key as the number whose 16 hex digits
  /// it is, `count` molecules whose parent and scaffold `molecule` gives by index, its targets
  /// and sequences.
  func add(exampleHash: UInt64, molecules count: Int, _ molecule: (Int) -> (parent: String, scaffold: String),
           targets: [String], sequences: [String], split: SplitName?) throws
  {
    guard let (i, s) = try begin(split) else { return }
    key.removeAll(keepingCapacity: true)
    key.append(Self.exampleKind)
    ShardExport.appendHex16(exampleHash, to: &key)
    try emit(UInt8(s.index))
    try addKeys(molecules: count, { molecule($0).parent }, scaffolds: count, { molecule($0).scaffold },
                targets: targets, sequences: sequences, example: i, split: s)
  }

  /// Counts the next example; its number and split, nil when it has no split.
  private func begin(_ split: SplitName?) throws -> (Int, SplitName)? {
    if finished {
      throw ExternalSortError(path: sorter.directory, message: "example added after the leakage report was made")
    }
    let i = examples
    examples += 1
    guard let s = split else {
      unassigned += 1
      return nil
    }
    perSplit[s.index] += 1
    return (i, s)
  }

  /// The molecule, scaffold, target and sequence keys of example `i`, in split `s`.
  private func addKeys(molecules: Int, _ parent: (Int) -> String, scaffolds: Int, _ scaffold: (Int) -> String,
                       targets: [String], sequences sequenceList: [String], example i: Int, split s: SplitName) throws
  {
    let splitByte = UInt8(s.index)
    // The report asks only which splits hold a key: a molecule, scaffold or target already sent
    // with this split is not sent again (the first example's key, the one a non-ASCII key is
    // listed by, was sent).
    for k in 0..<molecules {
      let m = parent(k)
      if sentMolecules.firstTime(m, split: s.index) { try add(Self.moleculeKind, m, splitByte) }
    }
    for k in 0..<scaffolds {
      let c = scaffold(k)
      if sentScaffolds.firstTime(c, split: s.index) { try addScaffold(c, splitByte) }
    }
    for t in targets where sentTargets.firstTime(t, split: s.index) { try add(Self.targetKind, t, splitByte) }
    sequences.add(targets: targets, sequences: sequenceList, example: i, split: s)
  }

  private func add(_ kind: UInt8, _ text: String, _ split: UInt8) throws {
    key.removeAll(keepingCapacity: true)
    key.append(kind)
    key.append(contentsOf: text.utf8)
    if Self.isASCII(key) {
      try emit(split)
    } else {
      try emitNormalized(kind, text, split)
    }
  }

  /// A scaffold's components (`scaffoldComponents`), split on the bytes when it is ASCII.
  private func addScaffold(_ text: String, _ split: UInt8) throws {
    scaffold.removeAll(keepingCapacity: true)
    scaffold.append(contentsOf: text.utf8)
    guard Self.isASCII(scaffold) else {
      for c in scaffoldComponents(text) { try emitNormalized(Self.scaffoldKind, String(c), split) }
      return
    }
    if scaffold.isEmpty {
      key.removeAll(keepingCapacity: true)
      key.append(Self.scaffoldKind)
      try emit(split)
      return
    }
    var start = 0
    let n = scaffold.count
    while start < n {
      var end = start
      while end < n && scaffold[end] != UInt8(ascii: ".") { end += 1 }
      if end > start {
        key.removeAll(keepingCapacity: true)
        key.append(Self.scaffoldKind)
        key.append(contentsOf: scaffold[start..<end])
        try emit(split)
      }
      start = end + 1
    }
  }

  static func isASCII(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { b in
      var or: UInt8 = 0
      for x in b { or |= x }
      return or < 0x80
    }
  }

  /// `key` with the split as payload.
  private func emit(_ split: UInt8) throws {
    var split = split
    try key.withUnsafeBytes { k in try withUnsafeBytes(of: &split) { p in try sorter.add(key: k, payload: p) } }
  }

  /// A non-ASCII key: sorted by its NFC form, carrying its own bytes to be listed.
  private func emitNormalized(_ kind: UInt8, _ text: String, _ split: UInt8) throws {
    key.removeAll(keepingCapacity: true)
    key.append(kind)
    key.append(contentsOf: text.precomposedStringWithCanonicalMapping.utf8)
    var payload = [split]
    payload.append(contentsOf: text.utf8)
    try sorter.add(key: key, payload: payload)
  }

  /// The report; the accumulator is spent afterwards.
  public func finish() throws -> LeakageReport {
    if finished { throw ExternalSortError(path: sorter.directory, message: "the leakage report was already made") }
    finished = true
    let pairMasks = leakageSplitPairs.map { UInt8(1 << $0.0.index) | UInt8(1 << $0.1.index) }
    var totals = [[Int]](repeating: [0, 0, 0], count: 4)
    var lists = [[[String]]](repeating: [[], [], []], count: 4)
    let cap = options.listCap
    // The group of equal keys being read: the key, the splits holding it, the text to list.
    var current: [UInt8] = []
    var shown: [UInt8] = []
    var mask: UInt8 = 0
    func close() {
      guard let kind = current.first, mask != 0 else { return }
      for p in 0..<3 where mask & pairMasks[p] == pairMasks[p] {
        totals[Int(kind)][p] += 1
        if lists[Int(kind)][p].count < cap {
          lists[Int(kind)][p].append(
            shown.isEmpty ? String(decoding: current[1...], as: UTF8.self) : String(decoding: shown, as: UTF8.self))
        }
      }
    }
    try sorter.finish { k, p in
      let same = current.count == k.count && current.withUnsafeBytes { c in
        k.count == 0 || memcmp(c.baseAddress!, k.baseAddress!, k.count) == 0
      }
      if !same {
        close()
        current.removeAll(keepingCapacity: true)
        current.append(contentsOf: k)
        shown.removeAll(keepingCapacity: true)
        if p.count > 1 { shown.append(contentsOf: p[1...]) }  // the first example's own spelling
        mask = 0
      }
      mask |= UInt8(1) << p[0]
      return true
    }
    close()
    func overlaps(_ kind: UInt8) -> [LeakageReport.KeyOverlap] {
      (0..<3).map { LeakageReport.KeyOverlap(total: totals[Int(kind)][$0], keys: lists[Int(kind)][$0]) }
    }
    return sequences.report(
      perSplit: perSplit, unassigned: unassigned, examples: overlaps(Self.exampleKind),
      molecules: overlaps(Self.moleculeKind), scaffolds: overlaps(Self.scaffoldKind), targets: overlaps(Self.targetKind),
      options: options)
  }
}

/// Near-identical sequences across splits (see `LeakageOptions` for the method).
struct NearDuplicateSearch {
  let options: LeakageOptions
  /// The sequences; only pairs of different classes are compared.
  let seqs: [[UInt8]]
  let classes: [Int]
  var alignments = 0
  var cells = 0
  var complete = true
  /// Sequences whose candidates were not guaranteed (see `LeakageOptions`).
  var withoutGuarantee = 0

  init(sequences: [[UInt8]], classes: [Int], options: LeakageOptions) {
    self.options = options
    self.seqs = sequences
    self.classes = classes
  }

  /// Calls `found(a, b, distance)` (a < b) for every pair at or above the threshold.
  mutating func run(_ found: (Int, Int, Int) -> Void) {
    let split = classes
    func record(_ a: Int, _ b: Int, distance: Int) { found(a, b, distance) }
    let m = seqs.count
    let k = options.kmer
    let t = options.identityThreshold
    func allowed(_ longer: Int) -> Int { max(0, Int(((1 - t) * Double(longer) + 1e-9).rounded(.down))) }

    // Sequences shorter than k: identical ones only.
    var short: [[UInt8]: [Int]] = [:]
    for e in 0..<m where seqs[e].count < k { short[seqs[e], default: []].append(e) }
    for (_, es) in short.sorted(by: { $0.value[0] < $1.value[0] }) where es.count > 1 {
      for x in 0..<es.count { for y in (x + 1)..<es.count { record(es[x], es[y], distance: 0) } }
    }

    // Distinct k-mers with their counts, and the index k-mer -> (entry, count).
    var profiles: [[(UInt64, Int32)]] = []
    profiles.reserveCapacity(m)
    var postings: [UInt64: [(Int32, Int32)]] = [:]
    var codes: [UInt64] = []
    for e in 0..<m {
      codes.removeAll(keepingCapacity: true)
      let s = seqs[e]
      if s.count >= k {
        var code: UInt64 = 0
        let mask: UInt64 = k >= 12 ? UInt64.max : (UInt64(1) << UInt64(5 * k)) - 1
        for (i, c) in s.enumerated() {
          let u = c | 0x20
          let v: UInt64 = (u >= 0x61 && u <= 0x7a) ? UInt64(u - 0x60) : 31
          code = ((code << 5) | v) & mask
          if i >= k - 1 { codes.append(code) }
        }
        codes.sort()
      }
      var profile: [(UInt64, Int32)] = []
      var i = 0
      while i < codes.count {
        var j = i + 1
        while j < codes.count && codes[j] == codes[i] { j += 1 }
        profile.append((codes[i], Int32(j - i)))
        postings[codes[i], default: []].append((Int32(e), Int32(j - i)))
        i = j
      }
      profiles.append(profile)
    }

    var shared = [Int32](repeating: 0, count: m)
    var touched: [Int32] = []
    var rows = ([Int32](), [Int32]())
    outer: for a in 0..<m {
      var skipped = 0
      for (code, ca) in profiles[a] {
        guard let list = postings[code] else { continue }
        if list.count > options.maxPostings {
          skipped += Int(ca)
          continue
        }
        for (b, cb) in list where Int(b) > a && split[Int(b)] != split[a] {
          if shared[Int(b)] == 0 { touched.append(b) }
          shared[Int(b)] += min(ca, cb)
        }
      }
      // The smallest bound over the partner lengths the threshold allows.
      let la = Double(seqs[a].count)
      let kd = Double(k)
      let longerPartner = la - kd + 1 - kd * ((1 - t) * la / max(t, 1e-9)).rounded(.down)
      let shorterPartner = la * t - kd + 1 - kd * ((1 - t) * la).rounded(.down)
      if seqs[a].count < k || min(longerPartner, shorterPartner) - Double(skipped) < 1 { withoutGuarantee += 1 }
      touched.sort()
      for b32 in touched {
        let b = Int(b32)
        let got = Int(shared[b])
        shared[b] = 0
        let la = seqs[a].count
        let lb = seqs[b].count
        let e = allowed(max(la, lb))
        if abs(la - lb) > e { continue }
        let need = max(1, min(la, lb) - k + 1 - k * e - skipped)
        if got < need { continue }
        let cost = (2 * e + 1) * min(la, lb)
        if alignments >= options.maxAlignments || cells > options.maxCells - cost {
          complete = false
          for r in touched { shared[Int(r)] = 0 }
          touched.removeAll()
          break outer
        }
        alignments += 1
        cells += cost
        if let d = boundedEditDistance(seqs[a], seqs[b], limit: e, rows: &rows) { record(a, b, distance: d) }
      }
      touched.removeAll(keepingCapacity: true)
    }
  }
}

/// Levenshtein distance of `a` and `b` if it is at most `limit`, else nil; a band of width
/// 2 * limit + 1, stopped as soon as a whole row exceeds the limit.
func boundedEditDistance(_ a: [UInt8], _ b: [UInt8], limit e: Int, rows: inout ([Int32], [Int32])) -> Int? {
  let n = a.count
  let m = b.count
  if abs(n - m) > e { return nil }
  if n == 0 || m == 0 { return max(n, m) <= e ? max(n, m) : nil }
  let big = Int32(clamping: e + 1)
  if rows.0.count < m + 2 {
    rows.0 = [Int32](repeating: big, count: m + 2)
    rows.1 = [Int32](repeating: big, count: m + 2)
  }
  for j in 0...(m + 1) { rows.0[j] = j <= e ? Int32(j) : big }
  for i in 1...n {
    let lo = max(1, i - e)
    let hi = min(m, i + e)
    rows.1[lo - 1] = lo - 1 == 0 ? (i <= e ? Int32(i) : big) : big
    var rowMin = rows.1[lo - 1]
    let ai = a[i - 1]
    for j in lo...hi {
      let sub = rows.0[j - 1] + (ai == b[j - 1] ? 0 : 1)
      let del = rows.0[j] + 1
      let ins = rows.1[j - 1] + 1
      let v = min(min(sub, del), min(ins, big))
      rows.1[j] = v
      if v < rowMin { rowMin = v }
    }
    if hi < m { rows.1[hi + 1] = big }
    if rowMin > Int32(e) { return nil }
    swap(&rows.0, &rows.1)
  }
  let d = Int(rows.0[m])
  return d <= e ? d : nil
}
