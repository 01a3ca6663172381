import FeatureStore
import FunnelCore
import IndexFormat
import Ranking
import Synchronization

/// What the engine serves from and how it changes: the current index generation and ranker, each
/// swapped atomically by a reload (a request keeps the ones it started with), and the offline items
/// snapshot bound to the generation. Thread-safe.
final class ServingState: Sendable {
  private let current: Mutex<IndexGeneration>
  /// Live catalog changes in feed order, laid over every generation from its fold point on.
  private let catalog = Mutex<[CatalogFeedEntry]>([])
  private let currentRanker: Mutex<CandidateRanker>
  private let reloading = Mutex(false)
  private let generationSource: any IndexGenerationSource
  private let modelSource: (any ModelSource)?
  /// The cascade every model loaded here ranks with.
  private let cascade: ModelCascade
  let offline: OfflineFeatureState?

  init(generation: IndexGeneration, generationSource: any IndexGenerationSource, model: any ScoringModel,
       modelSource: (any ModelSource)?, offline: OfflineFeatureState?, cascade: ModelCascade = .init()) {
    self.current = Mutex(generation)
    self.cascade = cascade
    self.currentRanker = Mutex(CandidateRanker(model: model, cascade: cascade))
    self.generationSource = generationSource
    self.modelSource = modelSource
    self.offline = offline
  }

  /// The generation serving now.
  var generation: IndexGeneration { current.withLock { $0 } }

  /// The ranker serving now.
  var ranker: CandidateRanker { currentRanker.withLock { $0 } }

  /// Loads a new generation and swaps it in; the old one keeps serving if loading fails. Then a
  /// fresh offline snapshot (if the store fails, the previous one keeps serving). Returns (previous
  /// version, new version). Throws `failedPrecondition` if a reload is running.
  func reload() async throws -> (previous: String, current: String) {
    let busy = reloading.withLock { running in
      if running { return true }
      running = true
      return false
    }
    guard !busy else { throw FunnelError(.failedPrecondition, "a reload is already running") }
    defer { reloading.withLock { $0 = false } }
    let loaded = try await generationSource.loadGeneration()
    // Overlaid and swapped under the catalog lock, so a concurrent change is never lost.
    let (previous, next) = catalog.withLock { entries in
      let next = Self.overlay(entries, on: loaded)
      return (current.withLock { slot in
        let old = slot.version
        slot = next
        return old
      }, next)
    }
    _ = try? await refreshItemFeatures()
    return (previous, next.version)
  }

  /// Replaces the live catalog changes with `entries` (the whole feed since the oldest generation
  /// any replica serves, in feed order) and lays them over the serving generation. Returns the
  /// overlay served (nil: the generation folded every change in). O(entries + added text).
  @discardableResult
  func setCatalogChanges(_ entries: [CatalogFeedEntry]) -> CatalogOverlay? {
    catalog.withLock { stored in
      stored = entries
      // Under the catalog lock: a reload overlays the same entries, so neither swap undoes the other.
      return current.withLock { slot in
        slot = Self.overlay(entries, on: slot)
        return slot.overlay
      }
    }
  }

  /// `generation` with the entries past its fold point (`GenerationManifest.catalogThrough`) laid over it.
  static func overlay(_ entries: [CatalogFeedEntry], on generation: IndexGeneration) -> IndexGeneration {
    let folded = generation.manifest.catalogThrough
    let live = entries.filter { entry in folded.map { CatalogFeedEntry.precedes($0, entry.position) } ?? true }
    return generation.overlaid(with: live.map(\.change), through: live.last?.position ?? folded ?? "")
  }

  /// Loads the newest model from the model source (if any) and swaps it in: the new model is fully
  /// loaded before the old one is released; a broken one is refused and the old one keeps serving.
  func reloadModel() async throws -> (previous: String, current: String) {
    guard let modelSource else { let v = ranker.model.version; return (v, v) }
    let next = CandidateRanker(model: try await modelSource.loadModel(), cascade: cascade)
    let previous = currentRanker.withLock { slot in
      let old = slot.model.version
      slot = next
      return old
    }
    return (previous, next.model.version)
  }

  /// Loads the offline items snapshot and binds it to the serving generation. Returns (snapshot
  /// version, items), or nil without an offline source. Throws when the store fails.
  func refreshItemFeatures() async throws -> (version: String, items: Int)? {
    guard let offline else { return nil }
    let table = try await offline.refresh(for: generation)
    return (table.version, table.count)
  }
}
