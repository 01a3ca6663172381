import FunnelCore
import FeatureStore
import IndexFormat
import Ranking
import Recall

/// What steps 2 and 3 of the request path produce: the user's context and the filtered candidates
/// (with their real-time counts when the model reads them), ready to rank.
struct GatheredCandidates {
  var profile = UserProfile()
  var userFeatures: [String: Float] = [:]
  var anchors: [DocID] = []
  /// Items no answer may hold (anchors, exclusions, and purchases in discovery scenes).
  var dropped: Set<DocID> = []
  var kept: [Candidate] = []
  /// How many of `kept`, from the front, the model ranks (search's first phase may keep fewer; the
  /// rest follow in first-phase order).
  var modelRanked = 0
  var activity: [ItemActivity?] = []
  var degraded = false
}

extension ServingEngine {
  /// Runs steps 2-5 of the request path for a validated request.
  func run(_ request: ValidatedRequest, deadline: ContinuousClock.Instant? = nil) async throws -> ServingAnswer {
    let budgets = StageBudgets(configured: configuration.profileBudget, deadline: deadline)
    let generation = self.generation
    var request = request
    request.assignment = feedback.plan.assign(unit: request.userID.isEmpty ? request.sessionID : request.userID,
                                              scene: request.scene.rawValue)
    let ranker = request.assignment.flatMap { armRankers[$0.label] } ?? self.ranker
    var debug = DebugReport()
    let total = Stopwatch()
    let gathered = try await gather(request, budgets: budgets, generation: generation, ranker: ranker, debug: &debug)
    let (profile, userFeatures, anchors, dropped, kept, activity) = (gathered.profile, gathered.userFeatures, gathered.anchors,
                                                                     gathered.dropped, gathered.kept, gathered.activity)
    let items = generation.items
    // A call whose client left (reset, disconnected, deadline passed) stops here rather than scoring.
    try Task.checkCancellation()

    // 4. Rank, then re-rank for diversity (not in search, where relevance order is the point).
    var stage = Stopwatch()
    let nowMs = now()
    let scored = gathered.modelRanked
    let toScore = scored == kept.count ? kept : Array(kept.prefix(scored))
    var modelOrder = CandidateRanker.order(
      await scores(toScore, ranker: ranker, profile: profile, generation: generation, context: request.context,
                   itemFeatures: offline?.items(for: generation), userFeatures: userFeatures,
                   itemActivity: activity, nowMs: nowMs), of: toScore)
    if scored < kept.count {
      // Matches the first phase left out follow in its order, below every model-ranked one.
      let floor = modelOrder.last?.1 ?? 0
      modelOrder += (scored..<kept.count).map { ($0, floor) }
    }
    let ranked = try request.rules.boost(modelOrder, candidates: kept, generation: generation)
    debug.rankedCandidates = scored
    debug.timings.append(.init(stage: "rank", micros: stage.elapsedMicros))
    stage = Stopwatch()
    let chosen = request.scene == .search
      ? CandidateRanker.dedupe(ranked, candidates: kept, generation: generation, count: request.count)
      : CandidateRanker.diversify(ranked, candidates: kept, generation: generation, count: request.count,
                                  maxPerCategory: max(request.assignment?.arm.maxPerCategory ?? configuration.maxPerCategory,
                                                      request.count / 5))
    var answerItems = chosen.map { (index, score) in
      let candidate = kept[index]
      return RankedItem(itemID: items.id(candidate.doc), score: Double(score), channels: candidate.channels.names,
                        reasons: reasons(candidate, request: request, profile: profile, anchors: anchors,
                                         generation: generation))
    }
    // Pins go first, in order: known, in stock, not excluded; they displace the last items.
    let pinned = request.rules.pins.filter { id in
      guard let doc = items.doc(for: id) else { return false }
      return items.inStock(doc) && !dropped.contains(doc)
    }
    if !pinned.isEmpty {
      let top = answerItems.first?.score ?? 1
      answerItems.removeAll { pinned.contains($0.itemID) }
      answerItems.insert(contentsOf: pinned.map { RankedItem(itemID: $0, score: top, channels: ["pinned"], reasons: ["pinned"]) }, at: 0)
      answerItems = Array(answerItems.prefix(request.count))
    }
    debug.timings.append(.init(stage: "rerank", micros: stage.elapsedMicros))
    if request.debug {
      // The model's inputs for the top items, recomputed for those rows only (debug requests).
      let top = Array(chosen.prefix(5).map { kept[$0.0] })
      let rows = ranker.featureRows(top, profile: profile, generation: generation, context: request.context,
                                    itemFeatures: offline?.items(for: generation), userFeatures: userFeatures,
                                    itemActivity: activity.isEmpty ? [] : chosen.prefix(5).map { activity[$0.0] }, nowMs: nowMs)
      debug.features = zip(top, rows).map { candidate, row in
        DebugReport.ItemFeatures(itemID: items.id(candidate.doc),
                                 values: zip(ranker.model.schema.names, row).map { .init(name: $0, value: $1) })
      }
    }
    debug.timings.append(.init(stage: "total", micros: total.elapsedMicros))

    let answer = ServingAnswer(
      items: answerItems, requestID: Self.makeRequestID(), modelVersion: ranker.model.version,
      indexVersion: generation.version, experimentArm: request.assignment?.label ?? configuration.experimentArm,
      degraded: gathered.degraded, totalMatches: kept.count, debug: request.debug ? debug : nil)
    if let recorder = exposureRecorder {
      recordExposure(answer, request: request, recorder: recorder, shown: chosen.map { kept[$0.0] }, activity: chosen.map {
        activity.isEmpty ? nil : activity[$0.0]
      }, gathered: gathered, generation: generation, ranker: ranker, nowMs: nowMs)
    }
    return answer
  }

  /// Steps 2 and 3: the user's context within its budget (without it the answer falls back to
  /// popularity, flagged degraded), recall in channels with quotas, filtering, and the candidates'
  /// real-time counts when `ranker` reads them.
  func gather(_ request: ValidatedRequest, budgets: StageBudgets, generation: IndexGeneration, ranker: CandidateRanker,
              debug: inout DebugReport) async throws -> GatheredCandidates {
    // 2. User context, within its budget; without it the answer falls back to popularity.
    var stage = Stopwatch()
    var degraded = false
    var profile = UserProfile()
    var userFeatures: [String: Float] = [:]
    if !request.userID.isEmpty {
      let (recent, offlineProfile) = await userContext(request.userID, budget: budgets.profile)
      switch recent {
      case .some(.success(let recent)):
        profile = UserProfile(recent: recent, generation: generation, nowMs: now())
      case .some(.failure): degraded = true; metrics.storeErrors.add(.recent)
      case .none: degraded = true; metrics.storeTimeouts.add(.recent)
      }
      switch offlineProfile {
      case .some(.success(let features)): userFeatures = features
      case .some(.failure): degraded = true; metrics.storeErrors.add(.profile)
      case .none: degraded = true; metrics.storeTimeouts.add(.profile)
      }
    }
    debug.timings.append(.init(stage: "context", micros: stage.elapsedMicros))
    try Task.checkCancellation()

    // 3. Recall in channels with quotas, merged and de-duplicated.
    stage = Stopwatch()
    let anchors = try resolveAnchors(request, generation)
    profile.emphasise(anchors: anchors, in: generation)
    var filter: CompiledFilter?
    if let expression = request.filter { filter = try await subQueries.compile(expression, generation: generation) }
    var collector = CandidateCollector()
    let recallRequest = makeRecallRequest(request, profile: profile, anchors: anchors, generation: generation)
    var quotas = configuration.quotas[request.scene] ?? .init(similar: 0, category: 0, popular: 100, text: 0)
    if let arm = request.assignment?.arm { quotas.override(with: arm.quotas) }
    let channels: [(any RecallChannel, Int)] = [
      (TextRecall(cache: textMatches), quotas.text), (SimilarItemsRecall(), quotas.similar),
      (CategoryRecall(), quotas.category), (PopularRecall(), quotas.popular), (TrendingRecall(), quotas.trending),
      (VectorRecall(), quotas.vector),
    ]
    for (channel, quota) in channels where quota > 0 {
      channel.recall(recallRequest, in: generation, quota: quota, into: &collector)
    }
    if quotas.repeatPurchase > 0 {
      RepeatPurchaseRecall().recall(recallRequest, in: generation, quota: quotas.repeatPurchase, into: &collector)
    }
    if let filter, quotas.rule > 0 {
      RuleRecall(filter: filter).recall(recallRequest, in: generation, quota: quotas.rule, into: &collector)
    }
    for (channel, name) in ChannelSet.named {
      if let n = collector.offeredByChannel[channel] { debug.channelCounts.append(.init(channel: name, candidates: n)) }
    }
    debug.mergedCandidates = collector.candidates.count
    debug.timings.append(.init(stage: "recall", micros: stage.elapsedMicros))

    // Filtering: exclusions, the anchors themselves, out of stock, the request's rule expression.
    stage = Stopwatch()
    let items = generation.items
    // Discovery scenes (no repeat-purchase quota) drop what the user already bought; search does not.
    var dropped = Set(anchors).union(request.excluded.compactMap { items.doc(for: $0) })
    if quotas.repeatPurchase == 0 && request.scene != .search { dropped.formUnion(profile.purchased) }
    var kept = collector.candidates.filter { candidate in
      items.inStock(candidate.doc) && !dropped.contains(candidate.doc) && (filter?.matches(candidate.doc) ?? true)
    }
    debug.filteredCandidates = collector.candidates.count - kept.count
    let modelRanked = request.scene == .search ? Self.searchFirstPhase(&kept, keep: configuration.searchRankCount)
                                               : kept.count
    debug.timings.append(.init(stage: "filter", micros: stage.elapsedMicros))
    try Task.checkCancellation()

    // Real-time item counts come in one round trip for every candidate, within the profile budget.
    stage = Stopwatch()
    var activity: [ItemActivity?] = []
    if ranker.needsItemActivity, let source = itemActivity, modelRanked > 0 {
      let docs = kept.prefix(modelRanked).map(\.doc), version = generation.version
      switch await Budget.race(budgets.itemFeatures(), {
        try await source.itemActivity(of: docs, generation: version) { items.appendID($0, to: &$1) }
      }) {
      case .some(.success(let counts)):
        // One slot per kept candidate (nil past the model-ranked ones): indices stay those of `kept`.
        activity = counts + repeatElement(nil, count: kept.count - counts.count)
      case .some(.failure): degraded = true; metrics.storeErrors.add(.itemFeatures)
      case .none: degraded = true; metrics.storeTimeouts.add(.itemFeatures)
      }
      debug.timings.append(.init(stage: "item_features", micros: stage.elapsedMicros))
    }
    return GatheredCandidates(profile: profile, userFeatures: userFeatures, anchors: anchors, dropped: dropped,
                              kept: kept, modelRanked: modelRanked, activity: activity, degraded: degraded)
  }

  /// The model's scores of `candidates`: from `parallelScoringRows` candidates on, the second half
  /// is scored by a child task while this one scores the first (same scores as one pass).
  /// `itemActivity`: empty, or indexed like `candidates` (entries past them are ignored).
  func scores(_ candidates: [Candidate], ranker: CandidateRanker, profile: UserProfile, generation: IndexGeneration,
              context: [String: String], itemFeatures: BoundItemFeatures?, userFeatures: [String: Float],
              itemActivity: [ItemActivity?], nowMs: Int64) async -> [Float] {
    let split = configuration.parallelScoringRows
    guard split > 0, candidates.count >= split else {
      return ranker.scores(candidates, profile: profile, generation: generation, context: context, itemFeatures: itemFeatures,
                           userFeatures: userFeatures, itemActivity: itemActivity, nowMs: nowMs)
    }
    let half = candidates.count / 2
    func part(_ range: Range<Int>) -> (candidates: [Candidate], activity: [ItemActivity?]) {
      (Array(candidates[range]), itemActivity.isEmpty ? [] : Array(itemActivity[range]))
    }
    let (head, tail) = (part(0..<half), part(half..<candidates.count))
    async let tailScores = ranker.scores(tail.candidates, profile: profile, generation: generation, context: context,
                                         itemFeatures: itemFeatures, userFeatures: userFeatures,
                                         itemActivity: tail.activity, nowMs: nowMs)
    let headScores = ranker.scores(head.candidates, profile: profile, generation: generation, context: context,
                                   itemFeatures: itemFeatures, userFeatures: userFeatures,
                                   itemActivity: head.activity, nowMs: nowMs)
    return headScores + (await tailScores)
  }

  /// Search's first phase: orders `matches` by BM25 (best first, ties by document) and returns how
  /// many from the front the model ranks: `keep`, or all of them when `keep` is 0 or more than there
  /// are. Sorting costs O(n log n) in the matches (n <= the text quota), a sliver of scoring them.
  static func searchFirstPhase(_ matches: inout [Candidate], keep: Int) -> Int {
    guard keep > 0, matches.count > keep else { return matches.count }
    matches.sort { $0.textScore != $1.textScore ? $0.textScore > $1.textScore : $0.doc < $1.doc }
    return keep
  }

  /// The model inputs of every candidate the pipeline would rank for `input`, filled by the plan of
  /// `schema` (a model's feature list): the rows a ranker is trained on, computed by the same code
  /// that serves (one feature definition for training and serving). Throws as `recommend`.
  public func candidateFeatures(_ input: RecommendInput, schema: FeatureSchema) async throws -> (items: [ItemID], rows: [[Float]]) {
    let request = try validator.validate(input)
    let generation = self.generation
    let ranker = CandidateRanker(model: FeatureSchemaOnly(schema: schema))
    var debug = DebugReport()
    let gathered = try await gather(request, budgets: StageBudgets(configured: configuration.profileBudget, deadline: nil),
                                    generation: generation, ranker: ranker, debug: &debug)
    // Only what the model would rank: search's first phase leaves the other matches out.
    let ranked = Array(gathered.kept.prefix(gathered.modelRanked))
    let rows = ranker.featureRows(ranked, profile: gathered.profile, generation: generation, context: request.context,
                                  itemFeatures: offline?.items(for: generation), userFeatures: gathered.userFeatures,
                                  itemActivity: Array(gathered.activity.prefix(ranked.count)), nowMs: now())
    return (ranked.map { generation.items.id($0.doc) }, rows)
  }

  /// The user's recent interactions within the profile budget (nil: out of time).
  private func fetchRecent(_ user: UserID, budget: Duration) async -> Result<[RecentInteraction], any Error>? {
    let source = activity
    let limit = configuration.recentInteractions
    return await Budget.race(budget) { try await source.recentActivity(of: user, limit: limit) }
  }

  /// The user's recent activity and offline profile features, read in parallel within `budget`
  /// (nil: out of time). A profile the cache holds is taken at once, with no second read to race.
  private func userContext(_ user: UserID, budget: Duration)
    async -> (recent: Result<[RecentInteraction], any Error>?, offline: Result<[String: Float], any Error>?)
  {
    guard let cache = offline?.users else { return (await fetchRecent(user, budget: budget), .success([:])) }
    if let cached = cache.cachedFeatures(of: user) { return (await fetchRecent(user, budget: budget), .success(cached)) }
    async let offlineProfile = Budget.race(budget) { try await cache.features(of: user) }
    let recent = await fetchRecent(user, budget: budget)
    return (recent, await offlineProfile)
  }

  private func resolveAnchors(_ request: ValidatedRequest, _ generation: IndexGeneration) throws -> [DocID] {
    var docs: [DocID] = []
    for (i, id) in request.anchors.enumerated() {
      if let doc = generation.items.doc(for: id) {
        docs.append(doc)
      } else if request.scene == .itemPage {
        throw FunnelError(.notFound, "anchor_item_ids[\(i)]: item '\(id)' is not in index \(generation.version)")
      }
    }
    return docs
  }

  private func makeRecallRequest(_ request: ValidatedRequest, profile: UserProfile, anchors: [DocID],
                                 generation: IndexGeneration) -> RecallRequest {
    var seeds = anchors.map { (doc: $0, weight: Float(1)) }
    let historyWeight: Float = anchors.isEmpty ? 1 : 0.3
    seeds += profile.seeds.map { (doc: $0.doc, weight: $0.weight * historyWeight) }
    var affinity = profile.leafAffinities(limit: 8, in: generation)
    for anchor in anchors {
      affinity.insert((category: generation.items.leafCategory(anchor), weight: 1), at: 0)
    }
    var recallRequest = RecallRequest(seeds: seeds, categoryAffinity: affinity, queryTerms: request.queryTerms)
    recallRequest.purchases = profile.purchases
    return recallRequest
  }

  private func reasons(_ candidate: Candidate, request: ValidatedRequest, profile: UserProfile,
                       anchors: [DocID], generation: IndexGeneration) -> [String] {
    let items = generation.items
    let category = items.categoryKeys[Int(items.leafCategory(candidate.doc))]
    var reasons: [String] = []
    if candidate.channels.contains(.text) { reasons.append("matches '\(request.query)'") }
    if candidate.channels.contains(.similar) {
      let table = generation.neighbours
      let anchor = anchors.first { a in table.row(a).contains { table.neighbours[$0] == candidate.doc.rawValue } }
      reasons.append(anchor.map { "often bought with \(items.id($0))" } ?? "often bought with items you viewed")
    }
    if candidate.channels.contains(.category), profile.affinity(to: candidate.doc, in: generation) > 0 {
      reasons.append("popular in \(category), which you like")
    } else if candidate.channels.contains(.category) {
      reasons.append("popular in \(category)")
    }
    if candidate.channels.contains(.rule) { reasons.append("matches your filter") }
    if candidate.channels.contains(.repeatPurchase) { reasons.append("you bought this before") }
    if candidate.channels.contains(.popular) { reasons.append("popular right now") }
    if candidate.channels.contains(.trending) { reasons.append("trending") }
    if candidate.channels.contains(.vector) { reasons.append("similar to what you looked at") }
    return reasons
  }
}

/// A model that only names features (it scores every row 0): how `candidateFeatures` asks the ranker
/// to fill an arbitrary schema.
struct FeatureSchemaOnly: ScoringModel {
  let schema: FeatureSchema
  var version: String { "features-only" }
  func score(_ matrix: FeatureMatrix, into scores: inout [Float]) {
    for i in 0..<matrix.rows { scores[i] = 0 }
  }
}
