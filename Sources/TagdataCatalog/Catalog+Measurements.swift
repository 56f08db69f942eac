#if canImport(Glibc)
import Glibc
#endif

/// Binding measurements read back for the task builders: one value per (molecule, target, kind)
/// under a stated aggregation policy, with the number of measurements behind it.
extension Catalog {
  /// How the measurements of one (molecule, target, kind) become one value.
  public enum AggregationPolicy: String, Sendable, CaseIterable {
    /// Arithmetic mean on the chosen scale.
    case mean
    /// Median on the chosen scale (the mean of the two middle values for an even count).
    case median
    /// TDC's `max_affinity`: the strongest binding, i.e. the smallest nM or the largest pX.
    case maxAffinity = "max_affinity"
  }

  /// What to do with censored values (`<`, `>`, `<=`, `>=`: bounds, not measurements).
  public enum CensoredPolicy: String, Sendable, CaseIterable {
    /// Left out.
    case exclude
    /// Used at their stated value and counted apart (``AggregatedMeasurement/censored``), never
    /// silently taken for exact ones.
    case keep
  }

  /// The scale values are aggregated on.
  public enum MeasurementScale: String, Sendable, CaseIterable {
    /// As stored (nM for the affinities).
    case raw
    /// pX = 9 − log10(nM), affinities only; values ≤ 0, which have none, are left out.
    case pX
  }

  /// One aggregated value.
  public struct AggregatedMeasurement: Sendable, Equatable {
    /// The ligand's canonical SMILES.
    public var smiles: String
    /// The target's key (SHA-256 of its chains, 64 hex digits).
    public var target: String
    public var kind: String
    public var value: Double
    /// Measurements behind the value.
    public var count: Int
    /// Of which censored (only with ``CensoredPolicy/keep``).
    public var censored: Int
  }

  /// A policy that does not apply to a kind.
  public struct AggregationError: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  static let affinityKinds: Set<String> = ["Ki", "IC50", "Kd", "EC50"]

  /// Aggregated measurements of `kind` (every kind when nil), by SMILES, target and kind.
  /// Measurements whose cell could not be read are never used.
  public func forEachAggregatedMeasurement(kind: String? = nil, policy: AggregationPolicy, censored: CensoredPolicy,
                                           scale: MeasurementScale, _ body: (AggregatedMeasurement) throws -> Bool) throws
  {
    if let kind, !Self.affinityKinds.contains(kind), policy == .maxAffinity || scale == .pX {
      throw AggregationError(description: "\(kind) is not an affinity: max_affinity and pX apply to Ki, IC50, Kd and EC50")
    }
    let s = try db.prepare("""
      SELECT m.smiles, lower(hex(t.key)), x.kind, x.relation, x.value FROM measurements x
      JOIN molecules m ON m.id = x.molecule_id JOIN targets t ON t.id = x.target_id
      WHERE x.error IS NULL AND (?1 IS NULL OR x.kind = ?1)
        AND (?2 = 0 OR x.kind IN ('Ki', 'IC50', 'Kd', 'EC50'))
      ORDER BY m.smiles, t.key, x.kind, x.value
      """)
    try s.bind([kind.map { .text($0) } ?? .null, .int(policy == .maxAffinity || scale == .pX ? 1 : 0)])
    var key: (String, String, String)?
    var values: [Double] = []
    var censoredCount = 0
    var stop = false
    func emit() throws {
      guard let k = key, !values.isEmpty else { return }
      let v: Double
      switch policy {
      case .mean:
        v = values.reduce(0, +) / Double(values.count)
      case .median:
        values.sort()
        let n = values.count
        v = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2
      case .maxAffinity:
        v = scale == .pX ? values.max()! : values.min()!
      }
      if try !body(AggregatedMeasurement(smiles: k.0, target: k.1, kind: k.2, value: v, count: values.count,
                                         censored: censoredCount)) { stop = true }
    }
    while try s.step() {
      let row = (s.text(0) ?? "", s.text(1) ?? "", s.text(2) ?? "")
      if key.map({ $0 != row }) ?? true {
        try emit()
        if stop { return }
        key = row
        values.removeAll(keepingCapacity: true)
        censoredCount = 0
      }
      let relation = s.text(3) ?? "="
      let isCensored = relation != "=" && relation != "~"
      if isCensored && censored == .exclude { continue }
      var value = s.double(4)
      if scale == .pX {
        guard value > 0 else { continue }
        value = 9 - log10(value)
      }
      values.append(value)
      if isCensored { censoredCount += 1 }
    }
    try emit()
  }

  /// Binding measurement counts: rows, targets, measurements with a value, and cells that could
  /// not be read.
  public func measurementCounts() throws -> (records: Int, targets: Int, measurements: Int, unreadable: Int) {
    func n(_ sql: String) throws -> Int { Int(try db.scalar(sql) ?? 0) }
    return (try n("SELECT count(*) FROM binding_records"), try n("SELECT count(*) FROM targets"),
            try n("SELECT count(*) FROM measurements WHERE error IS NULL"),
            try n("SELECT count(*) FROM measurements WHERE error IS NOT NULL"))
  }
}

extension Catalog {
  /// The chains of a target (key as 64 hex digits), in key order: each chain's SHA-256 (hex) and
  /// canonical sequence. Empty for an unknown target.
  public func targetChains(_ keyHex: String) throws -> [(sha256: String, sequence: String)] {
    var key: [UInt8] = []
    var hi: UInt8?
    for c in keyHex.utf8 {
      let v: UInt8
      switch c {
      case 0x30...0x39: v = c - 0x30
      case 0x61...0x66: v = c - 0x61 + 10
      case 0x41...0x46: v = c - 0x41 + 10
      default: return []
      }
      if let h = hi { key.append(h << 4 | v); hi = nil } else { hi = v }
    }
    let s = try db.prepare("""
      SELECT lower(hex(p.sha256)), p.sequence FROM targets t JOIN target_chains c ON c.target_id = t.id
      JOIN proteins p ON p.id = c.protein_id WHERE t.key = ?1 ORDER BY c.ordinal
      """)
    try s.bind([.blob(key)])
    var out: [(String, String)] = []
    while try s.step() { out.append((s.text(0) ?? "", s.text(1) ?? "")) }
    return out
  }
}
