import Synchronization

/// Remembers which (order id, state) pairs were accepted, so the order feed is idempotent: an order
/// system or a CDC connector may deliver a change twice, and it counts once. Thread-safe.
public protocol OrderLedger: Sendable {
  /// For each key (`OrderEvent.ledgerKey`), whether it is new (and is now remembered). Throws a
  /// `StoreFailure` when the store is down (then the caller retries the whole call).
  func admit(_ keys: [String]) async throws -> [Bool]
}

/// The ledger in process memory: two generations of at most `capacity / 2` keys each, so memory is
/// bounded and a key is remembered for at least the last `capacity / 2` keys admitted.
public final class MemoryOrderLedger: OrderLedger {
  private struct State {
    var current: Set<String> = []
    var previous: Set<String> = []
  }
  private let state = Mutex(State())
  public let capacity: Int

  /// A ledger of about `capacity` keys.
  public init(capacity: Int = 2_000_000) { self.capacity = max(2, capacity) }

  public func admit(_ keys: [String]) async throws -> [Bool] {
    state.withLock { s in
      keys.map { key in
        guard !s.current.contains(key), !s.previous.contains(key) else { return false }
        s.current.insert(key)
        if s.current.count >= capacity / 2 {
          s.previous = s.current
          s.current = []
        }
        return true
      }
    }
  }
}

/// Where the answers' origins are shared between replicas, so an event reaching one replica counts
/// for the answer another gave (Redis: `RedisAnswerDirectory`). Thread-safe.
public protocol AnswerDirectory: Sendable {
  /// Publishes answers' origins by request id; they are kept for `ttlSeconds`.
  func publish(_ answers: [(requestID: String, origin: AnswerOrigin)], ttlSeconds: Int) async throws
  /// The origins of the request ids it knows.
  func lookup(_ requestIDs: [String]) async throws -> [String: AnswerOrigin]
}
