import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

@Suite struct DelimitedReaderTests {
  func read(_ text: String, dialect: Dialect? = nil, maxRowBytes: Int = 1 << 20) throws
    -> (reader: DelimitedReader, events: [DelimitedEvent])
  {
    let reader = try DelimitedReader(source: MemorySource(Array(text.utf8), name: "t.csv"), dialect: dialect,
                                     maxRowBytes: maxRowBytes)
    var events: [DelimitedEvent] = []
    while let e = try reader.next() { events.append(e) }
    return (reader, events)
  }

  func rows(_ events: [DelimitedEvent]) -> [[String]] {
    events.compactMap { if case let .row(r) = $0 { return r.fields.map { String(decoding: $0, as: UTF8.self) } } else { return nil } }
  }

  func damage(_ events: [DelimitedEvent]) -> [DelimitedDamage] {
    events.compactMap { if case let .malformed(d) = $0 { return d } else { return nil } }
  }

  @Test func quotedFieldsHoldSeparatorsQuotesAndLineBreaks() throws {
    let (reader, events) = try read("id,smiles,note\r\n1,CCO,\"ethanol, \"\"plain\"\"\"\r\n2,c1ccccc1,\"two\r\nlines\"\r\n3,C,\r\n")
    #expect(reader.header == ["id", "smiles", "note"])
    #expect(rows(events) == [["1", "CCO", "ethanol, \"plain\""], ["2", "c1ccccc1", "two\nlines"], ["3", "C", ""]])
    if case let .row(r) = events[2] { #expect(r.line == 5) }
  }

  @Test func byteOrderMarkAndTabsAreRecognised() throws {
    let (reader, events) = try read("\u{FEFF}Drug_ID\tDrug\tY\nD1\tCC\"O\t5.2\n")
    #expect(reader.dialect == .tsv)
    #expect(reader.header == ["Drug_ID", "Drug", "Y"])
    // No quoting in TSV: a stray quote is an ordinary byte.
    #expect(rows(events) == [["D1", "CC\"O", "5.2"]])
  }

  @Test func wrongFieldCountsAreDamageAtTheirLine() throws {
    let (_, events) = try read("a,b\n1,2\n1,2,3\n\n4,5\n6\n")
    #expect(rows(events) == [["1", "2"], ["4", "5"]])
    let d = damage(events)
    #expect(d.map(\.line) == [3, 6])
    #expect(d.map(\.index) == [1, 3])
    #expect("\(d[0])" == "t.csv: row 2, line 3: 3 fields where the header has 2")
  }

  @Test func anUnclosedQuoteIsNamedWhereItOpens() throws {
    let (_, events) = try read("a,b\n1,2\n3,\"never\nclosed\n")
    #expect(rows(events) == [["1", "2"]])
    let d = damage(events)
    #expect(d.count == 1)
    #expect(d.first?.line == 3)
    #expect(d.first?.column == 3)
  }

  @Test func anOverlongQuotedFieldStopsAtTheLimit() throws {
    let long = String(repeating: "x", count: 100)
    let text = "a,b\n1,\"" + Array(repeating: long, count: 50).joined(separator: "\n") + "\n"
    let (_, events) = try read(text, maxRowBytes: 1000)
    let d = damage(events)
    #expect(d.count >= 1)
    #expect(d.first?.reason.contains("still open after 1000 bytes") == true)
  }

  @Test func fieldsWrittenBackAreQuotedOnlyWhenNeeded() {
    #expect(DelimitedReader.quoted(Array("CCO".utf8), dialect: .csv) == Array("CCO".utf8))
    #expect(DelimitedReader.quoted(Array("a,\"b\"".utf8), dialect: .csv) == Array("\"a,\"\"b\"\"\"".utf8))
    #expect(DelimitedReader.quoted(Array("a,b".utf8), dialect: .tsv) == Array("a,b".utf8))
  }

  /// Python's csv module (RFC 4180 with minimal quoting) writes random tables; we read them back.
  @Test func readsWhatPythonsCSVWriterWrites() throws {
    guard let python = TestSupport.python else {
      #expect(!TestSupport.interopRequired, "no Python venv")
      return
    }
    let dir = TestSupport.tempDirectory()
    let script = """
      import csv, json, random, sys
      rng = random.Random(int(sys.argv[1]))
      alphabet = 'ab,"\\n\\r\\t x1=#\\u00e9'
      rows = [[''.join(rng.choice(alphabet) for _ in range(rng.randrange(0, 8))) for _ in range(4)] for _ in range(300)]
      rows = [[f.replace('\\r', '') for f in r] for r in rows]
      with open(sys.argv[2], 'w', newline='', encoding='utf-8') as f:
          w = csv.writer(f, lineterminator='\\r\\n')
          w.writerow(['c1', 'c2', 'c3', 'c4'])
          w.writerows(rows)
      json.dump(rows, open(sys.argv[3], 'w'))
      """
    let seed = 20261205
    let csvPath = dir.appendingPathComponent("t.csv").path
    let jsonPath = dir.appendingPathComponent("t.json").path
    let r = try TestSupport.run(python, ["-c", script, "\(seed)", csvPath, jsonPath])
    #expect(r.status == 0, "\(r.stderr)")
    let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath))) as! [[String]]
    let reader = try DelimitedReader(source: try openInput(csvPath).source, dialect: .csv)
    var got: [[String]] = []
    while let e = try reader.next() {
      switch e {
      case let .row(row): got.append(row.fields.map { String(decoding: $0, as: UTF8.self) })
      case let .malformed(d): Issue.record("seed \(seed): \(d)")
      }
    }
    // A row of four empty fields is written as ",,," and read back as such; Python writes an
    // all-empty single field as '""', which is not our case with four columns.
    #expect(got == expected, "seed \(seed)")
  }

  /// A row longer than the limit without quotes is one damaged row, passed over unbuffered; the
  /// rows around it are read (it ended the whole table before).
  @Test func anOverlongRowIsOneDamagedRow() throws {
    let text = "a,b\n1,2\n" + String(repeating: "x", count: 1_000_000) + ",y\n3,4\n"
    let (_, events) = try read(text, maxRowBytes: 1000)
    #expect(rows(events).map { $0.joined(separator: ",").prefix(20) } == ["1,2", "3,4"])
    let d = damage(events)
    #expect(d.count == 1 && d.first?.line == 3 && d.first?.reason == "row longer than 1000 bytes", "\(d.map(\.reason))")
  }

  /// Hostile input: random bytes and every cut of a real table give rows and damage, never a
  /// crash, a hang or a lost line: each line that is not empty is part of a row or of the damage.
  @Test func randomBytesAndCutsAreReadWithoutLoss() throws {
    let seed = ProcessInfo.processInfo.environment["TAGDATA_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0xC5F
    print("DelimitedReaderTests seed \(seed) (TAGDATA_FUZZ_SEED)")
    var rng = SplitMix64(seed: seed)
    let alphabet = Array("ab,\"\n\r\t x1".utf8)
    for round in 0..<200 {
      var bytes = Array("h1,h2,h3\n".utf8)
      for _ in 0..<Int(rng.next() % 400) {
        bytes.append(rng.next() % 5 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))])
      }
      let reader = try DelimitedReader(source: MemorySource(bytes, name: "r.csv"), dialect: .csv, maxRowBytes: 64)
      var seen = 0
      while let e = try reader.next() {
        switch e {
        case let .row(r): #expect(r.fields.count == 3, "seed \(seed) round \(round)")
        case let .malformed(d): #expect(!d.reason.isEmpty)
        }
        seen += 1
        #expect(seen <= bytes.count, "seed \(seed) round \(round): more events than bytes")
      }
    }
    let table = "id,smiles,note\r\n1,CCO,\"a, \"\"b\"\"\"\r\n2,c1ccccc1,\"two\nlines\"\r\n3,C,x\r\n"
    let full = Array(table.utf8)
    for cut in 16..<full.count {
      let reader = try DelimitedReader(source: MemorySource(Array(full[..<cut]), name: "cut.csv"))
      var rowsRead: [[String]] = []
      var damaged = 0
      while let e = try reader.next() {
        switch e {
        case let .row(r): rowsRead.append(r.fields.map { String(decoding: $0, as: UTF8.self) })
        case .malformed: damaged += 1
        }
      }
      // Whatever the cut, the complete rows before it are read exactly.
      let complete = [["1", "CCO", "a, \"b\""], ["2", "c1ccccc1", "two\nlines"], ["3", "C", "x"]]
      let before = String(decoding: full[..<cut], as: UTF8.self).components(separatedBy: "\r\n").count - 2
      #expect(Array(rowsRead.prefix(max(0, before))) == Array(complete.prefix(max(0, before))), "cut at \(cut)")
      #expect(rowsRead.count + damaged >= max(0, before), "cut at \(cut)")
    }
  }
}
