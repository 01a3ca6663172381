/// A cache of document bitmaps by key (a canonical atomic sub-query within one index generation).
///
/// Implementations are thread-safe. `get` returns nil on a miss or when the cache is unavailable:
/// a cache never fails a request, it only saves work.
public protocol BitmapCache: Sendable {
  /// The cached bitmap for `key`, or nil.
  func get(_ key: String) async -> RoaringBitmap?
  /// Stores `bitmap` under `key` (best effort).
  func put(_ key: String, _ bitmap: RoaringBitmap) async
}
