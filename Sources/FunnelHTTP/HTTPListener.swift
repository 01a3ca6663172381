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
  /// A connection with no request in progress for this long is closed.
  let idleTimeout: TimeAmount
  private let bound = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, any Error>])>((nil, []))

  /// A listener on `host:port` (0: any free port) over `engine`; `extraMetrics` appends lines to `/metrics`.
  public init(host: String, port: Int, engine: ServingEngine, logger: Logger, idleTimeout: Duration = .seconds(60),
              extraMetrics: @escaping @Sendable () -> String = { "" }) {
    let (seconds, attoseconds) = idleTimeout.components
    self.idleTimeout = .nanoseconds(min(seconds, 86_400 * 365) * 1_000_000_000 + attoseconds / 1_000_000_000)
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
      let idleTimeout = self.idleTimeout
      channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.backlog, value: 256)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idleTimeout))
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

/// What a request gets: status, content type, body, and a retry hint for 503 and 429.
struct HTTPAnswer: Sendable {
  var status: HTTPResponseStatus
  var contentType: String
  var body: [UInt8]
  /// Seconds for `Retry-After`.
  var retryAfterSeconds: Int?
}

/// Routes a complete request to its answer. Thread-safe.
struct HTTPRouter: Sendable {
  let engine: ServingEngine
  let extraMetrics: @Sendable () -> String
  let logger: Logger

  func answer(method: HTTPMethod, path: String, contentType: String?, body: [UInt8]) async -> HTTPAnswer {
    let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
    switch (method, route) {
    case (.POST, "/v1/events"):
      // JSON only: a form post or text/plain from a page is refused before it is parsed.
      guard let contentType, contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
              == "application/json" else {
        return HTTPAnswer(status: .unsupportedMediaType, contentType: "application/json",
                          body: EventJSON.error("content-type must be application/json, not '\(contentType ?? "")'",
                                                code: "invalidArgument"))
      }
      do {
        let outcome = try await engine.track(try EventJSON.decode(body))
        return HTTPAnswer(status: .ok, contentType: "application/json", body: EventJSON.encode(outcome))
      } catch {
        return failure(error, route: route)
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

extension HTTPRouter {
  /// The one map from errors to HTTP statuses (as `ErrorStatusMapping` is for gRPC): bad input 400,
  /// limits 429 and a store or deadline 503, both with `Retry-After`; a store failure's detail
  /// (addresses) is logged, never sent. Nothing was accepted, so the client retries (ingestion is
  /// idempotent by event id).
  func failure(_ error: any Error, route: String) -> HTTPAnswer {
    let retry = 1
    switch error {
    case let error as FunnelError:
      let status: HTTPResponseStatus = switch error.kind {
      case .invalidArgument: .badRequest
      case .notFound: .notFound
      case .failedPrecondition: .conflict
      case .unavailable, .deadlineExceeded: .serviceUnavailable
      case .resourceExhausted: .tooManyRequests
      case .internal: .internalServerError
      }
      let hint = status == .serviceUnavailable || status == .tooManyRequests ? retry : nil
      return HTTPAnswer(status: status, contentType: "application/json", body: EventJSON.error(error.message, code: "\(error.kind)"),
                        retryAfterSeconds: hint)
    case let error as any StoreFailure:
      logger.warning("a store failed", metadata: ["route": "\(route)", "error": "\(error)"])
      return HTTPAnswer(status: .serviceUnavailable, contentType: "application/json",
                        body: EventJSON.error("events not stored: \(error.clientMessage)", code: "unavailable"), retryAfterSeconds: retry)
    default:
      logger.error("request failed", metadata: ["route": "\(route)", "error": "\(String(reflecting: error))"])
      return HTTPAnswer(status: .internalServerError, contentType: "application/json",
                        body: EventJSON.error("internal error", code: "internal"))
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

  /// A request is being answered (an idle timeout then waits for it).
  var busy = false

  init(router: HTTPRouter) { self.router = router }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    // Idle connections are closed, so a client cannot hold sockets open forever.
    if event is IdleStateHandler.IdleStateEvent, !busy, head == nil {
      context.close(promise: nil)
      return
    }
    context.fireUserInboundEventTriggered(event)
  }

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
      busy = true
      let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
      if tooLarge {
        respond(HTTPAnswer(status: .payloadTooLarge, contentType: "application/json",
                           body: EventJSON.error("body over \(Self.maxBody) bytes", code: "invalidArgument")),
                keepAlive: false, context: context)
        return
      }
      let promise = context.eventLoop.makePromise(of: HTTPAnswer.self)
      let (router, body) = (self.router, self.body)
      let contentType = head.headers.first(name: "content-type")
      promise.completeWithTask { await router.answer(method: head.method, path: head.uri, contentType: contentType, body: body) }
      promise.futureResult.whenSuccess { answer in
        let (handler, context) = loopBound.value
        handler.respond(answer, keepAlive: keepAlive, context: context)
      }
    }
  }

  func respond(_ answer: HTTPAnswer, keepAlive: Bool, context: ChannelHandlerContext) {
    busy = false
    var headers = HTTPHeaders()
    headers.add(name: "content-type", value: answer.contentType)
    headers.add(name: "content-length", value: String(answer.body.count))
    headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
    if let seconds = answer.retryAfterSeconds { headers.add(name: "retry-after", value: String(seconds)) }
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
    let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    let channel = context.channel
    if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
  }
}
