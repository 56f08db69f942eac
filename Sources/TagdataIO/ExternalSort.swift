#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sort that could not spill or read back its runs (disk full, directory missing, a run cut
/// short), or was used after `finish`. `path` names the file or directory concerned.
public struct ExternalSortError: Error, CustomStringConvertible, Equatable {
  public var path: String
  public var message: String
  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }
  public var description: String { "\(path): \(message)" }
}

/// A bounded-memory, stable external merge sort of byte records.
///
/// Each record is a key and a payload (both raw bytes). Records are ordered by their keys as
/// unsigned bytes (`memcmp`, a key that is a prefix of another comes first); records with equal
/// keys come out in the order they were added. The payload is carried along, never compared.
///
/// Records are gathered in one memory arena; when the arena and its index reach `memoryBudget`,
/// they are sorted and written as a sorted run to a temporary file in `directory`. `finish` merges
/// the runs with a heap, at most `maxFanIn` at a time: with more runs, consecutive runs are first
/// merged into longer ones (when one merge is enough to leave `maxFanIn` runs, only that many are
/// merged: the rest of the data is read once), which keeps the merge stable.
/// When nothing was spilled, `finish` sorts in memory and writes nothing.
///
/// With `backgroundSpill`, a full arena is sorted and written on a second thread while records
/// go on filling another one: two arenas of half the budget each.
///
/// Memory: about `memoryBudget` while adding (more only for a single record larger than the
/// budget: the arena then holds that record alone); during the merge, one read buffer per run of
/// about `memoryBudget / (maxFanIn + 1)` bytes (at least 4 KiB, grown for a record that does not
/// fit). Temporary files are removed as soon as they are merged, by `finish` (also when it fails
/// or stops early) and by `deinit`. Records up to 4 GiB - 1 bytes of key and of payload each.
public final class ExternalSorter {
  public let directory: String
  public let memoryBudget: Int
  public let maxFanIn: Int
  public let backgroundSpill: Bool
  /// Records added so far.
  @exclusivity(unchecked) public private(set) var count = 0
  /// Sorted runs written to disk (spills and intermediate merges).
  @exclusivity(unchecked) public private(set) var runsWritten = 0
  /// Intermediate merge passes (0 when all runs were merged at once).
  @exclusivity(unchecked) public private(set) var mergePasses = 0

  /// A record of the arena: its key's first 16 bytes as two big-endian numbers (zero-padded), so
  /// that most comparisons never read the arena (keys that start alike, a shard and a task name
  /// before a hash, differ within 16 bytes), and where the record is.
  struct Entry {
    var prefix: UInt64
    var prefix2: UInt64
    var offset: Int
  }

  // The arena holds records as they are written to a run: key length and payload length (UInt32,
  // little-endian), key, payload.
  @exclusivity(unchecked) private var arena: UnsafeMutableRawPointer?
  @exclusivity(unchecked) private var arenaCapacity = 0
  @exclusivity(unchecked) private var arenaUsed = 0
  @exclusivity(unchecked) private var index: [Entry] = []
  /// Bytes of records and index an arena may hold (half the budget with background spilling).
  private let arenaBudget: Int
  /// The run being sorted and written on the second thread, and the arena it will give back.
  @exclusivity(unchecked) private var pending: SpillJob?
  @exclusivity(unchecked) private var spareArena: UnsafeMutableRawPointer?
  @exclusivity(unchecked) private var spareCapacity = 0
  @exclusivity(unchecked) private var spareIndex: [Entry] = []
  /// Sorted runs waiting to be merged, in the order of their records.
  @exclusivity(unchecked) private var runs: [String] = []
  /// Every temporary file that still exists.
  @exclusivity(unchecked) private var temporary: Set<String> = []
  /// Per run: where some of its records start, with their keys (``RunWriter/marks``), to start
  /// reading it at a key.
  @exclusivity(unchecked) private var marks: [String: [RunWriter.Mark]] = [:]
  @exclusivity(unchecked) private var finished = false

  static let headerSize = 8
  static let entryCost = MemoryLayout<Entry>.stride

  /// - Parameters:
  ///   - directory: where the runs go (it must exist; files are named `.tagdata-sort-XXXXXX`).
  ///   - memoryBudget: bytes of records and index held before a run is spilled.
  ///   - maxFanIn: runs merged at once (at least 2).
  ///   - backgroundSpill: sort and write runs on a second thread.
  public init(directory: String, memoryBudget: Int = 64 << 20, maxFanIn: Int = 64, backgroundSpill: Bool = true) {
    self.directory = directory
    self.memoryBudget = max(memoryBudget, 1)
    self.maxFanIn = max(maxFanIn, 2)
    self.backgroundSpill = backgroundSpill
    arenaBudget = backgroundSpill ? max(self.memoryBudget / 2, 1) : self.memoryBudget
  }

  deinit {
    if let job = pending {
      job.thread?.join()
      if let p = job.path { temporary.insert(p) }
      job.arena?.deallocate()
    }
    arena?.deallocate()
    spareArena?.deallocate()
    removeTemporaryFiles()
  }

  /// Temporary files the sorter holds now (for tests and diagnostics; a run still being written on
  /// the second thread is not listed).
  public var temporaryFiles: [String] { temporary.sorted() }

  public func add(key: [UInt8], payload: [UInt8]) throws {
    try key.withUnsafeBytes { k in try payload.withUnsafeBytes { p in try add(key: k, payload: p) } }
  }

  /// Adds one record; the bytes are copied.
  public func add(key: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) throws {
    if finished { throw ExternalSortError(path: directory, message: "record added after the sort was finished") }
    guard key.count <= Int(UInt32.max), payload.count <= Int(UInt32.max) else {
      throw ExternalSortError(path: directory, message: "record of \(key.count + payload.count) bytes is too large to sort")
    }
    let size = Self.headerSize + key.count + payload.count
    if !index.isEmpty && arenaUsed + size + (index.count + 1) * Self.entryCost > arenaBudget { try spill() }
    if arenaUsed + size > arenaCapacity { grow(to: arenaUsed + size) }
    let base = arena! + arenaUsed
    base.storeBytes(of: UInt32(key.count).littleEndian, toByteOffset: 0, as: UInt32.self)
    base.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 4, as: UInt32.self)
    if let k = key.baseAddress, key.count > 0 { (base + Self.headerSize).copyMemory(from: k, byteCount: key.count) }
    if let p = payload.baseAddress, payload.count > 0 {
      (base + Self.headerSize + key.count).copyMemory(from: p, byteCount: payload.count)
    }
    index.append(Entry(prefix: Self.prefix(key), prefix2: Self.prefix(key, from: 8), offset: arenaUsed))
    arenaUsed += size
    count += 1
  }

  /// Hands out every record in order, each as (key, payload): buffers valid only during the call.
  /// `body` returns false to stop early. The sorter is spent afterwards and its files removed.
  public func finish(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
    // One part, handed out on this thread.
    try withoutActuallyEscaping(body) { body in
      let box = UncheckedBox(body)
      try finish(parts: []) { _, key, payload in try box.value(key, payload) }
    }
  }

  /// ``finish(_:)`` in key ranges, each on a thread of its own: part `i` gets, in order, the
  /// records whose keys are at least `bounds[i - 1]` (part 0: all from the first) and less than
  /// `bounds[i]` (the last part: all to the end); `bounds` ascending. `body(i, key, payload)` is
  /// called from part `i`'s thread only (buffers valid only during the call) and returns false to
  /// stop that part. Each run is read from about where a part's records start in it (runs
  /// remember where one record in every 64 KiB starts), so the parts together read each run
  /// about once. Memory: the read buffers of ``finish(_:)``, shared out among the parts. Throws
  /// the first part's error, after every part has stopped.
  public func finish(parts bounds: [[UInt8]],
                     _ body: @Sendable (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws
  {
    if finished { throw ExternalSortError(path: directory, message: "the sort was already finished") }
    finished = true
    defer {
      removeTemporaryFiles()
      releaseArena()
    }
    try collectPending()
    let parts = bounds.count + 1
    if runs.isEmpty {
      guard let arena else { return }
      Self.sortIndex(&index, base: arena)
      // Where each part starts in the sorted index: at its first key not below its bound.
      var starts = [0]
      for b in bounds {
        var lo = starts[starts.count - 1], hi = index.count
        b.withUnsafeBytes { kb in
          while lo < hi {
            let mid = (lo + hi) / 2
            if compareKeys(Self.record(arena + index[mid].offset).0, kb) < 0 { lo = mid + 1 } else { hi = mid }
          }
        }
        starts.append(lo)
      }
      starts.append(index.count)
      let entries = index, base = UncheckedBox(UnsafeRawPointer(arena)), ranges = starts
      try Self.inParallel(parts) { part in
        for e in entries[ranges[part]..<ranges[part + 1]] {
          let (k, p) = Self.record(base.value + e.offset)
          if try !body(part, k, p) { return }
        }
      }
      return
    }
    if !index.isEmpty { try spillNow() }
    releaseArena()
    let bufferSize = readBufferSize
    try mergeDown(bufferSize: bufferSize)
    let partBuffer = max(bufferSize / parts, 4096)
    let paths = runs, marks = self.marks
    try Self.inParallel(parts) { part in
      var readers: [RunReader] = []
      let lower = part == 0 ? nil : bounds[part - 1]
      for p in paths {
        let r = try RunReader(path: p, bufferSize: partBuffer, from: lower.map { Self.start(of: $0, in: marks[p] ?? []) } ?? 0)
        if try r.next(atLeast: lower) { readers.append(r) }
      }
      try Self.merge(readers, below: part == bounds.count ? nil : bounds[part]) { r in
        try body(part, UnsafeRawBufferPointer(start: r.key, count: r.keyLength),
                 UnsafeRawBufferPointer(start: r.payload, count: r.payloadLength))
      }
    }
  }

  /// Runs `body(0..<n)`, each on a thread of its own (the last on this one); the first error by
  /// part, once all have stopped.
  static func inParallel(_ n: Int, _ body: @Sendable (Int) throws -> Void) throws {
    // One slot per part, each written by its own thread only.
    let errors = UnsafeMutableBufferPointer<(any Error)?>.allocate(capacity: n)
    errors.initialize(repeating: nil)
    defer {
      _ = errors.deinitialize()
      errors.deallocate()
    }
    let slots = UncheckedBox(errors)
    withoutActuallyEscaping(body) { body in
      var threads: [JoinableThread] = []
      for part in 0..<(n - 1) {
        threads.append(JoinableThread {
          do { try body(part) } catch { slots.value[part] = error }
        })
      }
      do { try body(n - 1) } catch { errors[n - 1] = error }
      for t in threads { t.join() }
    }
    if let e = errors.lazy.compactMap({ $0 }).first { throw e }
  }

  /// Where to start reading a run for the records from `key` on: the last marked record whose key
  /// is below it (0: none).
  static func start(of key: [UInt8], in marks: [RunWriter.Mark]) -> Int64 {
    var lo = 0, hi = marks.count
    key.withUnsafeBytes { kb in
      while lo < hi {
        let mid = (lo + hi) / 2
        if marks[mid].key.withUnsafeBytes({ compareKeys($0, kb) }) < 0 { lo = mid + 1 } else { hi = mid }
      }
    }
    return lo == 0 ? 0 : marks[lo - 1].offset
  }

  /// Merges runs until at most `maxFanIn` are left.
  private func mergeDown(bufferSize: Int) throws {
    while runs.count > maxFanIn {
      let excess = runs.count - maxFanIn + 1
      if excess <= maxFanIn {
        // Just enough: the first `excess` runs become one, leaving `maxFanIn` for the last merge.
        let merged = try mergeIntoRun(Array(runs[0..<excess]), bufferSize: bufferSize)
        runs = [merged] + runs[excess...]
      } else {
        var next: [String] = []
        var start = 0
        while start < runs.count {
          let group = Array(runs[start..<min(start + maxFanIn, runs.count)])
          start += group.count
          next.append(group.count == 1 ? group[0] : try mergeIntoRun(group, bufferSize: bufferSize))
        }
        runs = next
      }
      mergePasses += 1
    }
  }

  /// Merges consecutive runs into a new one (which takes their place: the order stays stable).
  private func mergeIntoRun(_ group: [String], bufferSize: Int) throws -> String {
    let writer = try RunWriter(directory: directory, bufferSize: bufferSize) { self.temporary.insert($0) }
    try merge(group, bufferSize: bufferSize) { r in
      try writer.appendRecord(UnsafeRawBufferPointer(start: r.record, count: r.recordLength))
      return true
    }
    try writer.closeFile()
    marks[writer.path] = writer.marks
    runsWritten += 1
    for p in group { remove(p) }
    return writer.path
  }

  /// Collects every record (tests, small inputs).
  public func sorted() throws -> [(key: [UInt8], payload: [UInt8])] {
    var out: [(key: [UInt8], payload: [UInt8])] = []
    try finish { k, p in
      out.append((Array(k), Array(p)))
      return true
    }
    return out
  }

  // MARK: - Spilling

  private var readBufferSize: Int { min(max(memoryBudget / (maxFanIn + 1), 4096), 4 << 20) }

  private func grow(to needed: Int) {
    var capacity = max(arenaCapacity * 2, 64 << 10)
    capacity = min(capacity, max(arenaBudget, needed))
    capacity = max(capacity, needed)
    let fresh = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    if let arena {
      fresh.copyMemory(from: arena, byteCount: arenaUsed)
      arena.deallocate()
    }
    arena = fresh
    arenaCapacity = capacity
  }

  private func releaseArena() {
    arena?.deallocate()
    arena = nil
    arenaCapacity = 0
    arenaUsed = 0
    index = []
    spareArena?.deallocate()
    spareArena = nil
    spareCapacity = 0
    spareIndex = []
  }

  /// Bytes `start..<start + 8` of `key` as a big-endian number, zero-padded.
  static func prefix(_ key: UnsafeRawBufferPointer, from start: Int = 0) -> UInt64 {
    guard key.count > start else { return 0 }
    if key.count >= start + 8 { return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
    var p: UInt64 = 0
    for i in start..<key.count { p |= UInt64(key[i]) << UInt64(56 - 8 * (i - start)) }
    return p
  }

  static func record(_ p: UnsafeRawPointer) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
    let kl = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
    let pl = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    return (UnsafeRawBufferPointer(start: p + headerSize, count: kl),
            UnsafeRawBufferPointer(start: p + headerSize + kl, count: pl))
  }

  /// Orders an arena's index by key, then by position (stability).
  static func sortIndex(_ index: inout [Entry], base arena: UnsafeMutableRawPointer) {
    let base = UnsafeRawPointer(arena)
    index.withUnsafeMutableBufferPointer { entries in
      entries.sort { a, b in
        if a.prefix != b.prefix { return a.prefix < b.prefix }
        if a.prefix2 != b.prefix2 { return a.prefix2 < b.prefix2 }
        let pa = base + a.offset
        let pb = base + b.offset
        let la = Int(UInt32(littleEndian: pa.loadUnaligned(as: UInt32.self)))
        let lb = Int(UInt32(littleEndian: pb.loadUnaligned(as: UInt32.self)))
        if la > 16 || lb > 16 {
          let c = compareKeys(pa + headerSize, la, pb + headerSize, lb)
          if c != 0 { return c < 0 }
        } else if la != lb {
          return la < lb
        }
        return a.offset < b.offset
      }
    }
  }

  static func spillBufferSize(_ budget: Int) -> Int { min(max(budget / 8, 4096), 4 << 20) }

  /// Sorts an arena and writes it as one run in `directory`; `created` is told the file's path
  /// as soon as it exists.
  static func writeRun(_ arena: UnsafeMutableRawPointer?, _ index: inout [Entry], directory: String, bufferSize: Int,
                       created: (String) -> Void) throws -> (path: String, marks: [RunWriter.Mark])
  {
    let writer = try RunWriter(directory: directory, bufferSize: bufferSize, created: created)
    if let arena {
      sortIndex(&index, base: arena)
      for e in index {
        let p = arena + e.offset
        let kl = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        let pl = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        try writer.appendRecord(UnsafeRawBufferPointer(start: p, count: headerSize + kl + pl))
      }
    }
    try writer.closeFile()
    return (writer.path, writer.marks)
  }

  /// The arena is full: its run is written, on the second thread with `backgroundSpill`.
  private func spill() throws {
    guard backgroundSpill else { return try spillNow() }
    try collectPending()
    let job = SpillJob(arena: arena, capacity: arenaCapacity, index: index, directory: directory,
                       bufferSize: Self.spillBufferSize(arenaBudget))
    arena = spareArena
    arenaCapacity = spareCapacity
    index = spareIndex
    index.removeAll(keepingCapacity: true)
    arenaUsed = 0
    spareArena = nil
    spareCapacity = 0
    spareIndex = []
    pending = job
    job.thread = JoinableThread { job.run() }
  }

  /// Writes the arena's run on this thread.
  private func spillNow() throws {
    let (path, runMarks) = try Self.writeRun(arena, &index, directory: directory,
                                             bufferSize: Self.spillBufferSize(arenaBudget)) { self.temporary.insert($0) }
    runs.append(path)
    marks[path] = runMarks
    runsWritten += 1
    index.removeAll(keepingCapacity: true)
    arenaUsed = 0
  }

  /// Waits for the run being written on the second thread; its arena becomes the spare one.
  private func collectPending() throws {
    guard let job = pending else { return }
    pending = nil
    job.thread?.join()
    job.thread = nil
    if let p = job.path { temporary.insert(p) }
    spareArena = job.arena
    spareCapacity = job.capacity
    spareIndex = job.index
    job.index = []
    if let e = job.error { throw e }
    if let p = job.path {
      runs.append(p)
      marks[p] = job.marks
      runsWritten += 1
    }
  }

  private func remove(_ path: String) {
    unlink(path)
    temporary.remove(path)
    marks[path] = nil
  }

  private func removeTemporaryFiles() {
    for p in temporary { unlink(p) }
    temporary = []
    runs = []
    marks = [:]
  }

  // MARK: - Merging

  /// Merges `paths` (sorted runs, in order) and hands each record to `emit` until it returns false.
  private func merge(_ paths: [String], bufferSize: Int, _ emit: (RunReader) throws -> Bool) throws {
    var readers: [RunReader] = []
    readers.reserveCapacity(paths.count)
    for p in paths {
      let r = try RunReader(path: p, bufferSize: bufferSize)
      if try r.next() { readers.append(r) }
    }
    try Self.merge(readers, below: nil, emit)
  }

  /// Merges runs whose readers stand on their first records (in the runs' order), handing each
  /// record to `emit` until it returns false or (with `below`) a key reaches `below`.
  static func merge(_ readers: [RunReader], below: [UInt8]?, _ emit: (RunReader) throws -> Bool) throws {
    // A binary min-heap of reader positions; ties go to the earlier run (stability).
    var heap = Array(readers.indices)
    func less(_ a: Int, _ b: Int) -> Bool {
      let x = readers[a]
      let y = readers[b]
      let c = compareKeys(UnsafeRawPointer(x.key), x.keyLength, UnsafeRawPointer(y.key), y.keyLength)
      return c != 0 ? c < 0 : a < b
    }
    func siftDown(_ start: Int) {
      var i = start
      let n = heap.count
      while true {
        let l = 2 * i + 1
        if l >= n { return }
        var m = l
        if l + 1 < n && less(heap[l + 1], heap[l]) { m = l + 1 }
        if !less(heap[m], heap[i]) { return }
        heap.swapAt(i, m)
        i = m
      }
    }
    if heap.count > 1 {
      for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }
    while let top = heap.first {
      if let below, readers[top].isAtLeast(below) { return }
      if try !emit(readers[top]) { return }
      if try readers[top].next() {
        siftDown(0)
      } else {
        heap[0] = heap[heap.count - 1]
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
      }
    }
  }
}

/// One arena being sorted and written on a second thread; the sorter reads the outcome after
/// joining the thread.
final class SpillJob: @unchecked Sendable {
  let arena: UnsafeMutableRawPointer?
  let capacity: Int
  var index: [ExternalSorter.Entry]
  let directory: String
  let bufferSize: Int
  var path: String?
  var marks: [RunWriter.Mark] = []
  var error: (any Error)?
  var thread: JoinableThread?

  init(arena: UnsafeMutableRawPointer?, capacity: Int, index: [ExternalSorter.Entry], directory: String, bufferSize: Int) {
    self.arena = arena
    self.capacity = capacity
    self.index = index
    self.directory = directory
    self.bufferSize = bufferSize
  }

  func run() {
    do {
      marks = try ExternalSorter.writeRun(arena, &index, directory: directory, bufferSize: bufferSize) { self.path = $0 }.marks
    } catch {
      self.error = error
    }
  }
}

@inline(__always)
func compareKeys(_ a: UnsafeRawPointer, _ la: Int, _ b: UnsafeRawPointer, _ lb: Int) -> Int32 {
  let n = min(la, lb)
  if n > 0 {
    let c = memcmp(a, b, n)
    if c != 0 { return c }
  }
  return la < lb ? -1 : (la > lb ? 1 : 0)
}

/// ``compareKeys(_:_:_:_:)`` of two buffers, either of which may be empty.
@inline(__always)
func compareKeys(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int32 {
  if let pa = a.baseAddress, let pb = b.baseAddress { return compareKeys(pa, a.count, pb, b.count) }
  return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
}

/// Writes a run through a buffer; every failure names the file.
final class RunWriter {
  /// Where a record starts in the run, and its key.
  struct Mark {
    var offset: Int64
    var key: [UInt8]
  }
  /// Records whose keys are at most this long may be marked.
  static let markedKeyLength = 256
  /// The distance in bytes from one mark to the next, at least.
  static let markStride = 1 << 16
  let path: String
  /// One record in about every `markStride` bytes (with a key of at most `markedKeyLength`
  /// bytes), in order: where to start reading the run for a key (``ExternalSorter/finish(parts:_:)``).
  private(set) var marks: [Mark] = []
  @exclusivity(unchecked) private var written: Int64 = 0
  @exclusivity(unchecked) private var nextMark: Int64 = 0
  @exclusivity(unchecked) private var fd: Int32
  @exclusivity(unchecked) private var buffer: UnsafeMutableRawPointer
  private let capacity: Int
  @exclusivity(unchecked) private var used = 0

  /// Creates a fresh file in `directory`; `created` is told its path before anything can fail.
  init(directory: String, bufferSize: Int, created: (String) -> Void) throws {
    var template = Array((directory + "/.tagdata-sort-XXXXXX").utf8CString)
    let d = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard d >= 0 else {
      throw ExternalSortError(path: directory, message: "cannot create a sort run: \(String(cString: strerror(errno)))")
    }
    fd = d
    path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    created(path)
    capacity = bufferSize
    buffer = .allocate(byteCount: bufferSize, alignment: 16)
  }

  deinit {
    if fd >= 0 { close(fd) }
    buffer.deallocate()
  }

  /// Writes to `fd` instead of the file (tests: a device that is full).
  func replaceDescriptor(_ fd: Int32) {
    if self.fd >= 0 { close(self.fd) }
    self.fd = fd
  }

  /// Appends one whole record (header, key, payload), marking it if it is time to.
  func appendRecord(_ bytes: UnsafeRawBufferPointer) throws {
    if written >= nextMark, bytes.count >= ExternalSorter.headerSize {
      let kl = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
      if kl <= Self.markedKeyLength, ExternalSorter.headerSize + kl <= bytes.count {
        marks.append(Mark(offset: written, key: Array(bytes[ExternalSorter.headerSize..<(ExternalSorter.headerSize + kl)])))
        nextMark = written + Int64(Self.markStride)
      }
    }
    try append(bytes)
  }

  func append(_ bytes: UnsafeRawBufferPointer) throws {
    guard let src = bytes.baseAddress, bytes.count > 0 else { return }
    written += Int64(bytes.count)
    if used + bytes.count > capacity {
      try flush()
      if bytes.count >= capacity {
        try writeAll(src, bytes.count)
        return
      }
    }
    (buffer + used).copyMemory(from: src, byteCount: bytes.count)
    used += bytes.count
  }

  func flush() throws {
    if used > 0 { try writeAll(UnsafeRawPointer(buffer), used) }
    used = 0
  }

  private func writeAll(_ p: UnsafeRawPointer, _ n: Int) throws {
    var done = 0
    while done < n {
      let w = write(fd, p + done, n - done)
      if w < 0 {
        if errno == EINTR { continue }
        throw ExternalSortError(path: path, message: "cannot write a sort run: \(String(cString: strerror(errno)))")
      }
      if w == 0 { throw ExternalSortError(path: path, message: "cannot write a sort run: no progress") }
      done += w
    }
  }

  func closeFile() throws {
    try flush()
    let r = close(fd)
    fd = -1
    if r != 0 {
      throw ExternalSortError(path: path, message: "cannot write a sort run: \(String(cString: strerror(errno)))")
    }
  }
}

/// Reads a run one record at a time; the current record stays in the buffer until `next`.
final class RunReader {
  let path: String
  @exclusivity(unchecked) private var fd: Int32
  @exclusivity(unchecked) private var buffer: UnsafeMutableRawPointer
  @exclusivity(unchecked) private var capacity: Int
  @exclusivity(unchecked) private var start = 0
  @exclusivity(unchecked) private var end = 0
  @exclusivity(unchecked) private var eof = false
  /// Bytes of the file before `buffer[0]`.
  @exclusivity(unchecked) private var consumed: Int64 = 0
  @exclusivity(unchecked) private(set) var record = UnsafeMutableRawPointer(bitPattern: 16)!
  @exclusivity(unchecked) private(set) var recordLength = 0
  @exclusivity(unchecked) private(set) var keyLength = 0
  @exclusivity(unchecked) private(set) var payloadLength = 0
  var key: UnsafeMutableRawPointer { record + ExternalSorter.headerSize }
  var payload: UnsafeMutableRawPointer { record + ExternalSorter.headerSize + keyLength }

  /// Opens `path` to read its records from byte `offset` (where one starts).
  init(path: String, bufferSize: Int, from offset: Int64 = 0) throws {
    self.path = path
    fd = open(path, O_RDONLY)
    guard fd >= 0 else {
      throw ExternalSortError(path: path, message: "cannot open a sort run: \(String(cString: strerror(errno)))")
    }
    if offset > 0 && lseek(fd, off_t(offset), SEEK_SET) < 0 {
      let e = ExternalSortError(path: path, message: "cannot read a sort run: \(String(cString: strerror(errno)))")
      close(fd)
      throw e
    }
    consumed = offset
    capacity = bufferSize
    buffer = .allocate(byteCount: bufferSize, alignment: 16)
  }

  /// Whether the current record's key is `key` or after it.
  func isAtLeast(_ key: [UInt8]) -> Bool {
    key.withUnsafeBytes { compareKeys(UnsafeRawBufferPointer(start: self.key, count: keyLength), $0) >= 0 }
  }

  /// Moves to the next record whose key is `key` or after it (any record with no `key`); false
  /// at the end of the run.
  func next(atLeast key: [UInt8]?) throws -> Bool {
    while try next() {
      guard let key else { return true }
      if isAtLeast(key) { return true }
    }
    return false
  }

  deinit {
    if fd >= 0 { close(fd) }
    buffer.deallocate()
  }

  /// Moves to the next record; false at the end of the run.
  func next() throws -> Bool {
    start += recordLength
    recordLength = 0
    if try !ensure(ExternalSorter.headerSize) {
      if end == start { return false }
      throw truncated()
    }
    let p = buffer + start
    let kl = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
    let pl = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    let n = ExternalSorter.headerSize + kl + pl
    if try !ensure(n) { throw truncated() }
    record = buffer + start
    keyLength = kl
    payloadLength = pl
    recordLength = n
    return true
  }

  private func truncated() -> ExternalSortError {
    ExternalSortError(path: path, message: "sort run cut short at byte \(consumed + Int64(start))")
  }

  /// Makes `n` bytes from `start` available; false if the file ends first.
  private func ensure(_ n: Int) throws -> Bool {
    if end - start >= n { return true }
    if start > 0 {
      let left = end - start
      if left > 0 { buffer.copyMemory(from: buffer + start, byteCount: left) }
      consumed += Int64(start)
      start = 0
      end = left
    }
    if n > capacity {
      let fresh = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 16)
      fresh.copyMemory(from: buffer, byteCount: end)
      buffer.deallocate()
      buffer = fresh
      capacity = n
    }
    while end < n && !eof {
      let r = read(fd, buffer + end, capacity - end)
      if r < 0 {
        if errno == EINTR { continue }
        throw ExternalSortError(path: path, message: "cannot read a sort run: \(String(cString: strerror(errno)))")
      }
      if r == 0 { eof = true } else { end += r }
    }
    return end - start >= n
  }
}
