import TagdataBio
import TagdataCatalog
import TagdataChem
import TagdataIO
import TagdataSources

/// A mapped cell read into what the catalog stores.
enum PreparedCell: Sendable {
  case molecule(MoleculeRow)
  case protein(PreparedChain)
  case text(String)
  case number(Double)
}

struct PreparedTableRow: Sendable {
  var location: RecordLocation
  var cells: [PreparedCell]
}

enum TableItem: PreparedItem {
  case prepared(PreparedTableRow)
  case quarantine(Quarantined)

  var location: RecordLocation {
    switch self {
    case let .prepared(r): return r.location
    case let .quarantine(q): return q.location
    }
  }

  var isQuarantined: Bool { if case .quarantine = self { return true } else { return false } }
}

typealias TableBatch = PreparedBatch<TableItem>

/// Rows of a labelled table into the catalog: SMILES cells become the catalog's molecules and
/// sequence cells its proteins (canonicalized on worker threads, in file order), numbers,
/// language codes, texts and identifiers are checked; a row with a cell that cannot be read is
/// quarantined with the column and the reason.
final class TablePipeline: RecordPipeline, @unchecked Sendable {
  private let source: ParallelPreparation<TableEvent, TableItem>
  private let mapping: TableMapping
  private let molecules: MoleculeWriter
  private let proteins: ProteinWriter
  private let tables: TableWriter
  private let quarantine: QuarantineWriter
  @exclusivity(unchecked) private var moleculesBefore = 0
  @exclusivity(unchecked) private var proteinsBefore = 0
  @exclusivity(unchecked) private var tableWritten = false
  /// Ids of repeated molecules and proteins (writer thread).
  private let ids = RowIDCache()

  /// Rows before `firstRecordIndex` (done by an interrupted run) are read and passed over.
  init(reader: TableReader, firstRecordIndex: Int, workers: Int, limits: MoleculeLimits,
       canonicalizer: ProteinCanonicalizer, molecules: MoleculeWriter, proteins: ProteinWriter, tables: TableWriter,
       quarantine: QuarantineWriter)
  {
    let mapping = reader.mapping
    self.mapping = mapping
    let next = { () throws -> TableEvent? in
      while let e = try reader.next() {
        switch e {
        case let .record(r) where r.location.index < firstRecordIndex: continue
        case let .malformed(m) where m.location.index < firstRecordIndex: continue
        default: return e
        }
      }
      return nil
    }
    // TDC's tables repeat each drug in many rows: one canonicalization per distinct text.
    let cache = MoleculeRowCache(capacity: 1 << 16)
    source = ParallelPreparation(next: next, workers: workers) {
      let preparer = TablePreparer(mapping: mapping, limits: limits, canonicalizer: canonicalizer, molecules: cache)
      return { preparer.prepare($0) }
    }
    self.molecules = molecules
    self.proteins = proteins
    self.tables = tables
    self.quarantine = quarantine
  }

  func close() { source.close() }

  func read(into batch: inout TableBatch) throws -> ReadRecord? { try source.read(into: &batch) }

  func write(_ batch: inout TableBatch, source: Int64, run: Int64, current: inout RecordLocation?) throws -> Int {
    do {
      if !tableWritten {
        try tables.table(source: source, name: mapping.name, mappingJSON: mapping.json)
        tableWritten = true
      }
      let fields = mapping.columns.map(\.header), kinds = mapping.columns.map(\.kind.rawValue)
      for item in batch.items {
        current = item.location
        switch item {
        case let .quarantine(q): try quarantine.write(q, source: source, run: run)
        case let .prepared(r):
          var values: [TableValue] = []
          values.reserveCapacity(r.cells.count)
          for cell in r.cells {
            switch cell {
            case let .molecule(row): values.append(.molecule(try ids.molecule(row, molecules)))
            case let .protein(c): values.append(.protein(try ids.protein(c, proteins)))
            case let .text(t): values.append(.text(t))
            case let .number(x): values.append(.number(x))
            }
          }
          let loc = r.location
          try tables.row(source: source, recordNo: loc.index, line: loc.line, offset: loc.offset, run: run, fields: fields,
                         kinds: kinds, values: values)
        }
      }
      try proteins.flush()
    } catch {
      // The batch's transaction is rolled back: what it wrote is not there.
      ids.forget()
      tableWritten = false
      throw error
    }
    return 0
  }

  func writerStarted() {
    moleculesBefore = molecules.newMolecules
    proteinsBefore = proteins.newProteins
  }

  func writerFinished(_ report: inout FileReport) {
    report.newMolecules = molecules.newMolecules - moleculesBefore
    report.newProteins = proteins.newProteins - proteinsBefore
  }
}

/// Reads one table row's mapped cells. Not thread-safe: one per thread.
final class TablePreparer {
  private let mapping: TableMapping
  private let molecules: MoleculePreparer
  private let cache: MoleculeRowCache?
  private let canonicalizer: ProteinCanonicalizer

  init(mapping: TableMapping, limits: MoleculeLimits, canonicalizer: ProteinCanonicalizer, molecules cache: MoleculeRowCache? = nil) {
    self.mapping = mapping
    molecules = MoleculePreparer(limits: limits)
    self.cache = cache
    self.canonicalizer = canonicalizer
  }

  func prepare(_ event: TableEvent) -> TableItem {
    switch event {
    case let .malformed(m):
      return .quarantine(Quarantined(location: m.location, line: m.line, reason: m.reason, excerpt: m.excerpt))
    case let .record(r):
      var cells: [PreparedCell] = []
      cells.reserveCapacity(r.cells.count)
      for (k, bytes) in r.cells.enumerated() {
        let column = mapping.columns[k]
        switch read(bytes, as: column.kind) {
        case let .success(cell): cells.append(cell)
        case let .failure(why):
          let shown = String(decoding: bytes.prefix(80), as: UTF8.self)
          return .quarantine(Quarantined(location: r.location, line: r.location.line,
                                         reason: "column '\(column.header)' (\(column.kind.rawValue)): \(why.text)",
                                         excerpt: shown))
        }
      }
      return .prepared(PreparedTableRow(location: r.location, cells: cells))
    }
  }

  struct Why: Error { var text: String }

  private func read(_ bytes: [UInt8], as kind: TableMapping.Kind) -> Result<PreparedCell, Why> {
    switch kind {
    case .smiles:
      do {
        return .success(.molecule(try molecules.row(smiles: bytes, cache: cache)))
      } catch {
        return .failure(Why(text: "\(error)"))
      }
    case .protein:
      switch bytes.withUnsafeBufferPointer({ canonicalizer.canonicalize($0) }) {
      case let .success(s): return .success(.protein(PreparedChain(canonical: s)))
      case let .failure(e): return .failure(Why(text: "\(e)"))
      }
    case .number:
      let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters()
      guard let x = Double(text), x.isFinite else { return .failure(Why(text: "'\(text.prefix(40))' is not a finite number")) }
      return .success(.number(x))
    case .language:
      let ok = bytes.count <= 35 && bytes.allSatisfy {
        ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
      }
      guard ok else { return .failure(Why(text: "not a language code (letters, digits and '-', at most 35)")) }
      return .success(.text(String(decoding: bytes, as: UTF8.self)))
    case .text, .id:
      return .success(.text(String(decoding: bytes, as: UTF8.self)))
    }
  }
}

extension String {
  fileprivate func trimmingCharacters() -> String {
    var s = Substring(self)
    while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
    while let c = s.last, c == " " || c == "\t" { s.removeLast() }
    return String(s)
  }
}
