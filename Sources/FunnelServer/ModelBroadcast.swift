import Foundation
import Logging
import RedisStore
import ServiceLifecycle
import Serving
import Synchronization

/// Model versions across replicas through Redis pub/sub: when this replica starts serving a new
/// model version (registry poll or `Admin.Reload`), it publishes `NAME/VERSION` on the channel; when
/// another replica's message names a version it does not serve, it reloads from the shared registry
/// at once instead of waiting for its next poll. A lifecycle `Service`: the subscriber runs on a
/// thread of its own (it blocks in hiredis; `RedisSubscriber.messages`).
public struct ModelBroadcast: Service {
  /// The default channel.
  public static let defaultChannel = "funnel:models"
  let channel: String
  let engine: ServingEngine
  let publisher: RedisClient
  let subscriber: RedisSubscriber
  let logger: Logger
  let checkEvery: Duration
  let republishEvery: Duration

  /// Broadcasts for `engine` over the Redis at `url`.
  public init(engine: ServingEngine, url: String, logger: Logger, channel: String = ModelBroadcast.defaultChannel,
              checkEvery: Duration = .milliseconds(200), republishEvery: Duration = .seconds(2)) throws {
    self.engine = engine
    self.channel = channel
    self.publisher = try RedisClient(url: url, timeoutMs: 200, connections: 1)
    self.subscriber = try RedisSubscriber(url: url, channel: channel, pollMs: 500)
    self.logger = logger
    self.checkEvery = checkEvery
    self.republishEvery = republishEvery
  }

  final class Flags: Sendable {
    let stopped = Atomic<Bool>(false)
    /// The version a received message made us load (not announced again).
    let received = Mutex<String?>(nil)
  }

  public func run() async throws {
    let flags = Flags()
    let (messages, stopReceiving) = subscriber.messages(threadName: "funnel-model-broadcast")
    await withGracefulShutdownHandler {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await self.follow(messages, flags) }
        group.addTask { await self.announce(flags) }
        await group.waitForAll()
      }
    } onGracefulShutdown: {
      flags.stopped.store(true, ordering: .relaxed)
      stopReceiving()
    }
  }

  /// Reloads when another replica announces a version this one does not serve.
  private func follow(_ messages: AsyncStream<String>, _ flags: Flags) async {
    for await version in messages where version != engine.ranker.model.version {
      flags.received.withLock { $0 = version }
      do {
        let (previous, current) = try await engine.reloadModel()
        logger.info("model reloaded on a broadcast", metadata: ["announced": "\(version)", "previous": "\(previous)",
                                                                 "current": "\(current)"])
      } catch {
        logger.warning("model broadcast: reload failed", metadata: ["announced": "\(version)", "error": "\(error)"])
      }
    }
  }

  /// Publishes this replica's model version when it changes (except to one a message asked for), and
  /// again every `republishEvery`: the subscriber re-subscribes after each idle poll, and a message
  /// published in that gap would otherwise be lost until the next registry poll.
  private func announce(_ flags: Flags) async {
    let clock = ContinuousClock()
    var last = engine.ranker.model.version
    var lastPublished = clock.now
    while !flags.stopped.load(ordering: .relaxed) {
      try? await Task.sleep(for: checkEvery)
      let current = engine.ranker.model.version
      let changed = current != last
      last = current
      if changed, flags.received.withLock({ $0 }) == current { continue }
      guard changed || clock.now - lastPublished >= republishEvery else { continue }
      lastPublished = clock.now
      _ = try? await publisher.command(["PUBLISH", channel, current])
      if changed { logger.info("model version announced", metadata: ["version": "\(current)"]) }
    }
  }
}
