import GRPCCore
import Tracing

/// A caller's trace context read from gRPC request metadata (`traceparent` and `tracestate` with a
/// W3C propagator, whatever keys the tracer's instrument reads) parents the call's server span, whose
/// own context is returned in the response metadata; the engine's request span is its child.
enum TraceContextExtraction {
  /// Serves one call in a server span named `name` (`funnel.v1.Recommender/Recommend`) that continues
  /// the caller's trace read from `metadata`; the span's context goes back in the response metadata
  /// (`traceparent`), as the HTTP listener returns it in headers. With the no-op tracer this adds
  /// no metadata.
  static func serving<Message: Sendable>(_ name: String, _ metadata: Metadata, tracer: any Tracer,
                                         _ body: () async throws -> Message) async throws -> ServerResponse<Message> {
    var context = ServiceContext.current ?? .topLevel
    tracer.extract(metadata, into: &context, using: MetadataExtractor())
    return try await tracer.withSpan(name, context: context, ofKind: .server) { span in
      let message = try await body()
      var out = Metadata()
      tracer.inject(span.context, into: &out, using: MetadataInjector())
      return ServerResponse(message: message, metadata: out)
    }
  }

  /// Writes a key's text value.
  private struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout Metadata) { carrier.addString(value, forKey: key) }
  }

  /// Reads a key's first text value.
  private struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? { carrier[stringValues: key].first { _ in true } }
  }
}
