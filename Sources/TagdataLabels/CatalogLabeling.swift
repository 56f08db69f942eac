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
    try label(from: catalog, into: catalog, descriptors, partition: nil, run: run, pageSize: pageSize, progress: progress)
  }

  /// The definitions of `descriptors` as a labels part records them (see
  /// ``Catalog/LabelPartition``): `entity:name@version`, sorted, joined by commas.
  public static func definitionsKey(_ descriptors: [DescriptorInfo]) -> String {
    descriptors.map { "\($0.kind.rawValue):\($0.name)@\($0.version)" }.sorted().joined(separator: ",")
  }

  /// Partition `partition.index` of `partition.count` of labelling `catalog` (only read): the
  /// molecules and proteins whose id is the index modulo the count and that lack a label (or
  /// have one of another version) in `catalog`, their rows and labels written into `part` (a new
  /// file, or the same part again after an interrupted run: what it committed is not computed
  /// again). `catalogPath` is the catalog's path (attached to the part to copy rows);
  /// `partPath` names the part in errors. Merge the parts into the catalog with
  /// `Catalog.merge(parts:)`.
  public static func labelPartition(_ catalog: Catalog, catalogPath: String, into part: Catalog, partPath: String,
                                    _ descriptors: [DescriptorInfo], partition: (index: Int, count: Int), run: Int64?,
                                    pageSize: Int = 512, progress: ((LabelKind, Int) -> Void)? = nil) throws
    -> [LabelKind: Summary]
  {
    let label = Catalog.LabelPartition(origin: try catalog.labelOrigin(), partition: partition.index,
                                       partitions: partition.count, definitions: definitionsKey(descriptors))
    try part.beginLabelPartition(label, originPath: catalogPath, path: partPath)
    return try Self.label(from: catalog, into: part, descriptors, partition: partition, run: run, pageSize: pageSize,
                          progress: progress)
  }

  /// Labels the entities of `catalog` that lack labels into `output` (the catalog itself, or a
  /// labels part), all of them or one partition's (by id modulo the count).
  static func label(from catalog: Catalog, into output: Catalog, _ descriptors: [DescriptorInfo],
                    partition: (index: Int, count: Int)?, run: Int64?, pageSize: Int,
                    progress: ((LabelKind, Int) -> Void)?) throws -> [LabelKind: Summary]
  {
    let intoPart = partition != nil
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
        let found = try catalog.pendingLabels(entity, definitions, after: after, limit: pageSize, partition: partition)
        guard let last = found.last else { break }
        let page = intoPart ? try output.stillPending(entity, definitions, found) : found
        try output.transaction {
          if intoPart { try output.copyLabelledEntities(entity, ids: page.map(\.id)) }
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
            try output.writeLabels(entity, id: item.id, rows, run: run)
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
