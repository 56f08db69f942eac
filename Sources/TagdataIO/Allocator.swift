import CMalloc

/// Process-wide allocator tuning for work that allocates and frees the same large buffers over
/// and over (trainer steps, ingest batches).
public enum Allocator {
  /// Keeps freed memory in glibc's allocator instead of handing it back to the kernel and
  /// faulting fresh zeroed pages in on the next allocation: large blocks come from the heap
  /// rather than from their own mappings, and the heap is not trimmed. Memory stays bounded by
  /// the largest working set, not by the input.
  public static func keepFreedMemory() {
    #if os(Linux)
    _ = mallopt(M_MMAP_THRESHOLD, 256 << 20)
    _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    _ = mallopt(M_TOP_PAD, 64 << 20)
    #endif
  }
}
