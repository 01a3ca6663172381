import FeatureStore
import FunnelCore

/// One member of the consumer groups that update real-time features from the event stream: a
/// group of the same name on each shard's stream.
///
/// Each `step()` first re-reads this consumer's own unacknowledged entries when the last apply
/// failed (or at start), then claims entries another consumer has held longer than `claimIdleMs`
/// (a crashed replica's; `XAUTOCLAIM`), then reads new entries (`XREADGROUP ... >`): without
/// waiting from every shard but one, then, if none had any, blocking up to `blockMs` on that one
/// (the shard waited on rotates, so an event on any shard waits at most about `blockMs`). Entries are acknowledged only after `apply` stored them, so a consumer killed
/// mid-batch loses nothing: its pending entries are claimed by another and applied again, which the
/// store's idempotence by event id makes harmless.
///
/// Not thread-safe: one task drives one consumer. Give it a `RedisClient` of its own whose timeout
/// exceeds `blockMs` (a blocked read holds its connection).
public final class RedisEventConsumer {
  /// Group membership and pacing.
  public struct Settings: Hashable, Sendable {
    /// The consumer group (shared by every replica).
    public var group = "funnel-updaters"
    /// This consumer's name, unique per replica (e.g. host and pid).
    public var consumer: String
    /// Most entries per read.
    public var batchSize = 500
    /// How long a read waits for new entries, in ms.
    public var blockMs = 50
    /// Entries pending this long on another consumer are claimed, in ms.
    public var claimIdleMs = 5_000
    /// Entries older than this are trimmed from the stream (checked every minute), in ms. Kept below
    /// the event-id memory (7 days) so a new group replaying the stream never meets an event whose
    /// id has been forgotten (it would be counted twice).
    public var retentionMs: Int64 = 6 * 86_400_000

    /// Settings for consumer `consumer`.
    public init(consumer: String) { self.consumer = consumer }
  }

  /// What one `step()` did.
  public struct StepOutcome: Hashable, Sendable {
    /// Entries read (own pending, claimed and new).
    public var read = 0
    /// Of which claimed from other consumers.
    public var claimed = 0
    /// Entries without an event (deleted while queued, or not a `PackedEvent`): acknowledged, skipped.
    public var malformed = 0
    /// What the store did with the events.
    public var applied = RedisFeatureStore.ApplyOutcome()
  }

  /// Stores a batch of events; must be idempotent by event id. Throwing leaves the batch pending.
  public typealias Apply = ([StreamedEvent]) async throws -> RedisFeatureStore.ApplyOutcome

  public let settings: Settings
  let client: RedisClient
  let streamKeys: [String]
  var rereadOwn: [Bool]
  var blockingShard = 0
  var nextClaimMs: Int64 = 0
  var nextTrimMs: Int64 = 0

  /// A consumer of `stream` over `client`.
  public init(client: RedisClient, stream: RedisEventStream, settings: Settings) {
    self.client = client
    self.streamKeys = stream.streamKeys
    self.rereadOwn = Array(repeating: true, count: stream.streamKeys.count)
    self.settings = settings
  }

  /// Creates the group at the start of each shard's stream if it does not exist (idempotent).
  public func joinGroup() async throws {
    for shard in streamKeys.indices { try await joinGroup(shard) }
  }

  private func joinGroup(_ shard: Int) async throws {
    let reply = try await client.command(["XGROUP", "CREATE", streamKeys[shard], settings.group, "0", "MKSTREAM"])
    if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") {
      throw RedisError("XGROUP CREATE \(streamKeys[shard]) \(settings.group): \(message)")
    }
  }

  /// Reads, applies and acknowledges one round of entries. `nowMs` paces the claiming of idle entries.
  public func step(nowMs: Int64, apply: Apply) async throws -> StepOutcome {
    var outcome = StepOutcome()
    for shard in streamKeys.indices where rereadOwn[shard] {
      let own = try await read(shard, id: "0", block: false)
      try await handle(own, shard: shard, apply: apply, into: &outcome)
      rereadOwn[shard] = own.count == settings.batchSize
    }
    if nowMs >= nextClaimMs {
      for shard in streamKeys.indices {
        let claimed = try await claimIdle(shard)
        outcome.claimed += claimed.count
        try await handle(claimed, shard: shard, apply: apply, into: &outcome)
      }
      nextClaimMs = nowMs + Int64(max(100, settings.claimIdleMs / 2))
    }
    if outcome.read == 0 {
      blockingShard = (blockingShard + 1) % streamKeys.count
      for shard in streamKeys.indices where shard != blockingShard {
        try await handle(try await read(shard, id: ">", block: false), shard: shard, apply: apply, into: &outcome)
      }
      if outcome.read == 0 {
        try await handle(try await read(blockingShard, id: ">", block: true), shard: blockingShard, apply: apply, into: &outcome)
      }
    }
    if nowMs >= nextTrimMs {
      nextTrimMs = nowMs + 60_000
      // Exact, not approximate (`~` keeps whole nodes of entries past the retention).
      let minID = String(max(0, nowMs - settings.retentionMs))
      _ = try await client.pipeline(streamKeys.map { ["XTRIM", $0, "MINID", "=", minID] })
    }
    return outcome
  }

  /// The group's backlog from `XINFO GROUPS`: entries delivered but not acknowledged, and entries in
  /// the stream not yet delivered to the group (`lag`; nil when Redis cannot tell, e.g. after an
  /// entry was deleted, or before Redis 7).
  public func backlog() async throws -> (pending: Int, lag: Int?) {
    var pending = 0
    var lag: Int? = 0
    for reply in try await client.pipeline(streamKeys.map { ["XINFO", "GROUPS", $0] }) {
      var found = false
      for group in reply.array ?? [] {
        let fields = group.array ?? []
        var values: [String: RedisReply] = [:]
        for i in stride(from: 0, to: fields.count - 1, by: 2) {
          if let name = fields[i].string { values[name] = fields[i + 1] }
        }
        guard values["name"]?.string == settings.group else { continue }
        found = true
        if case .integer(let n)? = values["pending"] { pending += Int(n) }
        if case .integer(let n)? = values["lag"] { lag = lag.map { $0 + Int(n) } } else { lag = nil }
      }
      if !found { lag = nil }
    }
    return (pending, lag)
  }

  private func handle(_ entries: [RedisStreamReply.Entry], shard: Int, apply: Apply,
                      into outcome: inout StepOutcome) async throws {
    guard !entries.isEmpty else { return }
    outcome.read += entries.count
    let events = entries.compactMap(\.streamed)
    outcome.malformed += entries.count - events.count
    do {
      let applied = try await apply(events)
      outcome.applied.applied += applied.applied
      outcome.applied.duplicates += applied.duplicates
      outcome.applied.dropped += applied.dropped
    } catch {
      rereadOwn[shard] = true
      throw error
    }
    _ = try await client.command(["XACK", streamKeys[shard], settings.group] + entries.map(\.id))
  }

  private func read(_ shard: Int, id: String, block: Bool) async throws -> [RedisStreamReply.Entry] {
    let streamKey = streamKeys[shard]
    var arguments = ["XREADGROUP", "GROUP", settings.group, settings.consumer, "COUNT", String(settings.batchSize)]
    if block { arguments += ["BLOCK", String(settings.blockMs)] }
    let reply = try await client.command(arguments + ["STREAMS", streamKey, id])
    switch reply {
    case .array(let streams):
      guard case .array(let pair) = streams.first, pair.count == 2 else { return [] }
      return RedisStreamReply.entries(pair[1])
    case .error(let message):
      if message.hasPrefix("NOGROUP") { try await joinGroup(shard); return [] }
      throw RedisError("XREADGROUP \(streamKey): \(message)")
    default:
      return []  // timed out with nothing new
    }
  }

  private func claimIdle(_ shard: Int) async throws -> [RedisStreamReply.Entry] {
    let streamKey = streamKeys[shard]
    let reply = try await client.command(["XAUTOCLAIM", streamKey, settings.group, settings.consumer,
                                          String(settings.claimIdleMs), "0-0", "COUNT", String(settings.batchSize)])
    switch reply {
    case .array(let parts) where parts.count >= 2:
      // Entries deleted while pending come back in the third part (Redis 7): acknowledge them too.
      var entries = RedisStreamReply.entries(parts[1])
      if parts.count > 2, case .array(let deleted) = parts[2] {
        entries += deleted.compactMap { $0.string.map { RedisStreamReply.Entry(id: $0, event: nil) } }
      }
      return entries
    case .error(let message):
      if message.hasPrefix("NOGROUP") { try await joinGroup(shard); return [] }
      throw RedisError("XAUTOCLAIM \(streamKey): \(message)")
    default:
      return []
    }
  }
}
