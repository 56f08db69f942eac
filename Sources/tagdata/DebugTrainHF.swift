import ArgumentParser
import Foundation
import TagdataIO
import TagdataShards
import TagdataTrain

#if canImport(Glibc)
import Glibc
#endif

/// Measurements of the trainer and of generation on Hugging Face bases, for
/// `Scripts/bench-train-hf` (hidden: registered under `tagdata debug`).
enum DebugTrainHF {
  /// Peak resident set size of this process so far, in bytes (getrusage's ru_maxrss is in KiB on Linux).
  static func peakRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
  }

  /// CPU seconds (user + system) of every thread of this process so far.
  static func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let t = { (v: timeval) in Double(v.tv_sec) + Double(v.tv_usec) / 1e6 }
    return t(usage.ru_utime) + t(usage.ru_stime)
  }

  static func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
  }

  /// A base model: a Hugging Face directory, or seeded random weights of the shape
  /// `vocab,dim,layers,heads,kvHeads,ff`.
  static func base(model: String?, random: String?, seed: UInt64) throws -> Model {
    if let model { return try Model.load(from: model) }
    guard let random else { throw ValidationError("give --model DIR or --random vocab,dim,layers,heads,kvHeads,ff") }
    let v = random.split(separator: ",").compactMap { Int($0) }
    guard v.count == 6 else { throw ValidationError("--random \(random): expected vocab,dim,layers,heads,kvHeads,ff") }
    return Model(config: ModelConfig(vocabularySize: v[0], dimension: v[1], layers: v[2], heads: v[3], feedForward: v[5],
                                     keyValueHeads: v[4]), seed: seed)
  }

  /// Times tag-training steps as a function stage runs them: a frozen base, one tag of `tags`
  /// rows and a regression head (Tag-LLM initialization) trained with AdamW; each sequence is
  /// the tag's rows then random text ids, next-token loss on the text, the head on the last
  /// position's hidden state, loss = CE + 100 × MSE. The batch is cut into one shard per
  /// thread (BLAS single-threaded in each), as `tagdata train` does.
  struct HFStep: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "hf-step", abstract: "Seconds of tag-training steps on a Hugging Face base (JSON).")
    @Option(help: "A Hugging Face Llama directory.") var model: String?
    @Option(help: "Random weights instead: vocab,dim,layers,heads,kvHeads,ff.") var random: String?
    @Option(help: "Timed steps (after one warm-up step).") var steps = 3
    @Option(help: "Tokens per sequence (tag rows included).") var length = 256
    @Option(help: "Sequences per step.") var batch = 2
    @Option(help: "Rows of the tag.") var tags = 10
    @Option(help: "Worker threads (batch shards).") var threads = 2
    @Option(help: "Seed of the random weights and tokens.") var seed: UInt64 = 1

    func run() throws {
      try Gemm.load()
      Gemm.setThreads(1)
      Allocator.keepFreedMemory()
      let t0 = Date()
      var m = try DebugTrainHF.base(model: model, random: random, seed: seed)
      let loadSeconds = Date().timeIntervalSince(t0)
      let rssAfterLoad = DebugTrainHF.peakRSS()
      let first = m.addTag("p", rows: tags, seed: seed &+ 1, initialization: .tagLLM)
      m.addHead("p", seed: seed &+ 2, initialization: .tagLLM)
      let vocabulary = m.config.vocabularySize
      var rng = SplitMix64(seed: seed &+ 3)
      let examples = (0..<batch).map { _ -> TokenDataset.Example in
        let text = (0..<(length - tags)).map { _ in Int(rng.next() % UInt64(vocabulary)) }
        let tokens = (0..<tags).map { first + $0 } + text
        let mask = (0..<length).map { $0 > tags }
        return TokenDataset.Example(tokens: tokens, lossMask: mask, task: "bench",
                                    regression: [TokenDataset.Regression(head: "p", position: length - 1, target: 0.5)])
      }
      let whole = TokenDataset.batch(examples, length: length)
      let normalizers = Model.Normalizers(crossEntropy: whole.lossWeights.reduce(0, +), regression: Float(max(whole.regression.count, 1)))
      let shardCount = max(1, min(threads, batch))
      let shards = (0..<shardCount).map { s in
        TokenDataset.batch(Array(examples[(s * batch / shardCount)..<((s + 1) * batch / shardCount)]), length: length)
      }
      let trainable = ["tags.p", "heads.p.weight", "heads.p.bias"]
      let trainableSet = Set(trainable)
      var optimizer = AdamW(weightDecay: 0.01, clipNorm: 1.0)
      var seconds: [Double] = [], cpu: [Double] = [], losses: [Float] = []
      for _ in 0...steps {
        let start = Date(), cpuStart = DebugTrainHF.cpuSeconds()
        let results = Slots(count: shardCount)
        let current = m
        let workers = (1..<shardCount).map { s in
          JoinableThread {
            results.set(s, current.gradients(shards[s], regressionScale: 100, normalizers: normalizers, trainable: trainableSet))
          }
        }
        results.set(0, current.gradients(shards[0], regressionScale: 100, normalizers: normalizers, trainable: trainableSet))
        for w in workers { w.join() }
        var sum = Parameters()
        var loss: Float = 0
        for s in 0..<shardCount {
          let (l, g) = results.get(s)
          loss += l.total
          for name in trainable {
            if !sum.contains(name) { sum[name] = g[name]; continue }
            for i in 0..<g[name].count { sum[name].data[i] += g[name].data[i] }
          }
        }
        optimizer.update(&m.parameters, gradients: sum, trainable: trainable, rate: 1e-3)
        seconds.append(Date().timeIntervalSince(start))
        cpu.append(DebugTrainHF.cpuSeconds() - cpuStart)
        losses.append(loss)
      }
      let c = m.config
      let baseCount = c.baseShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
      try DebugTrainHF.printJSON([
        "load_seconds": loadSeconds, "warmup_seconds": seconds[0], "step_seconds": Array(seconds.dropFirst()),
        "step_cpu_seconds": Array(cpu.dropFirst()), "warmup_cpu_seconds": cpu[0],
        "tokens_per_step": batch * length, "loss": losses.map { Double($0) }, "parameters": baseCount,
        "peak_rss_after_load_bytes": rssAfterLoad, "peak_rss_bytes": DebugTrainHF.peakRSS(), "threads": shardCount,
      ])
    }
  }

  /// Greedy generation timed inside the process (the model load left out): total seconds of
  /// `Model.generate`, and of its first token (the prefill).
  struct HFGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "hf-generate", abstract: "Seconds of greedy generation on a Hugging Face base (JSON).")
    @Option(help: "A Hugging Face Llama directory.") var model: String
    @Option(help: "The prompt's token ids, separated by spaces or commas.") var ids: String
    @Option(help: "New tokens (no stop token).") var maxNewTokens = 128
    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Timed runs.") var repetitions = 1

    func run() throws {
      try Gemm.load()
      Gemm.setThreads(threads)
      let m = try Model.load(from: model)
      let prompt = ids.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Int($0) }
      var runs: [[String: Any]] = []
      var out: [Int] = []
      for _ in 0..<repetitions {
        let start = Date(), cpuStart = DebugTrainHF.cpuSeconds()
        var firstToken: Double?
        out = try m.generate(prompt: prompt, maxNewTokens: maxNewTokens) { _ in
          if firstToken == nil { firstToken = Date().timeIntervalSince(start) }
        }.ids
        let total = Date().timeIntervalSince(start)
        runs.append(["seconds": total, "prefill_seconds": firstToken ?? total, "cpu_seconds": DebugTrainHF.cpuSeconds() - cpuStart])
      }
      try DebugTrainHF.printJSON(["ids": out, "runs": runs, "new_tokens": out.count, "threads": threads])
    }
  }
}

/// Per-shard results, each slot written by one thread.
final class Slots: @unchecked Sendable {
  @exclusivity(unchecked) private var slots: [(Model.Loss, Parameters)?]
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ value: (Model.Loss, Parameters)) { slots[i] = value }
  func get(_ i: Int) -> (Model.Loss, Parameters) { slots[i]! }
}
