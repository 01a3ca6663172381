import DemoCatalog
import NIOPosix
import FeatureStore
import FunnelCore
import IndexBuilder
import IndexFormat
import Ranking
import Recall
import Serving
import Tracing

/// The embedded default: a generated demo store, in-process feature store, and an index generation
/// built from them. `Admin.Reload` rebuilds the generation from the catalog plus every event tracked
/// since start, so tracked behaviour reaches popularity and co-occurrence too.
public struct EmbeddedDefault: Sendable {
  public let store: DemoStore
  public let featureStore: EmbeddedFeatureStore
  public let engine: ServingEngine

  /// Generates the demo store and builds the engine. Costs about a second for the standard size in
  /// a release build (O(items + events)). `realtime` replaces the in-process store for reading
  /// users' recent activity and storing events (e.g. Redis); the in-process store still logs every
  /// event for index rebuilds. `ingest` replaces where Track stores events (the Redis event stream,
  /// applied to `realtime` by the updater); `feedback` sets experiments and the exposure log (the
  /// in-process event log is its history unless it names one).
  public init(items: Int, users: Int, seed: UInt64, configuration: ServingConfiguration,
              subQueries: SubQueryResolver = SubQueryResolver(shared: nil), model: any ScoringModel = BuiltinModel.model,
              modelSource: (any ModelSource)? = nil, realtime: (any RealtimeStore)? = nil,
              offlineFeatures: (any OfflineFeatureSource)? = nil, ingest: (any EventSink)? = nil,
              feedback: FeedbackSettings = FeedbackSettings(),
              now: @escaping @Sendable () -> Int64 = ServingEngine.wallClockMs, tracer: (any Tracer)? = nil,
              erasures: (any ErasureBroadcast)? = nil, indicators: LiveIndicators = LiveIndicators(),
              catalogChanges: (any CatalogChangeSink)? = nil) throws {
    var demo = DemoStore.Configuration.standard(endTimeMs: now())
    demo.itemCount = items
    demo.userCount = users
    demo.seed = seed
    let store = DemoStore(demo)
    let featureStore = EmbeddedFeatureStore()
    featureStore.seed(store.events)
    let source = EmbeddedGenerationSource(items: store.items, featureStore: featureStore, now: now)
    let generation = try source.build()
    self.store = store
    self.featureStore = featureStore
    var feedback = feedback
    if feedback.history == nil { feedback.history = featureStore }
    let primary: (any EventSink)? = ingest ?? realtime
    var dependencies = ServingDependencies(generation: generation, generationSource: source,
                                activity: realtime ?? featureStore,
                                events: primary.map { TeeEventSink(primary: $0, mirror: featureStore) } ?? featureStore,
                                model: model, modelSource: modelSource,
                                storeName: realtime == nil ? "embedded" : "redis",
                                subQueries: subQueries, offlineFeatures: offlineFeatures,
                                itemActivity: realtime.map { configuration.itemActivity(remote: $0) } ?? featureStore,
                                feedback: feedback, now: now, tracer: tracer)
    dependencies.erasures = erasures
    dependencies.anonymousCounter = realtime ?? featureStore
    dependencies.indicators = indicators
    dependencies.catalogChanges = catalogChanges
    self.engine = ServingEngine(dependencies: dependencies, configuration: configuration)
  }
}

/// Rebuilds a generation from the demo catalog and the feature store's event log. Thread-safe.
struct EmbeddedGenerationSource: IndexGenerationSource {
  let items: [CatalogItem]
  let featureStore: EmbeddedFeatureStore
  let now: @Sendable () -> Int64

  /// Rebuilding (text, bitmaps, co-occurrence, HNSW) is seconds of CPU: it runs on NIO's thread pool,
  /// off the cooperative pool that serves requests.
  func loadGeneration() async throws -> IndexGeneration {
    let source = self
    return try await NIOThreadPool.singleton.runIfActive { try source.build() }
  }

  func build() throws -> IndexGeneration {
    let nowMs = now()
    return try GenerationBuilder().build(items: items, events: featureStore.loggedEvents(), nowMs: nowMs,
                                         version: "embedded-\(nowMs)").open()
  }
}

extension ServingConfiguration {
  /// The candidates' real-time counts from a remote store, behind an `ItemActivityCache` unless
  /// `itemActivityMaxAgeMs` is 0.
  func itemActivity(remote store: any ItemActivitySource) -> any ItemActivitySource {
    itemActivityMaxAgeMs > 0 ? ItemActivityCache(store, maxAgeMs: Int64(itemActivityMaxAgeMs)) : store
  }
}
