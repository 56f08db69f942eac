import Foundation
import TestSupport
import Testing
@testable import TagdataIO

/// Reads a whole source into memory (tests only).
func readAll(_ source: ByteSource, chunk: Int = 7919) throws -> [UInt8] {
  var out = [UInt8]()
  var buf = [UInt8](repeating: 0, count: chunk)
  while true {
    let n = try buf.withUnsafeMutableBytes { try source.read(into: $0) }
    if n == 0 { return out }
    out.append(contentsOf: buf[0..<n])
  }
}

@Suite struct CompressionTests {
  let sample = TestSupport.corpus("uniprot/flat/multi_ex.txt")

  func original() throws -> [UInt8] { Array(try Data(contentsOf: sample)) }

  @Test func detectsContainersByMagicBytesNotNames() throws {
    let dir = TestSupport.tempDirectory()
    // A gzip file with a misleading name, and a plain file named .gz.
    try TestSupport.shell("gzip -c '\(sample.path)' > '\(dir.path)/data.txt'; cp '\(sample.path)' '\(dir.path)/plain.gz'")
    let a = try openInput(dir.appendingPathComponent("data.txt").path)
    #expect(a.compression == .gzip)
    #expect(try readAll(a.source) == original())
    let b = try openInput(dir.appendingPathComponent("plain.gz").path)
    #expect(b.compression == .none)
    #expect(try readAll(b.source) == original())
  }

  @Test(arguments: ["gzip", "bzip2", "zip"])
  func decompressesToTheOriginalBytes(tool: String) throws {
    let dir = TestSupport.tempDirectory()
    let out = dir.appendingPathComponent("f.\(tool)").path
    switch tool {
    case "zip": try TestSupport.shell("cd '\(dir.path)' && cp '\(sample.path)' multi_ex.txt && zip -q f.zip multi_ex.txt && mv f.zip '\(out)'")
    default: try TestSupport.shell("\(tool) -c '\(sample.path)' > '\(out)'")
    }
    let opened = try openInput(out)
    #expect(opened.compression.rawValue == tool)
    #expect(try readAll(opened.source) == original())
  }

  @Test func zipFromAPipeWithDataDescriptorAndStoredMembers() throws {
    let dir = TestSupport.tempDirectory()
    // `zip -` writes to a pipe, so sizes come after the data (data descriptor); -0 stores.
    try TestSupport.shell("cd '\(dir.path)' && cat '\(sample.path)' | zip -q - - > streamed.zip && zip -q -0 stored.zip '\(sample.path)'")
    for name in ["streamed.zip", "stored.zip"] {
      let opened = try openInput(dir.appendingPathComponent(name).path)
      #expect(try readAll(opened.source) == original(), "\(name)")
    }
  }

  @Test func zipWithTwoFilesIsRejectedAtTheSecond() throws {
    let dir = TestSupport.tempDirectory()
    try TestSupport.shell("cd '\(dir.path)' && echo a > a.txt && echo b > b.txt && zip -q two.zip a.txt b.txt")
    let opened = try openInput(dir.appendingPathComponent("two.zip").path)
    #expect(throws: InputError.self) { _ = try readAll(opened.source) }
  }

  @Test func multiMemberGzipAndMultiStreamBzip2() throws {
    let dir = TestSupport.tempDirectory()
    let bytes = try original()
    let half = bytes.count / 2
    try Data(bytes[..<half]).write(to: dir.appendingPathComponent("a"))
    try Data(bytes[half...]).write(to: dir.appendingPathComponent("b"))
    try TestSupport.shell("cd '\(dir.path)' && gzip -c a > m.gz && gzip -c b >> m.gz && bzip2 -c a > m.bz2 && bzip2 -c b >> m.bz2")
    for name in ["m.gz", "m.bz2"] {
      let opened = try openInput(dir.appendingPathComponent(name).path)
      #expect(try readAll(opened.source) == bytes, "\(name)")
    }
  }

  @Test(arguments: ["gzip", "bzip2"])
  func truncatedStreamsNameFileAndOffsetAfterDeliveringWhatDecoded(tool: String) throws {
    let dir = TestSupport.tempDirectory()
    let big = TestSupport.corpus("uniprot/flat/emboss_swiss_seq.dat")
    let full = dir.appendingPathComponent("full").path
    let cut = dir.appendingPathComponent("cut").path
    // bzip2 -1 uses 100 kB blocks, so a cut keeps whole blocks before it.
    try TestSupport.shell("\(tool) -1 -c '\(big.path)' > '\(full)' && head -c $(( $(stat -c %s '\(full)') * 6 / 10 )) '\(full)' > '\(cut)'")
    let opened = try openInput(cut)
    var delivered = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    var caught: InputError?
    do {
      while true {
        let n = try buf.withUnsafeMutableBytes { try opened.source.read(into: $0) }
        if n == 0 { break }
        delivered.append(contentsOf: buf[0..<n])
      }
    } catch let e as InputError {
      caught = e
    }
    guard case let .truncated(file, format, rawOffset, decoded)? = caught else {
      Issue.record("expected a truncation error, got \(String(describing: caught))")
      return
    }
    #expect(file == cut)
    #expect(format == tool)
    #expect(rawOffset > 0)
    #expect(decoded == Int64(delivered.count))
    #expect("\(caught!)".contains("truncated at compressed byte offset"))
    // What was delivered is a true prefix of the original, and a substantial one.
    let original = Array(try Data(contentsOf: big))
    #expect(delivered.count > original.count / 4)
    #expect(Array(original[0..<delivered.count]) == delivered)
  }

  @Test func corruptGzipIsAnErrorWithOffset() throws {
    let dir = TestSupport.tempDirectory()
    let gz = dir.appendingPathComponent("x.gz")
    try TestSupport.shell("gzip -c '\(sample.path)' > '\(gz.path)'")
    var bytes = Array(try Data(contentsOf: gz))
    for i in stride(from: 200, to: 400, by: 3) { bytes[i] ^= 0x5A }
    try Data(bytes).write(to: gz)
    let opened = try openInput(gz.path)
    #expect(throws: InputError.self) { _ = try readAll(opened.source) }
  }

  @Test func unsupportedContainersAreNamed() throws {
    let dir = TestSupport.tempDirectory()
    let xz = dir.appendingPathComponent("a.xz")
    try Data([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]).write(to: xz)
    #expect(throws: InputError.self) { _ = try openInput(xz.path) }
    #expect(throws: InputError.self) { _ = try openInput(dir.appendingPathComponent("missing").path) }
  }
}

@Suite struct LineReaderTests {
  final class Chunks: ByteSource {
    var data: [UInt8]
    var pos = 0
    let step: Int
    var name: String { "mem" }
    var bytesProduced: Int64 { Int64(pos) }
    var rawBytesConsumed: Int64 { Int64(pos) }
    init(_ s: String, step: Int) { data = Array(s.utf8); self.step = step }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
      let n = min(step, buffer.count, data.count - pos)
      for i in 0..<n { buffer[i] = data[pos + i] }
      pos += n
      return n
    }
  }

  /// Lends `step` bytes at a time, each run from a fresh buffer that the next call destroys
  /// (so a reader that kept a pointer past its time reads garbage).
  final class LendingChunks: LendingByteSource {
    var data: [UInt8]
    var pos = 0
    let step: Int
    var run: UnsafeMutableRawBufferPointer?
    var name: String { "mem" }
    var bytesProduced: Int64 { Int64(pos) }
    var rawBytesConsumed: Int64 { Int64(pos) }
    init(_ s: String, step: Int) { data = Array(s.utf8); self.step = step }
    deinit { run?.deallocate() }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { fatalError("lend only") }
    func lend() throws -> UnsafeRawBufferPointer? {
      if let run {
        run.initializeMemory(as: UInt8.self, repeating: 0x23)
        run.deallocate()
      }
      run = nil
      let n = min(step, data.count - pos)
      if n == 0 { return nil }
      let fresh = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
      data.withUnsafeBytes { fresh.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[pos..<(pos + n)])) }
      run = fresh
      pos += n
      return UnsafeRawBufferPointer(fresh)
    }
  }

  func lines(_ s: String, step: Int, lending: Bool, buffer: Int = 4) throws -> [(String, Int, Int64)] {
    let source: ByteSource = lending ? LendingChunks(s, step: step) : Chunks(s, step: step)
    let r = LineReader(source, bufferSize: buffer)
    var out: [(String, Int, Int64)] = []
    while let l = try r.nextLine() { out.append((String(decoding: l, as: UTF8.self), r.lineNumber, r.lineOffset)) }
    return out
  }

  @Test(arguments: [1, 2, 3, 5, 1000], [false, true])
  func splitsLinesAcrossChunkBoundaries(step: Int, lending: Bool) throws {
    let got = try lines("ab\r\ncdefghij\n\nlast", step: step, lending: lending)
    #expect(got.map(\.0) == ["ab", "cdefghij", "", "last"])
    #expect(got.map(\.1) == [1, 2, 3, 4])
    #expect(got.map(\.2) == [0, 4, 13, 14])
    let crlfAtTheEnd = try lines("x\r\ny\r\n\r\nz\r", step: step, lending: lending)
    #expect(crlfAtTheEnd.map(\.0) == ["x", "y", "", "z"])
    #expect(crlfAtTheEnd.map(\.2) == [0, 3, 6, 8])
  }

  /// Skipping lines by their code gives the lines a reader would keep after reading them all,
  /// with the same line numbers and offsets, in both modes and across run edges.
  @Test(arguments: [1, 3, 7, 64], [false, true])
  func skipsLinesByCode(step: Int, lending: Bool) throws {
    let text = "ID   a\nFT   x\nFT   y\nFTno blank\nFT\nDR   z\r\nAC   b;\nFT   last"
    let skip = UnsafeMutablePointer<Bool>.allocate(capacity: 1 << 16)
    defer { skip.deallocate() }
    skip.initialize(repeating: false, count: 1 << 16)
    for code in ["FT", "DR"] { skip[Int(code.utf8.first!) << 8 | Int(code.utf8.last!)] = true }
    let source: ByteSource = lending ? LendingChunks(text, step: step) : Chunks(text, step: step)
    let r = LineReader(source, bufferSize: 4)
    var got: [(String, Int, Int64)] = []
    while let l = try r.nextLine(skipping: skip) { got.append((String(decoding: l, as: UTF8.self), r.lineNumber, r.lineOffset)) }
    #expect(got.map(\.0) == ["ID   a", "FTno blank", "FT", "AC   b;"])
    #expect(got.map(\.1) == [1, 4, 5, 7])
    #expect(got.map(\.2) == [0, 21, 32, 43])
    #expect(r.offset == Int64(text.utf8.count))
  }

  /// A real file through the prefetching thread, lent in runs of awkward sizes, splits into
  /// the same lines at the same offsets as read the copying way.
  @Test(arguments: [7, 4096])
  func lentLinesMatchCopiedLines(chunk: Int) throws {
    let bytes = Array(try Data(contentsOf: TestSupport.corpus("uniprot/flat/P04439.txt")))
    func all(_ r: LineReader) throws -> [(String, Int64)] {
      var out: [(String, Int64)] = []
      while let l = try r.nextLine() { out.append((String(decoding: l, as: UTF8.self), r.lineOffset)) }
      return out
    }
    let copied = try all(LineReader(MemorySource(bytes)))
    let lent = try all(LineReader(PrefixedSource(prefix: Array(bytes[0..<10]),
                                                 inner: PrefetchSource(MemorySource(Array(bytes[10...])), chunkSize: chunk))))
    #expect(lent.count == copied.count)
    #expect(lent.elementsEqual(copied) { $0 == $1 })
  }

  @Test(arguments: [false, true])
  func rejectsOverlongLines(lending: Bool) throws {
    let text = String(repeating: "x", count: 100)
    let source: ByteSource = lending ? LendingChunks(text, step: 10) : Chunks(text, step: 10)
    let r = LineReader(source, bufferSize: 8, maxLineLength: 32)
    #expect(throws: InputError.self) { _ = try r.nextLine() }
  }
}

@Suite struct LongLineTests {
  /// With truncatesLongLines, a line over the limit is handed out cut and flagged, the rest of it
  /// passed over; the next line has its true number and offset. In both modes, whatever the runs.
  @Test(arguments: [1, 3, 7, 4096], [false, true])
  func longLinesAreCut(step: Int, lending: Bool) throws {
    let long = String(repeating: "x", count: 5000)
    let text = "a\n" + long + "\r\nb\n" + long
    let source: ByteSource = lending ? LineReaderTests.LendingChunks(text, step: step) : LineReaderTests.Chunks(text, step: step)
    let r = LineReader(source, bufferSize: 16)
    r.maxLineLength = 100
    r.truncatesLongLines = true
    var got: [(String, Bool, Int, Int64)] = []
    while let l = try r.nextLine() { got.append((String(decoding: l, as: UTF8.self), r.lastLineTruncated, r.lineNumber, r.lineOffset)) }
    #expect(got.map(\.0) == ["a", String(repeating: "x", count: 100), "b", String(repeating: "x", count: 100)])
    #expect(got.map(\.1) == [false, true, false, true])
    #expect(got.map(\.2) == [1, 2, 3, 4])
    #expect(got.map(\.3) == [0, 2, 5004, 5006])
    #expect(r.offset == Int64(text.utf8.count))
  }

  /// A long line that fits in the buffer as read is cut the same (it was handed out whole when
  /// only a line that made the buffer grow was checked).
  @Test(arguments: [false, true])
  func longLinesInsideTheBufferAreCut(lending: Bool) throws {
    let long = String(repeating: "x", count: 5000)
    let text = "a\n" + long + "\r\nb\n" + long
    let source: ByteSource = lending ? LineReaderTests.LendingChunks(text, step: 1 << 20) : LineReaderTests.Chunks(text, step: 1 << 20)
    let r = LineReader(source, bufferSize: 1 << 16)
    r.maxLineLength = 100
    r.truncatesLongLines = true
    var got: [(Int, Bool, Int64)] = []
    while let l = try r.nextLine() { got.append((l.count, r.lastLineTruncated, r.lineOffset)) }
    #expect(got.map(\.0) == [1, 100, 1, 100])
    #expect(got.map(\.1) == [false, true, false, true])
    #expect(got.map(\.2) == [0, 2, 5004, 5006])
    #expect(r.offset == Int64(text.utf8.count))
  }

  @Test func withoutTruncationALongLineFails() throws {
    let r = LineReader(LineReaderTests.Chunks("a\n" + String(repeating: "x", count: 500) + "\n", step: 7), bufferSize: 16)
    r.maxLineLength = 100
    #expect(try r.nextLine() != nil)
    #expect(throws: InputError.self) { try r.nextLine() }
  }

  /// Lines skipped by code count the cut line right too.
  @Test(arguments: [false, true])
  func skippingAfterACutLine(lending: Bool) throws {
    let text = "AA x\n" + String(repeating: "y", count: 300) + "\nBB z\nCC w\n"
    let source: ByteSource = lending ? LineReaderTests.LendingChunks(text, step: 5) : LineReaderTests.Chunks(text, step: 5)
    let r = LineReader(source, bufferSize: 16)
    r.maxLineLength = 50
    r.truncatesLongLines = true
    let skip = UnsafeMutablePointer<Bool>.allocate(capacity: 1 << 16)
    defer { skip.deallocate() }
    skip.initialize(repeating: false, count: 1 << 16)
    skip[Int(UInt8(ascii: "B")) << 8 | Int(UInt8(ascii: "B"))] = true
    var got: [(String, Int)] = []
    while let l = try r.nextLine(skipping: skip) { got.append((String(decoding: l, as: UTF8.self), r.lineNumber)) }
    #expect(got.map(\.0) == ["AA x", String(repeating: "y", count: 50), "CC w"])
    #expect(got.map(\.1) == [1, 2, 4])
  }
}
