import FunnelCore
import FunnelTestSupport
import Indicators
import RedisStore
import Testing

/// The rollups in the real Redis (REDIS_URL): the same known order log gives the same indicators
/// as in process, replicas applying concurrently lose nothing, the order ledger and the answer
/// directory are shared.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct RedisRollupStoreTests {
  func client(_ url: String) throws -> RedisClient { try RedisClient(url: url) }

  func prefix() -> String { "funnel:test:\(UInt64.random(in: 0...UInt64.max)):" }

  @Test(arguments: StoreEnvironment.redisURLs) func everyIndicatorEqualsTheLogsOwnComputation(url: String) async throws {
    let client = try client(url), prefix = prefix()
    // Recent timestamps: the second buckets expire after 16 minutes in Redis.
    let log = KnownOrderLog(seed: 11, orders: 300, startMs: (WallClock.nowMs() / 60_000 - 20) * 60_000)
    let store = RedisRollupStore(client: client, keyPrefix: prefix)
    try await log.replay(into: store, ledger: RedisOrderLedger(client: client, keyPrefix: prefix))
    let differences = try await log.differences(in: store)
    #expect(differences.isEmpty, "\(differences.prefix(10))")
  }

  @Test(arguments: StoreEnvironment.redisURLs) func replicasApplyingAtOnceLoseNothing(url: String) async throws {
    let client = try client(url), prefix = prefix()
    let store = RedisRollupStore(client: client, keyPrefix: prefix)
    let second = WallClock.nowMs() / 1000
    try await withThrowingTaskGroup(of: Void.self) { group in
      for replica in 0..<4 {
        group.addTask {
          let own = try RedisClient(url: url)
          let store = RedisRollupStore(client: own, keyPrefix: prefix)
          for _ in 0..<25 {
            var tally = IndicatorTally()
            tally.add("orders.paid", 1, at: second)
            tally.add("amount.paid|country=GB", 2.5, at: second)
            tally.addTop("item|R\(replica)", 1, at: second)
            try await store.apply(tally)
          }
        }
      }
      try await group.waitForAll()
    }
    let minute = try await store.buckets(.minute, from: second, through: second, dimensions: true).values.first ?? [:]
    #expect(minute["orders.paid"] == 100)
    #expect(minute["amount.paid|country=GB"] == 250)
    #expect(try await store.top("item", from: second, through: second, limit: 10).map(\.score) == [25, 25, 25, 25])
    let ttl = try await client.command(["TTL", prefix + "{dash}:s:\(second)"])
    guard case .integer(let seconds) = ttl else { Issue.record("TTL: \(ttl)"); return }
    #expect(seconds > 0 && seconds <= 960)
  }

  @Test(arguments: StoreEnvironment.redisURLs) func theLedgerAndTheDirectoryAreShared(url: String) async throws {
    let client = try client(url), prefix = prefix()
    let a = RedisOrderLedger(client: client, keyPrefix: prefix), b = RedisOrderLedger(client: try self.client(url), keyPrefix: prefix)
    #expect(try await a.admit(["O1\u{0}paid", "O2\u{0}paid"]) == [true, true])
    #expect(try await b.admit(["O1\u{0}paid", "O1\u{0}refunded"]) == [false, true])
    let directory = RedisAnswerDirectory(client: client, keyPrefix: prefix)
    try await directory.publish([(requestID: "r1", origin: AnswerOrigin(scene: "home", arm: "exp:b"))], ttlSeconds: 60)
    let found = try await RedisAnswerDirectory(client: try self.client(url), keyPrefix: prefix).lookup(["r1", "r2"])
    #expect(found == ["r1": AnswerOrigin(scene: "home", arm: "exp:b")])
  }
}
