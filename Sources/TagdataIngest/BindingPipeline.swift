import TagdataBio
import TagdataCatalog
import TagdataChem
import TagdataIO
import TagdataSources

/// A BindingDB row on its way to the catalog (prepared on worker threads as it is read).
enum BindingItem: PreparedItem {
  case prepared(PreparedBinding)
  case quarantine(Quarantined)

  var location: RecordLocation {
    switch self {
    case let .prepared(b): return b.location
    case let .quarantine(q): return q.location
    }
  }

  var isQuarantined: Bool { if case .quarantine = self { return true } else { return false } }
}

/// A protein chain in canonical form, with the digests the catalog keys it by.
struct PreparedChain: Sendable {
  var sequence: [UInt8]
  var sha256: [UInt8]
  var crc64: [UInt8]

  /// A canonical sequence with its SHA-256 and CRC64 (hex).
  init(canonical: [UInt8]) {
    sequence = canonical
    sha256 = SequenceDigest.sha256(canonical)
    crc64 = []
    CRC64.appendHex(CRC64.checksum(canonical), to: &crc64)
  }
}

extension ProteinWriter {
  /// The protein row of a prepared chain, inserted if new.
  func protein(_ c: PreparedChain) throws -> Int64 {
    try c.sha256.withUnsafeBufferPointer { sha in
      try c.crc64.withUnsafeBufferPointer { crc in
        try c.sequence.withUnsafeBufferPointer { try protein(sha256: sha, crc64: crc, sequence: $0) }
      }
    }
  }
}

/// A BindingDB row read and canonicalized: ligand row, chains (sorted by digest: the target's
/// key does not depend on the order a row lists them in), provenance and measurements.
struct PreparedBinding: Sendable {
  var location: RecordLocation
  var ligand: MoleculeRow
  var chains: [PreparedChain]
  var targetKey: [UInt8]
  var row: BindingRow
  var measurements: [MeasurementRow]
}

typealias BindingBatch = PreparedBatch<BindingItem>

/// BindingDB rows from a ``BindingDBReader`` into the catalog: ligands and chains are
/// canonicalized on worker threads, in file order, and written by the writer thread into the same
/// molecule and protein rows as every other source, with the row's target, provenance and
/// measurements. A row whose ligand or a chain cannot be read is quarantined; a measurement cell
/// that cannot be read is kept with its error, and the rest of its row is used.
final class BindingPipeline: RecordPipeline, @unchecked Sendable {
  private let source: ParallelPreparation<BindingEvent, BindingItem>
  private let molecules: MoleculeWriter
  private let proteins: ProteinWriter
  private let bindings: BindingWriter
  private let quarantine: QuarantineWriter
  /// Ids of repeated ligands, chains and targets (writer thread).
  private let ids = RowIDCache()
  @exclusivity(unchecked) private var moleculesBefore = 0
  @exclusivity(unchecked) private var proteinsBefore = 0

  init(reader: BindingDBReader, workers: Int, limits: MoleculeLimits, canonicalizer: ProteinCanonicalizer,
       molecules: MoleculeWriter, proteins: ProteinWriter, bindings: BindingWriter, quarantine: QuarantineWriter)
  {
    // A ligand appears in several rows of a dump (three on average in BindingDB): its canonical
    // form is computed once and shared by the worker threads.
    let ligands = MoleculeRowCache(capacity: 1 << 16)
    source = ParallelPreparation(next: { try reader.next() }, workers: workers) {
      let preparer = BindingPreparer(limits: limits, canonicalizer: canonicalizer, ligands: ligands)
      return { preparer.prepare($0) }
    }
    self.molecules = molecules
    self.proteins = proteins
    self.bindings = bindings
    self.quarantine = quarantine
  }

  func close() { source.close() }

  func read(into batch: inout BindingBatch) throws -> ReadRecord? { try source.read(into: &batch) }

  func write(_ batch: inout BindingBatch, source: Int64, run: Int64, current: inout RecordLocation?) throws -> Int {
    do {
      for item in batch.items {
        current = item.location
        switch item {
        case let .prepared(b): try write(b, source: source, run: run)
        case let .quarantine(q): try quarantine.write(q, source: source, run: run)
        }
      }
      try proteins.flush()
    } catch {
      ids.forget()  // the batch's transaction is rolled back
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

  private func write(_ b: PreparedBinding, source: Int64, run: Int64) throws {
    let molecule = try ids.molecule(b.ligand, molecules)
    var chainIDs: [Int64] = []
    chainIDs.reserveCapacity(b.chains.count)
    for c in b.chains { chainIDs.append(try ids.protein(c, proteins)) }
    let target = try ids.target(key: b.targetKey, proteins: chainIDs, bindings)
    let loc = b.location
    try bindings.record(source: source, recordNo: loc.index, line: loc.line, offset: loc.offset, molecule: molecule,
                        target: target, b.row, run: run)
    for m in b.measurements {
      try bindings.measurement(source: source, recordNo: loc.index, molecule: molecule, target: target, m)
    }
  }
}

/// Reads a BindingDB row's ligand and chains into canonical rows. Not thread-safe: one per thread.
final class BindingPreparer {
  private let molecules: MoleculePreparer
  private let canonicalizer: ProteinCanonicalizer
  private let ligands: MoleculeRowCache?

  init(limits: MoleculeLimits, canonicalizer: ProteinCanonicalizer, ligands: MoleculeRowCache? = nil) {
    molecules = MoleculePreparer(limits: limits)
    self.canonicalizer = canonicalizer
    self.ligands = ligands
  }

  func prepare(_ event: BindingEvent) -> BindingItem {
    switch event {
    case let .malformed(m):
      return .quarantine(Quarantined(location: m.location, line: m.line, reason: m.reason, excerpt: m.excerpt))
    case let .record(r):
      return prepare(r)
    }
  }

  func prepare(_ r: BindingRecord) -> BindingItem {
    let loc = r.location
    let name = r.reactantSetID.map { "reactant set \($0)" } ?? r.monomerID.map { "monomer \($0)" } ?? ""
    func reject(_ reason: String) -> BindingItem {
      .quarantine(Quarantined(location: loc, line: loc.line, reason: reason, excerpt: name))
    }
    let ligand: MoleculeRow
    do {
      ligand = try molecules.row(smiles: r.ligandSMILES, cache: ligands)
    } catch {
      return reject("ligand SMILES '\(String(decoding: r.ligandSMILES.prefix(80), as: UTF8.self))': \(error)")
    }
    guard !r.chains.isEmpty else { return reject("the target has no chain") }
    var chains: [PreparedChain] = []
    for (k, chain) in r.chains.enumerated() {
      let canonical: [UInt8]
      switch chain.sequence.withUnsafeBufferPointer({ canonicalizer.canonicalize($0) }) {
      case let .success(s): canonical = s
      case let .failure(e): return reject("chain \(k + 1) sequence: \(e)")
      }
      chains.append(PreparedChain(canonical: canonical))
    }
    chains.sort { $0.sha256.lexicographicallyPrecedes($1.sha256) }
    var row = BindingRow()
    row.reactantSetID = r.reactantSetID
    row.monomerID = r.monomerID
    row.pubchemCID = r.pubchemCID
    row.chemblID = r.chemblID
    row.inchikey = r.inchiKey
    row.ligandName = r.ligandName
    row.targetName = r.targetName
    row.organism = r.organism
    row.chains = Self.chainsJSON(r.chains)
    row.curation = r.curation
    row.doi = r.doi
    row.pmid = r.pmid
    row.patent = r.patent
    row.institution = r.institution
    row.pubchemAID = r.pubchemAID
    var measurements = r.measurements.map { m in
      MeasurementRow(kind: m.kind.rawValue, relation: m.relation.rawValue, value: m.value, text: m.text, error: nil,
                     pX: m.pX, pXReason: m.kind.isAffinity && m.pX == nil ? "no pX: the value is not above 0 nM" : nil)
    }
    measurements += r.badMeasurements.map {
      MeasurementRow(kind: $0.kind.rawValue, relation: nil, value: nil, text: $0.text, error: $0.reason)
    }
    return .prepared(PreparedBinding(location: loc, ligand: ligand, chains: chains,
                                     targetKey: SequenceDigest.sha256(chains.flatMap(\.sha256)), row: row,
                                     measurements: measurements))
  }

  /// `[[accession, entry name, name], ...]` in the row's chain order, or nil when no chain names one.
  static func chainsJSON(_ chains: [TargetChain]) -> String? {
    guard chains.contains(where: { $0.accession != nil || $0.entryName != nil || $0.name != nil }) else { return nil }
    var parts: [String] = []
    for c in chains {
      parts.append("[" + [c.accession, c.entryName, c.name].map { $0.map(JSONString.quoted) ?? "null" }.joined(separator: ",") + "]")
    }
    return "[" + parts.joined(separator: ",") + "]"
  }
}
