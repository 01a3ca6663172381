import Tracing
import Experiments
import FeatureStore
import FunnelCore
import IndexFormat
import Indicators
import Ranking
import Recall
import Search

/// Produces index generations for `ServingEngine.reload()`. Thread-safe.
public protocol IndexGenerationSource: Sendable {
  /// Loads or builds the newest generation. Throws a `FunnelError` naming what is wrong with its input.
  func loadGeneration() async throws -> IndexGeneration
}

/// Loads the newest ranking model (a model registry directory). Thread-safe.
public protocol ModelSource: Sendable {
  /// Loads the newest model; throws a `FunnelError` naming the file at fault.
  func loadModel() async throws -> any ScoringModel
}

/// The serving engine without transport, as one façade over the parts that do the work: the request
/// path (`ServingPipeline` and its stages) for Recommend and Search, `EventIntake` for Track,
/// `ServingState` for reloads, `UserErasure` for ForgetUser, `FeedbackLoop` for exposures and
/// experiment reports.
///
/// Thread-safe: requests run concurrently; the generation and the ranker are swapped atomically, and
/// a request keeps the ones it started with until it answers.
public final class ServingEngine: Sendable {
  public let configuration: ServingConfiguration
  /// Counters and histograms for `/metrics`.
  public let metrics = ServingMetrics()
  /// Resolves filter sub-queries through the in-process and shared caches.
  public let subQueries: SubQueryResolver
  /// Searches that matched nothing, for the dashboard.
  public let zeroResultQueries: QueryCounts
  /// Searches that found something as typed, for autocomplete.
  public let popularQueries: QueryCounts
  /// Experiments, exposure logging and attribution.
  public let feedback: FeedbackLoop
  let validator: RequestValidator
  let state: ServingState
  let pipeline: ServingPipeline
  let intake: EventIntake
  let orders: OrderIntake
  /// Where orders, events and answers are counted for the dashboard.
  public let indicators: LiveIndicators
  let erasure: UserErasure
  let catalog: CatalogIntake
  let storeName: String
  let started = ContinuousClock.now
  /// Where request and stage spans go (`ServingDependencies.tracer`). Transports extract a caller's
  /// trace context with it so the request span continues the caller's trace.
  public let tracer: any Tracer

  /// An engine built from `dependencies`, serving their generation and model until the first reload.
  public init(dependencies d: ServingDependencies, configuration: ServingConfiguration = ServingConfiguration()) {
    self.configuration = configuration
    let tracer = d.tracer ?? InstrumentationSystem.tracer
    self.tracer = tracer
    self.subQueries = d.subQueries
    self.storeName = d.storeName
    let validator = RequestValidator(limits: configuration.limits)
    self.validator = validator
    let offline = d.offlineFeatures.map {
      OfflineFeatureState(source: $0, users: UserFeatureCache(source: $0, ttlMs: Int64(configuration.profileCacheTTLMs),
                                                              staleMs: Int64(configuration.profileStaleMs), now: d.now))
    }
    self.indicators = d.indicators
    let feedback = FeedbackLoop(settings: d.feedback, attributionWindow: configuration.attributionWindow, metrics: metrics,
                                indicators: d.indicators, cascade: configuration.modelCascade)
    self.feedback = feedback
    self.state = ServingState(generation: d.generation, generationSource: d.generationSource, model: d.model,
                              modelSource: d.modelSource, offline: offline, cascade: configuration.modelCascade)
    let zeroResultQueries = QueryCounts(capacity: 500) { [metrics] in metrics.zeroResultSearches.increment() }
    self.zeroResultQueries = zeroResultQueries
    let popularQueries = QueryCounts(capacity: 2_000)
    self.popularQueries = popularQueries
    let textMatches = configuration.searchCacheEntries > 0
      ? TextMatchCache(capacity: configuration.searchCacheEntries) { [metrics] hit in
        (hit ? metrics.searchCacheHits : metrics.searchCacheMisses).increment()
      }
      : nil
    let reads = StoreReads(metrics: metrics, tracer: tracer)
    self.pipeline = ServingPipeline(
      configuration: configuration,
      context: ContextStage(activity: d.activity, offline: offline, recentInteractions: configuration.recentInteractions,
                            metrics: metrics, reads: reads),
      recall: RecallStage(search: SearchStage(facets: FacetCounter(columns: FacetColumnCache()),
                                              newnessAttribute: configuration.searchNewnessAttribute, zeroResults: zeroResultQueries,
                                              popular: popularQueries),
                          subQueries: d.subQueries, textMatches: textMatches, metrics: metrics, tracer: tracer),
      rank: RankStage(itemActivity: d.itemActivity, offline: offline, parallelScoringRows: configuration.parallelScoringRows,
                      metrics: metrics, reads: reads),
      answer: AnswerStage(defaultArm: configuration.experimentArm), feedback: feedback, now: d.now, tracer: tracer)
    self.intake = EventIntake(configuration: configuration, validator: validator, events: d.events,
                              anonymous: d.anonymousCounter, indicators: d.indicators, metrics: metrics, now: d.now)
    self.orders = OrderIntake(configuration: configuration, validator: validator, indicators: d.indicators, metrics: metrics, now: d.now)
    self.catalog = CatalogIntake(sink: d.catalogChanges, maxChanges: configuration.maxCatalogChanges, state: state, now: d.now)
    self.erasure = UserErasure(validator: validator, events: d.events, feedback: feedback, offline: offline,
                               broadcast: d.erasures, storeName: d.storeName)
  }

  /// The system wall clock in Unix milliseconds.
  @Sendable public static func wallClockMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }

  /// The generation serving now.
  public var generation: IndexGeneration { state.generation }

  /// The ranker (model and its feature plan) serving now; a request keeps the one it started with.
  public var ranker: CandidateRanker { state.ranker }

  /// Exposures waiting for the log writer (nil without an exposure log).
  public var exposureRecorder: ExposureRecorder? { feedback.recorder }

  /// Answers a Recommend call. Throws `FunnelError` (invalid input, unknown anchor item). `deadline`
  /// (the call's) shortens the store budgets so the answer comes in time from what is available.
  public func recommend(_ input: RecommendInput, deadline: ContinuousClock.Instant? = nil) async throws -> ServingAnswer {
    try await answer(validator.validate(input), deadline: deadline)
  }

  /// Answers a Search call. Throws `FunnelError` for invalid input.
  public func search(_ input: SearchInput, deadline: ContinuousClock.Instant? = nil) async throws -> ServingAnswer {
    try await answer(validator.validate(input), deadline: deadline)
  }

  /// Answers a Suggest call: completions of what was typed, the user's categories first (their
  /// profile read within the profile budget, cut by `deadline`). Throws `FunnelError` for invalid input.
  public func suggest(_ input: SuggestInput, deadline: ContinuousClock.Instant? = nil) async throws -> SuggestAnswer {
    let watch = Stopwatch()
    let (prefix, count) = try validator.validate(input)
    let generation = self.generation
    var affinity: [(category: UInt32, weight: Float)] = []
    var degraded = false
    if !input.userID.isEmpty {
      let request = ValidatedRequest(scene: .search, userID: input.userID, sessionID: input.sessionID, count: count, context: [:],
                                     filter: nil, excluded: [], anchors: [], queryTerms: [], query: "", debug: false)
      let (profile, fellBack) = try await pipeline.profile(request, generation: generation, deadline: deadline)
      affinity = profile.leafAffinities(limit: 8, in: generation)
      degraded = fellBack
    }
    let suggestions = Suggester(popular: popularQueries).suggest(Suggester.normalised(prefix, analyzer: generation.analyzer),
                                                                 in: generation, affinity: affinity, count: count)
    metrics.suggestSeconds.record(.microseconds(watch.elapsedMicros))
    return SuggestAnswer(suggestions: suggestions, indexVersion: generation.version, degraded: degraded)
  }

  private func answer(_ request: ValidatedRequest, deadline: ContinuousClock.Instant?) async throws -> ServingAnswer {
    let watch = Stopwatch()
    let answer = try await pipeline.run(request, generation: generation, ranker: ranker, deadline: deadline)
    metrics.answered(request.scene, after: .microseconds(watch.elapsedMicros), degraded: answer.degraded)
    return answer
  }

  /// The catalog item `id` of the serving generation, nil when it has none. O(1) average.
  public func item(_ id: String) -> CatalogItem? {
    let items = generation.items
    return items.doc(for: id).map { items.item($0) }
  }

  /// The model inputs of every candidate the pipeline would rank for `input` under `schema` (the
  /// training rows, computed by the serving stages). Throws as `recommend`.
  public func candidateFeatures(_ input: RecommendInput, schema: FeatureSchema) async throws -> (items: [ItemID], rows: [[Float]]) {
    try await pipeline.candidateFeatures(validator.validate(input), generation: generation, schema: schema)
  }

  /// Validates and stores a batch of events (`EventIntake.track`).
  public func track(_ inputs: [EventInput]) async throws -> TrackOutcome {
    try await intake.track(inputs, generation: generation)
  }

  /// Validates and counts a batch of order changes (`OrderIntake.track`).
  public func trackOrders(_ inputs: [OrderInput]) async throws -> TrackOutcome {
    try await orders.track(inputs, generation: generation)
  }

  /// The engine's clock, Unix ms (a replay's clock when serving a historical data set).
  public var nowMs: Int64 { intake.now() }

  /// Loads a new generation and swaps it in (`ServingState.reload`): (previous, new) versions.
  public func reload() async throws -> (previous: String, current: String) { try await state.reload() }

  /// New or changed items (UpsertItems): validated and appended to the catalog change feed, served
  /// by every replica within the feed's delay. Returns the last feed position. Throws
  /// `invalidArgument` naming the first bad item, `resourceExhausted` when the overlay is full,
  /// `unavailable` when the feed's store fails.
  public func upsertItems(_ items: [CatalogItem]) async throws -> String {
    try await catalog.apply(items.map(CatalogChange.upsert), field: "items")
  }

  /// `upsertItems` for items as a transport received them (`CatalogItemInput`).
  public func upsertItems(inputs: [CatalogItemInput]) async throws -> String {
    try await upsertItems(inputs.enumerated().map { try $1.item(at: "items[\($0)]") })
  }

  /// Deletions (DeleteItems), as `upsertItems`: the items leave every answer and lookup.
  public func deleteItems(_ ids: [ItemID]) async throws -> String {
    try await catalog.apply(ids.map(CatalogChange.delete), field: "item_ids")
  }

  /// Lays the live catalog changes `entries` (the whole feed, in order) over the serving generation
  /// and every later one (`ServingState.setCatalogChanges`); returns the overlay now served.
  @discardableResult
  public func setCatalogChanges(_ entries: [CatalogFeedEntry]) -> CatalogOverlay? { state.setCatalogChanges(entries) }

  /// Loads the newest model and swaps it in (`ServingState.reloadModel`): (previous, new) versions.
  public func reloadModel() async throws -> (previous: String, current: String) { try await state.reloadModel() }

  /// Puts `canary`'s share of users on `model` (nil, nil: ends the trial). The model's version should
  /// be `canary.model`, which answers in the trial report. Takes effect for the next request.
  public func setCanary(_ canary: Canary?, model: (any ScoringModel)?) { feedback.canary.set(canary, model: model) }

  /// The trial this engine applies, if any.
  public var canary: Canary? { feedback.canary.value?.canary }

  /// Replaces the channel statistics the bandit scenes sample from (`ServingConfiguration.banditScenes`).
  public func setChannelArms(_ arms: ChannelArms?) { feedback.channelArms.set(arms) }

  /// The channel statistics in use (nil before the learner's first sync).
  public var channelArms: ChannelArms? { feedback.channelArms.value }

  /// Loads the offline items snapshot (at start and on `Admin.Reload`): (version, items), or nil
  /// without an offline source. Throws when the store fails; the previous snapshot keeps serving.
  @discardableResult
  public func refreshItemFeatures() async throws -> (version: String, items: Int)? { try await state.refreshItemFeatures() }

  /// Forgets a user everywhere (`UserErasure.forget`); returns what was removed.
  public func forget(user: String) async throws -> ErasureReceipt { try await erasure.forget(user: user) }

  /// Drops the user whose SHA-256 is `digest` from this replica's caches: another replica forgot them
  /// (`ErasureBroadcast`). O(the cached profiles and buffered exposures).
  public func forgetCached(digest: String) { erasure.forgetCached(digest: digest) }

  /// Writes buffered exposures to the log; returns how many.
  @discardableResult
  public func flushExposures() async throws -> Int { try await feedback.flush() }

  /// Per-arm experiment results since `sinceMs` (`FeedbackLoop.report`).
  public func experimentReport(experiment: String?, sinceMs: Int64) async throws -> [ArmReport] {
    try await feedback.report(experiment: experiment, sinceMs: sinceMs)
  }

  /// The current state, for `Admin.Status`. `users` and `events` come from the caller's store.
  public func status(users: Int, events: Int) -> ServingStatus {
    let (g, uptime) = (generation, ContinuousClock.now - started)
    return ServingStatus(
      indexVersion: g.version, modelVersion: ranker.model.version, itemCount: g.itemCount, userCount: users,
      eventCount: events, uptimeSeconds: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) * 1e-18,
      featureStore: storeName, channels: ChannelSet.named.map(\.1), subQueries: subQueries.stats,
      answers: Int(metrics.value("funnel_answers_total")), degradedAnswers: Int(metrics.value("funnel_degraded_answers_total")))
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
