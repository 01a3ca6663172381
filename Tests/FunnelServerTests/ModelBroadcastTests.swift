import FeatureStore
import Foundation
import FunnelCore
import FunnelServer
import FunnelTestSupport
import Logging
import ServiceLifecycle
import Serving
import Testing

/// Two replicas sharing a model registry and a Redis: the one that loads a new version announces it,
/// the other reloads at once (its own registry poll is not running here).
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct ModelBroadcastTests {
  @Test func aNewVersionOnOneReplicaReachesTheOther() async throws {
    let url = try #require(StoreEnvironment.redisURL, "REDIS_URL must be set under CI")
    let root = NSTemporaryDirectory() + "funnel-broadcast-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try ModelReloadTests.write(root, version: "1", body: ModelReloadTests.linear(1))
    let registry = ModelRegistrySource(root: root, name: "ranker")
    func replica() async throws -> ServingEngine {
      let (base, store) = TestEngines.engine()
      return ServingEngine(dependencies: ServingDependencies(generation: base.generation, generationSource: StaticGenerationSource(generation: base.generation),
                           activity: store, events: store, model: try await registry.loadModel(), modelSource: registry,
                           storeName: "embedded", now: { TestEngines.nowMs }))
    }
    let a = try await replica(), b = try await replica()
    let channel = "funnel:test:models:\(UInt64.random(in: 0...UInt64.max))"
    let logger = Logger(label: "test")
    let group = ServiceGroup(configuration: .init(services: [
      .init(service: try ModelBroadcast(engine: a, url: url, logger: logger, channel: channel, checkEvery: .milliseconds(50),
                                        republishEvery: .milliseconds(500))),
      .init(service: try ModelBroadcast(engine: b, url: url, logger: logger, channel: channel, checkEvery: .milliseconds(50),
                                        republishEvery: .milliseconds(500))),
    ], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      try await Task.sleep(for: .seconds(1))  // both subscribed
      try ModelReloadTests.write(root, version: "2", body: ModelReloadTests.linear(2))
      _ = try await a.reloadModel()
      #expect(a.ranker.model.version == "ranker/2")
      let clock = ContinuousClock()
      let start = clock.now
      while b.ranker.model.version != "ranker/2", clock.now - start < .seconds(20) { try await Task.sleep(for: .milliseconds(50)) }
      #expect(b.ranker.model.version == "ranker/2", "the other replica followed the announcement")
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
    }
  }
}
