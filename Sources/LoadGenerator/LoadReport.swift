import Foundation
import FunnelCore
import Histogram

/// Latency and outcome counts of one load run. Latencies are from each call's *intended* send time
/// (open loop), in microseconds, so time a stalled server makes the generator wait is counted.
public struct LoadReport: Sendable {
  public var intendedRate: Double
  public var seconds: Double
  public var sent = 0
  public var succeeded = 0
  /// Failed calls by gRPC status code name; `CLIENT_OVERLOADED` when the in-flight cap refused a send.
  public var errors: [String: Int] = [:]
  public var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

  /// An empty report for a run at `intendedRate` calls/s.
  public init(intendedRate: Double, seconds: Double) {
    self.intendedRate = intendedRate
    self.seconds = seconds
  }

  /// Calls per second that completed (successes and failures).
  public var achievedRate: Double { seconds > 0 ? Double(succeeded + errorCount) / seconds : 0 }
  public var errorCount: Int { errors.values.reduce(0, +) }
  /// Failed calls as a fraction of calls made.
  public var errorRatio: Double { sent == 0 ? 0 : Double(errorCount) / Double(sent) }

  /// Latency at `percentile` (0-100), in milliseconds.
  public func millis(_ percentile: Double) -> Double { Double(latency.valueAtPercentile(percentile)) / 1_000 }

  /// The final table.
  public var table: String {
    let codes = errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    return """
      target rate \(String(format: "%.0f", intendedRate))/s, achieved \(String(format: "%.1f", achievedRate))/s over \(String(format: "%.1f", seconds)) s
      calls \(sent), ok \(succeeded), errors \(errorCount)\(codes.isEmpty ? "" : " (\(codes))")
      latency ms   p50 \(f(millis(50)))   p90 \(f(millis(90)))   p99 \(f(millis(99)))   p99.9 \(f(millis(99.9)))   max \(f(Double(latency.max) / 1_000))
      """
  }

  /// The report as JSON (milliseconds).
  public var json: String {
    let object: [String: Any] = [
      "target_rate": intendedRate, "achieved_rate": achievedRate, "seconds": seconds, "calls": sent, "ok": succeeded,
      "errors": errors, "error_ratio": errorRatio,
      "latency_ms": ["p50": millis(50), "p90": millis(90), "p99": millis(99), "p99.9": millis(99.9),
                     "max": Double(latency.max) / 1_000, "mean": latency.mean / 1_000],
    ]
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }

  private func f(_ x: Double) -> String { String(format: "%.2f", x) }
}

/// Service-level objectives a run must meet: `p99<10ms,errors<0.1%` (percentiles p50, p90, p99,
/// p99.9 in ms or s; errors in percent of calls).
public struct LoadSLO: Sendable, CustomStringConvertible {
  /// Latency bounds: (percentile, milliseconds).
  public var latency: [(Double, Double)] = []
  /// Highest error share, percent.
  public var maxErrorPercent: Double?

  /// Parses `text`; throws `invalidArgument` naming the bad clause.
  public init(_ text: String) throws {
    for clause in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !clause.isEmpty {
      let parts = clause.split(separator: "<", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { throw FunnelError(.invalidArgument, "--slo: '\(clause)' is not NAME<VALUE") }
      let (name, value) = (parts[0].lowercased(), parts[1])
      if name == "errors" {
        guard value.hasSuffix("%"), let p = Double(value.dropLast()), p >= 0 else {
          throw FunnelError(.invalidArgument, "--slo: '\(clause)': errors take a percentage, e.g. errors<0.1%")
        }
        maxErrorPercent = p
        continue
      }
      guard name.hasPrefix("p"), let percentile = Double(name.dropFirst()), percentile > 0, percentile < 100 else {
        throw FunnelError(.invalidArgument, "--slo: '\(clause)': expected p50, p90, p99, p99.9 or errors")
      }
      latency.append((percentile, try LoadDuration.milliseconds(value, what: "--slo '\(clause)'")))
    }
  }

  /// The clauses `report` misses, as text (empty: met).
  public func misses(_ report: LoadReport) -> [String] {
    var missed = latency.compactMap { p, ms in
      report.millis(p) < ms ? nil : "p\(Self.trim(p)) \(String(format: "%.2f", report.millis(p))) ms >= \(Self.trim(ms)) ms"
    }
    if let maxErrorPercent, report.errorRatio * 100 >= maxErrorPercent, report.sent > 0 {
      missed.append("errors \(String(format: "%.3f", report.errorRatio * 100))% >= \(Self.trim(maxErrorPercent))%")
    }
    return missed
  }

  public var description: String {
    (latency.map { "p\(Self.trim($0.0))<\(Self.trim($0.1))ms" } + (maxErrorPercent.map { ["errors<\(Self.trim($0))%"] } ?? []))
      .joined(separator: ",")
  }

  static func trim(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}

/// Durations as written on the command line: `30s`, `2m`, `500ms`, `1h`.
public enum LoadDuration {
  /// The duration in milliseconds; throws naming `what` when malformed.
  public static func milliseconds(_ text: String, what: String) throws -> Double {
    let units: [(String, Double)] = [("ms", 1), ("us", 0.001), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
      if let n = Double(text.dropLast(suffix.count)), n >= 0, n.isFinite { return n * scale }
    }
    throw FunnelError(.invalidArgument, "\(what): '\(text)' is not a duration like 500ms, 30s, 2m")
  }
}
