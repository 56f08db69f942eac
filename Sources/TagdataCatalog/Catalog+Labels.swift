/// Computed labels (descriptors) of the catalog's molecules and proteins: what stage 2 learns
/// from. A label is a number, a text, or no value and the reason; each carries the version of the
/// definition that computed it, so that a changed definition is recomputed and an unchanged one
/// never is.
extension Catalog {
  /// What a label belongs to.
  public enum LabelEntity: String, Sendable, CaseIterable {
    /// A row of `molecules`, computed from its canonical SMILES.
    case molecule
    /// A row of `proteins`, computed from its canonical sequence.
    case protein
  }

  /// A label's value.
  public enum LabelValue: Sendable, Equatable {
    case number(Double)
    case text(String)
    /// No value, and why (a descriptor that is not defined for this entity).
    case missing(reason: String)
  }

  /// A label as asked for: its stable name and the version of its definition.
  public struct LabelDefinition: Sendable, Equatable {
    public var name: String
    public var version: String
    public init(name: String, version: String) {
      self.name = name
      self.version = version
    }
  }

  /// An entity with labels still to compute.
  public struct PendingLabels: Sendable, Equatable {
    public var id: Int64
    /// What the labels are computed from: the canonical SMILES or the canonical sequence.
    public var input: String
    /// Which of the asked-for definitions are missing or of another version (indices into them).
    public var missing: [Int]
  }

  /// Entities whose labels among `definitions` are missing or of another version, in id order,
  /// after id `after`, at most `limit` of them: page through with the last id seen, writing each
  /// page's labels (``writeLabels(_:id:_:run:)``) in a transaction of its own.
  /// With `partition`, only entities whose id is `partition.index` modulo `partition.count`.
  public func pendingLabels(_ entity: LabelEntity, _ definitions: [LabelDefinition], after: Int64, limit: Int,
                            partition: (index: Int, count: Int)? = nil) throws -> [PendingLabels]
  {
    guard !definitions.isEmpty else { return [] }
    let (table, input) = entity == .molecule ? ("molecules", "smiles") : ("proteins", "sequence")
    let s = try db.prepare("""
      SELECT x.id, x.\(input), (
        SELECT group_concat(w.key, ',') FROM json_each(?1) w
        WHERE NOT EXISTS (
          SELECT 1 FROM labels l
          WHERE l.entity = ?2 AND l.name = json_extract(w.value, '$[0]') AND l.entity_id = x.id
            AND l.version = json_extract(w.value, '$[1]'))) AS missing
      FROM \(table) x WHERE x.id > ?3 AND x.id % ?5 = ?6 AND missing IS NOT NULL ORDER BY x.id LIMIT ?4
      """)
    var json: [UInt8] = [UInt8(ascii: "[")]
    for (k, d) in definitions.enumerated() {
      if k > 0 { json.append(UInt8(ascii: ",")) }
      json.append(UInt8(ascii: "["))
      JSONText.string(d.name, into: &json)
      json.append(UInt8(ascii: ","))
      JSONText.string(d.version, into: &json)
      json.append(UInt8(ascii: "]"))
    }
    json.append(UInt8(ascii: "]"))
    try s.bind([.text(String(decoding: json, as: UTF8.self)), .text(entity.rawValue), .int(after), .int(Int64(limit)),
                .int(Int64(partition?.count ?? 1)), .int(Int64(partition?.index ?? 0))])
    var out: [PendingLabels] = []
    while try s.step() {
      let missing = (s.text(2) ?? "").split(separator: ",").compactMap { Int($0) }
      out.append(PendingLabels(id: s.int(0), input: s.text(1) ?? "", missing: missing))
    }
    return out
  }

  /// Writes labels of one entity, replacing what was there under the same names.
  public func writeLabels(_ entity: LabelEntity, id: Int64, _ labels: [(LabelDefinition, LabelValue)], run: Int64?) throws {
    let s = try db.prepare("""
      INSERT OR REPLACE INTO labels(entity, name, entity_id, value, text, reason, version, run_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      """)
    for (d, value) in labels {
      var (number, text, reason) = (SQLValue.null, SQLValue.null, SQLValue.null)
      switch value {
      // SQLite stores NaN as NULL: a value that is not a number is recorded as missing.
      case let .number(x) where x.isNaN: reason = .text("not a number")
      case let .number(x): number = .real(x)
      case let .text(t): text = .text(t)
      case let .missing(r): reason = .text(r)
      }
      try s.bind([.text(entity.rawValue), .text(d.name), .int(id), number, text, reason, .text(d.version),
                  run.map { .int($0) } ?? .null])
      try s.execute()
    }
  }

  /// A stored label with the key of its entity.
  public struct StoredLabel: Sendable, Equatable {
    /// The molecule's canonical SMILES, or the protein's SHA-256 (64 hex digits).
    public var key: String
    public var name: String
    public var value: LabelValue
    public var version: String
  }

  /// Labels of one kind of entity, by entity key then name; `names` nil: every name.
  public func forEachLabel(_ entity: LabelEntity, names: [String]? = nil, _ body: (StoredLabel) throws -> Bool) throws {
    let key = entity == .molecule ? "x.smiles" : "lower(hex(x.sha256))"
    let table = entity == .molecule ? "molecules" : "proteins"
    let s = try db.prepare("""
      SELECT \(key), l.name, l.value, l.text, l.reason, l.version FROM labels l JOIN \(table) x ON x.id = l.entity_id
      WHERE l.entity = ?1 AND (?2 IS NULL OR l.name IN (SELECT value FROM json_each(?2)))
      ORDER BY 1, l.name
      """)
    var namesJSON: SQLValue = .null
    if let names {
      var json: [UInt8] = [UInt8(ascii: "[")]
      for (k, n) in names.enumerated() {
        if k > 0 { json.append(UInt8(ascii: ",")) }
        JSONText.string(n, into: &json)
      }
      json.append(UInt8(ascii: "]"))
      namesJSON = .text(String(decoding: json, as: UTF8.self))
    }
    try s.bind([.text(entity.rawValue), namesJSON])
    while try s.step() {
      let value: LabelValue =
        !s.isNull(2) ? .number(s.double(2)) : !s.isNull(3) ? .text(s.text(3) ?? "") : .missing(reason: s.text(4) ?? "")
      let row = StoredLabel(key: s.text(0) ?? "", name: s.text(1) ?? "", value: value, version: s.text(5) ?? "")
      if try !body(row) { break }
    }
  }

  /// Per entity kind, label name and version: how many entities have a value and how many have
  /// none (with a reason).
  public struct LabelCount: Sendable, Equatable {
    public var entity: LabelEntity
    public var name: String
    public var version: String
    public var values: Int
    public var missing: Int
  }

  public func labelCounts() throws -> [LabelCount] {
    let s = try db.prepare("""
      SELECT entity, name, version, sum(reason IS NULL), sum(reason IS NOT NULL) FROM labels
      GROUP BY entity, name, version ORDER BY entity, name, version
      """)
    var out: [LabelCount] = []
    while try s.step() {
      out.append(LabelCount(entity: LabelEntity(rawValue: s.text(0) ?? "") ?? .molecule, name: s.text(1) ?? "",
                            version: s.text(2) ?? "", values: Int(s.int(3)), missing: Int(s.int(4))))
    }
    return out
  }
}
