import ArgumentParser
import Foundation
import TagdataTrain

/// Measurements for the benchmark scripts (not for everyday use, so not listed in --help).
struct Debug: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Measurements used by the benchmark scripts.", shouldDisplay: false,
    subcommands: [GemmSpeed.self, DebugTrainHF.HFStep.self, DebugTrainHF.HFGenerate.self, DebugMetrics.self])

  struct GemmSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "gemm", abstract: "GFLOP/s of the matrix multiply on M×K by K×N shapes (one line per shape).")
    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Repetitions per shape.") var repetitions = 20
    @Argument(help: "Shapes as MxKxN.") var shapes: [String]

    func run() throws {
      try Gemm.load()
      Gemm.setThreads(threads)
      for shape in shapes {
        let d = shape.split(separator: "x").compactMap { Int($0) }
        guard d.count == 3 else { throw ValidationError("shape \(shape): expected MxKxN") }
        let (m, k, n) = (d[0], d[1], d[2])
        let a = Tensor.random([m, k], scale: 1, seed: 1), b = Tensor.random([k, n], scale: 1, seed: 2)
        _ = Gemm.matmul(a, b)
        let start = Date()
        for _ in 0..<repetitions { _ = Gemm.matmul(a, b) }
        let seconds = Date().timeIntervalSince(start) / Double(repetitions)
        print("\(shape)\t\(String(format: "%.2f", 2 * Double(m * n * k) / seconds / 1e9))")
      }
    }
  }
}
