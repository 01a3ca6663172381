import Bitmaps
import Synchronization

/// The shared level of the sub-query cache: bitmaps in Redis in Roaring's portable format (readable
/// by any Roaring library), with a TTL, shared by every replica.
///
/// A cache must never slow a request down or fail it: errors count as misses, and after an error the
/// cache is bypassed for `backoff` so a dead Redis costs one timeout, not one per request.
/// Thread-safe.
public final class RedisBitmapCache: BitmapCache {
  private let client: RedisClient
  private let keyPrefix: String
  private let ttlSeconds: Int
  private let backoff: Duration
  private let bypassUntil = Mutex<ContinuousClock.Instant?>(nil)
  private let errorCount = Mutex(0)

  /// A cache over `client`; keys are `keyPrefix + key`, entries expire after `ttlSeconds`.
  public init(client: RedisClient, keyPrefix: String = "funnel:subquery:", ttlSeconds: Int = 3_600,
              backoff: Duration = .seconds(5)) {
    self.client = client
    self.keyPrefix = keyPrefix
    self.ttlSeconds = ttlSeconds
    self.backoff = backoff
  }

  /// Redis errors since start.
  public var errors: Int { errorCount.withLock { $0 } }

  public func get(_ key: String) async -> RoaringBitmap? {
    guard available() else { return nil }
    do {
      let reply = try await client.pipeline(bytes: [[Array("GET".utf8), Array((keyPrefix + key).utf8)]])[0]
      guard case .bulk(let bytes) = reply else { return nil }
      return RoaringBitmap.fromPortable(bytes)
    } catch {
      failed()
      return nil
    }
  }

  public func put(_ key: String, _ bitmap: RoaringBitmap) async {
    guard available() else { return }
    do {
      _ = try await client.pipeline(bytes: [[Array("SET".utf8), Array((keyPrefix + key).utf8), bitmap.portableBytes,
                                             Array("EX".utf8), Array(String(ttlSeconds).utf8)]])
    } catch {
      failed()
    }
  }

  private func available() -> Bool {
    bypassUntil.withLock { until in
      guard let u = until else { return true }
      if ContinuousClock.now >= u { until = nil; return true }
      return false
    }
  }

  private func failed() {
    errorCount.withLock { $0 += 1 }
    bypassUntil.withLock { $0 = ContinuousClock.now + backoff }
  }
}
