import FeatureStore
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import Ranking
import Serving

/// A time-split evaluation: everything before the split builds the index generation and the users'
/// histories; every customer who bought before the split and buys after it is asked for their top K
/// — by each baseline and by the engine through the real `ServingEngine` (scene `email`: repeat
/// purchases recalled through their own channel) — and scored against the distinct items they
/// bought after the split.
public struct Evaluator: Sendable {
  /// The catalog and every event, all dates.
  public let items: [CatalogItem]
  public let events: [BehaviourEvent]

  /// An evaluation over `items` and `events`.
  public init(items: [CatalogItem], events: [BehaviourEvent]) {
    self.items = items
    self.events = events
  }

  /// One row of the report.
  public struct Row: Codable, Hashable, Sendable {
    public var name: String
    public var metrics: RankingMetrics.Summary
  }

  /// The report: one row per recommender, metrics at `cutoffs`.
  public struct Report: Codable, Hashable, Sendable {
    public var splitMs: Int64
    public var cutoffs: [Int]
    /// Customers evaluated, and those skipped for having no purchase before the split.
    public var users: Int
    public var coldUsersSkipped: Int
    public var catalogSize: Int
    public var rows: [Row]
  }

  /// Runs the evaluation. `models` are (row name, model) pairs scored through the engine, e.g. a
  /// recall-only ordering and a trained ranker; `sample` evaluates that many customers drawn with a
  /// fixed seed (nil: all). Throws if the split leaves no history or no customer to evaluate.
  public func run(splitMs: Int64, cutoffs: [Int], models: [(String, any ScoringModel)], sample: Int?,
                  progress: (String) -> Void = { _ in }) async throws -> Report {
    let history = events.filter { $0.timestampMs < splitMs }
    let future = events.filter { $0.timestampMs >= splitMs && $0.kind == .purchase }
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
    var users = truth.keys.filter { purchases[$0] != nil }.sorted()
    let cold = truth.count - users.count
    if let sample, sample < users.count {
      var rng = SplitMix64(seed: 2011)
      users.shuffle(using: &rng)
      users = users.prefix(sample).sorted()
    }
    guard !users.isEmpty else { throw FunnelError(.invalidArgument, "no customer buys both before and after the split") }
    progress("history \(history.count) events, \(users.count) customers to evaluate (\(cold) without history skipped)")

    let generation = try GenerationBuilder().build(items: items, events: history, nowMs: splitMs, version: "eval").open()
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
      for user in users { metrics.add(ranked: try await recommend(user), relevant: truth[user]!, information: information) }
      rows.append(Row(name: name, metrics: metrics.summary(catalogSize: items.count)))
      progress("\(name): NDCG@\(k) \(String(format: "%.4f", rows.last!.metrics.ndcg.last!))")
    }
    await evaluate("global popularity") { _ in baselines.popular }
    await evaluate("recent popularity (30 days)") { _ in baselines.trending }
    await evaluate("repeat purchases") { baselines.repeatPurchases(purchases[$0]!) }
    await evaluate("ItemCF") { baselines.itemCF(purchases[$0]!, limit: k) }
    await evaluate("repeat purchases, then ItemCF") { baselines.repeatThenItemCF(purchases[$0]!, limit: k) }

    let activity = Self.activity(history)
    for (name, model) in models {
      let engine = Self.engine(generation: generation, activity: activity, model: model, nowMs: splitMs)
      try await evaluate(name) { user in
        try await engine.recommend(RecommendInput(userID: user, scene: .email, count: k)).items.map(\.itemID)
      }
    }
    return Report(splitMs: splitMs, cutoffs: cutoffs.sorted(), users: users.count, coldUsersSkipped: cold,
                  catalogSize: items.count, rows: rows)
  }
}

extension Evaluator {
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
    var configuration = ServingConfiguration()
    configuration.recentInteractions = interactionsPerUser
    return ServingEngine(configuration: configuration, generation: generation,
                         generationSource: FixedGeneration(generation: generation), activity: activity, events: activity,
                         model: model, storeName: "evaluation", itemActivity: activity, now: { nowMs })
  }

  /// Candidates in recall order: the sum of their recall channels' scores (a linear model over the
  /// built-in schema's `recall_*` features only), so "recall only" goes through the same pipeline
  /// (merge, filters, re-ranking) as the ranked engine.
  public static let recallOnlyModel: LinearModel = {
    let weights: [Float] = BuiltinModel.schema.names.map { $0.hasPrefix("recall_") ? 1 : 0 }
    do {
      return try LinearModel(version: "recall-only", schema: BuiltinModel.schema, weights: weights, bias: 0, logistic: false)
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
