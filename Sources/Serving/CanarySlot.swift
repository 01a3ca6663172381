import Experiments
import Ranking
import Synchronization

/// The canary this replica applies, if any: the trial (`Canary`) and the ranker of its candidate
/// model. Set by the canary follower, read by every request (one lock, held for a copy).
/// Thread-safe.
final class CanarySlot: Sendable {
  private let current = Mutex<(canary: Canary, ranker: CandidateRanker)?>(nil)
  /// The cascade a candidate model ranks with (the serving model's).
  private let cascade: ModelCascade

  init(cascade: ModelCascade = .init()) { self.cascade = cascade }

  /// The trial and its ranker.
  var value: (canary: Canary, ranker: CandidateRanker)? { current.withLock { $0 } }

  /// Replaces the trial (nil: none).
  func set(_ canary: Canary?, model: (any ScoringModel)?) {
    current.withLock { slot in
      if let canary, let model { slot = (canary, CandidateRanker(model: model, cascade: cascade)) } else { slot = nil }
    }
  }
}
