import Distribution
import Foundation
import NIOPosix
import Logging
import FunnelCore
import Prometheus
import RedisStore
import ServiceLifecycle
import Serving
import Synchronization

/// Keeps a replica on the generation the fleet was told to serve. `funnel index publish` copies a
/// generation to the shared location and announces its name in Redis (`PREFIX index:announced`, and
/// a message on channel `PREFIX index`); each replica's follower notices (the message at once, or
/// its poll every `pollEvery` for a message missed), fetches the generation into its local index
/// directory, verifies every file against the manifest, pins it (`CURRENT`) and swaps it in. A
/// generation that cannot be fetched, verified or loaded is not retried until another is
/// announced: the replica keeps serving what it has and says so (readiness check
/// `index.distribution`, metric `funnel_index_distribution_failures_total`, gauge
/// `funnel_index_behind_announced`). Each replica reports what it serves in the hash
/// `PREFIX index:served` (replica → version and report time). A lifecycle `Service`; the subscriber blocks a thread
/// of its own.
public struct GenerationFollower: Service {
  /// What the follower last saw, for readiness and status.
  public final class Status: Sendable {
    struct State { var announced: String?; var failure: String? }
    private let state = Mutex(State())

    public init() {}

    /// The generation announced to the fleet, if any.
    public var announced: String? { state.withLock { $0.announced } }
    /// Why the announced generation is not served, if it failed.
    public var failure: String? { state.withLock { $0.failure } }

    func saw(_ announced: String?) { state.withLock { $0.announced = announced } }
    func failed(_ message: String?) { state.withLock { $0.failure = message } }

    /// Readiness facts: what was announced and whether it is served.
    public func checks(serving: String) -> [(name: String, value: String)] {
      let (announced, failure) = state.withLock { ($0.announced, $0.failure) }
      guard let announced else { return [] }
      let distribution = failure.map { "failed: \($0)" } ?? (announced == serving ? "ok" : "fetching")
      return [("index.announced", announced), ("index.distribution", distribution)]
    }
  }

  let engine: ServingEngine
  let redis: RedisClient
  let subscriber: RedisSubscriber
  let keyPrefix: String
  let location: GenerationLocation
  let source: IndexDirectorySource
  let fetcher: GenerationFetcher
  let replica: String
  let status: Status
  let pollEvery: Duration
  let keep: Int
  let logger: Logger
  let failures: Counter
  let behind: Gauge

  /// A follower for `engine`, fetching from `location` into `source`'s directory, told by the
  /// Redis at `url` (`redis` is its client); keeps the newest `keep` generations on disk.
  public init(engine: ServingEngine, redis: RedisClient, url: String, keyPrefix: String = "funnel:",
              location: GenerationLocation, source: IndexDirectorySource, replica: String, status: Status,
              pollEvery: Duration = .seconds(2), keep: Int = 3, logger: Logger) throws {
    self.engine = engine
    self.redis = redis
    self.subscriber = try RedisSubscriber(url: url, channel: keyPrefix + "index", pollMs: 500)
    self.keyPrefix = keyPrefix
    self.location = location
    self.source = source
    self.fetcher = GenerationFetcher()
    self.replica = replica
    self.status = status
    self.pollEvery = pollEvery
    self.keep = max(1, keep)
    self.logger = logger
    let registry = engine.metrics.registry
    failures = registry.makeCounter(descriptor: .init(namespace: "funnel", metricName: "index_distribution_failures",
                                                      unitName: "total",
                                                      helpText: "Announced generations this replica could not fetch, verify or load."))
    behind = registry.makeGauge(descriptor: .init(namespace: "funnel", metricName: "index_behind_announced", unitName: "",
                                                  helpText: "1 while this replica does not serve the announced generation."))
  }

  /// Announces `version` to the fleet through `redis` (after publishing it to the shared location).
  public static func announce(_ version: String, redis: RedisClient, keyPrefix: String = "funnel:") async throws {
    let replies = try await redis.pipeline([["SET", keyPrefix + "index:announced", version],
                                            ["PUBLISH", keyPrefix + "index", version]])
    if case .error(let message) = replies[0] { throw RedisError("announcing \(version): \(message)") }
  }

  /// The generation announced to the fleet, nil when none was.
  public static func announced(redis: RedisClient, keyPrefix: String = "funnel:") async throws -> String? {
    try await redis.command(["GET", keyPrefix + "index:announced"]).string
  }

  /// What each live replica reported serving (replica → version): reports older than `withinMs`
  /// of `nowMs` (Unix ms) are left out and removed (replicas that went away).
  public static func served(redis: RedisClient, keyPrefix: String = "funnel:", nowMs: Int64,
                            withinMs: Int64 = 30_000) async throws -> [String: String] {
    let key = keyPrefix + "index:served"
    let fields = try await redis.command(["HGETALL", key]).array ?? []
    var out: [String: String] = [:]
    var stale: [String] = []
    for i in stride(from: 0, to: fields.count - 1, by: 2) {
      guard let name = fields[i].string, let value = fields[i + 1].string else { continue }
      let parts = value.split(separator: " ")
      if parts.count == 2, let ms = Int64(parts[1]), nowMs - ms <= withinMs { out[name] = String(parts[0]) } else { stale.append(name) }
    }
    if !stale.isEmpty { _ = try? await redis.command(["HDEL", key] + stale) }
    return out
  }

  /// The last announced version that failed (not retried until another is announced).
  final class Failed: Sendable { let version = Mutex<String?>(nil) }

  public func run() async throws {
    let failed = Failed()
    await AnnouncementLoop.run(subscriber, threadName: "funnel-generation-follower", pollEvery: pollEvery) {
      let before = failed.version.withLock { $0 }
      let after = await self.step(failed: before)
      failed.version.withLock { $0 = after }
    }
  }

  /// One look: follows the announcement unless it already failed; reports what is served. Returns
  /// the announced version that failed, if any.
  func step(failed: String?) async -> String? {
    var failed = failed
    guard let announced = try? await Self.announced(redis: redis, keyPrefix: keyPrefix) else {
      await report()
      return failed
    }
    status.saw(announced)
    if announced == engine.generation.version {
      // Announcing the served version again (a rollback to it) ends an earlier refusal.
      failed = nil
      status.failed(nil)
    } else if announced != failed {
      do {
        try await follow(announced)
        failed = nil
        status.failed(nil)
      } catch {
        failed = announced
        status.failed("\(announced): \(error)")
        failures.increment()
        logger.error("announced generation refused; the current one keeps serving",
                     metadata: ["announced": "\(announced)", "serving": "\(engine.generation.version)", "error": "\(error)"])
      }
    }
    await report()
    return failed
  }

  private func follow(_ version: String) async throws {
    let clock = ContinuousClock()
    let start = clock.now
    _ = try await fetcher.fetch(version: version, from: location, into: source.root)
    let source = self.source
    // File system calls (the pin's read, write and rename; pruning whole generations) block: NIO's pool.
    let previousPin = try await NIOThreadPool.singleton.runIfActive { () -> String? in
      let previous = source.wantedVersion()
      try source.pin(version)
      return previous
    }
    do {
      let (previous, current) = try await engine.reload()
      guard current == version else {
        throw FunnelError(.failedPrecondition, "loaded \(current) instead of \(version)")
      }
      logger.info("index generation followed", metadata: ["previous": "\(previous)", "current": "\(current)",
                                                          "took": "\(clock.now - start)"])
    } catch {
      _ = try? await NIOThreadPool.singleton.runIfActive { try source.pin(previousPin) }
      throw error
    }
    let (serving, keep) = (engine.generation.version, self.keep)
    _ = try? await NIOThreadPool.singleton.runIfActive {
      try GenerationFetcher.prune(source.root, keep: keep, protected: [serving, version])
    }
  }

  /// Sets the gauge and tells Redis what this replica serves.
  private func report() async {
    let serving = engine.generation.version
    behind.set(Int64(status.announced.map { $0 != serving ? 1 : 0 } ?? 0))
    _ = try? await redis.command(["HSET", keyPrefix + "index:served", replica, serving + " " + String(ServingEngine.wallClockMs())])
  }
}
