import Foundation
import FeatureStore
import FunnelCore
import Synchronization

/// Exposures in a Redis Stream (`PREFIX exposures`, field `x` = `PackedExposure`), capped near
/// `maxLength` entries and kept `retentionMs` at most (personal data expires: entries older are
/// trimmed, at most once a minute, by the writes), shared by every replica so reports and training
/// exports see all traffic. Thread-safe.
public final class RedisExposureLog: ExposureLog {
  /// The stream's key.
  public let streamKey: String
  let client: RedisClient
  let maxLength: Int
  /// How long an exposure is kept, ms.
  let retentionMs: Int64
  /// When the writes next trim by age, Unix ms.
  private let nextTrimMs = Atomic<Int64>(0)

  /// A log under `keyPrefix` (the real-time store's, e.g. `funnel:`).
  public init(client: RedisClient, keyPrefix: String = "funnel:", maxLength: Int = 5_000_000,
              retentionMs: Int64 = 30 * 86_400_000) {
    self.client = client
    self.streamKey = keyPrefix + "exposures"
    self.maxLength = maxLength
    self.retentionMs = retentionMs
  }

  /// Drops entries logged before `nowMs - retentionMs` (stream ids are Redis's ms clock).
  public func trim(nowMs: Int64) async throws {
    // Exact (`=`), not approximate: an approximate trim keeps whole nodes of old entries.
    let reply = try await client.command(["XTRIM", streamKey, "MINID", "=", String(max(0, nowMs - retentionMs))])
    if case .error(let message) = reply { throw RedisError("XTRIM \(streamKey): \(message)") }
  }

  /// One pipelined round trip of `XADD`s.
  public func write(_ exposures: [Exposure]) async throws {
    guard !exposures.isEmpty else { return }
    // Stream ids carry the wall clock when they are added, not the exposures' own (a replay's are
    // old); read before the append, so a slow append never trims what it adds.
    let nowMs = Int64(Date().timeIntervalSince1970 * 1_000)
    let commands: [[[UInt8]]] = exposures.map { e in
      [Array("XADD".utf8), Array(streamKey.utf8), Array("MAXLEN".utf8), Array("~".utf8), Array(String(maxLength).utf8),
       Array("*".utf8), Array("x".utf8), PackedExposure.encode(e)]
    }
    for reply in try await client.pipeline(bytes: commands) {
      if case .error(let message) = reply { throw RedisError("XADD \(streamKey): \(message)") }
    }
    let due = nextTrimMs.load(ordering: .relaxed)
    if nowMs >= due, nextTrimMs.compareExchange(expected: due, desired: nowMs + 60_000, ordering: .relaxed).exchanged {
      try await trim(nowMs: nowMs)
    }
  }

  /// Reads the stream from the first entry logged at `sinceMs` on, in pages of 1,000.
  public func exposures(sinceMs: Int64) async throws -> [Exposure] {
    var out: [Exposure] = []
    try await RedisStreamReply.scan(client, streamKey, from: String(max(0, sinceMs))) { entries in
      for entry in entries {
        guard let bytes = entry.field("x"), let exposure = PackedExposure.decode(bytes) else { continue }
        if exposure.timestampMs >= sinceMs { out.append(exposure) }
      }
      return []
    }
    return out
  }

  /// Deletes the user's entries (O(stream length)).
  public func forget(user: UserID) async throws -> Int {
    var removed = 0
    try await RedisStreamReply.scan(client, streamKey, from: "-") { entries in
      entries.compactMap { entry in entry.field("x").flatMap(PackedExposure.decode)?.userID == user ? entry.id : nil }
    } delete: { removed += $0 }
    return removed
  }
}

extension RedisEventStream: EventHistory {
  /// Events still in the stream with a timestamp at or after `sinceMs` (the stream is capped: older
  /// entries may be gone), in acceptance order (the shards merged by entry id).
  public func events(sinceMs: Int64) async throws -> [BehaviourEvent] {
    var out: [(ms: Int64, sequence: Int64, event: BehaviourEvent)] = []
    for key in streamKeys {
      try await RedisStreamReply.scan(client, key, from: "-") { entries in
        for entry in entries {
          guard let e = entry.event, e.timestampMs >= sinceMs else { continue }
          let parts = entry.id.split(separator: "-")
          out.append((Int64(parts.first ?? "") ?? 0, Int64(parts.last ?? "") ?? 0, e))
        }
        return []
      }
    }
    if streamKeys.count > 1 { out.sort { ($0.ms, $0.sequence) < ($1.ms, $1.sequence) } }
    return out.map(\.event)
  }
}
