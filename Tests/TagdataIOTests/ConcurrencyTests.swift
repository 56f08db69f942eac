import Testing
@testable import TagdataIO

@Suite struct BlockingQueueTests {
  final class Payload: @unchecked Sendable {}
  struct Box: Sendable { let payload: Payload }

  @Test func poppedElementsAreNotKeptAlive() {
    let queue = BlockingQueue<Box>(capacity: 4)
    weak var first: Payload?
    for i in 0..<50 {
      let p = Payload()
      if i == 0 { first = p }
      queue.push(Box(payload: p))
      _ = queue.pop()
    }
    #expect(first == nil, "the queue still references an element it handed out")
  }

  @Test func producerAndConsumerOnTwoThreadsSeeEveryItemInOrder() {
    let queue = BlockingQueue<Int>(capacity: 3)
    let producer = JoinableThread {
      for i in 0..<10_000 { queue.push(i) }
      queue.close()
    }
    var expected = 0
    while let v = queue.pop() {
      #expect(v == expected)
      expected += 1
    }
    producer.join()
    #expect(expected == 10_000)
  }

  @Test func closingUnblocksAProducerWaitingOnAFullQueue() {
    let queue = BlockingQueue<Int>(capacity: 1)
    queue.push(1)
    let producer = JoinableThread { #expect(queue.push(2) == false) }
    queue.close()
    producer.join()
    #expect(queue.pop() == 1)
    #expect(queue.pop() == nil)
  }
}

@Suite struct SharedCacheTests {
  /// Two generations at most: memory is bounded; an entry asked for again survives a turnover.
  @Test func boundedAndKeepsWhatIsUsed() {
    let cache = SharedCache<Int, String>(capacity: 4)
    for k in 0..<4 { cache.insert("v\(k)", for: k) }
    #expect(cache.value(for: 0) == "v0")
    for k in 4..<8 { cache.insert("v\(k)", for: k) }  // 0...3 become the old generation
    #expect(cache.value(for: 1) == "v1")  // moved back into the current one
    for k in 8..<12 { cache.insert("v\(k)", for: k) }  // 1, 8, 9, 10 old; 0, 2...7 dropped
    #expect(cache.value(for: 2) == nil && cache.value(for: 9) == "v9")
    #expect(cache.hits == 3 && cache.misses == 1)
  }

  @Test func manyThreadsAtOnce() {
    let cache = SharedCache<Int, Int>(capacity: 100)
    let threads = (0..<4).map { t in
      JoinableThread {
        for k in 0..<10_000 {
          if let v = cache.value(for: k % 150) { precondition(v == (k % 150) * 2) } else { cache.insert((k % 150) * 2, for: k % 150) }
        }
        _ = t
      }
    }
    for t in threads { t.join() }
    #expect(cache.hits + cache.misses == 40_000)
  }
}
