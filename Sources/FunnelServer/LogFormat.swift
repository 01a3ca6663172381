import Logging

/// How `funnel serve` writes its log lines (`log.format`).
public enum LogFormat: String, CaseIterable, Sendable {
  /// swift-log's stream format, for people reading a terminal.
  case text
  /// One JSON object per line (`JSONLogHandler`), for log collectors.
  case json

  /// Bootstraps swift-log with this format at `level`, writing to standard error. Call once per process.
  public func bootstrap(level: Logger.Level) {
    switch self {
    case .text:
      LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
      }
    case .json:
      LoggingSystem.bootstrap { label in
        var handler = JSONLogHandler(label: label)
        handler.logLevel = level
        return handler
      }
    }
  }
}
