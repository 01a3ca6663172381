import Foundation
import Indicators
import RedisStore
import Synchronization

/// Where each replica's latest health sample is kept for the dashboard: in process (one replica),
/// or in a Redis hash (`dash:health`, one field per replica) so every replica's dashboard lists the
/// fleet; samples older than 10 s are left out (a replica that stopped leaves the table) and removed.
/// Thread-safe.
final class ReplicaHealthBoard: Sendable {
  private let latest = Mutex<ReplicaHealth?>(nil)
  private let redis: RedisClient?
  private let key: String
  static let staleMs: Int64 = 10_000

  init(redis: RedisClient?, keyPrefix: String = "funnel:") {
    self.redis = redis
    self.key = keyPrefix + "dash:health"
  }

  /// Stores this replica's sample (best effort with Redis: the dashboard shows the last one it read).
  func publish(_ health: ReplicaHealth) async {
    latest.withLock { $0 = health }
    guard let redis, let json = try? JSONEncoder().encode(health) else { return }
    _ = try? await redis.command(["HSET", key, health.replica, String(decoding: json, as: UTF8.self)])
  }

  /// Every replica's sample, fresh ones only, by replica name; this replica's alone without Redis
  /// (or when Redis cannot be read).
  func all(nowMs: Int64) async -> [ReplicaHealth] {
    let own = latest.withLock { $0 }
    guard let redis, case .array(let items)? = try? await redis.command(["HGETALL", key]) else { return own.map { [$0] } ?? [] }
    var out: [ReplicaHealth] = []
    var stale: [String] = []
    var i = 0
    while i + 1 < items.count {
      if let name = items[i].string, case .bulk(let bytes) = items[i + 1] {
        if let health = try? JSONDecoder().decode(ReplicaHealth.self, from: Data(bytes)), nowMs - health.at <= Self.staleMs {
          out.append(health)
        } else {
          stale.append(name)
        }
      }
      i += 2
    }
    if !stale.isEmpty { _ = try? await redis.command(["HDEL", key] + stale) }
    return out.sorted { $0.replica < $1.replica }
  }
}
