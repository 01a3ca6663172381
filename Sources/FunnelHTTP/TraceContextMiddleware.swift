import HTTPTypes
import Hummingbird
import Tracing

/// A server span per HTTP request (`POST /v1/recommend`, ...), continuing the caller's trace read
/// from the request's headers (`traceparent` with a W3C propagator, whatever keys the tracer's
/// instrument reads); the engine's spans are its children. The span's own context is returned in
/// the response's headers (`traceparent`), so a client can find the server's side of its trace.
/// With the no-op tracer this costs a few closure calls.
struct TraceContextMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  let tracer: any Tracer

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var caller = ServiceContext.current ?? .topLevel
    tracer.extract(request.headers, into: &caller, using: HeaderCarrier())
    let name = "\(request.method.rawValue) \(context.endpointPath ?? "unmatched")"
    return try await tracer.withSpan(name, context: caller, ofKind: .server) { span in
      span.attributes["http.request.method"] = request.method.rawValue
      var response = try await next(request, context)
      span.attributes["http.response.status_code"] = response.status.code
      tracer.inject(span.context, into: &response.headers, using: HeaderCarrier())
      return response
    }
  }

  /// Reads and writes trace headers.
  private struct HeaderCarrier: Extractor, Injector {
    func extract(key: String, from carrier: HTTPFields) -> String? { HTTPField.Name(key).flatMap { carrier[$0] } }
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPFields) {
      if let name = HTTPField.Name(key) { carrier[name] = value }
    }
  }
}
