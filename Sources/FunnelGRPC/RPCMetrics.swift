import GRPCCore
import GRPCWire
import Prometheus
import Serving
import Synchronization

/// RED metrics per gRPC method: calls by status code (`funnel_grpc_requests_total{method, code}`)
/// and their duration (`funnel_grpc_request_duration_seconds{method}`), in the engine's registry.
/// Recorded by the lean transport (`observer`, every routed call including those refused by
/// admission control) and by grpc-swift's (`RPCMetricsInterceptor`). Method names are the
/// server's own (a call to an unknown method is never routed), so series are bounded by methods x
/// codes. Thread-safe.
public final class RPCMetrics: Sendable {
  /// A method as a transport names it: `/package.Service/Method` (the lean transport's path) or
  /// without the slash (grpc-swift's descriptor); both give the same labels, so the same series.
  private struct Call: Hashable, Sendable {
    var method: String
    var code: Int
  }
  private let calls: SeriesCache<Call, Counter>
  private let durations: SeriesCache<String, DurationHistogram>

  /// Metrics in `metrics`' registry.
  public init(_ metrics: ServingMetrics) {
    let registry = metrics.registry
    calls = SeriesCache { call in
      registry.makeCounter(
        descriptor: .init(namespace: "funnel", subsystem: "grpc", metricName: "requests", unitName: "total",
                          helpText: "gRPC calls, by method and status code."),
        labels: [("method", Self.label(call.method)),
                 ("code", ErrorStatusMapping.codeName(Status.Code(rawValue: call.code) ?? .unknown))])
    }
    durations = SeriesCache { method in
      registry.makeDurationHistogram(
        descriptor: .init(namespace: "funnel", subsystem: "grpc", metricName: "request_duration", unitName: "seconds",
                          helpText: "gRPC call duration, headers in to status out, by method."),
        labels: [("method", Self.label(method))], buckets: ServingMetrics.latencyBuckets)
    }
  }

  /// Records one call of `method` (`package.Service/Method`, with or without the leading slash) that
  /// ended with `code` after `elapsed`. No allocation once the method's series exist.
  public func record(method: String, code: Status.Code, elapsed: Duration) {
    calls[Call(method: method, code: code.rawValue)].increment()
    durations[method].record(elapsed)
  }

  /// The lean transport's observer: records each routed call.
  public var observer: WireCallObserver {
    { [self] path, code, elapsed in record(method: path, code: Status.Code(rawValue: code) ?? .unknown, elapsed: elapsed) }
  }

  private static func label(_ method: String) -> String { method.hasPrefix("/") ? String(method.dropFirst()) : method }
}

/// `RPCMetrics` for grpc-swift's transport: records each call's status code and duration.
public struct RPCMetricsInterceptor: ServerInterceptor {
  let metrics: RPCMetrics

  /// Records into `metrics`.
  public init(_ metrics: RPCMetrics) { self.metrics = metrics }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>, context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let started = ContinuousClock.now
    let method = context.descriptor.fullyQualifiedMethod
    do {
      var response = try await next(request, context)
      // The status is known when the response's producer has run: wrap it.
      switch response.accepted {
      case .success(var contents):
        let producer = contents.producer
        contents.producer = { [metrics] writer in
          do {
            let trailers = try await producer(writer)
            metrics.record(method: method, code: .ok, elapsed: ContinuousClock.now - started)
            return trailers
          } catch {
            metrics.record(method: method, code: Self.code(of: error), elapsed: ContinuousClock.now - started)
            throw error
          }
        }
        response.accepted = .success(contents)
      case .failure(let error):
        metrics.record(method: method, code: Status.Code(error.code), elapsed: ContinuousClock.now - started)
      }
      return response
    } catch {
      metrics.record(method: method, code: Self.code(of: error), elapsed: ContinuousClock.now - started)
      throw error
    }
  }

  private static func code(of error: any Error) -> Status.Code {
    (error as? RPCError).map { Status.Code($0.code) } ?? .unknown
  }
}
