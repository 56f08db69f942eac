/// Ranking metrics of binary classification with scikit-learn 1.9's conventions (EVAL.md §4), as
/// TDC's `roc-auc` and `pr-auc` call them on raw scores.
extension Metrics {
  /// Checks labels (0 or 1) and scores (finite) of equal, non-zero length.
  static func validateBinary(_ labels: [Double], _ scores: [Double]) throws {
    try validate(labels, scores, names: ("labels", "scores"))
    for (i, v) in labels.enumerated() where v != 0 && v != 1 {
      throw MetricsError.notBinary(argument: "labels", index: i, value: v)
    }
  }

  /// Area under the ROC curve (`sklearn.metrics.roc_auc_score`): the Mann–Whitney probability
  /// P(s⁺ > s⁻) + ½·P(s⁺ = s⁻), from average ranks. NaN when only one class is present (sklearn
  /// 1.9 warns and returns NaN).
  public static func rocAUC(labels: [Double], scores: [Double]) throws -> Double {
    try validateBinary(labels, scores)
    let positives = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
    let negatives = labels.count - positives
    if positives == 0 || negatives == 0 { return .nan }
    let ranks = Core.averageRanks(scores, order: Core.sortedOrder(scores), weights: nil)
    var rankSum = 0.0
    for i in 0..<labels.count where labels[i] == 1 { rankSum += ranks[i] }
    let p = Double(positives), n = Double(negatives)
    return (rankSum - p * (p + 1) / 2) / (p * n)
  }

  /// Average precision (`sklearn.metrics.average_precision_score`): Σ_k (R_k − R_{k−1})·P_k over
  /// the distinct score thresholds in decreasing order (tied scores enter together), R₀ = 0; no
  /// interpolation. No positive label: 0.0 (sklearn warns); all positive: 1.0.
  public static func averagePrecision(labels: [Double], scores: [Double]) throws -> Double {
    try validateBinary(labels, scores)
    let positives = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
    if positives == 0 { return 0 }
    let order = Core.sortedOrder(scores)
    var truePositives = 0, falsePositives = 0
    var ap = 0.0, previousRecall = 0.0
    var k = order.count - 1
    while k >= 0 {
      let threshold = scores[Int(order[k])]
      while k >= 0 && scores[Int(order[k])] == threshold {
        if labels[Int(order[k])] == 1 { truePositives += 1 } else { falsePositives += 1 }
        k -= 1
      }
      let recall = Double(truePositives) / Double(positives)
      let precision = Double(truePositives) / Double(truePositives + falsePositives)
      ap += (recall - previousRecall) * precision
      previousRecall = recall
    }
    return ap
  }
}
