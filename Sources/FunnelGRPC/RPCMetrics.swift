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
  private let metrics: ServingMetrics
  private let calls = Mutex<[String: Counter]>([:])
  private let durations = Mutex<[String: DurationHistogram]>([:])

  /// Metrics in `metrics`' registry.
  public init(_ metrics: ServingMetrics) { self.metrics = metrics }

  /// Records one call of `method` (`package.Service/Method`) that ended with `code` after `elapsed`.
  public func record(method: String, code: Status.Code, elapsed: Duration) {
    let key = method + " " + Self.name(code)
    let counter = calls.withLock { cached in
      if let counter = cached[key] { return counter }
      let counter = metrics.registry.makeCounter(
        descriptor: .init(namespace: "funnel", subsystem: "grpc", metricName: "requests", unitName: "total",
                          helpText: "gRPC calls, by method and status code."),
        labels: [("method", method), ("code", Self.name(code))])
      cached[key] = counter
      return counter
    }
    counter.increment()
    let histogram = durations.withLock { cached in
      if let histogram = cached[method] { return histogram }
      let histogram = metrics.registry.makeDurationHistogram(
        descriptor: .init(namespace: "funnel", subsystem: "grpc", metricName: "request_duration", unitName: "seconds",
                          helpText: "gRPC call duration, headers in to status out, by method."),
        labels: [("method", method)], buckets: ServingMetrics.latencyBuckets)
      cached[method] = histogram
      return histogram
    }
    histogram.record(elapsed)
  }

  /// The lean transport's observer: records each routed call.
  public var observer: WireCallObserver {
    { [self] path, code, elapsed in
      record(method: String(path.dropFirst()), code: Status.Code(rawValue: code) ?? .unknown, elapsed: elapsed)
    }
  }

  /// The code's name as gRPC spells it (`OK`, `INVALID_ARGUMENT`, ...).
  static func name(_ code: Status.Code) -> String {
    switch code {
    case .ok: "OK"
    case .cancelled: "CANCELLED"
    case .unknown: "UNKNOWN"
    case .invalidArgument: "INVALID_ARGUMENT"
    case .deadlineExceeded: "DEADLINE_EXCEEDED"
    case .notFound: "NOT_FOUND"
    case .alreadyExists: "ALREADY_EXISTS"
    case .permissionDenied: "PERMISSION_DENIED"
    case .resourceExhausted: "RESOURCE_EXHAUSTED"
    case .failedPrecondition: "FAILED_PRECONDITION"
    case .aborted: "ABORTED"
    case .outOfRange: "OUT_OF_RANGE"
    case .unimplemented: "UNIMPLEMENTED"
    case .internalError: "INTERNAL"
    case .unavailable: "UNAVAILABLE"
    case .dataLoss: "DATA_LOSS"
    case .unauthenticated: "UNAUTHENTICATED"
    default: "UNKNOWN"
    }
  }
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
