import TagdataIO

/// How a delimited text table is written.
public struct Dialect: Sendable, Equatable {
  /// The field separator (tab or comma, or any byte).
  public var separator: UInt8
  /// Whether `"` quotes fields as RFC 4180 defines: a quoted field may hold separators, line
  /// breaks and doubled quotes (`""` for one `"`). Without quoting, a `"` is an ordinary byte,
  /// as in tab-separated dumps (BindingDB) whose text holds stray quotes.
  public var quoting: Bool

  public init(separator: UInt8, quoting: Bool) {
    self.separator = separator
    self.quoting = quoting
  }

  /// Comma-separated values, RFC 4180.
  public static let csv = Dialect(separator: UInt8(ascii: ","), quoting: true)
  /// Tab-separated values (IANA text/tab-separated-values: no quoting).
  public static let tsv = Dialect(separator: 0x09, quoting: false)

  /// The dialect a header line is written in: tab-separated if it holds a tab, else CSV.
  public static func guess(header: UnsafeBufferPointer<UInt8>) -> Dialect {
    header.contains(0x09) ? .tsv : .csv
  }
}

/// One row of a delimited table: its fields and where it starts.
public struct DelimitedRow: Sendable {
  /// Fields, unquoted (`""` read as `"`); a line break inside a quoted field is `\n`.
  public var fields: [[UInt8]]
  /// 1-based line of the row's first line.
  public var line: Int
  /// 0-based position among the rows after the header (bad rows count too).
  public var index: Int
  /// Byte offset of the row's first line in the decompressed input.
  public var offset: Int64 = 0

  public func string(_ i: Int) -> String { String(decoding: fields[i], as: UTF8.self) }
}

/// A row that cannot be used, with the line and column of the damage.
public struct DelimitedDamage: Error, Sendable, CustomStringConvertible {
  public var file: String
  public var index: Int
  public var line: Int
  /// 1-based byte column of the damage in its line, when there is one.
  public var column: Int?
  /// Byte offset of the row's first line in the decompressed input.
  public var offset: Int64 = 0
  public var reason: String
  /// The fields as far as they could be read.
  public var fields: [[UInt8]] = []

  public var description: String {
    "\(file): row \(index + 1), line \(line)" + (column.map { ", column \($0)" } ?? "") + ": \(reason)"
  }
}

public enum DelimitedEvent: Sendable {
  case row(DelimitedRow)
  case malformed(DelimitedDamage)
}

/// Reads a CSV or TSV table with a header row, streaming, one row at a time.
///
/// CRLF and LF line ends and a leading byte-order mark are accepted. With quoting (CSV), a
/// quoted field may span lines; a quote that is never closed ends the row at the end of input
/// (or at the size limit) as damage naming the line and column where it opened, and reading goes
/// on after it. A row with a different number of fields than the header is damage too; it is
/// reported, not fixed. Memory is bounded by the longest row (`maxRowBytes`).
public final class DelimitedReader {
  private let lines: LineReader
  public let dialect: Dialect
  /// The header's field names.
  public let header: [String]
  private let maxRowBytes: Int
  @exclusivity(unchecked) private var index = 0
  private let name: String

  /// Reads the header from `source`. `dialect` nil: guessed from the header line.
  public init(source: ByteSource, dialect: Dialect? = nil, maxRowBytes: Int = 64 << 20) throws {
    // A line over the row limit is handed out cut (and its rest passed over unbuffered), so
    // that it becomes one damaged row, not the end of the table.
    lines = LineReader(source, maxLineLength: maxRowBytes)
    lines.truncatesLongLines = true
    name = source.name
    self.maxRowBytes = maxRowBytes
    guard var first = try lines.nextLine() else {
      throw InputError.unsupported(file: source.name, message: "empty table: no header row")
    }
    // A byte-order mark before the header.
    if first.count >= 3, first[0] == 0xEF, first[1] == 0xBB, first[2] == 0xBF {
      first = UnsafeBufferPointer(rebasing: first[3...])
    }
    if lines.lastLineTruncated {
      throw InputError.unsupported(file: source.name, message: "header row longer than \(maxRowBytes) bytes")
    }
    let d = dialect ?? Dialect.guess(header: first)
    self.dialect = d
    var fields: [[UInt8]] = []
    var open: Int?
    Self.split(first, dialect: d, into: &fields, openQuote: &open)
    if open != nil {
      throw InputError.unsupported(file: source.name, message: "header row: a quote opened at column \(open! + 1) is not closed")
    }
    header = fields.map { String(decoding: $0, as: UTF8.self) }
  }

  /// The index of a header column, nil if absent.
  public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

  /// The next row or damaged row, nil at the end of input. Empty lines are skipped.
  public func next() throws -> DelimitedEvent? {
    while true {
      guard let line = try lines.nextLine() else { return nil }
      let startLine = lines.lineNumber
      let startOffset = lines.lineOffset
      if line.isEmpty { continue }
      if lines.lastLineTruncated {
        defer { index += 1 }
        return .malformed(DelimitedDamage(file: name, index: index, line: startLine, column: nil, offset: startOffset,
                                          reason: "row longer than \(maxRowBytes) bytes"))
      }
      var fields: [[UInt8]] = []
      var open: Int?
      Self.split(line, dialect: dialect, into: &fields, openQuote: &open)
      var size = line.count
      // A quoted field goes on over the next lines; damage is named where the open quote is.
      var openLine = startLine
      var openColumn = open
      while open != nil {
        guard size <= maxRowBytes, let more = try lines.nextLine() else {
          defer { index += 1 }
          let why = size > maxRowBytes ? "is still open after \(maxRowBytes) bytes" : "is never closed"
          return .malformed(DelimitedDamage(file: name, index: index, line: openLine, column: openColumn.map { $0 + 1 }, offset: startOffset,
                                            reason: "a quoted field opened here \(why)", fields: fields))
        }
        size += more.count + 1 + (lines.lastLineTruncated ? maxRowBytes : 0)
        fields[fields.count - 1].append(0x0A)
        Self.continueQuoted(more, dialect: dialect, into: &fields, openQuote: &open)
        // -1: still the quote of an earlier line; otherwise one opened on this line.
        if let o = open, o >= 0 {
          openLine = lines.lineNumber
          openColumn = o
        }
      }
      defer { index += 1 }
      if fields.count != header.count {
        return .malformed(DelimitedDamage(file: name, index: index, line: startLine, column: nil, offset: startOffset,
                                          reason: "\(fields.count) fields where the header has \(header.count)",
                                          fields: fields))
      }
      return .row(DelimitedRow(fields: fields, line: startLine, index: index, offset: startOffset))
    }
  }

  /// Splits one line into fields; `openQuote` is the 0-based column of a quote still open at
  /// the line's end (the last field then continues on the next line), -1 when that quote was
  /// opened on an earlier line.
  static func split(_ line: UnsafeBufferPointer<UInt8>, dialect: Dialect, into fields: inout [[UInt8]],
                    openQuote: inout Int?)
  {
    fields.append([])
    scan(line, from: 0, quoted: false, dialect: dialect, into: &fields, openQuote: &openQuote)
  }

  static func continueQuoted(_ line: UnsafeBufferPointer<UInt8>, dialect: Dialect, into fields: inout [[UInt8]],
                             openQuote: inout Int?)
  {
    scan(line, from: 0, quoted: true, dialect: dialect, into: &fields, openQuote: &openQuote)
  }

  /// The field state machine, on bytes. A quote inside an unquoted field (`ab"c`) is kept as a
  /// byte, as most readers do.
  private static func scan(_ line: UnsafeBufferPointer<UInt8>, from: Int, quoted startQuoted: Bool, dialect: Dialect,
                           into fields: inout [[UInt8]], openQuote: inout Int?)
  {
    let quote = UInt8(ascii: "\"")
    var i = from
    var quoted = startQuoted
    var fieldStart = !startQuoted
    var openedAt = -1
    while i < line.count {
      let b = line[i]
      if quoted {
        if b == quote {
          if i + 1 < line.count, line[i + 1] == quote {
            fields[fields.count - 1].append(quote)
            i += 2
            continue
          }
          quoted = false
        } else {
          fields[fields.count - 1].append(b)
        }
      } else if b == dialect.separator {
        fields.append([])
        fieldStart = true
        i += 1
        continue
      } else if b == quote && dialect.quoting && fieldStart && fields[fields.count - 1].isEmpty {
        quoted = true
        openedAt = i
      } else {
        fields[fields.count - 1].append(b)
      }
      fieldStart = false
      i += 1
    }
    openQuote = quoted ? openedAt : nil
  }

  /// A field as CSV writes it: quoted (quotes doubled) when it holds the separator, a quote or a
  /// line break; as is otherwise.
  public static func quoted(_ field: [UInt8], dialect: Dialect) -> [UInt8] {
    let quote = UInt8(ascii: "\"")
    guard dialect.quoting, field.contains(where: { $0 == dialect.separator || $0 == quote || $0 == 0x0A || $0 == 0x0D })
    else { return field }
    var out: [UInt8] = [quote]
    out.reserveCapacity(field.count + 2)
    for b in field {
      if b == quote { out.append(quote) }
      out.append(b)
    }
    out.append(quote)
    return out
  }
}
