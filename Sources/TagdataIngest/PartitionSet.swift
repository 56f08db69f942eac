import Foundation
import TagdataCatalog

/// The check that the catalogs given to `tagdata catalog merge` hold every partition of one
/// partitioned ingest. The byte ranges of a file cut into ranges show a missing partition; a
/// partition that read whole files only leaves no range to miss, so the partitions themselves
/// are counted: each catalog's from its `partition_ranges` and, for one that read nothing
/// (more partitions than units), from the manifest beside it.
public enum IngestPartitionSet {
  /// Throws when the parts are ingest partitions of different N, or when a partition of their
  /// N is among none of them. Parts of no partitioned ingest (labels parts, whole catalogs)
  /// are not counted.
  public static func check(parts: [String]) throws {
    var seen: [(part: String, partition: Int, partitions: Int)] = []
    var unknown: [String] = []
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    for part in parts {
      let catalog = try Catalog(path: part, readOnly: true)
      if try catalog.labelPartition() != nil { continue }
      var mine = try catalog.recordedPartitions().map { (part, $0.partition, $0.partitions) }
      if let data = FileManager.default.contents(atPath: IngestPartitionManifest.path(catalog: part)),
        let m = try? decoder.decode(IngestPartitionManifest.self, from: data),
        !mine.contains(where: { $0.1 == m.partition && $0.2 == m.partitions })
      {
        mine.append((part, m.partition, m.partitions))
      }
      if mine.isEmpty, let spec = try runPartition(catalog) {
        // A partition that failed before any unit was recorded (an input missing): its run says which.
        mine.append((part, spec.index, spec.count))
      }
      if mine.isEmpty { unknown.append(part) }
      seen += mine
    }
    guard let first = seen.first else { return }
    if let other = seen.first(where: { $0.partitions != first.partitions }) {
      throw MergeError.incompleteRanges(
        file: other.part, message: "is partition \(other.partition)/\(other.partitions), \(first.part) is partition "
          + "\(first.partition)/\(first.partitions): the partitions of one ingest (one N) are merged together")
    }
    for p in seen where p.partition < 0 || p.partition >= p.partitions {
      throw MergeError.incompleteRanges(file: p.part, message: "names partition \(p.partition)/\(p.partitions), which does not exist")
    }
    let present = Set(seen.map(\.partition))
    guard present.count < first.partitions else { return }
    var missing: [String] = []
    var k = 0
    while k < first.partitions && missing.count < 10 {
      if !present.contains(k) { missing.append("\(k)/\(first.partitions)") }
      k += 1
    }
    let more = first.partitions - present.count - missing.count
    throw MergeError.incompleteRanges(
      file: parts.count == 1 ? parts[0] : "the partitions given",
      message: "ingest partitions missing: " + missing.joined(separator: ", ") + (more > 0 ? " and \(more) more" : "")
        + " (their catalogs are needed even when they read nothing: give every partition's catalog"
        + (unknown.isEmpty ? "" : "; no partition is recorded in " + unknown.prefix(3).joined(separator: ", ")
             + (unknown.count > 3 ? " and \(unknown.count - 3) more" : "") + ": ingest again the partition it is")
        + ")")
  }

  /// The partition named by the last ingest run of `catalog` (`--partition i/N` in its
  /// arguments), if any.
  static func runPartition(_ catalog: Catalog) throws -> PartitionSpec? {
    var found: PartitionSpec?
    try catalog.forEachRunArguments { arguments in
      let words = arguments.split(separator: " ").map(String.init)
      guard words.dropFirst().first == "ingest" else { return }
      for (k, w) in words.enumerated() {
        let value = w.hasPrefix("--partition=") ? String(w.dropFirst("--partition=".count))
          : (w == "--partition" && k + 1 < words.count ? words[k + 1] : nil)
        if let value, let spec = try? PartitionSpec(parsing: value) { found = spec }
      }
    }
    return found
  }
}
