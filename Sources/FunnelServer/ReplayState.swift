import FeatureStore
import FunnelCore
import IndexBuilder
import Serving

/// The in-process store, serving settings and clock for index directory `root`: empty and on the
/// wall clock, or, for a historical data set (`ReplaySettings`), seeded with the customers'
/// histories and running from the data's as-of time.
public struct ReplayState: Sendable {
  /// The replay settings, when the directory has them.
  public let settings: ReplaySettings?
  /// The in-process real-time store (seeded with the history in a replay).
  public let store: EmbeddedFeatureStore
  /// The serving settings (a replay reads its `recentInteractions`).
  public let serving: ServingConfiguration
  /// The engine's clock, Unix ms.
  public let now: @Sendable () -> Int64
  /// The history the store was seeded with (empty without a replay).
  public let history: [BehaviourEvent]

  /// Reads the settings of `root` and seeds the store. Throws `FunnelError` naming a bad file.
  public init(indexDirectory root: String, serving configured: ServingConfiguration,
       wall: @escaping @Sendable () -> Int64 = ServingEngine.wallClockMs) throws {
    settings = try ReplaySettings.load(indexDirectory: root)
    var serving = configured
    var limits = EmbeddedFeatureStore.Limits()
    guard let settings else {
      (self.store, self.serving, self.now, self.history) = (EmbeddedFeatureStore(limits: limits), serving, wall, [])
      return
    }
    serving.recentInteractions = settings.recentInteractions
    limits.interactionsPerUser = max(limits.interactionsPerUser, settings.recentInteractions)
    history = try JSONLines.readEvents(path: root + "/" + settings.history).0
    store = EmbeddedFeatureStore(limits: limits)
    store.seed(history)
    self.serving = serving
    now = settings.clock(wall: wall)
  }
}
