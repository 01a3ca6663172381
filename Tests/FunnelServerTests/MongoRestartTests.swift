import FeatureStore
import Foundation
import FunnelCore
import FunnelTestSupport
import MongoStore
import Ranking
import Serving
import Testing

/// MongoDB stopped mid-run and started again: answers degrade (no user profile) while it is down and
/// recover on their own. Runs its own MongoDB wire server (Scripts/mongo-wire-server.py in the
/// project's .venv-funnel, as Scripts/test makes it) on a free port, with a SQLite file so the data
/// outlives the restart.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: WireServer.python) || StoreEnvironment.isCI,
                ".venv-funnel is missing: run Scripts/test once"))
struct MongoRestartTests {
  static let root = WireServer.root
  static let python = WireServer.python

  static func startServer(port: Int, database: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [root + "/Scripts/mongo-wire-server.py", "--port", "\(port)", "--db", database]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  static let model = try! LinearModel(version: "ltv", schema: FeatureSchema(["user.ltv"]), weights: [1], bias: 0, logistic: false)

  @Test func answersDegradeWhileMongoIsDownAndRecoverWhenItReturns() async throws {
    // A port the kernel just handed out, not a random one: a random pick in the ephemeral range can
    // be some other test's connection, and the wire server then never comes up.
    let port = LocalRedis.freePort()
    let database = NSTemporaryDirectory() + "funnel-mongo-\(UUID().uuidString).sqlite"
    var server = try Self.startServer(port: port, database: database)
    defer {
      kill(server.processIdentifier, SIGKILL)
      try? FileManager.default.removeItem(atPath: database)
    }
    let client = try MongoClient(uri: "mongodb://127.0.0.1:\(port)/?directConnection=true&serverSelectionTimeoutMS=300&connectTimeoutMS=300")
    let clock = ContinuousClock()
    var waited = clock.now
    while (try? await client.ping()) == nil, clock.now - waited < .seconds(30) { try await Task.sleep(for: .milliseconds(100)) }
    try #require((try? await client.ping()) != nil, "the MongoDB wire server answers on port \(port)")
    let store = MongoFeatureStore(client: client, database: "funnel", now: { 1 })
    _ = try await store.load(lines: (1...60).map { "{\"id\": \"U-\($0)\", \"ltv\": \($0)}" }, into: store.usersCollection, source: "users")

    let breaker = CircuitBreaker(name: "mongodb", failureThreshold: 2, openMs: 200, now: ServingEngine.wallClockMs)
    var configuration = ServingConfiguration()
    configuration.profileBudget = .seconds(2)
    let (base, events) = TestEngines.engine()
    let engine = ServingEngine(dependencies: ServingDependencies(generation: base.generation,
                               generationSource: StaticGenerationSource(generation: base.generation),
                               activity: events, events: events, model: Self.model, storeName: "embedded",
                               offlineFeatures: GuardedOfflineSource(store, breaker: breaker), now: { TestEngines.nowMs }), configuration: configuration)
    var user = 0
    func ask() async throws -> ServingAnswer {
      user += 1  // a new user each time: the profile cache must not hide the store
      return try await engine.recommend(RecommendInput(userID: "U-\(user)", scene: .home, count: 5))
    }
    let before = try await ask()
    #expect(!before.degraded && before.items.first?.score == 1, "U-1's lifetime value reaches the model")

    kill(server.processIdentifier, SIGKILL)
    for _ in 0..<4 {
      let answer = try await ask()
      #expect(answer.degraded && answer.items.count == 5)
    }

    server = try Self.startServer(port: port, database: database)
    waited = clock.now
    var recovered: ServingAnswer?
    while recovered == nil, clock.now - waited < .seconds(20) {
      try await Task.sleep(for: .milliseconds(200))
      let answer = try await ask()
      if !answer.degraded { recovered = answer }
    }
    let answer = try #require(recovered, "answers are whole again without restarting the engine")
    #expect(answer.items.first?.score == Double(user), "the profile comes from the restarted store")
  }
}

/// Where the project's MongoDB wire server and its Python live.
enum WireServer {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
  static let python = root + "/.venv-funnel/bin/python"
}
