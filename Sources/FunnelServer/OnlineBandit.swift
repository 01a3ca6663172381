import Experiments
import FeatureStore
import FunnelCore
import Logging
import Prometheus
import RedisStore
import ServiceLifecycle
import Serving

/// The online channel bandit of a fleet (`ChannelBandit`), learning within a second of each click.
///
/// Every replica runs one. The one holding the lease (`RedisBanditState`) learns: every
/// `learnEvery` it reads what follows its positions in the exposure log (lists served by every
/// replica, with each item's channel) and in the event stream (clicks with the answer's request
/// id), joins them (`ChannelClickTally`) and adds the counts and the new positions in one fenced
/// script. A new leader (at start, or when the last one stopped renewing) starts from the stored
/// positions and re-reads the last `rememberMs` of lists without counting them, so clicks on lists
/// served just before the hand-over still count. Every replica copies the counts into its engine
/// every `syncEvery`, so all of them sample from the same posterior, and a restarted replica starts
/// from it. Gauge `funnel_bandit_leader` is 1 on the learner; counter
/// `funnel_bandit_learn_failures_total` counts rounds that failed (Redis down: answers keep the last
/// counts). A lifecycle `Service`.
public struct OnlineBandit: Service {
  let engine: ServingEngine
  let state: RedisBanditState
  let exposures: RedisExposureLog
  let events: RedisEventStream
  let owner: String
  let logger: Logger
  let learnEvery: Duration
  let syncEvery: Duration
  let leaseMs: Int
  let rememberMs: Int64
  let cap: Double
  let page = 2_000
  let leader: Gauge
  let failures: Counter

  /// A bandit learner and follower for `engine`; `owner` names this replica in the lease.
  public init(engine: ServingEngine, state: RedisBanditState, exposures: RedisExposureLog, events: RedisEventStream, owner: String,
              learnEvery: Duration = .milliseconds(250), syncEvery: Duration = .milliseconds(500), leaseMs: Int = 5_000,
              rememberMs: Int64 = 600_000, cap: Double = 1_000_000, logger: Logger) {
    self.engine = engine
    self.state = state
    self.exposures = exposures
    self.events = events
    self.owner = owner
    self.learnEvery = learnEvery
    self.syncEvery = syncEvery
    self.leaseMs = leaseMs
    self.rememberMs = rememberMs
    self.cap = cap
    self.logger = logger
    let registry = engine.metrics.registry
    leader = registry.makeGauge(descriptor: .init(namespace: "funnel", metricName: "bandit_leader", unitName: "",
                                                  helpText: "1 when this replica is the online bandit's learner."))
    failures = registry.makeCounter(descriptor: .init(namespace: "funnel", metricName: "bandit_learn_failures", unitName: "total",
                                                      helpText: "Online bandit rounds that failed (the answers keep the last counts)."))
  }

  /// The learner's own state between rounds.
  public struct Learner: Sendable {
    /// Whether this replica held the lease at the last round.
    public var leading = false
    /// Read positions (`x|K` exposure shard K, `e|K` event shard K).
    public var cursors: [String: String] = [:]
    /// Lists remembered and clicks waiting.
    public var tally = ChannelClickTally()
    /// A learner that has not led yet.
    public init() {}
  }

  public func run() async throws {
    var learner = Learner()
    let clock = ContinuousClock()
    var lastSync = clock.now - syncEvery
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      await learn(&learner, nowMs: ServingEngine.wallClockMs())
      if clock.now - lastSync >= syncEvery {
        await sync()
        lastSync = clock.now
      }
      try? await Task.sleep(for: learnEvery)
    }
    if learner.leading { try? await state.release(owner: owner) }
  }

  /// One round: renew or take the lease, and if held, learn what followed the positions.
  public func learn(_ l: inout Learner, nowMs: Int64) async {
    do {
      guard try await state.lease(owner: owner, ttlMs: leaseMs) else {
        if l.leading { logger.info("online bandit: another replica learns now") }
        l.leading = false
        leader.set(0.0)
        return
      }
      if !l.leading {
        try await takeOver(&l, nowMs: nowMs)
        l.leading = true
        leader.set(1.0)
        logger.info("online bandit: this replica learns", metadata: ["owner": "\(owner)"])
      }
      var moved: [String: String] = [:]
      for shard in exposures.streamKeys.indices {
        let (read, last) = try await exposures.entries(shard: shard, after: l.cursors["x|\(shard)"], limit: page)
        l.tally.add(exposures: read.map(\.exposure), nowMs: nowMs)
        if let last { moved["x|\(shard)"] = last }
      }
      for (shard, key) in events.streamKeys.enumerated() {
        let (read, last) = try await events.entries(of: key, after: l.cursors["e|\(shard)"], limit: page)
        l.tally.add(events: read.map(\.event), nowMs: nowMs)
        if let last { moved["e|\(shard)"] = last }
      }
      guard !moved.isEmpty else { return }
      let deltas = l.tally.drain().map { (arm: $0.key.scene + "|" + $0.key.channel, shown: $0.value.shown, clicked: $0.value.clicked) }
      guard try await state.apply(owner: owner, deltas: deltas, cursors: moved, cap: cap) else {
        // The lease went elsewhere between the renewal and the write: nothing was written; the
        // next leader reads from the stored positions.
        l.leading = false
        leader.set(0.0)
        return
      }
      l.cursors.merge(moved) { $1 }
    } catch {
      // What was read may or may not be stored: start again from the stored positions.
      l.leading = false
      leader.set(0.0)
      failures.increment()
      logger.warning("online bandit: learning round failed", metadata: ["error": "\(error)"])
    }
  }

  /// Loads the stored positions and re-reads the last `rememberMs` of lists before them (not
  /// counted again), so clicks arriving now on lists served before the hand-over join.
  func takeOver(_ l: inout Learner, nowMs: Int64) async throws {
    l.cursors = try await state.read().cursors
    l.tally = ChannelClickTally()
    for shard in exposures.streamKeys.indices {
      guard let cursor = l.cursors["x|\(shard)"], let ms = Int64(cursor.prefix { $0 != "-" }) else { continue }
      var after: String? = "\(max(0, ms - rememberMs))-0"
      while let position = after {
        let (read, last) = try await exposures.entries(shard: shard, after: position, limit: page)
        guard let last else { break }
        // Only up to the stored position: what follows it is counted by the next round.
        l.tally.add(exposures: read.filter { !Self.precedes(cursor, $0.position) }.map(\.exposure), count: false, nowMs: nowMs)
        after = Self.precedes(last, cursor) ? last : nil
      }
    }
  }

  /// Copies the fleet's counts into this replica's engine.
  public func sync() async {
    do {
      var arms: [String: [String: ChannelArms.Arm]] = [:]
      for (key, counts) in try await state.read().arms {
        let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { continue }
        arms[parts[0], default: [:]][parts[1]] = ChannelArms.Arm(shown: counts.shown, clicked: counts.clicked)
      }
      engine.setChannelArms(ChannelArms(arms: arms))
    } catch {
      logger.warning("online bandit: cannot read the counts; answers keep the last ones", metadata: ["error": "\(error)"])
    }
  }

  /// Whether stream position `a` is before `b` (`ms-seq`, compared numerically).
  static func precedes(_ a: String, _ b: String) -> Bool {
    func parts(_ s: String) -> (Int64, Int64) {
      let p = s.split(separator: "-")
      return (Int64(p.first ?? "") ?? 0, Int64(p.count > 1 ? p[1] : "") ?? 0)
    }
    return parts(a) < parts(b)
  }
}
