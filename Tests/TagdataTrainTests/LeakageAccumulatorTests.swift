import Foundation
import TagdataIO
import TestSupport
import Testing

@testable import TagdataTasks

/// The streaming leakage report against the in-memory one: the same report on the same examples,
/// with keys spilled to many sorted runs.
@Suite struct LeakageAccumulatorTests {
  static func streamed(_ keys: [SplitKeys], _ splits: [SplitName?], options: LeakageOptions = LeakageOptions(),
                       budget: Int, fanIn: Int = 64, background: Bool = false) throws -> (LeakageReport, runs: Int)
  {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let acc = LeakageAccumulator(directory: dir.path, options: options, memoryBudget: budget, maxFanIn: fanIn,
                                 backgroundSpill: background)
    for (k, s) in zip(keys, splits) { try acc.add(k, s) }
    let runs = acc.runsWritten
    let report = try acc.finish()
    let left = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    #expect(left.isEmpty, "temporary files left: \(left)")
    #expect(throws: (any Error).self) { try acc.add(SplitKeys(exampleKey: "x"), .train) }
    return (report, runs)
  }

  static func expectSame(_ got: LeakageReport, _ want: LeakageReport, _ label: String) {
    if got == want { return }
    for (g, w) in zip(got.pairs, want.pairs) where g != w {
      for (name, x, y) in [("examples", g.examples, w.examples), ("molecules", g.molecules, w.molecules),
                           ("scaffolds", g.scaffolds, w.scaffolds), ("targets", g.targets, w.targets)] where x != y {
        Issue.record("\(label) \(g.a)-\(g.b) \(name): streamed \(x.total) \(x.keys.prefix(8)), in memory \(y.total) \(y.keys.prefix(8))")
      }
      if g.nearDuplicateSequences != w.nearDuplicateSequences {
        Issue.record("\(label) \(g.a)-\(g.b) sequences: streamed \(g.nearDuplicateSequences), in memory \(w.nearDuplicateSequences)")
      }
    }
    Issue.record("\(label): reports differ: examples \(got.examples) / \(want.examples), unassigned \(got.unassigned) / \(want.unassigned)")
  }

  /// Random examples drawing keys from small pools (so they repeat within and across splits),
  /// with empty example keys, empty and dotted scaffolds, keys that are prefixes of others,
  /// non-ASCII keys (canonically equivalent spellings among them), missing splits, and sequences
  /// with near-identical variants.
  static func randomExamples(_ rng: inout SplitMix64, count: Int) -> ([SplitKeys], [SplitName?]) {
    let odd = ["caf\u{E9}", "cafe\u{301}", "\u{212A}", "K", "\u{1F600}", "\u{0}", "a\u{0}", "a", "", "\u{FF}z"]
    func pick(_ prefix: String, _ pool: Int) -> String {
      rng.below(25) == 0 ? odd[rng.below(odd.count)] : prefix + String(rng.below(pool))
    }
    var base: [[UInt8]] = (0..<12).map { _ in SplitTests.randomProtein(&rng, length: 20 + rng.below(60)) }
    for i in 0..<6 { base.append(SplitTests.mutate(base[i], substitutions: 1 + rng.below(3), &rng)) }
    base.append(Array("MKV".utf8))  // shorter than k
    let sequencePool = base.map(SplitTests.str)
    var keys: [SplitKeys] = []
    var splits: [SplitName?] = []
    for _ in 0..<count {
      let molecules = (0..<rng.below(3)).map { _ in pick("C", 150) }
      let scaffolds = molecules.map { _ -> String in
        switch rng.below(8) {
        case 0: return ""
        case 1: return "c1ccccc1.C1CC" + String(rng.below(5))
        case 2: return ".."
        case 3: return "r" + String(rng.below(3)) + "..s"
        default: return pick("s", 60)
        }
      }
      let nSeq = rng.below(3)
      let sequences = (0..<nSeq).map { _ in rng.below(10) == 0 ? "" : sequencePool[rng.below(sequencePool.count)] }
      let targets = rng.below(4) == 0 ? [pick("T", 30)] : sequences.map { "T" + String($0.count) + String($0.prefix(3)) }
      let exampleKey = rng.below(6) == 0 ? "" : pick("ex", 1500)
      keys.append(SplitKeys(exampleKey: exampleKey, molecules: molecules, scaffolds: scaffolds, targets: targets,
                            sequences: sequences))
      splits.append(rng.below(9) == 0 ? nil : SplitName.allCases[rng.below(3)])
    }
    return (keys, splits)
  }

  @Test func randomExamplesGiveTheInMemoryReport() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x1EA6_0001))
    var spilled = 0
    for round in 0..<6 {
      let (keys, splits) = Self.randomExamples(&rng, count: 500 + rng.below(3000))
      for options in [LeakageOptions(), LeakageOptions(identityThreshold: 0.8, listCap: 3), LeakageOptions(listCap: 0)] {
        let want = leakageReport(keys, splits, options: options)
        // The test compares something: every category leaks somewhere.
        for p in [\LeakageReport.PairOverlap.examples, \.molecules, \.scaffolds, \.targets] {
          #expect(want.pairs.contains { $0[keyPath: p].total > 0 })
        }
        #expect(want.pairs.contains { $0.nearDuplicateSequences.total > 0 })
        let (tiny, runs) = try Self.streamed(keys, splits, options: options, budget: 512, fanIn: 3)
        spilled += runs
        Self.expectSame(tiny, want, "round \(round), budget 512")
        let (inMemory, none) = try Self.streamed(keys, splits, options: options, budget: 64 << 20)
        #expect(none == 0)
        Self.expectSame(inMemory, want, "round \(round), in memory")
        let (background, some) = try Self.streamed(keys, splits, options: options, budget: 8192, background: true)
        #expect(some > 2)
        Self.expectSame(background, want, "round \(round), spilled in the background")
      }
    }
    #expect(spilled > 1000)
  }

  @Test func nonASCIIKeysAreListedAsTheirFirstSpelling() throws {
    // Canonically equivalent spellings are one key (as for String), listed as first seen.
    let keys = [
      SplitKeys(exampleKey: "cafe\u{301}", molecules: ["\u{212A}"]), SplitKeys(exampleKey: "caf\u{E9}", molecules: ["K"]),
      SplitKeys(exampleKey: "\u{E9}", molecules: ["K"]), SplitKeys(exampleKey: "e\u{301}", molecules: ["\u{212A}"]),
    ]
    let splits: [SplitName?] = [.train, .test, .test, .train]
    let want = leakageReport(keys, splits)
    let (got, _) = try Self.streamed(keys, splits, budget: 1)
    Self.expectSame(got, want, "non-ASCII")
    #expect(got.pair(.train, .test)?.examples.total == 2)
    #expect(got.pair(.train, .test)?.examples.keys.map { Array($0.utf8) } == [Array("cafe\u{301}".utf8), Array("\u{E9}".utf8)])
    #expect(got.pair(.train, .test)?.molecules.keys.map { Array($0.utf8) } == [Array("\u{212A}".utf8)])
  }

  /// Keys as the builder hands them over: the same `String` objects row after row (long ones,
  /// which `SentKeys` finds by address), equal strings that are other objects, short and
  /// non-ASCII ones. Leaving out what was sent before must not change the report.
  @Test func repeatedStringsGiveTheInMemoryReport() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x1EA6_0002))
    let pool = (0..<40).map { i in
      String(repeating: "C", count: 14 + i % 6) + "N\(i)" + (i % 7 == 0 ? "\u{E9}" : i % 11 == 0 ? "e\u{301}" : "")
    }
    let proteins = (0..<8).map { _ in SplitTests.str(SplitTests.randomProtein(&rng, length: 30 + rng.below(40))) }
    for round in 0..<4 {
      func long(_ k: Int) -> String {
        let s = pool[k % pool.count]
        // Now and then the same text in a string of its own.
        return rng.below(6) == 0 ? String(decoding: Array(s.utf8), as: UTF8.self) : s
      }
      var keys: [SplitKeys] = []
      var splits: [SplitName?] = []
      for _ in 0..<(1500 + rng.below(1500)) {
        let molecules = (0..<(1 + rng.below(2))).map { _ in rng.below(4) == 0 ? "C\(rng.below(9))" : long(rng.below(40)) }
        let scaffolds = molecules.map { _ in rng.below(5) == 0 ? "" : long(rng.below(12)) + "." + long(rng.below(3)) }
        let p = rng.below(proteins.count)
        keys.append(SplitKeys(exampleKey: "ex\(rng.below(4000))", molecules: molecules, scaffolds: scaffolds,
                              targets: [long(100 + p)], sequences: [proteins[p]]))
        splits.append(rng.below(15) == 0 ? nil : SplitName.allCases[rng.below(3)])
      }
      let want = leakageReport(keys, splits)
      for p in [\LeakageReport.PairOverlap.molecules, \.scaffolds, \.targets] {
        #expect(want.pairs.allSatisfy { $0[keyPath: p].total > 0 })
      }
      let (tiny, runs) = try Self.streamed(keys, splits, budget: 512, fanIn: 3)
      #expect(runs > 10)
      Self.expectSame(tiny, want, "round \(round), budget 512")
      Self.expectSame(try Self.streamed(keys, splits, budget: 64 << 20).0, want, "round \(round), in memory")
    }
  }

  /// A build's sink adds an example by its parts (its key as a hash, its molecules' parents and
  /// scaffolds looked up): the report is the one its ``SplitKeys`` give.
  @Test func examplesByPartsGiveTheReportOfTheirKeys() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x1EA6_0004))
    let (keys, splits) = Self.randomExamples(&rng, count: 3000)
    let hashes = keys.map { _ in rng.below(5) == 0 ? UInt64(rng.below(40)) : rng.next() }
    let byKeys = keys.enumerated().map { k, x in
      SplitKeys(exampleKey: ShardExport.hex16(hashes[k]), molecules: x.molecules, scaffolds: x.scaffolds, targets: x.targets,
                sequences: x.sequences)
    }
    let want = leakageReport(byKeys, splits)
    #expect(want.pairs.contains { $0.examples.total > 0 })
    for budget in [512, 64 << 20] {
      let dir = TestSupport.tempDirectory()
      defer { try? FileManager.default.removeItem(at: dir) }
      let acc = LeakageAccumulator(directory: dir.path, memoryBudget: budget, maxFanIn: 3, backgroundSpill: false)
      for (k, x) in keys.enumerated() {
        try acc.add(exampleHash: hashes[k], molecules: x.molecules.count, { (x.molecules[$0], x.scaffolds[$0]) },
                    targets: x.targets, sequences: x.sequences, split: splits[k])
      }
      Self.expectSame(try acc.finish(), want, "by parts, budget \(budget)")
    }
  }

  /// `firstTime` is false only for a string met before with that split, whatever it forgets.
  @Test func sentKeysNeverDropAFirstMeeting() {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x1EA6_0003))
    // Long strings (by address, many more than the memo's slots) and short ones (by value).
    let pool = (0..<40_000).map { i in i % 3 == 0 ? "s\(i % 5000)" : "a fairly long key number \(i)" }
    var sent = SentKeys()
    var met = Set<String>()
    var repeats = 0
    for _ in 0..<200_000 {
      let s = pool[rng.below(rng.below(4) == 0 ? pool.count : 300)]
      let split = rng.below(3)
      let first = sent.firstTime(s, split: split)
      let before = !met.insert("\(split) \(s)").inserted
      if !first {
        #expect(before, "\(s) with split \(split) was never met")
        repeats += 1
      }
    }
    // It does leave repeats out.
    #expect(repeats > 100_000)
  }

  @Test func emptyAndUnassignedInputs() throws {
    Self.expectSame(try Self.streamed([], [], budget: 1).0, leakageReport([], [SplitName?]()), "empty")
    let keys = [SplitKeys(exampleKey: "a", molecules: ["C"]), SplitKeys(exampleKey: "a", molecules: ["C"])]
    Self.expectSame(try Self.streamed(keys, [nil, nil], budget: 1).0, leakageReport(keys, [nil, nil]), "unassigned")
    let one = try Self.streamed(keys, [.train, .valid], budget: 1).0
    Self.expectSame(one, leakageReport(keys, [.train, .valid]), "two")
    #expect(one.pair(.train, .valid)?.examples.keys == ["a"])
  }

  @Test func temptingSetGivesTheInMemoryReport() throws {
    let keys = SplitTests.tempting()
    for kind in [SplitKind.random, .scaffold, .coldDrug, .coldTarget] {
      let a = splitAssignment(keys, plan: SplitPlan(kind: kind, seed: 3))
      let want = leakageReport(keys, a.splits)
      let (got, _) = try Self.streamed(keys, a.splits, budget: 300, fanIn: 2)
      Self.expectSame(got, want, "tempting \(kind)")
    }
  }
}

/// Throughput and memory of the streaming leakage report on the shape of a large BA build (1.1M
/// examples: a 700-byte example key, a drug of 47k, its scaffold, a target and sequence of 40).
/// Only with TAGDATA_BENCH_SORT=1 (run it in a release build).
@Suite struct LeakageAccumulatorThroughput {
  @Test(.enabled(if: ProcessInfo.processInfo.environment["TAGDATA_BENCH_SORT"] == "1"))
  func baShape() throws {
    let n = Int(ProcessInfo.processInfo.environment["TAGDATA_BENCH_RECORDS"] ?? "") ?? 1_100_000
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var rng = SplitMix64(seed: 2)
    let sequences = (0..<40).map { _ in SplitTests.str(SplitTests.randomProtein(&rng, length: 300 + rng.below(400))) }
    let targets = sequences.map { SplitTests.str(Array($0.utf8.prefix(12))) }
    let molecules = (0..<47_000).map { "c1ccc(C\($0))cc1N" }
    let scaffolds = (0..<5_000).map { "c1ccc(C\($0)CC1)cc1" }
    func rss() -> Double {
      guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
      else { return 0 }
      return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }
    let rss0 = rss()
    let acc = LeakageAccumulator(directory: dir.path)
    let clock = ContinuousClock()
    let t0 = clock.now
    for _ in 0..<n {
      let t = rng.below(40)
      let m = rng.below(molecules.count)
      let key = "# # Input: The protein sequence is <Protein> \(sequences[t]). \nThe SMILES of the drug is <SMILES> "
        + "\(molecules[m]). \n# # Output: The binding affinity is <BA> \(rng.below(100_000))."
      let keys = SplitKeys(exampleKey: key, molecules: [molecules[m]], scaffolds: [scaffolds[m % scaffolds.count]],
                           targets: [targets[t]], sequences: [sequences[t]])
      try acc.add(keys, SplitName.allCases[rng.below(10) < 8 ? 0 : rng.below(2) + 1])
    }
    let t1 = clock.now
    let report = try acc.finish()
    let t2 = clock.now
    let add = (t1 - t0) / .seconds(1), finish = (t2 - t1) / .seconds(1)
    print("""
      LeakageAccumulator: \(n) examples: add \(add) s, finish \(finish) s (\(Int(Double(n) / (add + finish))) examples/s), \
      \(acc.runsWritten) runs, peak RSS \(Int(rss())) MiB (before: \(Int(rss0)) MiB); \
      train-test molecules \(report.pair(.train, .test)?.molecules.total ?? -1)
      """)
    #expect(report.examples["train"]! + report.examples["valid"]! + report.examples["test"]! == n)
    #expect(rss() - rss0 < 300)
  }
}
