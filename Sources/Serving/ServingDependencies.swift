import Tracing
import FeatureStore
import FunnelCore
import IndexFormat
import Ranking
import Indicators
import Recall

/// Everything a `ServingEngine` is built from besides its `ServingConfiguration`: the first index
/// generation and where newer ones come from, the stores, the model and where newer versions come
/// from, the sub-query cache and the feedback loop's settings. A value; build one, then the engine.
public struct ServingDependencies: Sendable {
  /// The generation served until the first reload.
  public var generation: IndexGeneration
  /// Where `ServingEngine.reload()` gets newer generations.
  public var generationSource: any IndexGenerationSource
  /// Users' recent interactions (Redis or in process).
  public var activity: any UserActivitySource
  /// Where accepted events go.
  public var events: any EventSink
  /// The ranking model served until the first model reload.
  public var model: any ScoringModel
  /// Where `ServingEngine.reloadModel()` gets newer model versions (nil: the model never changes).
  public var modelSource: (any ModelSource)?
  /// Names the feature store in `Admin.Status` (e.g. "embedded").
  public var storeName: String
  /// Resolves filter sub-queries through the in-process and shared caches.
  public var subQueries: SubQueryResolver
  /// Offline item and user features (MongoDB), when configured.
  public var offlineFeatures: (any OfflineFeatureSource)?
  /// Real-time item counts (`rt.*` features), when configured.
  public var itemActivity: (any ItemActivitySource)?
  /// Experiments, exposure logging and attribution.
  public var feedback: FeedbackSettings
  /// The wall clock in Unix ms (a dependency so tests can fix time).
  public var now: @Sendable () -> Int64
  /// Where the request and stage spans go; nil: swift-distributed-tracing's bootstrapped tracer
  /// (a no-op one unless the process bootstraps another).
  public var tracer: (any Tracer)?
  /// Carries ForgetUser to the other replicas and the tombstones; nil: one process. Set after
  /// construction (it needs the engine's replica to follow it).
  public var erasures: (any ErasureBroadcast)?
  /// Where events of users who did not consent are counted, anonymously; nil: they move nothing.
  public var anonymousCounter: (any AnonymousEventCounter)?
  /// Where orders, events and answers are counted for the dashboard (in process by default).
  public var indicators = LiveIndicators()
  /// The fleet's catalog change feed (UpsertItems, DeleteItems); nil: the engine keeps the changes
  /// itself (one process).
  public var catalogChanges: (any CatalogChangeSink)?

  /// The dependencies; only the generation, its source, the two stores and the store's name are required.
  public init(generation: IndexGeneration, generationSource: any IndexGenerationSource, activity: any UserActivitySource,
              events: any EventSink, model: any ScoringModel = BuiltinModel.model, modelSource: (any ModelSource)? = nil,
              storeName: String, subQueries: SubQueryResolver = SubQueryResolver(shared: nil),
              offlineFeatures: (any OfflineFeatureSource)? = nil, itemActivity: (any ItemActivitySource)? = nil,
              feedback: FeedbackSettings = FeedbackSettings(),
              now: @escaping @Sendable () -> Int64 = ServingEngine.wallClockMs, tracer: (any Tracer)? = nil) {
    self.generation = generation
    self.generationSource = generationSource
    self.activity = activity
    self.events = events
    self.model = model
    self.modelSource = modelSource
    self.storeName = storeName
    self.subQueries = subQueries
    self.offlineFeatures = offlineFeatures
    self.itemActivity = itemActivity
    self.feedback = feedback
    self.now = now
    self.tracer = tracer
  }
}
