import Foundation
import Synchronization

/// Receives the messages published on one Redis channel (SUBSCRIBE) over a connection of its own:
/// to the server, to a cluster's seed nodes in turn (a cluster delivers a message published on any
/// node to subscribers on every node), or to the primary the Sentinels name.
/// `next` blocks its thread for up to `pollMs`: run it on a dedicated thread, never on the
/// cooperative pool or NIO's pool. After a timeout or an error the connection is dropped and the next
/// call subscribes again (a message published in that gap is missed: subscribers must also poll).
///
/// Thread-safe (calls are serialised), but meant for one thread.
public final class RedisSubscriber: Sendable {
  public let deployment: RedisDeployment
  public let channel: String
  private let pollMs: Int
  private let connection = Mutex<RedisConnection?>(nil)
  private let attempts = Mutex(0)

  /// A subscriber to `channel` on the deployment of `url` (see `RedisDeployment`).
  public init(url: String, channel: String, pollMs: Int = 1_000) throws {
    self.deployment = try RedisDeployment(url: url)
    self.channel = channel
    self.pollMs = pollMs
  }

  /// The messages as an async stream, received by `next` on a thread of its own (named
  /// `threadName`) until `stop` is called; the stream then finishes within `pollMs`. At most the
  /// newest 64 unread messages are kept.
  public func messages(threadName: String) -> (stream: AsyncStream<String>, stop: @Sendable () -> Void) {
    let stopped = StopFlag()
    let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(64))
    let thread = Thread {
      while !stopped.value.load(ordering: .relaxed) {
        if let message = self.next() { continuation.yield(message) }
      }
      continuation.finish()
    }
    thread.name = threadName
    thread.start()
    return (stream, { stopped.value.store(true, ordering: .relaxed) })
  }

  private final class StopFlag: Sendable { let value = Atomic<Bool>(false) }

  /// Where the next subscription goes (blocking for a Sentinel's answer).
  private func nextEndpoint() throws -> RedisEndpoint {
    let attempt = attempts.withLock { n in defer { n &+= 1 }; return n }
    switch deployment {
    case .single(let endpoint): return endpoint
    case .cluster(let seeds): return seeds[attempt % seeds.count]
    case .sentinel(let sentinels, let primary, let template):
      let (host, port) = try RedisSentinelRouter.askBlocking(sentinels, name: primary, timeoutMs: pollMs)
      return template.at(host: host, port: port)
    }
  }

  /// The next message's payload, or nil when none came within the poll time (or Redis is down).
  public func next() -> String? {
    connection.withLock { slot in
      do {
        if slot == nil {
          let fresh = try RedisConnection(endpoint: try nextEndpoint(), timeoutMs: pollMs)
          _ = try fresh.command([Array("SUBSCRIBE".utf8), Array(channel.utf8)])
          slot = fresh
        }
        let reply = try slot!.readReply()
        if case .array(let parts) = reply, parts.count == 3, parts[0].string == "message" { return parts[2].string }
        return nil
      } catch {
        // A read timeout is the normal idle case; a refused connection would otherwise spin.
        if slot == nil { usleep(UInt32(pollMs) * 1_000) }
        slot = nil
        return nil
      }
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif
