import FunnelCore
import FunnelSecurity
import Hummingbird
import Logging
import OpenAPIHummingbird
import NIOCore
import Serving

/// The HTTP routes and the one map from errors to HTTP statuses. `router()` builds the Hummingbird
/// router `HTTPListener` serves. Thread-safe.
struct HTTPRoutes: Sendable {
  let engine: ServingEngine
  let readiness: @Sendable () -> HTTPReadiness
  /// Origins whose pages may call the API from a browser (CORS); empty: none.
  let corsOrigins: [String]
  let logger: Logger
  /// Checks credentials against the access policy; nil or disabled: every request allowed.
  let authenticator: Authenticator?
  /// Largest request body read, bytes (413 past it).
  static let maxBody = 1 << 20

  /// The router: the four paths, 405 (with `Allow`) for another method on them, and JSON bodies for
  /// every error, unknown paths included.
  func router() throws -> Router<FunnelRequestContext> {
    let router = Router(context: FunnelRequestContext.self)
    router.middlewares.add(RequestIDMiddleware())
    router.middlewares.add(HTTPMetricsMiddleware(metrics: engine.metrics))
    router.middlewares.add(GzipResponseMiddleware())
    if !corsOrigins.isEmpty { router.middlewares.add(CORSOriginsMiddleware(origins: corsOrigins)) }
    router.middlewares.add(BodyLimitMiddleware(limit: Self.maxBody))
    router.middlewares.add(ProblemMiddleware(logger: logger))
    if let authenticator, authenticator.isEnabled { router.middlewares.add(AuthMiddleware(authenticator: authenticator)) }
    router.middlewares.add(TraceContextMiddleware(tracer: engine.tracer))
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
    // The JSON API, from the generated stubs (its paths are the document's); keys sorted, so an answer's
    // bytes depend only on its values.
    try JSONAPI(engine: engine).registerHandlers(on: router, configuration: .init(jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]))
    router.get("/openapi.yaml") { _, _ in Self.response(.ok, contentType: "application/yaml", body: Array(OpenAPIDocument.yaml.utf8)) }
    let served: [(String, HTTPRequest.Method)] = [
      ("/v1/events", .post), ("/v1/orders", .post), ("/healthz", .get), ("/readyz", .get), ("/metrics", .get), ("/openapi.yaml", .get),
      ("/v1/recommend", .post), ("/v1/search", .post), ("/v1/suggest", .post), ("/v1/items/{item_id}", .get),
      ("/v1/catalog/items", .post), ("/v1/catalog/deletions", .post),
    ]
    let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options, .trace]
    for (path, allowed) in served {
      for method in methods where method != allowed && !(method == .head && allowed == .get) {
        router.on(RouterPath(path), method: method) { _, _ in
          var response = HTTPFailure(status: .methodNotAllowed, code: "invalidArgument",
                                     message: "\(method) is not allowed on \(path)").problem()
          response.headers[.allow] = allowed.rawValue
          return response
        }
      }
    }
    return router
  }

  static func response(_ status: HTTPResponse.Status, contentType: String, body: [UInt8]) -> Response {
    Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
  }
}

/// Every error a route throws (the JSON API's, a body that does not decode, no such path) as an
/// RFC 9457 problem through `HTTPFailure`.
struct ProblemMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  let logger: Logger

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as any HTTPResponseError where error.status == .notFound {
      return HTTPFailure(status: .notFound, code: "notFound", message: "no such path: \(request.uri.path)").problem()
    } catch {
      return HTTPFailure.from(error, route: context.endpointPath ?? request.uri.path, logger: logger).problem()
    }
  }
}

/// The request context of Funnel's routes: Hummingbird's core storage, and the body limit.
struct FunnelRequestContext: RequestContext {
  var coreContext: CoreRequestContextStorage

  /// The request's connection (the per-caller connection cap counts these).
  let channel: any Channel
  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    channel = source.channel
  }

  var maxUploadSize: Int { HTTPRoutes.maxBody }
}
