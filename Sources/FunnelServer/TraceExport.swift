import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Where spans go in `funnel serve`: nowhere by default (the no-op tracer: a span costs a few
/// closure calls); with `tracing.otlpEndpoint` set, swift-otel's tracer exporting over OTLP/gRPC,
/// sampling `tracing.sampleRatio` of new traces and following the caller's decision for traces that
/// arrive with a W3C `traceparent` (the same propagator reads and writes it).
enum TraceExport {
  /// The tracer and the service that batches and exports its spans (to run in the server's group),
  /// or nil when tracing is off.
  static func make(_ options: ServerOptions, logger: Logger) throws -> (tracer: any Tracer, service: any Service)? {
    guard !options.otlpEndpoint.isEmpty else { return nil }
    var configuration = OTel.Configuration.default
    configuration.serviceName = "funnel"
    configuration.diagnosticLogger = .custom(logger)
    configuration.propagators = [.traceContext]
    configuration.logs.enabled = false
    configuration.metrics.enabled = false
    configuration.traces.enabled = true
    configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: Double(options.traceSamplePerMille) / 1_000) ?? .parentBasedAlwaysOff
    configuration.traces.exporter = .otlp
    configuration.traces.otlpExporter.endpoint = options.otlpEndpoint
    configuration.traces.otlpExporter.protocol = .grpc
    let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
    return (tracer, service)
  }
}
