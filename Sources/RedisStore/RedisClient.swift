import NIOPosix
import Synchronization

/// An async Redis client over a few hiredis connections. Blocking hiredis calls run on a
/// `NIOThreadPool`, never on Swift's cooperative pool; calls take the connections in turn (each
/// serialises its own calls), and a broken connection is re-opened on its next call. (Back-off and a
/// pool state machine come with the stores issue.)
///
/// Thread-safe.
public final class RedisClient: Sendable {
  /// The server this client talks to.
  public let endpoint: RedisEndpoint
  private let timeoutMs: Int
  private let threadPool: NIOThreadPool
  private let slots: [ConnectionSlot]
  private let next = Atomic<Int>(0)

  /// A client for `url` (`redis://host:port/db`) with up to `connections` connections, each opened
  /// lazily on its first command.
  public init(url: String, timeoutMs: Int = 1_000, connections: Int = 4, threadPool: NIOThreadPool = .singleton) throws {
    self.endpoint = try RedisEndpoint(url: url)
    self.timeoutMs = timeoutMs
    self.threadPool = threadPool
    self.slots = (0..<max(1, connections)).map { _ in ConnectionSlot() }
  }

  /// Sends one command, e.g. `["PING"]`; returns the reply (Redis error replies come back as `.error`).
  public func command(_ arguments: [String]) async throws -> RedisReply {
    try await pipeline([arguments])[0]
  }

  /// Sends several commands in one round trip and returns their replies in order.
  public func pipeline(_ commands: [[String]]) async throws -> [RedisReply] {
    try await pipeline(bytes: commands.map { $0.map { Array($0.utf8) } })
  }

  /// `pipeline` with binary-safe arguments (e.g. serialised bitmaps).
  public func pipeline(bytes commands: [[[UInt8]]]) async throws -> [RedisReply] {
    precondition(!commands.isEmpty, "a pipeline needs at least one command")
    let endpoint = self.endpoint, timeoutMs = self.timeoutMs
    let turn = UInt(bitPattern: next.wrappingAdd(1, ordering: .relaxed).oldValue)
    let slot = slots[Int(turn % UInt(slots.count))]
    return try await threadPool.runIfActive {
      try slot.connection.withLock { slot in
        let conn = try slot ?? RedisConnection(endpoint: endpoint, timeoutMs: timeoutMs)
        do {
          let replies = try conn.pipeline(commands)
          slot = conn
          return replies
        } catch {
          slot = nil  // the stream is in an unknown state: reconnect next time
          throw error
        }
      }
    }
  }
}

/// One connection of a client, opened on demand; nil after a failure until the next call.
final class ConnectionSlot: Sendable {
  let connection = Mutex<RedisConnection?>(nil)
}
