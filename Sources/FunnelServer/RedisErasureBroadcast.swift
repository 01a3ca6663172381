import FunnelCore
import Logging
import NIOPosix
import RedisStore
import ServiceLifecycle
import Serving
import Synchronization

/// ForgetUser across the fleet over a shared Redis (`RedisErasureLog`): the replica that forgets a
/// user announces the user's digest (and tombstones it) and waits up to `ackWait` for the replicas
/// alive to confirm; every replica, as a lifecycle `Service`, follows the announcements, drops the
/// user from its caches (`ServingEngine.forgetCached(digest:)`) and acknowledges, and says every few
/// seconds that it is alive. Its blocking reads run on a thread pool of its own. Thread-safe.
final class RedisErasureBroadcast: ErasureBroadcast, Service {
  let announcer: RedisErasureLog
  let url: String
  /// This replica's name in acknowledgements (`HOST-PID`).
  let replica: String
  let logger: Logger
  let ackWait: Duration
  private let engine = Mutex<ServingEngine?>(nil)
  static let heartbeatEvery = Duration.seconds(5)
  static let aliveWithinMs: Int64 = 15_000

  init(url: String, logger: Logger, replica: String = EventUpdaterService.defaultConsumerName(), ackWait: Duration = .seconds(2)) throws {
    self.url = url
    self.announcer = RedisErasureLog(client: try RedisClient(url: url, timeoutMs: 1_000, connections: 1))
    self.replica = replica
    self.logger = logger
    self.ackWait = ackWait
  }

  /// The engine whose caches the announcements clear (set once it exists).
  func attach(_ engine: ServingEngine) { self.engine.withLock { $0 = engine } }

  func announce(digest: String) async throws -> [String] {
    let id = try await announcer.announce(digest: digest)
    let live = max(1, try await announcer.liveReplicas(nowMs: ServingEngine.wallClockMs(), withinMs: Self.aliveWithinMs))
    let deadline = ContinuousClock.now + ackWait
    var acknowledged = try await announcer.acknowledgements(of: id)
    while acknowledged.count < live, ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(20))
      acknowledged = try await announcer.acknowledgements(of: id)
    }
    if acknowledged.count < live {
      logger.warning("erasure: not every replica confirmed in time",
                     metadata: ["confirmed": "\(acknowledged.count)", "alive": "\(live)"])
    }
    return acknowledged
  }

  func run() async throws {
    let pool = NIOThreadPool(numberOfThreads: 1)
    pool.start()
    defer { pool.shutdownGracefully { _ in } }
    let follower = RedisErasureLog(client: try RedisClient(url: url, timeoutMs: 3_000, connections: 1, threadPool: pool))
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await self.beat() }
      group.addTask { try await self.follow(follower) }
    }
  }

  private func beat() async throws {
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      try? await announcer.heartbeat(replica: replica, nowMs: ServingEngine.wallClockMs())
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.heartbeatEvery) }
    }
  }

  private func follow(_ log: RedisErasureLog) async throws {
    var last: String?
    var failing = false
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      do {
        if last == nil { last = try await log.newestID() }
        for (id, digest) in try await log.read(after: last!, blockMs: 1_000) {
          engine.withLock { $0 }?.forgetCached(digest: digest)
          try await log.acknowledge(id, replica: replica)
          last = id
        }
        if failing { logger.info("erasure follower recovered") }
        failing = false
      } catch {
        if !failing { logger.warning("erasure follower: redis failed; retrying", metadata: ["error": "\(error)"]) }
        failing = true
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
      }
    }
  }
}
