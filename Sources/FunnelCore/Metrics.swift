import Synchronization

/// A monotonically increasing count for `/metrics`. Thread-safe, lock-free.
public final class MetricCounter: Sendable {
  private let value = Atomic<UInt64>(0)

  /// A counter at zero.
  public init() {}

  /// Adds `n` (default 1).
  public func add(_ n: Int = 1) { if n > 0 { value.wrappingAdd(UInt64(n), ordering: .relaxed) } }

  /// The count so far.
  public var count: UInt64 { value.load(ordering: .relaxed) }
}

/// A Prometheus-style histogram: counts of observations at or under each upper bound, their sum and
/// count. Thread-safe (one short lock per observation, O(log buckets)).
public final class MetricHistogram: Sendable {
  /// Upper bounds of the buckets, ascending (the implicit last bucket is +Inf).
  public let bounds: [Double]
  private struct State {
    var counts: [UInt64]
    var sum = 0.0
    var total: UInt64 = 0
  }
  private let state: Mutex<State>

  /// A histogram with these ascending upper bounds.
  public init(bounds: [Double]) {
    self.bounds = bounds
    self.state = Mutex(State(counts: [UInt64](repeating: 0, count: bounds.count + 1)))
  }

  /// Bounds for latencies in milliseconds, 0.25 ms to 30 s.
  public static func milliseconds() -> MetricHistogram {
    MetricHistogram(bounds: [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000])
  }

  /// Records one observation.
  public func observe(_ value: Double) {
    var lo = 0, hi = bounds.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if value <= bounds[mid] { hi = mid } else { lo = mid + 1 }
    }
    state.withLock { s in
      s.counts[lo] += 1
      s.sum += value
      s.total += 1
    }
  }

  /// (cumulative count per bound incl. +Inf last, sum, count).
  public func snapshot() -> (cumulative: [UInt64], sum: Double, count: UInt64) {
    let s = state.withLock { $0 }
    var running: UInt64 = 0
    return (s.counts.map { running += $0; return running }, s.sum, s.total)
  }

  /// The smallest bound with at least fraction `q` of observations at or under it (+Inf: nil).
  public func quantileBound(_ q: Double) -> Double? {
    let (cumulative, _, count) = snapshot()
    guard count > 0 else { return nil }
    let need = UInt64((q * Double(count)).rounded(.up))
    guard let i = cumulative.firstIndex(where: { $0 >= need }), i < bounds.count else { return nil }
    return bounds[i]
  }
}

/// Renders metrics in the Prometheus text exposition format (version 0.0.4).
public struct PrometheusText {
  /// The text so far.
  public private(set) var text = ""

  /// Empty output.
  public init() {}

  /// A counter line with its HELP and TYPE.
  public mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
    text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
  }

  /// One counter family with a line per label value (`name{label="value"} n`), HELP and TYPE once.
  public mutating func counters(_ name: String, _ help: String, label: String, _ values: [(String, UInt64)]) {
    text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
    for (value, count) in values { text += "\(name){\(label)=\"\(value)\"} \(count)\n" }
  }

  /// A gauge line with its HELP and TYPE.
  public mutating func gauge(_ name: String, _ help: String, _ value: Double) {
    text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
  }

  /// A histogram: one `_bucket` line per bound, `_sum` and `_count`.
  public mutating func histogram(_ name: String, _ help: String, _ histogram: MetricHistogram) {
    let (cumulative, sum, count) = histogram.snapshot()
    text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
    for (i, bound) in histogram.bounds.enumerated() { text += "\(name)_bucket{le=\"\(bound)\"} \(cumulative[i])\n" }
    text += "\(name)_bucket{le=\"+Inf\"} \(cumulative.last ?? 0)\n\(name)_sum \(sum)\n\(name)_count \(count)\n"
  }
}
