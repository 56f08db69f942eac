import Dispatch
import TagdataCatalog
import TagdataChem

extension Catalog {
  /// Works out and stores the group keys (``MoleculeGroups``: parent and scaffold) of every
  /// molecule stored without them under the current version, a page at a time, each page shared
  /// out among `threads` threads (`tagdata catalog groups`; `tagdata run` after its ingest). A
  /// build then reads the keys instead of working them out. Interrupted, it leaves the molecules
  /// it did not reach for the next one (a build works out what is missing). `progress` gets the
  /// molecules done so far after each page. Returns how many molecules it did.
  @discardableResult
  public func fillMoleculeGroups(threads: Int = Ingestor.processors, pageSize: Int = 8192,
                                 progress: ((Int) -> Void)? = nil) throws -> Int {
    let threads = max(1, threads)
    var after: Int64 = 0
    var done = 0
    while true {
      let page = try moleculesWithoutGroups(version: MoleculeGroups.version, after: after, limit: pageSize)
      guard let last = page.last else { break }
      let keys = GroupKeys(count: page.count)
      DispatchQueue.concurrentPerform(iterations: threads) { t in
        var i = t
        while i < page.count {
          keys.set(i, MoleculeGroups.keys(smiles: page[i].smiles))
          i += threads
        }
      }
      try storeMoleculeGroups(page.indices.map { (page[$0].id, keys.value(at: $0).parent, keys.value(at: $0).scaffold) },
                              version: MoleculeGroups.version)
      done += page.count
      after = last.id
      progress?(done)
    }
    return done
  }
}

/// One page's keys, each slot written by one thread.
private final class GroupKeys: @unchecked Sendable {
  private let slots: UnsafeMutablePointer<(parent: String, scaffold: String)>
  let count: Int

  init(count: Int) {
    self.count = count
    slots = .allocate(capacity: count)
    slots.initialize(repeating: ("", ""), count: count)
  }

  deinit {
    slots.deinitialize(count: count)
    slots.deallocate()
  }

  func set(_ i: Int, _ value: (parent: String, scaffold: String)) { slots[i] = value }
  func value(at i: Int) -> (parent: String, scaffold: String) { slots[i] }
}
