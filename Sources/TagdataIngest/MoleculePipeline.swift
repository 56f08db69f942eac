import TagdataCatalog
import TagdataChem
import TagdataIO
import TagdataSources

/// A molecule record on its way to the catalog (prepared on worker threads as it is read).
enum MoleculeItem: PreparedItem {
  case prepared(PreparedMolecule)
  case quarantine(Quarantined)

  var location: RecordLocation {
    switch self {
    case let .prepared(m): return m.location
    case let .quarantine(q): return q.location
    }
  }

  var isQuarantined: Bool { if case .quarantine = self { return true } else { return false } }
}

typealias MoleculeBatch = PreparedBatch<MoleculeItem>

/// Molecules from a ``MoleculeReader`` into the catalog: structures are read and canonicalized
/// on worker threads (``ParallelMoleculeSource``), in file order, and written by the writer
/// thread.
final class MoleculePipeline: RecordPipeline, @unchecked Sendable {
  private let source: ParallelPreparation<MoleculeEvent, MoleculeItem>
  private let writer: MoleculeWriter
  private let quarantine: QuarantineWriter
  @exclusivity(unchecked) private var moleculesBefore = 0

  init(reader: MoleculeReader, workers: Int, limits: MoleculeLimits, writer: MoleculeWriter, quarantine: QuarantineWriter) {
    source = ParallelPreparation(next: { try reader.next() }, workers: workers) {
      let preparer = MoleculePreparer(limits: limits)
      return { event in
        switch event {
        case let .record(r): return preparer.prepare(r)
        case let .malformed(m):
          return .quarantine(Quarantined(location: m.location, line: m.line, reason: m.reason, excerpt: m.excerpt))
        }
      }
    }
    self.writer = writer
    self.quarantine = quarantine
  }

  /// Stops the worker threads.
  func close() { source.close() }

  func read(into batch: inout MoleculeBatch) throws -> ReadRecord? { try source.read(into: &batch) }

  func write(_ batch: inout MoleculeBatch, source: Int64, run: Int64, current: inout RecordLocation?) throws -> Int {
    for item in batch.items {
      current = item.location
      switch item {
      case let .prepared(m): try Self.write(m, source: source, writer: writer, run: run)
      case let .quarantine(q):
        try quarantine.write(q, source: source, run: run)
      }
    }
    return 0
  }

  func writerStarted() { moleculesBefore = writer.newMolecules }
  func writerFinished(_ report: inout FileReport) { report.newMolecules = writer.newMolecules - moleculesBefore }

  private static func write(_ m: PreparedMolecule, source: Int64, writer: MoleculeWriter, run: Int64) throws {
    let molecule = try writer.molecule(m.molecule)
    let compound = try m.compound.map { try writer.compound($0, molecule: molecule) }
    try writer.record(source: source, recordNo: m.location.index, line: m.location.line, offset: m.location.offset,
                      molecule: molecule, compound: compound, title: m.title, run: run)
  }
}

/// Canonical rows of SMILES texts, shared by a pipeline's worker threads and bounded in size.
typealias MoleculeRowCache = SharedCache<[UInt8], MoleculeRow>

/// A molecule record read, checked and canonicalized, ready to write.
struct PreparedMolecule: Sendable {
  var location: RecordLocation
  var molecule: MoleculeRow
  var compound: CompoundRow?
  var title: String?
}

/// Reads molecule records' structures into canonical rows. Not thread-safe (its SMILES writers
/// keep scratch state): one per thread.
final class MoleculePreparer {
  private let isomericWriter = SmilesWriter(isomeric: true)
  private let plainWriter = SmilesWriter(isomeric: false)
  /// A structure over these limits is quarantined with the limit named.
  private let limits: MoleculeLimits

  init(limits: MoleculeLimits) { self.limits = limits }

  /// The catalog row of a molecule: canonical isomeric SMILES (the key), canonical SMILES
  /// without stereo and isotopes, formula, heavy atoms.
  func row(_ mol: Molecule) -> MoleculeRow {
    let smiles = isomericWriter.write(mol)
    return MoleculeRow(smiles: smiles, connectivitySmiles: mol.hasStereoOrIsotopes ? plainWriter.write(mol) : smiles,
                       formula: mol.formula, heavyAtoms: mol.atoms.reduce(0) { $0 + ($1.element == 1 ? 0 : 1) })
  }

  /// The catalog row of a SMILES written in a table or dump cell, from `cache` when the same text
  /// was read before (dumps repeat a ligand row after row: BindingDB three times on average, TDC's
  /// tables more). A structure without atoms is an error.
  func row(smiles: [UInt8], cache: MoleculeRowCache?) throws(SmilesError) -> MoleculeRow {
    if let row = cache?.value(for: smiles) { return row }
    let mol = try Smiles.read(bytes: smiles, limits: limits)
    guard !mol.atoms.isEmpty else { throw SmilesError(.empty) }
    let row = row(mol)
    cache?.insert(row, for: smiles)
    return row
  }

  /// Reads a molecule record's structure, canonicalizes it, and canonicalizes PubChem's own
  /// isomeric SMILES for comparison. Unreadable structures are quarantined with the reason and
  /// the line it points to.
  func prepare(_ r: MoleculeRecord) -> MoleculeItem {
    let loc = r.location
    func reject(_ reason: String, line: Int? = nil) -> MoleculeItem {
      let name = r.cid.map { "CID \($0)" } ?? r.title.map { "record \($0)" } ?? ""
      return .quarantine(Quarantined(location: loc, line: line ?? loc.line, reason: reason, excerpt: name))
    }
    let mol: Molecule
    switch r.structure {
    case let .molfile(block):
      do {
        mol = try Molfile.read(block: block, limits: limits).molecule
      } catch {
        return reject("molfile: \(error.message)", line: error.line > 0 ? loc.line + error.line - 1 : loc.line)
      }
    case let .smiles(text):
      do {
        mol = try Smiles.read(text, limits: limits)
      } catch {
        return reject("SMILES '\(text.prefix(80))': \(error)")
      }
    case let .table(table):
      do {
        mol = try table.molecule(limits: limits)
      } catch {
        return reject("structure: \(error.message)")
      }
    }
    guard !mol.atoms.isEmpty else { return reject("the structure has no atoms") }
    let row = self.row(mol)
    let smiles = row.smiles
    var compound: CompoundRow?
    if let cid = r.cid {
      var c = CompoundRow(cid: cid)
      c.inchi = r.inchi
      c.inchikey = r.inchikey
      c.formula = r.formula
      c.weight = r.weight
      if let theirs = r.pubchemSmiles {
        c.pubchemSmiles = theirs
        if case let .smiles(text) = r.structure, text == theirs {
          c.pubchemSmilesCanonical = smiles
        } else {
          do {
            c.pubchemSmilesCanonical = isomericWriter.write(try Smiles.read(theirs, limits: limits))
          } catch {
            c.pubchemSmilesError = "\(error)"
          }
        }
      }
      compound = c
    }
    return .prepared(PreparedMolecule(location: loc, molecule: row, compound: compound, title: r.title))
  }
}
