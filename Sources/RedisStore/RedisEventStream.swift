import Foundation
import FeatureStore
import FunnelCore

/// The collector's side of the event stream: validated events are appended to Redis Streams
/// (`PREFIX events:{K}` for shard K of `shards`, field `e` = `PackedEvent`), idempotently by event id
/// (an id is remembered as long as the store remembers applied ones; a replayed event is a
/// duplicate and appends nothing). An event counts as accepted once Redis has appended it: with
/// `appendonly yes` it survives a Redis restart. The real-time features are updated by
/// `RedisEventConsumer`s reading every shard in a consumer group per shard.
///
/// A user's events always go to the same shard (`shard(of:)`), so their order is kept; shards
/// spread the stream over a Redis Cluster's nodes instead of one hot slot. All keys of shard K
/// (its stream, its remembered ids `PREFIX in:{K}:EVENT`, its users' entry lists) carry the hash
/// tag `{K}`, so the ingest script is atomic on one node. Change the shard count only with the
/// streams drained: a user moved to another shard would have entries in two.
///
/// Each stream is capped near `maxLength` entries (approximate trimming): consumers more than that
/// far behind lose the oldest entries, which `Admin.Status`' stream lag shows first.
///
/// Each user's entry ids are also listed (`PREFIX ue:{K}:USER`, at most `maxEntriesPerUser`,
/// expiring `entryIndexTTLSeconds` after the user's last event), so forgetting a user deletes their
/// entries in O(their entries), not O(the stream). Thread-safe.
public final class RedisEventStream: EventSink {
  /// The shards' stream keys, shard K at index K.
  public let streamKeys: [String]
  let keyPrefix: String
  let client: RedisClient
  let store: RedisFeatureStore
  let maxLength: Int

  /// Entry ids listed per user (a bot's flood keeps only its newest; `forget` then scans the stream).
  let maxEntriesPerUser: Int
  /// How long a user's entry list outlives their last event. A forget falls back to scanning the
  /// stream when the stream holds entries older than this.
  let entryIndexTTLSeconds: Int

  /// Remembers the event id (NX) and only then appends the entry and lists its id under the user
  /// (marking the list overflowed when it drops an id); returns 1 (appended) or 0 (duplicate).
  static let ingestScript = """
    if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
      local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2])
      if redis.call('RPUSH', KEYS[3], id) > tonumber(ARGV[4]) then
        redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
        redis.call('SET', KEYS[4], '1', 'EX', ARGV[5])
      end
      redis.call('EXPIRE', KEYS[3], ARGV[5])
      return 1
    end
    return 0
    """

  /// Replicas that must hold an append before it counts as accepted (`WAIT`; 0: the primary's
  /// word is enough), and how long to wait for them, ms.
  let replicaAcks: Int
  let replicaTimeoutMs: Int

  /// Shards at most (a consumer reads each in turn).
  public static let maxShards = 256

  /// A stream of `shards` shards (1...256) under `store`'s key prefix, each capped near `maxLength`;
  /// `forget` also clears the user in `store`. With `replicaAcks` > 0 an append is accepted only
  /// once that many replicas of its primary hold it (waiting up to `replicaTimeoutMs`), so a
  /// primary's failover loses no accepted event.
  public init(client: RedisClient, store: RedisFeatureStore, shards: Int = 1, replicaAcks: Int = 0,
              replicaTimeoutMs: Int = 100, maxLength: Int = 1_000_000, maxEntriesPerUser: Int = 10_000,
              entryIndexTTLSeconds: Int = 30 * 86_400) {
    self.replicaAcks = max(0, replicaAcks)
    self.replicaTimeoutMs = max(1, replicaTimeoutMs)
    self.client = client
    self.store = store
    self.keyPrefix = store.keyPrefix
    self.streamKeys = (0..<min(Self.maxShards, max(1, shards))).map { store.keyPrefix + "events:{\($0)}" }
    self.maxLength = maxLength
    self.maxEntriesPerUser = max(1, maxEntriesPerUser)
    self.entryIndexTTLSeconds = max(1, entryIndexTTLSeconds)
  }

  /// The shard of `user` among `count` (events and exposures alike): CRC16 of the id, stable
  /// across processes and versions.
  public static func shard(of user: UserID, among count: Int) -> Int { Int(RedisSlot.crc16(user.utf8)) % count }
  /// The shard of `user`'s events.
  public func shard(of user: UserID) -> Int { Self.shard(of: user, among: streamKeys.count) }
  /// The stream key of `user`'s shard.
  public func streamKey(of user: UserID) -> String { streamKeys[shard(of: user)] }

  private func entriesKey(_ user: UserID, shard: Int) -> String { keyPrefix + "ue:{\(shard)}:" + user }
  private func overflowKey(_ user: UserID, shard: Int) -> String { keyPrefix + "ue-over:{\(shard)}:" + user }
  private func entriesKey(_ user: UserID) -> String { entriesKey(user, shard: shard(of: user)) }
  private func overflowKey(_ user: UserID) -> String { overflowKey(user, shard: shard(of: user)) }

  /// Appends `events` in one pipelined round trip. Returns once Redis has appended them.
  public func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult {
    guard !events.isEmpty else { return EventAppendResult(accepted: 0, duplicates: 0) }
    let script = Array(Self.ingestScript.utf8)
    let (cap, ttl) = (Array(String(maxEntriesPerUser).utf8), Array(String(entryIndexTTLSeconds).utf8))
    let (idTTL, length) = (Array(String(store.limits.eventIDTTLSeconds).utf8), Array(String(maxLength).utf8))
    let commands: [[[UInt8]]] = events.map { event in
      let shard = shard(of: event.userID)
      return [Array("EVAL".utf8), script, Array("4".utf8), Array((keyPrefix + "in:{\(shard)}:" + event.eventID).utf8),
              Array(streamKeys[shard].utf8), Array(entriesKey(event.userID, shard: shard).utf8),
              Array(overflowKey(event.userID, shard: shard).utf8), idTTL, PackedEvent.encode(event), length, cap, ttl]
    }
    var result = EventAppendResult(accepted: 0, duplicates: 0)
    let replies = try await client.pipeline(bytes: commands, replicas: replicaAcks, timeoutMs: replicaTimeoutMs)
    for (index, (event, reply)) in zip(events, replies).enumerated() {
      switch reply {
      case .integer(1): result.accepted += 1
      case .integer: result.duplicates += 1; result.duplicateIndices.append(index)
      case .error(let message): throw RedisError("appending event \(event.eventID) to \(streamKey(of: event.userID)): \(message)")
      default: throw RedisError("appending event \(event.eventID) to \(streamKey(of: event.userID)): unexpected reply \(reply)")
      }
    }
    return result
  }

  /// Forgets `user`: marks them forgotten in the real-time store (queued events accepted before now
  /// are dropped when applied), removes their interactions, and deletes their entries still in the
  /// stream. O(the user's entries) through their entry list; O(the stream) (pages of 1,000) only
  /// when the list cannot be complete: it overflowed, or the stream holds entries older than the
  /// list's lifetime. Returns interactions plus stream entries removed.
  public func forget(user: UserID) async throws -> Int {
    var removed = try await store.forget(user: user)
    let stream = streamKey(of: user)
    if try await entryListIsComplete(user) {
      let reply = try await client.command(["LRANGE", entriesKey(user), "0", "-1"])
      if case .error(let message) = reply { throw RedisError("LRANGE \(entriesKey(user)): \(message)") }
      let ids = (reply.array ?? []).compactMap(\.string)
      for chunk in stride(from: 0, to: ids.count, by: 1_000).map({ Array(ids[$0..<min(ids.count, $0 + 1_000)]) }) {
        if case .integer(let n) = try await client.command(["XDEL", stream] + chunk) { removed += Int(n) }
      }
    } else {
      try await RedisStreamReply.scan(client, stream, from: "-") { entries in
        entries.compactMap { entry in entry.event?.userID == user ? entry.id : nil }
      } delete: { removed += $0 }
    }
    _ = try await client.command(["DEL", entriesKey(user), overflowKey(user)])
    return removed
  }

  /// Whether `user`'s entry list holds every entry of theirs still in the stream: it never dropped
  /// an id, and the stream's oldest entry is younger than a list's lifetime (so any entry of the
  /// user in the stream was listed by an event that refreshed the list since).
  private func entryListIsComplete(_ user: UserID) async throws -> Bool {
    if case .integer(let n) = try await client.command(["EXISTS", overflowKey(user)]), n > 0 { return false }
    let first = try await client.command(["XRANGE", streamKey(of: user), "-", "+", "COUNT", "1"])
    guard let oldest = RedisStreamReply.entries(first).first else { return true }  // empty stream
    let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
    return nowMs - oldest.order.ms < Int64(entryIndexTTLSeconds) * 1000
  }

  /// Records this stream's shard count (`PREFIX events:shards`), which `discover` reads.
  public func announceShards() async throws {
    let reply = try await client.command(["SET", keyPrefix + "events:shards", String(streamKeys.count)])
    if case .error(let message) = reply { throw RedisError("SET \(keyPrefix)events:shards: \(message)") }
  }

  /// The shard count a server announced, nil when none did.
  public func announcedShards() async throws -> Int? {
    try await client.command(["GET", keyPrefix + "events:shards"]).string.flatMap { Int($0) }
  }

  /// The stream under `store`'s prefix with the shard count the servers announced (1 when none
  /// did): how updaters and exports find every shard without being told.
  public static func discover(client: RedisClient, store: RedisFeatureStore) async throws -> RedisEventStream {
    let probe = RedisEventStream(client: client, store: store)
    let shards = try await probe.announcedShards() ?? 1
    return shards == 1 ? probe : RedisEventStream(client: client, store: store, shards: shards)
  }

  /// Up to `limit` entries of the stream `key` after entry id `after` (nil: from the start), in
  /// order, with their events (entries that hold none are skipped, their ids still advance `last`).
  /// Returns the events and the last entry id read.
  public func entries(of key: String, after: String?, limit: Int) async throws -> (events: [StreamedEvent], last: String?) {
    let reply = try await client.command(["XRANGE", key, after.map { "(" + $0 } ?? "-", "+", "COUNT", String(max(1, limit))])
    if case .error(let message) = reply { throw RedisError("XRANGE \(key): \(message)") }
    let page = RedisStreamReply.entries(reply)
    return (page.compactMap(\.streamed), page.last?.id)
  }

  /// Entries in the stream now (`XLEN`, summed over the shards).
  public func length() async throws -> Int {
    var total = 0
    for reply in try await client.pipeline(streamKeys.map { ["XLEN", $0] }) {
      if case .integer(let n) = reply { total += Int(n) }
    }
    return total
  }
}

/// Decoding of stream replies (`XRANGE`, `XREADGROUP`, `XAUTOCLAIM` entries).
enum RedisStreamReply {
  /// One entry: its id and its event (nil: deleted, or not a `PackedEvent`).
  struct Entry {
    var id: String
    var event: BehaviourEvent?
    var fields: [RedisReply] = []

    /// The bytes of field `name`, if present.
    func field(_ name: String) -> [UInt8]? {
      for i in stride(from: 0, to: fields.count - 1, by: 2) where fields[i].string == name {
        if case .bulk(let bytes) = fields[i + 1] { return bytes }
      }
      return nil
    }

    /// The id's parts: Unix ms when the entry was added (by its server's clock), and a sequence.
    var order: (ms: Int64, sequence: Int64) {
      let parts = id.split(separator: "-")
      return (Int64(parts.first ?? "") ?? 0, Int64(parts.dropFirst().first ?? "") ?? 0)
    }

    /// The entry as a `StreamedEvent` (acceptance time from the id's time part).
    var streamed: StreamedEvent? {
      guard let event else { return nil }
      return StreamedEvent(entryID: id, acceptedMs: order.ms, event: event)
    }
  }

  /// Entries of an `[[id, [field, value, ...]], ...]` array; entries without data keep their id.
  static func entries(_ reply: RedisReply) -> [Entry] {
    guard case .array(let items) = reply else { return [] }
    return items.compactMap { item in
      guard case .array(let pair) = item, let id = pair.first?.string else { return nil }
      var entry = Entry(id: id, event: nil)
      if pair.count > 1, case .array(let fields) = pair[1] {
        entry.fields = fields
        entry.event = entry.field("e").flatMap(PackedEvent.decode)
      }
      return entry
    }
  }

  /// What `value` finds in the entries of every stream of `keys` from entry id `from` on (see
  /// `scan`), merged in entry-id order: by the millisecond each was added, ties within a stream by
  /// sequence and across streams (different servers' clocks) in the order of `keys`.
  static func collect<T>(_ client: RedisClient, _ keys: [String], from: String,
                         _ value: (Entry) -> T?) async throws -> [T] {
    var out: [(ms: Int64, sequence: Int64, value: T)] = []
    for key in keys {
      try await scan(client, key, from: from) { entries in
        for entry in entries {
          if let found = value(entry) { out.append((entry.order.ms, entry.order.sequence, found)) }
        }
        return []
      }
    }
    if keys.count > 1 { out.sort { ($0.ms, $0.sequence) < ($1.ms, $1.sequence) } }
    return out.map(\.value)
  }

  /// Walks `key` from entry id `from` (`-`: the start; a bare ms time: entries from then) in pages
  /// of 1,000 (`XRANGE`); `visit` returns ids to delete (`XDEL`), whose count goes to `delete`.
  static func scan(_ client: RedisClient, _ key: String, from: String,
                   visit: ([Entry]) throws -> [String], delete: (Int) -> Void = { _ in }) async throws {
    var start = from
    while true {
      let reply = try await client.command(["XRANGE", key, start, "+", "COUNT", "1000"])
      if case .error(let message) = reply { throw RedisError("XRANGE \(key): \(message)") }
      let page = entries(reply)
      let doomed = try visit(page)
      if !doomed.isEmpty, case .integer(let n) = try await client.command(["XDEL", key] + doomed) { delete(Int(n)) }
      guard page.count == 1000, let last = page.last else { return }
      start = "(" + last.id
    }
  }
}
