import TagdataCatalog
import TagdataIO
import TagdataSources

/// A record that cannot be used, with where and why: stored in the catalog's quarantine.
struct Quarantined: Sendable {
  var location: RecordLocation
  /// The line of the damage (not always the record's first line).
  var line: Int
  var reason: String
  var excerpt: String
}

extension QuarantineWriter {
  func write(_ q: Quarantined, source: Int64, run: Int64) throws {
    try write(source: source, recordNo: q.location.index, line: q.line, offset: q.location.offset, reason: q.reason,
              excerpt: q.excerpt, run: run)
  }
}

/// What the pump learns of one record it read.
struct ReadRecord {
  var location: RecordLocation
  /// The reader (or the preparation on the reading side) quarantined it.
  var quarantined: Bool
}

/// One transaction's worth of records of one kind, as its pipeline lays them out.
protocol PipelineBatch: Sendable {
  init()
  var count: Int { get }
  /// Moves the record read last, with its bytes, to the end of `other` (it opens the next batch).
  mutating func moveLast(to other: inout Self)
  /// Empties the batch, keeping its buffers' capacity.
  mutating func removeAll()
}

/// One record kind's way from its reader to the catalog. The pump calls `read` and
/// `prepareAhead` on the reading thread and `write` on the writer thread, which never overlap on
/// the same state: a pipeline keeps what each thread uses apart.
protocol RecordPipeline: AnyObject, Sendable {
  associatedtype Batch: PipelineBatch
  /// Reads the next record into `batch` (one item appended), or returns nil at the end of the input.
  func read(into batch: inout Batch) throws -> ReadRecord?
  /// The writer is behind: prepare the record read last on this thread. Returns true if that
  /// quarantined it.
  func prepareAhead(last batch: inout Batch) -> Bool
  /// Writes a batch inside the pump's transaction; `current` follows the record being written.
  /// Returns how many records it quarantined that reading had counted as usable.
  func write(_ batch: inout Batch, source: Int64, run: Int64, current: inout RecordLocation?) throws -> Int
  /// Called on the writer thread before the first and after the last batch.
  func writerStarted()
  /// Adds what the writer thread added to the catalog (new proteins, molecules) to the report.
  func writerFinished(_ report: inout FileReport)
}

extension RecordPipeline {
  func prepareAhead(last batch: inout Batch) -> Bool { false }
}

/// Moves records from a pipeline's reader into the catalog: it reads on the calling thread while
/// a writer thread stores batches, one transaction per batch ending with a checkpoint (where a
/// rerun resumes), and a third thread copies the write-ahead log into the catalog file. It knows
/// nothing of proteins or molecules. On an input error everything read before it is committed,
/// then the error is rethrown.
struct Pump {
  let catalog: Catalog
  let run: Int64
  let batchSize: Int
  let onProgress: ((IngestProgress) -> Void)?

  /// A batch with the point where a rerun resumes once it is committed.
  struct Envelope<B: PipelineBatch>: Sendable {
    var batch = B()
    var checkpoint: RecordLocation?
  }

  func run<P: RecordPipeline>(_ pipeline: P, source: Int64, file: String, prefetch: PrefetchSource, totalBytes: Int64?,
                              report: inout FileReport) throws
  {
    // The writer inserts every parent row before its children, in the same transaction: the
    // foreign-key checks are off while this file is written.
    try catalog.withForeignKeyChecksOff {
      try pump(pipeline, source: source, file: file, prefetch: prefetch, totalBytes: totalBytes, report: &report)
    }
  }

  private func pump<P: RecordPipeline>(_ pipeline: P, source: Int64, file: String, prefetch: PrefetchSource,
                                       totalBytes: Int64?, report: inout FileReport) throws
  {
    let queue = BlockingQueue<Envelope<P.Batch>>(capacity: 1)
    // Written batches come back emptied, their buffers' capacity kept: in steady state a batch
    // costs no allocation (and no fresh pages from the kernel) at all.
    let spare = BlockingQueue<Envelope<P.Batch>>(capacity: 2)
    // Committed pages go from the write-ahead log into the catalog file on a thread and
    // connection of their own while ingest goes on, so that the checkpoint at the end (which
    // waits for the disk) has little left to do.
    let walCheckpoints = BlockingQueue<Bool>(capacity: 1)
    let copier = UncheckedBox(catalog.logCopier())
    let checkpointer = JoinableThread {
      while walCheckpoints.pop() != nil { copier.value.copy() }
    }
    defer {
      walCheckpoints.close()
      checkpointer.join()
    }
    let shared = UncheckedBox((catalog: catalog, run: run, error: nil as Error?, rejected: 0))
    let writerThread = JoinableThread {
      let (catalog, run) = (shared.value.catalog, shared.value.run)
      pipeline.writerStarted()
      var lastCheckpointed: Int64 = 0
      var rejected = 0
      defer { shared.value.rejected = rejected }
      while var envelope = queue.pop() {
        var current: RecordLocation?
        do {
          try catalog.transaction {
            rejected += try pipeline.write(&envelope.batch, source: source, run: run, current: &current)
            if let cp = envelope.checkpoint {
              try catalog.checkpoint(source: source, recordsDone: cp.index, nextOffset: cp.offset, nextLine: cp.line, run: run)
            }
          }
          // The log is copied into the catalog file every 4 MiB of input or so (fewer, larger
          // checkpoints cost less), and after the last batch.
          let readTo = envelope.checkpoint?.offset ?? .max
          if readTo - lastCheckpointed >= 4 << 20 {
            lastCheckpointed = readTo
            walCheckpoints.tryPush(true)
          }
          envelope.batch.removeAll()
          envelope.checkpoint = nil
          spare.tryPush(envelope)
        } catch {
          shared.value.error = IngestError.catalog(file: file, record: current, underlying: error)
          queue.close()
          return
        }
      }
    }
    var envelope = Envelope<P.Batch>()
    var batchBytes = 0
    var batchIndex = 0
    var limit = Self.batchLimit(index: 0, readSoFar: 0, rawConsumed: 0, rawTotal: nil)
    var lastOffset: Int64 = 0
    var lastProgress = Clock.seconds()
    let started = lastProgress
    var inputError: Error?
    do {
      while let read = try pipeline.read(into: &envelope.batch) {
        let loc = read.location
        var quarantined = read.quarantined
        batchBytes += Int(max(0, loc.offset - lastOffset))
        lastOffset = loc.offset
        // The record just read opens the next batch once this one is full.
        if envelope.batch.count > batchSize || batchBytes >= limit {
          batchBytes = 0
          envelope.checkpoint = loc
          var fresh = spare.tryPop() ?? Envelope()
          envelope.batch.moveLast(to: &fresh.batch)
          if !queue.push(envelope) { break }
          envelope = fresh
          batchIndex += 1
          limit = Self.batchLimit(index: batchIndex, readSoFar: loc.offset, rawConsumed: prefetch.rawBytesConsumed,
                                  rawTotal: totalBytes)
        }
        // Records are prepared on the writer thread, unless it is behind (a whole batch waits for
        // it): then this thread prepares them, so that neither thread is left with a backlog
        // when the other is done.
        if !quarantined, queue.waiting > 0 { quarantined = pipeline.prepareAhead(last: &envelope.batch) }
        if quarantined { report.quarantined += 1 } else { report.records += 1 }
        if let onProgress, (report.records + report.quarantined) & 63 == 0 {
          let now = Clock.seconds()
          if now - lastProgress >= 0.1 {
            lastProgress = now
            onProgress(IngestProgress(path: report.path, rawBytes: prefetch.rawBytesConsumed, totalBytes: totalBytes,
                                      records: report.records, quarantined: report.quarantined, seconds: now - started))
          }
        }
      }
    } catch {
      inputError = error
    }
    // The last batch carries no checkpoint: a rerun re-reads it, and every write is idempotent.
    if envelope.batch.count > 0 { queue.push(envelope) }
    queue.close()
    writerThread.join()
    pipeline.writerFinished(&report)
    // Records the writer thread found bad were counted as stored when read.
    report.records -= shared.value.rejected
    report.quarantined += shared.value.rejected
    if let error = shared.value.error { throw error }
    if let inputError { throw inputError }
  }

  /// A batch is also cut at about this many bytes of input, so that memory stays flat.
  static let maxBatchBytes = 8 << 20

  /// The input bytes at which to cut the next batch. The first batches are small, so that the
  /// writer starts early, and so are the last ones (when the input's size is known), so that
  /// the writer is not left alone with a large batch once reading is done: 1, 2, 4, then 8 MiB,
  /// and never over a quarter of what is estimated to remain (nor under 1 MiB).
  static func batchLimit(index: Int, readSoFar: Int64, rawConsumed: Int64, rawTotal: Int64?) -> Int {
    let ramp = min(maxBatchBytes, (1 << 20) << min(index, 3))
    guard let rawTotal, rawTotal > 0, rawConsumed > 0, rawConsumed <= rawTotal else { return ramp }
    // Raw (possibly compressed) bytes left, in bytes of input at the rate seen so far.
    let remaining = Double(readSoFar) * Double(rawTotal - rawConsumed) / Double(rawConsumed)
    return max(1 << 20, min(ramp, Int(remaining / 4)))
  }
}
