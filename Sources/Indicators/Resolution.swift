/// The rollup resolutions of the indicators: every field is summed into a bucket of each, keyed by
/// the bucket's start (Unix seconds, a multiple of `seconds`).
public enum Resolution: String, CaseIterable, Hashable, Sendable, Codable {
  case second
  case minute
  case hour

  /// Bucket width, seconds.
  public var seconds: Int64 {
    switch self {
    case .second: 1
    case .minute: 60
    case .hour: 3_600
    }
  }

  /// How long buckets are kept, seconds: 15 minutes of seconds (the live charts), 8 days of minutes
  /// (anomaly rules compare with the same minute of the previous week), 90 days of hours.
  public var retentionSeconds: Int64 {
    switch self {
    case .second: 900
    case .minute: 8 * 86_400
    case .hour: 90 * 86_400
    }
  }

  /// How long the fields with a dimension (`metric|dim=value`) are kept, seconds: seconds keep none
  /// (the live charts show totals), minutes 6 hours (the breakdowns show the last hour; a bucket may
  /// hold thousands of such fields, so keeping them for days would cost the most memory of all),
  /// hours all their retention.
  public var dimensionRetentionSeconds: Int64 {
    switch self {
    case .second: 0
    case .minute: 6 * 3_600
    case .hour: 90 * 86_400
    }
  }

  /// The start of the bucket holding Unix second `second`.
  public func bucket(of second: Int64) -> Int64 {
    let width = seconds
    return second >= 0 ? second / width * width : (second - width + 1) / width * width
  }
}
