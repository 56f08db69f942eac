import TagdataChem
import TagdataIO

/// One SDF record: the molfile lines and the data items that follow `M  END`.
public struct SDFRecord: Sendable {
  public var location: RecordLocation
  public var molfile: MolBlock
  /// Data items in order: (tag, value); multi-line values joined with "\n".
  public var data: [(tag: String, value: String)]
  /// Damage that makes the record unusable (a molfile without `M  END`, a record over the size
  /// limit), with the line it is at; nil for a sound record.
  public var problem: (line: Int, reason: String)?
  /// The line of each data item's header (`> <TAG>`), in the order of ``data``.
  public var dataLines: [Int] = []

  public func value(_ tag: String) -> String? { data.first { $0.tag == tag }?.value }

  /// The line of the first value line of data item `tag`.
  public func line(of tag: String) -> Int? {
    guard let k = data.firstIndex(where: { $0.tag == tag }), k < dataLines.count else { return nil }
    return dataLines[k] + 1
  }

  /// The molfile's first line (its title), blanks trimmed.
  public var title: String { molfile.isEmpty ? "" : molfile.text(0).trimmingCharacters() }
}

/// Streams SDF records (molfile, data items, `$$$$`) from decompressed bytes, working on the
/// line bytes (only data items become text). A record without a final `$$$$` at the end of
/// input is still returned.
///
/// A missing `$$$$` never merges two records silently. After `M  END`, a molfile counts line
/// (`V2000`/`V3000` in columns 35-39) three lines on starts the next record: the three lines
/// before it are its title, program and comment lines, and the record before keeps its data
/// items. A counts line inside a molfile (no `M  END` and no `$$$$`) splits the same way, the
/// first record being malformed; a data item header inside a molfile, or a second `M  END`
/// that cannot be split off, makes the record malformed. A record over the size limit is
/// passed over to its `$$$$` without being kept.
public final class SDFReader {
  private let lines: LineReader
  @exclusivity(unchecked) private var index: Int
  private let limits: ReaderLimits
  /// Lines already read that belong to the next record (one whose predecessor lacked `$$$$`).
  @exclusivity(unchecked) private var carried: [Line] = []

  struct Line {
    var bytes: [UInt8]
    var number: Int
    var offset: Int64
  }

  public init(lines: LineReader, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    self.lines = lines
    self.index = firstRecordIndex
    self.limits = limits
  }

  private static let delimiter = Array("$$$$".utf8)
  private static let end = Array("M  END".utf8)

  /// A strict molfile counts line: two right-aligned counts, then `V2000` or `V3000` in columns
  /// 35-39.
  static func isCountsLine(_ l: UnsafeBufferPointer<UInt8>) -> Bool {
    guard l.count >= 39, l[34] == UInt8(ascii: "V"), l[36] == 0x30, l[37] == 0x30, l[38] == 0x30,
      l[35] == UInt8(ascii: "2") || l[35] == UInt8(ascii: "3")
    else { return false }
    for field in 0..<2 {
      var digits = 0
      for i in (3 * field)..<(3 * field + 3) {
        let c = l[i]
        if c >= 0x30 && c <= 0x39 { digits += 1 } else if c != 0x20 || digits > 0 { return false }
      }
      if digits == 0 { return false }
    }
    return true
  }

  /// One record being read.
  private struct State {
    var molfile = MolBlock()
    var data: [(String, String)] = []
    var dataLines: [Int] = []
    var tagLine = 0
    var start: (line: Int, offset: Int64)?
    var inData = false
    var tag: String?
    var value: [String] = []
    var problem: (line: Int, reason: String)?
    var tooLarge = false
    /// Data-section lines not yet taken as data: the last three could be the next record's
    /// title, program and comment lines.
    var pending: [Line] = []
    /// Line numbers and offsets of the last three molfile lines.
    var recent: [(Int, Int64)] = []

    mutating func closeItem() {
      if let t = tag {
        data.append((t, value.joined(separator: "\n")))
        dataLines.append(tagLine)
      }
      tag = nil
      value = []
    }

    /// A data-section line, taken as data.
    mutating func item(_ l: Line) {
      let raw = l.bytes
      var n = raw.count
      while n > 0, raw[n - 1] == 0x0D { n -= 1 }
      let line = raw[0..<n]
      if line.first == UInt8(ascii: ">") {
        closeItem()
        tagLine = l.number
        if let open = line.firstIndex(of: UInt8(ascii: "<")),
          let close = line[(open + 1)...].firstIndex(of: UInt8(ascii: ">"))
        {
          tag = String(decoding: line[(open + 1)..<close], as: UTF8.self)
        } else {
          tag = ""
        }
      } else if line.isEmpty {
        closeItem()
      } else if tag != nil {
        value.append(String(decoding: line, as: UTF8.self))
      }
    }

    mutating func flush() {
      for l in pending { item(l) }
      pending = []
      closeItem()
    }
  }

  private enum Action {
    case more
    case end
    /// The record ends before these lines, which start the next one.
    case split([Line])
  }

  private func process(_ raw: UnsafeBufferPointer<UInt8>, _ number: Int, _ offset: Int64, truncated: Bool,
                       _ s: inout State) -> Action
  {
    // The first line is the molfile's title, which may be blank: nothing is skipped.
    if s.start == nil { s.start = (number, offset) }
    if raw.starts(with: Self.delimiter) {
      s.flush()
      return .end
    }
    if s.tooLarge { return .more }
    if truncated || offset + Int64(raw.count) - s.start!.offset >= Int64(limits.maxRecordBytes) {
      s.tooLarge = true
      s.problem = (number, limits.tooLarge(line: number))
      s.data = []
      s.dataLines = []
      s.pending = []
      s.tag = nil
      s.value = []
      return .more
    }
    if !s.inData {
      if raw.starts(with: Self.end) {
        s.molfile.append(line: raw)
        s.inData = true
        return .more
      }
      let count = s.molfile.lineCount
      if count >= 7 && s.recent.count == 3 && Self.isCountsLine(raw) {
        // No `M  END` and no `$$$$`: the next record began three lines ago.
        var next: [Line] = []
        for k in 0..<3 {
          next.append(Line(bytes: Array(s.molfile.line(count - 3 + k)), number: s.recent[k].0, offset: s.recent[k].1))
        }
        next.append(Line(bytes: Array(raw), number: number, offset: offset))
        if s.problem == nil {
          s.problem = (next[0].number, "molfile ends without M  END and the record without $$$$ before line "
            + "\(next[0].number) (the next record's counts line is line \(number))")
        }
        return .split(next)
      }
      if count >= 4 && raw.first == UInt8(ascii: ">") && raw.contains(UInt8(ascii: "<")) {
        // Data items where the molfile should go on: its `M  END` is missing.
        if s.problem == nil { s.problem = (number, "molfile ends without M  END (a data item starts at line \(number))") }
        s.inData = true
      } else {
        s.molfile.append(line: raw)
        s.recent.append((number, offset))
        if s.recent.count > 3 { s.recent.removeFirst() }
        return .more
      }
    }
    if s.pending.count == 3 && Self.isCountsLine(raw) {
      // `$$$$` is missing: the three lines before this counts line start the next record.
      let next = s.pending + [Line(bytes: Array(raw), number: number, offset: offset)]
      s.pending = []
      s.closeItem()
      return .split(next)
    }
    if raw.starts(with: Self.end) && s.problem == nil {
      s.problem = (number, "a second M  END at line \(number): the record before it lacks its $$$$ line")
    }
    s.pending.append(Line(bytes: Array(raw), number: number, offset: offset))
    if s.pending.count > 3 { s.item(s.pending.removeFirst()) }
    return .more
  }

  public func next() throws -> SDFRecord? {
    while true {
      let (record, atEnd) = try readRecord()
      if let record { return record }
      // An empty record (`$$$$` right after `$$$$`) is not a record, nor the end.
      if atEnd { return nil }
    }
  }

  /// The next record, or nil for an empty one; `atEnd` when the input is done.
  private func readRecord() throws -> (SDFRecord?, atEnd: Bool) {
    var s = State()
    let carry = carried
    carried = []
    var k = 0
    func done(_ next: [Line]) -> (SDFRecord?, atEnd: Bool) {
      carried = next + carry[k...]
      return (record(s), false)
    }
    while true {
      let action: Action
      if k < carry.count {
        let l = carry[k]
        k += 1
        action = l.bytes.withUnsafeBufferPointer { process($0, l.number, l.offset, truncated: false, &s) }
      } else if let raw = try lines.nextLine() {
        action = process(raw, lines.lineNumber, lines.lineOffset, truncated: lines.lastLineTruncated, &s)
      } else {
        break
      }
      switch action {
      case .more: continue
      case .end: return done([])
      case let .split(next): return done(next)
      }
    }
    s.flush()
    // Blank lines after the last record are not a record.
    if s.data.isEmpty, s.problem == nil, (0..<s.molfile.lineCount).allSatisfy({ i in
      s.molfile.line(i).allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }) {
      return (nil, true)
    }
    return (record(s), true)
  }

  private func record(_ s: State) -> SDFRecord? {
    guard let start = s.start, !s.molfile.isEmpty || s.problem != nil else { return nil }
    defer { index += 1 }
    return SDFRecord(location: RecordLocation(index: index, line: start.line, offset: start.offset), molfile: s.molfile,
                     data: s.data, problem: s.problem, dataLines: s.dataLines)
  }
}
