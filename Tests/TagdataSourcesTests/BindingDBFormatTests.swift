import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

/// BindingDB in the format registry: recognised from its header, a measurement format, line based.
@Suite struct BindingDBFormatTests {
  static func head(_ path: String) throws -> (ByteSource, [UInt8]) {
    let opened = try openInput(TestSupport.corpus(path).path)
    let head = try opened.source.readPrefix(InputFormat.detectionBytes)
    return (PrefixedSource(prefix: head, inner: opened.source), head)
  }

  @Test(arguments: ["bindingdb/bindingdb_2015m10_sample.tsv", "bindingdb/bindingdb_2022m5_sample.tsv",
                    "bindingdb/bindingdb_2022m5_sample.tsv.zip"])
  func theSamplesAreRecognisedAndReadThroughTheRegistry(path: String) throws {
    let (source, head) = try Self.head(path)
    let format = try InputFormat.detect(head, file: path)
    #expect(format == .bindingdb)
    #expect(format.kind == .measurement && format.resumesByOffset)
    #expect(format.proteinFormat == nil && format.moleculeFormat == nil)
    guard case let .measurements(make) = format.reader(source: source) else {
      Issue.record("not a measurement reader")
      return
    }
    let reader = try make()
    var n = 0
    while try reader.next() != nil { n += 1 }
    #expect(n == (path.contains("2015m10") ? 221 : 171))
  }

  @Test func theHeaderWinsOverOtherGuessesAndOthersStayTheirs() throws {
    // A BOM, CRLF and a 2024-style header; rows whose first cells look like CID<TAB>SMILES.
    var header = BindingDBLayouts.header2024(order: [1, 2]).joined(separator: "\t")
    header = "\u{FEFF}" + header + "\r\n"
    let rows = (0..<20).map { "\($0 + 1)\tCCO" + String(repeating: "\t", count: 60) + "\r\n" }.joined()
    #expect(try InputFormat.detect(Array((header + rows).utf8), file: "x") == .bindingdb)
    // A CID-SMILES file and a TSV that is not BindingDB are not taken for it.
    #expect(try InputFormat.detect(Array("2244\tCC(=O)Oc1ccccc1C(=O)O\n702\tCCO\n".utf8), file: "x") == .cidSmiles)
    #expect(throws: InputError.self) {
      try InputFormat.detect(Array("Drug_ID\tDrug\tTarget_ID\tTarget\tY\n1\tCCO\tP1\tMK\t5\n".utf8), file: "x")
    }
  }

  @Test func theRegistryResumesAtAByteOffset() throws {
    let bytes = Array(try Data(contentsOf: TestSupport.corpus("bindingdb/bindingdb_2022m5_sample.tsv")))
    let all = try BindingDBReader(source: MemorySource(bytes, name: "t.tsv"))
    var locations: [RecordLocation] = []
    while let e = try all.next() {
      switch e {
      case let .record(r): locations.append(r.location)
      case let .malformed(m): locations.append(m.location)
      }
    }
    let resume = locations[100]
    guard case let .measurements(make) = InputFormat.bindingdb.reader(source: MemorySource(bytes, name: "t.tsv"), resume: resume) else {
      Issue.record("not a measurement reader")
      return
    }
    let reader = try make()
    var rest: [RecordLocation] = []
    while let e = try reader.next() {
      switch e {
      case let .record(r): rest.append(r.location)
      case let .malformed(m): rest.append(m.location)
      }
    }
    #expect(rest == Array(locations[100...]))
  }
}
