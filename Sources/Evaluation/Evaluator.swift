import FeatureStore
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import Ranking
import Serving
import Synchronization

/// A time-split evaluation: everything before the split builds the index generation and the users'
/// histories; every customer who bought before the split and buys after it is asked for their top K
/// — by each baseline and by the engine through the real `ServingEngine` (scene `email` by default:
/// repeat purchases recalled through their own channel; `home` for discovery, dropping what the
/// user already has) — and scored against the distinct items they bought after the split.
public struct Evaluator: Sendable {
  /// The catalog and every event, all dates.
  public let items: [CatalogItem]
  public let events: [BehaviourEvent]

  /// An evaluation over `items` and `events`.
  public init(items: [CatalogItem], events: [BehaviourEvent]) {
    self.items = items
    self.events = events
  }

  /// One row of the report: the metrics over users with a history, and per segment.
  public struct Row: Codable, Hashable, Sendable {
    public var name: String
    public var metrics: RankingMetrics.Summary
    /// `new` (no history: every method falls back to what it has for strangers), `light` (fewer
    /// than `Evaluator.heavyItems` distinct items in their history), `heavy` (the rest).
    public var segments: [Segment] = []
  }

  /// One segment's metrics.
  public struct Segment: Codable, Hashable, Sendable {
    public var name: String
    public var metrics: RankingMetrics.Summary
  }

  /// Distinct history items from which a user counts as heavy.
  public static let heavyItems = 10

  /// The report: one row per recommender, metrics at `cutoffs`.
  public struct Report: Codable, Hashable, Sendable {
    /// The split time (a time split), or the time the index was built as of (per-user).
    public var splitMs: Int64
    /// `time` or `per-user last N%`.
    public var protocolName: String
    public var cutoffs: [Int]
    /// Customers evaluated, and those skipped for having no purchase before the split.
    public var users: Int
    public var coldUsersSkipped: Int
    public var catalogSize: Int
    public var rows: [Row]
    /// Users with no history who buy after the split (the `new` segment).
    public var newUsers = 0
    /// The scene the engine answered.
    public var scene = ""
  }

  /// How history and truth are separated.
  public enum Split: Sendable {
    /// One date for everyone: the honest protocol (nothing after the split is seen).
    case time(Int64)
    /// Each user's own last `fraction` of events is their truth (leave-last-out, as papers on sparse
    /// sets such as MovieLens do): the index sees other users' later events, and each user is asked
    /// as of their own cut time.
    case perUser(fraction: Double)
  }

  /// Runs the evaluation with a time or per-user split (see `Split`). `models` are (row name, model)
  /// pairs scored through the engine, e.g. a recall-only ordering and a trained ranker; `sample`
  /// evaluates that many customers drawn with a fixed seed (nil: all). Throws if the split leaves no
  /// history or no customer to evaluate.
  /// `setup` says how the engine is built and configured (`EngineSetup`); `factorBaselines`
  /// are (row name, factors trained on the history) pairs scored as baselines: each user's items by
  /// the inner product of their factors (popularity for users the factors do not know).
  public func run(split: Split, cutoffs: [Int], models: [(String, any ScoringModel)], sample: Int?, scene: Scene = .email,
                  setup: EngineSetup = .init(), factorBaselines: [(String, LearnedFactors)] = [],
                  progress: (String) -> Void = { _ in }) async throws -> Report {
    let (history, future, userCut, splitMs) = partition(split)
    guard !history.isEmpty else { throw FunnelError(.invalidArgument, "no events before the split") }
    var purchases: [UserID: Baselines.PurchaseHistory] = [:]
    var orders: [UserID: [ItemID: Set<String>]] = [:]
    for e in history where e.kind == .purchase {
      orders[e.userID, default: [:]][e.itemID, default: []].insert(e.sessionID.isEmpty ? e.eventID : e.sessionID)
      let last = max(purchases[e.userID]?[e.itemID]?.lastMs ?? 0, e.timestampMs)
      purchases[e.userID, default: [:]][e.itemID] = (orders[e.userID]![e.itemID]!.count, last)
    }
    var truth: [UserID: Set<ItemID>] = [:]
    for e in future { truth[e.userID, default: []].insert(e.itemID) }
    let withHistory = truth.keys.filter { purchases[$0] != nil }
    let cold = truth.count - withHistory.count
    let users = Self.sampled(withHistory, sample, seed: 2011)
    // Users with no history at all: the `new` segment (outside the overall figures, as before).
    let known = Set(history.map(\.userID))
    let newUsers = Self.sampled(truth.keys.filter { !known.contains($0) }, sample, seed: 2012)
    var distinctItems: [UserID: Set<ItemID>] = [:]
    for e in history { distinctItems[e.userID, default: []].insert(e.itemID) }
    let segmentOf: (UserID) -> Int = { user in
      let n = distinctItems[user]?.count ?? 0
      return n == 0 ? 0 : n < Self.heavyItems ? 1 : 2
    }
    guard !users.isEmpty else { throw FunnelError(.invalidArgument, "no customer buys both before and after the split") }
    progress("history \(history.count) events, \(users.count) customers to evaluate (\(cold) without history skipped)")

    let generation = try GenerationBuilder(options: setup.build).build(items: items, events: history, nowMs: splitMs, version: "eval").open()
    let offline = setup.offline?(history, splitMs)
    let baselines = Baselines(generation: generation, history: history, splitMs: splitMs)
    let buyersBefore = Set(history.lazy.filter { $0.kind == .purchase }.map(\.userID)).count
    var buyers: [ItemID: Set<UserID>] = [:]
    for e in history where e.kind == .purchase { buyers[e.itemID, default: []].insert(e.userID) }
    let information: (String) -> Double = { item in
      -log2(Double((buyers[item]?.count ?? 0) + 1) / Double(buyersBefore + 1))
    }
    let k = cutoffs.max() ?? 10
    var rows: [Row] = []
    func evaluate(_ name: String, _ recommend: (UserID) async throws -> [ItemID]) async rethrows {
      var metrics = RankingMetrics(cutoffs: cutoffs)
      var segments = [RankingMetrics](repeating: RankingMetrics(cutoffs: cutoffs), count: 3)
      for user in users {
        let ranked = try await recommend(user)
        metrics.add(ranked: ranked, relevant: truth[user]!, information: information)
        segments[segmentOf(user)].add(ranked: ranked, relevant: truth[user]!, information: information)
      }
      for user in newUsers { segments[0].add(ranked: try await recommend(user), relevant: truth[user]!, information: information) }
      rows.append(Row(name: name, metrics: metrics.summary(catalogSize: items.count),
                      segments: zip(["new", "light", "heavy"], segments).map { Segment(name: $0, metrics: $1.summary(catalogSize: items.count)) }))
      progress("\(name): NDCG@\(k) \(String(format: "%.4f", rows.last!.metrics.ndcg.last!))")
    }
    // A discovery scene (no repeat-purchase quota) leaves out what the user has already seen: the
    // baselines drop it, and the engine is told through `exclude_item_ids`, as a storefront does
    // (the pipeline itself drops only purchases). The repeat baselines have nothing to say then.
    let discovery = Self.isDiscovery(scene, setup.serving)
    var seen: [UserID: Set<ItemID>] = [:]
    if discovery { for e in history { seen[e.userID, default: []].insert(e.itemID) } }
    let unseen: (UserID, [ItemID]) -> [ItemID] = { user, list in
      discovery ? Array(list.lazy.filter { seen[user]?.contains($0) != true }.prefix(k)) : list
    }
    // A personal baseline has nothing to say about a stranger: it answers with popularity, as the
    // week-one team's service would.
    let popular: (UserID) -> [ItemID] = { unseen($0, baselines.popular) }
    await evaluate("global popularity", popular)
    await evaluate("recent popularity (30 days)") { unseen($0, baselines.trending) }
    if !discovery {
      await evaluate("repeat purchases") { purchases[$0].map(baselines.repeatPurchases) ?? popular($0) }
    }
    await evaluate("ItemCF") { user in
      purchases[user].map { unseen(user, baselines.itemCF($0, limit: k + (seen[user]?.count ?? 0))) } ?? popular(user)
    }
    if !discovery {
      await evaluate("repeat purchases, then ItemCF") { purchases[$0].map { baselines.repeatThenItemCF($0, limit: k) } ?? popular($0) }
    }
    for (name, factors) in factorBaselines {
      let scorer = FactorScorer(factors, items: items.map(\.id))
      await evaluate(name) { user in
        scorer.top(user: user, k: k, excluding: discovery ? seen[user] ?? [] : []) ?? popular(user)
      }
    }

    let activity = Self.activity(history)
    // Each request is asked as of its user's cut time (one time for everyone in a time split).
    let clock = Mutex(splitMs)
    for (name, model) in models {
      let engine = Self.engine(generation: generation, activity: activity, model: model, configuration: setup.serving, offline: offline,
                               now: { clock.withLock { $0 } })
      _ = try await engine.refreshItemFeatures()
      try await evaluate(name) { user in
        clock.withLock { $0 = userCut[user] ?? splitMs }
        let excluded = discovery ? Self.exclusions(seen[user], setup.serving) : []
        return try await engine.recommend(RecommendInput(userID: user, scene: scene, count: k, excludeItemIDs: excluded))
          .items.map(\.itemID)
      }
    }
    let protocolName: String
    switch split {
    case .time: protocolName = "time"
    case .perUser(let fraction): protocolName = "per-user last \(Int((fraction * 100).rounded()))%"
    }
    return Report(splitMs: splitMs, protocolName: protocolName, cutoffs: cutoffs.sorted(), users: users.count, coldUsersSkipped: cold,
                  catalogSize: items.count, rows: rows, newUsers: newUsers.count, scene: scene.rawValue)
  }
}

extension Evaluator {
  /// The validation split inside the history of `split`, for tuning and training without the
  /// test: a time split moves back by `days`; a per-user split takes the same fraction again
  /// from what each user has left.
  public static func innerSplit(_ split: Split, days: Int) -> Split {
    switch split {
    case .time(let ms): .time(ms - Int64(days) * 86_400_000)
    case .perUser(let fraction): .perUser(fraction: fraction)
    }
  }

  /// History (before the split), the purchases after it, each user's cut time (per-user splits), and
  /// the time the index is built as of.
  public func partition(_ split: Split) -> (history: [BehaviourEvent], future: [BehaviourEvent], userCut: [UserID: Int64], asOfMs: Int64) {
    switch split {
    case .time(let splitMs):
      return (events.filter { $0.timestampMs < splitMs },
              events.filter { $0.timestampMs >= splitMs && $0.kind == .purchase }, [:], splitMs)
    case .perUser(let fraction):
      var history: [BehaviourEvent] = [], future: [BehaviourEvent] = []
      var cut: [UserID: Int64] = [:]
      // Events are in time order, so each user's list is too.
      for (user, own) in Dictionary(grouping: events, by: \.userID) {
        let keep = Int((Double(own.count) * (1 - fraction)).rounded(.down))
        guard keep > 0, keep < own.count else {
          history += own
          continue
        }
        let at = own[keep].timestampMs
        cut[user] = at
        history += own.filter { $0.timestampMs < at }
        future += own.filter { $0.timestampMs >= at && $0.kind == .purchase }
      }
      history.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
      return (history, future, cut, (history.last?.timestampMs ?? 0) + 1)
    }
  }

  /// `users` sorted, or `count` of them drawn with a fixed `seed` (sorted), when there are more.
  static func sampled(_ users: some Collection<UserID>, _ count: Int?, seed: UInt64) -> [UserID] {
    var all = users.sorted()
    guard let count, count < all.count else { return all }
    var rng = SplitMix64(seed: seed)
    all.shuffle(using: &rng)
    return all.prefix(count).sorted()
  }

  /// What a storefront sends as `exclude_item_ids` in a discovery scene: the items the user has
  /// seen, as many as a request may carry (the evaluation and the training replay send the same).
  static func exclusions(_ seen: Set<ItemID>?, _ configuration: ServingConfiguration) -> [ItemID] {
    Array((seen ?? []).sorted().prefix(configuration.limits.maxExcludeIDs))
  }

  /// Whether `scene` is a discovery scene (no repeat-purchase channel: what the user had is left out).
  public static func isDiscovery(_ scene: Scene, _ configuration: ServingConfiguration) -> Bool {
    (configuration.quotas[scene]?.repeatPurchase ?? 0) == 0
  }

  /// Most interactions per user the evaluation keeps and reads (a wholesale customer's history is
  /// long; serving reads `ServingConfiguration.recentInteractions`, 100 by default).
  public static let interactionsPerUser = 500

  /// An in-process activity store holding `history`.
  static func activity(_ history: [BehaviourEvent]) -> EmbeddedFeatureStore {
    var limits = EmbeddedFeatureStore.Limits()
    (limits.interactionsPerUser, limits.rememberedEventIDs, limits.loggedEvents) = (interactionsPerUser, 1, 1)
    let activity = EmbeddedFeatureStore(limits: limits)
    activity.seed(history)
    return activity
  }

  /// The serving engine as of `nowMs` over a fixed generation and activity store.
  static func engine(generation: IndexGeneration, activity: EmbeddedFeatureStore, model: any ScoringModel,
                     nowMs: Int64) -> ServingEngine {
    engine(generation: generation, activity: activity, model: model, now: { nowMs })
  }

  /// The serving engine on clock `now` over a fixed generation and activity store, configured as
  /// `configuration` (reading `interactionsPerUser` interactions), with `offline` features if given
  /// (call `refreshItemFeatures` before asking it).
  static func engine(generation: IndexGeneration, activity: EmbeddedFeatureStore, model: any ScoringModel,
                     configuration: ServingConfiguration = ServingConfiguration(), offline: (any OfflineFeatureSource)? = nil,
                     now: @escaping @Sendable () -> Int64) -> ServingEngine {
    var configuration = configuration
    configuration.recentInteractions = interactionsPerUser
    var dependencies = ServingDependencies(generation: generation, generationSource: FixedGeneration(generation: generation),
                                           activity: activity, events: activity, model: model, storeName: "evaluation",
                                           itemActivity: activity, now: now)
    dependencies.offlineFeatures = offline
    return ServingEngine(dependencies: dependencies, configuration: configuration)
  }

  /// Candidates in recall order: the sum of their recall channels' scores (a linear model over the
  /// built-in schema's `recall_*` features only), so "recall only" goes through the same pipeline
  /// (merge, filters, re-ranking) as the ranked engine.
  public static let recallOnlyModel: LinearModel = {
    let schema = FeatureSchema(CandidateRanker.knownFeatures.filter { $0.hasPrefix("recall_") }.sorted())
    do {
      return try LinearModel(version: "recall-only", schema: schema, weights: schema.names.map { _ in 1 }, bias: 0, logistic: false)
    } catch {
      preconditionFailure("recall-only model is inconsistent: \(error)")
    }
  }()
}

/// A generation source that always returns the same generation (an evaluation never reloads).
struct FixedGeneration: IndexGenerationSource {
  let generation: IndexGeneration
  func loadGeneration() async throws -> IndexGeneration { generation }
}
