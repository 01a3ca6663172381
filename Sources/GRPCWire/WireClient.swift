import GRPCCore
import NIOCore
import NIOHTTP2
import NIOPosix

/// A lean gRPC client for unary calls over HTTP/2 (h2c with prior knowledge, or TLS with ALPN `h2`:
/// `WireClientSecurity`) to one address: frames
/// written and read by one handler, no channel or task per call. For load generators, where the
/// client shares the machine with the server it measures (`Benchmarks/h2load/ab.sh clients`).
///
/// Reconnects by itself: when the server sends GOAWAY (nginx does after 1,000 calls on a connection
/// by default, servers do when they drain) or the connection drops, the next call opens a new one;
/// a call the server refused unprocessed (beyond GOAWAY's last stream, or REFUSED_STREAM) is sent
/// again once on the new connection. After a failed connect, calls fail at once for 100 ms rather
/// than connecting per call. Identity encoding only.
///
/// Thread-safe: calls may start from any thread; its state lives on `loop`, and a call started there
/// starts without a hop.
public final class WireClientConnection: Sendable {
  private let loop: any EventLoop
  private let host: String
  private let port: Int
  private let security: WireClientSecurity
  private let state: NIOLoopBound<State>

  /// The connection's mutable state, on its loop.
  private final class State {
    var handler: WireClientHandler?
    var connecting: EventLoopFuture<Void>?
    var lastConnectFailure: (at: NIODeadline, error: RPCError)?
    var closed = false
  }

  private init(host: String, port: Int, security: WireClientSecurity, loop: any EventLoop) {
    self.loop = loop
    self.host = host
    self.port = port
    self.security = security
    self.state = NIOLoopBound(State(), eventLoop: loop)
  }

  /// Connects to `host:port` on `loop` (frames and completions run there). Throws UNAVAILABLE naming
  /// the address when it cannot connect.
  public static func connect(host: String, port: Int, security: WireClientSecurity = .plaintext,
                             on loop: any EventLoop) async throws -> WireClientConnection {
    // Built on the loop: its state is bound to it.
    let connection = try await loop.submit { WireClientConnection(host: host, port: port, security: security, loop: loop) }.get()
    try await loop.flatSubmit { connection.ensureConnected() }.get()
    return connection
  }

  /// Calls `path` (`/package.Service/Method`) with one serialized request message; returns the
  /// response message's bytes. Throws the call's status as `RPCError` (DEADLINE_EXCEEDED when
  /// `timeout` passes first: the stream is reset and `grpc-timeout` tells the server too).
  public func unary(path: String, request: [UInt8], timeout: Duration?) async throws -> ByteBuffer {
    let promise = loop.makePromise(of: ByteBuffer.self)
    let call = WireClientHandler.Request(path: path, authority: "\(host):\(port)", secure: security.tls != nil,
                                         metadata: security.metadata, message: request,
                                         deadline: timeout.map { NIODeadline.now() + .nanoseconds(Int64($0 / .nanoseconds(1))) },
                                         promise: promise, retriesLeft: 1)
    if loop.inEventLoop {
      start(call)
    } else {
      loop.execute { self.start(call) }
    }
    return try await promise.futureResult.get()
  }

  /// Closes the connection; calls in flight fail with UNAVAILABLE, later ones too.
  public func close() async {
    let channel: (any Channel)? = try? await loop.submit {
      self.state.value.closed = true
      return self.state.value.handler?.channel
    }.get()
    try? await channel?.close()
  }

  /// On the loop: sends `call` on a usable connection, connecting first when there is none.
  private func start(_ call: WireClientHandler.Request) {
    let state = self.state.value
    if state.closed {
      call.promise.fail(RPCError(code: .unavailable, message: "the connection is closed"))
      return
    }
    if let handler = state.handler, handler.isUsable {
      handler.start(call) { [self] refused in self.start(refused) }
      return
    }
    ensureConnected().assumeIsolated().whenComplete { [self] result in
      switch result {
      case .success: self.start(call)
      case .failure(let error): call.promise.fail(error)
      }
    }
  }

  /// On the loop: a future that succeeds once a usable connection is there.
  private func ensureConnected() -> EventLoopFuture<Void> {
    let state = self.state.value
    if let handler = state.handler, handler.isUsable { return loop.makeSucceededVoidFuture() }
    if let connecting = state.connecting { return connecting }
    if let failure = state.lastConnectFailure, NIODeadline.now() < failure.at + .milliseconds(100) {
      return loop.makeFailedFuture(failure.error)
    }
    // A connection going away keeps finishing its calls and closes itself after the last.
    state.handler?.closeWhenIdle()
    state.handler = nil
    let (host, port) = (self.host, self.port)
    let connected = Self.bootstrap(loop, host: host, security: security).connect(host: host, port: port).assumeIsolated().flatMap { channel -> EventLoopFuture<Void> in
      do {
        let handler = try channel.pipeline.syncOperations.handler(type: WireClientHandler.self)
        let ready = handler.ready?.futureResult ?? channel.eventLoop.makeSucceededVoidFuture()
        return ready.assumeIsolated().map {
          state.handler = handler
          state.connecting = nil
          state.lastConnectFailure = nil
        }.nonisolated()
      } catch {
        return channel.eventLoop.makeFailedFuture(error)
      }
    }.flatMapErrorThrowing { error -> Void in
      let failure = RPCError(code: .unavailable, message: "cannot connect to \(host):\(port): \(error)")
      state.connecting = nil
      state.lastConnectFailure = (NIODeadline.now(), failure)
      throw failure
    }.nonisolated()
    state.connecting = connected
    return connected
  }

  private static func bootstrap(_ loop: any EventLoop, host: String, security: WireClientSecurity) -> ClientBootstrap {
    ClientBootstrap(group: loop)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          if let tls = try security.handler(host: host) { try pipeline.addHandler(tls) }
          try pipeline.addHandler(NextTickFlushHandler())
          try pipeline.addHandler(NIOHTTP2Handler(mode: .client, initialSettings: [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),  // the server opens no streams
            HTTP2Setting(parameter: .initialWindowSize, value: WireClientHandler.streamWindowBytes),
          ]))
          try pipeline.addHandler(WireClientHandler())
        }
      }
  }
}
