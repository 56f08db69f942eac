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
