/// The firing/resolved state machine of one rule, stepped by the evaluator with the time and
/// whether the condition holds (nil: the indicator cannot be computed, which holds the state):
/// ok -> pending when the condition starts holding; pending -> firing once it has held for
/// `forSeconds` (at once when 0); pending -> ok when it stops; firing -> ok (resolved) when it stops.
/// Each step returns the transition to notify, if any: only firing and resolved are notified, so a
/// receiver hears once per state change. A value type, stepped under the engine's lock.
public struct AlarmState: Sendable, Hashable {
  public enum Phase: String, Sendable, Hashable { case ok, pending, firing }
  public private(set) var phase = Phase.ok
  /// Unix ms the phase began (pending: when the condition started holding).
  public private(set) var since: Int64
  /// The last value seen (nil before one could be computed).
  public private(set) var value: Double?

  /// A rule in `ok` since `nowMs`.
  public init(nowMs: Int64) { since = nowMs }

  /// Steps the machine at `nowMs`; returns `.firing` or `.resolved` when that happened now.
  public mutating func step(nowMs: Int64, holds: Bool?, value: Double?, forMs: Int64) -> AlarmTransition.Kind? {
    if let value { self.value = value }
    guard let holds else { return nil }
    switch (phase, holds) {
    case (.ok, true):
      phase = .pending
      since = nowMs
      if forMs <= 0 {
        phase = .firing
        return .firing
      }
      return nil
    case (.pending, true):
      guard nowMs - since >= forMs else { return nil }
      phase = .firing
      since = nowMs
      return .firing
    case (.pending, false):
      phase = .ok
      since = nowMs
      return nil
    case (.firing, false):
      phase = .ok
      since = nowMs
      return .resolved
    case (.firing, true), (.ok, false):
      return nil
    }
  }
}

/// A notification: a rule started firing or resolved.
public struct AlarmTransition: Sendable, Hashable, Codable {
  public enum Kind: String, Sendable, Hashable, Codable { case firing, resolved }
  public var rule: String
  public var kind: Kind
  public var severity: String
  public var dedupKey: String
  /// Unix ms of the change.
  public var at: Int64
  /// The indicator's value when it changed.
  public var value: Double?
  public var threshold: Double
  /// One line for people: what the rule watches and what it saw.
  public var summary: String

  /// Creates a transition.
  public init(rule: String, kind: Kind, severity: String, dedupKey: String, at: Int64, value: Double?, threshold: Double, summary: String) {
    self.rule = rule
    self.kind = kind
    self.severity = severity
    self.dedupKey = dedupKey
    self.at = at
    self.value = value
    self.threshold = threshold
    self.summary = summary
  }
}
