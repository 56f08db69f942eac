import TagdataIO

/// One SDF record: the molfile lines and the data items that follow `M  END`.
public struct SDFRecord: Sendable {
  public var location: RecordLocation
  public var molfile: [Substring]
  /// Data items in order: (tag, value); multi-line values joined with "\n".
  public var data: [(tag: String, value: String)]

  public func value(_ tag: String) -> String? { data.first { $0.tag == tag }?.value }
}

/// Streams SDF records (molfile, data items, `$$$$`) from decompressed bytes. A record without
/// a final `$$$$` at the end of input is still returned.
public final class SDFReader {
  private let lines: LineReader
  private var index: Int

  public init(lines: LineReader, firstRecordIndex: Int = 0) {
    self.lines = lines
    self.index = firstRecordIndex
  }

  public func next() throws -> SDFRecord? {
    var molfile: [Substring] = []
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
      let line = Substring(String(decoding: raw, as: UTF8.self))
      // The first line is the molfile's title, which may be blank: nothing is skipped.
      if start == nil { start = (lines.lineNumber, lines.lineOffset) }
      if line.hasPrefix("$$$$") {
        closeItem()
        break
      }
      if !inData {
        molfile.append(line)
        if line.hasPrefix("M  END") { inData = true }
        continue
      }
      if line.hasPrefix(">") {
        closeItem()
        if let open = line.firstIndex(of: "<"), let close = line[open...].firstIndex(of: ">") {
          tag = String(line[line.index(after: open)..<close])
        } else {
          tag = ""
        }
      } else if line.isEmpty {
        closeItem()
      } else if tag != nil {
        value.append(String(line))
      }
    }
    guard let s = start, !molfile.isEmpty else { return nil }
    defer { index += 1 }
    return SDFRecord(location: RecordLocation(index: index, line: s.0, offset: s.1), molfile: molfile, data: data)
  }
}
