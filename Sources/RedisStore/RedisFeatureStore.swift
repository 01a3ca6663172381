import FeatureStore
import FunnelCore

/// Real-time user features in Redis, shared by every replica: per user a sorted set of packed
/// interactions (`PackedInteraction`, scored by timestamp, so late events still land in time order),
/// capped to the newest `interactionsPerUser` and expiring after `userTTLSeconds` of inactivity; event
/// ids are remembered for `eventIDTTLSeconds` so a replayed event changes nothing.
///
/// A read is one `ZREVRANGE`; a batch of events is one pipelined round trip of a small Lua script per
/// event (check-and-remember the id, add, trim, refresh the TTL: atomic per event). Thread-safe.
public final class RedisFeatureStore: UserActivitySource, EventSink, ItemActivitySource {
  /// Capacity and retention.
  public struct Limits: Hashable, Sendable {
    /// Interactions kept per user (oldest dropped first).
    public var interactionsPerUser = 200
    /// A user's interactions expire after this long without a new one.
    public var userTTLSeconds = 90 * 86_400
    /// How long an event id is remembered for de-duplication.
    public var eventIDTTLSeconds = 7 * 86_400

    /// The defaults above.
    public init() {}
  }

  /// Keys start with this (e.g. `funnel:` -> `funnel:u:USER`, `funnel:e:EVENT`).
  public let keyPrefix: String
  private let client: RedisClient
  private let limits: Limits

  /// Remembers the event id (NX); only a first sighting adds the interaction (unless it is an
  /// exposure: ARGV[2] empty), trims to the cap and refreshes the user's TTL, and counts the event in
  /// the item's decayed counters (KEYS[3]: 9 packed doubles, `ItemActivity`; ARGV[6] the kind's
  /// index or -1) exactly as `ItemActivity.add` does. Returns 1 or 0.
  static let appendScript = """
    if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
      if ARGV[2] ~= '' then
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
        redis.call('EXPIRE', KEYS[2], ARGV[5])
      end
      local k = tonumber(ARGV[6])
      if k >= 0 then
        local t = tonumber(ARGV[3])
        local v = {0, 0, 0, 0, 0, 0, 0, 0, 0}
        local raw = redis.call('GET', KEYS[3])
        if raw and string.len(raw) == 72 then v = {struct.unpack('<ddddddddd', raw)} end
        local h = {3600000, 86400000}
        if t >= v[1] then
          for i = 0, 7 do v[i + 2] = v[i + 2] * math.pow(0.5, (t - v[1]) / h[(i % 2) + 1]) end
          v[1] = t
          v[2 * k + 2] = v[2 * k + 2] + 1
          v[2 * k + 3] = v[2 * k + 3] + 1
        else
          v[2 * k + 2] = v[2 * k + 2] + math.pow(0.5, (v[1] - t) / h[1])
          v[2 * k + 3] = v[2 * k + 3] + math.pow(0.5, (v[1] - t) / h[2])
        end
        redis.call('SET', KEYS[3], struct.pack('<ddddddddd', v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]),
                   'EX', 172800)
      end
      return 1
    end
    return 0
    """

  /// A store over `client` with keys under `keyPrefix`.
  public init(client: RedisClient, keyPrefix: String = "funnel:", limits: Limits = Limits()) {
    self.client = client
    self.keyPrefix = keyPrefix
    self.limits = limits
  }

  func userKey(_ user: UserID) -> String { keyPrefix + "u:" + user }
  func itemKey(_ item: ItemID) -> String { keyPrefix + "i:" + item }

  public func recentActivity(of user: UserID, limit: Int) async throws -> [RecentInteraction] {
    guard limit > 0 else { return [] }
    let reply = try await client.command(["ZREVRANGE", userKey(user), "0", String(limit - 1)])
    switch reply {
    case .array(let entries):
      return entries.compactMap { entry in
        guard case .bulk(let bytes) = entry else { return nil }
        return PackedInteraction.decode(bytes)
      }
    case .error(let message):
      throw RedisError("ZREVRANGE \(userKey(user)): \(message)")
    default:
      return []
    }
  }

  public func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult {
    guard !events.isEmpty else { return EventAppendResult(accepted: 0, duplicates: 0) }
    let script = Array(Self.appendScript.utf8)
    let commands: [[[UInt8]]] = events.map { event in
      let packed = event.kind == .exposure ? [] : PackedInteraction.encode(
        RecentInteraction(itemID: event.itemID, kind: event.kind, timestampMs: event.timestampMs))
      let kind = ItemActivity.kinds.firstIndex(of: event.kind) ?? -1
      return [Array("EVAL".utf8), script, Array("3".utf8), Array((keyPrefix + "e:" + event.eventID).utf8),
              Array(userKey(event.userID).utf8), Array(itemKey(event.itemID).utf8),
              Array(String(limits.eventIDTTLSeconds).utf8), packed,
              Array(String(event.timestampMs).utf8), Array(String(limits.interactionsPerUser).utf8),
              Array(String(limits.userTTLSeconds).utf8), Array(String(kind).utf8)]
    }
    var result = EventAppendResult(accepted: 0, duplicates: 0)
    for (event, reply) in zip(events, try await client.pipeline(bytes: commands)) {
      switch reply {
      case .integer(1): result.accepted += 1
      case .integer: result.duplicates += 1
      case .error(let message): throw RedisError("storing event \(event.eventID): \(message)")
      default: throw RedisError("storing event \(event.eventID): unexpected reply \(reply)")
      }
    }
    return result
  }

  /// One `MGET` for all of `items`.
  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    guard !items.isEmpty else { return [] }
    let reply = try await client.command(["MGET"] + items.map(itemKey))
    guard case .array(let values) = reply, values.count == items.count else {
      throw RedisError("MGET of \(items.count) item counters: unexpected reply")
    }
    return values.map { value in
      guard case .bulk(let bytes) = value else { return nil }
      return ItemActivity(packed: bytes)
    }
  }

  public func forget(user: UserID) async throws -> Int {
    let replies = try await client.pipeline([["ZCARD", userKey(user)], ["DEL", userKey(user)]])
    if case .integer(let count) = replies[0] { return Int(count) }
    return 0
  }
}
