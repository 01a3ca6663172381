import Logging
import OTel
import Serving

/// How `funnel serve` writes its log lines (`log.format`).
public enum LogFormat: String, CaseIterable, Sendable {
  /// swift-log's stream format, for people reading a terminal.
  case text
  /// One JSON object per line (`JSONLogHandler`), for log collectors.
  case json

  /// Bootstraps swift-log for `options` (`log.format`, `log.level`), writing to standard error. Every
  /// line logged inside a request carries its `request_id`; with tracing on (`tracing.otlpEndpoint`),
  /// its `trace_id` and `span_id` too (swift-otel's metadata provider). Call once per process.
  public static func bootstrap(_ options: ServerOptions) {
    let traceIDs = options.otlpEndpoint.isEmpty ? nil : OTel.makeLoggingMetadataProvider()
    let provider = Logger.MetadataProvider.multiplex([RequestID.metadataProvider] + [traceIDs].compactMap { $0 })
    options.logFormat.bootstrap(level: options.logLevel, metadataProvider: provider)
  }

  /// Bootstraps swift-log with this format at `level`, writing to standard error. Call once per process.
  public func bootstrap(level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
    switch self {
    case .text:
      LoggingSystem.bootstrap({ label, provider in
        var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
        handler.logLevel = level
        return handler
      }, metadataProvider: metadataProvider)
    case .json:
      LoggingSystem.bootstrap({ label, provider in
        var handler = JSONLogHandler(label: label, metadataProvider: provider)
        handler.logLevel = level
        return handler
      }, metadataProvider: metadataProvider)
    }
  }
}
