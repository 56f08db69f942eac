import TagdataCatalog

/// The catalog ids of the molecules, proteins and targets a pipeline's writer thread has written
/// or found, so that a dump repeating them (a ligand in several rows, a target in thousands, a
/// drug in every row of a table) asks SQLite once. Used by the writer thread only. The ids stay
/// valid as long as the batches that made them are committed: a batch whose write fails rolls
/// back, and then `forget()` must be called. Each map holds at most `capacity` entries (emptied
/// when full): memory does not follow the input.
final class RowIDCache {
  private var molecules: [String: Int64] = [:]
  private var proteins: [[UInt8]: Int64] = [:]
  private var targets: [[UInt8]: Int64] = [:]
  let capacity: Int

  init(capacity: Int = 1 << 16) { self.capacity = capacity }

  func molecule(_ row: MoleculeRow, _ writer: MoleculeWriter) throws -> Int64 {
    if let id = molecules[row.smiles] { return id }
    let id = try writer.molecule(row)
    if molecules.count >= capacity { molecules.removeAll(keepingCapacity: true) }
    molecules[row.smiles] = id
    return id
  }

  func protein(_ chain: PreparedChain, _ writer: ProteinWriter) throws -> Int64 {
    if let id = proteins[chain.sha256] { return id }
    let id = try writer.protein(chain)
    if proteins.count >= capacity { proteins.removeAll(keepingCapacity: true) }
    proteins[chain.sha256] = id
    return id
  }

  func target(key: [UInt8], proteins chainIDs: [Int64], _ writer: BindingWriter) throws -> Int64 {
    if let id = targets[key] { return id }
    let id = try writer.target(key: key, proteins: chainIDs)
    if targets.count >= capacity { targets.removeAll(keepingCapacity: true) }
    targets[key] = id
    return id
  }

  /// Drops every id: the batch that may have made some of them was rolled back.
  func forget() {
    molecules.removeAll()
    proteins.removeAll()
    targets.removeAll()
  }
}
