import FeatureStore
import FunnelCore
import FunnelTestSupport
import IndexBuilder
import IndexFormat
import Ranking
import Serving
import Testing

/// The behaviour channels through the engine: what the build learned about a user answers without
/// any recent session, and each channel names itself and its reason.
@Suite struct LearnedChannelsServingTests {
  static let store = TestEngines.store

  /// A generation of the small store with seeded random factors for every item and every user.
  static let generation: (IndexGeneration, LearnedFactors) = {
    var rng = SplitMix64(seed: 31)
    func vector() -> [Float] { (0..<8).map { _ in Float.random(in: -1...1, using: &rng) } }
    var items: [ItemID: [Float]] = [:]
    for item in store.items { items[item.id] = vector() }
    var users: [UserID: [Float]] = [:]
    for user in Set(store.events.map(\.userID)).sorted() { users[user] = vector() }
    let factors = LearnedFactors(model: "als", dimension: 8, items: items, users: users)
    var options = GenerationBuilder.Options()
    options.factors = factors
    let generation = try! GenerationBuilder(options: options).build(items: store.items, events: store.events, nowMs: TestEngines.nowMs,
                                                                    version: "learned").open()
    return (generation, factors)
  }()

  static func engine(activity: EmbeddedFeatureStore, model: any ScoringModel = BuiltinModel.model) -> ServingEngine {
    let generation = Self.generation.0
    return ServingEngine(dependencies: ServingDependencies(
      generation: generation, generationSource: StaticGenerationSource(generation: generation), activity: activity, events: activity,
      model: model, storeName: "embedded", now: { TestEngines.nowMs }))
  }

  @Test func aKnownUserWithoutASessionGetsFactorAndUserCFCandidates() async throws {
    let engine = Self.engine(activity: EmbeddedFeatureStore())  // no recent interactions for anyone
    let users = try #require(Self.generation.0.users)
    let user = try #require((0..<users.count).lazy.map(users.user).first { u in users.row(u).map { !Array(users.list($0)).isEmpty } ?? false })
    let answer = try await engine.recommend(RecommendInput(userID: user, scene: .home, count: 50))
    let factorItems = answer.items.filter { $0.channels.contains("factors") }
    #expect(!factorItems.isEmpty && factorItems.allSatisfy { $0.reasons.contains("picked for your tastes") }, "\(answer.items.map(\.channels))")
    let cfItems = answer.items.filter { $0.channels.contains("user_cf") }
    #expect(!cfItems.isEmpty && cfItems.allSatisfy { $0.reasons.contains("shoppers like you bought this") })

    // The user's best item by the factors' inner product is recalled by the factors channel.
    let factors = Self.generation.1
    let best = Self.store.items.map(\.id).max { factors.score(user: user, item: $0)! < factors.score(user: user, item: $1)! }!
    let scoredByFactors = try await engine.recommend(RecommendInput(userID: user, scene: .home, count: 50, filter: "id:\(best)"))
    #expect(scoredByFactors.items.first.map { $0.itemID == best && $0.channels.contains("factors") } == true,
            "\(scoredByFactors.items.map { ($0.itemID, $0.channels) })")

    // A stranger gets neither.
    let stranger = try await engine.recommend(RecommendInput(userID: "nobody-knows-me", scene: .home, count: 50))
    #expect(!stranger.items.contains { $0.channels.contains("factors") || $0.channels.contains("user_cf") })
  }

  @Test func theFactorScoreFeatureIsTheInnerProduct() async throws {
    let activity = EmbeddedFeatureStore()
    activity.seed(Self.store.events)
    let engine = Self.engine(activity: activity)
    let user = Self.store.events[0].userID
    let schema = FeatureSchema(["user_item_factor", "recall_swing", "recall_session", "recall_factors", "channel_count"])
    let (ids, rows) = try await engine.candidateFeatures(RecommendInput(userID: user, scene: .home, count: 50), schema: schema)
    #expect(!ids.isEmpty)
    for (id, row) in zip(ids, rows) {
      let expected = try #require(Self.generation.1.score(user: user, item: id))
      #expect(abs(row[0] - expected) < 1e-3 * max(1, abs(expected)), "\(id)")
      #expect(row[4] >= 1 && row[4] <= 10)
    }
    #expect(rows.contains { $0[1] > 0 } && rows.contains { $0[2] > 0 } && rows.contains { $0[3] > 0 },
            "a user with a session gets Swing, session and factor candidates")
  }
}
