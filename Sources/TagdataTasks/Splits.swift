/// Leakage-free train/valid/test splits, independent of where the examples come from: the caller
/// hands one `SplitKeys` per example (the module computes no SMILES or scaffolds itself; the keys
/// come from TagdataChem / TagdataBio upstream) and gets one split per example back.
///
/// Rules (all deterministic for a seed; every hash is FNV-1a 64 over the UTF-8 bytes of a key,
/// mixed with the seed by the SplitMix64 finaliser, never Swift's per-process `Hasher`):
///
/// - Invalid plans (see `SplitPlan.problems`) do not crash: non-finite fractions count as 0.
/// - An empty `exampleKey` is hashed by its position, so only those examples depend on the order.
/// - Deduplication: examples with the same non-empty `exampleKey` keep one, the one with the
///   earliest year (no year counts as latest), then the first in input order; the others get no
///   split (`nil`) and are counted in `SplitAssignment.duplicatesRemoved`. A duplicate can thus
///   never sit in two splits.
/// - Group splits (`scaffold`, `coldDrug`, `coldTarget`, and `random` with one example per group):
///   examples sharing any key of the kind are joined by union-find (so a drug combination joins
///   the groups of both its drugs, and a multi-component scaffold `A.B` joins the groups of `A`
///   and of `B`); each connected component goes to one split as a whole.
/// - Group order (the balanced scaffold split of chemprop): groups larger than half the valid or
///   half the test target come first, in seeded hash order; then all other groups in seeded hash
///   order (the hash of a group is the smallest seeded hash of its members' example
///   keys, so the order does not depend on the input order). Filling is greedy: a group goes to
///   train if train stays within its target, else to valid if valid does, else to test if test
///   does, else (a component larger than any room left) to the split with the most room left, so
///   one giant component lands in train (see `largestGroup`). Targets
///   are the fractions (normalised to sum 1) times the number of kept examples.
/// - Scaffold keys: `""` (acyclic) is one group, like RDKit's / chemprop's scaffold split; a
///   scaffold with several components (`A.B`, from a salt or mixture) counts each non-empty
///   component as a key.
/// - Temporal (TDC BindingDB_Patent, FORMATS.md 6.4): examples whose year lies in
///   `trainValidYears` (2013...2018) go to train or valid by a seeded draw per example (valid with
///   probability `validFraction`, 0.2); TDC draws per row within each year with the same seed,
///   here the draw hashes (seed, year, exampleKey), the same distribution within each year and
///   independent of row order. Years in `testYears` (2019...2021) go to test. Examples without a
///   year or with a year in neither range get no split and are counted in `excluded`. Other
///   rules: `.boundary(lastTrainYear:)` (train/valid up to it, test after) and
///   `.boundaries(lastTrainYear:lastValidYear:)` (train <= 2018, valid 2019, test >= 2020).
public enum SplitName: String, Codable, Sendable, CaseIterable, Comparable {
  case train, valid, test

  var index: Int {
    switch self {
    case .train: 0
    case .valid: 1
    case .test: 2
    }
  }
  public static func < (a: SplitName, b: SplitName) -> Bool { a.index < b.index }
}

/// What a split needs to know about one example.
public struct SplitKeys: Sendable, Codable, Equatable {
  /// Canonical SMILES of the molecules of the example (the drug; two for a drug combination).
  public var molecules: [String]
  /// Bemis-Murcko scaffold SMILES of those molecules, `""` for an acyclic molecule.
  public var scaffolds: [String]
  /// Protein / target keys (e.g. the SHA-256 of the sequence).
  public var targets: [String]
  /// The protein sequences (for the near-duplicate check of the leakage report).
  public var sequences: [String]
  /// Patent or deposition year.
  public var year: Int?
  /// The canonical key of the example (for deduplication); `""` is never deduplicated.
  public var exampleKey: String

  public init(
    exampleKey: String, molecules: [String] = [], scaffolds: [String] = [], targets: [String] = [],
    sequences: [String] = [], year: Int? = nil
  ) {
    self.exampleKey = exampleKey
    self.molecules = molecules
    self.scaffolds = scaffolds
    self.targets = targets
    self.sequences = sequences
    self.year = year
  }
}

public enum SplitKind: String, CaseIterable, Sendable, Codable {
  case random, scaffold
  case coldDrug = "cold-drug"
  case coldTarget = "cold-target"
  case temporal
}

/// Year ranges of a temporal split.
public struct TemporalRule: Sendable, Codable, Equatable {
  public var trainValidYears: ClosedRange<Int>
  public var testYears: ClosedRange<Int>
  /// Share of each train/valid year that goes to valid.
  public var validFraction: Double
  /// Years that go to valid as a whole (checked before the other two ranges); with them, set
  /// `validFraction` to 0 to keep all of `trainValidYears` in train.
  public var validYears: ClosedRange<Int>?

  public init(
    trainValidYears: ClosedRange<Int>, testYears: ClosedRange<Int>, validFraction: Double = 0.2,
    validYears: ClosedRange<Int>? = nil
  ) {
    self.trainValidYears = trainValidYears
    self.testYears = testYears
    self.validFraction = validFraction
    self.validYears = validYears
  }

  /// Train up to `lastTrainYear`, valid after it up to `lastValidYear`, test after that
  /// (e.g. train <= 2018, valid 2019, test >= 2020).
  public static func boundaries(lastTrainYear: Int, lastValidYear: Int) -> TemporalRule {
    TemporalRule(
      trainValidYears: Int.min...lastTrainYear, testYears: (max(lastValidYear, lastTrainYear) &+ 1)...Int.max,
      validFraction: 0, validYears: lastTrainYear < lastValidYear ? (lastTrainYear + 1)...lastValidYear : nil)
  }

  /// TDC's BindingDB_Patent: train/valid 2013–2018 (80/20 within each year), test 2019–2021.
  public static let bindingDBPatent = TemporalRule(trainValidYears: 2013...2018, testYears: 2019...2021)

  /// Everything up to `lastTrainYear` is train/valid, everything after it test.
  public static func boundary(lastTrainYear: Int, validFraction: Double = 0.2) -> TemporalRule {
    TemporalRule(
      trainValidYears: Int.min...lastTrainYear, testYears: (lastTrainYear &+ 1)...Int.max, validFraction: validFraction)
  }
}

public struct SplitPlan: Sendable, Equatable, Codable {
  public var kind: SplitKind
  public var train: Double
  public var valid: Double
  public var test: Double
  public var seed: UInt64
  /// Used by `.temporal` only (which ignores the three fractions).
  public var temporal: TemporalRule
  /// `.coldTarget` only: when set, examples whose sequences are at least this identical (the
  /// measure and search of `LeakageOptions`) are also joined, so near-identical proteins under
  /// different target keys cannot sit in two splits.
  public var targetIdentity: Double?

  public init(
    kind: SplitKind, train: Double = 0.8, valid: Double = 0.1, test: Double = 0.1, seed: UInt64 = 0,
    temporal: TemporalRule = .bindingDBPatent, targetIdentity: Double? = nil
  ) {
    self.targetIdentity = targetIdentity
    self.kind = kind
    self.train = train
    self.valid = valid
    self.test = test
    self.seed = seed
    self.temporal = temporal
  }

  /// What is wrong with the plan, one sentence each (empty when it is usable): fractions that are
  /// negative, not finite or all zero, a valid share outside 0...1, overlapping year ranges, an
  /// identity threshold outside 0...1.
  public var problems: [String] {
    var out: [String] = []
    for (name, f) in [("train", train), ("valid", valid), ("test", test)] where !(f.isFinite && f >= 0) {
      out.append("the \(name) fraction \(f) is not a finite number >= 0")
    }
    if out.isEmpty && train + valid + test <= 0 { out.append("the train, valid and test fractions are all 0") }
    if kind == .temporal {
      let r = temporal
      if !(r.validFraction >= 0 && r.validFraction <= 1) {
        out.append("the temporal valid fraction \(r.validFraction) is not within 0...1")
      }
      if r.trainValidYears.overlaps(r.testYears) { out.append("the train/valid years and the test years overlap") }
      if let v = r.validYears, v.overlaps(r.testYears) { out.append("the valid years and the test years overlap") }
    }
    if let t = targetIdentity, !(t > 0 && t <= 1) { out.append("the target identity \(t) is not within 0 < t <= 1") }
    return out
  }
}

/// The outcome of a split: one split per example (`nil`: removed duplicate or excluded).
public struct SplitAssignment: Sendable, Equatable {
  public var splits: [SplitName?]
  /// Examples dropped because an earlier one has the same `exampleKey`.
  public var duplicatesRemoved: Int
  /// Temporal split: examples without a year or with a year in neither range.
  public var excluded: Int
  /// Number of groups (connected components) that were assigned.
  public var groups: Int
  /// Examples in the largest group: close to the kept count means the keys join nearly everything
  /// into one component and the split cannot be balanced.
  public var largestGroup = 0
  /// `targetIdentity` clustering: false when the alignment budget stopped the search.
  public var sequenceClusteringComplete = true

  public func count(_ s: SplitName) -> Int { splits.reduce(0) { $0 + ($1 == s ? 1 : 0) } }
}

/// One split per example (`nil` for a removed duplicate or an example the temporal rule excludes).
public func assignSplits(_ keys: [SplitKeys], plan: SplitPlan) -> [SplitName?] {
  splitAssignment(keys, plan: plan).splits
}

/// Like `assignSplits`, with the counts.
public func splitAssignment(_ keys: [SplitKeys], plan: SplitPlan) -> SplitAssignment {
  let n = keys.count
  var splits = [SplitName?](repeating: nil, count: n)

  // Deduplication: the kept example of each key is the earliest year, then the first.
  var keep = [Bool](repeating: true, count: n)
  var firstOfKey: [String: Int] = [:]
  firstOfKey.reserveCapacity(n)
  var removed = 0
  for i in 0..<n where !keys[i].exampleKey.isEmpty {
    if let j = firstOfKey[keys[i].exampleKey] {
      removed += 1
      let yi = keys[i].year ?? Int.max
      let yj = keys[j].year ?? Int.max
      if yi < yj {
        keep[j] = false
        firstOfKey[keys[i].exampleKey] = i
      } else {
        keep[i] = false
      }
    } else {
      firstOfKey[keys[i].exampleKey] = i
    }
  }
  firstOfKey = [:]

  func exampleHash(_ i: Int, _ seed: UInt64) -> UInt64 {
    let k = keys[i].exampleKey
    return SplitHash.keyed(seed, k.isEmpty ? "#\(i)" : k)
  }

  if plan.kind == .temporal {
    let rule = plan.temporal
    var excluded = 0
    for i in 0..<n where keep[i] {
      guard let y = keys[i].year else {
        excluded += 1
        continue
      }
      if let v = rule.validYears, v.contains(y) {
        splits[i] = .valid
      } else if rule.trainValidYears.contains(y) {
        let u = SplitHash.unit(exampleHash(i, plan.seed ^ SplitHash.mix(UInt64(bitPattern: Int64(y)))))
        splits[i] = u < rule.validFraction ? .valid : .train
      } else if rule.testYears.contains(y) {
        splits[i] = .test
      } else {
        excluded += 1
      }
    }
    return SplitAssignment(splits: splits, duplicatesRemoved: removed, excluded: excluded, groups: 0)
  }

  // Union-find over kept examples sharing a key of the kind.
  var uf = UnionFind(count: n)
  var firstWith: [Substring: Int32] = [:]
  func join(_ i: Int, _ key: Substring) {
    if let j = firstWith[key] { uf.union(Int32(i), j) } else { firstWith[key] = Int32(i) }
  }
  for i in 0..<n where keep[i] {
    switch plan.kind {
    case .random, .temporal: break
    case .scaffold:
      for s in keys[i].scaffolds { for c in scaffoldComponents(s) { join(i, c) } }
    case .coldDrug:
      for m in keys[i].molecules { join(i, Substring(m)) }
    case .coldTarget:
      for t in keys[i].targets { join(i, Substring(t)) }
    }
  }
  firstWith = [:]
  var clusteringComplete = true
  if plan.kind == .coldTarget, let identity = plan.targetIdentity {
    // Identical sequences join; near-identical ones join through the near-duplicate search.
    var entryOf: [String: Int] = [:]
    var seqs: [[UInt8]] = []
    var holder: [Int32] = []
    for i in 0..<n where keep[i] {
      for q in keys[i].sequences where !q.isEmpty {
        if let e = entryOf[q] {
          uf.union(Int32(i), holder[e])
        } else {
          entryOf[q] = seqs.count
          seqs.append(Array(q.utf8))
          holder.append(Int32(i))
        }
      }
    }
    entryOf = [:]
    var search = NearDuplicateSearch(
      sequences: seqs, classes: Array(0..<seqs.count), options: LeakageOptions(identityThreshold: identity))
    search.run { a, b, _ in uf.union(holder[a], holder[b]) }
    clusteringComplete = search.complete
  }

  // Groups: size and hash (smallest member hash) per root.
  var groupOfRoot = [Int32](repeating: -1, count: n)
  var sizes: [Int] = []
  var hashes: [UInt64] = []
  var kept = 0
  for i in 0..<n where keep[i] {
    kept += 1
    let r = Int(uf.find(Int32(i)))
    let h = exampleHash(i, plan.seed)
    if groupOfRoot[r] < 0 {
      groupOfRoot[r] = Int32(sizes.count)
      sizes.append(1)
      hashes.append(h)
    } else {
      let g = Int(groupOfRoot[r])
      sizes[g] += 1
      hashes[g] = min(hashes[g], h)
    }
  }
  func usable(_ f: Double) -> Double { f.isFinite && f > 0 ? f : 0 }
  let total = usable(plan.train) + usable(plan.valid) + usable(plan.test)
  let norm = total > 0 ? total : 1
  let trainTarget = usable(plan.train) / norm * Double(kept)
  let validTarget = usable(plan.valid) / norm * Double(kept)
  let testTarget = Double(kept) - trainTarget - validTarget
  func isBig(_ g: Int) -> Bool { Double(sizes[g]) > validTarget / 2 || Double(sizes[g]) > testTarget / 2 }
  let order = (0..<sizes.count).sorted { a, b in
    let ba = isBig(a)
    let bb = isBig(b)
    if ba != bb { return ba }
    if hashes[a] != hashes[b] { return hashes[a] < hashes[b] }
    return a < b
  }
  var groupSplit = [SplitName](repeating: .test, count: sizes.count)
  var nTrain = 0
  var nValid = 0
  var nTest = 0
  for g in order {
    let size = Double(sizes[g])
    if Double(nTrain) + size <= trainTarget + 1e-9 {
      groupSplit[g] = .train
    } else if Double(nValid) + size <= validTarget + 1e-9 {
      groupSplit[g] = .valid
    } else if Double(nTest) + size <= testTarget + 1e-9 {
      groupSplit[g] = .test
    } else {
      // Fits nowhere (a component larger than a split's room): the split with the most room left.
      let room = [trainTarget - Double(nTrain), validTarget - Double(nValid), testTarget - Double(nTest)]
      groupSplit[g] = room[0] >= room[1] && room[0] >= room[2] ? .train : room[1] >= room[2] ? .valid : .test
    }
    switch groupSplit[g] {
    case .train: nTrain += sizes[g]
    case .valid: nValid += sizes[g]
    case .test: nTest += sizes[g]
    }
  }
  for i in 0..<n where keep[i] {
    splits[i] = groupSplit[Int(groupOfRoot[Int(uf.find(Int32(i)))])]
  }
  return SplitAssignment(
    splits: splits, duplicatesRemoved: removed, excluded: 0, groups: sizes.count, largestGroup: sizes.max() ?? 0,
    sequenceClusteringComplete: clusteringComplete)
}

/// The keys a scaffold stands for: `""` (acyclic) itself; otherwise each non-empty component.
func scaffoldComponents(_ s: String) -> [Substring] {
  if s.isEmpty { return [Substring("")] }
  return s.split(separator: ".", omittingEmptySubsequences: true)
}

/// Fixed hashes (the same on every platform and run).
enum SplitHash {
  static func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
      h ^= UInt64(b)
      h &*= 0x0000_0100_0000_01b3
    }
    return h
  }
  /// The SplitMix64 finaliser.
  static func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  static func keyed(_ seed: UInt64, _ s: String) -> UInt64 { mix(fnv1a(s) ^ mix(seed)) }
  /// A number in [0, 1) from the top 53 bits.
  static func unit(_ h: UInt64) -> Double { Double(h >> 11) / 9_007_199_254_740_992.0 }
}

/// Union-find with path halving and union by size (no recursion).
struct UnionFind {
  var parent: [Int32]
  var size: [Int32]
  init(count: Int) {
    parent = (0..<count).map { Int32($0) }
    size = [Int32](repeating: 1, count: count)
  }
  mutating func find(_ x: Int32) -> Int32 {
    var x = x
    while parent[Int(x)] != x {
      parent[Int(x)] = parent[Int(parent[Int(x)])]
      x = parent[Int(x)]
    }
    return x
  }
  mutating func union(_ a: Int32, _ b: Int32) {
    var ra = find(a)
    var rb = find(b)
    if ra == rb { return }
    if size[Int(ra)] < size[Int(rb)] { swap(&ra, &rb) }
    parent[Int(rb)] = ra
    size[Int(ra)] += size[Int(rb)]
  }
}
