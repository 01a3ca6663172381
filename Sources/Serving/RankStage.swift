import FeatureStore
import FunnelCore
import IndexFormat

/// Stage 4, ranking: the candidates' real-time counts in one round trip within the item-features
/// budget (only when the model reads them), the model's inputs as one `RankingInputs`, and the
/// model's scores (from `parallelScoringRows` candidates on, in two halves at once). Candidates a
/// first phase left out follow, in its order, below every ranked one. Thread-safe; one per engine.
struct RankStage: Sendable {
  let itemActivity: (any ItemActivitySource)?
  let offline: OfflineFeatureState?
  let parallelScoringRows: Int
  let metrics: ServingMetrics
  let reads: StoreReads

  func run(_ context: inout RequestContext) async throws {
    if context.plan.keyedOrder {
      // A keyed sort's page is already in order; the model has nothing to decide.
      context.ranked = RankedOrder(ordered: context.candidates.indices.map { ($0, Float(context.candidates.count - $0)) })
      return
    }
    await fetchActivity(&context)
    // A call whose client left (reset, disconnected, deadline passed) stops here rather than scoring.
    try Task.checkCancellation()
    let watch = Stopwatch()
    let inputs = inputs(for: context)
    let kept = context.candidates, scored = context.modelRanked
    let scores = await scores(kept[..<scored], ranker: context.ranker, inputs)
    // Sorted only as far as re-ranking reads it; the unscored rest follows at the worst score.
    var order = RankedOrder(scores: scores, of: kept)
    if scored < kept.count {
      let floor = order.worstScore ?? 0
      order.following = (scored..<kept.count).map { ($0, floor) }
    }
    context.inputs = inputs
    context.ranked = order
    context.debug.rankedCandidates = scored
    context.timed("rank", since: watch)
  }

  /// The model's inputs from what the earlier stages gathered (real-time counts as fetched).
  func inputs(for context: RequestContext) -> RankingInputs {
    RankingInputs(profile: context.profile, generation: context.generation, context: context.request.context,
                  itemFeatures: offline?.items(for: context.generation), userFeatures: context.userFeatures,
                  itemActivity: context.activity, nowMs: context.nowMs)
  }

  /// Real-time item counts of the candidates the model ranks, within the item-features budget;
  /// a failure or timeout ranks without them and flags the answer degraded.
  func fetchActivity(_ context: inout RequestContext) async {
    guard context.ranker.needsItemActivity, let source = itemActivity, context.modelRanked > 0 else { return }
    let watch = Stopwatch()
    let items = context.generation.items, version = context.generation.version, reads = self.reads
    let docs = context.candidates.prefix(context.modelRanked).map(\.doc)
    switch await Budget.race(context.budgets.itemFeatures(), {
      try await reads.read(.itemFeatures) {
        try await source.itemActivity(of: docs, generation: version) { items.appendID($0, to: &$1) }
      }
    }) {
    case .some(.success(let counts)):
      // One slot per candidate (nil past the model-ranked ones): indices stay those of `candidates`.
      context.activity = counts + repeatElement(nil, count: context.candidates.count - counts.count)
    case .some(.failure): context.degraded = true; metrics.storeFailed(.itemFeatures)
    case .none: context.degraded = true; metrics.storeTimedOut(.itemFeatures)
    }
    context.timed("item_features", since: watch)
  }

  /// The model's scores of `candidates`: from `parallelScoringRows` candidates on, the second half
  /// is scored by a child task while this one scores the first (same scores as one pass).
  func scores(_ candidates: ArraySlice<Candidate>, ranker: CandidateRanker, _ inputs: RankingInputs) async -> [Float] {
    let split = parallelScoringRows
    guard split > 0, candidates.count >= split else { return ranker.scores(candidates, inputs) }
    // Slices share the candidates' storage: no copy of either half.
    let half = candidates.startIndex + candidates.count / 2
    let (head, tail) = (candidates[..<half], candidates[half...])
    let tailInputs = inputs.selecting(half..<candidates.endIndex)
    async let tailScores = ranker.scores(tail, tailInputs)
    let headScores = ranker.scores(head, inputs.selecting(candidates.startIndex..<half))
    return headScores + (await tailScores)
  }
}
