#if canImport(Glibc)
import CMalloc
import Glibc
#endif

/// The allocator's memory handed back to the system, for a process whose peak memory matters (a
/// large index build). glibc keeps freed heap memory for reuse, and by default raises the size from
/// which it maps allocations on their own up to 32 MB as big blocks are freed, so a build that frees
/// one large structure before making the next would keep both in its resident set. Elsewhere a no-op.
public enum HeapTuning {
  /// Allocations of at least `bytes` get their own mapping (returned to the system when freed),
  /// fixed from now on for the whole process. Call once, early, in a process that builds.
  public static func mapAllocations(from bytes: Int) {
    #if canImport(Glibc)
    _ = mallopt(M_MMAP_THRESHOLD, Int32(clamping: bytes))
    #endif
  }

  /// Returns the free pages of the heap to the system (after a large structure was freed).
  /// O(heap size); thread-safe.
  public static func returnFreedMemory() {
    #if canImport(Glibc)
    _ = malloc_trim(0)
    #endif
  }
}
