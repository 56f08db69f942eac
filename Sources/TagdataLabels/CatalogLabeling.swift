import TagdataCatalog

/// Stores descriptors of a catalog's molecules and proteins in its `labels` table: computed only
/// where a label is missing or was stored under another version of its definition, a page of
/// entities per transaction (an interrupted run keeps what it finished and resumes there).
public enum CatalogLabeling {
  /// What one labelling run did, per kind.
  public struct Summary: Sendable, Equatable {
    /// Entities that had at least one label to compute.
    public var entities = 0
    /// Labels written with a value.
    public var values = 0
    /// Labels written without a value (with the reason).
    public var missing = 0
  }

  /// Labels the catalog's molecules with the molecule descriptors of `descriptors` and its
  /// proteins with the protein ones. `progress` is called after each page with the entities
  /// done so far.
  public static func label(_ catalog: Catalog, _ descriptors: [DescriptorInfo], run: Int64?, pageSize: Int = 512,
                           progress: ((LabelKind, Int) -> Void)? = nil) throws -> [LabelKind: Summary]
  {
    var out: [LabelKind: Summary] = [:]
    for kind in LabelKind.allCases {
      let chosen = descriptors.filter { $0.kind == kind }
      guard !chosen.isEmpty else { continue }
      let definitions = chosen.map { Catalog.LabelDefinition(name: $0.name, version: $0.version) }
      let compute: (String) -> [LabelValue]
      switch kind {
      case .molecule:
        let labeler = MoleculeLabeler(chosen)
        compute = { labeler.label(smiles: Array($0.utf8)) }
      case .protein:
        let labeler = ProteinLabeler(chosen)
        compute = { var s = $0; return s.withUTF8 { labeler.label(sequence: $0) } }
      }
      let entity: Catalog.LabelEntity = kind == .molecule ? .molecule : .protein
      var summary = Summary()
      var after: Int64 = 0
      while true {
        let page = try catalog.pendingLabels(entity, definitions, after: after, limit: pageSize)
        guard let last = page.last else { break }
        try catalog.transaction {
          for item in page {
            let values = compute(item.input)
            var rows: [(Catalog.LabelDefinition, Catalog.LabelValue)] = []
            rows.reserveCapacity(item.missing.count)
            for k in item.missing {
              switch values[k] {
              case let .number(x):
                rows.append((definitions[k], .number(x)))
                summary.values += 1
              case let .text(t):
                rows.append((definitions[k], .text(t)))
                summary.values += 1
              case let .missing(reason):
                rows.append((definitions[k], .missing(reason: reason)))
                summary.missing += 1
              }
            }
            try catalog.writeLabels(entity, id: item.id, rows, run: run)
          }
        }
        summary.entities += page.count
        after = last.id
        progress?(kind, summary.entities)
      }
      out[kind] = summary
    }
    return out
  }
}
