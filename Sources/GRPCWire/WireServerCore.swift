import GRPCCore
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// What the server's connections share: the router, the limits, and the server-wide budgets —
/// open connections (in total and per peer address), bytes buffered for requests and responses,
/// and admission of calls (`WireAdmission`). Also which connections and calls are open, for
/// graceful shutdown. Thread-safe: a mutex for connection and admission state, an atomic for bytes.
final class WireServerCore: Sendable {
  let router: WireRouter
  let executor: (any TaskExecutor)?
  let configuration: WireServer.Configuration
  let logger: Logger
  /// Request and response bytes buffered over every connection (see `reserve`).
  private let bufferedBytes = Atomic<Int>(0)

  typealias Grant = @Sendable () -> Void

  private struct State {
    var listener: (any Channel)?
    var connections: [ObjectIdentifier: (any EventLoop, NIOLoopBound<WireConnectionHandler>)] = [:]
    var connectionsByPeer: [String: Int] = [:]
    var calls = 0
    var draining = false
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    var admission: WireAdmission<ObjectIdentifier, Grant>
    var nextTicket: UInt64 = 0

    mutating func takeWaitersIfIdle() -> [CheckedContinuation<Void, Never>] {
      guard connections.isEmpty, calls == 0 else { return [] }
      defer { idleWaiters = [] }
      return idleWaiters
    }
  }
  private let state: Mutex<State>

  /// Told of every routed call's end.
  let observer: WireCallObserver?
  /// Makes each connection's TLS handler; nil: plaintext.
  let tls: (@Sendable () -> NIOSSLServerHandler)?

  init(router: WireRouter, executor: (any TaskExecutor)?, configuration: WireServer.Configuration, logger: Logger,
       observer: WireCallObserver? = nil, tls: (@Sendable () -> NIOSSLServerHandler)? = nil) {
    self.observer = observer
    self.tls = tls
    self.router = router
    self.executor = executor
    self.configuration = configuration
    self.logger = logger
    let limits = WireAdmission<ObjectIdentifier, Grant>.Limits(
      running: configuration.maxRunningCalls, runningPerConnection: configuration.maxRunningCallsPerConnection,
      queued: configuration.maxQueuedCalls, queuedPerConnection: configuration.maxQueuedCallsPerConnection)
    self.state = Mutex(State(admission: WireAdmission(limits: limits)))
  }

  func listening(_ channel: any Channel) {
    let closeNow = state.withLock { s in
      s.listener = channel
      return s.draining
    }
    if closeNow { channel.close(promise: nil) }
  }

  /// Why a new connection is refused
  enum ConnectionRefusal: Error { case serverFull(Int), peerFull(Int) }

  /// Called on `handler`'s loop when its connection becomes active. Counts it against the server's
  /// and its peer's connection limits (refusing it when either is full) and drains it at once if
  /// the server is draining.
  func connectionOpened(_ handler: WireConnectionHandler, peer: String, on loop: any EventLoop) throws(ConnectionRefusal) {
    let key = ObjectIdentifier(handler)
    let outcome: Result<Bool, ConnectionRefusal> = state.withLock { s in
      if s.connections.count >= configuration.maxConnections { return .failure(.serverFull(configuration.maxConnections)) }
      let fromPeer = s.connectionsByPeer[peer, default: 0]
      if fromPeer >= configuration.maxConnectionsPerPeer { return .failure(.peerFull(configuration.maxConnectionsPerPeer)) }
      s.connectionsByPeer[peer] = fromPeer + 1
      s.connections[key] = (loop, NIOLoopBound(handler, eventLoop: loop))
      return .success(s.draining)
    }
    if try outcome.get() { handler.beginDraining() }
  }

  /// A connection counted by `connectionOpened` closed; its queued calls are dropped.
  func connectionClosed(_ handler: WireConnectionHandler, peer: String) {
    let waiters = state.withLock { s in
      guard s.connections.removeValue(forKey: ObjectIdentifier(handler)) != nil else { return s.takeWaitersIfIdle() }
      let left = s.connectionsByPeer[peer, default: 1] - 1
      s.connectionsByPeer[peer] = left > 0 ? left : nil
      return s.takeWaitersIfIdle()
    }
    for waiter in waiters { waiter.resume() }
  }

  /// Connections open now.
  var connectionCount: Int { state.withLock { $0.connections.count } }

  // MARK: - Bytes

  /// Counts `bytes` more of buffered request or response data against the server-wide budget;
  /// false (nothing counted) when that would exceed `maxBufferedBytes`. Lock-free.
  func reserve(_ bytes: Int) -> Bool {
    guard bytes > 0 else { return true }
    let total = bufferedBytes.add(bytes, ordering: .relaxed).newValue
    if total > configuration.maxBufferedBytes {
      bufferedBytes.subtract(bytes, ordering: .relaxed)
      return false
    }
    return true
  }

  /// Returns `bytes` counted by `reserve` or `account`.
  func unreserve(_ bytes: Int) {
    if bytes != 0 { bufferedBytes.subtract(bytes, ordering: .relaxed) }
  }

  /// Adds `delta` (either sign) to the buffered bytes without a check; returns whether the total is
  /// within the budget (used for request bytes, which are already in memory when they are counted).
  func account(_ delta: Int) -> Bool {
    bufferedBytes.add(delta, ordering: .relaxed).newValue <= configuration.maxBufferedBytes
  }

  /// Request and response bytes buffered now, server-wide.
  var buffered: Int { bufferedBytes.load(ordering: .relaxed) }

  // MARK: - Admission

  /// A call of `connection` asks for a slot. `.run`: start it (and call `admittedCallEnded` when it
  /// ends). `.wait(ticket)`: `grant` runs (on any thread) when its turn comes, unless `withdraw` took
  /// it out first. `.refuse`: answer RESOURCE_EXHAUSTED.
  func admit(_ connection: ObjectIdentifier, grant: @escaping Grant) -> (WireAdmission<ObjectIdentifier, Grant>.Decision, UInt64) {
    state.withLock { s in
      s.nextTicket &+= 1
      return (s.admission.request(connection, ticket: s.nextTicket, waiter: grant), s.nextTicket)
    }
  }

  /// The queueing delay of the last call admitted, nanoseconds: 0 after a call is admitted at once.
  private let lastQueueDelay = Atomic<Int64>(0)

  /// Records how long an admitted call waited for its slot (zero: it did not wait).
  func queueDelayObserved(_ delay: Duration) {
    let nanoseconds = Int64(GRPCTimeout.nanoseconds(delay))
    // Most calls are admitted at once: read first, so they do not all write the shared line.
    if lastQueueDelay.load(ordering: .relaxed) != nanoseconds { lastQueueDelay.store(nanoseconds, ordering: .relaxed) }
  }

  /// The delay that makes new waiting calls refused, when the last admitted call waited longer; nil:
  /// not shedding.
  var sheddingDelay: Duration? {
    guard let budget = configuration.shedQueueDelay else { return nil }
    let last = Duration.nanoseconds(lastQueueDelay.load(ordering: .relaxed))
    return last > budget ? last : nil
  }

  /// An admitted call ended: the calls admitted in its place start.
  func admittedCallEnded(_ connection: ObjectIdentifier) {
    let next = state.withLock { $0.admission.finished(connection) }
    for (_, grant) in next { grant() }
  }

  /// Takes a waiting call out of the queue; false when it was admitted meanwhile (its grant runs).
  func withdraw(_ connection: ObjectIdentifier, ticket: UInt64) -> Bool {
    state.withLock { $0.admission.withdraw(connection, ticket: ticket) }
  }

  /// Admitted calls running and calls waiting, server-wide.
  var admissionLoad: (running: Int, queued: Int) { state.withLock { ($0.admission.running, $0.admission.queued) } }

  // MARK: - Calls and shutdown

  func callStarted() { state.withLock { $0.calls += 1 } }

  func callEnded() {
    let waiters = state.withLock { s in
      s.calls -= 1
      return s.takeWaitersIfIdle()
    }
    for waiter in waiters { waiter.resume() }
  }

  /// Closes the listener and sends GOAWAY on every connection.
  func drain() { stopListening { $0.beginDraining() } }

  /// Closes the listener and every connection (their calls are cancelled).
  func closeAll() { stopListening { $0.closeNow() } }

  /// Marks the server draining, closes the listener and runs `action` on every connection's handler
  /// on its loop.
  private func stopListening(then action: @escaping @Sendable (WireConnectionHandler) -> Void) {
    let (listener, connections) = state.withLock { s in
      s.draining = true
      return (s.listener, Array(s.connections.values))
    }
    listener?.close(promise: nil)
    for (loop, handler) in connections { loop.execute { action(handler.value) } }
  }

  /// Returns once no connection and no call is left (after the listener closed).
  func waitUntilIdle() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let idle = state.withLock { s in
        if s.connections.isEmpty && s.calls == 0 { return true }
        s.idleWaiters.append(continuation)
        return false
      }
      if idle { continuation.resume() }
    }
  }
}
