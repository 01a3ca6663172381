/// The anomaly scores of the alarm rules. Pure functions and value types; thread-safe.
public enum AnomalyScore {
  /// The robust z-score of `value` against `history` (the same window on previous days):
  /// (value - median) / scale, where scale is 1.4826 x the median absolute deviation, but at least
  /// the Poisson noise of the median (sqrt(max(median, 1))): counts in quiet hours vary by that much
  /// even when nothing is wrong. nil without history.
  public static func robustZ(_ value: Double, history: [Double]) -> Double? {
    guard !history.isEmpty else { return nil }
    let m = median(history)
    let mad = median(history.map { abs($0 - m) })
    let scale = max(1.4826 * mad, max(m, 1).squareRoot())
    return (value - m) / scale
  }

  /// The median of `values` (the mean of the middle two for an even count). O(n log n).
  public static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
}

/// An exponentially weighted mean and variance (West's update): `z(of:)` scores a new value against
/// the values seen so far, `update` adds it. Needs `warmup` values before it scores.
public struct EWMABand: Sendable, Hashable {
  public let alpha: Double
  public let warmup: Int
  public private(set) var mean = 0.0
  public private(set) var variance = 0.0
  public private(set) var count = 0

  /// A band with weight `alpha` for each new value.
  public init(alpha: Double, warmup: Int = 30) {
    self.alpha = alpha
    self.warmup = warmup
  }

  /// (value - mean) / max(standard deviation, Poisson floor); nil until `warmup` values were seen.
  public func z(of value: Double) -> Double? {
    guard count >= warmup else { return nil }
    let scale = max(variance.squareRoot(), max(mean, 1).squareRoot())
    return (value - mean) / scale
  }

  /// Adds `value`.
  public mutating func update(_ value: Double) {
    if count == 0 {
      mean = value
    } else {
      let delta = value - mean
      mean += alpha * delta
      variance = (1 - alpha) * (variance + alpha * delta * delta)
    }
    count += 1
  }
}
