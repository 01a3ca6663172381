import FeatureStore
import FunnelCore
import IndexFormat
import Ranking
import Recall
import Tracing

/// The request path as stages over one `RequestContext`: context (the user), recall (one channel
/// table), filter, rank, re-rank, answer; then the answer's exposure is recorded. Recommend and
/// Search run the same stages; the scene's `ScenePlan` says how each treats the request. A call
/// whose client left stops at the next stage boundary. Thread-safe; one per engine.
struct ServingPipeline: Sendable {
  let configuration: ServingConfiguration
  let context: ContextStage
  let recall: RecallStage
  let filter = FilterStage()
  let rank: RankStage
  let rerank = RerankStage()
  let answer: AnswerStage
  let feedback: FeedbackLoop
  let now: @Sendable () -> Int64
  let tracer: any Tracer

  /// Answers a validated request from `generation` with `ranker` (or its experiment arm's), in a
  /// span (`Recommend` or `Search`, a child of the caller's trace when the transport extracted one)
  /// with a child span per stage, recall channel and store read when that span records (`SpanGate`).
  func run(_ request: ValidatedRequest, generation: IndexGeneration, ranker: CandidateRanker,
           deadline: ContinuousClock.Instant?) async throws -> ServingAnswer {
    // The transport names the request; a call from elsewhere (a batch job, a test) gets an id here,
    // so the answer has one and the stages' log lines carry it.
    guard let requestID = RequestID.current else {
      return try await RequestID.withNew { try await run(request, generation: generation, ranker: ranker, deadline: deadline) }
    }
    return try await tracer.withSpan(request.scene == .search ? "Search" : "Recommend", ofKind: .server) { span in
      guard span.isRecording == SpanGate.recording else {
        return try await SpanGate.$recording.withValue(span.isRecording) {
          try await serve(request, requestID: requestID, span: span, generation: generation, ranker: ranker, deadline: deadline)
        }
      }
      return try await serve(request, requestID: requestID, span: span, generation: generation, ranker: ranker, deadline: deadline)
    }
  }

  /// The stages of one request inside its span.
  private func serve(_ request: ValidatedRequest, requestID: String, span: any Span, generation: IndexGeneration,
                     ranker: CandidateRanker, deadline: ContinuousClock.Instant?) async throws -> ServingAnswer {
    let total = Stopwatch()
    var request = request
    let ranker = feedback.assign(&request, current: ranker)
    var context = makeContext(request, generation: generation, ranker: ranker, deadline: deadline)
    if configuration.banditScenes.contains(request.scene), !context.plan.keyedOrder {
      let arms = feedback.channelArms.value ?? ChannelArms()
      context.bandit = (ChannelSet.named.map { arms.arm(scene: request.scene.rawValue, channel: $0.1) },
                        ChannelBandit.seed(requestID))
    }
    try await stage("context") { try await self.context.run(&context) }
    try Task.checkCancellation()
    try await stage("recall") { try await recall.run(&context) }
    try stage("filter") { filter.run(&context) }
    try Task.checkCancellation()
    try await stage("rank") { try await rank.run(&context) }
    try stage("rerank") { try rerank.run(&context) }
    context.timed("total", since: total)
    let answer = answer.run(context, requestID: requestID)
    feedback.record(answer, context)
    span.attributes["funnel.scene"] = request.scene.rawValue
    span.attributes["funnel.request_id"] = answer.requestID
    span.attributes["funnel.items"] = answer.items.count
    if answer.degraded { span.attributes["funnel.degraded"] = true }
    return answer
  }

  /// Runs one stage in a child span of the request's (when the request is traced).
  private func stage<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
    guard SpanGate.recording else { return try await body() }
    return try await tracer.withSpan(name, ofKind: .internal) { _ in try await body() }
  }

  private func stage<T>(_ name: String, _ body: () throws -> T) throws -> T {
    guard SpanGate.recording else { return try body() }
    return try tracer.withSpan(name, ofKind: .internal) { _ in try body() }
  }

  /// The model inputs of every candidate the pipeline would rank for `request`, filled by the plan
  /// of `schema` (a model's feature list): the rows a ranker is trained on, computed by the same
  /// stages that serve (one feature definition for training and serving).
  func candidateFeatures(_ request: ValidatedRequest, generation: IndexGeneration,
                         schema: FeatureSchema) async throws -> (items: [ItemID], rows: [[Float]]) {
    let ranker = CandidateRanker(model: FeatureSchemaOnly(schema: schema))
    var context = makeContext(request, generation: generation, ranker: ranker, deadline: nil)
    try await self.context.run(&context)
    try await recall.run(&context)
    filter.run(&context)
    await rank.fetchActivity(&context)
    // Only what the model would rank: a first phase leaves the other matches out.
    let ranked = Array(context.candidates.prefix(context.modelRanked))
    let inputs = rank.inputs(for: context).selecting(ranked.indices)
    return (ranked.map { generation.items.id($0.doc) }, ranker.featureRows(ranked, inputs))
  }

  /// The profile of `request`'s user as the context stage reads it (within the profile budget, cut
  /// by `deadline`), and whether reading it fell back.
  func profile(_ request: ValidatedRequest, generation: IndexGeneration,
               deadline: ContinuousClock.Instant?) async throws -> (profile: UserProfile, degraded: Bool) {
    var context = makeContext(request, generation: generation, ranker: CandidateRanker(model: FeatureSchemaOnly(schema: FeatureSchema([]))),
                              deadline: deadline)
    try await self.context.run(&context)
    return (context.profile, context.degraded)
  }

  private func makeContext(_ request: ValidatedRequest, generation: IndexGeneration, ranker: CandidateRanker,
                           deadline: ContinuousClock.Instant?) -> RequestContext {
    var plan = ScenePlan(scene: request.scene, configuration: configuration, arm: request.assignment?.arm, count: request.count)
    if let search = request.search {
      plan.keyedOrder = search.sort.isKeyed
      plan.pageOffset = search.sort.isKeyed ? 0 : search.offset
      if plan.keyedOrder { plan.firstPhase = 0 }
    }
    return RequestContext(request: request, generation: generation, ranker: ranker, plan: plan,
                   budgets: StageBudgets(configured: configuration.profileBudget, deadline: deadline), nowMs: now())
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
