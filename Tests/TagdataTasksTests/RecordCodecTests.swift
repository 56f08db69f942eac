import Foundation
import TagdataIO
import TestSupport
import Testing

@testable import TagdataTasks

/// The compact records a build sorts, and the JSON lines written from them: every field read back
/// by a JSON parser equals the example's, whether long strings went into the shared table, were
/// written out (the table full), or point at an earlier segment of the record.
@Suite struct RecordCodecTests {
  static let pieces: [String] = [
    "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAXBZ",
    "CC(=O)Oc1ccccc1C(=O)O", "C[C@H](N)C(=O)O", "O=C(O)/C=C\\C(=O)O", "[Na+].[Cl-]", "say \"hi\"\\n", "tab\there",
    "line\nbreak", "nul\u{0}byte", "\u{1F}unit", "é😀\u{2028}", "", "short", "a long text without anything to escape in it",
  ]

  func randomExample(_ rng: inout SplitMix64) -> TaskExample {
    func pick() -> String { Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))] }
    let kinds: [TagLLM.Segment.Kind] = [.text, .smiles, .protein, .tag, .label]
    var segments: [TagLLM.Segment] = []
    for _ in 0..<Int(rng.next() % 9) { segments.append(.init(kinds[Int(rng.next() % 5)], pick())) }
    // Inputs and molecules that are (often) the text of a segment, as the builder makes them.
    let inputs = (0..<Int(rng.next() % 4)).map { _ in
      !segments.isEmpty && rng.next() % 2 == 0 ? segments[Int(rng.next() % UInt64(segments.count))].text : pick()
    }
    let regression = rng.next() % 2 == 0
    let target: Double? = regression ? [1e-05, 0.1, -3.5, 1234567.0, 5e300, 0][Int(rng.next() % 6)] : nil
    var e = TaskExample(task: ["BA", "QED", "Translate", "t\"x"][Int(rng.next() % 4)], stage: Int(rng.next() % 4),
                        regression: regression, key: pick(), segments: segments, inputs: inputs,
                        output: rng.next() % 3 == 0 ? nil : pick(), target: target)
    e.split = ["train", "valid", "test"][Int(rng.next() % 3)]
    e.molecules = (0..<Int(rng.next() % 3)).map { _ in inputs.isEmpty || rng.next() % 2 == 0 ? pick() : inputs[0] }
    e.proteins = (0..<Int(rng.next() % 2)).map { _ in String(repeating: "ab", count: 32) }
    if rng.next() % 2 == 0 { e.source = pick() }
    if rng.next() % 2 == 0 { e.row = Int(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64)) }
    if rng.next() % 2 == 0 { e.year = Int(rng.next() % 4000) - 1000 }
    return e
  }

  /// What a JSON parser reads of the line must be the example, field by field.
  func check(_ line: [UInt8], _ e: TaskExample, keyHash: UInt64) throws {
    let o = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
    #expect(o["task"] as? String == e.task)
    #expect(o["stage"] as? Int == e.stage)
    #expect(o["split"] as? String == e.split)
    #expect(o["regression"] as? Bool == e.regression)
    #expect((o["formulation"] as? String).map { Array($0.unicodeScalars) } == Array(e.formulation.unicodeScalars))
    let segs = try #require(o["segments"] as? [[String: String]])
    #expect(segs.map { $0["kind"] ?? "" } == e.segments.map(\.kind.rawValue))
    #expect(segs.map { Array(($0["text"] ?? "").unicodeScalars) } == e.segments.map { Array($0.text.unicodeScalars) })
    #expect((o["inputs"] as? [String]).map { $0.map { Array($0.unicodeScalars) } } == e.inputs.map { Array($0.unicodeScalars) })
    if let out = e.output {
      #expect((o["output"] as? String).map { Array($0.unicodeScalars) } == Array(out.unicodeScalars))
    } else {
      #expect(o["output"] is NSNull)
    }
    if let t = e.target { #expect((o["target"] as? NSNumber)?.doubleValue == t) } else { #expect(o["target"] is NSNull) }
    #expect(o["key"] as? String == ShardExport.hex16(keyHash))
    let ids = try #require(o["ids"] as? [String: Any])
    #expect((ids["molecules"] as? [String]).map { $0.map { Array($0.unicodeScalars) } } == e.molecules.map { Array($0.unicodeScalars) })
    #expect(ids["proteins"] as? [String] == e.proteins)
    if let s = e.source {
      #expect((ids["source"] as? String).map { Array($0.unicodeScalars) } == Array(s.unicodeScalars))
    } else {
      #expect(ids["source"] is NSNull)
    }
    if let r = e.row { #expect((ids["row"] as? NSNumber)?.int64Value == Int64(r)) } else { #expect(ids["row"] is NSNull) }
    if let y = e.year { #expect(ids["year"] as? Int == y) } else { #expect(ids["year"] is NSNull) }
  }

  @Test func compactRecordsGiveTheExamplesJSON() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5245_434F))
    // A roomy table, one that fills up after a few strings, and none.
    let tables: [RecordStrings?] = [RecordStrings(budget: 1 << 20), RecordStrings(budget: 600), nil]
    var made: [(TaskExample, [UInt8], Int)] = []
    for n in 0..<3_000 {
      let e = randomExample(&rng)
      let table = n % 3
      var record: [UInt8] = []
      RecordCodec.encode(e, keyHash: e.keyHash, strings: tables[table], to: &record)
      made.append((e, record, table))
    }
    // Rendered only once every record is made (as a build does: the table has grown meanwhile).
    for (e, record, table) in made {
      var line: [UInt8] = []
      var split = e.split
      record.withUnsafeBytes { r in
        split.withUTF8 { s in RecordCodec.render(r, split: UnsafeRawBufferPointer(s), strings: tables[table]?.view, to: &line) }
      }
      #expect(line.last == 0x0A)
      #expect(!line.dropLast().contains(0x0A), "a line holds no raw newline")
      #expect(Array(line.dropLast()) == Array(ShardExport.recordJSON(e).utf8), "the table changes no byte")
      try check(Array(line.dropLast()), e, keyHash: e.keyHash)
    }
  }

  /// The table keeps to its budget and still answers for what it holds.
  @Test func tableStaysWithinItsBudget() {
    let t = RecordStrings(budget: 10_000)
    var kept: [(Int32, String)] = []
    for k in 0..<1_000 {
      let s = String(repeating: "x", count: 20) + String(k)
      if let id = t.number(s) { kept.append((id, s)) }
    }
    #expect(!kept.isEmpty && kept.count < 1_000)
    #expect(kept.count * 100 <= 10_000)
    for (id, s) in kept {
      #expect(Array(t.text(Int(id)).bytes) == Array(s.utf8))
      #expect(t.number(s) == id, "a kept string keeps its number")
    }
  }
}

/// The builder's examples keep their key as the segments of the full template and their hashes
/// from one pass; what a caller reads or changes must be what the strings say.
@Suite struct ExampleKeyTests {
  func built() throws -> TaskExample {
    let pieces: [TagLLM.Segment] = [.init(.text, "In: "), .init(.tag, "<BA>"), .init(.protein, "MKV"), .init(.text, " is "),
                                    .init(.label, "1.5"), .init(.text, ".")]
    var e = TaskExample(task: "BA", stage: 3, regression: true, full: pieces, skipLabels: true, segments: pieces,
                        inputs: ["MKV"], output: "1.5", target: 1.5)
    e.hashes.value = ExampleHashes(ExampleHashes.Prefix(task: "BA", seed: 7), segments: pieces, regression: true)
    return e
  }

  @Test func keysAndHashesAreTheStrings() throws {
    let e = try built()
    #expect(e.key == "In: <BA>MKV is 1.5.")
    #expect(e.splitKey == "In: <BA>MKV is .")
    #expect(e.keyHash == StableHash.hash(["BA", e.key]))
    #expect(e.groupHash == StableHash.hash(["BA", "In: <BA>MKV is ."]))
    #expect(e.identityHashes == StableHash.hash2(["BA", e.key], seeds: (0, ShardExport.identitySeed)))
    let split = SeededRandomSplit(seed: 7, train: 0.8, valid: 0.1)
    #expect(split.split(e) == split.split(task: "BA", key: "In: <BA>MKV is ."))
    // Another seed: the split hash of the builder is not used.
    let other = SeededRandomSplit(seed: 8, train: 0.5, valid: 0.25)
    #expect(other.split(e) == other.split(task: "BA", key: "In: <BA>MKV is ."))
    // Equal to the same example given by its strings.
    var plain = TaskExample(task: "BA", stage: 3, regression: true, key: e.key, segments: e.segments, inputs: ["MKV"],
                            output: "1.5", target: 1.5)
    plain.splitKey = e.splitKey
    #expect(plain == e)
  }

  @Test func changingAKeyKeepsTheOtherAndDropsTheHashes() throws {
    var e = try built()
    e.key = "other"
    #expect(e.key == "other")
    #expect(e.splitKey == "In: <BA>MKV is .", "the split key stays what it was")
    #expect(e.keyHash == StableHash.hash(["BA", "other"]))
    #expect(e.groupHash == StableHash.hash(["BA", "In: <BA>MKV is ."]))
    var f = try built()
    f.splitKey = nil
    #expect(f.key == "In: <BA>MKV is 1.5.")
    #expect(f.groupHash == StableHash.hash(["BA", "In: <BA>MKV is 1.5."]))
    var g = try built()
    g.task = "QED"
    #expect(g.keyHash == StableHash.hash(["QED", "In: <BA>MKV is 1.5."]))
  }
}

/// The memo of long segments' lane states gives the hashes of one pass over the bytes, whatever
/// comes before a repeated sequence (another task, another template head, a label).
@Suite struct SegmentMemoTests {
  @Test func memoizedHashesAreTheHashes() {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x4D45_4D4F))
    // A few long strings handed over again and again (the same storage), and short ones.
    let long = (0..<5).map { k in String(repeating: "ACDEFGHIKLMNPQRSTVWY", count: 4 + k) + String(k) }
    let short = ["In: ", "<BA>", " ", ". ", "1.5", "CCO", "x"]
    let kinds: [TagLLM.Segment.Kind] = [.text, .tag, .protein, .smiles, .label]
    let memo = ExampleHashes.SegmentMemo()
    for _ in 0..<3_000 {
      var segments: [TagLLM.Segment] = []
      for _ in 0..<Int(rng.next() % 8) {
        let text = rng.next() % 2 == 0 ? long[Int(rng.next() % 5)] : short[Int(rng.next() % 7)]
        segments.append(.init(kinds[Int(rng.next() % 5)], text))
      }
      let task = ["BA", "QED"][Int(rng.next() % 2)]
      let prefix = ExampleHashes.Prefix(task: task, seed: rng.next() % 3)
      let regression = rng.next() % 2 == 0
      let a = ExampleHashes(prefix, segments: segments, regression: regression, memo: memo)
      let b = ExampleHashes(prefix, segments: segments, regression: regression)
      #expect((a.key, a.identity, a.group, a.split) == (b.key, b.identity, b.group, b.split))
      let text = segments.map(\.text).joined()
      #expect(a.key == StableHash.hash([task, text]))
      let group = segments.filter { !regression || $0.kind != .label }.map(\.text).joined()
      #expect(a.group == StableHash.hash([task, group]))
      #expect(a.split == StableHash.hash(["split", task, group], seed: prefix.seed))
    }
  }
}

/// A shard whose disk is full fails with the file's name, though another thread writes it.
@Suite struct ShardWriterFailureTests {
  @Test func fullDiskIsAnError() throws {
    guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
    for gzip in [false, true] {
      let w = try ShardWriter(path: "/dev/full", gzip: gzip)
      let line = Array(String(repeating: "x", count: 4095).utf8) + [0x0A]
      var failed: Error?
      do {
        for _ in 0..<2_000 { try line.withUnsafeBytes { try w.write($0) } }
        _ = try w.finish(sync: false)
      } catch {
        failed = error
      }
      let e = try #require(failed, "no error writing to /dev/full (gzip \(gzip))")
      #expect("\(e)".contains("/dev/full"))
    }
  }
}

/// The shard writers of a build's ranges: records in shard order land in their shards; a record
/// of a shard the writer has passed or does not hold (a damaged sort key) is an error naming the
/// directory, never a record in the wrong shard or a stopped process.
@Suite struct ShardRangeWriterTests {
  /// A sorted record as `writeShards` reads it: the key (shard, task, 0, identity) and the
  /// payload (task and split as parts, then the line).
  static func record(shard: Int, identity: UInt8, line: String) -> ([UInt8], [UInt8]) {
    var key = withUnsafeBytes(of: UInt32(shard).bigEndian) { Array($0) }
    key += Array("BA".utf8) + [0] + [UInt8](repeating: identity, count: 16)
    var payload: [UInt8] = []
    ShardExport.appendPart(&payload, Array("BA".utf8))
    ShardExport.appendPart(&payload, Array("train".utf8))
    payload += Array((line + "\n").utf8)
    return (key, payload)
  }

  func write(_ records: [([UInt8], [UInt8])], range: Range<Int>, shards: Int, in dir: String) throws -> ShardExport.WrittenShards {
    let syncs = ShardSyncs()
    defer { syncs.wait() }
    let w = ShardRangeWriter(directory: dir, shards: shards, range: range, gzip: false, sortKeys: false, strings: nil,
                             compact: false, syncs: syncs)
    for (k, p) in records {
      _ = try k.withUnsafeBytes { kb in try p.withUnsafeBytes { pb in try w.take(kb, pb) } }
    }
    return try w.finish()
  }

  @Test func recordsGoToTheirShardsAndDamagedKeysAreRefused() throws {
    let dir = TestSupport.tempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = try write([Self.record(shard: 2, identity: 1, line: "{\"a\":1}"), Self.record(shard: 2, identity: 1, line: "{\"a\":1}"),
                          Self.record(shard: 3, identity: 2, line: "{\"b\":2}")],
                         range: 2..<4, shards: 4, in: dir.path)
    #expect(good.records == [1, 1], "the repeat of an identity is dropped")
    #expect(good.duplicates["BA"] == 1)
    let text = try String(contentsOfFile: dir.path + "/" + ShardExport.shardName(3, of: 4), encoding: .utf8)
    #expect(text == "{\"b\":2}\n")
    for (bad, why) in [([Self.record(shard: 3, identity: 1, line: "x"), Self.record(shard: 2, identity: 2, line: "y")], "backwards"),
                       ([Self.record(shard: 5, identity: 1, line: "x")], "beyond the range"),
                       ([Self.record(shard: 0, identity: 1, line: "x")], "before the range")] {
      let other = TestSupport.tempDirectory()
      defer { try? FileManager.default.removeItem(at: other) }
      #expect(throws: ShardExportError.self, "\(why)") { _ = try write(bad, range: 2..<4, shards: 4, in: other.path) }
    }
  }
}

/// A row's fields by name, against a dictionary, over random sets, overwrites and removals on
/// rows narrower and wider than the point where names get an index.
@Suite struct RowFieldsTests {
  @Test func fieldsBehaveAsADictionary() {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 0x5EED_000A))
    for width in [3, 16, 17, 40] {
      var fields = Fields(), reference: [String: FieldValue] = [:]
      for step in 0..<2_000 {
        let name = "f\(rng.below(width))"
        switch rng.below(4) {
        case 0:
          fields[name] = nil
          reference[name] = nil
        case 1:
          let v = FieldValue.number(Double(step))
          fields[name] = v
          reference[name] = v
        default:
          let v = FieldValue.text("v\(step)")
          fields[name] = v
          reference[name] = v
        }
        for k in 0..<width where fields["f\(k)"] != reference["f\(k)"] {
          Issue.record("width \(width), step \(step): f\(k) is \(String(describing: fields["f\(k)"])), want \(String(describing: reference["f\(k)"]))")
          return
        }
      }
    }
    let literal: Fields = ["a": .text("x"), "b": .number(1)]
    #expect(literal["a"] == .text("x") && literal["b"] == .number(1) && literal["c"] == nil)
  }
}
