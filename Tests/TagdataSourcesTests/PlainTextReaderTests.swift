import Foundation
import TagdataIO
import TagdataSources
import TestSupport
import Testing

/// Hands out at most `chunk` bytes per read: lines cross read boundaries everywhere.
final class ChunkedSource: ByteSource {
  let bytes: [UInt8]
  let chunk: Int
  var pos = 0
  let name = "chunked.txt"
  var bytesProduced: Int64 { Int64(pos) }
  var rawBytesConsumed: Int64 { Int64(pos) }
  init(_ bytes: [UInt8], chunk: Int) {
    self.bytes = bytes
    self.chunk = chunk
  }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, chunk, bytes.count - pos)
    guard n > 0 else { return 0 }
    bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + pos, byteCount: n) }
    pos += n
    return n
  }
}

/// `head`, then `count` bytes of `fill` made as they are read (never held whole), then `tail`.
final class GiantLineSource: ByteSource {
  let head: [UInt8], tail: [UInt8]
  let count: Int
  let fill: UInt8
  var pos = 0
  let name = "giant.txt"
  var bytesProduced: Int64 { Int64(pos) }
  var rawBytesConsumed: Int64 { Int64(pos) }
  init(head: String, count: Int, fill: UInt8 = 0x78, tail: String) {
    self.head = Array(head.utf8)
    self.tail = Array(tail.utf8)
    self.count = count
    self.fill = fill
  }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let total = head.count + count + tail.count
    let n = min(buffer.count, total - pos)
    let out = buffer.bindMemory(to: UInt8.self)
    for i in 0..<n {
      let p = pos + i
      out[i] = p < head.count ? head[p] : p < head.count + count ? fill : tail[p - head.count - count]
    }
    pos += n
    return n
  }
}

@Suite struct PlainTextReaderTests {
  func read(_ source: ByteSource, maxLineBytes: Int? = nil) throws -> (reader: PlainTextReader, events: [PlainTextEvent]) {
    let reader = PlainTextReader(source: source, maxLineBytes: maxLineBytes)
    var events: [PlainTextEvent] = []
    while let e = try reader.next() { events.append(e) }
    return (reader, events)
  }

  func read(_ bytes: [UInt8], maxLineBytes: Int? = nil) throws -> (reader: PlainTextReader, events: [PlainTextEvent]) {
    let whole = try read(MemorySource(bytes, name: "t.txt"), maxLineBytes: maxLineBytes)
    // The same events whatever the sizes of the reads underneath.
    for chunk in [1, 2, 3, 7, 64] {
      let chunked = try read(ChunkedSource(bytes, chunk: chunk), maxLineBytes: maxLineBytes)
      #expect(chunked.events == whole.events, "reads of \(chunk) bytes")
      #expect(chunked.reader.blankLines == whole.reader.blankLines && chunked.reader.lineNumber == whole.reader.lineNumber)
    }
    return whole
  }

  func read(_ text: String, maxLineBytes: Int? = nil) throws -> (reader: PlainTextReader, events: [PlainTextEvent]) {
    try read(Array(text.utf8), maxLineBytes: maxLineBytes)
  }

  func records(_ events: [PlainTextEvent]) -> [PlainTextRecord] {
    events.compactMap { if case let .record(r) = $0 { return r } else { return nil } }
  }

  func malformed(_ events: [PlainTextEvent]) -> [MalformedRecord] {
    events.compactMap { if case let .malformed(m) = $0 { return m } else { return nil } }
  }

  @Test func oneExamplePerNonBlankLineTrimmed() throws {
    let (reader, events) = try read("first line\n  second, with blanks \t\n\n \t \nlast")
    let r = records(events)
    #expect(r.map(\.string) == ["first line", "second, with blanks", "last"])
    #expect(r.map(\.location.line) == [1, 2, 5])
    #expect(r.map(\.location.index) == [0, 1, 2])
    #expect(r.map(\.location.offset) == [0, 11, 40])
    #expect(r.map(\.column) == [1, 3, 1])
    #expect(reader.blankLines == 2 && reader.lineNumber == 5 && reader.offset == 44)
  }

  @Test func crlfReadsLikeLF() throws {
    let lf = try read("alpha\n beta \n\ngamma\n")
    let crlf = try read("alpha\r\n beta \r\n\r\ngamma\r\n")
    #expect(records(crlf.events).map(\.string) == ["alpha", "beta", "gamma"])
    #expect(records(crlf.events).map(\.location.line) == records(lf.events).map(\.location.line))
    #expect(records(crlf.events).map(\.location.offset) == [0, 7, 17])
    #expect(crlf.reader.blankLines == 1)
    // A stray CR is a blank, trimmed like the others; inside the text it stays.
    #expect(records(try read("a\rb\r\r\n\r\n").events).map(\.string) == ["a\rb"])
  }

  @Test func byteOrderMarkIsSkippedAtTheStartOnly() throws {
    let (_, events) = try read("\u{FEFF}first\nsecond \u{FEFF}\n")
    let r = records(events)
    #expect(r.map(\.string) == ["first", "second \u{FEFF}"])
    #expect(r.map(\.location.offset) == [0, 9] && r.first?.column == 1)
    #expect(try read("\u{FEFF}").events.isEmpty)
    #expect(try read("\u{FEFF}\r\n\n").reader.blankLines == 2)
    #expect(records(try read("\u{FEFF}  x").events).first?.column == 3)
  }

  @Test func emptyFileAndOnlyBlankLines() throws {
    let empty = try read("")
    #expect(empty.events.isEmpty && empty.reader.lineNumber == 0 && empty.reader.blankLines == 0)
    let blank = try read("\n \n\t\r\n\u{0B}\u{0C}\n\n   ")
    #expect(blank.events.isEmpty && blank.reader.blankLines == 6 && blank.reader.lineNumber == 6)
  }

  @Test func invalidUTF8IsMalformedAtItsLineAndReadingGoesOn() throws {
    var bytes: [UInt8] = Array("ok café 日本 🧪\n".utf8)
    let bad: [[UInt8]] = [
      [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xC3, 0x28],
    ]
    for b in bad { bytes += Array("x ".utf8) + b + Array(" y\n".utf8) + Array("good\n".utf8) }
    bytes += Array("tail é".utf8) + [0xC3]  // cut inside its last character
    let (_, events) = try read(bytes)
    let r = records(events), m = malformed(events)
    #expect(r.map(\.string) == ["ok café 日本 🧪"] + Array(repeating: "good", count: bad.count))
    #expect(m.map(\.line) == Array(stride(from: 2, through: 2 * bad.count, by: 2)) + [2 * bad.count + 2])
    #expect(m.allSatisfy { $0.reason.contains("not well-formed UTF-8") }, "\(m.map(\.reason))")
    #expect(m.first?.reason == "byte 0xFF at column 3 is not well-formed UTF-8")
    #expect(m.last?.reason.contains("column 8") == true)
    #expect(events.map(\.location.index) == Array(0..<events.count))
  }

  @Test func nulBytesAreMalformed() throws {
    let (_, events) = try read([UInt8]("ab".utf8) + [0] + Array("c\nfine\n".utf8) + [0, 0x0A] + Array("end".utf8))
    #expect(records(events).map(\.string) == ["fine", "end"])
    let m = malformed(events)
    #expect(m.map(\.line) == [1, 3])
    #expect(m.map(\.reason) == ["NUL byte at column 3", "NUL byte at column 1"])
    // Whichever comes first is named.
    let both = malformed(try read([0xFF, 0x00, 0x0A, 0x61, 0x00, 0xFF]).events)
    #expect(both.map(\.reason) == ["byte 0xFF at column 1 is not well-formed UTF-8", "NUL byte at column 2"])
  }

  @Test func linesOverTheLimitAreMalformedAndTheNextLineIsRead() throws {
    let (reader, events) = try read("12345\n123456\n 345 \n12345\r\n" + String(repeating: "z", count: 1000) + "\nlast\n1234567",
                                    maxLineBytes: 5)
    #expect(reader.maxLineBytes == 5)
    #expect(records(events).map(\.string) == ["12345", "345", "12345", "last"])
    let m = malformed(events)
    #expect(m.map(\.line) == [2, 5, 7])
    #expect(m.allSatisfy { $0.reason.contains("longer than the record limit of 5 bytes") })
    #expect(m[1].location.offset == 26 && records(events)[3].location.offset == 1027)
    // The limit defaults to the readers' record limit.
    let limited = PlainTextReader(source: MemorySource(Array("abc\nabcdef\n".utf8), name: "t.txt"), limits: ReaderLimits(maxRecordBytes: 4))
    #expect(try limited.next().map { if case .record = $0 { return true } else { return false } } == true)
    #expect(try limited.next().map { if case .malformed = $0 { return true } else { return false } } == true)
  }

  /// A 64 MiB line over a 1 MiB limit: malformed with its line, passed over without being held
  /// (the reader's buffer stays at the limit), the lines around it read; at the end of the input
  /// without its LF too.
  @Test func giantLineIsPassedOverUnbuffered() throws {
    let giant = 64 << 20, limit = 1 << 20
    for tail in ["\n\nlast line\n", ""] {
      let (reader, events) = try read(GiantLineSource(head: "first\n  ", count: giant, tail: tail), maxLineBytes: limit)
      #expect(reader.bufferCapacity <= limit + 2, "buffer grew to \(reader.bufferCapacity) bytes")
      #expect(records(events).map(\.string) == (tail.isEmpty ? ["first"] : ["first", "last line"]))
      let m = malformed(events)
      #expect(m.count == 1 && m.first?.line == 2 && m.first?.location.offset == 6 && m.first?.location.index == 1)
      #expect(m.first?.reason.contains("\(limit) bytes") == true && m.first?.excerpt.hasPrefix("  xxx") == true)
      if !tail.isEmpty { #expect(records(events).last?.location == RecordLocation(index: 2, line: 4, offset: Int64(6 + 2 + giant + 2))) }
      #expect(reader.offset == Int64(6 + 2 + giant + tail.utf8.count))
    }
    // The same line with the default limit (256 MiB) is an example: the buffer holds it.
    let (reader, events) = try read(GiantLineSource(head: "", count: giant, tail: "\n"))
    #expect(records(events).first?.text.count == giant && reader.bufferCapacity >= giant)
  }

  /// Through openInput: gzip and bzip2 files, and gzip piped through a FIFO (read once).
  @Test func compressedAndPipedInput() throws {
    let dir = TestSupport.tempDirectory()
    let text = "\u{FEFF}Tell me about aspirin.\r\n\r\nWhat does <Protein> bind?\r\n" + (1...2000).map { "line \($0)" }.joined(separator: "\n")
    let plain = dir.appendingPathComponent("t.txt")
    try Data(text.utf8).write(to: plain)
    let expected = try read(MemorySource(Array(text.utf8), name: "t.txt")).events
    #expect(records(expected).count == 2002)
    #expect(try TestSupport.shell("cd '\(dir.path)' && gzip -kn t.txt && bzip2 -k t.txt && mkfifo pipe").status == 0)
    for name in ["t.txt", "t.txt.gz", "t.txt.bz2"] {
      let input = try openInput(dir.appendingPathComponent(name).path)
      #expect(try read(input.source).events == expected, "\(name)")
    }
    let writer = Process()
    writer.executableURL = URL(fileURLWithPath: "/bin/sh")
    writer.arguments = ["-c", "gzip -c '\(plain.path)' > '\(dir.appendingPathComponent("pipe").path)'"]
    try writer.run()
    let piped = try openInput(dir.appendingPathComponent("pipe").path)
    #expect(!piped.file.isRegularFile && piped.compression == .gzip)
    #expect(try read(piped.source).events == expected)
    writer.waitUntilExit()
  }

  /// A file cut mid-line: the cut line is read as it is; a gzip stream cut short throws after
  /// handing out every line before the cut.
  @Test func truncatedInput() throws {
    let text = "one\ntwo\nthree\n"
    #expect(records(try read(String(text.dropLast(3))).events).map(\.string) == ["one", "two", "thr"])
    let dir = TestSupport.tempDirectory()
    let lines = (1...20000).map { "example number \($0) of a long file" }
    try Data(lines.joined(separator: "\n").utf8).write(to: dir.appendingPathComponent("t.txt"))
    #expect(try TestSupport.shell("cd '\(dir.path)' && gzip -n t.txt && head -c 40000 t.txt.gz > cut.gz").status == 0)
    let reader = PlainTextReader(source: try openInput(dir.appendingPathComponent("cut.gz").path).source)
    var seen: [String] = []
    #expect(throws: InputError.self) {
      while let e = try reader.next() { if case let .record(r) = e { seen.append(r.string) } }
    }
    #expect(seen.count > 1000 && seen == Array(lines.prefix(seen.count)), "\(seen.count) lines before the cut")
  }

  /// Seeded random bytes (line breaks, blanks, NUL, bytes that are not UTF-8, long runs) with a
  /// small limit: no crash; every line accounted for as an example, a malformed line or a blank
  /// one; every example well-formed UTF-8 without NUL and untrimmed blanks.
  @Test func randomBytesAreAccountedFor() throws {
    var rng = SplitMix64(seed: TestSupport.fuzzSeed(default: 16))
    for round in 0..<40 {
      var bytes: [UInt8] = []
      for _ in 0..<rng.below(3000) {
        switch rng.below(10) {
        case 0: bytes.append(0x0A)
        case 1: bytes += [0x0D, 0x0A]
        case 2: bytes.append([0x20, 0x09, 0x00, 0xFF, 0xC3, 0xEF, 0xBB, 0xBF][rng.below(8)])
        case 3: bytes += [UInt8](repeating: 0x61, count: rng.below(300))
        default: bytes.append(UInt8(truncatingIfNeeded: rng.next()))
        }
      }
      let (reader, events) = try read(bytes, maxLineBytes: 100)
      let lines = bytes.isEmpty ? 0 : bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count - (bytes.last == 0x0A ? 1 : 0)
      #expect(events.count + reader.blankLines == lines && reader.lineNumber == lines, "round \(round)")
      for r in records(events) {
        #expect(String(validating: r.text, as: UTF8.self) != nil && !r.text.contains(0) && r.text.count <= 100, "round \(round)")
        #expect(r.text.first.map { $0 != 0x20 && $0 != 0x09 } == true && r.text.last.map { $0 != 0x20 && $0 != 0x0D } == true)
      }
    }
  }
}
