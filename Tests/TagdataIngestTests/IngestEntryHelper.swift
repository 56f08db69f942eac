import TagdataBio
import TagdataCatalog
@testable import TagdataIngest
import TagdataSources

/// A record that could not be prepared, where a test expected one.
struct UnpreparedRecord: Error, CustomStringConvertible {
  var description: String
}

extension ProteinWriter {
  /// Writes an entry exactly as ingest does: a packed record (residues `sequence`, other fields
  /// set by `fill`), checked and laid out by the ingest preparer, then mapped to rows by
  /// ``ProteinPipeline/writeRows(_:arena:writer:)``. Tests reach the catalog through the same
  /// mapping as every reader.
  @discardableResult
  func ingestEntry(sequence: String, _ fill: (inout PackedProtein, inout ProteinArena) -> Void) throws
    -> (protein: Int64, entry: Int64?)
  {
    var arena = ProteinArena()
    var p = PackedProtein(format: .uniprotFlat, location: RecordLocation(index: 0, line: 1, offset: 0))
    p.sequence = arena.append(sequence)
    fill(&p, &arena)
    switch ProteinPreparer(ProteinCanonicalizer()).prepare(p, in: &arena) {
    case let .prepared(prepared): return try ProteinPipeline.writeRows(prepared, arena: arena, writer: self)
    case let .rejected(q): throw UnpreparedRecord(description: q.reason)
    }
  }
}
