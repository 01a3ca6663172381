import FeatureStore
import FunnelCore
import IndexFormat
import Recall

/// One request on its way through the stages: what it asked (validated), what it is served from
/// (the generation and ranker it started with, its plan and budgets), and what each stage adds.
/// Each stage reads what the ones before it wrote; one per request, never shared.
struct RequestContext {
  /// The validated request, with its experiment assignment.
  var request: ValidatedRequest
  /// The generation the request started with (a reload never changes it mid-request).
  let generation: IndexGeneration
  /// The ranker (model and feature plan) the request started with.
  let ranker: CandidateRanker
  /// Quotas and policies for the request's scene and arm.
  let plan: ScenePlan
  /// Store budgets, cut by the call's deadline.
  let budgets: StageBudgets
  /// Now, in Unix ms, read once.
  let nowMs: Int64
  /// Per-stage timings and counts (returned when the request asks for them).
  var debug = DebugReport()
  /// A store did not answer in time or failed: the answer is made from what was available.
  var degraded = false

  // Context stage
  /// The user's profile from their recent interactions (empty when unknown or degraded).
  var profile = UserProfile()
  /// The user's offline profile features (`user.*`).
  var userFeatures: [String: Float] = [:]
  /// The request's anchor items that the generation has.
  var anchors: [DocID] = []

  // Recall and filter stages
  /// A search's match set, facets, rewrite and keyed page (nil for Recommend).
  var search: SearchStage.Outcome?
  /// The request's filter, compiled against the generation (nil without one).
  var filter: CompiledFilter?
  /// Recalled candidates; after the filter stage, the ones that may be shown.
  var candidates: [Candidate] = []
  /// Items no answer may hold (anchors, exclusions, purchases on discovery scenes).
  var dropped: Set<DocID> = []
  /// How many of `candidates`, from the front, the model ranks (a first phase may keep fewer).
  var modelRanked = 0

  // Rank stage
  /// Real-time counts of the candidates (empty when the model reads none): indexed like `candidates`.
  var activity: [ItemActivity?] = []
  /// The model's inputs other than the candidates.
  var inputs: RankingInputs?
  /// (candidate index, score), best first: the model's order, sorted as far as it is read.
  var ranked = RankedOrder(ordered: [])

  // Re-rank stage
  /// In a bandit scene: each channel's arm (indexed like `ChannelSet.named`) and the request's seed.
  var bandit: (arms: [ChannelArms.Arm], seed: UInt64)?
  /// The answer's candidates in order: (candidate index, score).
  var chosen: [(Int, Float)] = []
  /// Pinned item ids that go first (known, in stock, not dropped).
  var pinned: [ItemID] = []

  /// Appends the time since `watch` started as `stage`'s timing.
  mutating func timed(_ stage: String, since watch: Stopwatch) {
    debug.timings.append(.init(stage: stage, micros: watch.elapsedMicros))
  }
}
