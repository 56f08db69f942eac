import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

/// pX and TDC's log of every exact affinity in the shipped BindingDB samples (and a sweep of
/// values over 20 decades) against numpy's float64 (Tests/Interop/numpy_px.py).
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct BindingDBInteropTests {
  static let script = TestSupport.root.appendingPathComponent("Tests/Interop/numpy_px.py").path

  @Test func pXAndTDCLogAgreeWithNumpy() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    var measurements: [TagdataSources.Measurement] = []
    for path in ["bindingdb/bindingdb_2015m10_sample.tsv", "bindingdb/bindingdb_2022m5_sample.tsv"] {
      let reader = try BindingDBReader(source: try openInput(TestSupport.corpus(path).path).source)
      while let e = try reader.next() {
        if case let .record(r) = e { measurements += r.measurements.filter { $0.kind.isAffinity && $0.relation == .equal } }
      }
    }
    let fromSamples = measurements.count
    // A sweep: 1e-10 ... 1e10 nM, and the edges.
    var rng = SplitMix64(seed: 101)
    for _ in 0..<2000 {
      let v = pow(10, Double(rng.next() % 2_000_001) / 100_000 - 10)
      measurements.append(TagdataSources.Measurement(kind: .ki, relation: .equal, value: v, text: "\(v)"))
    }
    for v in [0, -1, 1e-300, Double.leastNonzeroMagnitude, 1, 1e300, 0.1, 3] as [Double] {
      measurements.append(TagdataSources.Measurement(kind: .kd, relation: .equal, value: v, text: "\(v)"))
    }
    let input = measurements.map { "\($0.value)" }.joined(separator: "\n") + "\n"
    let run = try TestSupport.run(python, [Self.script], input: Data(input.utf8))
    #expect(run.status == 0, "\(run.stderr)")
    let lines = run.stdout.split(separator: "\n")
    #expect(lines.count == measurements.count)
    var disagreements: [String] = []
    var compared = 0
    for (m, line) in zip(measurements, lines) {
      let f = line.split(separator: "\t").map(String.init)
      guard f.count == 3, Double(f[0]) == m.value else {
        disagreements.append("\(m.text): numpy read \(line)")
        continue
      }
      let numpyPX = Double(f[1]), numpyTDC = Double(f[2])
      // pX: exact where numpy has a finite value; nil where it has none (value <= 0).
      if let ours = m.pX, let theirs = numpyPX, theirs.isFinite {
        if abs(ours - theirs) > 1e-12 { disagreements.append("\(m.text): pX \(ours) numpy \(theirs)") }
        compared += 1
      } else if m.pX != nil || (numpyPX?.isFinite ?? false) {
        disagreements.append("\(m.text): pX \(String(describing: m.pX)) numpy \(f[1])")
      }
      let ours = TagdataSources.Measurement.tdcLog(m.value)
      if let theirs = numpyTDC, theirs.isFinite {
        if abs(ours - theirs) > 1e-12 { disagreements.append("\(m.text): TDC log \(ours) numpy \(theirs)") }
      } else if ours.isFinite {
        disagreements.append("\(m.text): TDC log \(ours) numpy \(f[2])")
      }
    }
    for d in disagreements.prefix(50) { print("disagreement: \(d)") }
    print("numpy pX / TDC log: \(measurements.count) values (\(fromSamples) from the samples), \(compared) pX compared, \(disagreements.count) disagreements")
    #expect(fromSamples > 200)
    #expect(disagreements.isEmpty)
  }
}
