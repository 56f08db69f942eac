import Foundation
import TagdataIO
import TestSupport
import Testing

@testable import TagdataTasks

/// Leakage-free splits: data built to tempt leakage (one molecule from two sources, stereoisomers
/// sharing a scaffold, salts and mixtures sharing a component scaffold, drug combinations sharing
/// drugs, near-identical target sequences, duplicated examples) and the leakage report.
@Suite struct SplitTests {
  static let residues = Array("ACDEFGHIKLMNPQRSTVWY".utf8)

  static func randomProtein(_ rng: inout SplitMix64, length: Int) -> [UInt8] {
    (0..<length).map { _ in residues[rng.below(residues.count)] }
  }

  /// `count` substitutions at distinct positions, each to a different residue.
  static func mutate(_ s: [UInt8], substitutions count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    var out = s
    var positions = Array(0..<s.count)
    for i in 0..<count {
      let j = i + rng.below(positions.count - i)
      positions.swapAt(i, j)
      let p = positions[i]
      var r = out[p]
      while r == out[p] { r = residues[rng.below(residues.count)] }
      out[p] = r
    }
    return out
  }

  static func str(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

  /// About 500 examples full of traps.
  static func tempting() -> [SplitKeys] {
    var rng = SplitMix64(seed: 7)
    // 16 targets; target 15 is a 95 % identical variant of target 14 under another key.
    var sequences: [String] = []
    for _ in 0..<15 { sequences.append(str(randomProtein(&rng, length: 200))) }
    sequences.append(str(mutate(Array(sequences[14].utf8), substitutions: 10, &rng)))
    let targets = (0..<sequences.count).map { "target-\($0)" }
    // 40 scaffolds; molecule i and its stereoisomer share scaffold i % 40.
    func scaffold(_ i: Int) -> String { "c1ccc(C\(String(repeating: "C", count: i % 40))C2CC2)cc1" }
    var molecules: [(key: String, scaffold: String)] = []
    for i in 0..<80 {
      let core = "C\(String(repeating: "C", count: i % 40))C2CC2"
      molecules.append(("N[C@H](\(i))c1ccc(\(core))cc1", scaffold(i)))
      molecules.append(("N[C@@H](\(i))c1ccc(\(core))cc1", scaffold(i)))
    }
    // Salts and mixtures: a hydrochloride whose scaffold is a component, a mixture of two ringed
    // components (scaffold "A.B") and a molecule whose scaffold is B alone.
    molecules.append(("c1ccc(CN)cc1.Cl", "c1ccccc1"))
    molecules.append(("c1ccncc1.C1CCNCC1", "c1ccncc1.C1CCNCC1"))
    molecules.append(("OC1CCNCC1", "C1CCNCC1"))
    molecules.append(("Nc1ccccc1", "c1ccccc1"))
    molecules.append(("CCO", ""))
    molecules.append(("CCCN", ""))
    var out: [SplitKeys] = []
    for (i, m) in molecules.enumerated() {
      // Each molecule against three targets; the second and third from "another source" (the same
      // molecule key, another example).
      for r in 0..<3 {
        let t = (i * 7 + r * 5) % targets.count
        out.append(
          SplitKeys(
            exampleKey: "\(m.key)|\(targets[t])", molecules: [m.key], scaffolds: [m.scaffold], targets: [targets[t]],
            sequences: [sequences[t]], year: 2013 + (i + r) % 9))
      }
      // Every fifth pair is reported twice (the same example key, another year).
      if i % 5 == 0 {
        let t = (i * 7) % targets.count
        out.append(
          SplitKeys(
            exampleKey: "\(m.key)|\(targets[t])", molecules: [m.key], scaffolds: [m.scaffold], targets: [targets[t]],
            sequences: [sequences[t]], year: 2013 + (i + 4) % 9))
      }
    }
    // Drug combinations chaining drugs: (m0, m2), (m2, m4), ..., so cold-drug must keep them together.
    for i in stride(from: 0, to: 40, by: 2) {
      let a = molecules[i]
      let b = molecules[i + 2]
      out.append(
        SplitKeys(
          exampleKey: "\(a.key)+\(b.key)|cell-\(i % 3)", molecules: [a.key, b.key], scaffolds: [a.scaffold, b.scaffold],
          year: 2013 + i % 9))
    }
    return out
  }

  /// Which splits hold each key of `keysOf`.
  static func splitsPerKey(_ keys: [SplitKeys], _ splits: [SplitName?], _ keysOf: (SplitKeys) -> [String]) -> [String:
    Set<SplitName>]
  {
    var m: [String: Set<SplitName>] = [:]
    for (k, s) in zip(keys, splits) {
      guard let s else { continue }
      for key in keysOf(k) { m[key, default: []].insert(s) }
    }
    return m
  }

  static func components(_ k: SplitKeys) -> [String] {
    k.scaffolds.flatMap { $0.isEmpty ? [""] : $0.split(separator: ".").map(String.init) }
  }

  @Test func groupSplitsKeepTheirKeyInOneSplitAndTheReportSaysSo() {
    let keys = Self.tempting()
    let cases: [(SplitKind, (SplitKeys) -> [String], KeyPath<LeakageReport.PairOverlap, LeakageReport.KeyOverlap>)] = [
      (.scaffold, Self.components, \.scaffolds),
      (.coldDrug, { $0.molecules }, \.molecules),
      (.coldTarget, { $0.targets }, \.targets),
    ]
    for (kind, keysOf, path) in cases {
      let a = splitAssignment(keys, plan: SplitPlan(kind: kind, seed: 3))
      for s in SplitName.allCases { #expect(a.count(s) > 0, "\(kind) \(s) is empty") }
      #expect(a.duplicatesRemoved == 34)
      let leaking = Self.splitsPerKey(keys, a.splits, keysOf).filter { $0.value.count > 1 }
      #expect(leaking.isEmpty, "\(kind): \(leaking.keys.sorted().prefix(5))")
      let report = leakageReport(keys, a.splits)
      for p in report.pairs {
        #expect(p[keyPath: path].total == 0, "\(kind) \(p.a)-\(p.b)")
        #expect(p.examples.total == 0)
      }
    }
  }

  @Test func theRandomSplitLeaksAndTheReportShowsIt() {
    let keys = Self.tempting()
    let a = splitAssignment(keys, plan: SplitPlan(kind: .random, seed: 3))
    #expect(a.duplicatesRemoved == 34)
    let report = leakageReport(keys, a.splits)
    let p = report.pair(.train, .test)!
    #expect(p.examples.total == 0)
    #expect(p.molecules.total > 0 && p.scaffolds.total > 0 && p.targets.total > 0)
    #expect(p.targets.total == Self.splitsPerKey(keys, a.splits, { $0.targets }).filter { $0.value.isSuperset(of: [.train, .test]) }.count)
    // Identical sequences of the same target, plus the 95 % variant of target 14.
    #expect(p.nearDuplicateSequences.total >= p.targets.total)
    #expect(report.examples["train"]! + report.examples["valid"]! + report.examples["test"]! + report.unassigned == keys.count)
  }

  @Test func coldTargetWithIdentityKeepsNearIdenticalProteinsTogether() {
    let keys = Self.tempting()
    var leaked = 0
    for seed in UInt64(0)..<20 {
      let plain = splitAssignment(keys, plan: SplitPlan(kind: .coldTarget, seed: seed))
      leaked += leakageReport(keys, plain.splits).pairs.reduce(0) { $0 + $1.nearDuplicateSequences.total }
      let a = splitAssignment(keys, plan: SplitPlan(kind: .coldTarget, seed: seed, targetIdentity: 0.9))
      #expect(a.sequenceClusteringComplete)
      let t14 = keys.indices.filter { keys[$0].targets == ["target-14"] }.compactMap { a.splits[$0] }
      let t15 = keys.indices.filter { keys[$0].targets == ["target-15"] }.compactMap { a.splits[$0] }
      #expect(!t14.isEmpty && Set(t14 + t15).count == 1)
      let report = leakageReport(keys, a.splits)
      for p in report.pairs { #expect(p.targets.total == 0 && p.nearDuplicateSequences.total == 0) }
    }
    // Without it, the 95 % variant lands in another split for some seed: the report sees it.
    #expect(leaked > 0)
  }

  @Test func aShortSplitListLeavesTheRestUnassigned() {
    let keys = [SplitKeys(exampleKey: "a", molecules: ["C"]), SplitKeys(exampleKey: "b", molecules: ["C"])]
    let report = leakageReport(keys, [SplitName.train])
    #expect(report.unassigned == 1 && report.examples["train"] == 1)
    #expect(report.pairs.allSatisfy { $0.molecules.total == 0 })
  }

  @Test func badPlansAreDescribedAndDoNotCrash() {
    #expect(SplitPlan(kind: .scaffold).problems.isEmpty)
    #expect(SplitPlan(kind: .temporal).problems.isEmpty)
    #expect(SplitPlan(kind: .random, train: .nan).problems.count == 1)
    #expect(SplitPlan(kind: .random, train: 0, valid: 0, test: 0).problems.count == 1)
    #expect(SplitPlan(kind: .coldTarget, targetIdentity: 1.5).problems.count == 1)
    let overlapping = TemporalRule(trainValidYears: 2010...2020, testYears: 2019...2021, validFraction: 2)
    #expect(SplitPlan(kind: .temporal, temporal: overlapping).problems.count == 2)
    let keys = Self.tempting()
    for plan in [
      SplitPlan(kind: .scaffold, train: .nan, valid: .infinity, test: -1), SplitPlan(kind: .random, train: 0, valid: 0, test: 0),
    ] {
      let a = splitAssignment(keys, plan: plan)
      #expect(a.splits.compactMap { $0 }.count == keys.count - a.duplicatesRemoved)
    }
    #expect(splitAssignment([], plan: SplitPlan(kind: .scaffold)).splits.isEmpty)
    #expect(leakageReport([], [SplitName]()).pairs.count == 3)
  }

  @Test func coldDrugKeepsChainedCombinationsTogether() {
    let keys = Self.tempting()
    let splits = assignSplits(keys, plan: SplitPlan(kind: .coldDrug, seed: 11))
    let combos = keys.indices.filter { keys[$0].molecules.count == 2 }
    let first = splits[combos[0]]
    #expect(first != nil)
    for i in combos { #expect(splits[i] == first) }
  }

  @Test func salts_and_mixtures_share_the_component_scaffold_group() {
    let keys = Self.tempting()
    let splits = assignSplits(keys, plan: SplitPlan(kind: .scaffold, seed: 5))
    let benzene = keys.indices.filter { Self.components(keys[$0]).contains("c1ccccc1") }.compactMap { splits[$0] }
    let piperidine = keys.indices.filter { Self.components(keys[$0]).contains("C1CCNCC1") }.compactMap { splits[$0] }
    #expect(Set(benzene).count == 1 && benzene.count >= 6)
    #expect(Set(piperidine).count == 1 && piperidine.count >= 6)
  }

  @Test func temporalFollowsTheBindingDBPatentYears() {
    let keys = Self.tempting()
    let a = splitAssignment(keys, plan: SplitPlan(kind: .temporal, seed: 1))
    var years: [SplitName: [Int]] = [:]
    for (k, s) in zip(keys, a.splits) { if let s { years[s, default: []].append(k.year!) } }
    #expect(years[.train]!.allSatisfy { (2013...2018).contains($0) })
    #expect(years[.valid]!.allSatisfy { (2013...2018).contains($0) })
    #expect(years[.test]!.allSatisfy { (2019...2021).contains($0) })
    let tv = Double(years[.valid]!.count) / Double(years[.train]!.count + years[.valid]!.count)
    #expect(tv > 0.1 && tv < 0.3)
    let report = leakageReport(keys, a.splits)
    for p in report.pairs { #expect(p.examples.total == 0) }
    // A duplicate keeps its earliest year.
    let dup = SplitKeys(exampleKey: "x", year: 2020)
    let early = SplitKeys(exampleKey: "x", year: 2014)
    let b = splitAssignment([dup, early, SplitKeys(exampleKey: "y"), SplitKeys(exampleKey: "z", year: 1990)], plan: SplitPlan(kind: .temporal))
    #expect(b.splits[0] == nil && b.splits[1] != nil && b.splits[1] != .test)
    #expect(b.duplicatesRemoved == 1 && b.excluded == 2)
    let c = assignSplits([SplitKeys(exampleKey: "z", year: 1990), SplitKeys(exampleKey: "w", year: 2030)], plan: SplitPlan(kind: .temporal, temporal: .boundary(lastTrainYear: 2018)))
    #expect(c[0] != nil && c[0] != .test && c[1] == .test)
    let three = TemporalRule.boundaries(lastTrainYear: 2018, lastValidYear: 2019)
    let probe = [1999, 2018, 2019, 2020, 2031]
    let d = assignSplits(probe.map { SplitKeys(exampleKey: "\($0)", year: $0) }, plan: SplitPlan(kind: .temporal, temporal: three))
    #expect(d == [.train, .train, .valid, .test, .test])
  }

  @Test func sameSeedSameSplitsOtherSeedOtherSplitsInputOrderIrrelevant() {
    let keys = Self.tempting()
    for kind in SplitKind.allCases {
      let a = assignSplits(keys, plan: SplitPlan(kind: kind, seed: 42))
      #expect(a == assignSplits(keys, plan: SplitPlan(kind: kind, seed: 42)))
      #expect(a != assignSplits(keys, plan: SplitPlan(kind: kind, seed: 43)), "\(kind)")
      // Reversed input, the same split per example key (no duplicates in this check).
      let unique = Array(Dictionary(keys.map { ($0.exampleKey, $0) }, uniquingKeysWith: { x, _ in x }).values)
        .sorted { $0.exampleKey < $1.exampleKey }
      let f = assignSplits(unique, plan: SplitPlan(kind: kind, seed: 42))
      let r = assignSplits(Array(unique.reversed()), plan: SplitPlan(kind: kind, seed: 42))
      #expect(f == Array(r.reversed()), "\(kind)")
    }
  }

  @Test func fractionsAreRespectedOnGeneratedData() {
    var rng = SplitMix64(seed: 99)
    var keys: [SplitKeys] = []
    for i in 0..<3000 {
      let scaffold = "S\(rng.below(600))"
      let drug = "D\(rng.below(1200))"
      let target = "T\(rng.below(300))"
      keys.append(
        SplitKeys(exampleKey: "E\(i)", molecules: [drug], scaffolds: [scaffold], targets: [target], year: 2013 + i % 9))
    }
    for kind in [SplitKind.random, .scaffold, .coldDrug, .coldTarget] {
      let a = splitAssignment(keys, plan: SplitPlan(kind: kind, train: 0.7, valid: 0.15, test: 0.15, seed: 1))
      let f = SplitName.allCases.map { Double(a.count($0)) / 3000 }
      #expect(abs(f[0] - 0.7) < 0.02 && abs(f[1] - 0.15) < 0.02 && abs(f[2] - 0.15) < 0.02, "\(kind) \(f)")
    }
    let r = splitAssignment(keys, plan: SplitPlan(kind: .random, seed: 1))
    #expect(r.count(.train) == 2400 && r.count(.valid) == 300 && r.count(.test) == 300)
  }

  @Test func nearDuplicateSequencesAreFoundAtNinetyFivePercentNotAtFifty() {
    var rng = SplitMix64(seed: 5)
    let base = Self.randomProtein(&rng, length: 200)
    let close = Self.mutate(base, substitutions: 10, &rng)
    let far = Self.mutate(base, substitutions: 100, &rng)
    // Five residues deleted and five inserted elsewhere: an alignment, not a position match.
    var shifted = base
    shifted.removeSubrange(20..<25)
    shifted.insert(contentsOf: Array("WWWWW".utf8), at: 150)
    let keys = [
      SplitKeys(exampleKey: "a", targets: ["A"], sequences: [Self.str(base)]),
      SplitKeys(exampleKey: "b", targets: ["B"], sequences: [Self.str(close)]),
      SplitKeys(exampleKey: "c", targets: ["C"], sequences: [Self.str(far)]),
      SplitKeys(exampleKey: "d", targets: ["D"], sequences: [Self.str(shifted)]),
    ]
    let report = leakageReport(keys, [.train, .test, .valid, .valid])
    let tt = report.pair(.train, .test)!.nearDuplicateSequences
    #expect(tt.total == 1 && tt.pairs.count == 1)
    #expect(abs(tt.pairs[0].identity - 0.95) < 1e-9 && tt.pairs[0].targetA == "A" && tt.pairs[0].targetB == "B")
    let tv = report.pair(.train, .valid)!.nearDuplicateSequences
    #expect(tv.total == 1 && tv.pairs.first?.targetB == "D" && tv.pairs[0].identity >= 0.95)
    #expect(report.pair(.valid, .test)!.nearDuplicateSequences.total == 1)  // d vs b: at most 20 edits apart
    #expect(report.sequenceSearchComplete && report.sequencesWithoutGuarantee == 0)
    let strict = leakageReport(keys, [.train, .test, .valid, .valid], options: LeakageOptions(identityThreshold: 0.96))
    #expect(strict.pairs.allSatisfy { $0.nearDuplicateSequences.total == 0 })
    let loose = leakageReport(keys, [.train, .test, .valid, .valid], options: LeakageOptions(identityThreshold: 0.4))
    #expect(loose.pair(.train, .valid)!.nearDuplicateSequences.total == 2)
    #expect(loose.sequencesWithoutGuarantee > 0)
  }

  @Test func boundedEditDistanceAgreesWithThePlainDistance() {
    var rng = SplitMix64(seed: 17)
    func plain(_ a: [UInt8], _ b: [UInt8]) -> Int {
      var prev = Array(0...b.count)
      for i in 1...max(a.count, 1) where !a.isEmpty {
        var cur = [i] + [Int](repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
          cur[j] = min(prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1), prev[j] + 1, cur[j - 1] + 1)
        }
        prev = cur
      }
      return prev[b.count]
    }
    let alphabet = Array("ACGT".utf8)
    var rows = ([Int32](), [Int32]())
    for _ in 0..<400 {
      let a = (0..<rng.below(12)).map { _ in alphabet[rng.below(4)] }
      let b = (0..<rng.below(12)).map { _ in alphabet[rng.below(4)] }
      let d = plain(a, b)
      for limit in 0...12 {
        let got = boundedEditDistance(a, b, limit: limit, rows: &rows)
        #expect(got == (d <= limit ? d : nil), "\(Self.str(a)) \(Self.str(b)) limit \(limit)")
      }
    }
  }

  @Test func manySequencesStayFastAndPlantedPairsAreAllFound() {
    var rng = SplitMix64(seed: 23)
    var keys: [SplitKeys] = []
    var splits: [SplitName] = []
    for i in 0..<1500 {
      keys.append(SplitKeys(exampleKey: "e\(i)", targets: ["t\(i)"], sequences: [Self.str(Self.randomProtein(&rng, length: 150 + rng.below(300))) + String(repeating: "A", count: 20)]))
      splits.append(i % 3 == 0 ? .train : i % 3 == 1 ? .valid : .test)
    }
    // 30 planted 92 %-identical copies of train sequences in test; a low-complexity stretch everywhere.
    for j in 0..<30 {
      let src = Array(keys[j * 3].sequences[0].utf8)
      let copy = Self.mutate(src, substitutions: src.count * 8 / 100, &rng)
      keys.append(SplitKeys(exampleKey: "p\(j)", targets: ["p\(j)"], sequences: [Self.str(copy)]))
      splits.append(.test)
    }
    let started = Date()
    let report = leakageReport(keys, splits, options: LeakageOptions(identityThreshold: 0.9))
    let seconds = Date().timeIntervalSince(started)
    #expect(report.pair(.train, .test)!.nearDuplicateSequences.total == 30)
    #expect(report.pair(.train, .valid)!.nearDuplicateSequences.total == 0)
    #expect(report.alignments < 200)
    // The shared poly-A stretch is over-common (1530 sequences > 200) and skipped, the bound stays positive.
    #expect(report.sequencesWithoutGuarantee == 0)
    #expect(seconds < 30, "\(seconds) s")
  }

  @Test func theCellBudgetStopsTheSearchAndSaysSo() {
    var rng = SplitMix64(seed: 3)
    let base = Self.randomProtein(&rng, length: 300)
    let keys = (0..<4).map { i in
      SplitKeys(exampleKey: "\(i)", sequences: [Self.str(Self.mutate(base, substitutions: 5 * i, &rng))])
    }
    let splits: [SplitName] = [.train, .valid, .test, .train]
    #expect(leakageReport(keys, splits).sequenceSearchComplete)
    let cut = leakageReport(keys, splits, options: LeakageOptions(maxCells: 10_000))
    #expect(!cut.sequenceSearchComplete && cut.alignments == 0)
  }

  @Test func tensOfThousandsOfExamplesAreSplitQuickly() {
    var rng = SplitMix64(seed: 1)
    var keys: [SplitKeys] = []
    for i in 0..<20_000 {
      let a = "D\(rng.below(4000))"
      let b = "D\(rng.below(4000))"
      keys.append(
        SplitKeys(
          exampleKey: "E\(rng.below(19_000))", molecules: i % 10 == 0 ? [a, b] : [a], scaffolds: ["S\(rng.below(2000))"],
          targets: ["T\(rng.below(500))"], year: 2013 + rng.below(9)))
    }
    let started = Date()
    for kind in SplitKind.allCases {
      let a = splitAssignment(keys, plan: SplitPlan(kind: kind, seed: 9))
      #expect(a.duplicatesRemoved > 0 && a.count(.train) > 0)
    }
    let splitSeconds = Date().timeIntervalSince(started)
    // A component that swallows everything (every scaffold shares one of 50 ring systems) goes to train.
    let joined = keys.enumerated().map { i, k in
      var k = k
      k.scaffolds = [k.scaffolds[0] + ".R\(i % 50)"]
      return k
    }
    let giant = splitAssignment(joined, plan: SplitPlan(kind: .scaffold))
    #expect(giant.largestGroup == giant.count(.train) && giant.count(.valid) == 0 && giant.count(.test) == 0)
    let r = leakageReport(keys, assignSplits(keys, plan: SplitPlan(kind: .random)))
    let total = Date().timeIntervalSince(started)
    print("20000 examples: five splits \(splitSeconds) s, with one report \(total) s (debug)")
    #expect(r.pair(.train, .test)!.molecules.total > 0)
    #expect(total < 60)
  }

  @Test func aLargeFamilyOfNearIdenticalSequencesIsBoundedAndFlagged() {
    var rng = SplitMix64(seed: 31)
    let base = Self.randomProtein(&rng, length: 120)
    var keys: [SplitKeys] = []
    for i in 0..<600 {
      keys.append(SplitKeys(exampleKey: "\(i)", sequences: [Self.str(Self.mutate(base, substitutions: 3, &rng))]))
    }
    let splits: [SplitName] = keys.indices.map { $0 % 2 == 0 ? .train : .test }
    let started = Date()
    let report = leakageReport(keys, splits, options: LeakageOptions(maxAlignments: 5000))
    #expect(Date().timeIntervalSince(started) < 30)
    // Every k-mer is in 600 sequences: all are skipped, nothing is guaranteed, and the report says so.
    #expect(report.sequencesWithoutGuarantee == 600)
    let wide = leakageReport(keys, splits, options: LeakageOptions(maxAlignments: 5000, maxPostings: 1000))
    #expect(!wide.sequenceSearchComplete && wide.alignments == 5000 && wide.pair(.train, .test)!.nearDuplicateSequences.total == 5000)
  }

  @Test func theReportIsWrittenAsJSONAndMarkdown() throws {
    let keys = Self.tempting()
    let splits = assignSplits(keys, plan: SplitPlan(kind: .random, seed: 2))
    let report = leakageReport(keys, splits, options: LeakageOptions(listCap: 4))
    #expect(report.pairs.allSatisfy { $0.molecules.keys.count <= 4 && $0.nearDuplicateSequences.pairs.count <= 4 })
    #expect(report.pair(.train, .test)!.molecules.total > 4)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("splits-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try report.writeJSON(to: dir.appendingPathComponent("leakage.json").path)
    let back = try JSONDecoder().decode(LeakageReport.self, from: Data(contentsOf: dir.appendingPathComponent("leakage.json")))
    #expect(back == report)
    let withCounts = leakageReport(keys, splitAssignment(keys, plan: SplitPlan(kind: .random, seed: 2)))
    #expect(withCounts.duplicatesRemoved == 34 && withCounts.excluded == 0)
    #expect(withCounts.markdown().contains("duplicates removed 34"))
    let md = report.markdown()
    #expect(md.contains("| train-test | 0 | \(report.pair(.train, .test)!.molecules.total) |"))
    try report.writeMarkdown(to: dir.appendingPathComponent("leakage.md").path)
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("leakage.md").path))
  }
}

/// Splits of the shipped BindingDB samples (2015 and 2022 releases as the years) and DrugComb
/// pairs, with keys made by RDKit (canonical SMILES, Murcko scaffolds) and SHA-256 of the chain
/// sequences: no group split leaks its key, the random split does.
@Suite(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired, "needs the interop venv: Scripts/bootstrap"))
struct SplitInteropTests {
  static let script = #"""
import csv, hashlib, json, sys
from rdkit import Chem, RDLogger
from rdkit.Chem.Scaffolds import MurckoScaffold
RDLogger.DisableLog("rdApp.*")
csv.field_size_limit(1 << 30)

def mol_keys(smiles):
    m = Chem.MolFromSmiles(smiles)
    if m is None:
        return None
    return Chem.MolToSmiles(m), MurckoScaffold.MurckoScaffoldSmiles(mol=m)

out = []
bad = 0
for path, year in ((sys.argv[1], 2015), (sys.argv[2], 2022)):
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows)
        seqcols = [i for i, h in enumerate(header) if h == "BindingDB Target Chain  Sequence"]
        for row in rows:
            if len(row) < 2:
                continue
            k = mol_keys(row[1])
            if k is None:
                bad += 1
                continue
            seqs = [row[i].strip().upper() for i in seqcols if i < len(row) and row[i].strip()]
            targets = [hashlib.sha256(s.encode()).hexdigest() for s in seqs]
            out.append(dict(exampleKey=k[0] + "|" + "|".join(sorted(targets)), molecules=[k[0]], scaffolds=[k[1]],
                            targets=targets, sequences=seqs, year=year))
with open(sys.argv[3], newline="") as f:
    for row in csv.DictReader(f):
        a, b = mol_keys(row["Drug1"]), mol_keys(row["Drug2"])
        if a is None or b is None:
            bad += 1
            continue
        pair = sorted([a[0], b[0]])
        out.append(dict(exampleKey=pair[0] + "+" + pair[1] + "|" + row["Cell_Line_ID"], molecules=pair,
                        scaffolds=[a[1], b[1]], targets=[], sequences=[], year=None))
json.dump(out, sys.stdout)
print(bad, file=sys.stderr)
"""#

  @Test func corpusKeysFromRDKitDoNotLeakUnderGroupSplits() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let scriptURL = dir.appendingPathComponent("split_keys.py")
    try Data(Self.script.utf8).write(to: scriptURL)
    let out = try TestSupport.run(
      python,
      [
        scriptURL.path, TestSupport.corpus("bindingdb/bindingdb_2015m10_sample.tsv").path,
        TestSupport.corpus("bindingdb/bindingdb_2022m5_sample.tsv").path, TestSupport.corpus("tables/drugcomb_sample.csv").path,
      ])
    #expect(out.status == 0, "\(out.stderr)")
    guard out.status == 0 else { return }
    let keys = try JSONDecoder().decode([SplitKeys].self, from: Data(out.stdout.utf8))
    #expect(keys.count > 400)
    let plans: [(SplitPlan, KeyPath<LeakageReport.PairOverlap, LeakageReport.KeyOverlap>)] = [
      (SplitPlan(kind: .random, seed: 1), \.examples),
      (SplitPlan(kind: .scaffold, seed: 1), \.scaffolds),
      (SplitPlan(kind: .coldDrug, seed: 1), \.molecules),
      (SplitPlan(kind: .coldTarget, seed: 1, targetIdentity: 0.9), \.targets),
      (SplitPlan(kind: .temporal, seed: 1, temporal: .boundary(lastTrainYear: 2018)), \.examples),
    ]
    for (plan, path) in plans {
      let a = splitAssignment(keys, plan: plan)
      let r = leakageReport(keys, a)
      let tt = r.pair(.train, .test)!
      print(
        "\(plan.kind.rawValue): train \(a.count(.train)) valid \(a.count(.valid)) test \(a.count(.test)), duplicates \(a.duplicatesRemoved), groups \(a.groups), largest \(a.largestGroup); train-test overlap: molecules \(tt.molecules.total) scaffolds \(tt.scaffolds.total) targets \(tt.targets.total) sequences \(tt.nearDuplicateSequences.total)"
      )
      for p in r.pairs { #expect(p[keyPath: path].total == 0 && p.examples.total == 0, "\(plan.kind) \(p.a)-\(p.b)") }
      if plan.kind == .coldTarget { for p in r.pairs { #expect(p.nearDuplicateSequences.total == 0) } }
      if plan.kind == .random { #expect(tt.molecules.total > 0 && tt.scaffolds.total > 0 && tt.targets.total > 0) }
      #expect(a.count(.test) > 0)
    }
  }

  static let distanceScript = #"""
import csv, json, random, sys
from Bio import Align
csv.field_size_limit(1 << 30)
seqs = []
with open(sys.argv[1], newline="", encoding="utf-8", errors="replace") as f:
    rows = csv.reader(f, delimiter="\t")
    header = next(rows)
    col = header.index("BindingDB Target Chain  Sequence")
    for row in rows:
        if col < len(row):
            s = row[col].strip().upper()
            if s and s not in seqs and len(s) <= 800:
                seqs.append(s)
rng = random.Random(5)
aligner = Align.PairwiseAligner(mode="global", match_score=0, mismatch_score=-1, gap_score=-1)
out = []
for s in seqs[:12]:
    for rate in (0.02, 0.05, 0.1, 0.2):
        t = list(s)
        for _ in range(int(len(s) * rate)):
            op = rng.random()
            i = rng.randrange(len(t))
            if op < 0.6:
                t[i] = rng.choice("ACDEFGHIKLMNPQRSTVWY")
            elif op < 0.8:
                del t[i]
            else:
                t.insert(i, rng.choice("ACDEFGHIKLMNPQRSTVWY"))
        t = "".join(t)
        out.append(dict(a=s, b=t, distance=int(-aligner.score(s, t))))
json.dump(out, sys.stdout)
"""#

  /// The identity measure's distance is Biopython's global alignment with match 0, mismatch and
  /// gap -1 (minus the Levenshtein distance): BindingDB chains with 2-20 % random edits.
  @Test func editDistanceAgreesWithBiopythonGlobalAlignment() throws {
    guard let python = TestSupport.python else {
      Issue.record("TAGDATA_REQUIRE_INTEROP=1 but no venv python (run Scripts/bootstrap)")
      return
    }
    struct Case: Decodable {
      var a: String
      var b: String
      var distance: Int
    }
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let scriptURL = dir.appendingPathComponent("distances.py")
    try Data(Self.distanceScript.utf8).write(to: scriptURL)
    let out = try TestSupport.run(python, [scriptURL.path, TestSupport.corpus("bindingdb/bindingdb_2022m5_sample.tsv").path])
    #expect(out.status == 0, "\(out.stderr)")
    guard out.status == 0 else { return }
    let cases = try JSONDecoder().decode([Case].self, from: Data(out.stdout.utf8))
    #expect(cases.count >= 40)
    var rows = ([Int32](), [Int32]())
    var disagreements = 0
    for c in cases {
      let a = Array(c.a.utf8)
      let b = Array(c.b.utf8)
      let limit = max(a.count, b.count) / 4
      let ours = boundedEditDistance(a, b, limit: limit, rows: &rows)
      let expected = c.distance <= limit ? c.distance : nil
      if ours != expected {
        disagreements += 1
        print("distance disagreement: lengths \(a.count)/\(b.count), ours \(String(describing: ours)), Biopython \(c.distance): \(c.a) vs \(c.b)")
      }
      // At the distance itself, one below it must say "above the limit".
      if c.distance > 0 { #expect(boundedEditDistance(a, b, limit: c.distance - 1, rows: &rows) == nil) }
    }
    #expect(disagreements == 0)
  }
}
