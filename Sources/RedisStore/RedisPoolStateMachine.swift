/// The connection pool of `RedisClient` as a pure state machine (as in postgres-nio): it decides
/// which connection a call uses, whether it must connect first, when calls wait, and when they fail
/// fast; it does no I/O and reads no clock (times come in as Unix-ms arguments), so every decision
/// is unit-tested without a server.
///
/// Each of `capacity` slots is closed (no connection), idle (open, free) or leased (one call owns
/// it, open or about to connect). After a failed connect the endpoint backs off exponentially
/// (`baseBackoffMs` doubling up to `maxBackoffMs`; 1 s by default, so a returning Redis is used
/// again within a second): until then calls that would need a new connection fail at once instead
/// of each paying a connect timeout; a successful connect resets the back-off.
/// Calls finding every slot leased wait in FIFO order for the next release. Not thread-safe: the
/// client holds it under a lock.
struct RedisPoolStateMachine {
  enum Slot: Equatable { case closed, idle, leased }

  /// What a call should do next.
  enum Lease: Equatable {
    /// Use slot `index`; `connect`: open its connection first.
    case use(index: Int, connect: Bool)
    /// Every slot is leased: wait (as waiter `id`) for a release.
    case wait(id: UInt64)
    /// Fail now: the endpoint is backing off for `retryInMs` more after `failures` failed connects.
    case fail(retryInMs: Int64, failures: Int)
  }

  /// What a release hands on.
  enum Handoff: Equatable {
    /// Nobody waits: the slot went back to the pool.
    case none
    /// Waiter `id` gets slot `index`.
    case resume(id: UInt64, index: Int, connect: Bool)
    /// Waiter `id` fails (its slot would need a connect during back-off).
    case fail(id: UInt64, retryInMs: Int64, failures: Int)
  }

  private(set) var slots: [Slot]
  private var waiters: [UInt64] = []
  private var nextWaiter: UInt64 = 0
  private(set) var failures = 0
  private(set) var retryAtMs: Int64 = .min
  let baseBackoffMs: Int64
  let maxBackoffMs: Int64

  /// A pool of `capacity` closed slots.
  init(capacity: Int, baseBackoffMs: Int64 = 50, maxBackoffMs: Int64 = 1_000) {
    slots = Array(repeating: .closed, count: max(1, capacity))
    self.baseBackoffMs = baseBackoffMs
    self.maxBackoffMs = maxBackoffMs
  }

  /// A call wants a connection at `nowMs`. Prefers an idle (open) slot, then a closed one.
  mutating func lease(nowMs: Int64) -> Lease {
    if let i = slots.firstIndex(of: .idle) {
      slots[i] = .leased
      return .use(index: i, connect: false)
    }
    if let i = slots.firstIndex(of: .closed) {
      if nowMs < retryAtMs { return .fail(retryInMs: retryAtMs - nowMs, failures: failures) }
      slots[i] = .leased
      return .use(index: i, connect: true)
    }
    nextWaiter += 1
    waiters.append(nextWaiter)
    return .wait(id: nextWaiter)
  }

  /// How a leased slot's call ended.
  enum Outcome: Equatable {
    /// The connection worked (and, if it was opened for this call, the connect succeeded).
    case ok
    /// Opening the connection failed: back off.
    case connectFailed
    /// The connection broke during the call (I/O error, timeout): closed; the next call reconnects.
    case broken
  }

  /// Slot `index` is released at `nowMs` with `outcome`; returns who gets it.
  mutating func release(_ index: Int, _ outcome: Outcome, nowMs: Int64) -> Handoff {
    precondition(slots[index] == .leased, "releasing slot \(index), which is not leased")
    switch outcome {
    case .ok:
      failures = 0
      retryAtMs = .min
      slots[index] = .idle
    case .connectFailed:
      failures += 1
      retryAtMs = nowMs + min(maxBackoffMs, baseBackoffMs << min(failures - 1, 20))
      slots[index] = .closed
    case .broken:
      slots[index] = .closed
    }
    guard !waiters.isEmpty else { return .none }
    let id = waiters.removeFirst()
    if slots[index] == .idle {
      slots[index] = .leased
      return .resume(id: id, index: index, connect: false)
    }
    if nowMs < retryAtMs { return .fail(id: id, retryInMs: retryAtMs - nowMs, failures: failures) }
    slots[index] = .leased
    return .resume(id: id, index: index, connect: true)
  }

  /// Forgets waiter `id` (its call was cancelled); false if it was already handed a slot or failed.
  mutating func cancelWait(_ id: UInt64) -> Bool {
    guard let at = waiters.firstIndex(of: id) else { return false }
    waiters.remove(at: at)
    return true
  }

  /// Calls waiting now.
  var waiting: Int { waiters.count }
}
