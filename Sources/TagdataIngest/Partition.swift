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

/// A unit of work: a whole input file, the byte range `[start, end)` of one large
/// uncompressed file whose ends are record boundaries of its format, or the whole members
/// `[start, end)` (compressed bytes) of one large multi-member gzip file.
public struct WorkUnit: Sendable, Equatable, CustomStringConvertible {
  /// The path as given.
  public var path: String
  /// The byte range (in the file as stored), or nil for the whole file.
  public var range: Range<Int64>?
  /// For a span of gzip members: where its members' decompressed bytes start and end in the
  /// file's decompressed stream (the end nil for the file's last span). Its records are those
  /// cut by ``MemberSpanSource`` (from the first record boundary after the start, unless it is
  /// the file's start, to the first one after the end).
  public var members: MemberSpan?
  /// Bytes of work (the file's or the range's size on disk), for balancing.
  public var bytes: Int64
  /// Position of the file among the inputs (sorted by path), for a stable order.
  public var fileOrder: Int

  public init(path: String, range: Range<Int64>?, members: MemberSpan? = nil, bytes: Int64, fileOrder: Int) {
    self.path = path
    self.range = range
    self.members = members
    self.bytes = bytes
    self.fileOrder = fileOrder
  }

  public var description: String {
    guard let range else { return path }
    guard let members else { return "\(path) [\(range.lowerBound), \(range.upperBound))" }
    return "\(path) members [\(range.lowerBound), \(range.upperBound)) decompressed from \(members.decompressedStart)"
  }
}

/// The decompressed side of a span of gzip members.
public struct MemberSpan: Sendable, Equatable {
  public var decompressedStart: Int64
  /// Nil for the file's last span (to the end of the file).
  public var decompressedEnd: Int64?
}

/// The deterministic assignment of work units to N partitions, computed alike by every
/// partition from the inputs alone (their paths, sizes and first bytes), so that the N
/// partitions together read every record of every input exactly once.
///
/// The rule:
/// 1. Inputs are sorted by path (byte order); duplicates are dropped.
/// 2. A file is one unit, unless it is uncompressed (or gzip, below), in a format with record boundaries
///    (UniProt flat: after `//`; SDF: after `$$$$`; FASTA: at `>` at a line start; CID-SMILES
///    and BindingDB TSV: at any line start, the header read by every range; see ``RecordBoundary``) and larger than a partition's fair share of all
///    input bytes (`total / N`): then it is cut into `k = min(N, ceil(size * N / total))` ranges
///    at the raw offsets `size * j / k`, each moved forward to the next record boundary (ranges
///    left empty, when two cuts move to the same boundary, are dropped). A gzip file of such a
///    format and size with several members (`cat a.gz b.gz`, `bgzip`) is cut the same way into
///    spans of whole members, the cuts moved forward to the next member's start (members found
///    by ``GzipMembers``: from BGZF's block sizes, else by one inflate pass over the file); each
///    span reads the records whose record-boundary cut falls in it (``MemberSpanSource``), and
///    a file of one member is one unit. bzip2, zip, XML, ASN.1 and tables are whole units.
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
    var sized: [(path: String, size: Int64, boundary: InputFormat?, gzip: Bool)] = []
    for path in paths {
      if path == "-" {
        throw PartitionError.notPartitionable(file: "<stdin>", message: "standard input cannot be partitioned (it is read once); give files")
      }
      // Looked at without opening: opening a FIFO would wait for a writer, and reading it would
      // take its bytes from the partition that owns it.
      var st = stat()
      guard stat(path, &st) == 0 else {
        // Missing or unreadable: a whole unit, whose partition reports the error as ingest does.
        sized.append((path, 0, nil, false))
        continue
      }
      guard (st.st_mode & S_IFMT) == S_IFREG else {
        throw PartitionError.notPartitionable(file: path, message: "not a regular file; a partitioned ingest plans from file sizes and offsets")
      }
      let size = Int64(st.st_size)
      var splittable: InputFormat?
      var gzip = false
      if splitFiles, let head = try? FileSource(path: path).readPrefix(InputFormat.detectionBytes),
        let compression = try? Compression.sniff(head, file: path)
      {
        let decoded = compression == .gzip ? try? openInput(path).source.readPrefix(InputFormat.detectionBytes) : head
        if compression == .none || compression == .gzip, let decoded,
          let format = try? InputFormat.detect(decoded, file: path), format.recordBoundary != nil
        {
          splittable = format
          gzip = compression == .gzip
        }
      }
      sized.append((path, size, splittable, gzip))
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
      if f.gzip {
        units += try Self.memberSpans(path: f.path, size: f.size, pieces: pieces, fileOrder: order)
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

  /// A gzip file cut into at most `pieces` spans of whole members (see ``GzipMembers``): at the
  /// compressed offsets `size * j / pieces`, each moved forward to the next member's start;
  /// spans left empty are dropped, and a file of one member is one whole unit.
  static func memberSpans(path: String, size: Int64, pieces: Int, fileOrder: Int) throws -> [WorkUnit] {
    let members = try GzipMembers.scan(path: path, size: size).members
    guard members.count > 1 else { return [WorkUnit(path: path, range: nil, bytes: size, fileOrder: fileOrder)] }
    // Member indices where spans start.
    var firsts: [Int] = [0]
    for j in 1..<pieces {
      let raw = size * Int64(j) / Int64(pieces)
      // The first member starting at or after `raw`.
      var lo = 0, hi = members.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if members[mid].compressedStart < raw { lo = mid + 1 } else { hi = mid }
      }
      if lo < members.count, lo > firsts.last! { firsts.append(lo) }
    }
    guard firsts.count > 1 else { return [WorkUnit(path: path, range: nil, bytes: size, fileOrder: fileOrder)] }
    return firsts.indices.map { k in
      let first = members[firsts[k]]
      let next = k + 1 < firsts.count ? members[firsts[k + 1]] : nil
      let end = next?.compressedStart ?? size
      return WorkUnit(path: path, range: first.compressedStart..<end,
                      members: MemberSpan(decompressedStart: first.decompressedStart, decompressedEnd: next?.decompressedStart),
                      bytes: end - first.compressedStart, fileOrder: fileOrder)
    }
  }
}

/// The content hash of files merged from byte ranges.
public enum MergedContentHash {
  /// Gives each complete source without a content hash (a file merged from byte ranges or spans
  /// of gzip members: no partition read all of it) the SHA-256 of the file's (decompressed)
  /// content, as one ingest hashes it, read once, when the file is still there with the size and
  /// modification time it had when ingested. Returns the paths it could not hash (moved or
  /// changed since); those keep no hash, and their provenance is dumped under `incomplete`.
  public static func fill(_ catalog: Catalog) throws -> [String] {
    var missing: [String] = []
    for s in try catalog.sourcesWithoutContentHash() {
      guard let opened = try? openInput(s.path), opened.file.size == s.size,
        opened.file.modificationTimeNanoseconds == s.mtimeNanoseconds
      else {
        missing.append(s.path)
        continue
      }
      var digest = StreamDigest()
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
      defer { buffer.deallocate() }
      while true {
        let n = try opened.source.read(into: buffer)
        if n == 0 { break }
        digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
      }
      try catalog.setContentHash(source: s.id, sha256: SequenceDigest.hex(digest.finalize()))
    }
    return missing
  }
}
