import Distribution
import FeatureStore
import Foundation
import FunnelCore
import FunnelServer
import FunnelTestSupport
import IndexBuilder
import Logging
import RedisStore
import Serving
import Testing

/// Two replicas following announcements through the real Redis (one server and the cluster): a
/// published generation reaches both within seconds; a corrupted one is refused by both, which keep
/// serving and say so; announcing an older one rolls both back.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI, "REDIS_URL is not set: run Scripts/test"))
struct GenerationFollowerTests {
  struct Replica {
    let engine: ServingEngine
    let status: GenerationFollower.Status
    let task: Task<Void, any Error>
    let root: String
  }

  static func replica(_ name: String, url: String, prefix: String, shared: String, first: String) async throws -> Replica {
    let root = NSTemporaryDirectory() + "funnel-follow-\(name)-\(UUID().uuidString)"
    _ = try await GenerationFetcher().fetch(version: first, from: .directory(shared), into: root)
    let engine = try await IndexReloadTests.engine(root: root)
    let status = GenerationFollower.Status()
    let follower = try GenerationFollower(engine: engine, redis: try RedisClient(url: url), url: url, keyPrefix: prefix,
                                          location: .directory(shared), source: IndexDirectorySource(root: root, verifyChecksums: true),
                                          replica: name, status: status, pollEvery: .milliseconds(300),
                                          logger: Logger(label: "test.follower"))
    return Replica(engine: engine, status: status, task: Task { try await follower.run() }, root: root)
  }

  static func waitUntil(_ condition: () -> Bool) async throws -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    while !condition(), clock.now - start < .seconds(20) { try await Task.sleep(for: .milliseconds(50)) }
    return clock.now - start
  }

  @Test(arguments: StoreEnvironment.redisURLs) func aFleetFollowsRefusesAndRollsBack(url: String) async throws {
    let prefix = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):"
    let (build, shared) = (NSTemporaryDirectory() + "funnel-build-\(UUID().uuidString)", NSTemporaryDirectory() + "funnel-shared-\(UUID().uuidString)")
    defer { for d in [build, shared] { try? FileManager.default.removeItem(atPath: d) } }
    _ = try GenerationPublisher.publish(generation: try IndexReloadTests.build("gen-1", under: build), to: shared)
    let redis = try RedisClient(url: url)
    let replicas = [try await Self.replica("a", url: url, prefix: prefix, shared: shared, first: "gen-1"),
                    try await Self.replica("b", url: url, prefix: prefix, shared: shared, first: "gen-1")]
    defer { for r in replicas { r.task.cancel(); try? FileManager.default.removeItem(atPath: r.root) } }

    _ = try GenerationPublisher.publish(generation: try IndexReloadTests.build("gen-2", under: build, items: 300), to: shared)
    try await GenerationFollower.announce("gen-2", redis: redis, keyPrefix: prefix)
    let took = try await Self.waitUntil { replicas.allSatisfy { $0.engine.generation.version == "gen-2" } }
    #expect(replicas.allSatisfy { $0.engine.generation.itemCount == 300 }, "both serve gen-2 (after \(took))")
    #expect(took < .seconds(10))

    // A generation whose copy is corrupted on the shared location: refused, gen-2 keeps serving.
    let bad = try GenerationPublisher.publish(generation: try IndexReloadTests.build("gen-3", under: build), to: shared)
    let file = shared + "/gen-3/" + bad.files[0].name
    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
    bytes[bytes.count / 2] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    try await GenerationFollower.announce("gen-3", redis: redis, keyPrefix: prefix)
    _ = try await Self.waitUntil { replicas.allSatisfy { $0.status.failure != nil } }
    for r in replicas {
      #expect(r.engine.generation.version == "gen-2")
      let checks = Dictionary(uniqueKeysWithValues: r.status.checks(serving: r.engine.generation.version).map { ($0.name, $0.value) })
      #expect(checks["index.announced"] == "gen-3")
      #expect(checks["index.distribution"]?.hasPrefix("failed: gen-3") == true, "\(checks)")
      #expect(r.engine.metrics.value("funnel_index_distribution_failures_total") == 1)
      #expect(!FileManager.default.fileExists(atPath: r.root + "/gen-3"), "nothing of the refused generation stays")
    }

    // Announcing the served generation again ends the refusal without a reload.
    try await GenerationFollower.announce("gen-2", redis: redis, keyPrefix: prefix)
    _ = try await Self.waitUntil { replicas.allSatisfy { $0.status.failure == nil } }
    #expect(replicas.allSatisfy { $0.engine.generation.version == "gen-2" && $0.status.failure == nil })

    // Rolling back is announcing the older generation.
    try await GenerationFollower.announce("gen-1", redis: redis, keyPrefix: prefix)
    // The engine swaps before the follower clears its failure: wait for both.
    _ = try await Self.waitUntil { replicas.allSatisfy { $0.engine.generation.version == "gen-1" && $0.status.failure == nil } }
    #expect(replicas.allSatisfy { $0.engine.generation.version == "gen-1" && $0.status.failure == nil })
    let served = try await GenerationFollower.served(redis: redis, keyPrefix: prefix, nowMs: ServingEngine.wallClockMs())
    #expect(Set(served.keys) == ["a", "b"], "\(served)")
  }
}
