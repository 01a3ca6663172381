import Synchronization

/// Receives the messages published on one Redis channel (SUBSCRIBE) over a connection of its own.
/// `next` blocks its thread for up to `pollMs`: run it on a dedicated thread, never on the
/// cooperative pool or NIO's pool. After a timeout or an error the connection is dropped and the next
/// call subscribes again (a message published in that gap is missed: subscribers must also poll).
///
/// Thread-safe (calls are serialised), but meant for one thread.
public final class RedisSubscriber: Sendable {
  public let endpoint: RedisEndpoint
  public let channel: String
  private let pollMs: Int
  private let connection = Mutex<RedisConnection?>(nil)

  /// A subscriber to `channel` on the server of `url`.
  public init(url: String, channel: String, pollMs: Int = 1_000) throws {
    self.endpoint = try RedisEndpoint(url: url)
    self.channel = channel
    self.pollMs = pollMs
  }

  /// The next message's payload, or nil when none came within the poll time (or Redis is down).
  public func next() -> String? {
    connection.withLock { slot in
      do {
        if slot == nil {
          let fresh = try RedisConnection(endpoint: endpoint, timeoutMs: pollMs)
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
