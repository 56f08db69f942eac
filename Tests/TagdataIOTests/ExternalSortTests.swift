import Foundation
import TestSupport
import Testing
@testable import TagdataIO

/// The external merge sort against an in-memory stable sort, with budgets small enough for many
/// runs and several merge passes, and its temporary files.
@Suite struct ExternalSortTests {
  /// The expected order: by key bytes (a prefix first), then by insertion.
  static func reference(_ records: [([UInt8], [UInt8])]) -> [([UInt8], [UInt8])] {
    let order = records.indices.sorted { a, b in
      let x = records[a].0
      let y = records[b].0
      if x != y { return x.lexicographicallyPrecedes(y) }
      return a < b
    }
    return order.map { records[$0] }
  }

  static func files(_ dir: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
  }

  static func randomRecords(_ rng: inout SplitMix64, count: Int, alphabet: Int, maxKey: Int, maxPayload: Int)
    -> [([UInt8], [UInt8])]
  {
    (0..<count).map { i in
      let key = (0..<rng.below(maxKey + 1)).map { _ in UInt8(rng.below(alphabet)) }
      // The payload starts with the insertion number, so that stability is checked too.
      var payload = withUnsafeBytes(of: UInt32(i).littleEndian) { Array($0) }
      payload += (0..<rng.below(maxPayload + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      return (key, payload)
    }
  }

  func check(_ records: [([UInt8], [UInt8])], budget: Int, fanIn: Int, background: Bool = true) throws -> ExternalSorter {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let sorter = ExternalSorter(directory: dir.path, memoryBudget: budget, maxFanIn: fanIn, backgroundSpill: background)
    for (k, p) in records { try sorter.add(key: k, payload: p) }
    #expect(sorter.count == records.count)
    let got = try sorter.sorted()
    let want = Self.reference(records)
    #expect(got.count == want.count)
    var bad = 0
    for (g, w) in zip(got, want) where g.key != w.0 || g.payload != w.1 {
      bad += 1
      if bad <= 5 { Issue.record("sorted record differs: got key \(g.key) payload \(g.payload.prefix(4)), want \(w.0) \(w.1.prefix(4))") }
    }
    #expect(bad == 0)
    #expect(Self.files(dir).isEmpty, "temporary files left: \(Self.files(dir))")
    return sorter
  }

  @Test func randomRecordsMatchAStableSortWithManyRunsAndPasses() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5EED_0001))
    // Tiny alphabet and short keys: many equal keys, keys that are prefixes of others, equal
    // 8-byte and 16-byte prefixes (the index compares those first) of keys about that long;
    // longer keys over a wider alphabet too.
    for (alphabet, maxKey) in [(2, 3), (3, 12), (2, 24), (256, 20), (4, 40)] {
      let records = Self.randomRecords(&rng, count: 3000, alphabet: alphabet, maxKey: maxKey, maxPayload: 30)
      let s = try check(records, budget: 600, fanIn: 3, background: false)
      #expect(s.runsWritten > 100)
      #expect(s.mergePasses >= 3)
      let b = try check(records, budget: 6000, fanIn: 3)  // runs written on the second thread
      #expect(b.runsWritten > 10 && b.mergePasses >= 2)
      _ = try check(records, budget: 1 << 20, fanIn: 64)  // in memory
      let t = try check(records, budget: 20_000, fanIn: 64)  // spilled, one merge
      #expect(t.mergePasses == 0 && t.runsWritten > 2)
    }
    // Keys that share their first 8 or 16 bytes and differ in the few after (or end there), as a
    // shard and a task name before a hash do.
    let heads: [[UInt8]] = [[UInt8](repeating: 1, count: 16), [UInt8](repeating: 1, count: 8) + [UInt8](repeating: 2, count: 8)]
    let shared = (0..<3000).map { i -> ([UInt8], [UInt8]) in
      let head = heads[rng.below(heads.count)]
      let cut = rng.below(3) == 0 ? rng.below(head.count + 1) : head.count
      return (Array(head.prefix(cut)) + (0..<rng.below(4)).map { _ in UInt8(rng.below(3)) }, [UInt8(truncatingIfNeeded: i)])
    }
    _ = try check(shared, budget: 600, fanIn: 3, background: false)
    _ = try check(shared, budget: 1 << 20, fanIn: 64)
  }

  @Test func aFewRunsOverTheFanInAreMergedJustEnough() throws {
    // Two records per run, 7 runs, fan-in 4: the first 4 runs are merged into one, then 4 remain.
    // A record costs its 8-byte header, its 1-byte key and its index entry: a budget of two.
    let records = (0..<14).map { i in ([UInt8(13 - i) / 3], [UInt8]()) }
    let cost = 8 + 1 + ExternalSorter.entryCost
    let s = try check(records, budget: 2 * cost + cost / 2, fanIn: 4, background: false)
    #expect(s.runsWritten == 8)
    #expect(s.mergePasses == 1)
  }

  /// Collects `finish(parts:)`'s records, part by part.
  static func parts(_ sorter: ExternalSorter, bounds: [[UInt8]]) throws -> [[([UInt8], [UInt8])]] {
    let got = UncheckedBox([[([UInt8], [UInt8])]](repeating: [], count: bounds.count + 1))
    let lock = NSLock()
    try sorter.finish(parts: bounds) { part, k, p in
      lock.lock()
      got.value[part].append((Array(k), Array(p)))
      lock.unlock()
      return true
    }
    return got.value
  }

  @Test func partsHandOutEachKeyRangeInOrderOnThreadsOfTheirOwn() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5EED_0007))
    // In memory; spilled with one merge (runs long enough for many marks); several merge passes.
    for (budget, fanIn, count, payload) in [(1 << 22, 64, 3000, 30), (1 << 20, 64, 20_000, 200), (6000, 3, 3000, 30)] {
      let records = Self.randomRecords(&rng, count: count, alphabet: 4, maxKey: 6, maxPayload: payload)
      let want = Self.reference(records)
      // Bounds: none, equal ones, one below every key, one above every key, keys that occur.
      let boundSets: [[[UInt8]]] = [
        [], [[]], [[2]], [[1, 3], [1, 3]], [[0], [2, 1], [3, 3, 3]], [[9]],
        (0..<5).map { _ in want[rng.below(want.count)].0 }.sorted { $0.lexicographicallyPrecedes($1) },
      ]
      for bounds in boundSets {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sorter = ExternalSorter(directory: dir.path, memoryBudget: budget, maxFanIn: fanIn)
        for (k, p) in records { try sorter.add(key: k, payload: p) }
        let got = try Self.parts(sorter, bounds: bounds)
        #expect(got.count == bounds.count + 1)
        let all = got.flatMap { $0 }
        #expect(all.count == want.count)
        #expect(zip(all, want).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }, "budget \(budget), bounds \(bounds)")
        for (i, part) in got.enumerated() {
          for (k, _) in part {
            if i > 0 { #expect(!k.lexicographicallyPrecedes(bounds[i - 1])) }
            if i < bounds.count { #expect(k.lexicographicallyPrecedes(bounds[i])) }
          }
        }
        #expect(Self.files(dir).isEmpty, "temporary files left: \(Self.files(dir))")
        if budget == 1 << 20 { #expect(sorter.runsWritten > 3 && sorter.mergePasses == 0) }
        if fanIn == 3 { #expect(sorter.mergePasses > 0) }
      }
    }
  }

  @Test func aPartThatStopsOrFailsLeavesTheOthersWhole() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5EED_0008))
    let records = Self.randomRecords(&rng, count: 5000, alphabet: 4, maxKey: 6, maxPayload: 100)
    let want = Self.reference(records)
    struct Stop: Error {}
    for budget in [1 << 22, 1 << 16] {
      let dir = TestSupport.tempDirectory()
      defer { try? FileManager.default.removeItem(at: dir) }
      // Part 0 stops after one record; part 1 goes through; part 2 throws.
      let sorter = ExternalSorter(directory: dir.path, memoryBudget: budget, maxFanIn: 64)
      for (k, p) in records { try sorter.add(key: k, payload: p) }
      let got = UncheckedBox([Int](repeating: 0, count: 3))
      let lock = NSLock()
      #expect(throws: Stop.self) {
        try sorter.finish(parts: [[1], [2]]) { part, _, _ in
          lock.lock()
          got.value[part] += 1
          lock.unlock()
          if part == 2 { throw Stop() }
          return part != 0
        }
      }
      #expect(got.value[0] == 1)
      #expect(got.value[1] == want.filter { $0.0.first == 1 }.count)
      #expect(got.value[2] == 1)
      #expect(Self.files(dir).isEmpty)
    }
  }

  @Test func emptyAndSingleRecord() throws {
    _ = try check([], budget: 100, fanIn: 2)
    _ = try check([([1, 2, 3], [9])], budget: 1, fanIn: 2)
    _ = try check([([], [])], budget: 1, fanIn: 2)
    _ = try check([([], []), ([], [1]), ([0], [])], budget: 1, fanIn: 2)
  }

  @Test func recordsLargerThanTheBudgetAndTheReadBuffers() throws {
    var rng = SplitMix64(seed: 7)
    var records: [([UInt8], [UInt8])] = []
    for i in 0..<40 {
      let keyLength = i % 5 == 0 ? 9000 + rng.below(100) : rng.below(6)
      let key = (0..<keyLength).map { _ in UInt8(rng.below(3)) }
      let payload = [UInt8](repeating: UInt8(i), count: i % 3 == 0 ? 70_000 : rng.below(50))
      records.append((key, payload))
    }
    let s = try check(records, budget: 1024, fanIn: 4)
    #expect(s.runsWritten > 10)
    _ = try check(records, budget: 1024, fanIn: 4, background: false)
  }

  @Test func equalKeysKeepTheirOrder() throws {
    let records = (0..<5000).map { i in ([UInt8]("same key".utf8), withUnsafeBytes(of: UInt32(i)) { Array($0) }) }
    let s = try check(records, budget: 2000, fanIn: 5)
    #expect(s.mergePasses >= 2)
    _ = try check(records, budget: 2000, fanIn: 5, background: false)
  }

  @Test func temporaryFilesGoAwayOnEarlyStopAndWithoutFinish() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    do {
      let s = ExternalSorter(directory: dir.path, memoryBudget: 256, maxFanIn: 2, backgroundSpill: false)
      for i in 0..<500 { try s.add(key: [UInt8(i % 7)], payload: [UInt8(i % 256)]) }
      #expect(!Self.files(dir).isEmpty)
      #expect(s.temporaryFiles.count == Self.files(dir).count)
      var seen = 0
      try s.finish { _, _ in
        seen += 1
        return seen < 10
      }
      #expect(seen == 10)
      #expect(Self.files(dir).isEmpty)
      #expect(throws: ExternalSortError.self) { try s.add(key: [1], payload: []) }
      #expect(throws: ExternalSortError.self) { try s.finish { _, _ in true } }
    }
    do {
      let s = ExternalSorter(directory: dir.path, memoryBudget: 256, maxFanIn: 2)
      for i in 0..<500 { try s.add(key: [UInt8(i % 7)], payload: []) }
      #expect(!Self.files(dir).isEmpty)
    }
    #expect(Self.files(dir).isEmpty, "deinit leaves \(Self.files(dir))")
    do {
      // Dropped while a run is being written on the second thread.
      let s = ExternalSorter(directory: dir.path, memoryBudget: 1 << 16, maxFanIn: 2)
      let payload = [UInt8](repeating: 7, count: 1000)
      for i in 0..<200 { try s.add(key: [UInt8(i % 7)], payload: payload) }
    }
    #expect(Self.files(dir).isEmpty, "deinit leaves \(Self.files(dir))")
  }

  @Test func failuresNameTheFile() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    // A directory that does not exist: the first spill fails, naming it.
    let missing = dir.path + "/missing"
    let s = ExternalSorter(directory: missing, memoryBudget: 64, maxFanIn: 2)
    do {
      for i in 0..<100 { try s.add(key: [UInt8(i)], payload: [1, 2, 3]) }
      Issue.record("no error for a missing directory")
    } catch let e as ExternalSortError {
      #expect(e.path == missing)
      #expect(e.description.contains("No such file"))
    }
    // A run cut short (as after a failed write): the merge names it and the byte offset.
    let t = ExternalSorter(directory: dir.path, memoryBudget: 64, maxFanIn: 2)
    for i in 0..<100 { try t.add(key: [UInt8(i)], payload: [1, 2, 3]) }
    let victim = t.temporaryFiles[0]
    #expect(truncate(victim, 5) == 0)
    do {
      try t.finish { _, _ in true }
      Issue.record("no error for a truncated run")
    } catch let e as ExternalSortError {
      #expect(e.path == victim)
      #expect(e.message.contains("cut short at byte 0"))
    }
    #expect(Self.files(dir).isEmpty)
    // Disk full, where the platform has /dev/full: a run written there fails with ENOSPC.
    if FileManager.default.fileExists(atPath: "/dev/full") {
      let w = try RunWriter(directory: dir.path, bufferSize: 4096) { _ in }
      defer { unlink(w.path) }
      let fd = open("/dev/full", O_WRONLY)
      #expect(fd >= 0)
      w.replaceDescriptor(fd)
      let bytes = [UInt8](repeating: 1, count: 10_000)
      do {
        try bytes.withUnsafeBytes { try w.append($0) }
        try w.closeFile()
        Issue.record("no error writing to /dev/full")
      } catch let e as ExternalSortError {
        #expect(e.path == w.path)
        #expect(e.message.contains("No space left"))
      }
    }
  }
}

/// Throughput and memory of the sort on the shape of a large shard export (1.1M records: a
/// 720-byte key and a 2 KB payload, 64 MiB budget). Only with TAGDATA_BENCH_SORT=1 (run it in a
/// release build): prints the figures and checks that memory stayed near the budget.
@Suite struct ExternalSortThroughput {
  static func peakRSSMiB() -> Double {
    peakRSS()
  }

  @Test(.enabled(if: ProcessInfo.processInfo.environment["TAGDATA_BENCH_SORT"] == "1"))
  func shardExportShape() throws {
    let n = Int(ProcessInfo.processInfo.environment["TAGDATA_BENCH_RECORDS"] ?? "") ?? 1_100_000
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var rng = SplitMix64(seed: 1)
    var key = [UInt8](repeating: UInt8(ascii: "K"), count: 720)
    key[0] = UInt8(ascii: "B")
    key[1] = UInt8(ascii: "A")
    key[2] = 0
    var payload = [UInt8](repeating: UInt8(ascii: "P"), count: 2048)
    let rss0 = Self.peakRSSMiB()
    let clock = ContinuousClock()
    let sorter = ExternalSorter(directory: dir.path)
    let t0 = clock.now
    for i in 0..<n {
      let h = rng.next()
      withUnsafeBytes(of: h.bigEndian) { b in for j in 0..<8 { key[3 + j] = b[j] } }
      withUnsafeBytes(of: UInt64(i)) { b in for j in 0..<8 { payload[j] = b[j] } }
      try sorter.add(key: key, payload: payload)
    }
    let t1 = clock.now
    var count = 0
    var last: UInt64 = 0
    var ordered = true
    try sorter.finish { k, _ in
      var h: UInt64 = 0
      for j in 0..<8 { h = h << 8 | UInt64(k[3 + j]) }
      if h < last { ordered = false }
      last = h
      count += 1
      return true
    }
    let t2 = clock.now
    let mb = Double(n * (720 + 2048 + 8)) / 1e6
    let add = (t1 - t0) / .seconds(1), merge = (t2 - t1) / .seconds(1)
    print("""
      ExternalSorter: \(n) records, \(Int(mb)) MB: add + spill \(add) s, merge \(merge) s \
      (\(Int(mb / (add + merge))) MB/s, \(Int(Double(n) / (add + merge))) records/s), \(sorter.runsWritten) runs, \
      \(sorter.mergePasses) extra passes, peak RSS \(Int(Self.peakRSSMiB())) MiB (before: \(Int(rss0)) MiB)
      """)
    #expect(count == n)
    #expect(ordered)
    #expect(Self.peakRSSMiB() - rss0 < 200)
  }
}

/// The process's peak resident set (VmHWM) in MiB; 0 where /proc is missing.
func peakRSS() -> Double {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
  else { return 0 }
  return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
}
