/// Admission control for the server's calls, as a pure state machine (no locks, no clocks, no I/O):
/// at most `Limits.running` admitted handlers run at once over the whole server, one connection
/// holds at most `Limits.runningPerConnection` of them, and calls beyond that wait in a queue per
/// connection; a freed slot goes to the waiting connection with the fewest calls running. Queues
/// are bounded per connection and in total; a call over a bound is refused at once.
///
/// Why per-connection queues rather than one FIFO: a client with thousands of calls in flight must
/// not push a well-behaved client's call to the back of its backlog. With the fewest-running rule
/// (max-min fairness), a connection with nothing running waits only for the next free slot,
/// however many connections a flooding client opens.
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
  /// When each busy connection was last given a slot (a sequence number), to break ties in favour
  /// of the connection served least recently. Dropped when a connection has nothing running or waiting.
  private var lastServed: [Connection: UInt64] = [:]
  private var served: UInt64 = 0

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
      served += 1
      lastServed[connection] = served
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
  /// counts as running, on its own connection). The next slot goes to the waiting connection with
  /// the fewest calls running (max-min fairness), the one served least recently among equals: a
  /// client with one call waiting is served before thirty connections of one flooding client.
  /// O(connections with waiters).
  mutating func finished(_ connection: Connection) -> [(Connection, Waiter)] {
    precondition(running > 0, "a call finished that was never admitted")
    running -= 1
    let mine = runningBy[connection, default: 1] - 1
    runningBy[connection] = mine > 0 ? mine : nil
    if mine == 0, queues[connection] == nil { lastServed[connection] = nil }
    var admitted: [(Connection, Waiter)] = []
    while running < limits.running, let index = nextTurn() {
      let next = turns.remove(at: index)
      var queue = queues[next]!
      let (_, waiter) = queue.removeFirst()
      queued -= 1
      running += 1
      runningBy[next, default: 0] += 1
      served += 1
      lastServed[next] = served
      admitted.append((next, waiter))
      if queue.isEmpty { queues[next] = nil } else { queues[next] = queue; turns.append(next) }
    }
    return admitted
  }

  /// The index in `turns` of the waiting connection below its share with the fewest calls running,
  /// and among those the one served least recently (never served first).
  private func nextTurn() -> Int? {
    var best: (index: Int, running: Int, served: UInt64)?
    for (index, candidate) in turns.enumerated() {
      let theirs = runningBy[candidate, default: 0]
      guard theirs < limits.runningPerConnection else { continue }
      let when = lastServed[candidate] ?? 0
      if best == nil || (theirs, when) < (best!.running, best!.served) { best = (index, theirs, when) }
    }
    return best?.index
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
      if runningBy[connection] == nil { lastServed[connection] = nil }
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
