import Foundation
import TagdataIO
import TagdataShards
import TagdataTokenizer
import TagdataTrain

/// The ids of a token dataset as text again: the dataset's vocabulary (`dataset.json`: text
/// tokenizer, tag registry, domain ranges) rebuilt for decoding, and the model's ids mapped back
/// to the dataset's (the inverse of `DatasetMapping`: text ids unchanged, the domain ranges the
/// model grew after the text ids back to the dataset's ranges, tag rows to the tag's ids).
public struct DatasetText: Sendable {
  public let vocabulary: Vocabulary
  /// Model id → dataset id (-1: no dataset id).
  let back: [Int]

  /// `text`: the dataset's text tokenizer (its size is checked); nil is right only for a dataset
  /// made with the byte tokenizer.
  public init(info v: TokenShards.VocabularyInfo, text: (any TextTokenizer)?, model: Model?) throws {
    let tokenizer: any TextTokenizer
    if let text {
      tokenizer = text
    } else if v.text == "bytes" {
      tokenizer = ByteTextTokenizer()
    } else {
      throw Evaluator.EvaluationError(description: "the dataset's text tokenizer \(v.text) is needed to decode generated ids "
                                        + "(give its tokenizer.json)")
    }
    guard tokenizer.vocabularySize == v.textSize else {
      throw Evaluator.EvaluationError(description: "the text tokenizer has \(tokenizer.vocabularySize) ids, the dataset's \(v.text) has \(v.textSize)")
    }
    let tags = v.tagList.map {
      Vocabulary.Tag(name: $0.name, text: $0.text, kind: Vocabulary.TagKind(rawValue: $0.kind) ?? .domain, first: $0.firstID - v.textSize,
                     count: $0.tokens)
    }
    if let r = v.residues, r.tokens != [Vocabulary.residueUnknown] + Vocabulary.residues {
      throw Evaluator.EvaluationError(description: "the dataset's residue range is not the one this version writes")
    }
    do {
      vocabulary = try Vocabulary(text: tokenizer, tags: tags, smilesTokens: v.smiles?.tokens, residues: v.residues != nil, bos: v.bos,
                                  eos: v.eos)
    } catch {
      throw Evaluator.EvaluationError(description: "the dataset's vocabulary: \(error)")
    }
    guard let model else {
      back = []
      return
    }
    var back = [Int](repeating: -1, count: model.inputTokenCount)
    for i in 0..<min(v.textSize, back.count) { back[i] = i }
    var next = v.textSize
    for range in [v.smiles, v.residues].compactMap({ $0 }) {
      for k in 0..<range.tokens.count where next + k < back.count { back[next + k] = range.firstID + k }
      next += range.tokens.count
    }
    for t in v.tagList {
      for (k, row) in model.tagTokens(t.name).enumerated() where k < t.tokens && row >= 0 && row < back.count { back[row] = t.firstID + k }
    }
    self.back = back
  }

  /// The text of dataset ids (tags as `<TAG i>`), without the EOS it may end with, trimmed of
  /// whitespace at both ends (Python's `strip()`).
  public func text(datasetIDs ids: some Collection<Int>) -> String {
    var a = Array(ids)
    if let e = vocabulary.eos, a.last == e { a.removeLast() }
    return DatasetText.strip(vocabulary.decode(a))
  }

  /// The text of model ids.
  public func text(modelIDs ids: [Int]) -> String {
    text(datasetIDs: ids.map { $0 >= 0 && $0 < back.count ? back[$0] : -1 })
  }

  /// Python's `str.strip()`.
  public static func strip(_ s: String) -> String {
    let u = Array(s.unicodeScalars)
    var a = 0, b = u.count
    while a < b && PythonText.isSpace(u[a].value) { a += 1 }
    while b > a && PythonText.isSpace(u[b - 1].value) { b -= 1 }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: u[a..<b])
    return String(out)
  }
}

/// Corpus-level text metrics of generations against references: BLEU (13a, sacrebleu's
/// defaults), chrF (sacrebleu's defaults) and the exact-match rate (after `strip()`), each with a
/// seeded percentile bootstrap interval over sentences (a resample draws n sentences with
/// replacement and scores the corpus of their summed statistics).
public struct TextScores: Sendable {
  let bleu = BLEU()
  let chrf = CHRF()
  var bleuStatistics: [BLEU.Statistics] = []
  var chrfStatistics: [[Int]] = []
  var exact: [Bool] = []

  public init(hypotheses: [String], references: [String]) throws {
    precondition(hypotheses.count == references.count)
    for (h, r) in zip(hypotheses, references) {
      bleuStatistics.append(try bleu.statistics(hypotheses: [h], references: [[r]]))
      chrfStatistics.append(try chrf.statistics(hypotheses: [h], references: [[r]]))
      exact.append(h == r)
    }
  }

  public var count: Int { exact.count }

  /// BLEU, chrF and exact match (0–100, 0–100, 0–1) of the sentences at `indices` (repeats count).
  public func scores(_ indices: some Sequence<Int>) -> (bleu: Double, chrf: Double, exact: Double) {
    var b = BLEU.Statistics(matches: [Int](repeating: 0, count: bleu.maxOrder), totals: [Int](repeating: 0, count: bleu.maxOrder))
    var c = [Int](repeating: 0, count: chrfStatistics.first?.count ?? 0)
    var hits = 0, n = 0
    for i in indices {
      let s = bleuStatistics[i]
      b.hypothesisLength += s.hypothesisLength
      b.referenceLength += s.referenceLength
      for k in 0..<bleu.maxOrder {
        b.matches[k] += s.matches[k]
        b.totals[k] += s.totals[k]
      }
      for k in c.indices { c[k] += chrfStatistics[i][k] }
      if exact[i] { hits += 1 }
      n += 1
    }
    return (bleu.score(b).score, c.isEmpty ? 0 : chrf.fScore(c), n > 0 ? Double(hits) / Double(n) : .nan)
  }

  /// Figures of the sentences at `subset` (all when nil): the scores with percentile intervals
  /// from `resamples` resamples of SplitMix64(`seed`) (none when fewer than two sentences).
  public func figures(_ subset: [Int]? = nil, resamples: Int, level: Double, seed: UInt64) -> [String: Evaluator.Figure] {
    let pool = subset ?? Array(0..<count)
    let point = scores(pool)
    var out = ["bleu": Evaluator.Figure(value: point.bleu), "chrf": Evaluator.Figure(value: point.chrf),
               "exact_match": Evaluator.Figure(value: pool.isEmpty ? nil : point.exact)]
    guard pool.count >= 2, resamples > 0 else { return out }
    var rng = SplitMix64(seed: seed)
    var draws: [[Double]] = [[], [], []]
    var picked = [Int](repeating: 0, count: pool.count)
    for _ in 0..<resamples {
      for k in picked.indices { picked[k] = pool[Bootstrap.below(pool.count, &rng)] }
      let s = scores(picked)
      draws[0].append(s.bleu)
      draws[1].append(s.chrf)
      draws[2].append(s.exact)
    }
    let alpha = (1 - level) / 2
    for (name, d) in zip(["bleu", "chrf", "exact_match"], draws) {
      let sorted = d.sorted()
      out[name]!.lower = Bootstrap.quantile(sorted: sorted, alpha)
      out[name]!.upper = Bootstrap.quantile(sorted: sorted, 1 - alpha)
    }
    return out
  }
}

extension Evaluator {
  /// One generated output: the prompt's continuation decoded as text beside the reference.
  public struct Generation: Codable, Sendable, Equatable {
    public var key: String
    public var task: String
    public var reference: String
    public var hypothesis: String
    /// `eos` or `length` (the reference's length plus the margin was reached).
    public var stopped: String
    /// The example's tag combination (tag names, sorted).
    public var tags: [String]
    /// Number as text: the exact target and the first number of the hypothesis (nil: none).
    public var target: Double? = nil
    public var parsed: Double? = nil
  }

  /// Text generation of a task: BLEU, chrF, exact match with intervals.
  public struct GenerationTask: Codable, Sendable, Equatable {
    public var task: String
    public var count: Int
    /// Outputs that ended with the EOS (the others reached the length limit).
    public var stoppedAtEOS: Int
    /// `bleu` (sacrebleu's corpus BLEU, 13a), `chrf` (corpus chrF), `exact_match` (fraction).
    public var metrics: [String: Figure]
  }

  /// A regression task written as text: the first number of each decoded output against the
  /// exact target. Metrics are computed on the parsed outputs only.
  public struct NumberTextTask: Codable, Sendable, Equatable {
    public var task: String
    /// Examples decoded.
    public var count: Int
    /// Outputs that gave a finite number (the metrics are on these only).
    public var parsed: Int
    /// `parsed / count`.
    public var parsedFraction: Double
    /// mse, rmse, mae, r2, pearson, spearman, kendall_tau_b on the parsed outputs.
    public var metrics: [String: Figure]
    /// The mean of the training split's exact targets on the same examples.
    public var meanBaseline: [String: Figure]
    public var trainMean: Double?
  }

  static func numberFigures(task: String, _ g: [Generation], train: [Double], _ o: Options) throws -> NumberTextTask {
    let ok = g.filter { $0.parsed != nil }
    let yTrue = ok.map { $0.target! }, yPred = ok.map { $0.parsed! }
    let mean = train.isEmpty ? nil : train.reduce(0, +) / Double(train.count)
    var t = NumberTextTask(task: task, count: g.count, parsed: ok.count, parsedFraction: g.isEmpty ? 0 : Double(ok.count) / Double(g.count),
                           metrics: [:], meanBaseline: [:], trainMean: mean)
    guard !ok.isEmpty else { return t }
    t.metrics = try figures(yTrue, yPred, o)
    if let mean { t.meanBaseline = try figures(yTrue, [Double](repeating: mean, count: yTrue.count), o) }
    return t
  }

  /// The examples with an output to generate: (index, where the output begins). An example
  /// that records no `outputStart` (a dataset exported before it was recorded) with a function
  /// tag and no regression is taken to begin its output after the last function tag.
  static func outputs(_ examples: [TokenDataset.Example], indices: [Int], functionIDs: Set<Int>) -> [(Int, Int)] {
    var out: [(Int, Int)] = []
    for i in indices {
      let e = examples[i]
      guard e.regression.isEmpty else { continue }
      if let s = e.outputStart {
        if s > 0 && s < e.tokens.count { out.append((i, s)) }
      } else if let last = e.tokens.lastIndex(where: { functionIDs.contains($0) }), last + 1 < e.tokens.count {
        out.append((i, last + 1))
      }
    }
    return out
  }

  /// Greedy continuation of `prompt` (model ids), at most `maxNew` new ids, ended by `stop`; a
  /// prompt longer than the context left for them keeps its last tokens.
  static func decode(_ model: Model, prompt: [Int], maxNew: Int, length: Int, stop: Set<Int>) throws -> ([Int], StopReason) {
    let room = max(1, length - maxNew)
    let p = prompt.count > room ? Array(prompt.suffix(room)) : prompt
    let r = try model.generate(prompt: p, maxNewTokens: maxNew, sampling: .greedy, stopTokens: stop)
    return (r.ids, r.stopped)
  }
}

/// The first number in a text, as Tag-LLM writes its labels (`0.1234`, `-1.500`, `12.345`,
/// `1e-050`, which Python's `float` reads as 1e-50): an optional sign directly before it, ASCII
/// digits with at most one decimal point (`5.`, `.5`), an optional exponent (`e`/`E`, optional
/// sign, digits; an `e` without digits after it is not part of the number). Nil when the text
/// has no such number or its value is not finite (`1e999`). Scanning is linear in the text.
public enum NumberText {
  public static func firstNumber(_ text: String) -> Double? {
    let b = Array(text.utf8)
    let n = b.count
    func digit(_ i: Int) -> Bool { i < n && b[i] >= 0x30 && b[i] <= 0x39 }
    var i = 0
    while i < n {
      // A number starts at a digit, or at a point followed by a digit.
      guard digit(i) || (b[i] == 0x2E && digit(i + 1)) else {
        i += 1
        continue
      }
      var start = i
      if start > 0 && (b[start - 1] == 0x2D || b[start - 1] == 0x2B) { start -= 1 }
      var j = i
      while digit(j) { j += 1 }
      if j < n && b[j] == 0x2E {
        j += 1
        while digit(j) { j += 1 }
      }
      if j < n && (b[j] == 0x65 || b[j] == 0x45) {
        var k = j + 1
        if k < n && (b[k] == 0x2D || b[k] == 0x2B) { k += 1 }
        if digit(k) {
          while digit(k) { k += 1 }
          j = k
        }
      }
      // Very long digit runs: the value is what strtod makes of them (inf past the range).
      guard let v = Double(String(decoding: b[start..<j], as: UTF8.self)), v.isFinite else { return nil }
      return v
    }
    return nil
  }
}
