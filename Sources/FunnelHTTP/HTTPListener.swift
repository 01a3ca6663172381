import FunnelCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Serving
import Synchronization

/// The HTTP/1.1 listener for site JavaScript, order systems and monitoring (a lifecycle `Service`):
/// `POST /v1/events` (the Track contract as JSON, see `EventJSON`), `GET /healthz` and `GET /metrics`
/// (Prometheus text). Bodies over 1 MiB are refused with 413. Thread-safe; calls run on Swift's
/// pool, the sockets on NIO's shared event loops.
public final class HTTPListener: Service, Sendable {
  let host: String
  let port: Int
  let engine: ServingEngine
  let logger: Logger
  let extraMetrics: @Sendable () -> String
  private let bound = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, any Error>])>((nil, []))

  /// A listener on `host:port` (0: any free port) over `engine`; `extraMetrics` appends lines to `/metrics`.
  public init(host: String, port: Int, engine: ServingEngine, logger: Logger,
              extraMetrics: @escaping @Sendable () -> String = { "" }) {
    self.host = host
    self.port = port
    self.engine = engine
    self.logger = logger
    self.extraMetrics = extraMetrics
  }

  /// The bound port, once listening.
  public func listeningPort() async throws -> Int {
    try await withCheckedThrowingContinuation { continuation in
      let port = bound.withLock { state -> Int? in
        if let port = state.port { return port }
        state.waiters.append(continuation)
        return nil
      }
      if let port { continuation.resume(returning: port) }
    }
  }

  public func run() async throws {
    let router = HTTPRouter(engine: engine, extraMetrics: extraMetrics, logger: logger)
    let channel: any Channel
    do {
      channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.backlog, value: 256)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(HTTPHandler(router: router))
          }
        }
        .bind(host: host, port: port).get()
    } catch {
      let waiters = bound.withLock { state in defer { state.waiters = [] }; return state.waiters }
      for waiter in waiters { waiter.resume(throwing: error) }
      throw FunnelError(.unavailable, "http listener: cannot listen on \(host):\(port): \(error)")
    }
    let actual = channel.localAddress?.port ?? port
    let waiters = bound.withLock { state in
      state.port = actual
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume(returning: actual) }
    logger.info("http listening", metadata: ["address": "\(host):\(actual)", "paths": "POST /v1/events, GET /healthz, GET /metrics"])
    try await withGracefulShutdownHandler {
      try await channel.closeFuture.get()
    } onGracefulShutdown: {
      channel.close(promise: nil)
    }
  }
}

/// What a request gets: status, content type, body.
struct HTTPAnswer: Sendable {
  var status: HTTPResponseStatus
  var contentType: String
  var body: [UInt8]
}

/// Routes a complete request to its answer. Thread-safe.
struct HTTPRouter: Sendable {
  let engine: ServingEngine
  let extraMetrics: @Sendable () -> String
  let logger: Logger

  func answer(method: HTTPMethod, path: String, body: [UInt8]) async -> HTTPAnswer {
    let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
    switch (method, route) {
    case (.POST, "/v1/events"):
      do {
        let outcome = try await engine.track(try EventJSON.decode(body))
        return HTTPAnswer(status: .ok, contentType: "application/json", body: EventJSON.encode(outcome))
      } catch let error as FunnelError {
        let status: HTTPResponseStatus = switch error.kind {
        case .invalidArgument: .badRequest
        case .unavailable, .deadlineExceeded: .serviceUnavailable
        case .resourceExhausted: .tooManyRequests
        default: .internalServerError
        }
        return HTTPAnswer(status: status, contentType: "application/json", body: EventJSON.error(error.message, code: "\(error.kind)"))
      } catch {
        // A store failure: nothing was accepted, the client retries (ingestion is idempotent).
        logger.warning("POST /v1/events failed", metadata: ["error": "\(error)"])
        return HTTPAnswer(status: .serviceUnavailable, contentType: "application/json",
                          body: EventJSON.error("events not stored: \(error)", code: "unavailable"))
      }
    case (.GET, "/healthz"):
      return HTTPAnswer(status: .ok, contentType: "text/plain", body: Array("ok\n".utf8))
    case (.GET, "/metrics"):
      return HTTPAnswer(status: .ok, contentType: "text/plain; version=0.0.4",
                        body: Array((engine.metrics.prometheus() + extraMetrics()).utf8))
    case (_, "/v1/events"), (_, "/healthz"), (_, "/metrics"):
      return HTTPAnswer(status: .methodNotAllowed, contentType: "application/json",
                        body: EventJSON.error("\(method) is not allowed on \(route)", code: "invalidArgument"))
    default:
      return HTTPAnswer(status: .notFound, contentType: "application/json",
                        body: EventJSON.error("no such path: \(route)", code: "notFound"))
    }
  }
}

/// Collects one request (head and body, at most 1 MiB) and writes the router's answer, keeping the
/// connection alive when the client asks to. Runs on the channel's event loop.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart
  static let maxBody = 1 << 20

  let router: HTTPRouter
  var head: HTTPRequestHead?
  var body: [UInt8] = []
  var tooLarge = false

  init(router: HTTPRouter) { self.router = router }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
      body = []
      tooLarge = false
    case .body(var buffer):
      if body.count + buffer.readableBytes > Self.maxBody { tooLarge = true } else {
        body += buffer.readBytes(length: buffer.readableBytes) ?? []
      }
    case .end:
      guard let head else { return }
      self.head = nil
      let keepAlive = head.isKeepAlive
      let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
      if tooLarge {
        respond(HTTPAnswer(status: .payloadTooLarge, contentType: "application/json",
                           body: EventJSON.error("body over \(Self.maxBody) bytes", code: "invalidArgument")),
                keepAlive: false, context: context)
        return
      }
      let promise = context.eventLoop.makePromise(of: HTTPAnswer.self)
      let (router, body) = (self.router, self.body)
      promise.completeWithTask { await router.answer(method: head.method, path: head.uri, body: body) }
      promise.futureResult.whenSuccess { answer in
        let (handler, context) = loopBound.value
        handler.respond(answer, keepAlive: keepAlive, context: context)
      }
    }
  }

  func respond(_ answer: HTTPAnswer, keepAlive: Bool, context: ChannelHandlerContext) {
    var headers = HTTPHeaders()
    headers.add(name: "content-type", value: answer.contentType)
    headers.add(name: "content-length", value: String(answer.body.count))
    headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
    let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    let channel = context.channel
    if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
  }
}
