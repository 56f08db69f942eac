import Foundation
import TagdataShards

/// Tag-LLM's compositional claim, measured: per task, the test examples grouped by their tag
/// combination (the set of tag names in the formulation: function tag and domain tags, the
/// source and target language tags of Translate). A combination the task's training split never
/// has is unseen; the figures of the seen and unseen examples are reported apart.
extension Evaluator {
  /// One tag combination of a task's test examples.
  public struct Combination: Codable, Sendable, Equatable {
    /// The tag names, sorted.
    public var tags: [String]
    public var seen: Bool
    /// Test examples with it.
    public var count: Int
    /// Training examples of the task with it.
    public var train: Int
  }

  /// The figures of a group of examples (the seen or the unseen combinations).
  public struct GroupFigures: Codable, Sendable, Equatable {
    public var count: Int
    /// head, number as text: the regression metrics (and `parsed`, the share of outputs that
    /// gave a number); generation: bleu, chrf, exact_match; language: perplexity, bits_per_token.
    public var metrics: [String: Figure]
    /// Language: the target tokens scored.
    public var tokens: Int? = nil
  }

  /// A task's test examples by tag combination, for one kind of figure (`head`,
  /// `number as text`, `generation`, `language`).
  public struct CombinationTask: Codable, Sendable, Equatable {
    public var task: String
    public var kind: String
    public var combinations: [Combination]
    public var seen: GroupFigures?
    public var unseen: GroupFigures?
  }

  /// Dataset ids → tag names, from the dataset's tag registry.
  struct TagLookup {
    let first: Int
    let names: [String]
    /// Per id from `first`: the index into `names`, or -1.
    let index: [Int32]

    init(_ v: TokenShards.VocabularyInfo) {
      names = v.tagList.map(\.name)
      first = v.tagList.map(\.firstID).min() ?? 0
      let end = v.tagList.map { $0.firstID + $0.tokens }.max() ?? first
      var index = [Int32](repeating: -1, count: max(0, end - first))
      for (k, t) in v.tagList.enumerated() {
        for id in t.firstID..<(t.firstID + t.tokens) { index[id - first] = Int32(k) }
      }
      self.index = index
    }

    /// The combination of dataset ids: the names of the tags they hold, sorted.
    func combination(_ ids: [Int]) -> [String] {
      var seen = [Bool](repeating: false, count: names.count)
      for id in ids where id >= first && id - first < index.count {
        let k = index[id - first]
        if k >= 0 { seen[Int(k)] = true }
      }
      return names.indices.filter { seen[$0] }.map { names[$0] }.sorted()
    }
  }

  /// The combinations of a task's test items (`tags` per item) against its training split's,
  /// and the items of the seen and the unseen ones.
  static func group(_ tags: [[String]], train: [[String]: Int]) -> (combinations: [Combination], seen: [Int], unseen: [Int]) {
    var counts: [[String]: Int] = [:]
    var seen: [Int] = [], unseen: [Int] = []
    for (i, t) in tags.enumerated() {
      counts[t, default: 0] += 1
      if train[t] != nil { seen.append(i) } else { unseen.append(i) }
    }
    let combinations = counts.map { Combination(tags: $0.key, seen: train[$0.key] != nil, count: $0.value, train: train[$0.key] ?? 0) }
      .sorted { $0.count != $1.count ? $0.count > $1.count : $0.tags.lexicographicallyPrecedes($1.tags) }
    return (combinations, seen, unseen)
  }

  /// Regression figures of a group, nil when it is empty.
  static func regressionGroup(_ yTrue: [Double], _ yPred: [Double], _ o: Options) throws -> GroupFigures? {
    guard !yTrue.isEmpty else { return nil }
    return GroupFigures(count: yTrue.count, metrics: try figures(yTrue, yPred, o))
  }
}
