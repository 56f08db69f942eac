import Foundation
import TagdataEval
import TagdataIO
import TestSupport
import Testing

/// TagdataEval against the Python tools (Tests/Interop/eval_metrics.py): scikit-learn and scipy for
/// the regression and correlation metrics on thousands of generated cases, scipy.stats.bootstrap's
/// interval rules on our resamples, sacrebleu's BLEU and chrF on generated corpora from the shipped
/// parallel text, scikit-learn's KNeighborsRegressor for the Tanimoto kNN baseline. Python prints
/// every disagreement with its input and a SUMMARY line; exit 3 = a tool is missing.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct MetricsInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/eval_metrics.py").path

  @Test func metricsEqualScipySklearnAndSacrebleu() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 20_261_206))
    var json = "{\"regression\":["
    json += try Self.regressionCases(&rng).joined(separator: ",\n")
    json += "],\n\"bootstrap\":["
    json += try Self.bootstrapCases(&rng).joined(separator: ",\n")
    json += "],\n\"text\":["
    json += try Self.textCases(&rng).joined(separator: ",\n")
    json += "],\n\"classification\":["
    json += try Self.classificationCases(&rng).joined(separator: ",\n")
    json += "],\n\"rounding\":"
    // TDC's round(x, 3): values with 4 and 5 decimals (many exact-looking ties) and random ones.
    let values = (0..<5000).map { i -> Double in
      let v = Self.normal(&rng) * pow(10, Double(rng.below(5)))
      return i % 3 == 0 ? v : i % 3 == 1 ? (v * 1e4).rounded() / 1e4 : (v * 1e5).rounded() / 1e5
    }
    json += "{\"values\":\(Self.nums(values)),\"ours\":\(Self.nums(values.map { Metrics.pythonRound($0) }))}"
    json += ",\n\"knn\":["
    json += try Self.knnCases(&rng).joined(separator: ",\n")
    json += "]}\n"
    let dir = TestSupport.tempDirectory()
    let cases = dir.appendingPathComponent("cases.json")
    try Data(json.utf8).write(to: cases)
    let r = try TestSupport.run(python, [Self.script, cases.path])
    if r.status == 3 && !TestSupport.interopRequired {
      print("skipped: \(r.stdout)")
      return
    }
    print(r.stdout.split(separator: "\n").suffix(40).joined(separator: "\n"))
    #expect(r.status == 0, "\(r.stdout.prefix(20_000))\n\(r.stderr.suffix(5000))")
    #expect(r.stdout.contains("SUMMARY") && r.stdout.contains("problems=0"), "\(r.stdout.suffix(5000))")
  }

  // MARK: JSON

  static func num(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
    return "\(d)"
  }

  static func nums(_ a: [Double]) -> String { "[" + a.map(num).joined(separator: ",") + "]" }

  static func str(_ s: String?) -> String {
    guard let s else { return "null" }
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      default:
        if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
      }
    }
    return out + "\""
  }

  static func result(_ body: () throws -> Double) -> String {
    do { return num(try body()) } catch { return "\"error\"" }
  }

  // MARK: random data

  static func unit(_ rng: inout SplitMix64) -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

  static func normal(_ rng: inout SplitMix64) -> Double {
    let u = max(unit(&rng), 1e-300), v = unit(&rng)
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }

  /// Sizes with n = 1, 2, 3 frequent, and some large.
  static func size(_ rng: inout SplitMix64) -> Int {
    switch rng.below(20) {
    case 0..<4: return 1 + rng.below(3)
    case 4..<14: return 4 + rng.below(27)
    case 14..<19: return 31 + rng.below(470)
    default: return 501 + rng.below(4500)
    }
  }

  /// A pair of vectors of one of ten kinds: noisy, heavy ties, constant true / predicted / both,
  /// 1e6 + small noise, negative, perfect, wide magnitudes, rounded.
  static func vectors(_ rng: inout SplitMix64, n: Int) -> (kind: Int, y: [Double], p: [Double]) {
    let kind = rng.below(10)
    let scale = pow(10, Double(rng.below(7)) - 3)
    var y = [Double](), p = [Double]()
    for _ in 0..<n {
      let a = normal(&rng) * scale, b = normal(&rng) * scale * 0.3
      switch kind {
      case 0: y.append(a); p.append(a + b)
      case 1: let k = 1 + rng.below(4); y.append(Double(rng.below(k))); p.append(Double(rng.below(k)) - 0.5)
      case 2: y.append(3.25); p.append(a)
      case 3: y.append(a); p.append(-1.5)
      case 4: y.append(7); p.append(7)
      case 5: y.append(1e6 + a * 1e-3 / scale); p.append(1e6 + (a + b) * 1e-3 / scale)
      case 6: y.append(-abs(a) - 1000); p.append(-abs(a + b) - 1000)
      case 7: y.append(a); p.append(a)
      case 8: y.append(a * pow(10, Double(rng.below(9)))); p.append(a * 0.9 + b)
      default: y.append((a * 4).rounded() / 4); p.append((a + b).rounded())
      }
    }
    return (kind, y, p)
  }

  static func regressionCases(_ rng: inout SplitMix64) throws -> [String] {
    var out: [String] = []
    for _ in 0..<3000 {
      let (kind, y, p) = vectors(&rng, n: size(&rng))
      var fields = ["\"kind\":\(kind)", "\"y\":\(nums(y))", "\"p\":\(nums(p))"]
      fields.append("\"mse\":" + result { try Metrics.meanSquaredError(y, p) })
      fields.append("\"rmse\":" + result { try Metrics.rootMeanSquaredError(y, p) })
      fields.append("\"mae\":" + result { try Metrics.meanAbsoluteError(y, p) })
      fields.append("\"r2\":" + result { try Metrics.r2(y, p) })
      fields.append("\"pearson\":" + result { try Metrics.pearson(y, p) })
      fields.append("\"spearman\":" + result { try Metrics.spearman(y, p) })
      fields.append("\"kendall\":" + result { try Metrics.kendallTauB(y, p) })
      let report = try Metrics.regressionReport(y, p)
      for (name, a, b) in [("mse", report.mse, try Metrics.meanSquaredError(y, p)), ("spearman", report.spearman, try Metrics.spearman(y, p)),
                           ("kendall", report.kendallTauB, try Metrics.kendallTauB(y, p))]
      {
        #expect(a == b || (a.isNaN && b.isNaN), "regressionReport.\(name) differs from the metric")
      }
      out.append("{" + fields.joined(separator: ",") + "}")
      // Non-finite values are refused with the index of the first one.
      if y.count > 1 {
        var bad = p
        let i = rng.below(bad.count)
        bad[i] = [Double.nan, .infinity, -.infinity][rng.below(3)]
        for s in PairedStatistic.allCases {
          do {
            _ = try s.evaluate(y, bad)
            Issue.record("\(s) accepted \(bad[i]) at \(i)")
          } catch let MetricsError.nonFinite(argument, index, _) {
            #expect(argument == "yPred" && index == i)
          }
        }
      }
    }
    return out
  }

  static func bootstrapCases(_ rng: inout SplitMix64) throws -> [String] {
    var out: [String] = []
    for c in 0..<42 {
      let statistic = PairedStatistic.allCases[c % PairedStatistic.allCases.count]
      let n = [2, 3, 5, 8, 13, 40][rng.below(6)]
      var (_, y, p) = vectors(&rng, n: n)
      if c % 3 == 0 { (y, p) = ((0..<n).map { _ in normal(&rng) }, (0..<n).map { _ in normal(&rng) }) }
      let level = [0.9, 0.95, 0.99][rng.below(3)]
      let b = 120
      let seed = rng.next()
      let indices = Bootstrap.resampleIndices(n: n, resamples: b, seed: seed)
      let theta = try Bootstrap.distribution(statistic, yTrue: y, yPred: p, indices: indices)
      let drawn = try Bootstrap.distribution(statistic, yTrue: y, yPred: p, resamples: b, seed: seed)
      #expect(zip(theta, drawn).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "the drawn resamples are the exported ones")
      let point = try statistic.evaluate(y, p)
      let jack = try Bootstrap.jackknife(statistic, yTrue: y, yPred: p)
      var fields = ["\"statistic\":\"\(statistic.rawValue)\"", "\"level\":\(level)", "\"y\":\(nums(y))", "\"p\":\(nums(p))",
                    "\"indices\":[" + indices.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",") + "]",
                    "\"theta\":\(nums(theta))", "\"point\":\(num(point))", "\"jackknife\":\(nums(jack))"]
      if theta.contains(where: \.isNaN) || point.isNaN {
        fields.append("\"intervals\":null")
      } else {
        var parts: [String] = []
        for m in BootstrapMethod.allCases {
          let (lo, hi) = Bootstrap.interval(method: m, statistics: theta, point: point, jackknife: jack, level: level)
          parts.append("\"\(m.rawValue)\":[\(num(lo)),\(num(hi))]")
        }
        fields.append("\"intervals\":{" + parts.joined(separator: ",") + "}")
      }
      out.append("{" + fields.joined(separator: ",") + "}")
    }
    return out
  }

  /// Sentences of the shipped parallel text (English, German, French).
  static func sentences() throws -> [String] {
    let text = try String(contentsOf: TestSupport.corpus("tables/parallel_text_sample.tsv"), encoding: .utf8)
    var out: [String] = []
    for line in text.split(separator: "\n").dropFirst() {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false)
      if f.count >= 4 { out.append(String(f[1])); out.append(String(f[3])) }
    }
    return Array(Set(out)).sorted()
  }

  static let specials = [
    "é", "e\u{301}", "\u{A0}", "\u{3000}", "\u{1C}", "\u{1F}", "\u{200B}", "—", "…", "“", "”", "'", "\"", ",", ".", "-", "3.5-4",
    "5,000.00", "&amp;", "&lt;", "&gt;", "&quot;", "&amp;lt;", "<skipped>", "\n", "-\n", "\t", "\r", "\r\n", "😀", "👍🏽", "中文",
    "Ω", "$", "(", ")", "e.g.", "U.S.A.", "\u{2028}", "\u{85}", "ﬁ", "İ", "a,b", "1,2,3", "x.y", "!?", "...", "--", "@#", "\u{301}",
  ]

  static func mutate(_ s: String, _ rng: inout SplitMix64) -> String {
    var words = s.split(separator: " ").map(String.init)
    for _ in 0..<rng.below(4) {
      switch rng.below(7) {
      case 0 where !words.isEmpty: words.remove(at: rng.below(words.count))
      case 1 where words.count > 1: words.swapAt(rng.below(words.count), rng.below(words.count))
      case 2 where !words.isEmpty: let i = rng.below(words.count); words.insert(words[i], at: i)
      case 3: words.insert(specials[rng.below(specials.count)], at: rng.below(words.count + 1))
      case 4 where !words.isEmpty:
        let i = rng.below(words.count)
        var scalars = Array(words[i].unicodeScalars)
        scalars.insert(contentsOf: specials[rng.below(specials.count)].unicodeScalars, at: rng.below(scalars.count + 1))
        words[i] = String(String.UnicodeScalarView(scalars))
      case 5: words.append(specials[rng.below(specials.count)])
      default: break
      }
    }
    let sep = rng.below(8) == 0 ? "  " : " "
    return words.joined(separator: sep) + (rng.below(10) == 0 ? " \t" : "")
  }

  static func textCases(_ rng: inout SplitMix64) throws -> [String] {
    let pool = try sentences()
    var out: [String] = []
    for _ in 0..<400 {
      let segments = 1 + rng.below(8)
      let streams = 1 + rng.below(3)
      var hyps: [String] = []
      var refs = [[String?]](repeating: [], count: streams)
      for _ in 0..<segments {
        let base = pool[rng.below(pool.count)]
        let r = rng.below(20)
        hyps.append(r == 0 ? "" : r == 1 ? " \u{A0} " : r < 5 ? pool[rng.below(pool.count)] : mutate(base, &rng))
        for k in 0..<streams {
          let missing = k > 0 && rng.below(4) == 0
          refs[k].append(missing ? nil : rng.below(15) == 0 ? "" : rng.below(3) == 0 ? base : mutate(base, &rng))
        }
      }
      let bleu = try BLEU().corpusScore(hypotheses: hyps, references: refs)
      let eff = try BLEU(effectiveOrder: true).corpusScore(hypotheses: hyps, references: refs)
      let chrf = try CHRF().corpusScore(hypotheses: hyps, references: refs)
      let pp = try CHRF.plusPlus.corpusScore(hypotheses: hyps, references: refs)
      let firstRefs = refs.compactMap { $0[0] }
      let sentence = try BLEU.sentenceScore(hypothesis: hyps[0], references: firstRefs)
      var fields = ["\"hyps\":[" + hyps.map(str).joined(separator: ",") + "]",
                    "\"refs\":[" + refs.map { "[" + $0.map(str).joined(separator: ",") + "]" }.joined(separator: ",") + "]"]
      fields.append("\"bleu\":{\"score\":\(num(bleu.score)),\"counts\":\(bleu.matches),\"totals\":\(bleu.totals),"
        + "\"sys_len\":\(bleu.hypothesisLength),\"ref_len\":\(bleu.referenceLength),\"bp\":\(num(bleu.brevityPenalty))}")
      fields.append("\"bleu_eff\":\(num(eff.score))")
      // Other options of sacrebleu's BLEU: smoothing floor (0.1), add-k (1), none; tokenizer none.
      let variants: [(String, BLEU)] = [
        ("floor", BLEU(smoothing: .floor(0.1))), ("add-k", BLEU(smoothing: .addK(1))), ("none", BLEU(smoothing: .none)),
        ("tok-none", BLEU(tokenizer: .none)), ("floor-eff", BLEU(smoothing: .floor(0.1), effectiveOrder: true)),
      ]
      fields.append("\"bleu_variants\":{" + (try variants.map { name, metric in
        "\"\(name)\":\(num(try metric.corpusScore(hypotheses: hyps, references: refs).score))"
      }).joined(separator: ",") + "}")
      fields.append("\"chrf\":\(num(chrf.score))")
      fields.append("\"chrfpp\":\(num(pp.score))")
      fields.append("\"sentence_bleu\":\(num(sentence.score))")
      fields.append("\"tok13a\":[" + hyps.map { str(BLEU.tokenize13a($0)) }.joined(separator: ",") + "]")
      out.append("{" + fields.joined(separator: ",") + "}")
    }
    return out
  }

  /// Labels (sometimes one class only) and scores with ties (rounded) or without.
  static func classificationCases(_ rng: inout SplitMix64) throws -> [String] {
    var out: [String] = []
    for _ in 0..<500 {
      let n = size(&rng)
      let rate = [0.0, 0.05, 0.3, 0.5, 0.9, 1.0][rng.below(6)]
      let labels = (0..<n).map { _ in unit(&rng) < rate ? 1.0 : 0.0 }
      let digits = pow(10, Double(rng.below(4)))
      let scores = labels.map { l in
        let v = normal(&rng) + l * Double(rng.below(3))
        return rng.below(2) == 0 ? (v * digits).rounded() / digits : v
      }
      out.append("{\"labels\":\(nums(labels)),\"scores\":\(nums(scores)),\"roc_auc\":\(num(try Metrics.rocAUC(labels: labels, scores: scores))),"
        + "\"ap\":\(num(try Metrics.averagePrecision(labels: labels, scores: scores)))}")
    }
    return out
  }

  /// Sparse random fingerprints (ties, duplicates, empty rows), queries partly copied from the
  /// training rows; `tied` marks queries whose k-th and (k+1)-th similarities are equal.
  static func knnCases(_ rng: inout SplitMix64) throws -> [String] {
    var out: [String] = []
    for _ in 0..<60 {
      let n = 1 + rng.below(40), words = 1 + rng.below(2), k = 1 + rng.below(7), density = 2 + rng.below(5)
      func fp() -> [UInt64] {
        (0..<words).map { _ in (0..<density).reduce(UInt64.max) { acc, _ in acc & rng.next() } & (rng.below(6) == 0 ? 0 : UInt64.max) }
      }
      func bits(_ f: [UInt64]) -> String {
        "\"" + (0..<(64 * words)).map { f[$0 / 64] & (1 << UInt64($0 % 64)) != 0 ? "1" : "0" }.joined() + "\""
      }
      let train = (0..<n).map { _ in fp() }
      let y = (0..<n).map { _ in normal(&rng) * 10 }
      let queries = (0..<10).map { _ in rng.below(3) == 0 ? train[rng.below(n)] : fp() }
      let uniform = try TanimotoKNN(fingerprints: train, targets: y, k: k)
      let distance = try TanimotoKNN(fingerprints: train, targets: y, k: k, weighting: .distance)
      var tied: [Bool] = []
      for q in queries {
        let sims = try train.map { try Baselines.tanimoto(q, $0) }.sorted(by: >)
        tied.append(k < n && sims[k - 1] == sims[k])
      }
      out.append("{\"k\":\(k),\"train\":[" + train.map(bits).joined(separator: ",") + "],\"y\":\(nums(y)),"
        + "\"query\":[" + queries.map(bits).joined(separator: ",") + "],\"tied\":\(tied),"
        + "\"uniform\":\(nums(try uniform.predict(queries))),\"distance\":\(nums(try distance.predict(queries)))}")
    }
    return out
  }
}
