import Indicators
import Synchronization

/// Evaluates the alarm rules against the indicator rollups, once per call of `evaluate` (the
/// indicator service calls it every second): reads each rule's indicator through an
/// `IndicatorBoard`, decides the condition, steps the rule's `AlarmState`, and returns the
/// transitions to notify. History for the anomaly rules is read once per complete minute and kept.
/// Thread-safe; `evaluate` is not meant to run concurrently with itself (a call waits for the last).
public actor AlarmEngine {
  public let rules: [AlarmRule]
  private let board: IndicatorBoard
  private var states: [String: AlarmState]
  /// Per rule: the last complete minute scored, and the EWMA band.
  private var lastMinute: [String: Int64] = [:]
  private var bands: [String: EWMABand] = [:]
  private var anomalyHolds: [String: (holds: Bool?, value: Double?)] = [:]

  /// An engine for `rules` (validated) over `board`, every rule `ok` as of `nowMs`.
  public init(rules: [AlarmRule], board: IndicatorBoard, nowMs: Int64) {
    self.rules = rules
    self.board = board
    self.states = Dictionary(uniqueKeysWithValues: rules.map { ($0.name, AlarmState(nowMs: nowMs)) })
  }

  /// Every rule's state for the dashboard.
  public func statuses() -> [AlarmStatus] {
    rules.map { rule in
      let state = states[rule.name] ?? AlarmState(nowMs: 0)
      return AlarmStatus(rule: rule.name, severity: rule.level, state: state.phase.rawValue, since: state.since,
                         value: state.value, summary: Self.describe(rule))
    }
  }

  /// Evaluates every rule as of `nowMs`; returns the transitions (firing, resolved) in rule order.
  /// A rule whose indicator cannot be read (store down) keeps its state.
  public func evaluate(nowMs: Int64) async -> [AlarmTransition] {
    var out: [AlarmTransition] = []
    let nowSecond = nowMs / 1000
    for rule in rules {
      let decision: (holds: Bool?, value: Double?)
      do {
        decision = try await decide(rule, nowSecond: nowSecond)
      } catch {
        continue
      }
      guard var state = states[rule.name] else { continue }
      if let kind = state.step(nowMs: nowMs, holds: decision.holds, value: decision.value, forMs: (rule.forSeconds ?? 0) * 1000) {
        out.append(AlarmTransition(rule: rule.name, kind: kind, severity: rule.level, dedupKey: rule.key, at: nowMs,
                                   value: decision.value, threshold: rule.threshold, summary: Self.describe(rule)))
      }
      states[rule.name] = state
    }
    return out
  }

  private func decide(_ rule: AlarmRule, nowSecond: Int64) async throws -> (holds: Bool?, value: Double?) {
    switch rule.kind {
    case .above, .below:
      guard let value = try await value(rule, seconds: rule.windowSeconds, endingAt: nowSecond) else { return (nil, nil) }
      return (rule.kind == .above ? value > rule.threshold : value < rule.threshold, value)
    case .change:
      guard let current = try await value(rule, seconds: rule.windowSeconds, endingAt: nowSecond),
            let before = try await value(rule, seconds: rule.windowSeconds, endingAt: nowSecond - (rule.comparedToSecondsAgo ?? 0)),
            before > 0 else { return (nil, nil) }
      let change = (current - before) / before
      return (rule.threshold < 0 ? change <= rule.threshold : change >= rule.threshold, change)
    case .robustZ, .ewma:
      // Complete minutes only: the value changes once a minute, and history is whole minutes.
      let lastComplete = Resolution.minute.bucket(of: nowSecond) - 1
      if lastMinute[rule.name] == lastComplete, let cached = anomalyHolds[rule.name] { return cached }
      let decision = try await anomaly(rule, endingAt: lastComplete)
      lastMinute[rule.name] = lastComplete
      anomalyHolds[rule.name] = decision
      return decision
    }
  }

  private func anomaly(_ rule: AlarmRule, endingAt second: Int64) async throws -> (holds: Bool?, value: Double?) {
    // History past the minute rollups' retention, and any history of a field with a dimension (6 hours
    // in the minutes), is read from the hours (the rule's window is then whole hours), and the current
    // value from the same resolution, so the two compare.
    let step = Int64(rule.historyStepDays ?? 1) * 86_400
    let reach = Int64(rule.historyDays ?? 7) * step + rule.windowSeconds
    let dimensional = IndicatorField.hasDimensions(rule.indicator) || rule.per.map(IndicatorField.hasDimensions) == true
    let resolution: Resolution = dimensional || (rule.kind == .robustZ && reach >= Resolution.minute.retentionSeconds) ? .hour : .minute
    let end = resolution == .hour ? Resolution.hour.bucket(of: second + 1) - 1 : second
    guard let value = try await value(rule, seconds: rule.windowSeconds, endingAt: end, resolution: resolution) else { return (nil, nil) }
    let z: Double?
    if rule.kind == .robustZ {
      var history: [Double] = []
      for d in 1...Int64(rule.historyDays ?? 7) {
        if let past = try await self.value(rule, seconds: rule.windowSeconds, endingAt: end - d * step, resolution: resolution, history: true) {
          history.append(past)
        }
      }
      z = history.count >= (rule.minimumHistory ?? 3) ? AnomalyScore.robustZ(value, history: history) : nil
    } else {
      var band = bands[rule.name] ?? EWMABand(alpha: rule.alpha ?? 0.1)
      z = band.z(of: value)
      band.update(value)
      bands[rule.name] = band
    }
    // No score yet (too little history, or the band still learning): nothing to show or decide.
    guard let z else { return (nil, nil) }
    switch rule.direction ?? .both {
    case .both: return (abs(z) > rule.threshold, z)
    case .up: return (z > rule.threshold, z)
    case .down: return (z < -rule.threshold, z)
    }
  }

  /// The rule's indicator over `seconds` ending with `endingAt`; nil when a ratio's denominator is
  /// under its minimum, or (history) when the window holds no data at all (before the shop existed).
  private func value(_ rule: AlarmRule, seconds: Int64, endingAt: Int64, resolution: Resolution? = nil,
                     history: Bool = false) async throws -> Double? {
    let dimensional = IndicatorField.hasDimensions(rule.indicator) || rule.per.map(IndicatorField.hasDimensions) == true
    let sums: [String: Double]
    if let resolution {
      let buckets = try await board.store.buckets(resolution, from: endingAt - seconds + 1, through: endingAt, dimensions: dimensional)
      if history && buckets.isEmpty { return nil }
      sums = buckets.values.reduce(into: [:]) { $0.merge($1, uniquingKeysWith: +) }
    } else {
      sums = try await board.sums(seconds: seconds, endingAt: endingAt, dimensions: dimensional)
    }
    let numerator = sums[rule.indicator] ?? 0
    guard let per = rule.per else { return numerator }
    let denominator = sums[per] ?? 0
    guard denominator >= max(rule.minimumDenominator ?? 1, Double.leastNonzeroMagnitude) else { return nil }
    return numerator / denominator
  }

  /// One line describing what `rule` watches.
  static func describe(_ rule: AlarmRule) -> String {
    let what = rule.per.map { "\(rule.indicator) per \($0)" } ?? rule.indicator
    let window = "over \(rule.windowSeconds) s"
    let lasting = (rule.forSeconds ?? 0) > 0 ? " for \(rule.forSeconds!) s" : ""
    switch rule.kind {
    case .above: return "\(what) \(window) above \(rule.threshold)\(lasting)"
    case .below: return "\(what) \(window) below \(rule.threshold)\(lasting)"
    case .change: return "\(what) \(window) changed by \(rule.threshold * 100)% against \(rule.comparedToSecondsAgo ?? 0) s earlier\(lasting)"
    case .robustZ: return "\(what) \(window) off its usual level (robust z beyond \(rule.threshold), \(rule.historyDays ?? 7) previous \(rule.historyStepDays == 7 ? "weeks" : "days"))\(lasting)"
    case .ewma: return "\(what) \(window) outside its EWMA band (\(rule.threshold) sd)\(lasting)"
    }
  }
}
