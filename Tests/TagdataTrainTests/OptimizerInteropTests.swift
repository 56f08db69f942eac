import Foundation
import Testing
import TestSupport
import TagdataIO
@testable import TagdataTrain

/// tagdata's AdamW and learning-rate schedule against PyTorch and transformers (Tests/Interop/torch_adamw.py):
///
/// - 50 steps of `AdamW.update` on a fixed sequence of gradients (some steps above the clipping norm, some
///   below) give PyTorch's parameters step for step — `torch.optim.AdamW` with one parameter group per
///   weight decay as ours decays (base matrices `weightDecay`, vectors none, tags and heads
///   `tagWeightDecay`), `clip_grad_norm_` before each step and our schedule's rate as the group's lr —
///   within 1e-6 of the largest |parameter|; the returned norm is `clip_grad_norm_`'s.
/// - `Schedule.rate(t)` (t = 1, 2, ... the optimizer step) equals transformers'
///   `get_cosine_with_min_lr_schedule_with_warmup(min_lr_rate: 0.1)` lambda at index t (times the peak).
///   transformers' Trainer reads the rate before `scheduler.step()`, so its t-th step uses lambda(t - 1):
///   its first step has rate 0, ours `peak / warmup`. Ours is the same curve one step ahead.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
struct OptimizerInteropTests {
  static func probe() throws -> String? {
    guard let python = try interopPython(importing: ["torch", "transformers", "numpy"]) else { return nil }
    return python
  }

  static func write(_ values: [Float], to path: String) throws {
    var data = Data(capacity: values.count * 4)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    try data.write(to: URL(fileURLWithPath: path))
  }

  /// Base decay 0.1, tags and heads none, clipping at 1 (the trainer's defaults but the decay); and base
  /// decay 0.01, tags and heads 0.05, no clipping (clipNorm 0: torch's max_norm infinite).
  @Test(arguments: [(Float(0.1), Float(0), Float(1)), (Float(0.01), Float(0.05), Float(0))])
  func adamWEqualsTorchStepForStep(_ decays: (Float, Float, Float)) throws {
    guard let python = try Self.probe() else { return }
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/torch_adamw.py").path
    let dir = TestSupport.tempDirectory().path
    let shapes: [(String, [Int])] = [
      ("layers.0.attention.wq", [8, 6]), ("layers.0.attentionNorm", [6]), ("embedding", [5, 6]),
      ("tags.Protein", [2, 6]), ("heads.Hydrophobic.weight", [1, 6]), ("heads.Hydrophobic.bias", [1]),
    ]
    var parameters = Parameters()
    for (k, (name, shape)) in shapes.enumerated() { parameters[name] = Tensor.random(shape, scale: 0.5, seed: 100 + UInt64(k)) }
    var optimizer = AdamW(weightDecay: decays.0, clipNorm: decays.2)
    optimizer.tagWeightDecay = decays.1
    let schedule = Schedule(peak: 0.01, minimum: 0.001, warmup: 5, total: 50)
    let steps = 50
    // Gradient scales cycling so that the global norm (about 4.9 × scale) is below and above the clip.
    let scales: [Float] = [0.05, 0.15, 0.3, 1.0, 0.02, 2.5]
    var rng = SplitMix64(seed: 42)
    var gradients: [Parameters] = []
    for t in 0..<steps {
      var g = Parameters()
      for (name, shape) in shapes {
        let n = shape.reduce(1, *)
        g[name] = Tensor(shape: shape, data: (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * scales[t % scales.count] })
      }
      gradients.append(g)
    }
    let names = shapes.map(\.0)
    func decay(_ name: String, _ shape: [Int]) -> Double {
      Double(name.hasPrefix("tags.") || name.hasPrefix("heads.") ? optimizer.tagWeightDecay : shape.count >= 2 ? optimizer.weightDecay : 0)
    }
    let setup: [String: Any] = [
      "names": names, "shapes": shapes.map(\.1),
      "decay": Dictionary(uniqueKeysWithValues: shapes.map { ($0.0, decay($0.0, $0.1)) }),
      "steps": steps, "lrs": (1...steps).map { Double(schedule.rate($0)) },
      "beta1": Double(optimizer.beta1), "beta2": Double(optimizer.beta2), "eps": Double(optimizer.epsilon),
      "clip": optimizer.clipNorm > 0 ? Double(optimizer.clipNorm) : Double.greatestFiniteMagnitude,
    ]
    try JSONSerialization.data(withJSONObject: setup).write(to: URL(fileURLWithPath: dir + "/setup.json"))
    try Self.write(names.flatMap { parameters[$0].data }, to: dir + "/initial.f32")
    try Self.write(gradients.flatMap { g in names.flatMap { g[$0].data } }, to: dir + "/gradients.f32")
    let run = try TestSupport.run(python, [script, "adamw", dir])
    try #require(run.status == 0, "\(run.stderr)")
    let theirs = try HFModelInteropTests.readFloats(dir + "/torch.f32")
    let norms = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/torch.json"))) as! [String: Any])["norms"]
      as! [Double]
    let total = names.reduce(0) { $0 + parameters[$1].count }
    try #require(theirs.count == steps * total && norms.count == steps)
    var worst: Float = 0, worstNorm = 0.0, clipped = 0
    for t in 0..<steps {
      let norm = optimizer.update(&parameters, gradients: gradients[t], trainable: names, rate: schedule.rate(t + 1))
      if optimizer.clipNorm > 0 && norm > optimizer.clipNorm { clipped += 1 }
      let mine = names.flatMap { parameters[$0].data }
      let reference = Array(theirs[(t * total)..<((t + 1) * total)])
      let scale = reference.map(abs).max()!
      let d = zip(mine, reference).map { abs($0 - $1) }.max()! / scale
      #expect(d < 1e-6, "step \(t + 1): largest parameter difference from torch \(d) of max |parameter| \(scale)")
      let dn = abs(Double(norm) - norms[t]) / norms[t]
      #expect(dn < 1e-6, "step \(t + 1): gradient norm \(norm), torch's clip_grad_norm_ \(norms[t])")
      worst = max(worst, d)
      worstNorm = max(worstNorm, dn)
    }
    #expect(optimizer.clipNorm == 0 ? clipped == 0 : clipped > 10 && clipped < 40, "\(clipped) of \(steps) steps clipped")
    print("AdamW (decay \(decays.0), tags and heads \(decays.1), clip \(decays.2)) vs torch over \(steps) steps (\(clipped) clipped): largest parameter difference \(worst) of max |parameter|, largest relative norm difference \(worstNorm)")
  }

  @Test func scheduleIsTransformersCosineWithMinimumOneStepAhead() throws {
    guard let python = try Self.probe() else { return }
    let script = TestSupport.root.appendingPathComponent("Tests/Interop/torch_adamw.py").path
    let dir = TestSupport.tempDirectory().path
    let schedule = Schedule(peak: 3e-4, minimum: 3e-5, warmup: 7, total: 60)
    let spec: [String: Any] = ["peak": Double(schedule.peak), "warmup": schedule.warmup, "total": schedule.total]
    try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: dir + "/schedule.json"))
    let run = try TestSupport.run(python, [script, "schedule", dir])
    try #require(run.status == 0, "\(run.stderr)")
    let o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/hf-schedule.json"))) as! [String: Any]
    let lambda = o["lambda"] as! [Double], used = o["used"] as! [Double]
    try #require(lambda.count == schedule.total + 1 && used.count == schedule.total)
    var worst = 0.0
    for t in 1...schedule.total {
      let d = abs(Double(schedule.rate(t)) - lambda[t]) / Double(schedule.peak)
      #expect(d < 1e-6, "step \(t): tagdata \(schedule.rate(t)), transformers lambda(\(t)) \(lambda[t])")
      worst = max(worst, d)
      // The Trainer's t-th step: lambda(t - 1), our previous step's rate (0 before the first).
      #expect(abs(used[t - 1] - lambda[t - 1]) <= 1e-12 * Double(schedule.peak))
    }
    #expect(used[0] == 0 && schedule.rate(1) > 0)
    print("Schedule.rate(t) vs transformers' lambda(t), t = 1...\(schedule.total): largest difference \(worst) of the peak; transformers' Trainer uses lambda(t - 1) at its t-th step")
  }
}
