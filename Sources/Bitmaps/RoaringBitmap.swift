internal import CRoaring

/// A set of `UInt32` document ids as a CRoaring bitmap: an owned bitmap, or a read-only frozen view
/// straight over bytes that outlive it (a mapped index file). Owns its `roaring_bitmap_t` and frees
/// it in `deinit`. Set operations return new owned bitmaps.
///
/// Not thread-safe for mutation; immutable bitmaps (views, finished results) may be shared.
public final class RoaringBitmap: @unchecked Sendable, Equatable {
  // @unchecked: mutation only through `add`, used by builders before a bitmap is shared.
  let handle: UnsafeMutablePointer<roaring_bitmap_t>
  /// Keeps the bytes under a frozen view alive.
  private let owner: AnyObject?

  private init(handle: UnsafeMutablePointer<roaring_bitmap_t>?, owner: AnyObject?) {
    guard let handle else { preconditionFailure("CRoaring could not allocate a bitmap") }
    self.handle = handle
    self.owner = owner
  }

  /// An empty bitmap.
  public convenience init() { self.init(handle: roaring_bitmap_create(), owner: nil) }

  /// A bitmap of `values` (any order, duplicates allowed).
  public convenience init(_ values: [UInt32]) {
    self.init()
    values.withUnsafeBufferPointer { roaring_bitmap_add_many(handle, $0.count, $0.baseAddress) }
  }

  /// The bitmap of `range` (e.g. every document `0..<count`).
  public convenience init(range: Range<UInt32>) {
    self.init()
    if !range.isEmpty { roaring_bitmap_add_range_closed(handle, range.lowerBound, range.upperBound - 1) }
  }

  deinit { roaring_bitmap_free(handle) }

  /// Adds one value.
  public func add(_ value: UInt32) { roaring_bitmap_add(handle, value) }

  /// Whether `value` is in the set. O(log containers).
  public func contains(_ value: UInt32) -> Bool { roaring_bitmap_contains(handle, value) }

  /// Number of values.
  public var count: Int { Int(roaring_bitmap_get_cardinality(handle)) }

  /// Whether the set is empty. O(1).
  public var isEmptySet: Bool { roaring_bitmap_is_empty(handle) }

  /// The smallest value, or nil when empty. O(1).
  public var minimum: UInt32? { isEmptySet ? nil : roaring_bitmap_minimum(handle) }

  /// Number of values in both `self` and `other`, without building the intersection.
  public func intersectionCount(_ other: RoaringBitmap) -> Int {
    Int(roaring_bitmap_and_cardinality(handle, other.handle))
  }

  /// Calls `body` with every value in ascending order, without materialising them. `body` must not
  /// mutate the bitmap.
  public func forEach(_ body: (UInt32) -> Void) {
    var iterator = roaring_uint32_iterator_t()
    roaring_init_iterator(handle, &iterator)
    var buffer = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                  UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
    withUnsafeMutableBytes(of: &buffer) { raw in
      let values = raw.bindMemory(to: UInt32.self)
      while true {
        let n = Int(roaring_read_uint32_iterator(&iterator, values.baseAddress, UInt32(values.count)))
        for i in 0..<n { body(values[i]) }
        if n < values.count { break }
      }
    }
  }

  /// The values in ascending order.
  public var values: [UInt32] {
    let n = count
    guard n > 0 else { return [] }
    return [UInt32](unsafeUninitializedCapacity: n) { buffer, initialised in
      roaring_bitmap_to_uint32_array(handle, buffer.baseAddress)
      initialised = n
    }
  }

  /// Intersection.
  public func intersection(_ other: RoaringBitmap) -> RoaringBitmap {
    RoaringBitmap(handle: roaring_bitmap_and(handle, other.handle), owner: nil)
  }

  /// Union.
  public func union(_ other: RoaringBitmap) -> RoaringBitmap {
    RoaringBitmap(handle: roaring_bitmap_or(handle, other.handle), owner: nil)
  }

  /// Values of `self` not in `other`.
  public func subtracting(_ other: RoaringBitmap) -> RoaringBitmap {
    RoaringBitmap(handle: roaring_bitmap_andnot(handle, other.handle), owner: nil)
  }

  public static func == (lhs: RoaringBitmap, rhs: RoaringBitmap) -> Bool { roaring_bitmap_equals(lhs.handle, rhs.handle) }

  /// Converts runs to run containers where smaller (call before serialising).
  public func optimise() { _ = roaring_bitmap_run_optimize(handle) }

  // MARK: Serialisation

  /// The portable format (readable by every Roaring implementation), e.g. for Redis.
  public var portableBytes: [UInt8] {
    let size = roaring_bitmap_portable_size_in_bytes(handle)
    return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialised in
      initialised = buffer.withMemoryRebound(to: CChar.self) { roaring_bitmap_portable_serialize(handle, $0.baseAddress) }
    }
  }

  /// Reads the portable format; nil if `bytes` are not a valid portable bitmap.
  public static func fromPortable(_ bytes: [UInt8]) -> RoaringBitmap? {
    let handle = bytes.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { roaring_bitmap_portable_deserialize_safe($0.baseAddress, $0.count) }
    }
    return handle.map { RoaringBitmap(handle: $0, owner: nil) }
  }

  /// The frozen format, whose bytes can later be viewed in place (`frozenView`).
  public var frozenBytes: [UInt8] {
    let size = roaring_bitmap_frozen_size_in_bytes(handle)
    return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialised in
      buffer.withMemoryRebound(to: CChar.self) { roaring_bitmap_frozen_serialize(handle, $0.baseAddress) }
      initialised = size
    }
  }

  /// A read-only view of frozen bytes at `pointer` (32-byte aligned), valid while `owner` lives.
  /// Returns nil if the bytes are not a valid frozen bitmap or are misaligned.
  public static func frozenView(_ pointer: UnsafeRawPointer, count: Int, owner: AnyObject) -> RoaringBitmap? {
    guard funnel_roaring_is_aligned(pointer) != 0,
          let handle = roaring_bitmap_frozen_view(pointer.assumingMemoryBound(to: CChar.self), count) else { return nil }
    return RoaringBitmap(handle: UnsafeMutablePointer(mutating: handle), owner: owner)
  }
}
