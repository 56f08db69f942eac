import Foundation

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
  let splitPairs: [(SplitName, SplitName)] = [(.train, .valid), (.train, .test), (.valid, .test)]

  func overlaps(_ keysOf: (Int) -> [Substring]) -> [LeakageReport.KeyOverlap] {
    var mask: [Substring: UInt8] = [:]
    for i in 0..<n {
      guard let s = splitOf(i) else { continue }
      for k in keysOf(i) { mask[k, default: 0] |= UInt8(1 << s.index) }
    }
    return splitPairs.map { (a, b) in
      let m = UInt8(1 << a.index) | UInt8(1 << b.index)
      let both = mask.compactMap { $0.value & m == m ? $0.key : nil }
      return LeakageReport.KeyOverlap(total: both.count, keys: both.sorted().prefix(options.listCap).map(String.init))
    }
  }
  let ex = overlaps { keys[$0].exampleKey.isEmpty ? [] : [Substring(keys[$0].exampleKey)] }
  let mol = overlaps { keys[$0].molecules.map { Substring($0) } }
  let sca = overlaps { keys[$0].scaffolds.flatMap(scaffoldComponents) }
  let tar = overlaps { keys[$0].targets.map { Substring($0) } }
  // Distinct (split, sequence) entries with the first example and target holding them.
  var seqs: [[UInt8]] = []
  var entrySplit: [Int] = []
  var entryExample: [Int] = []
  var entryTarget: [String] = []
  var seen: [String: Int] = [:]
  for (i, k) in keys.enumerated() {
    guard let s = splitOf(i) else { continue }
    for (j, q) in k.sequences.enumerated() where !q.isEmpty {
      let key = "\(s.index)\u{0}\(q)"
      if seen[key] != nil { continue }
      seen[key] = seqs.count
      seqs.append(Array(q.utf8))
      entrySplit.append(s.index)
      entryExample.append(i)
      entryTarget.append(k.targets.count == k.sequences.count ? k.targets[j] : (k.targets.first ?? ""))
    }
  }
  seen = [:]
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
  for (p, (a, b)) in splitPairs.enumerated() {
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
    unassigned: unassigned, duplicatesRemoved: nil, excluded: nil, identityThreshold: options.identityThreshold, kmer: options.kmer,
    alignments: search.alignments, sequenceSearchComplete: search.complete,
    sequencesWithoutGuarantee: search.withoutGuarantee, pairs: pairs)
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
