import Hummingbird
import Prometheus
import Serving
import Synchronization

/// RED metrics per HTTP route: requests by route, method and status code
/// (`funnel_http_requests_total`) and their duration (`funnel_http_request_duration_seconds{route}`),
/// in the engine's registry. The route label is the matched route's pattern, or `unmatched` (never the
/// client's path), and methods other than the standard ones are `other`, so series stay bounded.
/// Thread-safe.
struct HTTPMetricsMiddleware: RouterMiddleware {
  typealias Context = FunnelRequestContext
  let metrics: ServingMetrics
  private let series = Series()

  init(metrics: ServingMetrics) { self.metrics = metrics }

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
    series.counter(route: route, method: method, code: code, in: metrics).increment()
    series.histogram(route: route, in: metrics).record(ContinuousClock.now - started)
  }

  /// The series made so far (the registry's lookup takes a lock and builds label strings).
  private final class Series: Sendable {
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    func counter(route: String, method: String, code: Int, in metrics: ServingMetrics) -> Counter {
      counters.withLock { cached in
        let key = "\(route) \(method) \(code)"
        if let counter = cached[key] { return counter }
        let counter = metrics.registry.makeCounter(
          descriptor: .init(namespace: "funnel", subsystem: "http", metricName: "requests", unitName: "total",
                            helpText: "HTTP requests, by route, method and status code."),
          labels: [("route", route), ("method", method), ("code", String(code))])
        cached[key] = counter
        return counter
      }
    }

    func histogram(route: String, in metrics: ServingMetrics) -> DurationHistogram {
      histograms.withLock { cached in
        if let histogram = cached[route] { return histogram }
        let histogram = metrics.registry.makeDurationHistogram(
          descriptor: .init(namespace: "funnel", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                            helpText: "HTTP request duration, by route."),
          labels: [("route", route)], buckets: ServingMetrics.latencyBuckets)
        cached[route] = histogram
        return histogram
      }
    }
  }
}
