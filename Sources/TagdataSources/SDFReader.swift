import TagdataChem
import TagdataIO

/// One SDF record: the molfile lines and the data items that follow `M  END`.
public struct SDFRecord: Sendable {
  public var location: RecordLocation
  public var molfile: MolBlock
  /// Data items in order: (tag, value); multi-line values joined with "\n".
  public var data: [(tag: String, value: String)]

  public func value(_ tag: String) -> String? { data.first { $0.tag == tag }?.value }

  /// The molfile's first line (its title), blanks trimmed.
  public var title: String { molfile.isEmpty ? "" : molfile.text(0).trimmingCharacters() }
}

/// Streams SDF records (molfile, data items, `$$$$`) from decompressed bytes, working on the
/// line bytes (only data items become text). A record without a final `$$$$` at the end of
/// input is still returned.
public final class SDFReader {
  private let lines: LineReader
  private var index: Int

  public init(lines: LineReader, firstRecordIndex: Int = 0) {
    self.lines = lines
    self.index = firstRecordIndex
  }

  private static let delimiter = Array("$$$$".utf8)
  private static let end = Array("M  END".utf8)

  public func next() throws -> SDFRecord? {
    var molfile = MolBlock()
    var data: [(String, String)] = []
    var start: (Int, Int64)?
    var inData = false
    var tag: String?
    var value: [String] = []
    func closeItem() {
      if let t = tag { data.append((t, value.joined(separator: "\n"))) }
      tag = nil
      value = []
    }
    while let raw = try lines.nextLine() {
      // The first line is the molfile's title, which may be blank: nothing is skipped.
      if start == nil { start = (lines.lineNumber, lines.lineOffset) }
      if raw.starts(with: Self.delimiter) {
        closeItem()
        break
      }
      if !inData {
        molfile.append(line: raw)
        if raw.starts(with: Self.end) { inData = true }
        continue
      }
      var n = raw.count
      while n > 0, raw[n - 1] == 0x0D { n -= 1 }
      let line = UnsafeBufferPointer(rebasing: raw[0..<n])
      if line.first == UInt8(ascii: ">") {
        closeItem()
        if let open = line.firstIndex(of: UInt8(ascii: "<")),
          let close = line[(open + 1)...].firstIndex(of: UInt8(ascii: ">"))
        {
          tag = String(decoding: UnsafeBufferPointer(rebasing: line[(open + 1)..<close]), as: UTF8.self)
        } else {
          tag = ""
        }
      } else if line.isEmpty {
        closeItem()
      } else if tag != nil {
        value.append(String(decoding: line, as: UTF8.self))
      }
    }
    guard let s = start, !molfile.isEmpty else { return nil }
    defer { index += 1 }
    return SDFRecord(location: RecordLocation(index: index, line: s.0, offset: s.1), molfile: molfile, data: data)
  }
}
