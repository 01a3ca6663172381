import Dispatch
import FunnelGRPC
import FunnelJSON
import Glibc
import Logging

/// Writes the Admin audit records as JSON lines (`{"time_ms", "caller", "credential", "rpc",
/// "arguments": {...}, "result", "duration_ms"}`) appended to `audit.file` (created 0600), on a
/// serial queue of its own so no call waits on the disk; with no file, each record is a log line
/// at notice level (`funnel.audit`). A record that cannot be written is logged as an error. Thread-safe.
final class AuditLogWriter: Sendable {
  private let fd: Int32?
  private let queue = DispatchQueue(label: "funnel.audit")
  private let logger: Logger

  /// Appends to `path` (nil or empty: log lines); throws naming the file when it cannot be opened.
  init(path: String?, logger: Logger) throws {
    self.logger = logger
    guard let path, !path.isEmpty else {
      fd = nil
      return
    }
    let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
    guard opened >= 0 else {
      throw AuditFileError(description: "audit.file: cannot open \(path) for appending (errno \(errno))")
    }
    fd = opened
  }

  deinit { if let fd { close(fd) } }

  /// Records `record` (returns at once).
  func record(_ record: AdminAuditRecord) {
    let line = Self.line(record)
    guard let fd else {
      logger.notice("admin call", metadata: ["audit": .string(String(decoding: line.dropLast(), as: UTF8.self))])
      return
    }
    queue.async { [logger] in
      let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if written != line.count { logger.error("audit record not written", metadata: ["errno": "\(errno)"]) }
    }
  }

  static func line(_ r: AdminAuditRecord) -> [UInt8] {
    var out = Array("{\"time_ms\":\(r.timeMs),\"caller\":".utf8)
    JSONText.appendString(r.caller, to: &out)
    out += Array(",\"credential\":".utf8)
    JSONText.appendString(r.credential, to: &out)
    out += Array(",\"rpc\":".utf8)
    JSONText.appendString(r.rpc, to: &out)
    out += Array(",\"arguments\":{".utf8)
    for (i, (key, value)) in r.arguments.sorted(by: { $0.key < $1.key }).enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      JSONText.appendString(key, to: &out)
      out.append(UInt8(ascii: ":"))
      JSONText.appendString(value, to: &out)
    }
    out += Array("},\"result\":".utf8)
    JSONText.appendString(r.result, to: &out)
    out += Array(",\"duration_ms\":\((r.durationMs * 1_000).rounded() / 1_000)}\n".utf8)
    return out
  }
}

struct AuditFileError: Error, CustomStringConvertible {
  let description: String
}
