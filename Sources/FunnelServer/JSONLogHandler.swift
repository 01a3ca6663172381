import FunnelJSON
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler writing one JSON object per line to standard error:
/// `{"ts":"2026-12-06T01:02:03.456Z","level":"info","logger":"funnel","msg":"…",<metadata>,"source":"…"}`,
/// metadata values as strings (nested ones rendered as swift-log prints them). swift-log ships no
/// JSON handler and the ones in the Swift mirror come with a tracing stack (swift-otel's logging);
/// this is small and dependency-free. Thread-safe: a line is built first and written with one
/// `write(2)` under a lock, so concurrent lines never interleave.
public struct JSONLogHandler: LogHandler {
  public var metadata: Logger.Metadata = [:]
  public var logLevel: Logger.Level = .info
  public var metadataProvider: Logger.MetadataProvider?
  let label: String
  private static let lock = Mutex(())

  /// A handler for loggers labelled `label`.
  public init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
    self.label = label
    self.metadataProvider = metadataProvider
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var all = metadata
    if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
    if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
    if let error = event.error { all["error"] = .string(String(describing: error)) }
    let out = Self.line(time: Self.timestamp(), level: event.level, label: label, message: event.message.description,
                        metadata: all, source: event.source)
    Self.lock.withLock { _ in
      out.withUnsafeBytes { bytes in
        var offset = 0
        while offset < bytes.count {
          let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
          if written <= 0 { break }
          offset += written
        }
      }
    }
  }

  /// One line: the fixed fields, then the metadata by key (a key named like a fixed field is left out).
  static func line(time: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata,
                   source: String) -> [UInt8] {
    var out = Array("{\"ts\":".utf8)
    JSONText.appendString(time, to: &out)
    out += Array(",\"level\":".utf8)
    JSONText.appendString(level.rawValue, to: &out)
    out += Array(",\"logger\":".utf8)
    JSONText.appendString(label, to: &out)
    out += Array(",\"msg\":".utf8)
    JSONText.appendString(message, to: &out)
    for key in metadata.keys.sorted() where !["ts", "level", "logger", "msg", "source"].contains(key) {
      out.append(UInt8(ascii: ","))
      JSONText.appendString(key, to: &out)
      out.append(UInt8(ascii: ":"))
      JSONText.appendString(text(metadata[key]!), to: &out)
    }
    out += Array(",\"source\":".utf8)
    JSONText.appendString(source, to: &out)
    out += Array("}\n".utf8)
    return out
  }

  private static func text(_ value: Logger.Metadata.Value) -> String {
    if case .string(let s) = value { return s }
    return value.description
  }

  /// UTC time with milliseconds, RFC 3339.
  static func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let millis = Int(now.tv_nsec / 1_000_000)
    let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
  }
}
