import FunnelCore
import Prometheus
import Synchronization

/// The metrics `/metrics` exposes, in one `PrometheusCollectorRegistry` (swift-prometheus) that the
/// engine, the event updater, the exposure logger and the transports record into; each engine has
/// its own registry, so engines in one process (tests, benchmarks) do not mix. Every metric has a
/// help text and base units (seconds), as `promtool check metrics` asks. Label values are Funnel's
/// own names (scenes, stages, RPC names, status codes), never a client's text, so the number of
/// series is bounded. Values set from elsewhere at scrape time (listener load, process, versions)
/// come from `onScrape` hooks. Thread-safe (every metric is; hooks are added at start-up).
public final class ServingMetrics: Sendable {
  /// Where every metric is registered; `exposition()` renders it.
  public let registry: PrometheusCollectorRegistry
  private let answers: [Scene: Counter], degraded: [Scene: Counter]
  private let answerSeconds: [Scene: DurationHistogram]
  private let timeouts: [StoreStage: Counter], errors: [StoreStage: Counter]
  /// Events accepted by Track (first sightings), duplicates, and rejected as invalid.
  public let eventsAccepted: Counter, eventsDuplicate: Counter, eventsRejected: Counter
  /// Events naming an item the serving generation does not have (refused or accepted, per
  /// `ServingConfiguration.acceptUnknownItems`), and Track calls refused because the store was down.
  public let eventsUnknownItem: Counter, eventsUnavailable: Counter
  /// Valid events not stored because their user did not consent.
  public let eventsWithoutConsent: Counter
  public let eventsAnonymousUncounted: Counter
  /// Order changes accepted (first sightings of their order id and state) and their amounts in the
  /// reporting currency, by state; duplicates, rejected ones, calls refused because the ledger was down.
  public let ordersAccepted: [OrderState: Counter], orderAmount: [OrderState: Counter]
  public let ordersDuplicate: Counter, ordersRejected: Counter, ordersUnavailable: Counter
  /// Indicator increments dropped because the rollup store was down for too long.
  public let indicatorsDropped: Counter
  /// Events the real-time updater applied, found already applied, or dropped (forgotten users).
  public let updaterApplied: Counter, updaterDuplicate: Counter, updaterDropped: Counter
  /// Stream entries without a readable event, entries claimed from other consumers, failed rounds.
  public let updaterMalformed: Counter, updaterClaimed: Counter, updaterErrors: Counter
  /// The updater group's backlog, as last read: entries delivered and not acknowledged, and entries
  /// not yet delivered (consumer lag).
  public let updaterPending: Gauge, updaterLag: Gauge
  /// Event accepted -> applied to the real-time features (read by the next request).
  public let freshness: DurationHistogram
  /// Exposures written to the exposure log, and dropped because the log's buffer was full.
  public let exposuresLogged: Counter, exposuresDropped: Counter
  /// Searches whose text matches came from the query cache, and that were scored (`TextMatchCache`).
  public let searchCacheHits: Counter, searchCacheMisses: Counter
  /// Searches that matched nothing (their queries: `ServingEngine.zeroResultQueries`).
  public let zeroResultSearches: Counter
  /// Engine time per Suggest answer.
  public let suggestSeconds: DurationHistogram
  /// Per recall channel, by the channel's bit: candidates offered (before de-duplication) and time.
  private let recallCandidates: [Counter?], recallSeconds: [DurationHistogram?]
  /// Per store stage: reads started and their duration (late ones included, when they end).
  private let storeReads: [StoreStage: Counter], storeReadSeconds: [StoreStage: DurationHistogram]
  private let hooks = Mutex<[@Sendable () -> Void]>([])

  /// The store reads of the pipeline an answer can go without (its degraded reasons): the user's
  /// recent activity (Redis), the offline profile (MongoDB, through its cache), the candidates'
  /// real-time counts (Redis).
  public enum StoreStage: String, Sendable, CaseIterable { case recent, profile, itemFeatures = "item_features" }

  /// Latency buckets, seconds: 0.25 ms to 30 s.
  public static let latencyBuckets: [Duration] = [
    .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
    .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
    .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
  ]

  /// Every metric at zero, in `registry` (a new one by default).
  public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
    self.registry = registry
    func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
      registry.makeCounter(descriptor: .init(namespace: "funnel", metricName: name, unitName: "total", helpText: help), labels: labels)
    }
    let scenes = Scene.allCases
    answers = Dictionary(uniqueKeysWithValues: scenes.map {
      ($0, counter("answers", "Recommend and Search answers, by scene.", [("scene", $0.rawValue)]))
    })
    degraded = Dictionary(uniqueKeysWithValues: scenes.map {
      ($0, counter("degraded_answers", "Answers given without a slow or failed store, by scene.", [("scene", $0.rawValue)]))
    })
    answerSeconds = Dictionary(uniqueKeysWithValues: scenes.map {
      ($0, registry.makeDurationHistogram(
        descriptor: .init(namespace: "funnel", metricName: "answer_duration", unitName: "seconds",
                          helpText: "Engine time per Recommend or Search answer, by scene."),
        labels: [("scene", $0.rawValue)], buckets: Self.latencyBuckets))
    })
    timeouts = Dictionary(uniqueKeysWithValues: StoreStage.allCases.map {
      ($0, counter("store_timeouts", "Store reads over their stage budget, answered without (a degraded reason).", [("stage", $0.rawValue)]))
    })
    errors = Dictionary(uniqueKeysWithValues: StoreStage.allCases.map {
      ($0, counter("store_errors", "Store reads that failed, answered without (a degraded reason).", [("stage", $0.rawValue)]))
    })
    var candidates = [Counter?](repeating: nil, count: ChannelSet.RawValue.bitWidth)
    var recallTimes = [DurationHistogram?](repeating: nil, count: ChannelSet.RawValue.bitWidth)
    for (channel, name) in ChannelSet.named {
      let bit = channel.rawValue.trailingZeroBitCount
      candidates[bit] = counter("recall_candidates", "Candidates offered by a recall channel, before merging.", [("channel", name)])
      recallTimes[bit] = registry.makeDurationHistogram(
        descriptor: .init(namespace: "funnel", metricName: "recall_duration", unitName: "seconds",
                          helpText: "Time of one recall channel for one request."),
        labels: [("channel", name)], buckets: Self.latencyBuckets)
    }
    (recallCandidates, recallSeconds) = (candidates, recallTimes)
    storeReads = Dictionary(uniqueKeysWithValues: StoreStage.allCases.map {
      ($0, counter("store_reads", "Store reads of the request path, by stage.", [("stage", $0.rawValue)]))
    })
    storeReadSeconds = Dictionary(uniqueKeysWithValues: StoreStage.allCases.map {
      ($0, registry.makeDurationHistogram(
        descriptor: .init(namespace: "funnel", metricName: "store_read_duration", unitName: "seconds",
                          helpText: "Time of a store read of the request path until it ended (past its budget too), by stage."),
        labels: [("stage", $0.rawValue)], buckets: Self.latencyBuckets))
    })
    eventsAccepted = counter("events_accepted", "Events accepted by Track or POST /v1/events.")
    eventsDuplicate = counter("events_duplicate", "Events whose id had been accepted before.")
    eventsRejected = counter("events_rejected", "Events refused as invalid.")
    eventsUnknownItem = counter("events_unknown_item", "Events naming an item not in the serving generation.")
    eventsUnavailable = counter("events_unavailable", "Events refused because the event store was unavailable.")
    ordersAccepted = Dictionary(uniqueKeysWithValues: OrderState.allCases.map {
      ($0, counter("orders", "Order changes accepted from the order feed, by state.", [("state", $0.rawValue)]))
    })
    orderAmount = Dictionary(uniqueKeysWithValues: OrderState.allCases.map {
      ($0, counter("order_amount", "Amounts of the order changes accepted, in the reporting currency, by state.", [("state", $0.rawValue)]))
    })
    ordersDuplicate = counter("orders_duplicate", "Order changes whose order id and state had been accepted before.")
    ordersRejected = counter("orders_rejected", "Order changes rejected as invalid.")
    ordersUnavailable = counter("orders_unavailable", "Order changes refused because the order ledger's store was down.")
    indicatorsDropped = counter("indicator_increments_dropped", "Dashboard indicator increments dropped while the rollup store was down.")
    eventsWithoutConsent = counter("events_without_consent", "Valid events not stored under their user, who did not consent (counted anonymously).")
    eventsAnonymousUncounted = counter("events_anonymous_uncounted",
                                       "Events without consent that the store could not count in the anonymous aggregates.")
    updaterApplied = counter("updater_applied", "Stream events applied to real-time features.")
    updaterDuplicate = counter("updater_duplicate", "Stream events already applied (replays).")
    updaterDropped = counter("updater_dropped", "Stream events of forgotten users, dropped.")
    updaterMalformed = counter("updater_malformed", "Stream entries without a readable event.")
    updaterClaimed = counter("updater_claimed", "Stream entries claimed from idle consumers.")
    updaterErrors = counter("updater_errors", "Updater rounds that failed (retried).")
    updaterPending = registry.makeGauge(descriptor: .init(namespace: "funnel", metricName: "updater_pending", unitName: "entries",
                                                          helpText: "Stream entries delivered to the updater group and not yet acknowledged."))
    updaterLag = registry.makeGauge(descriptor: .init(namespace: "funnel", metricName: "updater_lag", unitName: "entries",
                                                      helpText: "Stream entries not yet delivered to the updater group (consumer lag)."))
    freshness = registry.makeDurationHistogram(
      descriptor: .init(namespace: "funnel", metricName: "event_freshness", unitName: "seconds",
                        helpText: "Event accepted to applied to real-time features."),
      buckets: Self.latencyBuckets)
    exposuresLogged = counter("exposures_logged", "Served lists written to the exposure log.")
    exposuresDropped = counter("exposures_dropped", "Exposures dropped on a full log buffer.")
    searchCacheHits = counter("search_cache_hits", "Searches whose text matches came from the query cache.")
    searchCacheMisses = counter("search_cache_misses", "Searches whose text matches were scored (BM25).")
    suggestSeconds = registry.makeDurationHistogram(
      descriptor: .init(namespace: "funnel", metricName: "suggest_duration", unitName: "seconds",
                        helpText: "Engine time per Suggest answer."),
      buckets: Self.latencyBuckets)
    zeroResultSearches = counter("search_zero_results", "Searches that matched nothing, even relaxed.")
  }

  /// Records one answer of `scene`: its engine time and whether it was degraded.
  public func answered(_ scene: Scene, after elapsed: Duration, degraded isDegraded: Bool) {
    answers[scene]?.increment()
    answerSeconds[scene]?.record(elapsed)
    if isDegraded { degraded[scene]?.increment() }
  }

  /// Records one recall channel's work for a request: `candidates` offered, in `elapsed`.
  public func recalled(_ channel: ChannelSet, candidates: Int, after elapsed: Duration) {
    guard channel.rawValue.nonzeroBitCount == 1 else { return }
    let bit = channel.rawValue.trailingZeroBitCount
    recallCandidates[bit]?.add(candidates)
    recallSeconds[bit]?.record(elapsed)
  }

  /// Records a store read of `stage` that ended (returned or failed) after `elapsed`.
  public func storeRead(_ stage: StoreStage, after elapsed: Duration) {
    storeReads[stage]?.increment()
    storeReadSeconds[stage]?.record(elapsed)
  }

  /// Counts a store read the answer went without because it took over its budget.
  public func storeTimedOut(_ stage: StoreStage) { timeouts[stage]?.increment() }

  /// Counts a store read the answer went without because it failed (store down, circuit open).
  public func storeFailed(_ stage: StoreStage) { errors[stage]?.increment() }

  /// Adds `hook`, run before each rendering to set the gauges whose values live elsewhere.
  public func onScrape(_ hook: @escaping @Sendable () -> Void) { hooks.withLock { $0.append(hook) } }

  /// Every metric in the Prometheus text exposition format (version 0.0.4), after the scrape hooks.
  public func exposition() -> [UInt8] {
    for hook in hooks.withLock({ $0 }) { hook() }
    return rendered()
  }

  private func rendered() -> [UInt8] {
    var out: [UInt8] = []
    registry.emit(into: &out)
    return out
  }

  /// The sum of every series of the family `name` whose labels include `labels` (`name_count` and
  /// the like for a histogram's parts), from a rendering of the registry (without running the scrape
  /// hooks: a read has no side effects). For status pages, command output and tests; O(the
  /// rendering's size).
  public func value(_ name: String, _ labels: [(String, String)] = []) -> Double {
    var total = 0.0
    let text = String(decoding: rendered(), as: UTF8.self)
    let wanted = labels.map { "\($0.0)=\"\($0.1)\"" }
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
      let series = line[..<space]
      let family = series.prefix { $0 != "{" }
      guard family == name, wanted.allSatisfy({ series.contains($0) }) else { continue }
      total += value
    }
    return total
  }
}

extension Counter {
  /// Adds `n` when positive (a batch's count, which may be zero).
  public func add(_ n: Int) { if n > 0 { increment(by: Int64(n)) } }
}
