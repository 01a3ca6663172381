import FeatureStore
import Foundation
import FunnelCore
import FunnelTestSupport
import Ranking
import RedisStore
import Serving
import Testing

/// The serving engine with its real-time user features in the real Redis (REDIS_URL): events tracked
/// through the engine are what the ranking sees, and a dead Redis degrades answers instead of failing them.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI,
                "REDIS_URL is not set: start Redis or run Scripts/test"))
struct RedisRealtimeTests {
  /// A model that scores `seconds_since_last_seen` (only real-time history can produce it) plus 1.
  static let model = try! LinearModel(version: "recency", schema: FeatureSchema(["seconds_since_last_seen", "in_stock"]),
                                      weights: [1, 1], bias: 0, logistic: false)

  /// Store budgets generous enough for a debug build under a parallel suite on two cores.
  static var patient: ServingConfiguration {
    var configuration = ServingConfiguration()
    configuration.profileBudget = .seconds(10)
    return configuration
  }

  func engine(_ realtime: RedisFeatureStore) -> ServingEngine {
    let generation = TestEngines.sharedGeneration
    return ServingEngine(dependencies: ServingDependencies(generation: generation,
                         generationSource: StaticGenerationSource(generation: generation),
                         activity: realtime, events: TeeEventSink(primary: realtime, mirror: EmbeddedFeatureStore()),
                         model: Self.model, storeName: "redis", now: { TestEngines.nowMs }), configuration: Self.patient)
  }

  @Test func trackedEventsReachTheRankingThroughRedis() async throws {
    let url = try #require(StoreEnvironment.redisURL, "REDIS_URL must be set under CI")
    let realtime = RedisFeatureStore(client: try RedisClient(url: url), keyPrefix: "funnel:test:\(UInt64.random(in: 0...UInt64.max)):")
    let engine = engine(realtime)
    let g = engine.generation
    let seen = g.items.id(g.popularity.doc(g.popularity.global.range.lowerBound))
    let outcome = try await engine.track([EventInput(eventID: "rt-1", userID: "redis-user", itemID: seen, kind: .view,
                                                     timestampMs: TestEngines.nowMs - 250_000)])
    #expect(outcome.accepted == 1)
    #expect(try await realtime.recentActivity(of: "redis-user", limit: 5).map(\.itemID) == [seen], "stored in Redis")
    let answer = try await engine.recommend(RecommendInput(userID: "redis-user", scene: .home, count: 20))
    #expect(!answer.degraded)
    let item = try #require(answer.items.first { $0.itemID == seen }, "the viewed item is recalled")
    #expect(item.score == 251, "250 s since the view (from Redis) + in stock")
    let replay = try await engine.track([EventInput(eventID: "rt-1", userID: "redis-user", itemID: seen, kind: .view,
                                                    timestampMs: TestEngines.nowMs - 250_000)])
    #expect(replay.accepted == 0, "a replayed event id changes nothing")
  }

  @Test func trackedViewsRaiseTheItemsRealTimeCount() async throws {
    let url = try #require(StoreEnvironment.redisURL, "REDIS_URL must be set under CI")
    let realtime = RedisFeatureStore(client: try RedisClient(url: url), keyPrefix: "funnel:test:\(UInt64.random(in: 0...UInt64.max)):")
    let model = try LinearModel(version: "rt", schema: FeatureSchema(["rt.views_1h"]), weights: [1], bias: 0, logistic: false)
    let generation = TestEngines.sharedGeneration
    var configuration = ServingConfiguration()
    configuration.profileBudget = .seconds(10)  // CI runs the suite in parallel on two cores: no flaky budget
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation,
                               generationSource: StaticGenerationSource(generation: generation),
                               activity: realtime, events: realtime, model: model, storeName: "redis",
                               itemActivity: realtime, now: { TestEngines.nowMs }), configuration: configuration)
    let hot = generation.items.id(generation.popularity.doc(generation.popularity.global.range.lowerBound + 3))
    _ = try await engine.track((0..<3).map { i in
      EventInput(eventID: "hot-\(i)", userID: "viewer-\(i)", itemID: hot, kind: .view, timestampMs: TestEngines.nowMs)
    })
    let answer = try await engine.recommend(RecommendInput(userID: "someone", scene: .home, count: 5, debug: true))
    #expect(answer.items.first?.itemID == hot, "three views in the last hour put it first")
    #expect(answer.items.first?.score == 3)
    #expect(answer.debug?.features.first?.values.first?.value == 3)
  }

  @Test func aDeadRedisOpensTheCircuitAndStopsBeingCalled() async throws {
    let breaker = CircuitBreaker(name: "redis", failureThreshold: 3, openMs: 60_000, now: { TestEngines.nowMs })
    let guarded = GuardedRealtimeStore(RedisFeatureStore(client: try RedisClient(url: "redis://127.0.0.1:1", timeoutMs: 50)),
                                       breaker: breaker)
    let generation = TestEngines.sharedGeneration
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation, generationSource: StaticGenerationSource(generation: generation),
                               activity: guarded, events: guarded, storeName: "redis", itemActivity: guarded,
                               now: { TestEngines.nowMs }))
    for i in 0..<6 {
      let answer = try await engine.recommend(RecommendInput(userID: "U-\(i + 1)", scene: .home, count: 5))
      #expect(answer.degraded && answer.items.count == 5)
    }
    #expect(breaker.current == .open(untilMs: TestEngines.nowMs + 60_000))
    #expect(breaker.counts.rejected >= 3, "later requests did not call the dead store")
  }

  @Test func aDeadRedisDegradesTheAnswerInsteadOfFailingIt() async throws {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    let realtime = RedisFeatureStore(client: try RedisClient(url: "redis://127.0.0.1:1", timeoutMs: 50))
    let answer = try await engine(realtime).recommend(RecommendInput(userID: "U-3", scene: .home, count: 10))
    #expect(answer.degraded)
    #expect(answer.items.count == 10, "popularity still answers")
  }
}

/// Redis stopped mid-run and started again: answers degrade while it is down and recover on their own.
/// Runs its own redis-server (Debian's, as CI installs it) on a free port.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") || StoreEnvironment.isCI,
                "redis-server is not installed"))
struct RedisRestartTests {
  static func startRedis(port: Int) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  @Test func answersDegradeWhileRedisIsDownAndRecoverWhenItReturns() async throws {
    let port = Int.random(in: 30_000...45_000)
    var redis = try Self.startRedis(port: port)
    // SIGKILL: a crash, and not blockable (a child may inherit a signal mask that blocks SIGTERM).
    defer { kill(redis.processIdentifier, SIGKILL) }
    let client = try RedisClient(url: "redis://127.0.0.1:\(port)", timeoutMs: 100)
    let clock = ContinuousClock()
    var waited = clock.now
    while (try? await client.command(["PING"])) != .status("PONG"), clock.now - waited < .seconds(10) {
      try await Task.sleep(for: .milliseconds(50))
    }
    let breaker = CircuitBreaker(name: "redis", failureThreshold: 2, openMs: 200, now: ServingEngine.wallClockMs)
    let guarded = GuardedRealtimeStore(RedisFeatureStore(client: client), breaker: breaker)
    let generation = TestEngines.sharedGeneration
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation,
                               generationSource: StaticGenerationSource(generation: generation),
                               activity: guarded, events: guarded, storeName: "redis", itemActivity: guarded,
                               now: { TestEngines.nowMs }), configuration: RedisRealtimeTests.patient)
    let ask = { try await engine.recommend(RecommendInput(userID: "U-2", scene: .home, count: 5)) }
    // Up: an answer that is not degraded. The client's 100 ms timeout can expire on a first call when
    // the whole suite loads both cores, so the first few may degrade; within 5 s one must not.
    waited = clock.now
    var healthy = try await !ask().degraded
    while !healthy, clock.now - waited < .seconds(5) {
      try await Task.sleep(for: .milliseconds(100))
      healthy = try await !ask().degraded
    }
    #expect(healthy)

    kill(redis.processIdentifier, SIGKILL)
    let probe = try RedisClient(url: "redis://127.0.0.1:\(port)", timeoutMs: 100, connections: 1)
    waited = clock.now
    while (try? await probe.command(["PING"])) == .status("PONG"), clock.now - waited < .seconds(10) {
      try await Task.sleep(for: .milliseconds(20))
    }
    for _ in 0..<4 {
      let answer = try await ask()
      #expect(answer.degraded && answer.items.count == 5)
    }

    redis = try Self.startRedis(port: port)
    waited = clock.now
    var recovered = false
    while !recovered, clock.now - waited < .seconds(10) {
      try await Task.sleep(for: .milliseconds(100))
      recovered = try await ask().degraded == false
    }
    #expect(recovered, "answers are whole again without a restart of the engine")
  }
}
