import Foundation
import TagdataIO
import TestSupport
import Testing
@testable import TagdataSources

/// Every molecule event of some bytes, read with the reader their content calls for.
func moleculeEvents(_ bytes: [UInt8], name: String = "mem", maxRecordBytes: Int? = nil) throws -> [MoleculeEvent] {
  let source = MemorySource(bytes, name: name)
  let head = try source.readPrefix(4096)
  guard let format = MoleculeFormat.detect(head) else { return [] }
  let reader = try makeMoleculeReader(format: format, source: PrefixedSource(prefix: head, inner: source),
                                      limits: ReaderLimits(maxRecordBytes: maxRecordBytes ?? ReaderLimits().maxRecordBytes))
  var out: [MoleculeEvent] = []
  while let e = try reader.next() { out.append(e) }
  return out
}

func proteinEvents(_ bytes: [UInt8], name: String = "mem", maxRecordBytes: Int? = nil) throws -> [ReadEvent] {
  let source = MemorySource(bytes, name: name)
  let head = try source.readPrefix(4096)
  guard let format = ProteinFormat.detect(head) else { return [] }
  let reader = try makeProteinReader(format: format, source: PrefixedSource(prefix: head, inner: source),
                                     limits: ReaderLimits(maxRecordBytes: maxRecordBytes ?? ReaderLimits().maxRecordBytes))
  var out: [ReadEvent] = []
  while let e = try reader.next() { out.append(e) }
  return out
}

func corpusBytes(_ file: String) throws -> [UInt8] { Array(try Data(contentsOf: TestSupport.corpus(file))) }

extension ReadEvent {
  var malformed: MalformedRecord? { if case let .malformed(m) = self { return m } else { return nil } }
  var record: ProteinRecord? { if case let .record(r) = self { return r } else { return nil } }
}

extension MoleculeEvent {
  var malformed: MalformedRecord? { if case let .malformed(m) = self { return m } else { return nil } }
  var record: MoleculeRecord? { if case let .record(r) = self { return r } else { return nil } }
}

let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

@Suite struct ByteOrderMarkTests {
  /// A file that starts with a UTF-8 byte-order mark reads exactly like the file without it.
  @Test(arguments: ["uniprot/flat/multi_ex.txt", "uniprot/fasta/multi_ex.fasta", "uniprot/xml/multi_ex.xml"])
  func proteinFiles(file: String) throws {
    let plain = try proteinEvents(try corpusBytes(file))
    let marked = try proteinEvents(bom + (try corpusBytes(file)))
    #expect(plain.count == marked.count && !plain.isEmpty)
    #expect(marked.allSatisfy { $0.malformed == nil }, "\(marked.compactMap(\.malformed))")
    #expect(plain.first?.record?.accession == marked.first?.record?.accession)
  }

  @Test(arguments: ["pubchem/sdf/pubchem.200.sdf", "pubchem/asn/list.asn", "pubchem/xml/taxols.xml"])
  func moleculeFiles(file: String) throws {
    let plain = try moleculeEvents(try corpusBytes(file))
    let marked = try moleculeEvents(bom + (try corpusBytes(file)))
    #expect(plain.count == marked.count && !plain.isEmpty)
    #expect(plain.filter { $0.malformed != nil }.count == marked.filter { $0.malformed != nil }.count)
    #expect(plain.first?.record?.cid == marked.first?.record?.cid)
  }

  @Test func cidSmiles() throws {
    let events = try moleculeEvents(bom + Array("1\tCCO\n2\tCCN\n".utf8))
    #expect(events.count == 2 && events.allSatisfy { $0.malformed == nil })
    #expect(events.first?.record?.cid == 1)
  }

  /// The mark is dropped only at the very start of the stream.
  @Test func onlyAtTheStart() throws {
    let lines = LineReader(MemorySource(bom + Array("a\n".utf8) + bom + Array("b\n".utf8), name: "m"))
    #expect(try lines.nextLine().map { Array($0) } == Array("a".utf8))
    #expect(try lines.nextLine().map { Array($0) } == bom + Array("b".utf8))
    #expect(lines.lineOffset == 5)
  }
}

@Suite struct ASNStringTests {
  /// PubChem wraps long strings at the line end; the line end is not part of the string.
  @Test func wrappedInChIIsJoined() throws {
    for file in ["pubchem/asn/cid1.asn", "pubchem/asn/list.asn"] {
      let events = try moleculeEvents(try corpusBytes(file))
      let inchis = events.compactMap { $0.record?.inchi }
      #expect(!inchis.isEmpty)
      for inchi in inchis {
        #expect(!inchi.contains("\n") && !inchi.contains("\r"), "\(file): \(inchi)")
      }
      #expect(inchis.contains("InChI=1/C9H17NO4/c1-7(11)14-8(5-9(12)13)6-10(2,3)4/h8H,5-6H2,1-4H3"), "\(inchis)")
    }
  }

  @Test func blanksAroundTheLineEndAndDoubledQuotes() throws {
    let text = "{ props { { urn { label \"x\" }, value sval \"ab  \r\n  cd\"\"e\n\nf\" } } }"
    let c = PubChemASNReader.compound(try ASNValue.parse(ASNTokenizer(MemorySource(Array(text.utf8), name: "m"))))
    #expect(c.props.first?.value == "abcd\"ef")
  }
}

/// Lines of a shipped file, and the file back from lines.
func corpusLines(_ file: String) throws -> [String] {
  String(decoding: try corpusBytes(file), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
}
func joined(_ lines: [String]) -> [UInt8] { Array(lines.joined(separator: "\n").utf8) }

@Suite struct SDFSplitTests {
  /// The index of the k-th (0-based) `$$$$` line.
  func delimiter(_ lines: [String], _ k: Int) -> Int { lines.indices.filter { lines[$0] == "$$$$" }[k] }

  /// A missing `$$$$` does not swallow the next record: both are read, with their own data.
  @Test func missingDelimiterSplitsTheRecords() throws {
    let lines = try corpusLines("pubchem/sdf/pubchem.200.sdf")
    let plain = try moleculeEvents(joined(lines))
    var cut = lines
    cut.remove(at: delimiter(lines, 1))
    let events = try moleculeEvents(joined(cut))
    #expect(events.count == plain.count && plain.count == 200)
    #expect(events.compactMap(\.malformed).isEmpty, "\(events.compactMap(\.malformed))")
    #expect(events.map(\.record?.cid) == plain.map(\.record?.cid))
    #expect(events[2].location.line == plain[2].location.line - 1 && events[2].location.offset == plain[2].location.offset - 5)
  }

  /// No `$$$$` and no blank line after the last data value either.
  @Test func missingDelimiterAndBlankLine() throws {
    let lines = try corpusLines("pubchem/sdf/pubchem.200.sdf")
    var cut = lines
    let d = delimiter(lines, 0)
    cut.removeSubrange((d - 1)...d)
    let events = try moleculeEvents(joined(cut))
    #expect(events.count == 200 && events.compactMap(\.malformed).isEmpty)
    #expect(events[0].record?.cid == 6603170 && events[1].record?.cid == 6602966)
  }

  /// A molfile without `M  END` and without `$$$$`: that record is malformed, named at the line
  /// where the next begins; the next is read.
  @Test func missingEndAndDelimiter() throws {
    let lines = try corpusLines("pubchem/sdf/pubchem.200.sdf")
    var cut = lines
    let d = delimiter(lines, 0)
    let end = lines[..<d].lastIndex(of: "M  END")!
    cut.removeSubrange(end...d)
    let events = try moleculeEvents(joined(cut))
    #expect(events.count == 200)
    let bad = events[0].malformed
    #expect(bad?.line == end + 1, "\(String(describing: bad))")
    #expect(bad?.reason.contains("M  END") == true)
    #expect(events[1].record?.cid == 6602966)
    #expect(events.dropFirst().allSatisfy { $0.malformed == nil })
  }

  /// Data items right after the bonds: the molfile lacks `M  END`.
  @Test func dataItemWithoutEnd() throws {
    let lines = try corpusLines("pubchem/sdf/pubchem.200.sdf")
    var cut = lines
    let end = lines.firstIndex(of: "M  END")!
    cut.remove(at: end)
    let events = try moleculeEvents(joined(cut))
    #expect(events.count == 200)
    #expect(events[0].malformed?.line == end + 1, "\(events[0])")
    #expect(events[1].record?.cid == 6602966)
  }

  /// A second `M  END` that cannot be split off is never merged silently.
  @Test func secondEndIsMalformed() throws {
    let lines = try corpusLines("pubchem/sdf/pubchem.200.sdf")
    var cut = lines
    let d = delimiter(lines, 0)
    cut.insert("M  END", at: d)
    let events = try moleculeEvents(joined(cut))
    #expect(events.count == 200)
    #expect(events[0].malformed?.line == d + 1, "\(events[0])")
  }

  /// A record over the size limit is skipped to its `$$$$` and named with the limit and line.
  @Test func giantRecordIsSkipped() throws {
    // The shipped molfile ends with its own `$$$$`, dropped here.
    let mol = try corpusLines("pubchem/sdf/pubchem_paracetamol.mol").prefix { $0 != "$$$$" }.joined(separator: "\n")
      .trimmingCharacters(in: .newlines) + "\n\n"
    let big = String(repeating: String(repeating: "y", count: 79) + "\n", count: 2000)
    let text = mol + "$$$$\n" + mol + "> <BIG>\n" + big + "\n$$$$\n" + mol + "$$$$\n"
    let events = try moleculeEvents(Array(text.utf8), maxRecordBytes: 50_000)
    #expect(events.count == 3, "\(events)")
    guard events.count == 3 else { return }
    #expect(events[0].record != nil && events[2].record != nil)
    let m = events[1].malformed
    #expect(m?.reason.contains("50000") == true && m?.reason.contains("line") == true, "\(String(describing: m))")
    #expect((m?.line ?? 0) > events[1].location.line)
  }

  /// `$$$$` right after `$$$$` is an empty record, not the end of the file.
  @Test func emptyRecordIsNotTheEnd() throws {
    let mol = try corpusLines("pubchem/sdf/pubchem_paracetamol.mol").joined(separator: "\n")
    let events = try moleculeEvents(Array((mol + "$$$$\n" + mol).utf8))
    #expect(events.count == 2 && events.allSatisfy { $0.record != nil })
  }
}

@Suite struct SwissProtCRC32Tests {
  /// N33_HUMAN (Q13454) as Swiss-Prot release 38 printed it (1999): old ID line and a CRC32.
  static let entry = """
    ID   N33_HUMAN      STANDARD;      PRT;   348 AA.
    AC   Q13454; Q14911; Q14912;
    DT   15-JUL-1999 (Rel. 38, Created)
    DE   N33 PROTEIN.
    GN   N33.
    OS   Homo sapiens (Human).
    OC   Eukaryota; Metazoa; Chordata; Craniata; Vertebrata; Mammalia;
    OC   Eutheria; Primates; Catarrhini; Hominidae; Homo.
    KW   Transmembrane; Alternative splicing.
    SQ   SEQUENCE   348 AA;  39676 MW;  75818910 CRC32;
         MGARGAPSRR RQAGRRLRYL PTGSFPFLLL LLLLCIQLGG GQKKKENLLA EKVEQLMEWS
         SRRSIFRMNG DKFRKFIKAP PRNYSMIVMF TALQPQRQCS VCRQANEEYQ ILANSWRYSS
         AFCNKLFFSM VDYDEGTDVF QQLNMNSAPT FMHFPPKGRP KRADTFDLQR IGFAAEQLAK
         WIADRTDVHI RVFRPPNYSG TIALALLVSL VGGLLYLRRN NLEFIYNKTG WAMVSLCIVF
         AMTSGQMWNH IRGPPYAHKN PHNGQVSYIH GSSQAQFVAE SHIILVLNAA ITMGMVLLNE
         AATSKGDVGK RRIICLVGLG LVVFFFSFLL SIFRSKYHGY PYSDLDFE
    //

    """

  @Test func oldEntryIsRead() throws {
    let events = try proteinEvents(Array(Self.entry.utf8))
    guard let r = events.first?.record else {
      Issue.record("not read: \(events)")
      return
    }
    #expect(r.accession == "Q13454" && r.reviewed == true && r.declaredLength == 348 && r.declaredMass == 39676)
    #expect(r.declaredCRC32 == 0x7581_8910 && r.declaredCRC64 == nil && r.checksumKind == .crc32)
    #expect(r.checksumLine == 10)
    // The declared value is the complement of zlib's CRC-32 of the residues.
    #expect(r.sequence.withUnsafeBufferPointer { SwissProtCRC32.checksum($0) } == 0x7581_8910)
    #expect(SwissProtCRC32.hex(0x0E7A_4E3D) == "0E7A4E3D")
  }

  @Test func currentEntryKeepsCRC64() throws {
    let r = try proteinEvents(try corpusBytes("uniprot/flat/P60137.txt")).first?.record
    #expect(r?.checksumKind == .crc64 && r?.declaredCRC32 == nil && (r?.checksumLine ?? 0) > 1)
  }
}

@Suite struct DamageLineTests {
  /// A bad SQ line far into an entry is named at its own line and column, not the entry's first.
  @Test func badSQLineIsNamedWhereItIs() throws {
    let lines = try corpusLines("uniprot/flat/P04439.txt")
    let sq = lines.firstIndex { $0.hasPrefix("SQ   ") }!
    var bad = lines
    bad[sq] = bad[sq].replacingOccurrences(of: "CRC64;", with: "CRC99;")
    let m = try proteinEvents(joined(bad)).first?.malformed
    #expect(m?.line == sq + 1, "\(String(describing: m))")
    #expect(m?.reason.contains("line \(sq + 1), column") == true, "\(String(describing: m))")
    #expect(sq > 100)
  }

  @Test func lengthMismatchIsNamedAtTheSQLine() throws {
    let lines = try corpusLines("uniprot/flat/P04439.txt")
    let sq = lines.firstIndex { $0.hasPrefix("SQ   ") }!
    var bad = lines
    bad[0] = bad[0].replacingOccurrences(of: " 365 AA.", with: " 366 AA.")
    let m = try proteinEvents(joined(bad)).first?.malformed
    #expect(m?.line == sq + 1, "\(String(describing: m))")
  }

  @Test func sdfCIDIsNamedAtItsLine() throws {
    var lines = try corpusLines("pubchem/sdf/pubchem.200.sdf")
    let tag = lines.firstIndex { $0.contains("<PUBCHEM_COMPOUND_CID>") }!
    lines[tag + 1] = "abc"
    let m = try moleculeEvents(joined(lines)).first?.malformed
    #expect(m?.line == tag + 2 && m?.reason.contains("line \(tag + 2)") == true, "\(String(describing: m))")
  }

  @Test func cidSmilesNamesTheLine() throws {
    let events = try moleculeEvents(Array("1\tCCO\n2\tCCN\nx2\tCC\n4\tC\n".utf8))
    #expect(events[2].malformed?.line == 3 && events[2].malformed?.reason.contains("line 3, column 1") == true)
  }
}

@Suite struct XMLRecordDamageTests {
  /// multi_ex.xml with `edit` applied to the text of its second entry.
  func damagedSecondEntry(_ edit: (String) -> String) throws -> (events: [ReadEvent], entryLine: Int) {
    let lines = try corpusLines("uniprot/xml/multi_ex.xml")
    let starts = lines.indices.filter { lines[$0].hasPrefix("<entry") }
    let second = starts[1], third = starts[2]
    var out = Array(lines[..<second])
    out.append(edit(lines[second..<third].joined(separator: "\n")))
    out += lines[third...]
    return (try proteinEvents(Array(out.joined(separator: "\n").utf8)), second + 1)
  }

  /// A Latin-1 byte inside one entry loses that entry only.
  @Test func latin1ByteLosesOneEntry() throws {
    let plain = try proteinEvents(try corpusBytes("uniprot/xml/multi_ex.xml"))
    let lines = try corpusLines("uniprot/xml/multi_ex.xml")
    let starts = lines.indices.filter { lines[$0].hasPrefix("<entry") }
    var bytes: [UInt8] = []
    var badLine = 0
    for (k, l) in lines.enumerated() {
      if k > 0 { bytes.append(0x0A) }
      if badLine == 0, k > starts[1], l.contains("<fullName>") {
        // "é" in Latin-1: one byte 0xE9, not UTF-8.
        bytes += Array(l.replacingOccurrences(of: "<fullName>", with: "<fullName>Caf").utf8)
        let at = bytes.lastIndex(of: UInt8(ascii: "f"))!
        bytes.insert(0xE9, at: at + 1)
        badLine = k + 1
      } else {
        bytes += Array(l.utf8)
      }
    }
    let events = try proteinEvents(bytes)
    #expect(events.count == plain.count && plain.count == 8)
    let bad = events.compactMap(\.malformed)
    #expect(bad.count == 1 && bad.first?.location.line == starts[1] + 1, "\(bad)")
    #expect(bad.first?.line == badLine, "\(bad)")
    #expect(bad.first?.reason.contains("at line \(badLine), column") == true, "\(bad)")
    #expect(events.compactMap(\.record?.accession) == plain.enumerated().filter { $0.offset != 1 }.compactMap(\.element.record?.accession))
  }

  /// 200 000 nested elements inside an entry: that entry is malformed, fast; the others are read.
  @Test func deepNestingIsCapped() throws {
    let started = Date()
    let (events, entryLine) = try damagedSecondEntry {
      $0.replacingOccurrences(of: "</entry>", with: String(repeating: "<a>", count: 200_000) + String(repeating: "</a>", count: 200_000) + "</entry>")
    }
    #expect(Date().timeIntervalSince(started) < 10)
    #expect(events.count == 8)
    let bad = events.compactMap(\.malformed)
    #expect(bad.count == 1 && bad.first?.location.line == entryLine && bad.first?.reason.contains("deeper") == true, "\(bad)")
  }

  /// An entry without its end tag is malformed; the next entry is read.
  @Test func missingEndTag() throws {
    let (events, entryLine) = try damagedSecondEntry { $0.replacingOccurrences(of: "</entry>", with: "") }
    #expect(events.count == 8)
    let bad = events.compactMap(\.malformed)
    #expect(bad.count == 1 && bad.first?.location.line == entryLine, "\(bad)")
  }

  /// An entry over the record limit is passed over and named with the limit.
  @Test func giantEntry() throws {
    // Under the limit, every entry is read.
    let plain = try proteinEvents(try corpusBytes("uniprot/xml/multi_ex.xml"), maxRecordBytes: 200_000)
    #expect(plain.count == 8 && plain.allSatisfy { $0.record != nil })
    let (events, entryLine) = try damagedSecondEntry {
      $0.replacingOccurrences(of: "</entry>", with: "<comment type=\"x\"><text>" + String(repeating: "z", count: 300_000)
        + "</text></comment></entry>")
    }
    _ = events
    let lines = try corpusLines("uniprot/xml/multi_ex.xml")
    let starts = lines.indices.filter { lines[$0].hasPrefix("<entry") }
    var out = lines
    out.insert("<comment type=\"x\"><text>" + String(repeating: "z", count: 300_000) + "</text></comment>", at: starts[2] - 1)
    let big = try proteinEvents(Array(out.joined(separator: "\n").utf8), maxRecordBytes: 200_000)
    #expect(big.count == 8)
    let bad = big.compactMap(\.malformed)
    #expect(bad.count == 1 && bad.first?.location.line == entryLine && bad.first?.reason.contains("200000") == true, "\(bad)")
    #expect((bad.first?.line ?? 0) > entryLine)
  }
}

@Suite struct PubChemRecordDamageTests {
  func cids(_ events: [MoleculeEvent]) -> [Int] { events.compactMap(\.record?.cid) }

  /// `edit` applied to the lines of a shipped file.
  func edited(_ file: String, maxRecordBytes: Int? = nil, _ edit: (inout [String]) -> Void) throws -> [MoleculeEvent] {
    var lines = try corpusLines(file)
    edit(&lines)
    return try moleculeEvents(joined(lines), maxRecordBytes: maxRecordBytes)
  }

  /// A Latin-1 byte, or 200 000 nested elements, inside one compound of PubChem XML lose that
  /// compound only.
  @Test func xmlCompoundDamage() throws {
    let plain = try moleculeEvents(try corpusBytes("pubchem/xml/taxols.xml"))
    let lines = try corpusLines("pubchem/xml/taxols.xml")
    // The compound of the second record (some compounds are bare references, not records).
    let second = plain.compactMap(\.record)[1].location.line - 1
    #expect(lines[second].contains("<PC-Compound>"))
    // "é" in Latin-1 (one byte, 0xE9, not UTF-8) as text inside the compound.
    let label = second + 1
    var bytes = joined(Array(lines[...label])) + [UInt8(ascii: "x"), 0xE9, 0x0A]
    bytes += joined(Array(lines[(label + 1)...]))
    let latin1 = try moleculeEvents(bytes)
    #expect(latin1.count == plain.count)
    let bad = latin1.compactMap(\.malformed).filter { m in
      !plain.contains { $0.malformed?.location.line == m.location.line && $0.malformed?.reason == m.reason }
    }
    // libxml2 names the line of the bad byte, or the next when the byte ends its line.
    #expect(bad.count == 1 && abs((bad.first?.line ?? 0) - (label + 1)) <= 1 && bad.first?.location.line == second + 1,
            "\(bad) \(second)")
    #expect(Set(cids(plain)).subtracting(cids(latin1)).count <= 1 && cids(latin1).count >= cids(plain).count - 1)

    let started = Date()
    let deep = try edited("pubchem/xml/taxols.xml") {
      $0.insert(String(repeating: "<x>", count: 200_000) + String(repeating: "</x>", count: 200_000), at: second + 1)
    }
    #expect(Date().timeIntervalSince(started) < 10)
    #expect(deep.count == plain.count)
    let deepBad = deep.compactMap(\.malformed).filter { m in
      !plain.contains { $0.malformed?.location.index == m.location.index && $0.malformed?.reason == m.reason }
    }
    #expect(deepBad.count == 1 && deepBad.first?.location.line == second + 1 && deepBad.first?.reason.contains("deeper") == true,
            "\(deepBad)")
  }

  /// Two compounds in a `PC-Compounds` list, made of cid1.asn; `first` edits the first one.
  func compoundList(_ first: (String) -> String) throws -> [UInt8] {
    let text = String(decoding: try corpusBytes("pubchem/asn/cid1.asn"), as: UTF8.self)
    let value = String(text[text.range(of: "::=")!.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
    return Array(("PC-Compounds ::= {\n" + first(value) + ",\n" + value + "\n}\n").utf8)
  }

  /// Deep nesting inside one compound of a PubChem ASN.1 list loses that compound only.
  @Test func asnDeepNesting() throws {
    #expect(try moleculeEvents(try compoundList { $0 }).map(\.record?.cid) == [1, 1])
    let started = Date()
    let deep = try moleculeEvents(try compoundList {
      "{\n" + String(repeating: "{", count: 200_000) + String(repeating: "}", count: 200_000) + ",\n" + $0.dropFirst()
    })
    #expect(Date().timeIntervalSince(started) < 10)
    #expect(deep.count == 2)
    let bad = deep.first?.malformed
    #expect(bad?.location.line == 2 && bad?.line == 3 && bad?.reason.contains("deeper") == true, "\(String(describing: bad))")
    #expect(deep.last?.record?.cid == 1)
  }

  @Test func asnGiantRecord() throws {
    let giant = try moleculeEvents(try compoundList {
      "{\n  comment \"" + String(repeating: "z", count: 300_000) + "\",\n" + $0.dropFirst()
    }, maxRecordBytes: 200_000)
    #expect(giant.count == 2)
    let bad = giant.first?.malformed
    #expect(bad?.location.line == 2 && bad?.reason.contains("200000") == true, "\(String(describing: bad))")
    #expect(giant.last?.record?.cid == 1)
  }
}

@Suite struct RecordLimitTests {
  /// A record over the limit between two good ones: malformed, named with the limit and the line
  /// where it passed it; its neighbours are read.
  @Test func fasta() throws {
    let text = ">a\nMKTAYIAK\n>giant\n" + String(repeating: String(repeating: "A", count: 60) + "\n", count: 2000) + ">b\nMKTAYIAKQR\n"
    let events = try proteinEvents(Array(text.utf8), maxRecordBytes: 50_000)
    #expect(events.count == 3 && events[0].record?.label == "a" && events[2].record?.label == "b")
    let m = events[1].malformed
    #expect(m?.reason.contains("50000") == true && m?.location.line == 3 && (m?.line ?? 0) > 800, "\(String(describing: m))")
  }

  @Test func fastaOneLongLine() throws {
    let text = ">a\nMKTAYIAK\n>giant\n" + String(repeating: "A", count: 200_000) + "\n>b\nMKTAYIAKQR\n"
    let events = try proteinEvents(Array(text.utf8), maxRecordBytes: 50_000)
    #expect(events.count == 3 && events[1].malformed?.line == 4 && events[2].record?.label == "b")
  }

  @Test func flat() throws {
    let entry = String(decoding: try corpusBytes("uniprot/flat/P60137.txt"), as: UTF8.self)
    let sq = entry.range(of: "SQ   ")!.lowerBound
    let giant = entry[..<sq].replacingOccurrences(of: "P60137", with: "Q00001")
      + String(repeating: "CC   " + String(repeating: "x", count: 74) + "\n", count: 2000) + entry[sq...]
    let events = try proteinEvents(Array((entry + giant + entry.replacingOccurrences(of: "P60137", with: "Q00002")).utf8),
                                   maxRecordBytes: 50_000)
    #expect(events.count == 3 && events[0].record?.accession == "P60137" && events[2].record?.accession == "Q00002")
    let m = events[1].malformed
    #expect(m?.reason.contains("50000") == true && (m?.line ?? 0) > (m?.location.line ?? 0), "\(String(describing: m))")
  }

  @Test func cidSmiles() throws {
    let text = "1\tCCO\n2\t" + String(repeating: "C", count: 100_000) + "\n3\tCCN\n"
    let events = try moleculeEvents(Array(text.utf8), maxRecordBytes: 50_000)
    #expect(events.count == 3 && events[0].record?.cid == 1 && events[2].record?.cid == 3)
    #expect(events[1].malformed?.line == 2 && events[1].malformed?.reason.contains("50000") == true)
  }
}

@Suite struct SDFDelimiterFuzzTests {
  /// Any set of `$$$$` lines deleted from pubchem.200.sdf (with or without the blank line before
  /// them): the same 200 records, none merged, none lost.
  @Test func deletedDelimitersLoseNothing() throws {
    let lines = try corpusLines("pubchem/sdf/pubchem.200.sdf")
    let plain = try moleculeEvents(joined(lines)).map(\.record?.cid)
    #expect(plain.count == 200)
    let delimiters = lines.indices.filter { lines[$0] == "$$$$" }
    var rng = SplitMix64(seed: fuzzSeed(default: 7))
    for round in 0..<20 {
      var drop = Set<Int>()
      for d in delimiters where rng.next() % 3 == 0 {
        drop.insert(d)
        if rng.next() % 2 == 0 { drop.insert(d - 1) }
      }
      let cut = lines.indices.filter { !drop.contains($0) }.map { lines[$0] }
      let events = try moleculeEvents(joined(cut))
      #expect(events.map(\.record?.cid) == plain, "round \(round): \(drop.count) lines dropped, \(events.count) events")
    }
  }
}

func fuzzSeed(default value: UInt64) -> UInt64 {
  ProcessInfo.processInfo.environment["TAGDATA_FUZZ_SEED"].flatMap { UInt64($0) } ?? value
}

@Suite struct XMLEntryFuzzTests {
  /// End tags deleted and bytes that are not UTF-8 put into random entries of multi_ex.xml: every
  /// entry is still accounted for, the damaged ones malformed and the others read as before.
  @Test func damagedEntriesAreConfined() throws {
    let lines = try corpusLines("uniprot/xml/multi_ex.xml")
    let plain = try proteinEvents(joined(lines)).map(\.record?.accession)
    #expect(plain.count == 8)
    let starts = lines.indices.filter { lines[$0].hasPrefix("<entry") }
    let ends = lines.indices.filter { lines[$0].hasPrefix("</entry>") }
    var rng = SplitMix64(seed: fuzzSeed(default: 5))
    for round in 0..<20 {
      var damaged = Set<Int>()
      var out: [UInt8] = []
      for (k, l) in lines.enumerated() {
        if k > 0 { out.append(0x0A) }
        let entry = starts.lastIndex { $0 <= k }
        if let e = entry, ends.contains(k), rng.next() % 4 == 0 {
          damaged.insert(e)  // end tag dropped
          continue
        }
        out += Array(l.utf8)
        if let e = entry, k > starts[e], !ends.contains(k), l.hasSuffix(">"), rng.next() % 400 == 0 {
          out += [0xFF]
          damaged.insert(e)
        }
      }
      let events = try proteinEvents(out)
      #expect(events.count == 8, "round \(round)")
      guard events.count == 8 else { continue }
      for (k, e) in events.enumerated() {
        if damaged.contains(k) {
          #expect(e.malformed != nil, "round \(round): entry \(k) should be malformed")
        } else {
          #expect(e.record?.accession == plain[k], "round \(round): entry \(k): \(e)")
        }
      }
    }
  }
}
