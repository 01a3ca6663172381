import Indicators

/// One alarm rule of the configuration (`alarms.rules`): an indicator (a rollup field, or the ratio
/// of two) over a window, a condition, how long the condition must hold before the alarm fires, a
/// severity and a de-duplication key that notifications carry. Conditions:
/// - `above` / `below`: the value against `threshold`;
/// - `change`: the relative change against the same window `comparedToSecondsAgo` earlier (fires
///   when the change is at or past `threshold`: `-0.5` a drop by half or more, `1` a doubling);
/// - `robust_z`: the value against the same window on each of the `historyDays` previous days
///   (every `historyStepDays`: 1 for days, 7 for weeks), as a robust z-score (median and MAD, with a
///   Poisson floor on the scale so quiet hours do not fire on noise), past `threshold` in `direction`;
/// - `ewma`: the value against an exponentially weighted mean and variance of its past values (one
///   per complete minute, weight `alpha`), outside `threshold` standard deviations in `direction`.
/// Anomaly rules use complete minutes only (the window's last minute is the last complete one).
public struct AlarmRule: Codable, Sendable, Hashable {
  public enum Kind: String, Codable, Sendable, Hashable { case above, below, change, robustZ = "robust_z", ewma }
  public enum Direction: String, Codable, Sendable, Hashable { case both, up, down }

  public var name: String
  public var kind: Kind
  /// A rollup field without dimensions or with (`orders.cancelled`, `amount.paid|country=GB`).
  public var indicator: String
  /// When set, the indicator is `indicator / per` (`orders.cancelled` per `orders.created`), and is
  /// not computable (never fires) while `per` is below `minimumDenominator`.
  public var per: String?
  public var minimumDenominator: Double?
  /// The window the indicator is summed over, seconds.
  public var windowSeconds: Int64
  public var threshold: Double
  public var comparedToSecondsAgo: Int64?
  public var historyDays: Int?
  public var historyStepDays: Int?
  /// Previous days with data the anomaly rules need before they decide (default 3).
  public var minimumHistory: Int?
  public var alpha: Double?
  public var direction: Direction?
  /// How long the condition must hold before the alarm fires, seconds (0: at once).
  public var forSeconds: Int64?
  /// `info`, `warning`, `critical` (default `warning`).
  public var severity: String?
  /// Key receivers de-duplicate notifications by (default: the name).
  public var dedupKey: String?

  /// A rule; see the type's comment for the fields.
  public init(name: String, kind: Kind, indicator: String, per: String? = nil, minimumDenominator: Double? = nil,
              windowSeconds: Int64, threshold: Double, comparedToSecondsAgo: Int64? = nil, historyDays: Int? = nil,
              historyStepDays: Int? = nil, minimumHistory: Int? = nil, alpha: Double? = nil, direction: Direction? = nil,
              forSeconds: Int64? = nil, severity: String? = nil, dedupKey: String? = nil) {
    self.name = name
    self.kind = kind
    self.indicator = indicator
    self.per = per
    self.minimumDenominator = minimumDenominator
    self.windowSeconds = windowSeconds
    self.threshold = threshold
    self.comparedToSecondsAgo = comparedToSecondsAgo
    self.historyDays = historyDays
    self.historyStepDays = historyStepDays
    self.minimumHistory = minimumHistory
    self.alpha = alpha
    self.direction = direction
    self.forSeconds = forSeconds
    self.severity = severity
    self.dedupKey = dedupKey
  }

  /// Throws `AlarmRuleError` naming the first bad field (`alarms.rules[2].windowSeconds`).
  public func validate(at path: String) throws {
    func fail(_ field: String, _ message: String) -> AlarmRuleError { AlarmRuleError(message: "\(path).\(field): \(message)") }
    guard (1...64).contains(name.utf8.count),
          name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.".unicodeScalars.contains($0) })
    else { throw fail("name", "'\(name.prefix(80))' must be 1...64 letters, digits, '-', '_' or '.'") }
    guard !indicator.isEmpty, indicator.utf8.count <= 256 else { throw fail("indicator", "must be 1...256 bytes") }
    guard (1...Resolution.minute.retentionSeconds).contains(windowSeconds) else {
      throw fail("windowSeconds", "\(windowSeconds) is not in 1...\(Resolution.minute.retentionSeconds)")
    }
    guard threshold.isFinite else { throw fail("threshold", "must be a finite number") }
    if let forSeconds, !(0...86_400).contains(forSeconds) { throw fail("forSeconds", "\(forSeconds) is not in 0...86400") }
    if let severity, !["info", "warning", "critical"].contains(severity) {
      throw fail("severity", "'\(severity.prefix(40))' is not info, warning or critical")
    }
    if let minimumDenominator, !(minimumDenominator.isFinite && minimumDenominator >= 0) {
      throw fail("minimumDenominator", "must be a finite number >= 0")
    }
    // Fields with a dimension stay 6 hours in the minute rollups, then only in the hours.
    let dimensional = IndicatorField.hasDimensions(indicator) || per.map(IndicatorField.hasDimensions) == true
    let minuteDimensions = Resolution.minute.dimensionRetentionSeconds
    if dimensional, kind == .above || kind == .below, windowSeconds > minuteDimensions {
      throw fail("windowSeconds", "at most \(minuteDimensions) for an indicator with a dimension")
    }
    if dimensional, kind == .robustZ || kind == .ewma, windowSeconds % 3_600 != 0 {
      throw fail("windowSeconds", "must be whole hours for an anomaly rule on an indicator with a dimension (read from the hour rollups)")
    }
    switch kind {
    case .above, .below: break
    case .change:
      if dimensional, (comparedToSecondsAgo ?? 0) + windowSeconds > minuteDimensions {
        throw fail("comparedToSecondsAgo", "with windowSeconds at most \(minuteDimensions) for an indicator with a dimension")
      }
      guard let ago = comparedToSecondsAgo, ago >= windowSeconds, ago <= Resolution.minute.retentionSeconds else {
        throw fail("comparedToSecondsAgo", "needs a value in windowSeconds...\(Resolution.minute.retentionSeconds)")
      }
    case .robustZ:
      guard windowSeconds % 60 == 0 else { throw fail("windowSeconds", "must be whole minutes for robust_z") }
      guard threshold > 0 else { throw fail("threshold", "must be > 0 for robust_z") }
      let days = historyDays ?? 7, step = historyStepDays ?? 1
      guard (1...60).contains(days) else { throw fail("historyDays", "\(days) is not in 1...60") }
      guard step == 1 || step == 7 else { throw fail("historyStepDays", "must be 1 (days) or 7 (weeks)") }
      guard Int64(days * step) * 86_400 < Resolution.minute.retentionSeconds || windowSeconds % 3_600 == 0 else {
        throw fail("historyDays", "reaches past the minute rollups (8 days): use whole hours for windowSeconds")
      }
      if let m = minimumHistory, !(1...days).contains(m) { throw fail("minimumHistory", "\(m) is not in 1...historyDays") }
    case .ewma:
      guard windowSeconds % 60 == 0 else { throw fail("windowSeconds", "must be whole minutes for ewma") }
      guard threshold > 0 else { throw fail("threshold", "must be > 0 for ewma") }
      if let alpha, !(alpha > 0 && alpha < 1) { throw fail("alpha", "must be in (0, 1)") }
    }
  }

  /// The key notifications carry.
  public var key: String { dedupKey ?? name }
  /// The severity, `warning` by default.
  public var level: String { severity ?? "warning" }
}

/// A rule that cannot be used, naming the field.
public struct AlarmRuleError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
