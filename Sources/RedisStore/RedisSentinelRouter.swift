import Synchronization

/// Routes a `RedisClient`'s commands to the primary that Redis Sentinel names: asked of the
/// Sentinels in turn (`SENTINEL get-master-addr-by-name`) on first use, and again (at most once per
/// 100 ms, one question at a time) when a call to the primary fails or is refused as `READONLY`
/// (the old primary, demoted by a failover). Commands are never re-sent: the caller sees the
/// failure and the next call goes to the new primary.
///
/// Thread-safe.
final class RedisSentinelRouter: Sendable {
  let sentinels: [RedisEndpoint]
  let primaryName: String
  /// Credentials and database for the data nodes.
  let template: RedisEndpoint
  private let makePool: @Sendable (RedisEndpoint) -> RedisNodePool
  private let makeSentinelPool: @Sendable (RedisEndpoint) -> RedisNodePool
  private let state = Mutex(State())
  private let counters: RedisClientCounters

  private struct State {
    var sentinelPools: [String: RedisNodePool] = [:]
  }
  /// The primary's pool, as the Sentinels last named it.
  private let primaryPool: RedisLookup<RedisNodePool>

  init(sentinels: [RedisEndpoint], primary: String, template: RedisEndpoint,
       makePool: @escaping @Sendable (RedisEndpoint) -> RedisNodePool,
       makeSentinelPool: @escaping @Sendable (RedisEndpoint) -> RedisNodePool, now: @escaping @Sendable () -> Int64,
       counters: RedisClientCounters) {
    self.counters = counters
    self.sentinels = sentinels
    self.primaryName = primary
    self.template = template
    self.makePool = makePool
    self.makeSentinelPool = makeSentinelPool
    self.primaryPool = RedisLookup(minimumIntervalMs: 100, now: now)
  }

  /// The primary's pool, asked of the Sentinels first if not yet known.
  func primary() async throws -> RedisNodePool { try await primaryPool.value { try await self.askSentinels() } }

  private func resolveSoon() { primaryPool.refreshSoon { try await self.askSentinels() } }

  private func askSentinels() async throws -> RedisNodePool {
    counters.topologyReads.add(1, ordering: .relaxed)
    var failures: [String] = []
    for sentinel in sentinels {
      let pool = state.withLock { state in
        if let pool = state.sentinelPools[sentinel.address] { return pool }
        let pool = makeSentinelPool(sentinel)
        state.sentinelPools[sentinel.address] = pool
        return pool
      }
      do {
        let reply = try await pool.pipeline(bytes: [Self.question(primaryName)])[0]
        guard let (host, port) = Self.primaryAddress(reply) else {
          failures.append("\(sentinel.address): does not know primary '\(primaryName)' (\(reply))")
          continue
        }
        let endpoint = template.at(host: host, port: port)
        if let current = primaryPool.current, current.endpoint == endpoint { return current }
        return makePool(endpoint)
      } catch {
        failures.append("\(sentinel.address): \(error)")
      }
    }
    throw RedisError("redis sentinel: no Sentinel named primary '\(primaryName)' (\(failures.joined(separator: "; ")))")
  }

  /// Runs `body` on the primary; a failure or a `READONLY` reply asks the Sentinels again.
  private func onPrimary<R>(_ body: (RedisNodePool) async throws -> R, readOnly: (R) -> Bool) async throws -> R {
    let pool = try await primary()
    do {
      let result = try await body(pool)
      if readOnly(result) { resolveSoon() }
      return result
    } catch {
      resolveSoon()
      throw error
    }
  }

  func pipeline(_ commands: [[[UInt8]]]) async throws -> [RedisReply] {
    try await onPrimary({ try await $0.pipeline(bytes: commands) }) { replies in
      replies.contains { if case .error(let m) = $0 { m.hasPrefix("READONLY") } else { false } }
    }
  }

  func mget<T: Sendable>(packedKeys: [UInt8], ends: [Int],
                         decode: @escaping @Sendable (UnsafeRawBufferPointer?) -> T) async throws -> [T] {
    try await onPrimary({ try await $0.mget(packedKeys: packedKeys, ends: ends, decode: decode) }) { _ in false }
  }

  func onEveryPrimary(_ command: [[UInt8]]) async throws -> [(node: String, reply: RedisReply)] {
    try await onPrimary({ [($0.endpoint.address, try await $0.pipeline(bytes: [command])[0])] }) { _ in false }
  }

  /// `SENTINEL get-master-addr-by-name NAME`.
  private static func question(_ name: String) -> [[UInt8]] {
    ["SENTINEL", "get-master-addr-by-name", name].map { Array($0.utf8) }
  }

  /// The `[host, port]` a Sentinel answers, nil for anything else (it does not know the name).
  private static func primaryAddress(_ reply: RedisReply) -> (host: String, port: Int)? {
    guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].string,
          let port = parts[1].string.flatMap({ Int($0) }), (1...65_535).contains(port) else { return nil }
    return (host, port)
  }

  /// The primary named `name` by the first of `sentinels` that knows it, asked on the calling
  /// thread (blocking: for a subscriber's own thread). Throws when none answers.
  static func askBlocking(_ sentinels: [RedisEndpoint], name: String, timeoutMs: Int) throws -> (host: String, port: Int) {
    var failures: [String] = []
    for sentinel in sentinels {
      do {
        let connection = try RedisConnection(endpoint: sentinel, timeoutMs: timeoutMs)
        let reply = try connection.command(question(name))
        if let address = primaryAddress(reply) { return address }
        failures.append("\(sentinel.address): does not know primary '\(name)' (\(reply))")
      } catch {
        failures.append("\(sentinel.address): \(error)")
      }
    }
    throw RedisError("redis sentinel: no Sentinel named primary '\(name)' (\(failures.joined(separator: "; ")))")
  }
}
