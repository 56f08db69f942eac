import Foundation
import Testing
import TagdataIO
import TestSupport
@testable import TagdataTrain

/// Cached decoding (``Generator``) against full forwards of the whole sequence, sampling, stop
/// tokens; and greedy generation against transformers' `generate` on tiny random models.
struct GenerationTests {
  static func config(_ name: String) -> ModelConfig {
    var c = ModelConfig(vocabularySize: 50, dimension: 32, layers: 2, heads: 4, feedForward: 48, keyValueHeads: 2)
    c.maxPositions = 64
    switch name {
    case "mqa_tied":
      c.keyValueHeads = 1
      c.tiedEmbeddings = true
    case "llama3":
      c.ropeScaling = .llama3(factor: 4, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 16)
    case "linear":
      c.ropeScaling = .linear(factor: 2)
    case "dynamic":
      // Stays within max positions here (see the transformers test for crossing it).
      c.ropeScaling = .dynamic(factor: 2)
    case "mistral_window":
      c.architecture = .mistral
      c.slidingWindow = 5
    case "qwen2_bias":
      c.architecture = .qwen2
      c.attentionBias = true
    case "head_dim_16":
      c.headDimension = 16
    default:
      break
    }
    return c
  }

  static func fullLogits(_ model: Model, _ sequence: [Int]) -> Tensor {
    let n = sequence.count
    let batch = Batch(batch: 1, length: n, tokens: sequence, targets: [Int](repeating: 0, count: n),
                      lossWeights: [Float](repeating: 0, count: n), keyMask: [Bool](repeating: true, count: n))
    return model.forward(batch).logits
  }

  static func row(_ t: Tensor, _ r: Int) -> [Float] { Array(t.data[r * t.columns..<((r + 1) * t.columns)]) }

  static func worst(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
  }

  /// Each decoding step's logits equal the last row of a full forward of the sequence so far;
  /// the prompt holds a tag's virtual tokens; the sliding window's cache stays at the window.
  @Test(arguments: ["gqa", "mqa_tied", "llama3", "linear", "dynamic", "mistral_window", "qwen2_bias", "head_dim_16"])
  func cachedDecodingEqualsFullForward(_ name: String) throws {
    var model = Model(config: Self.config(name), seed: 11)
    let tag = model.addTag("SMILES", rows: 3, seed: 5)
    let prompt = [4, 9] + [tag, tag + 1, tag + 2] + [17, 3, 30]
    var generator = Generator(model: model)
    let prefill = generator.feed(prompt, allPositions: true)
    let full = Self.fullLogits(model, prompt)
    var largest = Self.worst(prefill.logits.data, full.data)
    var sequence = prompt
    var logits = prefill.lastLogits
    for _ in 0..<20 {
      let next = Sampling.argmax(logits)
      sequence.append(next)
      logits = generator.feed([next]).lastLogits
      let reference = Self.fullLogits(model, sequence)
      largest = max(largest, Self.worst(logits, Self.row(reference, sequence.count - 1)))
      if let window = model.config.slidingWindow { #expect(generator.cachedPositions <= window) }
    }
    #expect(generator.length == sequence.count)
    #expect(largest < 1e-4, "\(name): largest difference between cached and full logits \(largest)")
    print("\(name): cached vs full forward, largest logit difference \(largest)")
    // generate() gives the same greedy ids.
    let (ids, stopped) = try model.generate(prompt: prompt, maxNewTokens: 20)
    #expect(ids == Array(sequence.dropFirst(prompt.count)))
    #expect(stopped == .length)
  }

  /// Dynamic NTK past max positions: a prefill of the whole prompt uses the prompt length's
  /// frequencies, as a full forward does; decoding past it rotates each new position with the
  /// length so far (transformers' generate), so it departs from a full forward of the final length.
  @Test func dynamicScalingPastMaxPositions() {
    var config = Self.config("dynamic")
    config.maxPositions = 10
    let model = Model(config: config, seed: 4)
    let prompt = (0..<14).map { ($0 * 7 + 3) % 50 }
    var generator = Generator(model: model)
    let prefill = generator.feed(prompt, allPositions: true)
    #expect(Self.worst(prefill.logits.data, Self.fullLogits(model, prompt).data) < 1e-4)
    let next = Sampling.argmax(prefill.lastLogits)
    let step = generator.feed([next]).lastLogits
    let full = Self.fullLogits(model, prompt + [next])
    #expect(Self.worst(step, Self.row(full, prompt.count)) > 1e-4)
  }

  /// The hidden state the regression heads read equals the full forward's.
  @Test func hiddenStatesEqualFullForward() throws {
    var model = Model(config: Self.config("gqa"), seed: 3)
    let tag = model.addTag("LogP", rows: 2, seed: 9)
    model.addHead("LogP", seed: 4)
    let prompt = [5, 6, tag, tag + 1, 7]
    var generator = Generator(model: model)
    let mine = generator.feed(prompt, allPositions: true).hidden
    let n = prompt.count
    let theirs = model.forward(Batch(batch: 1, length: n, tokens: prompt, targets: [Int](repeating: 0, count: n),
                                     lossWeights: [Float](repeating: 0, count: n), keyMask: [Bool](repeating: true, count: n),
                                     regression: [(position: 3, head: "LogP", target: 0)]))
    #expect(Self.worst(mine.data, theirs.hidden.data) < 1e-5)
    // The head reads the tag's last virtual token (position 3), not the prompt's end.
    let heads = try model.generateReadingHeads(prompt: prompt, maxNewTokens: 0).heads
    #expect(heads.count == 1 && abs(heads["LogP"]! - theirs.predictions[0]) < 1e-5)
    #expect(try model.generateReadingHeads(prompt: [5, 6], maxNewTokens: 0).heads.isEmpty)
  }

  @Test func stopTokensEndGenerationAndAreKept() throws {
    let model = Model(config: Self.config("gqa"), seed: 11)
    let (free, _) = try model.generate(prompt: [1, 2, 3], maxNewTokens: 12)
    let stop = free[4]
    let first = free.firstIndex(of: stop)!
    let (ids, stopped) = try model.generate(prompt: [1, 2, 3], maxNewTokens: 12, stopTokens: [stop])
    #expect(stopped == .eos)
    #expect(ids == Array(free[...first]))
    var streamed: [Int] = []
    _ = try model.generate(prompt: [1, 2, 3], maxNewTokens: 12, onToken: { streamed.append($0) })
    #expect(streamed == free)
    #expect(try model.generate(prompt: [1], maxNewTokens: 0).ids.isEmpty)
  }

  @Test func badPromptsThrow() {
    var model = Model(config: Self.config("gqa"), seed: 1)
    model.addTag("T", rows: 2, seed: 1)
    #expect(throws: GenerationError.self) { try model.generate(prompt: [], maxNewTokens: 3) }
    #expect(throws: GenerationError.self) { try model.generate(prompt: [52], maxNewTokens: 3) }
    #expect(throws: GenerationError.self) { try model.generate(prompt: [-1], maxNewTokens: 3) }
    #expect((try? model.generate(prompt: [51], maxNewTokens: 1)) != nil)
  }

  /// Sampling is reproducible from its seed, top-k 1 is greedy, a tiny top-p is greedy, and the
  /// draw follows the softmax.
  @Test func samplingIsSeededAndFiltered() throws {
    let model = Model(config: Self.config("gqa"), seed: 11)
    let hot = Sampling(temperature: 1.5, seed: 42)
    let a = try model.generate(prompt: [1, 2], maxNewTokens: 15, sampling: hot).ids
    let b = try model.generate(prompt: [1, 2], maxNewTokens: 15, sampling: hot).ids
    #expect(a == b)
    let c = try model.generate(prompt: [1, 2], maxNewTokens: 15, sampling: Sampling(temperature: 1.5, seed: 43)).ids
    #expect(a != c)
    let greedy = try model.generate(prompt: [1, 2], maxNewTokens: 15).ids
    #expect(try model.generate(prompt: [1, 2], maxNewTokens: 15, sampling: Sampling(temperature: 1, topK: 1, seed: 5)).ids == greedy)
    #expect(try model.generate(prompt: [1, 2], maxNewTokens: 15, sampling: Sampling(temperature: 1, topP: 1e-6, seed: 5)).ids == greedy)
    // Frequencies of a draw from logits log(0.6), log(0.3), log(0.1).
    let logits: [Float] = [0.6, 0.3, 0.1].map { logf($0) }
    var rng = SplitMix64(seed: 9)
    var counts = [0, 0, 0]
    for _ in 0..<6000 { counts[Sampling(temperature: 1).choose(logits, rng: &rng)] += 1 }
    #expect(abs(Double(counts[0]) / 6000 - 0.6) < 0.03 && abs(Double(counts[2]) / 6000 - 0.1) < 0.02, "\(counts)")
    // top-p 0.8 keeps the two most probable tokens; top-k 2 likewise.
    counts = [0, 0, 0]
    for _ in 0..<3000 { counts[Sampling(temperature: 1, topP: 0.8).choose(logits, rng: &rng)] += 1 }
    #expect(counts[2] == 0 && counts[1] > 600, "\(counts)")
    counts = [0, 0, 0]
    for _ in 0..<3000 { counts[Sampling(temperature: 1, topK: 2).choose(logits, rng: &rng)] += 1 }
    #expect(counts[2] == 0 && counts[1] > 600, "\(counts)")
  }
}

/// Greedy ids of transformers' `generate` on tiny random float32 models (Tests/Interop/hf_generate.py)
/// equal tagdata's for 64 new tokens, with and without a stop token; the dynamic-NTK case's generation
/// crosses max_position_embeddings. bfloat16 checkpoints (Llama GQA, tied Llama with llama3 rope, Qwen2):
/// loaded in float32 by both, the same ids and logits within 1e-4; against transformers computing in
/// bfloat16, each step's logits (tagdata fed transformers' bfloat16 ids) within 2e-2 of the step's largest
/// |logit| (bfloat16 logits of magnitude 16 to 32 are themselves rounded to steps of 0.125; the ids of a
/// bfloat16 run drift from float32's at near-ties, so they are reported, not compared).
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
struct GenerationInteropTests {
  @Test func greedyIdsEqualTransformersGenerate() throws {
    guard let python = try interopPython(importing: ["torch", "transformers"]) else { return }
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/hf_generate.py").path
    let dir = TestSupport.tempDirectory().path
    let made = try TestSupport.run(python, [script, "make", dir])
    try #require(made.status == 0, "\(made.stderr)")
    let cases = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/generate.json"))) as! [[String: Any]]
    #expect(cases.count == 17)
    var agreed = 0, total = 0
    var worstLogit: Float = 0, worstBF16: Float = 0
    var summary: [String] = []
    for c in cases {
      let name = c["name"] as! String, prompt = c["prompt"] as! [Int], theirs = c["ids"] as! [Int]
      let maxNew = c["max_new_tokens"] as! Int
      let eos = c["eos"] as? Int
      let model = try Model.load(from: c["dir"] as! String)
      let (mine, stopped) = try model.generate(prompt: prompt, maxNewTokens: maxNew, stopTokens: eos.map { [$0] } ?? [])
      if let path = c["logits"] as? String {
        // Each step's logits, fed transformers' ids (so that one flipped near-tie does not hide the rest).
        let reference = try HFModelInteropTests.readFloats(path), v = model.config.vocabularySize
        var generator = Generator(model: model)
        var logits = generator.feed(prompt).lastLogits
        var largest: Float = 0
        for (step, id) in theirs.enumerated() {
          largest = max(largest, GenerationTests.worst(logits, Array(reference[(step * v)..<((step + 1) * v)])))
          if step + 1 < theirs.count { logits = generator.feed([id]).lastLogits }
        }
        #expect(largest < 1e-4, "\(name): largest difference of a step's logits from transformers' \(largest)")
        worstLogit = max(worstLogit, largest)
      }
      if let path = c["bf16_logits"] as? String, let ids = c["bf16_ids"] as? [Int] {
        let reference = try HFModelInteropTests.readFloats(path), v = model.config.vocabularySize
        var generator = Generator(model: model)
        var logits = generator.feed(prompt).lastLogits
        var largest: Float = 0, relative: Float = 0
        for (step, id) in ids.enumerated() {
          let row = Array(reference[(step * v)..<((step + 1) * v)])
          let d = GenerationTests.worst(logits, row)
          largest = max(largest, d)
          relative = max(relative, d / row.map(abs).max()!)
          if step + 1 < ids.count { logits = generator.feed([id]).lastLogits }
        }
        #expect(relative < 2e-2, "\(name): largest difference of a step's logits from transformers' computing in bfloat16 \(largest), \(relative) of the step's largest |logit|")
        worstBF16 = max(worstBF16, relative)
        summary.append("\(name) bfloat16 compute: ids \(zip(mine, ids).prefix { $0 == $1 }.count)/\(ids.count) equal, logits \(largest) (\(relative) of the largest |logit|)")
      }
      let same = zip(mine, theirs).prefix { $0 == $1 }.count
      agreed += same
      total += theirs.count
      summary.append("\(name): \(same)/\(theirs.count)")
      #expect(mine == theirs, "\(name): prompt \(prompt), eos \(eos.map(String.init) ?? "none"): tagdata \(mine), transformers \(theirs)")
      #expect(stopped == (eos != nil && theirs.count < maxNew ? .eos : .length), "\(name)")
    }
    print("greedy ids equal to transformers' generate: \(agreed)/\(total) (" + summary.joined(separator: "; ") + "); largest step-logit difference \(worstLogit), against bfloat16 compute \(worstBF16) of the step's largest |logit|")
  }
}
