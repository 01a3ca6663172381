import Tracing
import DemoCatalog
import FeatureStore
import FunnelCore
import IndexBuilder
import IndexFormat
import Serving
import Synchronization

/// Shared fixtures for tests: a small deterministic demo store and engines over it.
public enum TestEngines {
  /// The fixed "now" of every test store (Unix ms): answers do not depend on the wall clock.
  public static let nowMs: Int64 = 1_790_000_000_000

  /// The small demo store (400 items, 200 users), generated once per process.
  public static let store = DemoStore(.small(endTimeMs: nowMs))

  /// The generation built from the small store's history, built once per process (building the
  /// HNSW graph in a debug build takes a while).
  public static let sharedGeneration = try! GenerationBuilder().build(items: store.items, events: store.events,
                                                                       nowMs: nowMs, version: "test-1").open()

  /// A generation built from the small store and `events` (the shared one for the default history).
  public static func generation(events: [BehaviourEvent]? = nil) -> IndexGeneration {
    guard let events else { return sharedGeneration }
    return try! GenerationBuilder().build(items: store.items, events: events, nowMs: nowMs, version: "test-1").open()
  }

  /// An engine over the small store with an embedded feature store (seeded with the history), or
  /// with `activity` replacing the feature store for reads and `events` for Track.
  public static func engine(activity: (any UserActivitySource)? = nil, events: (any EventSink)? = nil,
                            configuration: ServingConfiguration = ServingConfiguration(), tracer: (any Tracer)? = nil)
    -> (ServingEngine, EmbeddedFeatureStore)
  {
    let featureStore = EmbeddedFeatureStore()
    featureStore.seed(store.events)
    let engine = ServingEngine(dependencies: dependencies(store: featureStore, activity: activity, events: events, tracer: tracer),
                               configuration: configuration)
    return (engine, featureStore)
  }

  /// What `engine` builds its engine from, over `featureStore` (already seeded).
  public static func dependencies(store featureStore: EmbeddedFeatureStore, activity: (any UserActivitySource)? = nil,
                                  events: (any EventSink)? = nil, tracer: (any Tracer)? = nil) -> ServingDependencies {
    ServingDependencies(generation: generation(), generationSource: FixedGenerationSource(featureStore: featureStore),
                        activity: activity ?? featureStore, events: events ?? featureStore, storeName: "embedded",
                        now: { nowMs }, tracer: tracer)
  }
}

/// Rebuilds from the test store's catalog and the feature store's log, versioned by a counter.
struct FixedGenerationSource: IndexGenerationSource {
  let featureStore: EmbeddedFeatureStore

  func loadGeneration() async throws -> IndexGeneration {
    try GenerationBuilder().build(items: TestEngines.store.items, events: featureStore.loggedEvents(),
                              nowMs: TestEngines.nowMs, version: "test-\(featureStore.counts().events)").open()
  }
}

/// Always serves the same generation (for engines whose reloads a test does not exercise).
public struct StaticGenerationSource: IndexGenerationSource {
  public let generation: IndexGeneration
  public init(generation: IndexGeneration) { self.generation = generation }
  public func loadGeneration() async throws -> IndexGeneration { generation }
}

/// A user-activity source that always fails, as a dead store would.
public struct FailingActivitySource: UserActivitySource {
  public init() {}
  public func recentActivity(of user: UserID, limit: Int) async throws -> [RecentInteraction] {
    throw FunnelError(.unavailable, "store is down (test)")
  }
}

/// A user-activity source that takes `delay` to answer, as an overloaded store would. Counts the
/// calls that have started, so a test can wait until requests are in flight.
public final class SlowActivitySource: UserActivitySource {
  public let delay: Duration
  private let startedCalls = Mutex(0)
  public init(delay: Duration) { self.delay = delay }
  /// Calls that have reached the store so far.
  public var started: Int { startedCalls.withLock { $0 } }
  public func recentActivity(of user: UserID, limit: Int) async throws -> [RecentInteraction] {
    startedCalls.withLock { $0 += 1 }
    try await Task.sleep(for: delay)
    return []
  }
}

/// Reads the address of a store server from the environment. Under CI (CI=true) a missing variable
/// is a failure, never a skip: store tests must run there.
public enum StoreEnvironment {
  /// `REDIS_URL`, e.g. `redis://127.0.0.1:6390`.
  public static var redisURL: String? { value("REDIS_URL") }
  /// `REDIS_CLUSTER_URL`, e.g. `redis-cluster://127.0.0.1:7001,127.0.0.1:7002` (Scripts/lib.sh starts
  /// three primaries with a replica each).
  public static var redisClusterURL: String? { value("REDIS_CLUSTER_URL") }
  /// The Redis deployments store tests run against: `REDIS_URL` and `REDIS_CLUSTER_URL`. Under CI a
  /// missing one stays in the list as an address that fails, never a skipped case.
  public static var redisURLs: [String] {
    var urls: [String] = []
    if let url = redisURL { urls.append(url) } else if isCI { urls.append("redis://REDIS_URL-is-not-set") }
    if let url = redisClusterURL { urls.append(url) } else if isCI { urls.append("redis-cluster://REDIS_CLUSTER_URL-is-not-set") }
    return urls
  }
  /// `MONGO_URI`, e.g. `mongodb://127.0.0.1:27790/?directConnection=true`.
  public static var mongoURI: String? { value("MONGO_URI") }
  /// Whether the suite runs under CI.
  public static var isCI: Bool { value("CI") == "true" }

  private static func value(_ name: String) -> String? {
    guard let raw = getenv(name) else { return nil }
    let s = String(cString: raw)
    return s.isEmpty ? nil : s
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
