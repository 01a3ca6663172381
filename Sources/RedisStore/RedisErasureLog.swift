/// The fleet's erasures in Redis, so `ForgetUser` on one replica reaches every replica: a stream of
/// erased users' digests (SHA-256, never the id) that each replica follows from its start, a set of
/// acknowledgements per erasure (which replicas dropped the user from their caches), a heartbeat of
/// the replicas alive, and the tombstones: the digest of every user ever forgotten, which exports
/// consult so a row of a forgotten user is never written again. Thread-safe (a value over a client).
public struct RedisErasureLog: Sendable {
  let client: RedisClient
  let keyPrefix: String
  /// Erasures kept in the stream (a replica down longer than it takes to pass this many misses some;
  /// it starts with empty caches anyway).
  static let maxEntries = 100_000
  /// How long acknowledgements of one erasure are kept, seconds.
  static let ackTTLSeconds = 3_600

  public init(client: RedisClient, keyPrefix: String = "funnel:") {
    self.client = client
    self.keyPrefix = keyPrefix
  }

  var streamKey: String { keyPrefix + "erasures" }
  var tombstonesKey: String { keyPrefix + "tombstones" }
  var replicasKey: String { keyPrefix + "replicas" }
  func ackKey(_ id: String) -> String { keyPrefix + "erasure-acks:" + id }

  /// Adds `digest` to the tombstones and announces it to the fleet; returns the announcement's id.
  public func announce(digest: String) async throws -> String {
    let replies = try await client.pipeline([
      ["SADD", tombstonesKey, digest],
      ["XADD", streamKey, "MAXLEN", "~", String(Self.maxEntries), "*", "d", digest],
    ])
    guard replies.count == 2, let id = replies[1].string else {
      throw RedisError("XADD \(streamKey): \(replies.last.map { "\($0)" } ?? "no reply")")
    }
    return id
  }

  /// The id of the newest announcement (`0-0` when none): a follower starts after it.
  public func newestID() async throws -> String {
    let reply = try await client.command(["XREVRANGE", streamKey, "+", "-", "COUNT", "1"])
    return RedisStreamReply.entries(reply).first?.id ?? "0-0"
  }

  /// Announcements after `id`, waiting up to `blockMs` for one: (id, digest) pairs.
  public func read(after id: String, blockMs: Int) async throws -> [(id: String, digest: String)] {
    let reply = try await client.command(["XREAD", "COUNT", "100", "BLOCK", String(blockMs), "STREAMS", streamKey, id])
    if case .error(let message) = reply { throw RedisError("XREAD \(streamKey): \(message)") }
    guard case .array(let streams) = reply, case .array(let pair)? = streams.first, pair.count == 2 else { return [] }
    return RedisStreamReply.entries(pair[1]).compactMap { entry in
      entry.field("d").map { (entry.id, String(decoding: $0, as: UTF8.self)) }
    }
  }

  /// Records that `replica` dropped announcement `id`'s user from its caches.
  public func acknowledge(_ id: String, replica: String) async throws {
    _ = try await client.pipeline([["SADD", ackKey(id), replica], ["EXPIRE", ackKey(id), String(Self.ackTTLSeconds)]])
  }

  /// The replicas that acknowledged announcement `id`.
  public func acknowledgements(of id: String) async throws -> [String] {
    let reply = try await client.command(["SMEMBERS", ackKey(id)])
    return (reply.array ?? []).compactMap(\.string).sorted()
  }

  /// Records that `replica` is alive at `nowMs`.
  public func heartbeat(replica: String, nowMs: Int64) async throws {
    _ = try await client.command(["ZADD", replicasKey, String(nowMs), replica])
  }

  /// Replicas whose last heartbeat is within `withinMs` of `nowMs` (older ones are dropped).
  public func liveReplicas(nowMs: Int64, withinMs: Int64) async throws -> Int {
    let replies = try await client.pipeline([
      ["ZREMRANGEBYSCORE", replicasKey, "-inf", "(" + String(nowMs - withinMs)],
      ["ZCARD", replicasKey],
    ])
    if case .integer(let n)? = replies.last { return Int(n) }
    return 0
  }

  /// The digests of every forgotten user.
  public func tombstones() async throws -> Set<String> {
    let reply = try await client.command(["SMEMBERS", tombstonesKey])
    return Set((reply.array ?? []).compactMap(\.string))
  }
}
