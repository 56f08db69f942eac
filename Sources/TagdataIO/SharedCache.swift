#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A map shared by threads, bounded in size: when the current generation holds `capacity`
/// entries it becomes the old one (the older is dropped), and a lookup that finds an entry only
/// in the old generation moves it back. Memory stays within two generations whatever the input;
/// what is used often stays. For results that are costly to compute and often asked for again
/// (the canonical form of a ligand that a dump repeats row after row).
public final class SharedCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
  @exclusivity(unchecked) private var mutex = pthread_mutex_t()
  @exclusivity(unchecked) private var current: [Key: Value] = [:]
  @exclusivity(unchecked) private var old: [Key: Value] = [:]
  public let capacity: Int
  /// Lookups answered, and lookups that found nothing.
  @exclusivity(unchecked) public private(set) var hits = 0
  @exclusivity(unchecked) public private(set) var misses = 0

  public init(capacity: Int) {
    self.capacity = max(1, capacity)
    pthread_mutex_init(&mutex, nil)
  }

  deinit { pthread_mutex_destroy(&mutex) }

  public func value(for key: Key) -> Value? {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    if let v = current[key] {
      hits += 1
      return v
    }
    if let v = old[key] {
      hits += 1
      insertLocked(key, v)
      return v
    }
    misses += 1
    return nil
  }

  public func insert(_ value: Value, for key: Key) {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    insertLocked(key, value)
  }

  private func insertLocked(_ key: Key, _ value: Value) {
    if current.count >= capacity {
      old = current
      current = [:]
      current.reserveCapacity(capacity)
    }
    current[key] = value
  }
}
