import Foundation
import TagdataBio

/// The manifest a partitioned ingest writes beside its catalog (`CATALOG.partition.json`): the
/// plan's inputs with their identity (size and the SHA-256 of their first 64 KiB, as the
/// catalog's sources know a file), the partition's work units with what each gave, and the
/// totals. Written last, atomically: a partition whose manifest exists finished every unit. (A
/// hash of the catalog's content would cost a dump of it, more than the ingest itself.)
public struct IngestPartitionManifest: Codable, Sendable, Equatable {
  public static let format = "tagdata-ingest-partition/1"

  public struct Input: Codable, Sendable, Equatable {
    public var path: String
    public var size: Int64
    /// SHA-256 of the first 64 KiB (nil when the file cannot be read).
    public var headSha256: String?
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
      inputs.append(Input(path: u.path, size: stat(u.path, &st) == 0 ? Int64(st.st_size) : -1, headSha256: Self.headDigest(u.path)))
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
  }

  /// SHA-256 of a file's first 64 KiB.
  static func headDigest(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
    return SequenceDigest.hex(SequenceDigest.sha256(Array(buffer[0..<n])))
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
