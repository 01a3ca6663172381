import FunnelCore
import Indicators
import Synchronization

/// What the engine feeds the dashboard's indicators with: the recorder the increments go to, the
/// ledger that makes the order feed idempotent, the answers' origins (for attributing events to a
/// scene and arm), the currency rates, and, with Redis, the directory that shares origins between
/// replicas. A value; thread-safe.
public struct LiveIndicators: Sendable {
  public let recorder: IndicatorRecorder
  public let ledger: any OrderLedger
  public let answers: RecentAnswers
  public let rates: CurrencyRates
  /// Shares answers' origins with the other replicas (nil: one process).
  public let directory: (any AnswerDirectory)?
  /// Answers to publish to `directory`, drained by the indicator service.
  public let published: AnswerQueue

  /// Feeds for `recorder`.
  public init(recorder: IndicatorRecorder = IndicatorRecorder(), ledger: any OrderLedger = MemoryOrderLedger(),
              answers: RecentAnswers = RecentAnswers(), rates: CurrencyRates = CurrencyRates(),
              directory: (any AnswerDirectory)? = nil) {
    self.recorder = recorder
    self.ledger = ledger
    self.answers = answers
    self.rates = rates
    self.directory = directory
    self.published = AnswerQueue()
  }

  /// Records an answer shown (`items` items) and remembers its origin for the events that follow.
  func answered(requestID: String, scene: String, arm: String, items: Int, nowMs: Int64) {
    let origin = AnswerOrigin(scene: scene, arm: arm)
    recorder.recordAnswer(origin, items: items, timestampMs: nowMs)
    answers.remember(requestID, origin)
    if directory != nil { published.append(requestID, origin) }
  }

  /// Records events stored for the first time; origins not known here are looked up in the
  /// directory (one round trip, only when there are such events; a failure loses their attribution only).
  func record(events: [BehaviourEvent], category: (ItemID) -> String?) async {
    var origins: [String: AnswerOrigin] = [:]
    var missing: [String] = []
    for event in events where !event.requestID.isEmpty && origins[event.requestID] == nil {
      if let origin = answers.origin(of: event.requestID) { origins[event.requestID] = origin } else { missing.append(event.requestID) }
    }
    if let directory, !missing.isEmpty, let found = try? await directory.lookup(missing) {
      origins.merge(found) { a, _ in a }
    }
    recorder.record(events: events, category: category) { origins[$0] }
  }
}

/// Answers waiting to be published to the `AnswerDirectory`; at most `capacity` wait (older ones
/// are dropped first when the directory is down). Thread-safe.
public final class AnswerQueue: Sendable {
  private let state = Mutex<[(String, AnswerOrigin)]>([])
  public let capacity = 100_000

  func append(_ requestID: String, _ origin: AnswerOrigin) {
    state.withLock { q in
      if q.count >= capacity { q.removeFirst(q.count / 2) }
      q.append((requestID, origin))
    }
  }

  /// The waiting answers, leaving none.
  public func drain() -> [(requestID: String, origin: AnswerOrigin)] {
    state.withLock { q in defer { q = [] }; return q.map { (requestID: $0.0, origin: $0.1) } }
  }
}
