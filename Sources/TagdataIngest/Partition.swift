#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TagdataBio
import TagdataCatalog
import TagdataIO
import TagdataSources

/// One partition of N: `i/N` with `0 <= i < N` (Slurm's `SLURM_ARRAY_TASK_ID` and the array size).
public struct PartitionSpec: Sendable, Equatable, CustomStringConvertible {
  public var index: Int
  public var count: Int

  public init(index: Int, count: Int) throws {
    guard count >= 1, index >= 0, index < count else {
      throw PartitionError.badSpec("\(index)/\(count): need 0 <= i < N and N >= 1")
    }
    self.index = index
    self.count = count
  }

  /// Parses `i/N`.
  public init(parsing text: String) throws {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
      throw PartitionError.badSpec("'\(text)': expected i/N, e.g. 0/4")
    }
    try self.init(index: i, count: n)
  }

  public var description: String { "\(index)/\(count)" }
}

public enum PartitionError: Error, CustomStringConvertible, Equatable {
  case badSpec(String)
  case notPartitionable(file: String, message: String)

  public var description: String {
    switch self {
    case let .badSpec(m): return "partition \(m)"
    case let .notPartitionable(file, m): return "\(file): \(m)"
    }
  }
}

/// A unit of work: a whole input file, or the byte range `[start, end)` of one large
/// uncompressed file whose ends are record boundaries of its format.
public struct WorkUnit: Sendable, Equatable, CustomStringConvertible {
  /// The path as given.
  public var path: String
  /// The byte range, or nil for the whole file.
  public var range: Range<Int64>?
  /// Bytes of work (the file's or the range's size on disk), for balancing.
  public var bytes: Int64
  /// Position of the file among the inputs (sorted by path), for a stable order.
  public var fileOrder: Int

  public var description: String {
    guard let range else { return path }
    return "\(path) [\(range.lowerBound), \(range.upperBound))"
  }
}

/// The deterministic assignment of work units to N partitions, computed alike by every
/// partition from the inputs alone (their paths, sizes and first bytes), so that the N
/// partitions together read every record of every input exactly once.
///
/// The rule:
/// 1. Inputs are sorted by path (byte order); duplicates are dropped.
/// 2. A file is one unit, unless it is uncompressed, in a format with record boundaries
///    (UniProt flat: after `//`; SDF: after `$$$$`; FASTA: at `>` at a line start; CID-SMILES
///    and BindingDB TSV: at any line start, the header read by every range; see ``RecordBoundary``) and larger than a partition's fair share of all
///    input bytes (`total / N`): then it is cut into `k = min(N, ceil(size * N / total))` ranges
///    at the raw offsets `size * j / k`, each moved forward to the next record boundary (ranges
///    left empty, when two cuts move to the same boundary, are dropped). Compressed files
///    (gzip, also multi-member; bzip2; zip), XML, ASN.1 and tables are whole
///    units: a gzip member's start (and the decompressed offset, line and record number there)
///    is only known by decompressing everything before it, which is the work being divided.
/// 3. Units are sorted by bytes, largest first (ties: file order, then range start), and each is
///    given to the partition with the fewest bytes so far (ties: the lowest index): the greedy
///    longest-processing-time rule, within 4/3 of the best balance.
public struct PartitionPlan: Sendable {
  public let partitions: Int
  /// Every unit with its partition, in file order then range start.
  public let assignments: [(unit: WorkUnit, partition: Int)]

  public func units(for partition: Int) -> [WorkUnit] {
    assignments.filter { $0.partition == partition }.map(\.unit)
  }

  /// Plans `files` over `partitions` partitions. Standard input cannot be partitioned. With
  /// `splitFiles` false every file is a whole unit (tables read with a mapping: their header
  /// is needed by every range).
  public init(files: [String], partitions: Int, splitFiles: Bool = true) throws {
    guard partitions >= 1 else { throw PartitionError.badSpec("N must be at least 1") }
    self.partitions = partitions
    var seen = Set<String>()
    let paths = files.filter { seen.insert($0).inserted }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    var sized: [(path: String, size: Int64, boundary: InputFormat?)] = []
    for path in paths {
      if path == "-" {
        throw PartitionError.notPartitionable(file: "<stdin>", message: "standard input cannot be partitioned (it is read once); give files")
      }
      // Looked at without opening: opening a FIFO would wait for a writer, and reading it would
      // take its bytes from the partition that owns it.
      var st = stat()
      guard stat(path, &st) == 0 else {
        // Missing or unreadable: a whole unit, whose partition reports the error as ingest does.
        sized.append((path, 0, nil))
        continue
      }
      guard (st.st_mode & S_IFMT) == S_IFREG else {
        throw PartitionError.notPartitionable(file: path, message: "not a regular file; a partitioned ingest plans from file sizes and offsets")
      }
      let size = Int64(st.st_size)
      var splittable: InputFormat?
      if splitFiles, let head = try? FileSource(path: path).readPrefix(InputFormat.detectionBytes),
        (try? Compression.sniff(head, file: path)) == Compression.none,
        let format = try? InputFormat.detect(head, file: path), format.recordBoundary != nil
      {
        splittable = format
      }
      sized.append((path, size, splittable))
    }
    let total = max(1, sized.reduce(Int64(0)) { $0 + $1.size })
    var units: [WorkUnit] = []
    for (order, f) in sized.enumerated() {
      let pieces = f.boundary == nil || partitions == 1 ? 1
        : Int(min(Int64(partitions), (f.size * Int64(partitions) + total - 1) / total))
      guard pieces > 1, let format = f.boundary else {
        units.append(WorkUnit(path: f.path, range: nil, bytes: f.size, fileOrder: order))
        continue
      }
      var cuts: [Int64] = [0]
      for j in 1..<pieces {
        let raw = f.size * Int64(j) / Int64(pieces)
        cuts.append(max(cuts.last!, try format.nextRecordStart(path: f.path, from: raw, size: f.size)))
      }
      cuts.append(f.size)
      // A range between two cuts moved to the same boundary is empty: no unit.
      for j in 0..<pieces where cuts[j] < cuts[j + 1] {
        units.append(WorkUnit(path: f.path, range: cuts[j]..<cuts[j + 1], bytes: cuts[j + 1] - cuts[j], fileOrder: order))
      }
    }
    let byCost = units.indices.sorted { a, b in
      let (x, y) = (units[a], units[b])
      if x.bytes != y.bytes { return x.bytes > y.bytes }
      if x.fileOrder != y.fileOrder { return x.fileOrder < y.fileOrder }
      return (x.range?.lowerBound ?? 0) < (y.range?.lowerBound ?? 0)
    }
    var load = [Int64](repeating: 0, count: partitions)
    var owner = [Int](repeating: 0, count: units.count)
    for u in byCost {
      var best = 0
      for p in 1..<partitions where load[p] < load[best] { best = p }
      owner[u] = best
      load[best] += units[u].bytes
    }
    assignments = units.indices.map { (units[$0], owner[$0]) }
  }
}

/// The content hash of files merged from byte ranges.
public enum MergedContentHash {
  /// Gives each complete source without a content hash (a file merged from byte ranges: no
  /// partition read all of it) the SHA-256 of the file, read once, when the file is still there
  /// with the size and modification time it had when ingested. Returns the paths it could not
  /// hash (moved or changed since); those keep no hash, and their provenance is dumped under
  /// `incomplete`.
  public static func fill(_ catalog: Catalog) throws -> [String] {
    var missing: [String] = []
    for s in try catalog.sourcesWithoutContentHash() {
      guard let file = try? FileSource(path: s.path), file.size == s.size,
        file.modificationTimeNanoseconds == s.mtimeNanoseconds
      else {
        missing.append(s.path)
        continue
      }
      var digest = StreamDigest()
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
      defer { buffer.deallocate() }
      while true {
        let n = try file.read(into: buffer)
        if n == 0 { break }
        digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
      }
      try catalog.setContentHash(source: s.id, sha256: SequenceDigest.hex(digest.finalize()))
    }
    return missing
  }
}
