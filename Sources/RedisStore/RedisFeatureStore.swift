import Foundation
import FeatureStore
import FunnelCore
import FunnelSecurity

/// Real-time user features in Redis, shared by every replica: per user a sorted set of packed
/// interactions (`PackedInteraction`, scored by timestamp, so late events still land in time order),
/// capped to the newest `interactionsPerUser` and expiring after `userTTLSeconds` of inactivity; event
/// ids are remembered for `eventIDTTLSeconds` so a replayed event changes nothing.
///
/// Keys are laid out for Redis Cluster slots: a user's keys (interactions `PREFIX{D}:u`, forget mark
/// `PREFIX{D}:forgotten`, remembered event ids `PREFIX{D}:e:EVENT`) share the hash tag `{D}`, the
/// SHA-256 digest of the user id, so the per-user script is atomic on one node and no key names
/// the user; item counters (`PREFIX i:ITEM`) and the minute's business counters (`PREFIX biz:MINUTE`)
/// live wherever their own slots fall.
///
/// A read is one `ZREVRANGE`. A batch of events is two pipelined round trips (each split per node on
/// a cluster): the user script per event (check-and-remember the id, drop a forgotten user's
/// event, add, trim, refresh the TTL: atomic per event), then, for the events it applied, the
/// item and business counters. A process stopped between the two leaves those events out of the
/// counters (a replay finds them duplicates): counters are approximate by design, histories exact.
/// Thread-safe.
public final class RedisFeatureStore: RealtimeStore {
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
  /// Capacity and retention (the event stream remembers ingested ids as long as this store does).
  public let limits: Limits

  /// The user's part of applying an event, in the user's slot. Drops the event (returns 2) if its
  /// user was forgotten at or after the time it was accepted (KEYS[3] holds the forget time, ARGV[6]
  /// the acceptance time). Otherwise remembers the event id (KEYS[1], NX); only a first sighting
  /// adds the interaction (unless it is an exposure or anonymous: ARGV[2] empty), trims to the cap
  /// and refreshes the user's TTL. Returns 1 (applied), 0 (duplicate) or 2 (dropped). An anonymous
  /// event passes only KEYS[1].
  static let userScript = """
    if #KEYS == 3 then
      local forgot = redis.call('GET', KEYS[3])
      if forgot and tonumber(forgot) >= tonumber(ARGV[6]) then return 2 end
    end
    if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
      if ARGV[2] ~= '' then
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
        redis.call('EXPIRE', KEYS[2], ARGV[5])
      end
      return 1
    end
    return 0
    """

  /// Counts an applied event in the item's decayed counters (KEYS[1]: 9 packed doubles,
  /// `ItemActivity`; ARGV[1] the kind's index, ARGV[2] the event time) exactly as
  /// `ItemActivity.add` does.
  static let itemScript = """
    local k, t = tonumber(ARGV[1]), tonumber(ARGV[2])
    local v = {0, 0, 0, 0, 0, 0, 0, 0, 0}
    local raw = redis.call('GET', KEYS[1])
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
    redis.call('SET', KEYS[1], struct.pack('<ddddddddd', v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]), 'EX', 172800)
    return 1
    """

  /// Adds an applied purchase to the minute's business counters (KEYS[1], a hash): orders, units
  /// (ARGV[1]) and revenue (ARGV[2]), and the same per category ARGV[3] and country ARGV[4].
  static let businessScript = """
    local groups = {''}
    if ARGV[3] ~= '' then table.insert(groups, 'category:' .. ARGV[3] .. ':') end
    if ARGV[4] ~= '' then table.insert(groups, 'country:' .. ARGV[4] .. ':') end
    for _, g in ipairs(groups) do
      redis.call('HINCRBY', KEYS[1], g .. 'orders', 1)
      redis.call('HINCRBY', KEYS[1], g .. 'units', ARGV[1])
      redis.call('HINCRBYFLOAT', KEYS[1], g .. 'revenue', ARGV[2])
    end
    redis.call('EXPIRE', KEYS[1], 172800)
    return 1
    """

  /// A store over `client` with keys under `keyPrefix`.
  public init(client: RedisClient, keyPrefix: String = "funnel:", limits: Limits = Limits()) {
    self.client = client
    self.keyPrefix = keyPrefix
    self.limits = limits
  }

  /// `PREFIX{DIGEST}`: what every key of the user starts with (the hash tag keeps them in one slot).
  func userTag(_ user: UserID) -> String { keyPrefix + "{" + UserIDDigest.hex(user) + "}" }
  func userKey(_ user: UserID) -> String { userTag(user) + ":u" }
  /// Buckets the item counters are spread over: an item's key carries its bucket's hash tag, so
  /// a request's counters are read with one `MGET` per bucket on a cluster (tens of commands, not
  /// one per candidate) while the buckets still spread over every primary.
  public static let itemBuckets = 64

  /// `PREFIX i:{iB}:ITEM`, B the item's bucket (CRC16 of the id mod `itemBuckets`).
  public func itemKey(_ item: ItemID) -> String {
    keyPrefix + "i:{i" + String(Int(RedisSlot.crc16(item.utf8)) % Self.itemBuckets) + "}:" + item
  }

  /// The `i:{iB}:` part of item keys, by bucket.
  private static let bucketTags: [[UInt8]] = (0..<itemBuckets).map { Array("i:{i\($0)}:".utf8) }
  /// Named by the user's digest: the mark outlives the erasure and must not hold the id.
  func forgottenKey(_ user: UserID) -> String { userTag(user) + ":forgotten" }
  func eventKey(_ event: BehaviourEvent) -> String { userTag(event.userID) + ":e:" + event.eventID }
  /// An anonymous event's remembered id: a slot of its own, no user in it.
  func anonymousEventKey(_ event: BehaviourEvent) -> String { keyPrefix + "a:" + event.eventID }
  func businessKey(minute: Int64) -> String { keyPrefix + "biz:" + String(minute) }

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
      // The key names the user: kept out of an error that may be logged.
      throw RedisError("ZREVRANGE of a user's interactions: \(message)")
    default:
      return []
    }
  }

  /// Applies events directly (start-up seeding, and stores without an event stream), as accepted now.
  public func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult {
    let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
    let outcome = try await apply(events.map { StreamedEvent(entryID: "", acceptedMs: nowMs, event: $0) })
    return EventAppendResult(accepted: outcome.applied, duplicates: outcome.duplicates)
  }

  /// What `apply` did with a batch.
  public struct ApplyOutcome: Hashable, Sendable {
    /// Events counted for the first time.
    public var applied = 0
    /// Events seen before (replays: changed nothing).
    public var duplicates = 0
    /// Events of users forgotten after the event was accepted (dropped).
    public var dropped = 0

    /// Nothing applied yet.
    public init() {}
  }

  /// Applies streamed events (the real-time feature updater): one pipelined round trip of the atomic
  /// per-event script. `category` names an item's category for the business counters (nil: none).
  /// Idempotent by event id: applying a batch again changes no key.
  public func apply(_ events: [StreamedEvent], category: (ItemID) -> String? = { _ in nil }) async throws -> ApplyOutcome {
    try await apply(events, anonymous: false, category: category)
  }

  /// Counts events of users who did not consent in the items' counters and the business counters
  /// only: the user script runs with the event id's key alone (no user key, nothing to add). The
  /// event id is remembered as for any event.
  public func countAnonymously(_ events: [BehaviourEvent], category: @Sendable (ItemID) -> String?) async throws -> Int {
    let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
    return try await apply(events.map { StreamedEvent(entryID: "", acceptedMs: nowMs, event: $0) },
                           anonymous: true, category: category).applied
  }

  private func apply(_ events: [StreamedEvent], anonymous: Bool, category: (ItemID) -> String?) async throws -> ApplyOutcome {
    guard !events.isEmpty else { return ApplyOutcome() }
    let (eval, one, three) = (Array("EVAL".utf8), Array("1".utf8), Array("3".utf8))
    let userScript = Array(Self.userScript.utf8)
    let (idTTL, cap, userTTL) = (Array(String(limits.eventIDTTLSeconds).utf8), Array(String(limits.interactionsPerUser).utf8),
                                 Array(String(limits.userTTLSeconds).utf8))
    let userCommands: [[[UInt8]]] = events.map { streamed in
      let event = streamed.event
      let packed = event.kind == .exposure || anonymous ? [] : PackedInteraction.encode(
        RecentInteraction(itemID: event.itemID, kind: event.kind, timestampMs: event.timestampMs))
      let keys: [[UInt8]] = anonymous ? [one, Array(anonymousEventKey(event).utf8)]
        : [three, Array(eventKey(event).utf8), Array(userKey(event.userID).utf8), Array(forgottenKey(event.userID).utf8)]
      return [eval, userScript] + keys + [idTTL, packed, Array(String(event.timestampMs).utf8), cap, userTTL,
                                          Array(String(streamed.acceptedMs).utf8)]
    }
    var outcome = ApplyOutcome()
    var applied: [BehaviourEvent] = []
    for (streamed, reply) in zip(events, try await client.pipeline(bytes: userCommands)) {
      switch reply {
      case .integer(1): outcome.applied += 1; applied.append(streamed.event)
      case .integer(2): outcome.dropped += 1
      case .integer: outcome.duplicates += 1
      case .error(let message): throw RedisError("storing event \(streamed.event.eventID): \(message)")
      default: throw RedisError("storing event \(streamed.event.eventID): unexpected reply \(reply)")
      }
    }
    let (itemScript, businessScript) = (Array(Self.itemScript.utf8), Array(Self.businessScript.utf8))
    var counterCommands: [[[UInt8]]] = []
    for event in applied {
      if let kind = ItemActivity.kinds.firstIndex(of: event.kind) {
        counterCommands.append([eval, itemScript, one, Array(itemKey(event.itemID).utf8), Array(String(kind).utf8),
                                Array(String(event.timestampMs).utf8)])
      }
      if event.kind == .purchase {
        counterCommands.append([eval, businessScript, one, Array(businessKey(minute: event.timestampMs / 60_000).utf8),
                                Array(String(event.quantity).utf8), Array(String(Double(event.quantity) * event.price).utf8),
                                Array((category(event.itemID) ?? "").utf8), Array(event.country.utf8)])
      }
    }
    guard !counterCommands.isEmpty else { return outcome }
    for reply in try await client.pipeline(bytes: counterCommands) {
      if case .error(let message) = reply { throw RedisError("counting events: \(message)") }
    }
    return outcome
  }

  /// The business counters of one minute (`minute` = Unix ms / 60,000): `orders`, `units`, `revenue`,
  /// and the same per `category:NAME:` and `country:CODE:`. Empty when none.
  public func businessCounters(minute: Int64) async throws -> [String: Double] {
    let reply = try await client.command(["HGETALL", businessKey(minute: minute)])
    guard case .array(let fields) = reply else { throw RedisError("HGETALL \(businessKey(minute: minute)): unexpected reply") }
    var out: [String: Double] = [:]
    for pair in stride(from: 0, to: fields.count - 1, by: 2) {
      if let name = fields[pair].string, let value = fields[pair + 1].string.flatMap(Double.init) { out[name] = value }
    }
    return out
  }

  /// The counters of `docs`, their keys written straight from the ids' bytes (`appendID`): no
  /// `String` per item.
  public func itemActivity(of docs: [DocID], generation: String,
                           appendID: (DocID, inout [UInt8]) -> Void) async throws -> [ItemActivity?] {
    try await counters(count: docs.count) { appendID(docs[$0], &$1) }
  }

  /// The counters of `items`, by id.
  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    try await counters(count: items.count) { $1 += items[$0].utf8 }
  }

  /// One `MGET` of `count` item counters (on a cluster, one per bucket), the keys packed into one
  /// buffer (`appendID(i, &buffer)` writes item i's id) and the values decoded from hiredis's
  /// reply in place.
  private func counters(count: Int, appendID: (Int, inout [UInt8]) -> Void) async throws -> [ItemActivity?] {
    guard count > 0 else { return [] }
    let prefix = Array(keyPrefix.utf8)
    var keys: [UInt8] = []
    keys.reserveCapacity(count * (prefix.count + 20))
    var ends: [Int] = []
    ends.reserveCapacity(count)
    var id: [UInt8] = []
    for i in 0..<count {
      id.removeAll(keepingCapacity: true)
      appendID(i, &id)
      keys += prefix
      keys += Self.bucketTags[Int(RedisSlot.crc16(id)) % Self.itemBuckets]
      keys += id
      ends.append(keys.count)
    }
    return try await client.mget(packedKeys: keys, ends: ends) { raw in raw.flatMap { ItemActivity(packed: $0) } }
  }

  /// Marks the user forgotten as of Redis's clock (the clock stream entry ids use), so events accepted
  /// before and applied after are dropped; the mark lives as long as an event id is remembered. Then
  /// removes the interactions and returns how many there were.
  static let forgetScript = """
    local t = redis.call('TIME')
    redis.call('SET', KEYS[1], tostring(t[1] * 1000 + math.floor(t[2] / 1000)), 'EX', ARGV[1])
    local n = redis.call('ZCARD', KEYS[2])
    redis.call('DEL', KEYS[2])
    return n
    """

  /// Removes the user's interactions and marks the user forgotten (see `forgetScript`). Idempotent;
  /// returns the interactions removed.
  public func forget(user: UserID) async throws -> Int {
    let reply = try await client.command(["EVAL", Self.forgetScript, "2", forgottenKey(user), userKey(user),
                                          String(limits.eventIDTTLSeconds)])
    switch reply {
    case .integer(let count): return Int(count)
    case .error(let message): throw RedisError("forgetting a user: \(message)")
    default: return 0
    }
  }
}
