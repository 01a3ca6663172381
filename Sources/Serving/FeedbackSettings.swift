import Experiments
import FeatureStore
import FunnelCore
import IndexFormat
import Ranking

/// The feedback loop's settings: experiments, the models their arms score with, and where exposures
/// and accepted events are kept for attribution, reports and training exports.
public struct FeedbackSettings: Sendable {
  /// Experiments and their arms.
  public var plan = ExperimentPlan()
  /// Models of arms that name one, by `EXPERIMENT:ARM`.
  public var armModels: [String: any ScoringModel] = [:]
  /// Where exposures go (nil: not logged).
  public var exposureLog: (any ExposureLog)?
  /// Accepted events, for attribution (nil: reports unavailable).
  public var history: (any EventHistory)?
  /// Log the model inputs of each shown item with its exposure (for training exports).
  public var logFeatures = true
  /// Exposures buffered between the request path and the log; more are dropped and counted.
  public var bufferCapacity = 100_000
  /// Bytes of exposures buffered (`Exposure.approximateBytes`); more are dropped and counted.
  public var bufferBytes = 32 << 20

  /// No experiments, no exposure log.
  public init() {}

  /// A recorder when there is a log to drain it into.
  func makeRecorder() -> ExposureRecorder? {
    exposureLog == nil ? nil : ExposureRecorder(capacity: bufferCapacity, maxBytes: bufferBytes)
  }
}
