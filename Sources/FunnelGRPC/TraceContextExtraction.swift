import GRPCCore
import Tracing

/// A caller's trace context read from gRPC request metadata (`traceparent` and `tracestate` with a
/// W3C propagator, whatever keys the tracer's instrument reads) and put in the task's service
/// context, so the engine's request span continues the caller's trace.
enum TraceContextExtraction {
  /// Runs `body` with the trace context `tracer` extracts from `metadata` (none: the current one).
  static func within<T: Sendable>(_ metadata: Metadata, tracer: any Tracer,
                                  _ body: () async throws -> T) async throws -> T {
    var context = ServiceContext.current ?? .topLevel
    tracer.extract(metadata, into: &context, using: MetadataExtractor())
    return try await ServiceContext.withValue(context) { try await body() }
  }

  /// Reads a key's first text value.
  private struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? { carrier[stringValues: key].first { _ in true } }
  }
}
