import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing
@testable import TagdataChem

/// Mutated real molfiles and SD files (truncated, lines dropped, duplicated or swapped, bytes
/// replaced by random ones including non-UTF-8, counts and atom numbers out of range, junk
/// inserted) never crash or hang the SDF reader, the molfile parser or the canonical writer:
/// each record is read or rejected with an error.
@Suite struct MolfileFuzzTests {
  static func seeds() throws -> [[UInt8]] {
    var out: [[UInt8]] = []
    let files = ["pubchem/sdf/pubchem.200.sdf", "pubchem/sdf/pubchem_stereo_test.sdf", "pubchem/mdl_other/outNCI_arom.sdf",
                 "pubchem/mdl_other/chebi_15469.v3k.mol", "pubchem/mdl_other/github88.v3k.sdf", "pubchem/mdl_other/precision.v3k.mol",
                 "pubchem/mdl_other/v3k.1.mol", "pubchem/sdf/pubchem_paracetamol.mol"]
    for f in files {
      let text = Array(try Data(contentsOf: TestSupport.corpus(f)))
      // Split into records after each "$$$$\n"; keep at most 40 per file.
      var start = 0
      var records = 0
      var i = 0
      while i < text.count && records < 40 {
        if text[i] == 0x24, i + 4 < text.count, text[i...].starts(with: Array("$$$$\n".utf8)) {
          out.append(Array(text[start..<(i + 5)]))
          start = i + 5
          records += 1
          i += 5
          continue
        }
        i += 1
      }
      if records == 0 { out.append(text) }
    }
    return out
  }

  static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
    for _ in 0..<(1 + rng.below(3)) {
      guard !lines.isEmpty else { break }
      let k = rng.below(lines.count)
      switch rng.below(9) {
      case 0: lines.removeSubrange(k...)  // truncation
      case 1: lines.remove(at: k)
      case 2: lines.insert(lines[k], at: k)
      case 3: lines.swapAt(k, rng.below(lines.count))
      case 4 where !lines[k].isEmpty: lines[k][rng.below(lines[k].count)] = UInt8(rng.below(256))
      case 5 where !lines[k].isEmpty:  // a digit somewhere becomes another (counts, atom numbers, types)
        let j = rng.below(lines[k].count)
        lines[k][j] = UInt8(ascii: "0") + UInt8(rng.below(10))
      case 6: lines.insert(Array("M  CHG  2   1  -9 999   4".utf8), at: k)
      case 7 where lines.count > 3: lines[3] = Array(String(format: "%3d%3d  0  0  0  0  0  0  0  0999 V2000", rng.below(1000), rng.below(1000)).utf8)
      default: lines.insert((0..<rng.below(120)).map { _ in UInt8(rng.below(256)) }, at: k)
      }
    }
    return Array(lines.joined(separator: [0x0A]))
  }

  @Test func mutatedMolfilesNeverCrashOrHang() throws {
    let seeds = try Self.seeds()
    #expect(seeds.count >= 100)
    let iterations = Int(ProcessInfo.processInfo.environment["TAGDATA_FUZZ_ITERATIONS"] ?? "").map { $0 / 10 } ?? 10_000
    let seed = TestSupport.fuzzSeed(default: 20261122)
    var rng = SplitMix64(seed: seed)
    var read = 0, rejected = 0
    let writer = SmilesWriter()
    let started = Date()
    for _ in 0..<iterations {
      let input = Self.mutate(seeds[rng.below(seeds.count)], &rng)
      let reader = SDFReader(lines: LineReader(MemorySource(input)))
      var records = 0
      while let record = try reader.next() {
        records += 1
        do {
          let mol = try Molfile.read(block: record.molfile).molecule
          _ = writer.write(mol)
          read += 1
        } catch {
          rejected += 1
          #expect(!error.message.isEmpty)
        }
        #expect(records < 100_000)
      }
    }
    print("mutated molfiles: \(iterations) inputs, \(read) records read, \(rejected) rejected")
    // Both outcomes are exercised: mutations that leave a readable molecule and ones that do not.
    #expect(read > iterations / 20 && rejected > iterations / 20)
    #expect(Date().timeIntervalSince(started) < Double(iterations) / 10_000 * 300)
  }
}
