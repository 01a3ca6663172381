import FunnelCore

/// The counters and histograms `/metrics` exposes, shared by the engine, the event updater and the
/// exposure logger. Thread-safe (every metric is).
public final class ServingMetrics: Sendable {
  /// Recommend and Search answers, and degraded ones among them.
  public let answers = MetricCounter(), degradedAnswers = MetricCounter()
  /// Store reads an answer went without, by stage: the user's recent activity (Redis), the offline
  /// profile (MongoDB, through its cache), the candidates' real-time counts (Redis). Each is a
  /// timeout (over the stage's budget) or an error (store down, circuit open).
  public let storeTimeouts = StageCounters(), storeErrors = StageCounters()
  /// Time to answer Recommend/Search inside the engine, ms.
  public let answerLatencyMs = MetricHistogram.milliseconds()
  /// Events accepted by Track (first sightings), duplicates, and rejected as invalid.
  public let eventsAccepted = MetricCounter(), eventsDuplicate = MetricCounter(), eventsRejected = MetricCounter()
  /// Events naming an item the serving generation does not have (refused or accepted, per
  /// `ServingConfiguration.acceptUnknownItems`), and Track calls refused because the store was down.
  public let eventsUnknownItem = MetricCounter(), eventsUnavailable = MetricCounter()
  /// Events the real-time updater applied, found already applied, or dropped (forgotten users).
  public let updaterApplied = MetricCounter(), updaterDuplicate = MetricCounter(), updaterDropped = MetricCounter()
  /// Stream entries without a readable event, entries claimed from other consumers, failed rounds.
  public let updaterMalformed = MetricCounter(), updaterClaimed = MetricCounter(), updaterErrors = MetricCounter()
  /// Event accepted -> applied to the real-time features (read by the next request), ms.
  public let freshnessMs = MetricHistogram.milliseconds()
  /// Exposures written to the exposure log, and dropped because the log's buffer was full.
  public let exposuresLogged = MetricCounter(), exposuresDropped = MetricCounter()
  /// Searches whose text matches came from the query cache, and that were scored (`TextMatchCache`).
  public let searchCacheHits = MetricCounter(), searchCacheMisses = MetricCounter()

  /// All zero.
  public init() {}

  /// Every metric in the Prometheus text format.
  public func prometheus() -> String {
    var out = PrometheusText()
    out.counter("funnel_answers_total", "Recommend and Search answers.", answers.count)
    out.counter("funnel_degraded_answers_total", "Answers given without a slow or failed store.", degradedAnswers.count)
    out.counters("funnel_store_timeouts_total", "Store reads over their stage budget, answered without.", label: "stage",
                 storeTimeouts.values)
    out.counters("funnel_store_errors_total", "Store reads that failed, answered without.", label: "stage", storeErrors.values)
    out.histogram("funnel_answer_latency_ms", "Engine time per Recommend or Search answer, ms.", answerLatencyMs)
    out.counter("funnel_events_accepted_total", "Events accepted by Track or POST /v1/events.", eventsAccepted.count)
    out.counter("funnel_events_duplicate_total", "Events whose id had been accepted before.", eventsDuplicate.count)
    out.counter("funnel_events_rejected_total", "Events refused as invalid.", eventsRejected.count)
    out.counter("funnel_events_unknown_item_total", "Events naming an item not in the serving generation.", eventsUnknownItem.count)
    out.counter("funnel_events_unavailable_total", "Events refused because the event store was unavailable.",
                eventsUnavailable.count)
    out.counter("funnel_updater_applied_total", "Stream events applied to real-time features.", updaterApplied.count)
    out.counter("funnel_updater_duplicate_total", "Stream events already applied (replays).", updaterDuplicate.count)
    out.counter("funnel_updater_dropped_total", "Stream events of forgotten users, dropped.", updaterDropped.count)
    out.counter("funnel_updater_malformed_total", "Stream entries without a readable event.", updaterMalformed.count)
    out.counter("funnel_updater_claimed_total", "Stream entries claimed from idle consumers.", updaterClaimed.count)
    out.counter("funnel_updater_errors_total", "Updater rounds that failed (retried).", updaterErrors.count)
    out.histogram("funnel_event_freshness_ms", "Event accepted to applied to real-time features, ms.", freshnessMs)
    out.counter("funnel_exposures_logged_total", "Served lists written to the exposure log.", exposuresLogged.count)
    out.counter("funnel_exposures_dropped_total", "Exposures dropped on a full log buffer.", exposuresDropped.count)
    out.counter("funnel_search_cache_hits_total", "Searches whose text matches came from the query cache.", searchCacheHits.count)
    out.counter("funnel_search_cache_misses_total", "Searches whose text matches were scored (BM25).", searchCacheMisses.count)
    return out.text
  }
}

/// One counter per store stage of the pipeline. Thread-safe.
public final class StageCounters: Sendable {
  /// The stages, as named in the metrics.
  public enum Stage: String, Sendable, CaseIterable { case recent, profile, itemFeatures = "item_features" }
  private let counters = Stage.allCases.map { _ in MetricCounter() }

  /// All zero.
  public init() {}

  /// Adds one to `stage`.
  public func add(_ stage: Stage) { counters[Stage.allCases.firstIndex(of: stage)!].add() }

  /// The count of `stage`.
  public func count(_ stage: Stage) -> UInt64 { counters[Stage.allCases.firstIndex(of: stage)!].count }

  /// (stage name, count) for every stage, in declaration order.
  public var values: [(String, UInt64)] { zip(Stage.allCases, counters).map { ($0.rawValue, $1.count) } }
}
