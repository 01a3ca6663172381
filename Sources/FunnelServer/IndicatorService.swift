import Alarms
import Foundation
import FunnelHTTP
import Indicators
import Logging
import ServiceLifecycle
import Synchronization
import Serving

/// The dashboard's engine room, a lifecycle `Service`: every 100 ms it moves the engine's waiting
/// indicator increments into the rollup store (and answers' origins to the shared directory); every
/// 200 ms it pushes a tick (tiles, the last seconds, alarm states) to the open dashboards; every
/// second it samples this replica's health and, on the replica leading the fleet's alarms
/// (`AlarmLeadership`), evaluates the alarm rules (transitions go to the webhooks); every 5 s it
/// pushes the full view. Each message is encoded once for every viewer.
/// A store failure keeps the increments (up to the recorder's bound) for the next round and shows
/// the dashboards an `unavailable` event.
public final class IndicatorService: Service, Sendable {
  let engine: ServingEngine
  let store: any RollupStore
  let board: IndicatorBoard
  let alarms: AlarmEngine?
  let notifier: WebhookNotifier?
  let feed: DashboardFeed
  let health: ReplicaHealthBoard
  let leadership: AlarmLeadership
  /// The rules' states as of the last second: this replica's while it leads, else the leader's
  /// (read once a second, not once per push); nil before the first second.
  private let alarmStatuses = Mutex<[AlarmStatus]?>(nil)
  let currency: String
  let replica: String
  let stores: @Sendable () -> [String: String]
  let logger: Logger

  /// A service feeding `feed` from `store` (where the engine's increments go).
  init(engine: ServingEngine, store: any RollupStore, alarms: [AlarmRule], notifier: WebhookNotifier?, feed: DashboardFeed,
       health: ReplicaHealthBoard, leadership: AlarmLeadership, currency: String, replica: String,
       stores: @escaping @Sendable () -> [String: String], logger: Logger) {
    self.leadership = leadership
    self.engine = engine
    self.store = store
    let board = IndicatorBoard(store: store)
    self.board = board
    self.alarms = alarms.isEmpty ? nil : AlarmEngine(rules: alarms, board: board, nowMs: engine.nowMs)
    self.notifier = notifier
    self.feed = feed
    self.health = health
    self.currency = currency
    self.replica = replica
    self.stores = stores
    self.logger = logger
  }

  /// The dashboard's JSON: snake-case keys, sorted.
  static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }

  /// The full view as JSON (`GET /v1/dashboard` and the `view` pushes).
  public func viewJSON() async throws -> [UInt8] {
    let now = engine.nowMs
    let states: [AlarmStatus] = await alarmStates()
    let replicas = await health.all(nowMs: now)
    var view = try await board.view(nowMs: now, currency: currency, alarms: states, health: replicas)
    view.zeroResultSearches = engine.zeroResultQueries.top(20).map { QueryCount(query: $0.query, count: $0.count) }
    return Array(try Self.encoder().encode(view))
  }

  /// The alarm rules' states as JSON (`GET /v1/alarms`).
  public func alarmsJSON() async -> [UInt8] {
    let states: [AlarmStatus] = await alarmStates()
    guard let data = try? Self.encoder().encode(states) else { return Array("[]".utf8) }
    return Array(data)
  }

  /// The rules' states: as of the last second (`alarmStatuses`), or this replica's before that.
  func alarmStates() async -> [AlarmStatus] {
    guard let alarms else { return [] }
    if let statuses = alarmStatuses.withLock({ $0 }) { return statuses }
    return await alarms.statuses()
  }

  /// Once a second: the leader evaluates the rules, notifies their transitions and shares their
  /// states; a follower takes the leader's states (its own, all `ok`, when none were shared).
  private func evaluateAlarms(nowMs: Int64) async {
    guard let alarms else { return }
    guard await leadership.lead() else {
      var statuses = await leadership.shared()
      if statuses == nil { statuses = await alarms.statuses() }
      alarmStatuses.withLock { $0 = statuses }
      return
    }
    let transitions = await alarms.evaluate(nowMs: nowMs)
    let statuses = await alarms.statuses()
    alarmStatuses.withLock { $0 = statuses }
    await leadership.share(statuses)
    for t in transitions {
      logger.log(level: t.kind == .firing ? (t.severity == "critical" ? .error : .warning) : .info, "alarm \(t.kind.rawValue)",
                 metadata: ["rule": "\(t.rule)", "severity": "\(t.severity)", "value": "\(t.value.map { "\($0)" } ?? "-")",
                            "summary": "\(t.summary)"])
    }
    notifier?.notify(transitions)
  }

  /// Applies the waiting increments now (tests and shutdown).
  public func flush() async throws {
    let tally = engine.indicators.recorder.drain()
    guard !tally.isEmpty else { return }
    do {
      try await store.apply(tally)
    } catch {
      engine.indicators.recorder.restore(tally)
      throw error
    }
  }

  public func run() async throws {
    var sampler = HealthSampler()
    var round = 0
    var failing = false
    let clock = ContinuousClock()
    var next = clock.now
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      next = next.advanced(by: .milliseconds(100))
      try? await Task.sleep(until: next, clock: clock)
      if clock.now - next > .seconds(1) { next = clock.now }
      round += 1
      let dropped = engine.indicators.recorder.dropped
      do {
        try await flush()
        if failing { logger.info("indicator store recovered") }
        failing = false
      } catch {
        if !failing { logger.warning("indicator store unavailable; increments kept for the next round", metadata: ["error": "\(error)"]) }
        failing = true
      }
      engine.metrics.indicatorsDropped.add(engine.indicators.recorder.dropped - dropped)
      await publishAnswers()
      let now = engine.nowMs
      if round % 10 == 0 {
        let sample = sampler.sample(engine.metrics.exposition(), nowMs: now, replica: replica, stores: stores(),
                                    index: engine.generation.version, model: engine.ranker.model.version)
        await health.publish(sample)
        for (field, value) in sampler.increments() { engine.indicators.recorder.add(field, value, at: now / 1000) }
        await evaluateAlarms(nowMs: now)
      }
      guard feed.viewers > 0 || round % 50 == 0 else { continue }
      do {
        if round % 50 == 0 {
          feed.publish(DashboardFeed.event("view", json: try await viewJSON()), isView: true)
        } else if round % 2 == 0 {
          // Every 200 ms: ticks are small and move only the live parts.
          let states: [AlarmStatus] = await alarmStates()
          let tick = try await board.tick(nowMs: now, alarms: states)
          feed.publish(DashboardFeed.event("tick", json: Array(try Self.encoder().encode(tick))))
        }
      } catch {
        feed.publish(DashboardFeed.event("unavailable", json: Array(#"{"reason":"the indicator store is unavailable"}"#.utf8)))
      }
    }
    try? await flush()
  }

  private func publishAnswers() async {
    guard let directory = engine.indicators.directory else { return }
    let answers = engine.indicators.published.drain()
    guard !answers.isEmpty else { return }
    let ttl = Int(engine.configuration.attributionWindow.components.seconds)
    do {
      try await directory.publish(answers, ttlSeconds: max(60, min(ttl, 7 * 86_400)))
    } catch {
      // Attribution across replicas is lost for these answers; this replica still attributes its own.
    }
  }
}
