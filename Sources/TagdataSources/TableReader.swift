import TagdataIO

/// Which columns of a CSV/TSV table to read and what each holds: the mapping `tagdata ingest
/// --table` is given (`--columns "Drug=smiles,Target=protein,Y=number"`, or a preset).
public struct TableMapping: Sendable, Equatable {
  /// What a column holds, and so how its cells are read.
  public enum Kind: String, Sendable, CaseIterable {
    /// A molecule, canonicalized into the catalog's molecules.
    case smiles
    /// A protein sequence, canonicalized into the catalog's proteins.
    case protein
    /// Free text (a sentence of a parallel corpus), kept as written (UTF-8 repaired).
    case text
    /// A language code (`en`, `de`, `pt-BR`): letters, digits and `-`, at most 35 bytes.
    case language
    /// A number (a label), finite.
    case number
    /// An identifier, kept as written.
    case id
  }

  public struct Column: Sendable, Equatable {
    /// The column's header name.
    public var header: String
    public var kind: Kind
    public init(header: String, kind: Kind) {
      self.header = header
      self.kind = kind
    }
  }

  /// The preset's name, or `custom`.
  public var name: String
  public var columns: [Column]

  public init(name: String, columns: [Column]) {
    self.name = name
    self.columns = columns
  }

  /// A mapping error: what is wrong with the specification.
  public struct SpecError: Error, Sendable, CustomStringConvertible {
    public var description: String
  }

  /// Parses `HEADER=kind,HEADER=kind,...` (a header may hold blanks; `=` and `,` separate).
  public static func parse(_ spec: String) throws(SpecError) -> TableMapping {
    var columns: [Column] = []
    for part in spec.split(separator: ",") {
      guard let eq = part.lastIndex(of: "=") else {
        throw SpecError(description: "'\(part)': a column is HEADER=KIND (kinds: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      let header = String(part[..<eq]), kindName = String(part[part.index(after: eq)...])
      guard !header.isEmpty else { throw SpecError(description: "'\(part)': empty column name") }
      guard let kind = Kind(rawValue: kindName) else {
        throw SpecError(description: "'\(kindName)' is not a column kind (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      if columns.contains(where: { $0.header == header }) { throw SpecError(description: "column '\(header)' named twice") }
      columns.append(Column(header: header, kind: kind))
    }
    guard !columns.isEmpty else { throw SpecError(description: "no columns named") }
    return TableMapping(name: "custom", columns: columns)
  }

  /// The layouts users bring, by name: TDC's drug-target interaction tables (`DTI(...)`,
  /// BindingDB_Kd/Ki/IC50, DAVIS, KIBA; BindingDB_Patent with its `Year` as `tdc-dti-patent`),
  /// TDC's drug combination tables (DrugComb), and a
  /// parallel text corpus for Tag-LLM's `<Translate>`.
  public static let presets: [String: TableMapping] = [
    "tdc-dti": TableMapping(name: "tdc-dti", columns: [
      Column(header: "Drug_ID", kind: .id), Column(header: "Drug", kind: .smiles),
      Column(header: "Target_ID", kind: .id), Column(header: "Target", kind: .protein),
      Column(header: "Y", kind: .number),
    ]),
    // TDC's BindingDB_Patent (DTI_DG_Group): the DTI columns and the patent's year, the domain of
    // its temporal split (train/valid 2013-2018, test 2019-2021).
    "tdc-dti-patent": TableMapping(name: "tdc-dti-patent", columns: [
      Column(header: "Drug_ID", kind: .id), Column(header: "Drug", kind: .smiles),
      Column(header: "Target_ID", kind: .id), Column(header: "Target", kind: .protein),
      Column(header: "Y", kind: .number), Column(header: "Year", kind: .number),
    ]),
    "tdc-drugcomb": TableMapping(name: "tdc-drugcomb", columns: [
      Column(header: "Drug1_ID", kind: .id), Column(header: "Drug1", kind: .smiles),
      Column(header: "Drug2_ID", kind: .id), Column(header: "Drug2", kind: .smiles),
      Column(header: "Cell_Line_ID", kind: .id), Column(header: "Y", kind: .number),
    ]),
    "parallel-text": TableMapping(name: "parallel-text", columns: [
      Column(header: "source_lang", kind: .language), Column(header: "source", kind: .text),
      Column(header: "target_lang", kind: .language), Column(header: "target", kind: .text),
    ]),
  ]

  /// The mapping as JSON (stored with the table, and part of its source's identity: the same
  /// file read with another mapping is another source).
  public var json: String {
    "{\"name\":\(JSONString.quoted(name)),\"columns\":["
      + columns.map { "[\(JSONString.quoted($0.header)),\"\($0.kind.rawValue)\"]" }.joined(separator: ",") + "]}"
  }
}

/// One row of a mapped table: the mapped cells, in the mapping's column order.
public struct TableRecord: Sendable {
  public var location: RecordLocation
  public var cells: [[UInt8]]
}

public enum TableEvent: Sendable {
  case record(TableRecord)
  case malformed(MalformedRecord)
}

/// Reads the mapped columns of a CSV/TSV table with a header row (CSV as RFC 4180, TSV without
/// quoting), row by row. A header that lacks a mapped column is an error naming the columns it
/// has; a row that is damaged (a field count unlike the header's, a quote never closed) or whose
/// mapped cell is empty is malformed, with its line, and reading goes on.
public final class TableReader {
  public let mapping: TableMapping
  private let table: DelimitedReader
  private let indices: [Int]
  private let name: String

  public init(source: ByteSource, mapping: TableMapping, limits: ReaderLimits = ReaderLimits()) throws {
    self.mapping = mapping
    table = try DelimitedReader(source: source, maxRowBytes: min(limits.maxRecordBytes, 512 << 20))
    name = source.name
    var indices: [Int] = []
    var missing: [String] = []
    for c in mapping.columns {
      if let i = table.column(c.header) { indices.append(i) } else { missing.append(c.header) }
    }
    guard missing.isEmpty else {
      throw InputError.unsupported(
        file: source.name,
        message: "the table has no column \(missing.map { "'\($0)'" }.joined(separator: ", ")) (mapping \(mapping.name); "
          + "its columns: \(table.header.joined(separator: ", ")))")
    }
    self.indices = indices
  }

  public func next() throws -> TableEvent? {
    guard let event = try table.next() else { return nil }
    switch event {
    case let .malformed(d):
      let loc = RecordLocation(index: d.index, line: d.line, offset: d.offset)
      return .malformed(MalformedRecord(location: loc, line: d.line, reason: d.reason,
                                        excerpt: d.column.map { "column \($0)" } ?? ""))
    case let .row(row):
      let loc = RecordLocation(index: row.index, line: row.line, offset: row.offset)
      var cells: [[UInt8]] = []
      cells.reserveCapacity(indices.count)
      for (k, i) in indices.enumerated() {
        let cell = row.fields[i]
        if cell.isEmpty {
          return .malformed(MalformedRecord(location: loc, line: row.line,
                                            reason: "empty '\(mapping.columns[k].header)' (\(mapping.columns[k].kind.rawValue))",
                                            excerpt: String(decoding: row.fields.first?.prefix(80) ?? [], as: UTF8.self)))
        }
        cells.append(cell)
      }
      return .record(TableRecord(location: loc, cells: cells))
    }
  }
}
