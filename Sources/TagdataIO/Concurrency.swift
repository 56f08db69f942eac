#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Moves a non-Sendable value to another thread that becomes its only user.
public final class UncheckedBox<T>: @unchecked Sendable {
  @exclusivity(unchecked) public var value: T
  public init(_ value: T) { self.value = value }
}

/// A bounded, blocking, multi-producer multi-consumer queue for pipeline stages.
///
/// `push` waits while the queue is full and returns false once the queue is closed (the consumer
/// gave up); `pop` waits while it is empty and returns nil once it is closed and drained.
public final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
  // A ring of `capacity` slots; a popped slot is cleared at once, so the queue never keeps
  // consumed elements alive.
  @exclusivity(unchecked) private var slots: [Element?]
  @exclusivity(unchecked) private var head = 0
  @exclusivity(unchecked) private var count = 0
  @exclusivity(unchecked) private var closed = false
  @exclusivity(unchecked) private var mutex = pthread_mutex_t()
  @exclusivity(unchecked) private var notEmpty = pthread_cond_t()
  @exclusivity(unchecked) private var notFull = pthread_cond_t()

  public init(capacity: Int) {
    slots = Array(repeating: nil, count: max(1, capacity))
    pthread_mutex_init(&mutex, nil)
    pthread_cond_init(&notEmpty, nil)
    pthread_cond_init(&notFull, nil)
  }

  deinit {
    pthread_mutex_destroy(&mutex)
    pthread_cond_destroy(&notEmpty)
    pthread_cond_destroy(&notFull)
  }

  @discardableResult
  public func push(_ item: Element) -> Bool {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    while count == slots.count && !closed { pthread_cond_wait(&notFull, &mutex) }
    if closed { return false }
    enqueue(item)
    return true
  }

  /// Pushes without waiting: false when the queue is full or closed.
  @discardableResult
  public func tryPush(_ item: Element) -> Bool {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    if count == slots.count || closed { return false }
    enqueue(item)
    return true
  }

  public func pop() -> Element? {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    while count == 0 && !closed { pthread_cond_wait(&notEmpty, &mutex) }
    return count == 0 ? nil : dequeue()
  }

  /// Elements pushed and not yet popped.
  public var waiting: Int {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return count
  }

  /// Pops without waiting: nil when the queue is empty.
  public func tryPop() -> Element? {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return count == 0 ? nil : dequeue()
  }

  /// With the mutex held and a slot free.
  private func enqueue(_ item: Element) {
    slots[(head + count) % slots.count] = item
    count += 1
    pthread_cond_signal(&notEmpty)
  }

  /// With the mutex held and an element there.
  private func dequeue() -> Element? {
    let item = slots[head]
    slots[head] = nil
    head = (head + 1) % slots.count
    count -= 1
    pthread_cond_signal(&notFull)
    return item
  }

  /// No more pushes will be accepted; pops drain what is left, then return nil.
  public func close() {
    pthread_mutex_lock(&mutex)
    closed = true
    pthread_cond_broadcast(&notEmpty)
    pthread_cond_broadcast(&notFull)
    pthread_mutex_unlock(&mutex)
  }
}

/// A started thread that can be waited for.
public final class JoinableThread: @unchecked Sendable {
  @exclusivity(unchecked) private var thread: pthread_t
  @exclusivity(unchecked) private var joined = false

  /// Starts `body` on a new thread.
  public init(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(UncheckedBox(body)).toOpaque()
    var t = pthread_t()
    let rc = pthread_create(&t, nil, { arg in
      let body = Unmanaged<UncheckedBox<@Sendable () -> Void>>.fromOpaque(arg!).takeRetainedValue().value
      body()
      return nil
    }, box)
    precondition(rc == 0, "cannot start a thread (pthread_create: \(rc))")
    thread = t
  }

  public func join() {
    if joined { return }
    joined = true
    pthread_join(thread, nil)
  }

  deinit { join() }
}

/// Reads an inner source on a background thread, one chunk ahead of the consumer, so that
/// decompression (and whatever `observe` does, e.g. hashing) runs in parallel with parsing.
/// Chunk buffers are recycled between the two threads, so memory stays at `depth + 2` chunks.
public final class PrefetchSource: LendingByteSource {
  private enum Item: Sendable {
    case chunk(UncheckedBox<UnsafeMutableRawBufferPointer>, count: Int, raw: Int64)
    case failure(UncheckedBox<any Error>)
  }
  private let queue: BlockingQueue<Item>
  private let free: BlockingQueue<UncheckedBox<UnsafeMutableRawBufferPointer>>
  @exclusivity(unchecked) private var thread: JoinableThread?
  @exclusivity(unchecked) private var current: UncheckedBox<UnsafeMutableRawBufferPointer>?
  @exclusivity(unchecked) private var count = 0
  @exclusivity(unchecked) private var position = 0
  @exclusivity(unchecked) private var ended = false
  @exclusivity(unchecked) private var allocated: [UncheckedBox<UnsafeMutableRawBufferPointer>] = []
  public let name: String
  @exclusivity(unchecked) public private(set) var bytesProduced: Int64 = 0
  @exclusivity(unchecked) public private(set) var rawBytesConsumed: Int64 = 0

  /// `observe` runs on the background thread for every chunk, in order.
  public init(_ inner: ByteSource, chunkSize: Int = 1 << 20, depth: Int = 3,
              observe: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil)
  {
    name = inner.name
    let queue = BlockingQueue<Item>(capacity: depth)
    let free = BlockingQueue<UncheckedBox<UnsafeMutableRawBufferPointer>>(capacity: depth + 2)
    for _ in 0..<(depth + 2) {
      let b = UncheckedBox(UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64))
      allocated.append(b)
      free.push(b)
    }
    self.queue = queue
    self.free = free
    let box = UncheckedBox(inner)
    thread = JoinableThread {
      let source = box.value
      while let buffer = free.pop() {
        let p = buffer.value
        var n = 0
        var failure: (any Error)?
        while n < p.count {
          do {
            let k = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: p[n...]))
            if k == 0 { break }
            n += k
          } catch {
            failure = error
            break
          }
        }
        // Bytes read before a failure are handed on first: complete records before damage are kept.
        if n > 0 {
          observe?(UnsafeRawBufferPointer(rebasing: p[0..<n]))
          if !queue.push(.chunk(buffer, count: n, raw: source.rawBytesConsumed)) { return }
        }
        if let failure {
          queue.push(.failure(UncheckedBox(failure)))
          queue.close()
          return
        }
        if n == 0 {
          queue.close()
          return
        }
      }
    }
  }

  deinit {
    queue.close()
    free.close()
    thread?.join()
    for b in allocated { b.value.deallocate() }
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard buffer.count > 0 else { return 0 }
    guard try fill() else { return 0 }
    let n = min(buffer.count, count - position)
    buffer.baseAddress!.copyMemory(from: current!.value.baseAddress! + position, byteCount: n)
    position += n
    bytesProduced += Int64(n)
    return n
  }

  /// Lends the rest of the current chunk (the next one if it is used up): no copy.
  public func lend() throws -> UnsafeRawBufferPointer? {
    guard try fill() else { return nil }
    let lent = UnsafeRawBufferPointer(start: current!.value.baseAddress! + position, count: count - position)
    bytesProduced += Int64(count - position)
    position = count
    return lent
  }

  /// Makes sure unread bytes are at hand, taking the next chunk (and giving the used one back
  /// to the reading thread) when needed. False at the end of the input.
  private func fill() throws -> Bool {
    while position == count {
      if ended { return false }
      if let c = current {
        free.push(c)
        current = nil
      }
      switch queue.pop() {
      case let .chunk(bytes, n, raw)?:
        rawBytesConsumed = raw
        current = bytes
        count = n
        position = 0
      case let .failure(error)?:
        ended = true
        throw error.value
      case nil:
        ended = true
        return false
      }
    }
    return true
  }
}

/// Runs a function over a stream of inputs on several threads and hands the results back in
/// submission order. Each worker thread has its own instance of the function (made by
/// `makeWorker` on that thread), so workers may keep unshared scratch state.
///
/// The submitting thread calls ``submit(_:)`` and ``next()``; at most `depth` inputs are in
/// flight (``submit(_:)`` is for the caller to pace: call ``next()`` when ``inFlight`` reaches
/// ``depth``). ``close()`` stops the workers once the queued work is done.
public final class OrderedPool<Input: Sendable, Output: Sendable>: @unchecked Sendable {
  private struct Job: Sendable {
    var input: Input
    var result: BlockingQueue<Output>
  }
  private let work: BlockingQueue<Job>
  @exclusivity(unchecked) private var threads: [JoinableThread] = []
  @exclusivity(unchecked) private var pending: [BlockingQueue<Output>] = []
  @exclusivity(unchecked) private var pendingHead = 0
  public let depth: Int
  public var inFlight: Int { pending.count - pendingHead }

  public init(workers: Int, depth: Int? = nil, makeWorker: @escaping @Sendable () -> (Input) -> Output) {
    let n = max(1, workers)
    self.depth = depth ?? 4 * n
    work = BlockingQueue(capacity: self.depth)
    let queue = work
    for _ in 0..<n {
      threads.append(JoinableThread {
        let f = makeWorker()
        while let job = queue.pop() { job.result.push(f(job.input)) }
      })
    }
  }

  /// Queues one input.
  public func submit(_ input: Input) {
    let slot = BlockingQueue<Output>(capacity: 1)
    pending.append(slot)
    work.push(Job(input: input, result: slot))
  }

  /// The result of the oldest input not yet returned, waiting for it; nil when none is in flight.
  public func next() -> Output? {
    guard pendingHead < pending.count else { return nil }
    let result = pending[pendingHead].pop()
    pendingHead += 1
    if pendingHead > 64 && pendingHead * 2 > pending.count {
      pending.removeFirst(pendingHead)
      pendingHead = 0
    }
    return result
  }

  /// Lets the workers finish what is queued and stop, and waits for them.
  public func close() {
    work.close()
    for t in threads { t.join() }
  }

  deinit { close() }
}
