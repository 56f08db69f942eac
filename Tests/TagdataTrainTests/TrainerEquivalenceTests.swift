import Foundation
import Testing
import TestSupport
import TagdataShards
import TagdataTokenizer
import TagdataIO
@testable import TagdataTrain

/// The trainer's data parallelism and gradient accumulation change only the order of float sums:
/// `tagdata train` with threads 1 and 2, and with batch 8 against batch 4 × accumulate 2 (the same
/// examples: the micro-batches draw from the random stream in the same order), ends each stage — a
/// base stage and then a function stage with a tag and a regression head — with the same weights
/// within 2e-5 of the largest |weight| of each tensor (float32 rounding of differently ordered sums,
/// carried through AdamW's normalization for 6 steps; measured 1.7e-6), and each step's logged loss and
/// gradient norm before clipping within 1e-5 relative (AdamW is blind to a gradient's scale: the
/// norm is not). Every example has the same length and loss-mask count
/// and one regression target, so that each micro-batch's normalizers are the whole batch's halves.
@Suite(.serialized) struct TrainerEquivalenceTests {
  static let tolerance: Float = 2e-5

  static func dataset(_ dir: URL) throws {
    var rng = SplitMix64(seed: 11)
    let text = (0..<48).map { _ -> TokenDataset.Example in
      let tokens = [ByteTokenizer.bos] + (0..<13).map { _ in 4 + Int(rng.next() % 20) }
      return TokenDataset.Example(tokens: tokens, lossMask: [false] + [Bool](repeating: true, count: 13), task: "text")
    }
    try TokenDataset(vocabularySize: 260, tags: [:], examples: text).write(to: dir.appendingPathComponent("text").path)
    let function = (0..<48).map { _ -> TokenDataset.Example in
      let body = (0..<11).map { _ in 4 + Int(rng.next() % 4) }
      let tokens = [ByteTokenizer.bos] + body + [260, 261]
      return TokenDataset.Example(tokens: tokens, lossMask: [false] + [Bool](repeating: true, count: 11) + [false, false], task: "F",
                                  regression: [TokenDataset.Regression(head: "F", position: tokens.count - 1,
                                                                       target: Double(body.filter { $0 == 4 }.count) / 11)])
    }
    try TokenDataset(vocabularySize: 260, tags: ["F": [260, 261]], examples: function).write(to: dir.appendingPathComponent("fn").path)
  }

  /// Trains the two stages; returns each stage's final model.
  static func train(_ dir: URL, name: String, threads: Int, batch: Int, accumulate: Int, learningRate: Float = 0.01) throws -> [Model] {
    let config = """
      {"seed": 5, "threads": \(threads), "model": {"dimension": 32, "layers": 2, "heads": 4, "feedForward": 64},
       "stages": [
         {"name": "base", "kind": "base", "data": {"path": "text"}, "steps": 6, "batch": \(batch), "accumulate": \(accumulate),
          "length": 16, "learningRate": \(learningRate), "warmup": 2},
         {"name": "fn", "kind": "function", "data": {"path": "fn"}, "tags": [{"name": "F", "rows": 2}], "heads": ["F"],
          "steps": 6, "batch": \(batch), "accumulate": \(accumulate), "length": 16, "learningRate": \(learningRate), "warmup": 2,
          "regressionScale": 10}]}
      """
    let path = dir.appendingPathComponent("\(name).json").path
    try Data(config.utf8).write(to: URL(fileURLWithPath: path))
    let out = dir.appendingPathComponent(name).path
    let r = try TestSupport.tagdata(["train", "--quiet", "--json", "--config", path, "--out", out])
    try #require(r.status == 0, "\(name): \(r.stderr)")
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    return try rows.map { try Model.load(from: $0["model"] as! String) }
  }

  /// Each training step's loss and gradient norm (before clipping) from the log, in order.
  static func log(_ dir: URL, name: String) throws -> [(loss: Double, norm: Double)] {
    try String(contentsOfFile: dir.appendingPathComponent(name).path + "/log.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { line in
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        guard let loss = o["loss"] as? Double, let norm = o["grad_norm"] as? Double else { return nil }
        return (loss, norm)
      }
  }

  /// Largest difference of any weight, relative to the largest |weight|, and the tensor where it is.
  static func difference(_ a: Model, _ b: Model) -> (Float, String) {
    var worst: (Float, String) = (0, "")
    #expect(a.parameters.names.sorted() == b.parameters.names.sorted())
    for name in a.parameters.names {
      let x = a.parameters[name].data, y = b.parameters[name].data
      let scale = max(x.map(abs).max() ?? 0, 1e-30)
      let d = x.count == y.count ? zip(x, y).map { abs($0 - $1) }.max()! / scale : .infinity
      if d > worst.0 { worst = (d, name) }
    }
    return worst
  }

  @Test func threadsAndAccumulationGiveTheSameWeights() throws {
    let dir = TestSupport.tempDirectory()
    try Self.dataset(dir)
    let reference = try Self.train(dir, name: "t1-b8", threads: 1, batch: 8, accumulate: 1)
    let twoThreads = try Self.train(dir, name: "t2-b8", threads: 2, batch: 8, accumulate: 1)
    let accumulated = try Self.train(dir, name: "t1-b4x2", threads: 1, batch: 4, accumulate: 2)
    var figures: [String] = []
    for (label, other) in [("threads 2", twoThreads), ("batch 4 × accumulate 2", accumulated)] {
      for (k, stage) in ["base", "fn"].enumerated() {
        let (d, name) = Self.difference(reference[k], other[k])
        #expect(d < Self.tolerance, "\(label), stage \(stage): largest weight difference \(d) of max |weight| in \(name)")
        figures.append("\(label) \(stage): \(d) (\(name))")
      }
    }
    // Each step's loss and gradient norm before clipping (AdamW hides a gradient's scale; these do not).
    let steps = try Self.log(dir, name: "t1-b8")
    #expect(steps.count == 12)
    for (label, name) in [("threads 2", "t2-b8"), ("batch 4 × accumulate 2", "t1-b4x2")] {
      let other = try Self.log(dir, name: name)
      try #require(other.count == steps.count, "\(label): \(other.count) logged steps")
      var worst = 0.0
      for (k, (a, b)) in zip(steps, other).enumerated() {
        let d = max(abs(a.loss - b.loss) / abs(a.loss), abs(a.norm - b.norm) / a.norm)
        #expect(d < 1e-5, "\(label), step \(k + 1): loss \(a.loss) vs \(b.loss), gradient norm \(a.norm) vs \(b.norm)")
        worst = max(worst, d)
      }
      figures.append("\(label) loss and gradient norm: \(worst)")
    }
    // The tolerance is far below what a 1% different learning rate changes.
    #expect(reference[1].tagNames == ["F"] && reference[1].headNames == ["F"])
    let moved = Self.difference(reference[0], try Self.train(dir, name: "t1-b8-lr", threads: 1, batch: 8, accumulate: 1, learningRate: 0.0101)[0])
    #expect(moved.0 > 100 * Self.tolerance, "a 1% different learning rate moves the weights by \(moved.0) only")
    print("trainer equivalences (relative to max |weight|): " + figures.joined(separator: "; ") + "; control (learning rate × 1.01): \(moved.0)")
  }
}
