import NIOPosix
import Synchronization

/// One Redis server's connections: a small pool of hiredis connections whose blocking calls run on
/// a `NIOThreadPool`, never on Swift's cooperative pool: by default one of the pool's own, a thread
/// per connection, so a slow store sharing a pool (a MongoDB read, a snapshot load) never queues
/// Redis calls behind it (a bulkhead). Which connection a call uses, when it waits
/// and when it fails fast is decided by `RedisPoolStateMachine` under one lock: a free open
/// connection first, else a new one (opened lazily), else the call waits for the next release; a
/// broken connection is closed and re-opened by a later call, and after a failed connect the pool
/// backs off (50 ms doubling to 1 s) and fails calls needing a connection at once meanwhile, so a
/// dead Redis costs each call microseconds, not a connect timeout. `RedisClient` holds one per
/// server it talks to (one, or one per cluster primary).
///
/// Thread-safe.
final class RedisNodePool: Sendable {
  /// The server this pool talks to.
  let endpoint: RedisEndpoint
  private let timeoutMs: Int
  private let threadPool: NIOThreadPool
  /// Whether `threadPool` was started by this client (and is shut down with it).
  private let ownsThreadPool: Bool
  private let slots: [ConnectionSlot]
  private let now: @Sendable () -> Int64
  private let pool: Mutex<PoolState>
  private let counters: RedisClientCounters

  private struct PoolState {
    var machine: RedisPoolStateMachine
    var waiters: [UInt64: CheckedContinuation<(Int, Bool), any Error>] = [:]
  }

  /// A pool for `endpoint` with up to `connections` connections, each opened on demand.
  /// `threadPool`: where the blocking calls run; nil starts one of the pool's own with a thread per
  /// connection, shut down when the pool goes. `now` is a monotonic clock in ms (for the back-off).
  init(endpoint: RedisEndpoint, timeoutMs: Int, connections: Int, threadPool: NIOThreadPool?,
       now: @escaping @Sendable () -> Int64, counters: RedisClientCounters = RedisClientCounters()) {
    self.counters = counters
    self.endpoint = endpoint
    self.timeoutMs = timeoutMs
    if let threadPool {
      self.threadPool = threadPool
      self.ownsThreadPool = false
    } else {
      self.threadPool = NIOThreadPool(numberOfThreads: max(1, connections))
      self.threadPool.start()
      self.ownsThreadPool = true
    }
    self.slots = (0..<max(1, connections)).map { _ in ConnectionSlot() }
    self.now = now
    self.pool = Mutex(PoolState(machine: RedisPoolStateMachine(capacity: max(1, connections))))
  }

  deinit {
    if ownsThreadPool { threadPool.shutdownGracefully { _ in } }
  }

  /// Sends one command, e.g. `["PING"]`; returns the reply (Redis error replies come back as `.error`).
  func command(_ arguments: [String]) async throws -> RedisReply {
    try await pipeline([arguments])[0]
  }

  /// Sends several commands in one round trip and returns their replies in order.
  func pipeline(_ commands: [[String]]) async throws -> [RedisReply] {
    try await pipeline(bytes: commands.map { $0.map { Array($0.utf8) } })
  }

  /// `pipeline` with binary-safe arguments (e.g. serialised bitmaps).
  func pipeline(bytes commands: [[[UInt8]]]) async throws -> [RedisReply] {
    precondition(!commands.isEmpty, "a pipeline needs at least one command")
    return try await withConnection { try $0.pipeline(commands) }
  }

  /// `MGET` of keys packed end to end in `packedKeys` (`ends[i]` is where key `i` ends; at least
  /// one), each value decoded by `decode` on the connection's thread while hiredis holds it (nil:
  /// no such key): no `String`, argument buffer or reply value per key. Throws on I/O errors and
  /// on an error reply.
  func mget<T: Sendable>(packedKeys: [UInt8], ends: [Int],
                                decode: @escaping @Sendable (UnsafeRawBufferPointer?) -> T) async throws -> [T] {
    try await withConnection { try $0.mget(packedKeys: packedKeys, ends: ends, decode: decode) }
  }

  /// Runs `body` with a leased connection on the client's thread pool, connecting first when the
  /// pool says so; a failure marks the connection for reconnecting.
  func withConnection<R: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> R) async throws -> R {
    let (index, connect) = try await lease()
    counters.roundTrips.add(1, ordering: .relaxed)
    let slot = slots[index]
    let endpoint = self.endpoint, timeoutMs = self.timeoutMs
    do {
      let result = try await threadPool.runIfActive {
        try slot.connection.withLock { connection -> R in
          if connect || connection == nil {
            connection = nil
            do {
              connection = try RedisConnection(endpoint: endpoint, timeoutMs: timeoutMs)
            } catch {
              throw ConnectFailure(error: error)
            }
          }
          do {
            return try body(connection!)
          } catch {
            connection = nil  // the stream is in an unknown state: reconnect next time
            throw error
          }
        }
      }
      release(index, .ok)
      return result
    } catch let failure as ConnectFailure {
      release(index, .connectFailed)
      throw failure.error
    } catch {
      release(index, .broken)
      throw error
    }
  }

  private struct ConnectFailure: Error { let error: any Error }

  private func lease() async throws -> (Int, Bool) {
    try await withCheckedThrowingContinuation { continuation in
      let decision = pool.withLock { state -> RedisPoolStateMachine.Lease in
        let lease = state.machine.lease(nowMs: now())
        if case .wait(let id) = lease { state.waiters[id] = continuation }
        return lease
      }
      switch decision {
      case .use(let index, let connect): continuation.resume(returning: (index, connect))
      case .wait: break  // resumed by a release
      case .fail(let retryInMs, let failures): continuation.resume(throwing: backingOff(retryInMs, failures))
      }
    }
  }

  private func release(_ index: Int, _ outcome: RedisPoolStateMachine.Outcome) {
    let (handoff, waiter) = pool.withLock { state -> (RedisPoolStateMachine.Handoff, CheckedContinuation<(Int, Bool), any Error>?) in
      let handoff = state.machine.release(index, outcome, nowMs: now())
      switch handoff {
      case .none: return (handoff, nil)
      case .resume(let id, _, _), .fail(let id, _, _): return (handoff, state.waiters.removeValue(forKey: id))
      }
    }
    switch handoff {
    case .none: break
    case .resume(_, let index, let connect): waiter?.resume(returning: (index, connect))
    case .fail(_, let retryInMs, let failures): waiter?.resume(throwing: backingOff(retryInMs, failures))
    }
  }

  private func backingOff(_ retryInMs: Int64, _ failures: Int) -> RedisError {
    RedisError("redis \(endpoint.host):\(endpoint.port): not reconnecting for \(retryInMs) ms after \(failures) failed connect(s)")
  }
}

/// One connection of a client, opened on demand; nil after a failure until the next call.
final class ConnectionSlot: Sendable {
  let connection = Mutex<RedisConnection?>(nil)
}
