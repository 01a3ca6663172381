import FeatureStore
import FunnelCore
import IndexFormat

/// Stage 4, ranking: the candidates' real-time counts in one round trip within the item-features
/// budget (only when the model reads them), the model's inputs as one `RankingInputs`, and the
/// model's scores (from `parallelScoringRows` candidates on, in two halves at once; with a cascade,
/// the first phase's over all and the model's over the best). Candidates a first phase left out
/// follow, in its order, below every ranked one. Thread-safe; one per engine.
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
    let kept = context.candidates, scored = context.modelRanked, ranker = context.ranker
    let cascades = ranker.cascades(scored)
    let scores = cascades
      ? await cascadeScores(kept[..<scored], ranker: ranker, inputs)
      : await scores(kept[..<scored], ranker: ranker, inputs)
    // Sorted only as far as re-ranking reads it; the unscored rest follows at the worst score.
    var order = RankedOrder(scores: scores, of: kept)
    if scored < kept.count {
      let floor = order.worstScore ?? 0
      order.following = (scored..<kept.count).map { ($0, floor) }
    }
    context.inputs = inputs
    context.ranked = order
    context.debug.rankedCandidates = cascades ? ranker.rerankCount : scored
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

  /// The model's scores of `candidates` (with `firstPhase`, its first phase's): from
  /// `parallelScoringRows` candidates on, the second half is scored by a child task while this one
  /// scores the first (same scores as one pass).
  func scores(_ candidates: ArraySlice<Candidate>, ranker: CandidateRanker, _ inputs: RankingInputs,
              firstPhase: Bool = false) async -> [Float] {
    let split = parallelScoringRows
    guard split > 0, candidates.count >= split else { return ranker.scores(candidates, inputs, firstPhase: firstPhase) }
    // Slices share the candidates' storage: no copy of either half.
    let half = candidates.startIndex + candidates.count / 2
    let (head, tail) = (candidates[..<half], candidates[half...])
    let tailInputs = inputs.selecting(half..<candidates.endIndex)
    async let tailScores = ranker.scores(tail, tailInputs, firstPhase: firstPhase)
    let headScores = ranker.scores(head, inputs.selecting(candidates.startIndex..<half), firstPhase: firstPhase)
    return headScores + (await tailScores)
  }

  /// The cascade's scores of `candidates` (a prefix of the request's, so slice indices are list
  /// indices): the first phase scores all, the whole model the best `rerankCount` of them (ties by
  /// document, as the final order breaks them), whose scores are the model's own bit for bit. Every
  /// other candidate gets a score below the worst of those, one float step apart in the first
  /// phase's order, so the final order is theirs after the ranked ones. O(n log n) besides the two
  /// phases' scoring.
  func cascadeScores(_ candidates: ArraySlice<Candidate>, ranker: CandidateRanker, _ inputs: RankingInputs) async -> [Float] {
    precondition(candidates.startIndex == 0, "the cascade ranks a prefix of the candidates")
    let first = await scores(candidates, ranker: ranker, inputs, firstPhase: true)
    let order = ScoreOrder.descendingIndices(first) { candidates[$0].doc.rawValue }
    let chosen = order.prefix(ranker.rerankCount).map(\.0)
    let ranked = await scores(chosen.map { candidates[$0] }[...], ranker: ranker, inputs.selecting(chosen))
    var result = first
    var floor = Float.infinity
    for (score, i) in zip(ranked, chosen) {
      result[i] = score
      if score < floor { floor = score }
    }
    if floor == .infinity { floor = 0 }  // every ranked score NaN
    for (i, _) in order.dropFirst(ranker.rerankCount) {
      floor = floor.nextDown
      result[i] = floor
    }
    return result
  }
}
