import FeatureStore
import FunnelCore
import IndexFormat
import Synchronization

/// Offline features of the engine: the items snapshot (swapped whole on refresh) and the user
/// profile cache. Thread-safe.
final class OfflineFeatureState: Sendable {
  let source: any OfflineFeatureSource
  let users: UserFeatureCache
  private let bound = Mutex<BoundItemFeatures?>(nil)
  private let table = Mutex<ItemFeatureTable>(.empty)

  init(source: any OfflineFeatureSource, users: UserFeatureCache) {
    self.source = source
    self.users = users
  }

  /// Loads a new items snapshot, binds it to `generation` and swaps it in; the old one serves until
  /// then. Returns the new snapshot.
  func refresh(for generation: IndexGeneration) async throws -> ItemFeatureTable {
    let fresh = try await source.loadItemFeatures()
    let binding = BoundItemFeatures(fresh, to: generation)
    table.withLock { $0 = fresh }
    bound.withLock { $0 = binding }
    return fresh
  }

  /// The snapshot bound to `generation` (re-bound after a generation or snapshot swap).
  func items(for generation: IndexGeneration) -> BoundItemFeatures {
    if let current = bound.withLock({ $0 }), current.generationVersion == generation.version,
       current.table.version == table.withLock({ $0.version }) {
      return current
    }
    let fresh = BoundItemFeatures(table.withLock { $0 }, to: generation)
    bound.withLock { $0 = fresh }
    return fresh
  }
}
