import ArgumentParser
import Foundation
import TagdataEval
import TagdataIO

#if canImport(Glibc)
import Glibc
#endif

/// `tagdata debug metrics FILE`: the regression metrics of `tagdata eval` (MSE, RMSE, MAE, R²,
/// Pearson, Spearman, Kendall τ-b) and a percentile bootstrap interval of Pearson r on pairs
/// read from a file, timed, for `Scripts/bench-eval`.
struct DebugMetrics: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "metrics",
    abstract: "Regression metrics and a bootstrap interval of Pearson r on (target, prediction) pairs, timed.",
    discussion: """
      FILE holds the pairs: FILE.f64 as little-endian float64 values, target then prediction, \
      pair after pair; any other name as text, one pair a line (two numbers separated by blanks, \
      a tab or a comma; # starts a comment). Times exclude reading the file; CPU seconds are the \
      process's (all threads).
      """)

  @Argument(help: ArgumentHelp("The pairs (.f64 binary, else text).", valueName: "file"))
  var file: String

  @Option(help: ArgumentHelp("Bootstrap resamples of Pearson r (0: none).", valueName: "n"))
  var resamples = 1000

  @Option(help: ArgumentHelp("Seed of the bootstrap.", valueName: "n"))
  var seed: UInt64 = 0

  @Option(help: ArgumentHelp("Confidence level of the interval.", valueName: "x"))
  var level = 0.95

  @Option(help: ArgumentHelp("Bootstrap worker threads (default: the library's choice).", valueName: "n"))
  var threads: Int?

  @Option(help: ArgumentHelp("Compute everything this many times; the times reported are the fastest.", valueName: "n"))
  var repetitions = 1

  @Flag(help: "Print JSON (else a short summary).")
  var json = false

  func validate() throws {
    if resamples < 0 || repetitions < 1 || (threads ?? 1) < 1 { throw ValidationError("--resamples must be at least 0, --repetitions and --threads at least 1") }
    if !(level > 0 && level < 1) { throw ValidationError("--level must be in (0, 1)") }
  }

  struct Output: Encodable {
    var file: String
    var count: Int
    var metrics: [String: Double?]
    var bootstrap: Bootstrap?
    var seconds: Seconds
    /// Process CPU seconds (all threads) of the same passes.
    var cpuSeconds: Seconds
    /// count / (metrics + bootstrap seconds).
    var examplesPerSecond: Double

    struct Bootstrap: Encodable {
      var statistic = "pearson"
      var method = "percentile"
      var resamples: Int
      var seed: UInt64
      var level: Double
      var threads: Int
      var lower: Double?
      var upper: Double?
      var undefined: Int
    }

    struct Seconds: Encodable {
      var read: Double
      var metrics: Double
      var bootstrap: Double
    }
  }

  func run() throws {
    let start = Date()
    let (yTrue, yPred) = try Self.read(file)
    let read = Date().timeIntervalSince(start)
    var bestMetrics = Double.infinity, bestBootstrap = Double.infinity
    var cpuMetrics = Double.infinity, cpuBootstrap = Double.infinity
    var point: Metrics.RegressionReport?
    var interval: (Double, Double, Int)?
    // As the library chooses: one worker for small jobs, else the active processors, at most 8.
    let workers = threads ?? (resamples * yTrue.count < 2_000_000 ? 1 : max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8)))
    for _ in 0..<repetitions {
      let t0 = Date(), c0 = Self.cpuTime()
      do {
        point = try Metrics.regressionReport(yTrue, yPred)
      } catch let e as MetricsError {
        throw InputError.unsupported(file: file, message: e.description)
      }
      let t1 = Date(), c1 = Self.cpuTime()
      if resamples > 0 && yTrue.count >= 2 {
        let all = try TagdataEval.Bootstrap.distribution(.pearson, yTrue: yTrue, yPred: yPred, resamples: resamples, seed: seed,
                                                         threads: threads)
        let defined = all.filter { !$0.isNaN }
        let (lo, hi) = TagdataEval.Bootstrap.interval(method: .percentile, statistics: defined, point: point!.pearson, jackknife: nil,
                                                      level: level)
        interval = (lo, hi, all.count - defined.count)
      }
      let t2 = Date(), c2 = Self.cpuTime()
      bestMetrics = min(bestMetrics, t1.timeIntervalSince(t0))
      bestBootstrap = min(bestBootstrap, t2.timeIntervalSince(t1))
      cpuMetrics = min(cpuMetrics, c1 - c0)
      cpuBootstrap = min(cpuBootstrap, c2 - c1)
    }
    let p = point!
    func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }
    let metrics: [String: Double?] = ["mse": finite(p.mse), "rmse": finite(p.rmse), "mae": finite(p.mae), "r2": finite(p.r2),
                                      "pearson": finite(p.pearson), "spearman": finite(p.spearman), "kendall_tau_b": finite(p.kendallTauB)]
    let out = Output(
      file: file, count: yTrue.count, metrics: metrics,
      bootstrap: interval.map {
        Output.Bootstrap(resamples: resamples, seed: seed, level: level, threads: workers, lower: finite($0.0), upper: finite($0.1),
                         undefined: $0.2)
      },
      seconds: Output.Seconds(read: read, metrics: bestMetrics, bootstrap: resamples > 0 ? bestBootstrap : 0),
      cpuSeconds: Output.Seconds(read: 0, metrics: cpuMetrics, bootstrap: resamples > 0 ? cpuBootstrap : 0),
      examplesPerSecond: Double(yTrue.count) / (bestMetrics + (resamples > 0 ? bestBootstrap : 0)))
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      writeOut(String(decoding: try encoder.encode(out), as: UTF8.self) + "\n")
    } else {
      let names = ["mse", "rmse", "mae", "r2", "pearson", "spearman", "kendall_tau_b"]
      var text = "\(file): \(yTrue.count) pairs\n"
      for n in names { text += "  \(n)\t\(metrics[n]!.map { String($0) } ?? "undefined")\n" }
      if let b = out.bootstrap {
        text += "  pearson \(Int(level * 100))% interval\t[\(b.lower.map { String($0) } ?? "–"), \(b.upper.map { String($0) } ?? "–")] "
          + "(\(resamples) resamples, \(b.threads) threads)\n"
      }
      text += String(format: "  seconds: metrics %.4f, bootstrap %.4f; %.0f examples/s\n", bestMetrics, out.seconds.bootstrap,
                     out.examplesPerSecond)
      writeOut(text)
    }
  }

  /// CPU seconds of the process so far (all threads).
  static func cpuTime() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
  }

  /// The pairs of a .f64 file (little-endian float64, target then prediction) or a text file.
  static func read(_ path: String) throws -> ([Double], [Double]) {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw InputError.io(file: path, message: "cannot be read (\((error as NSError).localizedDescription))")
    }
    var yTrue: [Double] = [], yPred: [Double] = []
    if path.hasSuffix(".f64") {
      guard data.count % 16 == 0 else {
        throw InputError.unsupported(file: path, message: "has \(data.count) bytes, not a whole number of float64 pairs (16 bytes each)")
      }
      let n = data.count / 16
      yTrue.reserveCapacity(n)
      yPred.reserveCapacity(n)
      data.withUnsafeBytes { raw in
        for i in 0..<n {
          yTrue.append(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16 * i, as: UInt64.self))))
          yPred.append(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16 * i + 8, as: UInt64.self))))
        }
      }
    } else {
      var lineNumber = 0
      for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
        lineNumber += 1
        let text = String(decoding: line.prefix { $0 != 0x23 }, as: UTF8.self)
        let fields = text.split { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" }
        if fields.isEmpty { continue }
        guard fields.count == 2, let t = Double(fields[0]), let p = Double(fields[1]) else {
          throw InputError.unsupported(file: path, message: "line \(lineNumber): expected two numbers (target, prediction)")
        }
        yTrue.append(t)
        yPred.append(p)
      }
    }
    if yTrue.isEmpty { throw InputError.unsupported(file: path, message: "holds no pair") }
    return (yTrue, yPred)
  }
}
