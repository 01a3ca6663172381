import FunnelCore
import FeatureStore
import IndexFormat
import Ranking
import Recall
import Synchronization


/// Produces index generations for `ServingEngine.reload()` (the embedded builder now, mapped
/// generations on disk later). Thread-safe.
public protocol IndexGenerationSource: Sendable {
  /// Loads or builds the newest generation. Throws a `FunnelError` naming what is wrong with its input.
  func loadGeneration() async throws -> IndexGeneration
}

/// Loads the newest ranking model (a model registry directory). Thread-safe.
public protocol ModelSource: Sendable {
  /// Loads the newest model; throws a `FunnelError` naming the file at fault.
  func loadModel() async throws -> any ScoringModel
}

/// The serving pipeline with no transport: validation, user context, recall, filtering, ranking,
/// re-ranking; plus event ingestion, reload and status for the admin API.
///
/// Thread-safe: requests run concurrently; the current generation is swapped atomically, and a
/// request keeps the generation it started with until it answers.
public final class ServingEngine: Sendable {
  public let configuration: ServingConfiguration
  let validator: RequestValidator
  let currentRanker: Mutex<CandidateRanker>
  let modelSource: (any ModelSource)?
  let activity: any UserActivitySource
  let events: any EventSink
  let generationSource: any IndexGenerationSource
  let current: Mutex<IndexGeneration>
  let reloading = Mutex(false)
  let storeName: String
  /// Resolves filter sub-queries through the in-process and shared caches.
  public let subQueries: SubQueryResolver
  let started = ContinuousClock.now
  /// Counters and histograms for `/metrics`.
  public let metrics = ServingMetrics()
  /// Experiments, exposure logging and attribution.
  public let feedback: FeedbackSettings
  /// The rankers of experiment arms with a model of their own, by `EXPERIMENT:ARM`.
  let armRankers: [String: CandidateRanker]
  /// Exposures waiting for the log writer (nil without an exposure log).
  public let exposureRecorder: ExposureRecorder?
  let now: @Sendable () -> Int64
  /// Offline item and user features (MongoDB), when configured.
  let offline: OfflineFeatureState?
  /// Real-time item counts (`rt.*` features), when configured.
  let itemActivity: (any ItemActivitySource)?
  /// The text channel's matches of recent queries (nil when `searchCacheEntries` is 0).
  let textMatches: TextMatchCache?

  /// Creates an engine serving `generation` until the first reload.
  /// - Parameters:
  ///   - storeName: names the feature store in `Admin.Status` (e.g. "embedded").
  ///   - now: the wall clock in Unix ms (a parameter so tests can fix time).
  public init(configuration: ServingConfiguration = ServingConfiguration(), generation: IndexGeneration,
              generationSource: any IndexGenerationSource, activity: any UserActivitySource, events: any EventSink,
              model: any ScoringModel = BuiltinModel.model, modelSource: (any ModelSource)? = nil, storeName: String,
              subQueries: SubQueryResolver = SubQueryResolver(shared: nil),
              offlineFeatures: (any OfflineFeatureSource)? = nil, itemActivity: (any ItemActivitySource)? = nil,
              feedback: FeedbackSettings = FeedbackSettings(),
              now: @escaping @Sendable () -> Int64 = ServingEngine.wallClockMs) {
    self.feedback = feedback
    self.armRankers = feedback.armModels.mapValues { CandidateRanker(model: $0) }
    self.exposureRecorder = feedback.makeRecorder()
    self.configuration = configuration
    self.validator = RequestValidator(limits: configuration.limits)
    self.currentRanker = Mutex(CandidateRanker(model: model))
    self.modelSource = modelSource
    self.activity = activity
    self.events = events
    self.generationSource = generationSource
    self.current = Mutex(generation)
    self.storeName = storeName
    self.subQueries = subQueries
    self.now = now
    self.itemActivity = itemActivity
    self.textMatches = configuration.searchCacheEntries > 0
      ? TextMatchCache(capacity: configuration.searchCacheEntries, hits: metrics.searchCacheHits,
                       misses: metrics.searchCacheMisses) : nil
    self.offline = offlineFeatures.map {
      OfflineFeatureState(source: $0, users: UserFeatureCache(source: $0, ttlMs: Int64(configuration.profileCacheTTLMs),
                                                              staleMs: Int64(configuration.profileStaleMs), now: now))
    }
  }

  /// Loads the offline items snapshot (at start, and on `Admin.Reload`) and swaps it in. Returns
  /// (snapshot version, items), or nil without an offline source. Throws when the store fails; the
  /// previous snapshot keeps serving.
  @discardableResult
  public func refreshItemFeatures() async throws -> (version: String, items: Int)? {
    guard let offline else { return nil }
    let table = try await offline.refresh(for: generation)
    return (table.version, table.count)
  }

  /// The system wall clock in Unix milliseconds.
  @Sendable public static func wallClockMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }

  /// The generation serving now.
  public var generation: IndexGeneration { current.withLock { $0 } }

  /// The ranker (model and its feature plan) serving now; a request keeps the one it started with.
  public var ranker: CandidateRanker { currentRanker.withLock { $0 } }

  /// Answers a Recommend call. Throws `FunnelError` (invalid input, unknown anchor item).
  /// `deadline` (the call's, when the client sent one) shortens the store budgets so the answer
  /// comes in time from what is available.
  public func recommend(_ input: RecommendInput, deadline: ContinuousClock.Instant? = nil) async throws -> ServingAnswer {
    let watch = Stopwatch()
    return counted(try await run(validator.validate(input), deadline: deadline), watch)
  }

  /// Answers a Search call. Throws `FunnelError` for invalid input.
  public func search(_ input: SearchInput, deadline: ContinuousClock.Instant? = nil) async throws -> ServingAnswer {
    let watch = Stopwatch()
    return counted(try await run(validator.validate(input), deadline: deadline), watch)
  }

  private func counted(_ answer: ServingAnswer, _ watch: Stopwatch) -> ServingAnswer {
    metrics.answerLatencyMs.observe(Double(watch.elapsedMicros) / 1_000)
    metrics.answers.add()
    if answer.degraded { metrics.degradedAnswers.add() }
    return answer
  }

  /// Validates and stores a batch of events; invalid events (and, unless `acceptUnknownItems`, events
  /// for items not in the serving generation) are reported, valid ones stored. Throws
  /// `invalidArgument` when the batch itself is empty or too large, and the store's error
  /// (`StoreFailure`: UNAVAILABLE to callers) when it cannot store them: then no event of the call
  /// counts as accepted and the caller retries the call; events stored before the failure come back
  /// as duplicates (idempotent by event id), so none is lost or counted twice.
  public func track(_ inputs: [EventInput]) async throws -> TrackOutcome {
    guard !inputs.isEmpty else { throw FunnelError.invalidArgument(field: "events", "is empty") }
    guard inputs.count <= configuration.maxEventsPerBatch else {
      throw FunnelError.invalidArgument(field: "events", "\(inputs.count) events, more than \(configuration.maxEventsPerBatch)")
    }
    let nowMs = now()
    let items = generation.items
    var valid: [BehaviourEvent] = []
    var rejected: [TrackOutcome.Rejection] = []
    for (i, input) in inputs.enumerated() {
      do {
        let event = try validator.validate(input, nowMs: nowMs, configuration: configuration)
        if items.doc(for: event.itemID) == nil {
          metrics.eventsUnknownItem.add()
          guard configuration.acceptUnknownItems else {
            throw FunnelError.invalidArgument(field: "item_id", "'\(event.itemID)' is not in the catalog (index \(generation.version))")
          }
        }
        valid.append(event)
      } catch let error as FunnelError {
        rejected.append(.init(index: i, eventID: input.eventID, reason: "events[\(i)].\(error.message)"))
      }
    }
    let stored: EventAppendResult
    do {
      stored = valid.isEmpty ? EventAppendResult(accepted: 0, duplicates: 0) : try await events.append(valid)
    } catch {
      // Nothing is reported accepted: the caller retries the whole call (idempotent by event id).
      metrics.eventsUnavailable.add(valid.count)
      throw error
    }
    metrics.eventsAccepted.add(stored.accepted)
    metrics.eventsDuplicate.add(stored.duplicates)
    metrics.eventsRejected.add(rejected.count)
    return TrackOutcome(accepted: stored.accepted, duplicates: stored.duplicates, rejected: rejected)
  }

  /// Loads the newest model from the model source (if any) and swaps it in: the new model is fully
  /// loaded before the old one is released; a broken one is refused and the old one keeps serving.
  /// Returns (previous version, new version).
  public func reloadModel() async throws -> (previous: String, current: String) {
    guard let modelSource else { let v = ranker.model.version; return (v, v) }
    let next = CandidateRanker(model: try await modelSource.loadModel())
    let previous = currentRanker.withLock { slot in
      let old = slot.model.version
      slot = next
      return old
    }
    return (previous, next.model.version)
  }

  /// Loads a new generation and swaps it in; the old one keeps serving if loading fails.
  /// Returns (previous version, new version). Throws `failedPrecondition` if a reload is running.
  public func reload() async throws -> (previous: String, current: String) {
    let busy = reloading.withLock { running in
      if running { return true }
      running = true
      return false
    }
    guard !busy else { throw FunnelError(.failedPrecondition, "a reload is already running") }
    defer { reloading.withLock { $0 = false } }
    let next = try await generationSource.loadGeneration()
    let previous = current.withLock { slot in
      let old = slot.version
      slot = next
      return old
    }
    // A fresh offline snapshot too; if the store fails, the previous snapshot keeps serving.
    _ = try? await refreshItemFeatures()
    return (previous, next.version)
  }

  /// Forgets a user: real-time features and history (and, with an event stream, the user's queued
  /// events; later events are accepted only if they arrive after this call), exposures, the offline
  /// profile (MongoDB) and its cached copy. Idempotent; returns the events, exposures and profile
  /// documents removed.
  public func forget(user: String) async throws -> Int {
    try validator.checkID(user, field: "user_id", required: true)
    var removed = try await events.forget(user: user)
    if let log = feedback.exposureLog {
      exposureRecorder?.discard(user: user)
      removed += try await log.forget(user: user)
    }
    if let offline {
      // The offline profile too (a failure here fails the call: forgetting is retried, it is idempotent).
      removed += try await offline.source.forgetUser(user)
      offline.users.forget(user)
    }
    return removed
  }

  /// The current state, for `Admin.Status`. `users` and `events` come from the caller's store.
  public func status(users: Int, events: Int) -> ServingStatus {
    let g = generation
    let uptime = ContinuousClock.now - started
    let counts = (answers: Int(metrics.answers.count), degraded: Int(metrics.degradedAnswers.count))
    return ServingStatus(
      indexVersion: g.version, modelVersion: ranker.model.version, itemCount: g.itemCount, userCount: users,
      eventCount: events, uptimeSeconds: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) * 1e-18,
      featureStore: storeName, channels: ChannelSet.named.map(\.1), subQueries: subQueries.stats,
      answers: counts.answers, degradedAnswers: counts.degraded)
  }

  /// A new random request id: 16 hex digits.
  static func makeRequestID() -> String {
    let hex = String(UInt64.random(in: 1...UInt64.max), radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
