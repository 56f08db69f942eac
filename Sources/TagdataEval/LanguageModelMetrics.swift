import Foundation

/// Token-weighted language-model metrics from a summed negative log-likelihood (EVAL.md §5):
/// S = Σ NLL_t in nats over the scored tokens, N their count, Bytes the UTF-8 bytes of the text
/// they spell (target text only, no BOS/EOS/pad). Everything derives from S, N, Bytes.
public struct LanguageModelScore: Sendable, Equatable, Codable {
  /// S: summed negative log-likelihood, natural log.
  public var nll: Double
  /// N: scored tokens.
  public var tokens: Int
  /// UTF-8 bytes of the scored text, when known.
  public var bytes: Int?

  /// Checks S finite and ≥ 0, N ≥ 1, Bytes ≥ 1 when given.
  public init(nll: Double, tokens: Int, bytes: Int? = nil) throws {
    if !nll.isFinite { throw MetricsError.nonFinite(argument: "nll", index: 0, value: nll) }
    if nll < 0 { throw MetricsError.invalidParameter("a negative log-likelihood cannot be negative, got \(nll)") }
    if tokens < 1 { throw MetricsError.tooFew(metric: "perplexity", count: tokens, minimum: 1) }
    if let bytes, bytes < 1 { throw MetricsError.invalidParameter("bytes must be at least 1, got \(bytes)") }
    self.nll = nll
    self.tokens = tokens
    self.bytes = bytes
  }

  /// S/N, nats per token (the mean cross-entropy).
  public var meanNLL: Double { nll / Double(tokens) }
  /// exp(S/N); +inf on overflow, as HF's run_clm.
  public var perplexity: Double { exp(meanNLL) }
  /// S/(N·ln 2) = log₂ perplexity.
  public var bitsPerToken: Double { nll / (Double(tokens) * M_LN2) }
  /// S/(Bytes·ln 2), tokenizer-independent; nil without a byte count.
  public var bitsPerByte: Double? { bytes.map { nll / (Double($0) * M_LN2) } }
}

/// Sums S, N, Bytes per domain (and over all domains) without losing digits over millions of
/// additions (Neumaier-compensated sum of S).
public struct PerplexityAccumulator: Sendable {
  struct Sum: Sendable {
    var sum = 0.0, compensation = 0.0
    var tokens = 0, bytes = 0
    var bytesKnown = true
    mutating func add(_ x: Double) {
      let t = sum + x
      if abs(sum) >= abs(x) { compensation += (sum - t) + x } else { compensation += (x - t) + sum }
      sum = t
    }
    var value: Double { sum + compensation }
  }

  var domains: [String: Sum] = [:]
  var all = Sum()

  public init() {}

  /// Adds the NLL (nats) of `tokens` scored tokens of one domain, with their text's UTF-8 bytes.
  public mutating func add(domain: String, nll: Double, tokens: Int, bytes: Int? = nil) throws {
    if !nll.isFinite { throw MetricsError.nonFinite(argument: "nll", index: 0, value: nll) }
    if nll < 0 { throw MetricsError.invalidParameter("a negative log-likelihood cannot be negative, got \(nll)") }
    if tokens < 0 { throw MetricsError.invalidParameter("token count cannot be negative, got \(tokens)") }
    if let bytes, bytes < 0 { throw MetricsError.invalidParameter("byte count cannot be negative, got \(bytes)") }
    for key in [Optional(domain), nil] {
      var s = key.map { domains[$0] ?? Sum() } ?? all
      s.add(nll)
      s.tokens += tokens
      if let bytes { s.bytes += bytes } else { s.bytesKnown = false }
      if let key { domains[key] = s } else { all = s }
    }
  }

  /// The score of one domain; nil when it has no scored token (undefined, not 0).
  public func score(domain: String) -> LanguageModelScore? { domains[domain].flatMap(Self.score) }
  /// Over every domain, token-weighted (not a mean of per-domain means).
  public var total: LanguageModelScore? { Self.score(all) }
  public var domainNames: [String] { domains.keys.sorted() }

  static func score(_ s: Sum) -> LanguageModelScore? {
    try? LanguageModelScore(nll: max(s.value, 0), tokens: s.tokens, bytes: s.bytesKnown && s.bytes > 0 ? s.bytes : nil)
  }
}

extension Metrics {
  /// NLL of `label` under `logits` in nats: logsumexp(z) − z[label], computed with the maximum
  /// subtracted first. Throws for an empty or non-finite logit vector or a label out of range.
  public static func negativeLogLikelihood(logits: [Double], label: Int) throws -> Double {
    try validate(logits, name: "logits")
    if label < 0 || label >= logits.count {
      throw MetricsError.invalidParameter("label \(label) outside 0..<\(logits.count)")
    }
    let m = logits.max()!
    let s = logits.withUnsafeBufferPointer { z in Summation.pairwise(z.count) { exp(z[$0] - m) } }
    return max(0, (m + log(s)) - logits[label])
  }
}

extension LanguageModelScore {
  /// One evaluation batch as Hugging Face's Trainer sees it: summed NLL and scored tokens of the
  /// batch, and the number of sequences it held (after accelerate's cut of the last batch).
  public struct Batch: Sendable, Equatable {
    public var nll: Double
    public var tokens: Int
    public var sequences: Int
    public init(nll: Double, tokens: Int, sequences: Int) {
      self.nll = nll
      self.tokens = tokens
      self.sequences = sequences
    }
  }

  /// HF `Trainer.evaluate`'s `eval_loss`: each batch's token mean repeated once per sequence, then
  /// averaged, Σ n_b·L_b / Σ n_b — a mean of per-batch means, not S/N unless every batch has the
  /// same number of scored tokens (EVAL.md §5). Only to compare with an HF log; report S/N.
  /// Batches without scored tokens (NaN in PyTorch) throw.
  public static func huggingFaceEvalLoss(_ batches: [Batch]) throws -> Double {
    if batches.isEmpty { throw MetricsError.empty(argument: "batches") }
    var num = 0.0, den = 0.0
    for (i, b) in batches.enumerated() {
      if b.tokens < 1 { throw MetricsError.invalidParameter("batch \(i) has no scored token (its loss is NaN)") }
      if b.sequences < 1 { throw MetricsError.invalidParameter("batch \(i) has no sequence") }
      if !b.nll.isFinite { throw MetricsError.nonFinite(argument: "batches.nll", index: i, value: b.nll) }
      num += Double(b.sequences) * (b.nll / Double(b.tokens))
      den += Double(b.sequences)
    }
    return num / den
  }
}

extension Metrics {
  /// TDC's `round(x, 3)`: Python's round, i.e. the exact binary value correctly rounded to
  /// `digits` decimals, exact ties to even — done by formatting (scale-and-round differs:
  /// 0.1235 → 0.123, 2.6745 → 2.675, 76.3775 → 76.377). Non-finite values are returned as they are.
  public static func pythonRound(_ x: Double, digits: Int = 3) -> Double {
    guard x.isFinite, (0...15).contains(digits) else { return x }
    return Double(String(format: "%.\(digits)f", x)) ?? x
  }
}
