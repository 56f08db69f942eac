/// Reference predictors to report next to a model (EVAL.md §8): the mean of the training targets,
/// k nearest neighbours on binary fingerprints (Tanimoto) and on sequence k-mer profiles (cosine).
///
/// Neighbour selection (both kNNs): the k most similar training rows, ties broken by ascending
/// training index (stable, deterministic; scikit-learn does not document its order among equal
/// distances). k larger than the training set uses every row (scikit-learn raises instead);
/// `effectiveK` reports the k used. Brute force: O(train) per query, as sklearn's `algorithm='brute'`.
public enum Baselines {
  /// The mean predictor: the arithmetic mean of the training targets (pairwise sum), to be
  /// predicted for every test row. Its Pearson and Spearman correlations are undefined.
  public static func meanPredictor(trainTargets: [Double]) throws -> Double {
    try Metrics.validate(trainTargets, name: "trainTargets")
    return trainTargets.withUnsafeBufferPointer { t in Summation.pairwise(t.count) { t[$0] } } / Double(trainTargets.count)
  }

  /// The mean predictor's predictions for `count` test rows.
  public static func meanPredictions(trainTargets: [Double], count: Int) throws -> [Double] {
    [Double](repeating: try meanPredictor(trainTargets: trainTargets), count: count)
  }

  /// How neighbours' targets are combined.
  public enum Weighting: String, Sendable, CaseIterable {
    /// Mean of the k targets.
    case uniform
    /// Weight 1/d with the distance d = 1 − similarity (sklearn `weights='distance'`); when a
    /// neighbour is at distance 0 only the exact matches count, equally weighted.
    case distance
    /// Weight = similarity (a different, also common, choice); all similarities 0 → uniform.
    case similarity
  }

  /// A training row chosen as a neighbour.
  public struct Neighbour: Sendable, Equatable {
    public var index: Int
    public var similarity: Double
    /// 1 − similarity, computed as the tools do (Jaccard: (union − intersection)/union).
    public var distance: Double
  }

  /// The top `k` of `count` rows by similarity, ties by ascending index: a bounded selection,
  /// O(count · log k).
  static func select(count: Int, k: Int, _ neighbour: (Int) -> Neighbour) -> [Neighbour] {
    // `kept` is a max-heap on "worse" = lower similarity, then higher index, of at most k entries.
    func worse(_ a: Neighbour, _ b: Neighbour) -> Bool {
      a.similarity < b.similarity || (a.similarity == b.similarity && a.index > b.index)
    }
    var heap: [Neighbour] = []
    heap.reserveCapacity(k)
    for i in 0..<count {
      let c = neighbour(i)
      if heap.count < k {
        heap.append(c)
        var j = heap.count - 1
        while j > 0 {
          let parent = (j - 1) / 2
          if worse(heap[j], heap[parent]) { heap.swapAt(j, parent); j = parent } else { break }
        }
      } else if worse(heap[0], c) {
        heap[0] = c
        var j = 0
        while true {
          let l = 2 * j + 1, r = l + 1
          var m = j
          if l < heap.count && worse(heap[l], heap[m]) { m = l }
          if r < heap.count && worse(heap[r], heap[m]) { m = r }
          if m == j { break }
          heap.swapAt(j, m)
          j = m
        }
      }
    }
    return heap.sorted { worse($1, $0) }
  }

  /// Combines the neighbours' targets.
  static func combine(_ neighbours: [Neighbour], _ targets: [Double], _ weighting: Weighting) -> Double {
    switch weighting {
    case .uniform:
      return neighbours.reduce(0.0) { $0 + targets[$1.index] } / Double(neighbours.count)
    case .distance:
      let exact = neighbours.filter { $0.distance == 0 }
      if !exact.isEmpty { return exact.reduce(0.0) { $0 + targets[$1.index] } / Double(exact.count) }
      var num = 0.0, den = 0.0
      for nb in neighbours {
        let w = 1 / nb.distance
        num += w * targets[nb.index]
        den += w
      }
      return num / den
    case .similarity:
      var num = 0.0, den = 0.0
      for nb in neighbours {
        num += nb.similarity * targets[nb.index]
        den += nb.similarity
      }
      return den > 0 ? num / den : combine(neighbours, targets, .uniform)
    }
  }

  /// Tanimoto similarity of two bit vectors given as 64-bit words (bit i in word i/64, as
  /// TagdataChem's `Fingerprint.words`): |a ∧ b| / |a ∨ b|; two empty vectors give 1.0 (current
  /// RDKit; scikit-learn's Jaccard distance of two zero vectors is 0). Different lengths throw.
  public static func tanimoto(_ a: [UInt64], _ b: [UInt64]) throws -> Double {
    if a.count != b.count { throw MetricsError.lengthMismatch(argument: "a", count: a.count, other: "b", otherCount: b.count) }
    let (both, either) = counts(a[...], b[...])
    return either == 0 ? 1 : Double(both) / Double(either)
  }

  @inline(__always)
  static func counts(_ a: ArraySlice<UInt64>, _ b: ArraySlice<UInt64>) -> (Int, Int) {
    var both = 0, either = 0
    var i = a.startIndex, j = b.startIndex
    while i < a.endIndex {
      both += (a[i] & b[j]).nonzeroBitCount
      either += (a[i] | b[j]).nonzeroBitCount
      i += 1
      j += 1
    }
    return (both, either)
  }
}

/// k-nearest-neighbour regression on binary fingerprints with Tanimoto similarity.
public struct TanimotoKNN: Sendable {
  public let wordsPerFingerprint: Int
  /// Training fingerprints, concatenated.
  let words: [UInt64]
  public let targets: [Double]
  public let k: Int
  public let weighting: Baselines.Weighting

  /// `fingerprints`: one array of bit words per training row, all of the same length; `targets`
  /// finite, one per row; k ≥ 1 (EVAL.md's recommendation and sklearn's default: 5).
  public init(fingerprints: [[UInt64]], targets: [Double], k: Int = 5, weighting: Baselines.Weighting = .uniform) throws {
    try Metrics.validate(targets, name: "targets")
    if fingerprints.count != targets.count {
      throw MetricsError.lengthMismatch(argument: "fingerprints", count: fingerprints.count, other: "targets", otherCount: targets.count)
    }
    if k < 1 { throw MetricsError.invalidParameter("k must be at least 1, got \(k)") }
    let width = fingerprints[0].count
    for (i, f) in fingerprints.enumerated() where f.count != width {
      throw MetricsError.lengthMismatch(argument: "fingerprints[\(i)]", count: f.count, other: "fingerprints[0]", otherCount: width)
    }
    wordsPerFingerprint = width
    words = fingerprints.flatMap { $0 }
    self.targets = targets
    self.k = k
    self.weighting = weighting
  }

  /// min(k, number of training rows).
  public var effectiveK: Int { min(k, targets.count) }

  /// The neighbours of `query`, most similar first (ties: lower training index first).
  public func neighbours(of query: [UInt64]) throws -> [Baselines.Neighbour] {
    if query.count != wordsPerFingerprint {
      throw MetricsError.lengthMismatch(argument: "query", count: query.count, other: "fingerprints", otherCount: wordsPerFingerprint)
    }
    let w = wordsPerFingerprint
    return Baselines.select(count: targets.count, k: effectiveK) { i in
      let (both, either) = Baselines.counts(query[...], words[(i * w)..<((i + 1) * w)])
      if either == 0 { return Baselines.Neighbour(index: i, similarity: 1, distance: 0) }
      return Baselines.Neighbour(index: i, similarity: Double(both) / Double(either),
                                 distance: Double(either - both) / Double(either))
    }
  }

  public func predict(_ query: [UInt64]) throws -> Double {
    Baselines.combine(try neighbours(of: query), targets, weighting)
  }

  public func predict(_ queries: [[UInt64]]) throws -> [Double] { try queries.map(predict) }
}

/// The k-mer profile of a sequence: counts of its overlapping k-byte substrings (bytes as given,
/// case-sensitive), as a sorted sparse vector.
public struct KmerProfile: Sendable, Equatable {
  public static let maxK = 16
  public let k: Int
  /// Distinct k-mers (packed, 8 bits per byte, in two words) ascending, with their counts.
  let keys: [KmerKey]
  let counts: [Double]
  /// Euclidean norm of the counts.
  public let norm: Double

  struct KmerKey: Hashable, Comparable, Sendable {
    var hi: UInt64, lo: UInt64
    static func < (a: KmerKey, b: KmerKey) -> Bool { a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }
  }

  /// k in 1...16. A sequence shorter than k has an empty profile.
  public init<S: Sequence>(_ sequence: S, k: Int) throws where S.Element == UInt8 {
    if k < 1 || k > KmerProfile.maxK { throw MetricsError.invalidParameter("k-mer size must be in 1...\(KmerProfile.maxK), got \(k)") }
    self.k = k
    let bytes = Array(sequence)
    var table: [KmerKey: Int] = [:]
    if bytes.count >= k {
      for start in 0...(bytes.count - k) {
        var key = KmerKey(hi: 0, lo: 0)
        for j in 0..<k {
          let b = UInt64(bytes[start + j])
          if j < 8 { key.lo |= b << UInt64(8 * j) } else { key.hi |= b << UInt64(8 * (j - 8)) }
        }
        table[key, default: 0] += 1
      }
    }
    let sorted = table.sorted { $0.key < $1.key }
    keys = sorted.map(\.key)
    counts = sorted.map { Double($0.value) }
    norm = counts.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
  }

  public init(_ sequence: String, k: Int) throws { try self.init(Array(sequence.utf8), k: k) }

  /// Number of k-mers (with multiplicity).
  public var total: Int { Int(counts.reduce(0, +)) }

  /// Cosine similarity of the count vectors, in [0, 1]; 0 when either profile is empty (no
  /// k-mers, no evidence). Profiles of different k throw.
  public static func cosine(_ a: KmerProfile, _ b: KmerProfile) throws -> Double {
    if a.k != b.k { throw MetricsError.invalidParameter("k-mer profiles of k = \(a.k) and k = \(b.k)") }
    if a.keys.isEmpty || b.keys.isEmpty { return 0 }
    var i = 0, j = 0
    var dot = 0.0
    while i < a.keys.count && j < b.keys.count {
      if a.keys[i] == b.keys[j] {
        dot += a.counts[i] * b.counts[j]
        i += 1
        j += 1
      } else if a.keys[i] < b.keys[j] {
        i += 1
      } else {
        j += 1
      }
    }
    return min(1, dot / (a.norm * b.norm))
  }
}

/// k-nearest-neighbour regression on sequences by cosine similarity of k-mer profiles.
public struct KmerKNN: Sendable {
  public let profiles: [KmerProfile]
  public let targets: [Double]
  public let kmer: Int
  public let k: Int
  public let weighting: Baselines.Weighting

  public init(sequences: [[UInt8]], targets: [Double], kmer: Int = 3, k: Int = 5,
              weighting: Baselines.Weighting = .uniform) throws
  {
    try Metrics.validate(targets, name: "targets")
    if sequences.count != targets.count {
      throw MetricsError.lengthMismatch(argument: "sequences", count: sequences.count, other: "targets", otherCount: targets.count)
    }
    if k < 1 { throw MetricsError.invalidParameter("k must be at least 1, got \(k)") }
    profiles = try sequences.map { try KmerProfile($0, k: kmer) }
    self.targets = targets
    self.kmer = kmer
    self.k = k
    self.weighting = weighting
  }

  public var effectiveK: Int { min(k, targets.count) }

  public func neighbours(of query: [UInt8]) throws -> [Baselines.Neighbour] {
    let q = try KmerProfile(query, k: kmer)
    return Baselines.select(count: profiles.count, k: effectiveK) { i in
      let s = (try? KmerProfile.cosine(q, profiles[i])) ?? 0
      return Baselines.Neighbour(index: i, similarity: s, distance: 1 - s)
    }
  }

  public func predict(_ query: [UInt8]) throws -> Double {
    Baselines.combine(try neighbours(of: query), targets, weighting)
  }
}
