import Foundation
import TagdataBio
import TagdataCatalog

/// The manifest a partitioned ingest writes beside its catalog (`CATALOG.partition.json`): the
/// plan's inputs, the partition's work units with what each gave, the totals, and the SHA-256 of
/// the catalog's content (its dump without provenance). Written last, atomically: a partition
/// whose manifest exists finished every unit.
public struct IngestPartitionManifest: Codable, Sendable, Equatable {
  public static let format = "tagdata-ingest-partition/1"

  public struct Input: Codable, Sendable, Equatable {
    public var path: String
    public var size: Int64
  }
  public struct Unit: Codable, Sendable, Equatable {
    public var path: String
    /// The byte range read, nil for the whole file.
    public var start: Int64?
    public var end: Int64?
    public var bytes: Int64
    public var status: String
    public var format: String?
    public var records: Int
    public var quarantined: Int
  }
  public struct Totals: Codable, Sendable, Equatable {
    public var records = 0
    public var quarantined = 0
    public var newProteins = 0
    public var newMolecules = 0
  }

  public var format = IngestPartitionManifest.format
  public var partition: Int
  public var partitions: Int
  public var inputs: [Input]
  public var units: [Unit]
  public var totals: Totals
  public var catalogSha256: String

  /// Where the manifest of the catalog at `catalog` goes.
  public static func path(catalog: String) -> String { catalog + ".partition.json" }

  /// The manifest of partition `spec` of `plan`, ingested into the catalog at `catalog` with
  /// `reports` (one per unit of the partition, in order).
  public init(plan: PartitionPlan, spec: PartitionSpec, reports: [FileReport], catalog: String) throws {
    partition = spec.index
    partitions = spec.count
    var inputs: [Input] = []
    var seen = Set<String>()
    for (u, _) in plan.assignments where seen.insert(u.path).inserted {
      var st = stat()
      inputs.append(Input(path: u.path, size: stat(u.path, &st) == 0 ? Int64(st.st_size) : -1))
    }
    self.inputs = inputs
    var totals = Totals()
    units = zip(plan.units(for: spec.index), reports).map { u, r in
      totals.records += r.records
      totals.quarantined += r.quarantined
      totals.newProteins += r.newProteins
      totals.newMolecules += r.newMolecules
      return Unit(path: u.path, start: u.range?.lowerBound, end: u.range?.upperBound, bytes: u.bytes, status: r.status.rawValue,
                  format: r.format, records: r.records, quarantined: r.quarantined)
    }
    self.totals = totals
    let db = try Catalog(path: catalog, readOnly: true)
    var d = StreamDigest()
    try db.dump(provenance: false) { line in d.update(UnsafeRawBufferPointer(line)) }
    catalogSha256 = SequenceDigest.hex(d.finalize())
  }

  /// Writes the manifest next to `catalog`, atomically.
  public func write(catalog: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let path = Self.path(catalog: catalog)
    do {
      try (encoder.encode(self) + Data([0x0A])).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw IngestError.catalog(file: path, record: nil, underlying: error)
    }
  }
}
