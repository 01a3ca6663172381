/// Admission control for the server's calls, as a pure state machine (no locks, no clocks, no I/O):
/// at most `Limits.running` admitted handlers run at once over the whole server, one connection
/// holds at most `Limits.runningPerConnection` of them, and calls beyond that wait in a queue per
/// connection, served round-robin across connections as slots free up. Queues are bounded per
/// connection and in total; a call over a bound is refused at once.
///
/// Why per-connection queues rather than one FIFO: a client with thousands of calls in flight must
/// not push a well-behaved client's call to the back of its backlog. With round-robin turns, a
/// connection's call waits for at most one call of each other connection with waiters.
///
/// `Waiter` is what the owner needs to start a call that was admitted later. `WireServerCore`
/// drives it under its mutex. Not thread-safe by itself.
struct WireAdmission<Connection: Hashable, Waiter> {
  /// The bounds.
  struct Limits: Hashable, Sendable {
    /// Admitted calls running at once, server-wide (at least 1).
    var running: Int
    /// Admitted calls one connection may run at once (at least 1), so others always find a slot.
    var runningPerConnection: Int
    /// Calls waiting, server-wide.
    var queued: Int
    /// Calls waiting on one connection.
    var queuedPerConnection: Int
  }

  /// What happens to a call asking for a slot.
  enum Decision: Equatable {
    /// Start it now; call `finished` when it ends.
    case run
    /// It waits; `finished` of another call returns it when its turn comes, unless `withdraw`n first.
    case wait
    /// Refused: the queues are full. The reason names the bound.
    case refuse(String)
  }

  let limits: Limits
  /// Admitted calls running now.
  private(set) var running = 0
  private var runningBy: [Connection: Int] = [:]
  private var queues: [Connection: [(ticket: UInt64, waiter: Waiter)]] = [:]
  /// Connections with waiters, in the order their turns come.
  private var turns: [Connection] = []
  /// Calls waiting now.
  private(set) var queued = 0

  /// An empty state machine; limits below 1 are raised to 1.
  init(limits: Limits) {
    var l = limits
    l.running = max(1, l.running)
    l.runningPerConnection = max(1, min(l.runningPerConnection, l.running))
    l.queued = max(0, l.queued)
    l.queuedPerConnection = max(0, l.queuedPerConnection)
    self.limits = l
  }

  /// A call of `connection` asks for a slot. O(1) amortised.
  mutating func request(_ connection: Connection, ticket: UInt64, waiter: Waiter) -> Decision {
    let mine = runningBy[connection, default: 0]
    if running < limits.running, mine < limits.runningPerConnection, queues[connection] == nil {
      running += 1
      runningBy[connection] = mine + 1
      return .run
    }
    let waiting = queues[connection]?.count ?? 0
    guard waiting < limits.queuedPerConnection else {
      return .refuse("\(waiting) calls of this connection already wait for a slot (limit \(limits.queuedPerConnection))")
    }
    guard queued < limits.queued else {
      return .refuse("\(queued) calls already wait for a slot on this server (limit \(limits.queued))")
    }
    if waiting == 0 { turns.append(connection) }
    queues[connection, default: []].append((ticket, waiter))
    queued += 1
    return .wait
  }

  /// An admitted call of `connection` ended; returns the waiters admitted in its place (each now
  /// counts as running, on its own connection). O(connections with waiters) at worst.
  mutating func finished(_ connection: Connection) -> [(Connection, Waiter)] {
    precondition(running > 0, "a call finished that was never admitted")
    running -= 1
    let mine = runningBy[connection, default: 1] - 1
    runningBy[connection] = mine > 0 ? mine : nil
    var admitted: [(Connection, Waiter)] = []
    var skipped = 0
    // Each connection in turn, skipping those at their own limit; stop when the slots or turns run out.
    while running < limits.running, skipped < turns.count {
      let next = turns.removeFirst()
      let theirs = runningBy[next, default: 0]
      guard theirs < limits.runningPerConnection, var queue = queues[next], !queue.isEmpty else {
        turns.append(next)
        skipped += 1
        continue
      }
      skipped = 0
      let (_, waiter) = queue.removeFirst()
      queued -= 1
      running += 1
      runningBy[next] = theirs + 1
      admitted.append((next, waiter))
      if queue.isEmpty { queues[next] = nil } else { queues[next] = queue; turns.append(next) }
    }
    return admitted
  }

  /// Takes a waiting call out of the queue (its client left, or it waited too long). False when it
  /// is not waiting: it was admitted already (its waiter was returned by `finished`) or never queued.
  mutating func withdraw(_ connection: Connection, ticket: UInt64) -> Bool {
    guard var queue = queues[connection], let index = queue.firstIndex(where: { $0.ticket == ticket }) else { return false }
    queue.remove(at: index)
    queued -= 1
    if queue.isEmpty {
      queues[connection] = nil
      turns.removeAll { $0 == connection }
    } else {
      queues[connection] = queue
    }
    return true
  }

  /// Calls of `connection` waiting now.
  func waiting(on connection: Connection) -> Int { queues[connection]?.count ?? 0 }

  /// Admitted calls of `connection` running now.
  func running(on connection: Connection) -> Int { runningBy[connection, default: 0] }
}
