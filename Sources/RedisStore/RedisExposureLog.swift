import FeatureStore
import FunnelCore

/// Exposures in a Redis Stream (`PREFIX exposures`, field `x` = `PackedExposure`), capped near
/// `maxLength` entries, shared by every replica so reports and training exports see all traffic.
/// Thread-safe.
public final class RedisExposureLog: ExposureLog {
  /// The stream's key.
  public let streamKey: String
  let client: RedisClient
  let maxLength: Int

  /// A log under `keyPrefix` (the real-time store's, e.g. `funnel:`).
  public init(client: RedisClient, keyPrefix: String = "funnel:", maxLength: Int = 5_000_000) {
    self.client = client
    self.streamKey = keyPrefix + "exposures"
    self.maxLength = maxLength
  }

  /// One pipelined round trip of `XADD`s.
  public func write(_ exposures: [Exposure]) async throws {
    guard !exposures.isEmpty else { return }
    let commands: [[[UInt8]]] = exposures.map { e in
      [Array("XADD".utf8), Array(streamKey.utf8), Array("MAXLEN".utf8), Array("~".utf8), Array(String(maxLength).utf8),
       Array("*".utf8), Array("x".utf8), PackedExposure.encode(e)]
    }
    for reply in try await client.pipeline(bytes: commands) {
      if case .error(let message) = reply { throw RedisError("XADD \(streamKey): \(message)") }
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
  /// entries may be gone), in acceptance order.
  public func events(sinceMs: Int64) async throws -> [BehaviourEvent] {
    var out: [BehaviourEvent] = []
    try await RedisStreamReply.scan(client, streamKey, from: "-") { entries in
      for entry in entries { if let e = entry.event, e.timestampMs >= sinceMs { out.append(e) } }
      return []
    }
    return out
  }
}
