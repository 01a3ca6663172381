import HTTPTypes
import Hummingbird
import Tracing

/// A caller's trace context read from the request's headers (`traceparent` and `tracestate` with a
/// W3C propagator, whatever keys the tracer's instrument reads) and put in the task's service
/// context, so the engine's request span continues the caller's trace.
struct TraceContextMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  let tracer: any Tracer

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var serviceContext = ServiceContext.current ?? .topLevel
    tracer.extract(request.headers, into: &serviceContext, using: HeaderExtractor())
    return try await ServiceContext.withValue(serviceContext) { try await next(request, context) }
  }

  private struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? { HTTPField.Name(key).flatMap { carrier[$0] } }
  }
}
