import Experiments
import FunnelCore
import Logging
import NIOPosix
import Prometheus
import Ranking
import RedisStore
import ServiceLifecycle
import Serving

/// Applies the fleet's model canary (`Canary`, JSON at `Canary.redisKey`) on this replica: polls the
/// key every `pollEvery`; a new trial loads its candidate model (on NIO's blocking pool) and puts
/// the trial's users on it; a removed key (promoted or rolled back) ends it. A candidate that cannot
/// be loaded leaves this replica without the trial (its users get the serving model, and the
/// judge, counting only lists the candidate ranked, is not misled) and is logged and counted
/// (`funnel_canary_load_failures_total`); gauge `funnel_canary_share` is the applied share.
/// A lifecycle `Service`.
public struct CanaryFollower: Service {
  let engine: ServingEngine
  let redis: RedisClient
  let pollEvery: Duration
  let logger: Logger
  let share: Gauge
  let failures: Counter

  /// A follower of the canary in `redis`.
  public init(engine: ServingEngine, redis: RedisClient, pollEvery: Duration = .seconds(1), logger: Logger) {
    self.engine = engine
    self.redis = redis
    self.pollEvery = pollEvery
    self.logger = logger
    let registry = engine.metrics.registry
    share = registry.makeGauge(descriptor: .init(namespace: "funnel", metricName: "canary_share", unitName: "",
                                                 helpText: "Share of users this replica ranks with the canary model (0: no trial)."))
    failures = registry.makeCounter(descriptor: .init(namespace: "funnel", metricName: "canary_load_failures", unitName: "total",
                                                      helpText: "Canary documents or models this replica could not load."))
  }

  public func run() async throws {
    var failed: String?
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      failed = await step(failedDocument: failed)
      try? await Task.sleep(for: pollEvery)
    }
  }

  /// One look at the key; returns the document that failed to load (not retried until it changes).
  func step(failedDocument: String?) async -> String? {
    let document: String?
    do {
      document = try await redis.command(["GET", Canary.redisKey]).string
    } catch {
      logger.warning("canary: Redis unreachable; the current trial stays", metadata: ["error": "\(error)"])
      return failedDocument
    }
    guard let document else {
      if let ended = engine.canary {
        engine.setCanary(nil, model: nil)
        share.set(0.0)
        logger.info("canary ended", metadata: ["model": "\(ended.model)"])
      }
      return nil
    }
    guard document != failedDocument else { return failedDocument }
    do {
      let canary = try Canary(json: document)
      guard canary != engine.canary else { return nil }
      let model = try await NIOThreadPool.singleton.runIfActive { try ModelFile.load(path: canary.path, version: canary.model) }
      engine.setCanary(canary, model: model)
      share.set(canary.share)
      logger.info("canary started", metadata: ["model": "\(canary.model)", "share": "\(canary.share)", "control": "\(canary.control)"])
      return nil
    } catch {
      engine.setCanary(nil, model: nil)
      share.set(0.0)
      failures.increment()
      logger.error("canary: cannot apply the trial; serving without it", metadata: ["error": "\(error)"])
      return document
    }
  }
}
