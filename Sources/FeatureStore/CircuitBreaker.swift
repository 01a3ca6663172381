import FunnelCore
import Synchronization

/// Stops calling a store that keeps failing: after `failureThreshold` consecutive failures the
/// circuit opens and calls fail at once for `openMs`; then one trial call is let through (half-open):
/// success closes the circuit, failure opens it again. A pure state machine over an injected clock.
///
/// Thread-safe.
public final class CircuitBreaker: Sendable {
  /// Where the circuit is.
  public enum State: Hashable, Sendable {
    case closed(failures: Int)
    case open(untilMs: Int64)
    case halfOpen
  }

  /// Names the store in errors and status.
  public let name: String
  private let failureThreshold: Int
  private let openMs: Int64
  private let now: @Sendable () -> Int64
  private let state = Mutex<(state: State, rejected: Int, opened: Int)>((.closed(failures: 0), 0, 0))

  /// A breaker for the store `name`.
  public init(name: String, failureThreshold: Int = 5, openMs: Int64 = 2_000, now: @escaping @Sendable () -> Int64) {
    self.name = name
    self.failureThreshold = max(1, failureThreshold)
    self.openMs = openMs
    self.now = now
  }

  /// The current state.
  public var current: State { state.withLock { $0.state } }

  /// `closed`, `open` or `half_open`, as status pages and readiness show it.
  public var stateName: String {
    switch current {
    case .closed: "closed"
    case .open: "open"
    case .halfOpen: "half_open"
    }
  }
  /// Calls refused while open, and times the circuit opened, since start.
  public var counts: (rejected: Int, opened: Int) { state.withLock { ($0.rejected, $0.opened) } }

  /// Runs `call` unless the circuit is open (then throws `unavailable` at once).
  public func run<T: Sendable>(_ call: () async throws -> T) async throws -> T {
    let nowMs = now()
    let allowed = state.withLock { s -> Bool in
      switch s.state {
      case .closed: return true
      case .halfOpen:
        s.rejected += 1
        return false  // one trial at a time
      case .open(let until):
        if nowMs >= until {
          s.state = .halfOpen
          return true
        }
        s.rejected += 1
        return false
      }
    }
    guard allowed else { throw FunnelError(.unavailable, "\(name): circuit open after repeated failures; retrying shortly") }
    do {
      let value = try await call()
      state.withLock { $0.state = .closed(failures: 0) }
      return value
    } catch {
      state.withLock { s in
        switch s.state {
        case .closed(let failures) where failures + 1 < failureThreshold:
          s.state = .closed(failures: failures + 1)
        default:
          s.state = .open(untilMs: nowMs + openMs)
          s.opened += 1
        }
      }
      throw error
    }
  }
}

/// What a shared real-time store (Redis) is to the server: profiles read and written, item counts,
/// and the aggregates of anonymous events.
public typealias RealtimeStore = UserActivitySource & EventSink & ItemActivitySource & AnonymousEventCounter

/// A real-time store behind a circuit breaker: reads, event appends and item counts fail fast while
/// the store is known to be down. Thread-safe.
public struct GuardedRealtimeStore: RealtimeStore {
  public let store: any RealtimeStore
  public let breaker: CircuitBreaker

  /// Guards `store` with `breaker`.
  public init(_ store: any RealtimeStore, breaker: CircuitBreaker) {
    self.store = store
    self.breaker = breaker
  }

  public func recentActivity(of user: UserID, limit: Int) async throws -> [RecentInteraction] {
    try await breaker.run { try await store.recentActivity(of: user, limit: limit) }
  }

  public func append(_ events: [BehaviourEvent]) async throws -> EventAppendResult {
    try await breaker.run { try await store.append(events) }
  }

  public func forget(user: UserID) async throws -> Int {
    try await breaker.run { try await store.forget(user: user) }
  }

  public func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
    try await breaker.run { try await store.itemActivity(items) }
  }

  public func countAnonymously(_ events: [BehaviourEvent], category: @Sendable (ItemID) -> String?) async throws -> Int {
    try await breaker.run { try await store.countAnonymously(events, category: category) }
  }

  public func itemActivity(of docs: [DocID], generation: String,
                           appendID: (DocID, inout [UInt8]) -> Void) async throws -> [ItemActivity?] {
    try await breaker.run { try await store.itemActivity(of: docs, generation: generation, appendID: appendID) }
  }
}

/// An offline feature source behind a circuit breaker. Thread-safe.
public struct GuardedOfflineSource: OfflineFeatureSource {
  public let source: any OfflineFeatureSource
  public let breaker: CircuitBreaker

  /// Guards `source` with `breaker`.
  public init(_ source: any OfflineFeatureSource, breaker: CircuitBreaker) {
    self.source = source
    self.breaker = breaker
  }

  public func loadItemFeatures() async throws -> ItemFeatureTable {
    try await breaker.run { try await source.loadItemFeatures() }
  }

  public func userFeatures(_ users: [UserID]) async throws -> [UserID: [String: Float]] {
    try await breaker.run { try await source.userFeatures(users) }
  }

  public func forgetUser(_ user: UserID) async throws -> Int {
    try await breaker.run { try await source.forgetUser(user) }
  }
}
