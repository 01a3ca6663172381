import Hummingbird

/// Reads every request body whole, up to `limit` bytes, before any route sees it: past the limit the
/// answer is 413 and the rest is not read. The generated JSON API's stubs collect bodies without a
/// limit of their own (swift-openapi-runtime reads up to `Int.max`), so the limit must be applied here,
/// once for every route. A `Content-Length` over the limit is refused before a byte of the body is read.
struct BodyLimitMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  /// Largest body accepted, bytes.
  let limit: Int

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var request = request
    if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
      return tooLarge()
    }
    do {
      _ = try await request.collectBody(upTo: limit)
    } catch let error as HTTPError where error.status == .contentTooLarge {
      return tooLarge()
    }
    return try await next(request, context)
  }

  private func tooLarge() -> Response {
    HTTPFailure(status: .contentTooLarge, code: "invalidArgument", message: "body: over \(limit) bytes").problem()
  }
}
