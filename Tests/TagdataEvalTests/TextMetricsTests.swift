import Foundation
import TagdataEval
import Testing

/// BLEU, chrF and perplexity on the test vectors of EVAL.md §5 and §6.5 (sacrebleu 2.6.0 values).
@Suite struct TextMetricsTests {
  static let refs1 = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
  static let refs2 = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]
  static let hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]

  @Test func tokenizer13a() {
    #expect(BLEU.tokenize13a("Hello, world! It's 3.5-4 km.") == "Hello , world ! It's 3.5 - 4 km .")
    #expect(BLEU.tokenize13a("e.g. U.S.A. costs $5,000.00 (approx.)") == "e . g . U . S . A . costs $ 5,000.00 ( approx . )")
    #expect(BLEU.tokenize13a("A&amp;B &lt;tag&gt; \"quoted\" x-y 2-3") == "A & B < tag > \" quoted \" x-y 2 - 3")
    #expect(BLEU.tokenize13a("1,2,3 and 4.") == "1,2,3 and 4 .")
    #expect(BLEU.tokenize13a("He said:\"no\"...") == "He said : \" no \" . . .")
    #expect(BLEU.tokenize13a("ÉCOLE café—naïve…") == "ÉCOLE café—naïve…")
  }

  @Test func bleuVectors() throws {
    let v1 = try BLEU().corpusScore(hypotheses: ["The cat sat on the mat."], references: [["The cat sat on the mat."]])
    #expect(v1.score == 100.00000000000004 && v1.matches == [7, 6, 5, 4] && v1.totals == [7, 6, 5, 4])
    let v2 = try BLEU().corpusScore(hypotheses: Self.hyps, references: [Self.refs1])
    #expect(v2.score == 45.06750632106114 && v2.matches == [12, 6, 4, 3] && v2.totals == [17, 14, 11, 8])
    let v3 = try BLEU().corpusScore(hypotheses: Self.hyps, references: [Self.refs1, Self.refs2])
    #expect(v3.score == 48.530827009929865 && v3.matches == [14, 7, 5, 3] && v3.brevityPenalty == 0.9428731438548749)
    #expect(v3.hypothesisLength == 17 && v3.referenceLength == 18)
    let v4 = try BLEU().corpusScore(hypotheses: ["the cat"], references: [["the cat is on the mat"]])
    #expect(v4.score == 0 && v4.brevityPenalty == 0.1353352832366127 && v4.matches == [2, 1, 0, 0])
    let v5 = try BLEU().corpusScore(hypotheses: ["the the the the"], references: [["the cat is on the mat"]])
    #expect(v5.score == 11.521590992286539 && v5.matches == [2, 0, 0, 0] && v5.brevityPenalty == 0.6065306597126334)
    #expect(try CHRF().corpusScore(hypotheses: ["the the the the"], references: [["the cat is on the mat"]]).score == 15.992691035381654)
    let v6 = try BLEU().corpusScore(hypotheses: [""], references: [["the cat is on the mat"]])
    #expect(v6.score == 0 && v6.brevityPenalty == 0)
    #expect(try BLEU.sentenceScore(hypothesis: "the cat", references: ["the cat is on the mat"]).score == 13.533528323661276)
    #expect(try BLEU.sentenceScore(hypothesis: "the cat sat on", references: ["the cat sat on the mat"]).score == 60.653065971263366)
  }

  @Test func chrfVectors() throws {
    let chrf = CHRF(), pp = CHRF.plusPlus
    #expect(try chrf.corpusScore(hypotheses: ["The cat sat on the mat."], references: [["The cat sat on the mat."]]).score == 100)
    #expect(try chrf.corpusScore(hypotheses: Self.hyps, references: [Self.refs1]).score == 50.043063606582294)
    #expect(try pp.corpusScore(hypotheses: Self.hyps, references: [Self.refs1]).score == 51.7309698503746)
    #expect(try chrf.corpusScore(hypotheses: Self.hyps, references: [Self.refs1, Self.refs2]).score == 59.72751782684763)
    #expect(try pp.corpusScore(hypotheses: Self.hyps, references: [Self.refs1, Self.refs2]).score == 59.15310444399262)
    #expect(try chrf.corpusScore(hypotheses: ["the cat"], references: [["the cat is on the mat"]]).score == 29.086605607091926)
    #expect(try pp.corpusScore(hypotheses: ["the cat"], references: [["the cat is on the mat"]]).score == 29.629324157868055)
    #expect(try chrf.corpusScore(hypotheses: [""], references: [["the cat is on the mat"]]).score == 0)
    // Code points, not graphemes: e + U+0301 is two characters.
    let s = try chrf.statistics(hypotheses: ["e\u{0301}a"], references: [["x"]])
    #expect(s[0] == 3)
  }

  @Test func streamsMustLineUp() {
    #expect(throws: TextMetricError.streamLength(stream: 0, count: 1, hypotheses: 2)) {
      try BLEU().corpusScore(hypotheses: ["a", "b"], references: [["a"]])
    }
    #expect(throws: TextMetricError.noReference(segment: 1)) {
      try CHRF().corpusScore(hypotheses: ["a", "b"], references: [["a", nil]])
    }
  }

  @Test func perplexityVectors() throws {
    let ln2 = 0.6931471805599453
    var acc = PerplexityAccumulator()
    try acc.add(domain: "b1", nll: ln2 + 2 * ln2 + 3 * ln2, tokens: 3, bytes: 6)
    try acc.add(domain: "b2", nll: ln2, tokens: 1, bytes: 4)
    let t = try #require(acc.total)
    #expect(close(t.meanNLL, 1.2130075659799042, 1e-15))
    #expect(close(t.perplexity, 3.363585661014858, 1e-15))
    #expect(close(t.bitsPerToken, 1.75, 1e-15))
    #expect(close(t.bitsPerByte ?? 0, 0.7, 1e-15))
    #expect(close(acc.score(domain: "b2")!.perplexity, 2, 1e-15))
    #expect(acc.score(domain: "none") == nil)
    let a = try Metrics.negativeLogLikelihood(logits: [2.0, 1.0, 0.1], label: 0)
    let b = try Metrics.negativeLogLikelihood(logits: [0.5, 2.5, -1.0], label: 1)
    #expect(close(a, 0.41703001627783376, 1e-15) && close(b, 0.15317820712228825, 1e-15))
    #expect(close(try LanguageModelScore(nll: a + b, tokens: 2).perplexity, 1.329900479113957, 1e-15))
    #expect(throws: MetricsError.tooFew(metric: "perplexity", count: 0, minimum: 1)) { try LanguageModelScore(nll: 0, tokens: 0) }
    #expect(throws: MetricsError.self) { try acc.add(domain: "x", nll: .nan, tokens: 1) }
    // Hugging Face's eval_loss: mean of per-batch means, weighted by sequences.
    let hf = try LanguageModelScore.huggingFaceEvalLoss([.init(nll: 6 * ln2, tokens: 3, sequences: 2), .init(nll: ln2, tokens: 1, sequences: 2)])
    #expect(close(hf, 1.0397207708399179, 1e-15) && close(exp(hf), 2.82842712474619, 1e-14))
    #expect(throws: MetricsError.self) { try LanguageModelScore.huggingFaceEvalLoss([.init(nll: 0, tokens: 0, sequences: 1)]) }
  }

  @Test func pythonRounding() {
    #expect(Metrics.pythonRound(0.1235) == 0.123)
    #expect(Metrics.pythonRound(2.6745) == 2.675)
    #expect(Metrics.pythonRound(76.3775) == 76.377)
    #expect(Metrics.pythonRound(16.858) == 16.858 && Metrics.pythonRound(0.5, digits: 0) == 0)
    #expect(Metrics.pythonRound(.nan).isNaN)
  }
}
