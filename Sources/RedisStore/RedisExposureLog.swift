import Foundation
import FeatureStore
import FunnelCore
import Synchronization

/// Exposures in Redis Streams (`PREFIX exposures:{xK}` for shard K of `shards`, by user, as the
/// event stream is sharded; field `x` = `PackedExposure`), capped near `maxLength` entries in all
/// and kept `retentionMs` at most (personal data expires: entries older are trimmed, at most once a
/// minute, by the writes), shared by every replica so reports and training exports see all traffic.
/// On a Redis Cluster the shards spread the heaviest write stream (an entry per answer) over the
/// primaries. Thread-safe.
public final class RedisExposureLog: ExposureLog {
  /// The shards' stream keys, shard K at index K.
  public let streamKeys: [String]
  let client: RedisClient
  /// Entries kept per shard.
  let maxLength: Int
  /// How long an exposure is kept, ms.
  let retentionMs: Int64
  /// When the writes next trim by age, Unix ms.
  private let nextTrimMs = Atomic<Int64>(0)

  /// A log of `shards` shards (1...256; the event stream's count) under `keyPrefix` (the
  /// real-time store's, e.g. `funnel:`).
  public init(client: RedisClient, keyPrefix: String = "funnel:", shards: Int = 1, maxLength: Int = 5_000_000,
              retentionMs: Int64 = 30 * 86_400_000) {
    let count = min(RedisEventStream.maxShards, max(1, shards))
    self.client = client
    self.streamKeys = (0..<count).map { keyPrefix + "exposures:{x\($0)}" }
    self.maxLength = max(1, maxLength / count)
    self.retentionMs = retentionMs
  }

  /// The stream key of `user`'s shard (CRC16 of the id, as for events).
  public func streamKey(of user: UserID) -> String { streamKeys[RedisEventStream.shard(of: user, among: streamKeys.count)] }

  /// Drops entries logged before `nowMs - retentionMs` (stream ids are Redis's ms clock).
  public func trim(nowMs: Int64) async throws {
    // Exact (`=`), not approximate: an approximate trim keeps whole nodes of old entries.
    let minID = String(max(0, nowMs - retentionMs))
    for (key, reply) in zip(streamKeys, try await client.pipeline(streamKeys.map { ["XTRIM", $0, "MINID", "=", minID] })) {
      if case .error(let message) = reply { throw RedisError("XTRIM \(key): \(message)") }
    }
  }

  /// One pipelined round trip of `XADD`s.
  public func write(_ exposures: [Exposure]) async throws {
    guard !exposures.isEmpty else { return }
    // Stream ids carry the wall clock when they are added, not the exposures' own (a replay's are
    // old); read before the append, so a slow append never trims what it adds.
    let nowMs = Int64(Date().timeIntervalSince1970 * 1_000)
    let commands: [[[UInt8]]] = exposures.map { e in
      [Array("XADD".utf8), Array(streamKey(of: e.userID).utf8), Array("MAXLEN".utf8), Array("~".utf8), Array(String(maxLength).utf8),
       Array("*".utf8), Array("x".utf8), PackedExposure.encode(e)]
    }
    for reply in try await client.pipeline(bytes: commands) {
      if case .error(let message) = reply { throw RedisError("XADD to the exposure log: \(message)") }
    }
    let due = nextTrimMs.load(ordering: .relaxed)
    if nowMs >= due, nextTrimMs.compareExchange(expected: due, desired: nowMs + 60_000, ordering: .relaxed).exchanged {
      try await trim(nowMs: nowMs)
    }
  }

  /// Reads every shard from the first entry logged at `sinceMs` on, in pages of 1,000; ordered by
  /// the millisecond each was logged (the shards merged by entry id; ties across shards, whose ids
  /// come from different servers' clocks, in shard order).
  public func exposures(sinceMs: Int64) async throws -> [Exposure] {
    try await RedisStreamReply.collect(client, streamKeys, from: String(max(0, sinceMs))) { entry in
      entry.field("x").flatMap(PackedExposure.decode).flatMap { $0.timestampMs >= sinceMs ? $0 : nil }
    }
  }

  /// Up to `limit` entries of shard `shard` after position `after` (nil: from the start), oldest
  /// first, with the position of the last one read (nil when none), for readers that follow the log
  /// (the online learner). Entries that do not decode are skipped (their position still advances).
  public func entries(shard: Int, after: String?, limit: Int) async throws -> (exposures: [(position: String, exposure: Exposure)], last: String?) {
    let key = streamKeys[shard]
    let reply = try await client.command(["XRANGE", key, after.map { "(" + $0 } ?? "-", "+", "COUNT", String(max(1, limit))])
    if case .error(let message) = reply { throw RedisError("XRANGE \(key): \(message)") }
    let page = RedisStreamReply.entries(reply)
    return (page.compactMap { entry in entry.field("x").flatMap(PackedExposure.decode).map { (entry.id, $0) } }, page.last?.id)
  }

  /// Deletes the user's entries (O(their shard's length)).
  public func forget(user: UserID) async throws -> Int {
    var removed = 0
    try await RedisStreamReply.scan(client, streamKey(of: user), from: "-") { entries in
      entries.compactMap { entry in entry.field("x").flatMap(PackedExposure.decode)?.userID == user ? entry.id : nil }
    } delete: { removed += $0 }
    return removed
  }
}

extension RedisEventStream: EventHistory {
  /// Events still in the stream with a timestamp at or after `sinceMs` (the stream is capped: older
  /// entries may be gone), in acceptance order (the shards merged by entry id).
  public func events(sinceMs: Int64) async throws -> [BehaviourEvent] {
    try await RedisStreamReply.collect(client, streamKeys, from: "-") { entry in
      entry.event.flatMap { $0.timestampMs >= sinceMs ? $0 : nil }
    }
  }
}
