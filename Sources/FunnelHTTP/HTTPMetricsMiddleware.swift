import Hummingbird
import Prometheus
import Serving

/// RED metrics per HTTP route: requests by route, method and status code
/// (`funnel_http_requests_total`) and their duration (`funnel_http_request_duration_seconds{route}`),
/// in the engine's registry. The route label is the matched route's pattern, or `unmatched` (never the
/// client's path), and methods other than the standard ones are `other`, so series stay bounded.
/// Thread-safe.
struct HTTPMetricsMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  private struct RequestKey: Hashable, Sendable {
    var route: String
    var method: String
    var code: Int
  }
  private let requests: SeriesCache<RequestKey, Counter>
  private let durations: SeriesCache<String, DurationHistogram>

  init(metrics: ServingMetrics) {
    let registry = metrics.registry
    requests = SeriesCache { r in
      registry.makeCounter(
        descriptor: .init(namespace: "funnel", subsystem: "http", metricName: "requests", unitName: "total",
                          helpText: "HTTP requests, by route, method and status code."),
        labels: [("route", r.route), ("method", r.method), ("code", String(r.code))])
    }
    durations = SeriesCache { route in
      registry.makeDurationHistogram(
        descriptor: .init(namespace: "funnel", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                          helpText: "HTTP request duration, by route."),
        labels: [("route", route)], buckets: ServingMetrics.latencyBuckets)
    }
  }

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    let started = ContinuousClock.now
    let method = Self.standard.contains(request.method) ? request.method.rawValue : "other"
    do {
      let response = try await next(request, context)
      record(context, method: method, code: response.status.code, since: started)
      return response
    } catch let error as any HTTPResponseError {
      record(context, method: method, code: error.status.code, since: started)
      throw error
    } catch {
      record(context, method: method, code: 500, since: started)
      throw error
    }
  }

  private static let standard: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .delete, .patch, .options]

  private func record(_ context: Context, method: String, code: Int, since started: ContinuousClock.Instant) {
    let route = context.endpointPath ?? "unmatched"
    requests[RequestKey(route: route, method: method, code: code)].increment()
    durations[route].record(ContinuousClock.now - started)
  }
}
