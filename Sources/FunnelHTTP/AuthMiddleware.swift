import FunnelSecurity
import HTTPTypes
import NIOCore
import Hummingbird

/// The HTTP side of authentication: each request's `Authorization` (or `X-API-Key`) header checked
/// against the `AccessPolicy` requirement of its matched route by the `Authenticator`, and the
/// caller's limits taken for the request's duration; a refusal is an RFC 9457 problem, 401 (with
/// `WWW-Authenticate: Bearer`), 403 or 429 (with `Retry-After`), through `HTTPFailure`.
/// Absent when authentication is off.
struct AuthMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  let authenticator: Authenticator
  /// The requirement of a request's method and matched route (the API's, or the dashboard's).
  var policy: @Sendable (_ method: String, _ route: String?) -> AccessPolicy.Requirement = AccessPolicy.http

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    let channel = context.channel
    let ended = try await authenticator.admit(policy(request.method.rawValue, context.endpointPath),
                                              authorization: request.headers[.authorization], apiKey: request.headers[Self.apiKey],
                                              connection: CallerConnection(id: ObjectIdentifier(channel), whenClosed: { body in
                                                channel.closeFuture.whenComplete { _ in body() } }))
    defer { ended?() }
    return try await next(request, context)
  }

  static let apiKey = HTTPField.Name("X-API-Key")!
}
