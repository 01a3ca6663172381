import Foundation
import FunnelTestSupport
import Bitmaps
import RedisStore
import Testing

/// Runs against the real Redis named by REDIS_URL (Scripts/test starts one). Skipped with a printed
/// reason only when run by hand without it; under CI a missing REDIS_URL fails.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct RedisClientTests {
  func client(_ url: String) throws -> RedisClient { try RedisClient(url: url) }

  @Test(arguments: StoreEnvironment.redisURLs) func pingsTheRealServer(url: String) async throws {
    #expect(try await client(url).command(["PING"]) == .status("PONG"))
  }

  @Test(arguments: StoreEnvironment.redisURLs) func pipelinesInOneRoundTripAndKeepsOrder(url: String) async throws {
    let redis = try client(url)
    // One hash tag: DEL of three keys must stay in one slot on a cluster.
    let key = "funnel:test:{\(UInt64.random(in: 0...UInt64.max))}"
    let replies = try await redis.pipeline([
      ["SET", key, "v\u{0}binary"], ["GET", key], ["INCR", key + ":n"], ["INCR", key + ":n"],
      ["LPUSH", key + ":l", "a", "b"], ["LRANGE", key + ":l", "0", "-1"], ["GET", key + ":missing"],
      ["DEL", key, key + ":n", key + ":l"], ["SET", key + ":e", ""], ["GET", key + ":e"], ["DEL", key + ":e"],
    ])
    #expect(replies[0] == .status("OK"))
    #expect(replies[1] == .bulk(Array("v\u{0}binary".utf8)), "bulk strings are binary-safe")
    #expect(replies[2] == .integer(1) && replies[3] == .integer(2))
    #expect(replies[5] == .array([.bulk(Array("b".utf8)), .bulk(Array("a".utf8))]))
    #expect(replies[6] == .null)
    #expect(replies[7] == .integer(3))
    #expect(replies[9] == .bulk([]), "an empty argument is an empty value")
  }

  @Test(arguments: StoreEnvironment.redisURLs) func serverErrorsAreRepliesNotFailures(url: String) async throws {
    let reply = try await client(url).command(["NOSUCHCOMMAND"])
    guard case .error(let message) = reply else {
      Issue.record("expected an error reply, got \(reply)")
      return
    }
    #expect(message.contains("unknown command"))
  }

  /// A bulkhead: the client's blocking calls run on threads of its own, so blocking work filling
  /// NIO's shared pool (a slow MongoDB read, a snapshot load) does not hold Redis reads up.
  @Test(arguments: StoreEnvironment.redisURLs) func answersWhileTheSharedThreadPoolIsBusy(url: String) async throws {
    let redis = try client(url)
    #expect(try await redis.command(["PING"]) == .status("PONG"))
    let blocker = await SharedPoolBlocker.occupy()
    defer { blocker.release() }
    let start = ContinuousClock.now
    #expect(try await redis.command(["PING"]) == .status("PONG"))
    // Behind the blocked pool the call would wait out the blocker's 10 s; a debug build under the
    // parallel suite on a slow two-core machine has taken 3.9 s without it.
    #expect(ContinuousClock.now - start < .seconds(8), "waited behind the shared pool's blocked threads")
  }

  /// A Redis 6 ACL user: the URL's user and password authenticate, a wrong password is refused
  /// naming the user, and the user's key pattern is enforced by Redis.
  /// On a cluster the user is made on every primary (ACLs are per node).
  @Test(arguments: StoreEnvironment.redisURLs) func authenticatesAsAnACLUser(url base: String) async throws {
    let admin = try client(base)
    let user = "funnel-test-\(UInt64.random(in: 0...UInt64.max))"
    _ = try await admin.onEveryPrimary(["ACL", "SETUSER", user, "on", ">s3cret@:", "~funnel:acl:*", "+@all"])
    defer { Task { _ = try? await admin.onEveryPrimary(["ACL", "DELUSER", user]) } }
    let url = base.replacingOccurrences(of: "://", with: "://\(user):s3cret%40%3A@")
    let redis = try RedisClient(url: url, connections: 1)
    #expect(try await redis.command(["SET", "funnel:acl:x", "1"]) == .status("OK"))
    guard case .error(let message) = try await redis.command(["SET", "elsewhere", "1"]) else {
      Issue.record("the ACL's key pattern was not enforced")
      return
    }
    #expect(message.contains("NOPERM"))
    let wrong = try RedisClient(url: url.replacingOccurrences(of: "s3cret", with: "nope"), connections: 1)
    let error = await #expect(throws: RedisError.self) { try await wrong.command(["PING"]) }
    #expect(error?.message.contains("AUTH \(user)") == true, "\(error?.message ?? "")")
  }

  @Test func unreachableServerFailsWithTheAddress() async throws {
    let redis = try RedisClient(url: "redis://127.0.0.1:1", timeoutMs: 200)
    let error = await #expect(throws: RedisError.self) { try await redis.command(["PING"]) }
    #expect(error?.message.contains("127.0.0.1:1") == true)
  }
}

@Suite struct RedisEndpointTests {
  @Test(arguments: [
    ("redis://localhost", "localhost", 6379, 0, nil as String?),
    ("redis://127.0.0.1:6390/2", "127.0.0.1", 6390, 2, nil),
    ("redis://:secret@h:1", "h", 1, 0, "secret"),
    ("redis://secret@h", "h", 6379, 0, "secret"),
  ])
  func parses(url: String, host: String, port: Int, db: Int, password: String?) throws {
    let e = try RedisEndpoint(url: url)
    #expect(e.host == host && e.port == port && e.database == db && e.password == password && e.user == nil)
  }

  @Test func parsesAnACLUserAndPercentEscapes() throws {
    let e = try RedisEndpoint(url: "redis://funnel:p%40ss%3Aw%2Frd@10.0.0.5:6380/1")
    #expect(e.user == "funnel" && e.password == "p@ss:w/rd" && e.host == "10.0.0.5" && e.port == 6380 && e.database == 1)
    #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://u:bad%4@h") }
  }

  @Test(arguments: ["http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x"])
  func refuses(url: String) {
    #expect(throws: RedisError.self) { try RedisEndpoint(url: url) }
  }
}

/// The shared sub-query cache against the real Redis.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct RedisBitmapCacheTests {
  @Test(arguments: StoreEnvironment.redisURLs) func storesPortableBitmapsWithTTL(url: String) async throws {
    let client = try RedisClient(url: url)
    let prefix = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):"
    let cache = RedisBitmapCache(client: client, keyPrefix: prefix, ttlSeconds: 60)
    let bitmap = RoaringBitmap(range: 100..<90_000)
    bitmap.add(5_000_000)
    #expect(await cache.get("gen|price:[1 TO 2]") == nil)
    await cache.put("gen|price:[1 TO 2]", bitmap)
    #expect(await cache.get("gen|price:[1 TO 2]") == bitmap)
    let ttl = try await client.command(["TTL", prefix + "gen|price:[1 TO 2]"])
    guard case .integer(let seconds) = ttl else { Issue.record("TTL reply \(ttl)"); return }
    #expect(seconds > 0 && seconds <= 60)
    #expect(cache.errors == 0)
  }

  @Test func deadRedisIsAMissAndIsBypassed() async throws {
    let cache = RedisBitmapCache(client: try RedisClient(url: "redis://127.0.0.1:1", timeoutMs: 100), backoff: .seconds(60))
    #expect(await cache.get("k") == nil)
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<100 { #expect(await cache.get("k") == nil) }
    #expect(clock.now - start < .seconds(1), "bypassed after the first failure")
    #expect(cache.errors == 1)
  }
}
