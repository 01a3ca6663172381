import NIOPosix
import Synchronization

/// An async Redis client for one server, a Redis Cluster, or a Sentinel-managed primary
/// (`RedisDeployment`), over pools of hiredis connections (`RedisNodePool`, one per server it talks
/// to) whose blocking calls never run on Swift's cooperative pool.
///
/// - One server: every call goes to its pool.
/// - Cluster (`RedisClusterRouter`): each command goes to the primary serving its key's slot; a
///   pipeline is split per primary and the parts sent concurrently (one round trip per node), and
///   `MOVED`/`ASK` redirections are followed. Keys that one command or script touches must share a
///   slot (hash tags), as Funnel's stores arrange.
/// - Sentinel (`RedisSentinelRouter`): calls go to the primary the Sentinels name, asked again when
///   it stops answering or turns read-only (a failover).
///
/// Thread-safe.
public final class RedisClient: Sendable {
  /// Where this client sends its commands.
  public let deployment: RedisDeployment
  /// Round trips, redirections and topology reads so far.
  public let counters = RedisClientCounters()
  private let router: Router

  private enum Router: Sendable {
    case single(RedisNodePool)
    case cluster(RedisClusterRouter)
    case sentinel(RedisSentinelRouter)
  }

  /// A client for `url` (see `RedisDeployment`) with up to `connections` connections per server,
  /// each opened on demand. `threadPool`: where the blocking calls run; nil (the default) gives each
  /// server's pool threads of its own (a thread per connection), shut down when the client goes.
  /// `timeoutMs` bounds each connect and each reply. `now` is a monotonic clock in ms (back-off and
  /// refresh pacing).
  public init(url: String, timeoutMs: Int = 1_000, connections: Int = 4, threadPool: NIOThreadPool? = nil,
              now: @escaping @Sendable () -> Int64 = RedisClient.monotonicMs) throws {
    deployment = try RedisDeployment(url: url)
    let counters = self.counters
    let makePool: @Sendable (RedisEndpoint) -> RedisNodePool = { endpoint in
      RedisNodePool(endpoint: endpoint, timeoutMs: timeoutMs, connections: connections, threadPool: threadPool, now: now,
                    counters: counters)
    }
    switch deployment {
    case .single(let endpoint):
      router = .single(makePool(endpoint))
    case .cluster(let seeds):
      router = .cluster(RedisClusterRouter(seeds: seeds, makePool: makePool, now: now, counters: counters))
    case .sentinel(let sentinels, let primary, let template):
      let askSentinel: @Sendable (RedisEndpoint) -> RedisNodePool = { endpoint in
        RedisNodePool(endpoint: endpoint, timeoutMs: min(timeoutMs, 500), connections: 1, threadPool: threadPool, now: now)
      }
      router = .sentinel(RedisSentinelRouter(sentinels: sentinels, primary: primary, template: template,
                                             makePool: makePool, makeSentinelPool: askSentinel, now: now, counters: counters))
    }
  }

  /// Milliseconds of a monotonic clock.
  @Sendable public static func monotonicMs() -> Int64 {
    let d = ContinuousClock.now - origin
    return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
  }
  private static let origin = ContinuousClock.now

  /// Sends one command, e.g. `["PING"]`; returns the reply (Redis error replies come back as `.error`).
  public func command(_ arguments: [String]) async throws -> RedisReply {
    try await pipeline([arguments])[0]
  }

  /// Sends several commands in one round trip (per server) and returns their replies in order.
  public func pipeline(_ commands: [[String]]) async throws -> [RedisReply] {
    try await pipeline(bytes: commands.map { $0.map { Array($0.utf8) } })
  }

  /// `pipeline` with binary-safe arguments (e.g. serialised bitmaps).
  public func pipeline(bytes commands: [[[UInt8]]]) async throws -> [RedisReply] {
    precondition(!commands.isEmpty, "a pipeline needs at least one command")
    switch router {
    case .single(let pool): return try await pool.pipeline(bytes: commands)
    case .cluster(let cluster): return try await cluster.pipeline(commands)
    case .sentinel(let sentinel): return try await sentinel.pipeline(commands)
    }
  }

  /// `pipeline`, then `WAIT replicas timeoutMs` on each server the commands went to, in the same
  /// round trip: returns once every write is on at least `replicas` replicas of its primary, and
  /// throws naming the shortfall when a primary's replicas did not all acknowledge within
  /// `timeoutMs` (the writes happened; whether they would survive that primary's failover is
  /// unknown, so callers report them as not accepted and the client's retry is deduplicated).
  public func pipeline(bytes commands: [[[UInt8]]], replicas: Int, timeoutMs: Int) async throws -> [RedisReply] {
    guard replicas > 0 else { return try await pipeline(bytes: commands) }
    let wait = ["WAIT", String(replicas), String(max(0, timeoutMs))].map { Array($0.utf8) }
    @Sendable func check(_ reply: RedisReply, _ node: String) throws {
      guard case .integer(let acknowledged) = reply, acknowledged >= replicas else {
        throw RedisError("redis \(node): writes acknowledged by \(reply) of \(replicas) replica(s) within \(timeoutMs) ms")
      }
    }
    switch router {
    case .cluster(let cluster):
      return try await cluster.pipeline(commands, wait: wait, check: check)
    case .single, .sentinel:
      // One primary: the WAIT goes last in the same pipeline.
      var replies = try await pipeline(bytes: commands + [wait])
      try check(replies.removeLast(), deployment.description)
      return replies
    }
  }

  /// The values of keys packed end to end in `packedKeys` (`ends[i]` is where key `i` ends; at
  /// least one), each decoded by `decode` on the connection's thread while hiredis holds it (nil:
  /// no such key): no `String`, argument buffer or reply value per key. One `MGET` on one server;
  /// on a cluster, one `MGET` per slot, pipelined per primary, the primaries read at once. Throws on I/O errors and on an
  /// error reply.
  public func mget<T: Sendable>(packedKeys: [UInt8], ends: [Int],
                                decode: @escaping @Sendable (UnsafeRawBufferPointer?) -> T) async throws -> [T] {
    switch router {
    case .single(let pool): return try await pool.mget(packedKeys: packedKeys, ends: ends, decode: decode)
    case .cluster(let cluster): return try await cluster.mget(packedKeys: packedKeys, ends: ends, decode: decode)
    case .sentinel(let sentinel): return try await sentinel.mget(packedKeys: packedKeys, ends: ends, decode: decode)
    }
  }

  /// Sends `arguments` to every primary (one server: just it) and returns each one's reply, e.g.
  /// `SCAN`, `DBSIZE` or `FLUSHDB` over a whole cluster.
  public func onEveryPrimary(_ arguments: [String]) async throws -> [(node: String, reply: RedisReply)] {
    let command = arguments.map { Array($0.utf8) }
    switch router {
    case .single(let pool): return [(pool.endpoint.address, try await pool.pipeline(bytes: [command])[0])]
    case .cluster(let cluster): return try await cluster.onEveryPrimary(command)
    case .sentinel(let sentinel): return try await sentinel.onEveryPrimary(command)
    }
  }

  /// The servers taking writes now, as `host:port` (one server, each cluster primary, or the
  /// Sentinels' primary), resolving them first if not yet known.
  public func primaries() async throws -> [String] {
    try await onEveryPrimary(["PING"]).map(\.node)
  }
}
