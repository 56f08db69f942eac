import TagdataIO
import TagdataSources

/// Reads events on the calling thread and prepares them on worker threads (each with a preparer
/// of its own), handing the results back in input order. A read error is thrown after every event
/// read before it has been handed back. Used by the pipelines whose preparation is the costly
/// part (structures to canonical SMILES).
final class ParallelPreparation<Event: Sendable, Item: Sendable> {
  private let read: () throws -> Event?
  private let pool: OrderedPool<[Event], [Item]>
  @exclusivity(unchecked) private var ready: [Item] = []
  @exclusivity(unchecked) private var readyIndex = 0
  @exclusivity(unchecked) private var finished = false
  @exclusivity(unchecked) private var readError: Error?
  /// Events per job: enough to amortize the hand-over, few enough to keep the workers even.
  static var chunk: Int { 16 }

  /// `makePreparer` runs once on each worker thread and returns that thread's preparation.
  init(next: @escaping () throws -> Event?, workers: Int,
       makePreparer: @escaping @Sendable () -> (Event) -> Item)
  {
    read = next
    pool = OrderedPool(workers: workers) {
      let prepare = makePreparer()
      return { events in events.map(prepare) }
    }
  }

  func next() throws -> Item? {
    while readyIndex == ready.count {
      while !finished && pool.inFlight < pool.depth {
        var events: [Event] = []
        do {
          while events.count < Self.chunk, let e = try read() { events.append(e) }
        } catch {
          readError = error
        }
        if events.count < Self.chunk { finished = true }
        if !events.isEmpty { pool.submit(events) }
      }
      guard let results = pool.next() else {
        if let e = readError {
          readError = nil
          throw e
        }
        return nil
      }
      ready = results
      readyIndex = 0
    }
    defer { readyIndex += 1 }
    return ready[readyIndex]
  }

  func close() { pool.close() }
}

/// A record as a pipeline with parallel preparation hands it to the writer: ready to write, or
/// quarantined.
protocol PreparedItem: Sendable {
  var location: RecordLocation { get }
  var isQuarantined: Bool { get }
}

/// A batch of prepared items (their bytes are their own: moving one is moving the value).
struct PreparedBatch<Item: PreparedItem>: PipelineBatch {
  var items: [Item] = []
  var count: Int { items.count }
  mutating func moveLast(to other: inout PreparedBatch) { other.items.append(items.removeLast()) }
  mutating func removeAll() { items.removeAll(keepingCapacity: true) }
}

extension ParallelPreparation where Item: PreparedItem {
  /// The next prepared item appended to `batch`, as the pump reads records; nil at the end.
  func read(into batch: inout PreparedBatch<Item>) throws -> ReadRecord? {
    guard let item = try next() else { return nil }
    batch.items.append(item)
    return ReadRecord(location: item.location, quarantined: item.isQuarantined)
  }
}
