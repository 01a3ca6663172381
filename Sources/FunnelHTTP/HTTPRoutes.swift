import FunnelCore
import Hummingbird
import Logging
import NIOCore
import Serving

/// The HTTP routes and the one map from errors to HTTP statuses. `router()` builds the Hummingbird
/// router `HTTPListener` serves. Thread-safe.
struct HTTPRoutes: Sendable {
  let engine: ServingEngine
  let readiness: @Sendable () -> HTTPReadiness
  let logger: Logger
  /// Largest request body read, bytes (413 past it).
  static let maxBody = 1 << 20

  /// The router: the four paths, 405 (with `Allow`) for another method on them, and JSON bodies for
  /// every error, unknown paths included.
  func router() -> Router<FunnelRequestContext> {
    let router = Router(context: FunnelRequestContext.self)
    router.middlewares.add(HTTPMetricsMiddleware(metrics: engine.metrics))
    router.middlewares.add(JSONErrorMiddleware())
    router.post("/v1/events") { request, _ in try await self.events(request) }
    let reads: [(String, @Sendable () -> Response)] = [
      ("/healthz", { Self.response(.ok, contentType: "text/plain", body: Array("ok\n".utf8)) }),
      ("/readyz", {
        let readiness = self.readiness()
        return Self.response(readiness.ready ? .ok : .serviceUnavailable, contentType: "application/json", body: readiness.json)
      }),
      ("/metrics", {
        Self.response(.ok, contentType: "text/plain; version=0.0.4", body: self.engine.metrics.exposition())
      }),
    ]
    for (path, answer) in reads {
      router.get(RouterPath(path)) { _, _ in answer() }
      // HEAD as probes send it: GET's status and headers without the body.
      router.head(RouterPath(path)) { _, _ in
        let full = answer()
        return Response(status: full.status, headers: full.headers, body: .init())
      }
    }
    let served: [(String, HTTPRequest.Method)] = [("/v1/events", .post), ("/healthz", .get), ("/readyz", .get), ("/metrics", .get)]
    let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]
    for (path, allowed) in served {
      for method in methods where method != allowed && !(method == .head && allowed == .get) {
        router.on(RouterPath(path), method: method) { _, _ in
          var response = Self.response(.methodNotAllowed, contentType: "application/json",
                                       body: EventJSON.error("\(method) is not allowed on \(path)", code: "invalidArgument"))
          response.headers[.allow] = allowed.rawValue
          return response
        }
      }
    }
    return router
  }

  /// `POST /v1/events`: JSON only (a form post or text/plain from a page is refused before it is parsed).
  private func events(_ request: Request) async throws -> Response {
    let contentType = request.headers[.contentType]
    guard let contentType, contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            == "application/json" else {
      return Self.response(.unsupportedMediaType, contentType: "application/json",
                           body: EventJSON.error("content-type must be application/json, not '\(contentType ?? "")'",
                                                 code: "invalidArgument"))
    }
    let body: ByteBuffer
    do {
      body = try await request.body.collect(upTo: Self.maxBody)
    } catch let error as HTTPError where error.status == .contentTooLarge {
      return Self.response(.contentTooLarge, contentType: "application/json",
                           body: EventJSON.error("body over \(Self.maxBody) bytes", code: "invalidArgument"))
    }
    do {
      let outcome = try await engine.track(try EventJSON.decode(Array(body.readableBytesView)))
      return Self.response(.ok, contentType: "application/json", body: EventJSON.encode(outcome))
    } catch {
      return failure(error, route: "/v1/events")
    }
  }

  static func response(_ status: HTTPResponse.Status, contentType: String, body: [UInt8]) -> Response {
    Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
  }

  /// The one map from errors to HTTP statuses (as `ErrorStatusMapping` is for gRPC): bad input 400,
  /// limits 429 and a store or deadline 503, both with `Retry-After`; a store failure's detail
  /// (addresses) is logged, never sent. Nothing was accepted, so the client retries (ingestion is
  /// idempotent by event id).
  func failure(_ error: any Error, route: String) -> Response {
    let retryAfter = "1"
    switch error {
    case let error as FunnelError:
      let status: HTTPResponse.Status = switch error.kind {
      case .invalidArgument: .badRequest
      case .notFound: .notFound
      case .failedPrecondition: .conflict
      case .unavailable, .deadlineExceeded: .serviceUnavailable
      case .resourceExhausted: .tooManyRequests
      case .internal: .internalServerError
      }
      var response = Self.response(status, contentType: "application/json", body: EventJSON.error(error.message, code: "\(error.kind)"))
      if status == .serviceUnavailable || status == .tooManyRequests { response.headers[.retryAfter] = retryAfter }
      return response
    case let error as any StoreFailure:
      logger.warning("a store failed", metadata: ["route": "\(route)", "error": "\(error)"])
      var response = Self.response(.serviceUnavailable, contentType: "application/json",
                                   body: EventJSON.error("events not stored: \(error.clientMessage)", code: "unavailable"))
      response.headers[.retryAfter] = retryAfter
      return response
    default:
      logger.error("request failed", metadata: ["route": "\(route)", "error": "\(String(reflecting: error))"])
      return Self.response(.internalServerError, contentType: "application/json", body: EventJSON.error("internal error", code: "internal"))
    }
  }
}

/// Hummingbird's own errors (no such path, a malformed request) as the same JSON body as Funnel's.
struct JSONErrorMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as any HTTPResponseError {
      let message = error.status == .notFound ? "no such path: \(request.uri.path)" : "\(error.status.reasonPhrase)"
      return HTTPRoutes.response(error.status, contentType: "application/json",
                                 body: EventJSON.error(message, code: error.status == .notFound ? "notFound" : "invalidArgument"))
    }
  }
}

/// The request context of Funnel's routes: Hummingbird's core storage, and the body limit.
struct FunnelRequestContext: RequestContext {
  var coreContext: CoreRequestContextStorage

  init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }

  var maxUploadSize: Int { HTTPRoutes.maxBody }
}
