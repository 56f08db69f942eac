/// Labels computed by partitions (`tagdata describe --catalog C --partition i/N --out PART`):
/// partition `i` of `N` labels the molecules and proteins of `C` whose id is `i` modulo `N`
/// (deterministic, balanced, and the same on a rerun), reading `C` only. Its output `PART` is a
/// catalog holding the entities it labelled (their rows copied from `C`, same ids), their labels,
/// and one row of `label_partition` saying which catalog, partition and label definitions they
/// are of. `tagdata catalog merge --out C PART...` puts the labels into `C` through the merge's
/// own label copy (entities matched by canonical key), after checking that every part was made
/// from `C` as it is and that the parts are every partition of one plan.
extension Catalog {
  /// What a labels part holds: where it came from and what it was asked for.
  public struct LabelPartition: Sendable, Equatable {
    /// ``labelOrigin()`` of the catalog the labels were computed from.
    public var origin: String
    public var partition: Int
    public var partitions: Int
    /// The label definitions, as `entity:name@version` joined by commas, sorted.
    public var definitions: String

    public init(origin: String, partition: Int, partitions: Int, definitions: String) {
      self.origin = origin
      self.partition = partition
      self.partitions = partitions
      self.definitions = definitions
    }
  }

  /// Why a labels part cannot be made or merged.
  public enum LabelPartitionError: Error, CustomStringConvertible, Equatable {
    case otherCatalog(part: String, message: String)
    case incomplete(message: String)
    case mixed(part: String)

    public var description: String {
      switch self {
      case let .otherCatalog(part, message): return "\(part): \(message)"
      case let .incomplete(message): return message
      case let .mixed(part):
        return "\(part): a labels part (tagdata describe --partition) is merged into the catalog it was made from, "
          + "with the other labels parts only; merge ingest partitions separately"
      }
    }
  }

  /// The identity of a catalog's entities, as a labels part records it: the first run's time and
  /// arguments (which catalog), and each entity table's count, largest id and the key of that
  /// row (what it holds now: entities are only ever added, so any change shows here).
  public func labelOrigin() throws -> String {
    var parts: [String] = []
    let run = try db.prepare("SELECT started_at, arguments FROM runs ORDER BY id LIMIT 1")
    parts.append(try run.step() ? "first run \(run.text(0) ?? "") \(run.text(1) ?? "")" : "no run")
    for (table, key) in [("molecules", "smiles"), ("proteins", "lower(hex(sha256))")] {
      let s = try db.prepare("""
        SELECT count(*), max(id), (SELECT \(key) FROM \(table) ORDER BY id DESC LIMIT 1) FROM \(table)
        """)
      _ = try s.step()
      parts.append("\(table) \(s.int(0)) up to id \(s.isNull(1) ? 0 : s.int(1)) (\(s.text(2) ?? "-"))")
    }
    return parts.joined(separator: "; ")
  }

  /// The `label_partition` row of this catalog, or nil when it is not a labels part.
  public func labelPartition() throws -> LabelPartition? {
    guard try db.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'label_partition'") == 1 else {
      return nil
    }
    let s = try db.prepare("SELECT origin, partition, partitions, definitions FROM label_partition LIMIT 1")
    guard try s.step() else { return nil }
    return LabelPartition(origin: s.text(0) ?? "", partition: Int(s.int(1)), partitions: Int(s.int(2)),
                          definitions: s.text(3) ?? "")
  }

  /// Makes this (new or earlier) catalog the labels part `label` of the catalog at `originPath`,
  /// attached as `origin` for copying entity rows. A catalog that is already another part (of
  /// another catalog, partition or set of labels), or holds anything but labels, is refused.
  public func beginLabelPartition(_ label: LabelPartition, originPath: String, path: String) throws {
    if let existing = try labelPartition() {
      guard existing == label else {
        throw LabelPartitionError.otherCatalog(
          part: path, message: "holds labels of partition \(existing.partition)/\(existing.partitions) of "
            + (existing.origin == label.origin ? "this catalog" : "another catalog (\(existing.origin))")
            + (existing.definitions == label.definitions ? "" : " for other labels")
            + "; give another --out")
      }
    } else {
      let rows = try db.scalar("SELECT (SELECT count(*) FROM sources) + (SELECT count(*) FROM molecules) + (SELECT count(*) FROM proteins)") ?? 0
      guard rows == 0 else {
        throw LabelPartitionError.otherCatalog(part: path, message: "is a catalog with content, not a labels part; give a new file as --out")
      }
      try db.transaction {
        try db.execute("""
          CREATE TABLE label_partition(origin TEXT NOT NULL, partition INTEGER NOT NULL, partitions INTEGER NOT NULL,
            definitions TEXT NOT NULL)
          """)
        try db.prepare("INSERT INTO label_partition VALUES (?, ?, ?, ?)")
          .run([.text(label.origin), .int(Int64(label.partition)), .int(Int64(label.partitions)), .text(label.definitions)])
      }
    }
    try db.prepare("ATTACH DATABASE ? AS origin").run([.text(originPath)])
  }

  /// Copies the rows of `ids` (same ids) from the attached origin catalog (see
  /// ``beginLabelPartition(_:originPath:path:)``) into this labels part.
  public func copyLabelledEntities(_ entity: LabelEntity, ids: [Int64]) throws {
    guard !ids.isEmpty else { return }
    let table = entity == .molecule ? "molecules" : "proteins"
    let s = try db.prepare("INSERT OR IGNORE INTO main.\(table) SELECT * FROM origin.\(table) WHERE id = ?")
    for id in ids { try s.run([.int(id)]) }
  }

  /// Of `pending` (entities of the origin catalog with labels to compute), the labels this part
  /// still lacks: a rerun of a killed partition computes only what it had not committed.
  public func stillPending(_ entity: LabelEntity, _ definitions: [LabelDefinition], _ pending: [PendingLabels]) throws
    -> [PendingLabels]
  {
    let s = try db.prepare("SELECT 1 FROM main.labels WHERE entity = ? AND entity_id = ? AND name = ? AND version = ?")
    return try pending.compactMap { item in
      var item = item
      item.missing = try item.missing.filter { k in
        try s.bind([.text(entity.rawValue), .int(item.id), .text(definitions[k].name), .text(definitions[k].version)])
        defer { s.reset() }
        return try !s.step()
      }
      return item.missing.isEmpty ? nil : item
    }
  }

  /// Checks labels parts before they are merged into this catalog: each made from this catalog
  /// as it is now, all of one plan (N and definitions), every partition present.
  func checkLabelParts(_ parts: [(path: String, label: LabelPartition)]) throws {
    let origin = try labelOrigin()
    for (path, label) in parts where label.origin != origin {
      throw LabelPartitionError.otherCatalog(
        part: path, message: "labels of another catalog, or of this one before it changed (made from: \(label.origin); "
          + "this catalog: \(origin)); run that describe partition again on this catalog")
    }
    guard let first = parts.first?.label else { return }
    for (path, label) in parts where label.partitions != first.partitions || label.definitions != first.definitions {
      throw LabelPartitionError.otherCatalog(
        part: path, message: "partition \(label.partition)/\(label.partitions) of another describe run (other N or labels) "
          + "than \(parts[0].path) (\(first.partition)/\(first.partitions)); merge the parts of one run")
    }
    for (path, label) in parts where label.partitions < 1 || label.partition < 0 || label.partition >= label.partitions {
      throw LabelPartitionError.otherCatalog(
        part: path, message: "names partition \(label.partition)/\(label.partitions), which does not exist (damaged?)")
    }
    let present = Set(parts.map(\.label.partition))
    if let missing = (0..<first.partitions).first(where: { !present.contains($0) }) {
      throw LabelPartitionError.incomplete(
        message: "labels partition \(missing)/\(first.partitions) is missing (parts given: "
          + present.sorted().map { "\($0)/\(first.partitions)" }.joined(separator: ", ") + ")")
    }
  }
}
