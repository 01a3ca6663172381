import Foundation
import Indicators
import Serving

/// Service health for the dashboard, from the same numbers `/metrics` shows: once a second the
/// engine's registry is rendered and the few families the dashboard needs are read back (calls and
/// their duration buckets per gRPC method and HTTP route, degraded reads by stage and kind,
/// accepted events, event freshness, the updater's backlog); rates and percentiles are over the
/// last 10 seconds (differences of the cumulative counters). Reading the exposition keeps one
/// source of truth: swift-prometheus offers no way to read a metric's value back. Not thread-safe:
/// one sampler per indicator service.
struct HealthSampler {
  /// Cumulative values by series (`name{labels}` as rendered), one snapshot per second.
  private var snapshots: [(at: Int64, values: [String: Double])] = []
  static let window = 10

  /// Families read; the rest of the exposition is skipped.
  static let families = ["funnel_grpc_requests_total", "funnel_grpc_request_duration_seconds_bucket", "funnel_http_requests_total",
                         "funnel_http_request_duration_seconds_bucket", "funnel_store_timeouts_total", "funnel_store_errors_total",
                         "funnel_events_accepted_total", "funnel_event_freshness_seconds_bucket", "funnel_updater_lag_entries",
                         "funnel_updater_pending_entries"]

  /// Calls, failed calls (gRPC status other than OK, HTTP 5xx), degraded store reads and accepted
  /// events since the previous snapshot: the counts the indicator rollups keep as `health.*`
  /// fields (summed over the fleet, so alarm rules can watch error rates like trade).
  func increments() -> [String: Double] {
    guard snapshots.count >= 2 else { return [:] }
    let (previous, latest) = (snapshots[snapshots.count - 2].values, snapshots[snapshots.count - 1].values)
    var out: [String: Double] = [:]
    for (key, value) in latest {
      let delta = max(0, value - (previous[key] ?? 0))
      guard delta > 0 else { continue }
      let (name, labels) = Self.split(key)
      switch name {
      case "funnel_grpc_requests_total":
        out["health.calls", default: 0] += delta
        if labels["code"] != "OK" { out["health.errors", default: 0] += delta }
      case "funnel_http_requests_total":
        out["health.calls", default: 0] += delta
        if (Int(labels["code"] ?? "") ?? 0) >= 500 { out["health.errors", default: 0] += delta }
      case "funnel_store_timeouts_total", "funnel_store_errors_total": out["health.degraded_reads", default: 0] += delta
      case "funnel_events_accepted_total": out["health.events", default: 0] += delta
      default: break
      }
    }
    return out
  }

  /// Takes a snapshot of `exposition` at `nowMs` and returns the health over the window.
  mutating func sample(_ exposition: [UInt8], nowMs: Int64, replica: String, stores: [String: String],
                       index: String, model: String) -> ReplicaHealth {
    let values = Self.parse(exposition)
    snapshots.append((nowMs, values))
    if snapshots.count > Self.window + 1 { snapshots.removeFirst(snapshots.count - Self.window - 1) }
    let first = snapshots[0]
    let seconds = max(0.001, Double(nowMs - first.at) / 1000)
    var delta: [String: Double] = [:]
    for (key, value) in values { delta[key] = max(0, value - (first.values[key] ?? 0)) }

    var calls: [String: Double] = [:], errors: [String: [String: Double]] = [:]
    var buckets: [String: [(le: Double, count: Double)]] = [:]
    var degraded: [String: Double] = [:], freshness: [(le: Double, count: Double)] = []
    var events = 0.0
    for (key, value) in delta {
      let (name, labels) = Self.split(key)
      switch name {
      case "funnel_grpc_requests_total", "funnel_http_requests_total":
        let rpc = name.hasPrefix("funnel_grpc") ? labels["method"] ?? "?" : "HTTP " + (labels["route"] ?? "?")
        calls[rpc, default: 0] += value
        let code = labels["code"] ?? "OK"
        let failed = name.hasPrefix("funnel_grpc") ? code != "OK" : (Int(code) ?? 0) >= 500
        if failed, value > 0 { errors[rpc, default: [:]][code, default: 0] += value / seconds }
      case "funnel_grpc_request_duration_seconds_bucket", "funnel_http_request_duration_seconds_bucket":
        let rpc = name.hasPrefix("funnel_grpc") ? labels["method"] ?? "?" : "HTTP " + (labels["route"] ?? "?")
        if let le = labels["le"].flatMap(Self.bound) { buckets[rpc, default: []].append((le, value)) }
      case "funnel_store_timeouts_total", "funnel_store_errors_total":
        if value > 0 { degraded["\(labels["stage"] ?? "?") \(name.contains("timeouts") ? "timeout" : "error")", default: 0] += value / seconds }
      case "funnel_events_accepted_total": events += value
      case "funnel_event_freshness_seconds_bucket":
        if let le = labels["le"].flatMap(Self.bound) { freshness.append((le, value)) }
      default: break
      }
    }
    var rpcs: [RPCHealth] = []
    for (rpc, count) in calls where count > 0 {
      let b = buckets[rpc] ?? []
      let p50: Double? = Self.quantile(0.5, b).map { $0 * 1000 }
      let p99: Double? = Self.quantile(0.99, b).map { $0 * 1000 }
      rpcs.append(RPCHealth(rpc: rpc, perSecond: count / seconds, p50Ms: p50, p99Ms: p99, errors: errors[rpc] ?? [:]))
    }
    rpcs.sort { $0.perSecond != $1.perSecond ? $0.perSecond > $1.perSecond : $0.rpc < $1.rpc }
    return ReplicaHealth(replica: replica, at: nowMs, rpcs: rpcs, degraded: degraded, eventsPerSecond: events / seconds,
                         freshnessP99Ms: Self.quantile(0.99, freshness).map { $0 * 1000 },
                         consumerLag: values["funnel_updater_lag_entries"] ?? 0,
                         consumerPending: values["funnel_updater_pending_entries"] ?? 0,
                         stores: stores, indexVersion: index, modelVersion: model)
  }

  /// The `q` quantile of cumulative histogram buckets (upper bound, count), interpolated linearly
  /// within the bucket as Prometheus's `histogram_quantile` does; nil without observations.
  static func quantile(_ q: Double, _ buckets: [(le: Double, count: Double)]) -> Double? {
    let sorted = buckets.sorted { $0.le < $1.le }
    guard let total = sorted.last?.count, total > 0 else { return nil }
    let rank = q * total
    var (lower, below) = (0.0, 0.0)
    for (le, count) in sorted {
      if count >= rank {
        guard le.isFinite else { return lower }
        let inBucket = count - below
        return inBucket > 0 ? lower + (le - lower) * (rank - below) / inBucket : le
      }
      (lower, below) = (le, count)
    }
    return lower
  }

  /// The series of `families` in a Prometheus text exposition: `name{labels}` -> value.
  static func parse(_ text: [UInt8]) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in text.split(separator: UInt8(ascii: "\n")) where line.first != UInt8(ascii: "#") {
      guard let space = line.lastIndex(of: UInt8(ascii: " ")) else { continue }
      let key = String(decoding: line[line.startIndex..<space], as: UTF8.self)
      let name = key.prefix { $0 != "{" }
      guard families.contains(String(name)), let value = Double(String(decoding: line[(space + 1)...], as: UTF8.self)) else { continue }
      out[key] = value
    }
    return out
  }

  /// `name{a="x",b="y"}` as the name and its labels (Funnel's label values hold no quotes or commas).
  static func split(_ key: String) -> (String, [String: String]) {
    guard let open = key.firstIndex(of: "{"), key.last == "}" else { return (key, [:]) }
    var labels: [String: String] = [:]
    for pair in key[key.index(after: open)..<key.index(before: key.endIndex)].split(separator: ",") {
      let parts = pair.split(separator: "=", maxSplits: 1)
      guard parts.count == 2 else { continue }
      labels[String(parts[0])] = String(parts[1].trimmingCharacters(in: ["\""]))
    }
    return (String(key[..<open]), labels)
  }

  static func bound(_ text: String) -> Double? { text == "+Inf" ? .infinity : Double(text) }
}
