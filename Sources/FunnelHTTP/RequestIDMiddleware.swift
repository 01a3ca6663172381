import HTTPTypes
import Hummingbird
import Serving

/// Makes each HTTP request a request with its own `RequestID`: the engine's answer carries it as
/// `request_id`, every log line written while it runs has it, and the response returns it in
/// `X-Request-ID` (error responses too), so an operator can find a client's failed call in the logs.
/// A client's own `X-Request-ID` is not taken: the id keys attribution and must be unique.
struct RequestIDMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    let id = RequestID.make()
    var response = try await RequestID.$current.withValue(id) { try await next(request, context) }
    response.headers[Self.header] = id
    return response
  }

  static let header = HTTPField.Name("X-Request-ID")!
}
