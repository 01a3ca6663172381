import GRPCCore
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import Synchronization

/// A lean gRPC server over HTTP/2: `swift-nio-http2`'s frame handler and one `WireConnectionHandler`
/// per connection, no channel per stream and no per-call async sequences for unary calls. On two
/// cores a call that does no work costs a fraction of grpc-swift's transport (README "The
/// transport floor"). Unary and streaming methods from a `WireRouter`; identity encoding only;
/// plaintext (h2c with prior knowledge, as gRPC clients speak it).
///
/// `serve()` listens until `beginGracefulShutdown()` (GOAWAY to every connection; calls in flight
/// finish) or cancellation (connections closed, calls cancelled). Thread-safe.
public final class WireServer: Sendable {
  /// Limits and windows.
  public struct Configuration: Sendable {
    /// Streams a client may have open on one connection.
    public var maxConcurrentStreams = 4_096
    /// Largest request message accepted, in bytes (gRPC's customary 4 MiB).
    public var maxMessageBytes = 4 * 1024 * 1024
    /// The connection's receive window, in bytes.
    public var connectionWindowBytes = 1024 * 1024
    /// Each stream's receive window (HTTP/2's SETTINGS_INITIAL_WINDOW_SIZE), in bytes.
    public var streamWindowBytes = 65_535
    /// Request bytes a streaming handler may leave untaken before its client is held back.
    public var maxQueuedRequestBytes = 256 * 1024
    /// Bytes of requests not yet complete (and unary requests not yet started) one connection may
    /// hold over all its streams; the stream that goes over fails with RESOURCE_EXHAUSTED. Without
    /// it, a client could park a 4 MiB message on each of thousands of streams.
    public var maxHeldRequestBytesPerConnection = 64 * 1024 * 1024
    /// Calls one connection may start before the server sends GOAWAY on it (0, the default: no
    /// limit); the calls already started finish. Internal: it exists to exercise clients' GOAWAY
    /// handling (as nginx's 1,000 calls per connection do). Not offered as a setting because calls
    /// racing the GOAWAY are not safe yet: swift-nio-http2 refuses their streams, then treats their
    /// DATA frames as a connection error, and the connection ends with its calls (seen in tests).
    var maxCallsPerConnection = 0
    /// Coalesce a connection's writes per event-loop tick (`NextTickFlushHandler`); false writes each flush.
    public var coalesceFlushes = true

    /// The defaults above.
    public init() {}
  }

  private let host: String
  private let port: Int
  private let group: any EventLoopGroup
  private let core: WireServerCore
  private let bound: EventLoopPromise<Int>
  /// Set once `bound` is completed (NIO traps on a promise dropped unfulfilled in debug builds).
  private let boundCompleted = Atomic<Bool>(false)

  /// A server for `router` on `host:port` (0 = any free port) over `group`'s loops; handlers' tasks
  /// prefer `executor` (nil: Swift's cooperative pool).
  public init(host: String, port: Int, group: any EventLoopGroup, router: WireRouter, executor: (any TaskExecutor)?,
              configuration: Configuration = Configuration(), logger: Logger) {
    self.host = host
    self.port = port
    self.group = group
    self.core = WireServerCore(router: router, executor: executor, configuration: configuration, logger: logger)
    self.bound = group.next().makePromise(of: Int.self)
  }

  /// The bound port, once listening (waits for `serve()` to bind; throws if binding failed).
  public func listeningPort() async throws -> Int { try await bound.futureResult.get() }

  /// Binds and serves until graceful shutdown has drained every connection, or until cancelled.
  public func serve() async throws {
    let core = self.core
    let channel: any Channel
    do {
      channel = try await ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 256)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
          channel.eventLoop.makeCompletedFuture { try Self.configure(channel, core: core) }
        }
        .bind(host: host, port: port).get()
    } catch {
      if !boundCompleted.exchange(true, ordering: .acquiringAndReleasing) { bound.fail(error) }
      throw error
    }
    if !boundCompleted.exchange(true, ordering: .acquiringAndReleasing) { bound.succeed(channel.localAddress?.port ?? port) }
    core.listening(channel)
    try await withTaskCancellationHandler {
      try await channel.closeFuture.get()
      core.drain()  // a listener closed for any reason: its connections finish their calls and go too
      await core.waitUntilIdle()
    } onCancel: {
      core.closeAll()
    }
  }

  deinit {
    if !boundCompleted.exchange(true, ordering: .acquiringAndReleasing) {
      bound.fail(RPCError(code: .unavailable, message: "the server was never started"))
    }
  }

  /// Stops accepting connections, sends GOAWAY on every connection and lets calls in flight finish;
  /// `serve()` returns once they have. Idempotent.
  public func beginGracefulShutdown() { core.drain() }

  private static func configure(_ channel: any Channel, core: WireServerCore) throws {
    let pipeline = channel.pipeline.syncOperations
    if core.configuration.coalesceFlushes { try pipeline.addHandler(NextTickFlushHandler()) }
    let settings: HTTP2Settings = [
      HTTP2Setting(parameter: .maxConcurrentStreams, value: core.configuration.maxConcurrentStreams),
      HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoderDefaults.maxHeaderListSize),
      HTTP2Setting(parameter: .initialWindowSize, value: core.configuration.streamWindowBytes),
    ]
    try pipeline.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: settings))
    try pipeline.addHandler(WireConnectionHandler(core: core))
  }
}

private enum HPACKDecoderDefaults {
  /// 16 KiB of request headers, NIO's default limit.
  static let maxHeaderListSize = 16_384
}

/// What the server's connections share: the router, limits, and which connections and calls are
/// open (for graceful shutdown). Thread-safe (a mutex; connections touch it when they open and
/// close, calls when they start and end).
final class WireServerCore: Sendable {
  let router: WireRouter
  let executor: (any TaskExecutor)?
  let configuration: WireServer.Configuration
  let logger: Logger

  private struct State {
    var listener: (any Channel)?
    var connections: [ObjectIdentifier: (any EventLoop, NIOLoopBound<WireConnectionHandler>)] = [:]
    var calls = 0
    var draining = false
    var idleWaiters: [CheckedContinuation<Void, Never>] = []

    mutating func takeWaitersIfIdle() -> [CheckedContinuation<Void, Never>] {
      guard connections.isEmpty, calls == 0 else { return [] }
      defer { idleWaiters = [] }
      return idleWaiters
    }
  }
  private let state = Mutex(State())

  init(router: WireRouter, executor: (any TaskExecutor)?, configuration: WireServer.Configuration, logger: Logger) {
    self.router = router
    self.executor = executor
    self.configuration = configuration
    self.logger = logger
  }

  func listening(_ channel: any Channel) {
    let closeNow = state.withLock { s in
      s.listener = channel
      return s.draining
    }
    if closeNow { channel.close(promise: nil) }
  }

  /// Called on `handler`'s loop when its connection becomes active; drains it at once if the server is draining.
  func connectionOpened(_ handler: WireConnectionHandler, on loop: any EventLoop) {
    let draining = state.withLock { s in
      s.connections[ObjectIdentifier(handler)] = (loop, NIOLoopBound(handler, eventLoop: loop))
      return s.draining
    }
    if draining { handler.beginDraining() }
  }

  func connectionClosed(_ handler: WireConnectionHandler) {
    let waiters = state.withLock { s in
      s.connections.removeValue(forKey: ObjectIdentifier(handler))
      return s.takeWaitersIfIdle()
    }
    for waiter in waiters { waiter.resume() }
  }

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
