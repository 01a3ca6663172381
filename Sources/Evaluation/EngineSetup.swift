import FeatureStore
import FunnelCore
import IndexBuilder
import Serving

/// How the evaluation and the training replay set up the engine they ask: the generation's build
/// options (e.g. learned factors), the serving configuration (e.g. a shop's diversity cap), and the
/// offline item and user features, computed from the history the engine sees as of its cut (so a
/// replay and a test each get their own, and nothing after the cut). A value; thread-safe.
public struct EngineSetup: Sendable {
  public var build = GenerationBuilder.Options()
  public var serving = ServingConfiguration()
  /// Offline features from (history, as-of Unix ms); nil: none (the `item.*` / `user.*` features
  /// are then missing).
  public var offline: (@Sendable ([BehaviourEvent], Int64) -> InMemoryOfflineFeatures)?

  /// The defaults: no factors, the default configuration, no offline features.
  public init() {}

  /// The `item.*` and `user.*` names of `features`' columns (empty without offline features).
  func offlineFeatureNames(_ features: InMemoryOfflineFeatures?) -> [String] {
    guard let features else { return [] }
    return features.items.names.map { "item." + $0 } + features.userFeatureNames.map { "user." + $0 }
  }
}
