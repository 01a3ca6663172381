import Hummingbird

/// CORS for the configured origins only (site JavaScript posting events or asking for
/// recommendations from the shop's own pages): a request whose `Origin` is one of them goes through
/// Hummingbird's `CORSMiddleware` (preflight answers, `Access-Control-Allow-Origin` echoing that
/// origin); any other passes without CORS headers, so browsers refuse it. Written around
/// Hummingbird's middleware because its list form (`oneOf`) takes origins only as literals.
struct CORSOriginsMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  let origins: Set<String>
  private let cors = CORSMiddleware<FunnelRequestContext>(
    allowOrigin: .originBased, allowHeaders: [.accept, .contentType, .origin],
    allowMethods: [.get, .head, .post, .options], maxAge: .seconds(600))

  init(origins: [String]) { self.origins = Set(origins) }

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    guard let origin = request.headers[.origin], origins.contains(origin) else { return try await next(request, context) }
    var response = try await cors.handle(request, context: context, next: next)
    response.headers[.vary] = "Origin"
    return response
  }
}
