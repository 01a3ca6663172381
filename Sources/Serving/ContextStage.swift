import FeatureStore
import FunnelCore
import IndexFormat

/// Stage 1, the user's context: recent interactions and the offline profile, read in parallel within
/// the profile budget (without them the answer comes from popularity and is flagged degraded), and
/// the request's anchor items. Thread-safe; one per engine.
struct ContextStage: Sendable {
  let activity: any UserActivitySource
  let offline: OfflineFeatureState?
  let recentInteractions: Int
  let metrics: ServingMetrics
  let reads: StoreReads

  func run(_ context: inout RequestContext) async throws {
    let watch = Stopwatch()
    let request = context.request
    if !request.userID.isEmpty {
      let (recent, offlineProfile) = await userContext(request.userID, budget: context.budgets.profile)
      switch recent {
      case .some(.success(let recent)):
        context.profile = UserProfile(recent: recent, generation: context.generation, nowMs: context.nowMs)
      case .some(.failure): context.degraded = true; metrics.storeFailed(.recent)
      case .none: context.degraded = true; metrics.storeTimedOut(.recent)
      }
      switch offlineProfile {
      case .some(.success(let features)): context.userFeatures = features
      case .some(.failure): context.degraded = true; metrics.storeFailed(.profile)
      case .none: context.degraded = true; metrics.storeTimedOut(.profile)
      }
      // What the build learned about the user comes with the generation, not a store: it answers
      // even when the real-time store does not (no session, or an outage).
      if let users = context.generation.users, let row = users.row(request.userID) {
        context.profile.learnedRow = row
        context.profile.factors = users.factors(row)
      }
    }
    context.anchors = try anchors(of: request, in: context.generation, required: context.plan.requiresAnchors)
    context.profile.emphasise(anchors: context.anchors, in: context.generation)
    context.timed("context", since: watch)
  }

  /// The user's recent activity and offline profile features, read in parallel within `budget`
  /// (nil: out of time). A profile the cache holds is taken at once, with no second read to race.
  private func userContext(_ user: UserID, budget: Duration)
    async -> (recent: Result<[RecentInteraction], any Error>?, offline: Result<[String: Float], any Error>?)
  {
    guard let cache = offline?.users else { return (await recent(user, budget: budget), .success([:])) }
    if let cached = cache.cachedFeatures(of: user) { return (await recent(user, budget: budget), .success(cached)) }
    let reads = self.reads
    async let offlineProfile = Budget.race(budget) { try await reads.read(.profile) { try await cache.features(of: user) } }
    let recent = await recent(user, budget: budget)
    return (recent, await offlineProfile)
  }

  /// The user's recent interactions within `budget` (nil: out of time).
  private func recent(_ user: UserID, budget: Duration) async -> Result<[RecentInteraction], any Error>? {
    let (source, limit, reads) = (activity, recentInteractions, reads)
    return await Budget.race(budget) { try await reads.read(.recent) { try await source.recentActivity(of: user, limit: limit) } }
  }

  /// The anchors the generation has; with `required`, an unknown one is NOT_FOUND naming it.
  private func anchors(of request: ValidatedRequest, in generation: IndexGeneration, required: Bool) throws -> [DocID] {
    var docs: [DocID] = []
    for (i, id) in request.anchors.enumerated() {
      if let doc = generation.items.doc(for: id) {
        docs.append(doc)
      } else if required {
        throw FunnelError(.notFound, "anchor_item_ids[\(i)]: item '\(id)' is not in index \(generation.version)")
      }
    }
    return docs
  }
}
