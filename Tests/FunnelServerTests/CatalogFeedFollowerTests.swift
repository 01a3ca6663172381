import FeatureStore
import Foundation
import FunnelCore
import FunnelServer
import FunnelTestSupport
import IndexFormat
import Logging
import RedisStore
import Serving
import Testing

/// Two replicas following the catalog change feed through the real Redis (one server and the
/// cluster) while a third posts changes under load: every price change and stock-out is served by
/// both within a second (p99 over `FUNNEL_CATALOG_CHANGES` changes, 100 unless set; printed); a new item is found on both; a deleted
/// item never comes back; a replica started afterwards reads the whole feed.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI, "REDIS_URL is not set: run Scripts/test"))
struct CatalogFeedFollowerTests {
  static func engine(url: String, prefix: String) async throws -> ServingEngine {
    let generation = TestEngines.sharedGeneration
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    var dependencies = ServingDependencies(generation: generation, generationSource: StaticGenerationSource(generation: generation),
                                           activity: store, events: store, storeName: "embedded", now: { TestEngines.nowMs })
    dependencies.catalogChanges = RedisCatalogSink(feed: RedisCatalogFeed(client: try RedisClient(url: url), keyPrefix: prefix))
    return ServingEngine(dependencies: dependencies)
  }

  static func follow(_ engine: ServingEngine, url: String, prefix: String) throws -> Task<Void, any Error> {
    let follower = try CatalogFeedFollower(engine: engine, redis: try RedisClient(url: url), url: url, keyPrefix: prefix,
                                           pollEvery: .milliseconds(500), logger: Logger(label: "test.catalog"))
    return Task { try await follower.run() }
  }

  static func waitUntil(_ limit: Duration = .seconds(5), _ condition: () -> Bool) async throws -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    while !condition(), clock.now - start < limit { try await Task.sleep(for: .milliseconds(1)) }
    return clock.now - start
  }

  @Test(arguments: StoreEnvironment.redisURLs) func changesReachEveryReplicaWithinASecond(url: String) async throws {
    let prefix = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):"
    let writer = try await Self.engine(url: url, prefix: prefix)
    let replicas = [try await Self.engine(url: url, prefix: prefix), try await Self.engine(url: url, prefix: prefix)]
    let followers = try replicas.map { try Self.follow($0, url: url, prefix: prefix) }
    defer { followers.forEach { $0.cancel() } }
    let generation = TestEngines.sharedGeneration
    // Load: both replicas answer home pages while the changes arrive.
    let load = Task {
      var answers = 0
      while !Task.isCancelled {
        for replica in replicas { _ = try? await replica.recommend(RecommendInput(userID: "u\(answers % 50)", scene: .home, count: 20)) }
        answers += 2
        // Embedded stores answer without suspending: pause so the load cannot hold a pool thread.
        try? await Task.sleep(for: .milliseconds(5))
      }
      return answers
    }

    var latencies: [Duration] = []
    let changes = ProcessInfo.processInfo.environment["FUNNEL_CATALOG_CHANGES"].flatMap { Int($0) } ?? 100
    for i in 0..<changes {
      var item = generation.items.item(DocID(rawValue: UInt32(i % generation.itemCount)))
      item.price = 1_000 + Double(i)
      item.inStock = i % 3 != 0
      _ = try await writer.upsertItems([item])
      let (id, price, inStock) = (item.id, item.price, item.inStock)
      let took = try await Self.waitUntil {
        replicas.allSatisfy { $0.item(id)?.price == price && $0.item(id)?.inStock == inStock }
      }
      latencies.append(took)
    }
    load.cancel()
    let answers = await load.value
    latencies.sort()
    let p50 = latencies[latencies.count / 2], p99 = latencies[latencies.count * 99 / 100]
    print("catalog feed (\(url.hasPrefix("redis-cluster") ? "cluster" : "single")): \(changes) changes on 2 replicas under load (\(answers) answers): p50 \(p50), p99 \(p99), max \(latencies.last!)")
    // Asserted with the suite run alone (Scripts/test), as the event freshness SLO is: in the parallel
    // suite it competes with every test for two cores of a debug build. Release: Benchmarks/catalog.
    #expect(p99 < .seconds(1))

    // A new item is found on both; a deleted one never comes back.
    var fresh = generation.items.item(DocID(rawValue: 7))
    fresh.id = "feed-new-1"
    fresh.title = "quorvex lantern"
    fresh.inStock = true
    _ = try await writer.upsertItems([fresh])
    let deleted = generation.items.id(DocID(rawValue: 8))
    _ = try await writer.deleteItems([deleted])
    _ = try await Self.waitUntil { replicas.allSatisfy { $0.item(deleted) == nil && $0.item("feed-new-1") != nil } }
    for replica in replicas {
      let found = try await replica.search(SearchInput(query: "quorvex", userID: "u1", count: 5)).items.map(\.itemID)
      #expect(found == ["feed-new-1"])
      for user in 0..<20 {
        let shown = try await replica.recommend(RecommendInput(userID: "u\(user)", scene: .home, count: 50)).items.map(\.itemID)
        #expect(!shown.contains(deleted))
      }
    }

    // A replica that starts now reads the whole feed.
    let late = try await Self.engine(url: url, prefix: prefix)
    let lateFollower = try Self.follow(late, url: url, prefix: prefix)
    defer { lateFollower.cancel() }
    _ = try await Self.waitUntil { late.item(deleted) == nil && late.item("feed-new-1") != nil }
    #expect(late.item(deleted) == nil && late.item("feed-new-1") != nil)
    #expect(late.generation.overlay?.through == replicas[0].generation.overlay?.through)

    // Bad input names the item; nothing is appended.
    var bad = fresh
    bad.price = -1
    await #expect(throws: FunnelError.self) { _ = try await writer.upsertItems([fresh, bad]) }
    let length = try await RedisCatalogFeed(client: try RedisClient(url: url), keyPrefix: prefix).length()
    #expect(length == changes + 2)
  }
}
