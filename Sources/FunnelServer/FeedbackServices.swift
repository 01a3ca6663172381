import FeatureStore
import Foundation
import FunnelCore
import Logging
import NIOPosix
import RedisStore
import ServiceLifecycle
import Serving

/// The real-time feature updater as a lifecycle `Service`: one consumer of the Redis event stream's
/// group, applying events to the real-time store until graceful shutdown. Its blocking reads run on
/// a thread pool of its own (never the cooperative pool, never the request path's Redis threads).
/// A failed round (Redis down) is counted, logged once per failure streak, and retried with
/// back-off up to 2 s; pending entries are applied again when Redis returns.
public struct EventUpdaterService: Service {
  let url: String
  let keyPrefix: String
  let settings: RedisEventConsumer.Settings
  let limits: RedisFeatureStore.Limits
  let metrics: ServingMetrics
  let category: @Sendable (ItemID) -> String?
  let logger: Logger

  /// An updater for the stream under `keyPrefix` at `url`; `category` names an item's category for
  /// business counters; `metrics` receives counts and the freshness histogram.
  public init(url: String, keyPrefix: String = "funnel:", consumer: String = EventUpdaterService.defaultConsumerName(),
              retentionHours: Int = 144, limits: RedisFeatureStore.Limits = RedisFeatureStore.Limits(), metrics: ServingMetrics, category: @escaping @Sendable (ItemID) -> String?,
              logger: Logger) {
    self.url = url
    self.keyPrefix = keyPrefix
    var settings = RedisEventConsumer.Settings(consumer: consumer)
    settings.retentionMs = Int64(retentionHours) * 3_600_000
    self.settings = settings
    self.limits = limits
    self.metrics = metrics
    self.category = category
    self.logger = logger
  }

  /// `HOST-PID`: unique per process, stable for the process's life.
  public static func defaultConsumerName() -> String {
    "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
  }

  /// How often the group's backlog (pending entries, lag) is read for the metrics.
  static let backlogInterval = Duration.seconds(5)

  public func run() async throws {
    let pool = NIOThreadPool(numberOfThreads: 1)
    pool.start()
    defer { pool.shutdownGracefully { _ in } }
    let client = try RedisClient(url: url, timeoutMs: settings.blockMs + 1_000, connections: 1, threadPool: pool)
    let store = RedisFeatureStore(client: client, keyPrefix: keyPrefix, limits: limits)
    let (metrics, category, logger) = (self.metrics, self.category, self.logger)
    var failures = 0
    var joined: RedisEventConsumer?
    var backlogRead = ContinuousClock.now - Self.backlogInterval
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      do {
        // (Re)joined after a failure: the shard count is read again, in case it changed meanwhile.
        let consumer: RedisEventConsumer
        if let joined {
          consumer = joined
        } else {
          let stream = try await RedisEventStream.discover(client: client, store: store)
          consumer = RedisEventConsumer(client: client, stream: stream, settings: settings)
          try await consumer.joinGroup()
          joined = consumer
          logger.info("event updater consuming", metadata: ["streams": "\(stream.streamKeys.joined(separator: ","))",
                                                            "group": "\(settings.group)", "consumer": "\(settings.consumer)"])
        }
        let step = try await consumer.step(nowMs: ServingEngine.wallClockMs()) { events in
          let outcome = try await store.apply(events, category: category)
          let now = ServingEngine.wallClockMs()
          for e in events { metrics.freshness.record(.milliseconds(max(0, now - e.acceptedMs))) }
          return outcome
        }
        metrics.updaterApplied.add(step.applied.applied)
        metrics.updaterDuplicate.add(step.applied.duplicates)
        metrics.updaterDropped.add(step.applied.dropped)
        metrics.updaterMalformed.add(step.malformed)
        metrics.updaterClaimed.add(step.claimed)
        if ContinuousClock.now - backlogRead >= Self.backlogInterval {
          backlogRead = ContinuousClock.now
          let backlog = try await consumer.backlog()
          metrics.updaterPending.set(Int64(backlog.pending))
          metrics.updaterLag.set(Int64(backlog.lag ?? 0))
        }
        if failures > 0 { logger.info("event updater recovered", metadata: ["failed_rounds": "\(failures)"]) }
        failures = 0
      } catch {
        metrics.updaterErrors.increment()
        joined = nil
        if failures == 0 { logger.warning("event updater: round failed; retrying", metadata: ["error": "\(error)"]) }
        failures += 1
        try? await Task.sleep(for: .milliseconds(min(2_000, 50 << min(failures, 6))))
      }
    }
  }
}

/// Moves exposures from the engine's buffer to the exposure log every `interval`, off the request
/// path; flushes once more on shutdown.
public struct ExposureWriter: Service {
  let engine: ServingEngine
  let interval: Duration
  let logger: Logger

  /// A writer for `engine`'s exposures.
  public init(engine: ServingEngine, interval: Duration = .milliseconds(100), logger: Logger) {
    self.engine = engine
    self.interval = interval
    self.logger = logger
  }

  public func run() async throws {
    var failing = false
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      try? await Task.sleep(for: interval)
      do {
        try await engine.flushExposures()
        failing = false
      } catch {
        if !failing { logger.warning("exposure log write failed; exposures dropped and counted", metadata: ["error": "\(error)"]) }
        failing = true
      }
    }
    _ = try? await engine.flushExposures()
  }
}
