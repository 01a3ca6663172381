import GRPCCore
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A lean gRPC server over HTTP/2: `swift-nio-http2`'s frame handler and one `WireConnectionHandler`
/// per connection, no channel per stream and no per-call async sequences for unary calls. On two
/// cores a call that does no work costs a fraction of grpc-swift's transport. Unary and streaming
/// methods from a `WireRouter`; identity, gzip and deflate message encodings; plaintext (h2c with
/// prior knowledge, as gRPC clients speak it) or TLS (a handler per connection from `tls`, e.g. ALPN
/// `h2` with the certificate of the moment). Hostile clients are bounded by `Configuration`:
/// connections, buffered bytes, admitted calls, header sizes, timeouts and idle connections.
///
/// `serve()` listens until `beginGracefulShutdown()` (GOAWAY to every connection; calls in flight
/// finish) or cancellation (connections closed, calls cancelled). Thread-safe.
public final class WireServer: Sendable {
  /// Limits, budgets, windows and timers. Every number a client could otherwise push without bound
  /// has a limit here; the defaults keep the process's memory bounded whatever clients do
  /// (docs/operations.md).
  public struct Configuration: Sendable {
    /// Streams a client may have open on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
    public var maxConcurrentStreams = 1_024
    /// Largest request message accepted, in bytes (gRPC's customary 4 MiB); also the largest a
    /// compressed message may inflate to.
    public var maxMessageBytes = 4 * 1024 * 1024
    /// The connection's receive window, in bytes.
    public var connectionWindowBytes = 1024 * 1024
    /// Each stream's receive window (HTTP/2's SETTINGS_INITIAL_WINDOW_SIZE), in bytes.
    public var streamWindowBytes = 65_535
    /// Request bytes a streaming handler may leave untaken before its client is held back.
    public var maxQueuedRequestBytes = 256 * 1024
    /// Bytes of requests not yet complete (and unary requests not yet started) one connection may
    /// hold over all its streams; the stream that goes over fails with RESOURCE_EXHAUSTED.
    public var maxHeldRequestBytesPerConnection = 32 * 1024 * 1024
    /// Request and response bytes the whole server may buffer: unfinished requests, and responses
    /// written but not yet taken by their clients (flow control or TCP). A stream that would go over
    /// fails with RESOURCE_EXHAUSTED; the budget bounds memory whatever the number of connections.
    public var maxBufferedBytes = 192 * 1024 * 1024
    /// Bytes every connection may buffer even when the server's budget is spent, so a client making
    /// small calls is never refused because others hold the budget (the process may hold up to
    /// `maxConnections` times this beyond `maxBufferedBytes`).
    public var guaranteedBytesPerConnection = 32 * 1024
    /// Bytes of answers a connection may leave unread before its new calls are refused: a client
    /// that does not read gets no more work done for it.
    public var maxUnreadResponseBytesPerConnection = 4 * 1024 * 1024
    /// Connections open at once; more are answered with GOAWAY and closed.
    public var maxConnections = 4_096
    /// Connections open at once from one peer address.
    public var maxConnectionsPerPeer = 1_024
    /// Admitted calls (every method but those registered `admitted: false`, e.g. health) whose
    /// handlers run at once, server-wide; more wait in per-connection queues served round-robin.
    public var maxRunningCalls = 8 * System.coreCount
    /// Admitted calls one connection may run at once, so another connection always finds a slot.
    public var maxRunningCallsPerConnection = 6 * System.coreCount
    /// Calls waiting for a slot, server-wide; more are refused with RESOURCE_EXHAUSTED.
    public var maxQueuedCalls = 4_096
    /// Calls waiting for a slot on one connection (half the streams it may open: a client keeping
    /// hundreds of calls in flight waits, up to `maxQueueWait`, rather than being refused outright,
    /// while a flooding connection is refused early instead of piling up work that expires at once).
    public var maxQueuedCallsPerConnection = 512
    /// How long a call may wait for a slot before it is refused with RESOURCE_EXHAUSTED (a call
    /// that cannot start within this is better retried elsewhere; longer waits also made a flooded
    /// server's other clients wait longer in the hostile-client benchmark).
    public var maxQueueWait: Duration = .milliseconds(300)
    /// Load shedding: while the last call admitted from a queue had waited longer than this, a new
    /// call that would have to wait is refused at once (RESOURCE_EXHAUSTED) instead of joining the
    /// queue, so admitted calls keep their latency and clients retry elsewhere at once rather than after
    /// `maxQueueWait`. Ends when a call is admitted without waiting. nil: never shed.
    public var shedQueueDelay: Duration? = .milliseconds(100)
    /// Calls one connection may have refused for its budgets (RESOURCE_EXHAUSTED) before it gets
    /// GOAWAY (ENHANCE_YOUR_CALM): a client that keeps pushing past its share is disconnected.
    public var maxRefusalsPerConnection = 1_000
    /// Longest `grpc-timeout` honoured; a longer one counts as this.
    public var maxCallTimeout: Duration = .seconds(86_400)
    /// Request headers (gRPC metadata) one call may send, in bytes as HTTP/2 counts them; a call
    /// over it fails alone with RESOURCE_EXHAUSTED (its connection goes on).
    public var maxRequestHeaderBytes = 16 * 1024
    /// A connection with no open stream for this long gets GOAWAY and is closed (nil: never).
    public var idleTimeout: Duration? = .seconds(300)
    /// After this long without a frame from the client the server sends a PING (nil: never) ...
    public var keepaliveInterval: Duration? = .seconds(60)
    /// ... and closes the connection if nothing arrives within this long after it.
    public var keepaliveTimeout: Duration = .seconds(20)
    /// A response the client has not taken (zero flow-control window, or no TCP reads) for this long
    /// has its stream reset; when the socket itself is blocked the connection is closed.
    public var responseWriteTimeout: Duration = .seconds(30)
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

    /// The HPACK decoder's hard limit, advertised as SETTINGS_MAX_HEADER_LIST_SIZE: well above
    /// `maxRequestHeaderBytes`, so that a call with too much metadata is refused alone (a stream
    /// error) rather than by the decoder (which swift-nio-http2 treats as a connection error).
    var decoderHeaderListBytes: Int { max(256 * 1024, maxRequestHeaderBytes * 4) }

    /// How often a connection checks its timers: a quarter of the shortest one, 100 ms to 10 s.
    var housekeepingInterval: Duration {
      let shortest = [idleTimeout, keepaliveInterval, responseWriteTimeout].compactMap { $0 }.min() ?? .seconds(40)
      return min(max(shortest / 4, .milliseconds(100)), .seconds(10))
    }
  }

  private let host: String
  private let port: Int
  private let group: any EventLoopGroup
  private let core: WireServerCore
  private let bound: EventLoopPromise<Int>
  /// Set once `bound` is completed (NIO traps on a promise dropped unfulfilled in debug builds).
  private let boundCompleted = Atomic<Bool>(false)

  /// A server for `router` on `host:port` (0 = any free port) over `group`'s loops; handlers' tasks
  /// prefer `executor` (nil: Swift's cooperative pool); `observer` is told of every routed call's end.
  public init(host: String, port: Int, group: any EventLoopGroup, router: WireRouter, executor: (any TaskExecutor)?,
              configuration: Configuration = Configuration(), logger: Logger, observer: WireCallObserver? = nil,
              tls: (@Sendable () -> NIOSSLServerHandler)? = nil) {
    self.host = host
    self.port = port
    self.group = group
    self.core = WireServerCore(router: router, executor: executor, configuration: configuration, logger: logger,
                               observer: observer, tls: tls)
    self.bound = group.next().makePromise(of: Int.self)
  }

  /// What the server holds now, for metrics and tests.
  public struct Load: Sendable, Hashable {
    /// Connections open.
    public var connections: Int
    /// Request and response bytes buffered (counted against `maxBufferedBytes`).
    public var bufferedBytes: Int
    /// Admitted calls running and waiting for a slot.
    public var runningCalls: Int
    public var queuedCalls: Int
  }

  /// The server's current load. Takes the core's lock briefly; thread-safe.
  public var load: Load {
    let admission = core.admissionLoad
    return Load(connections: core.connectionCount, bufferedBytes: core.buffered, runningCalls: admission.running,
                queuedCalls: admission.queued)
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
    // TLS nearest the socket: flushes are coalesced before records are sealed.
    if let tls = core.tls { try pipeline.addHandler(tls()) }
    if core.configuration.coalesceFlushes { try pipeline.addHandler(NextTickFlushHandler()) }
    let settings: HTTP2Settings = [
      HTTP2Setting(parameter: .maxConcurrentStreams, value: core.configuration.maxConcurrentStreams),
      HTTP2Setting(parameter: .maxHeaderListSize, value: core.configuration.decoderHeaderListBytes),
      HTTP2Setting(parameter: .initialWindowSize, value: core.configuration.streamWindowBytes),
    ]
    try pipeline.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: settings))
    try pipeline.addHandler(WireConnectionHandler(core: core))
  }
}
