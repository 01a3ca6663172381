import FeatureStore
import Foundation
import FunnelCore
import FunnelTestSupport
import IndexFormat
import Ranking
import Serving
import Synchronization
import Testing

/// Offline features in a fixed table: `margin` = the item's position in the catalog, `ltv` per user.
struct FixedOfflineSource: OfflineFeatureSource {
  let generation: IndexGeneration
  let failing: Bool

  func loadItemFeatures() async throws -> ItemFeatureTable {
    if failing { throw FunnelError(.unavailable, "store down") }
    return ItemFeatureTable(names: ["margin"], rows: (0..<generation.itemCount).map { d in
      (generation.items.id(DocID(d)), [Float(d)])
    }, version: "fixed")
  }

  func userFeatures(_ users: [UserID]) async throws -> [UserID: [String: Float]] {
    if failing { throw FunnelError(.unavailable, "store down") }
    return Dictionary(uniqueKeysWithValues: users.map { ($0, ["ltv": 1_000]) })
  }
}

@Suite struct OfflineFeaturesTests {
  static let model = try! LinearModel(version: "offline", schema: FeatureSchema(["item.margin", "user.ltv", "item.unknown"]),
                                      weights: [1, 1, 1], bias: 0, logistic: false)

  func engine(failing: Bool = false) -> ServingEngine {
    let (base, store) = TestEngines.engine()
    return ServingEngine(dependencies: ServingDependencies(generation: base.generation, generationSource: StaticGenerationSource(generation: base.generation),
                         activity: store, events: store, model: Self.model, storeName: "embedded",
                         offlineFeatures: FixedOfflineSource(generation: base.generation, failing: failing),
                         now: { TestEngines.nowMs }))
  }

  @Test func itemAndUserFeaturesReachTheModel() async throws {
    let engine = engine()
    let loaded = try #require(try await engine.refreshItemFeatures())
    #expect(loaded.items == engine.generation.itemCount)
    let answer = try await engine.recommend(RecommendInput(userID: "U-5", scene: .home, count: 10, debug: true))
    #expect(!answer.degraded)
    let debug = try #require(answer.debug)
    let first = try #require(debug.features.first, "debug shows the model's inputs for the top items")
    #expect(first.itemID == answer.items[0].itemID)
    let doc = try #require(engine.generation.items.doc(for: first.itemID))
    #expect(first.values.map(\.name) == ["item.margin", "user.ltv", "item.unknown"])
    #expect(first.values[0].value == Float(doc.index) && first.values[1].value == 1_000 && first.values[2].value.isNaN)
    for item in answer.items {
      let doc = try #require(engine.generation.items.doc(for: item.itemID))
      // Missing features (item.unknown) contribute nothing to a linear model.
      #expect(item.score == Double(doc.index) + 1_000, "\(item.itemID)")
    }
  }

  @Test func aFailingStoreDegradesAndKeepsThePreviousSnapshot() async throws {
    let engine = engine(failing: true)
    await #expect(throws: FunnelError.self) { try await engine.refreshItemFeatures() }
    let answer = try await engine.recommend(RecommendInput(userID: "U-5", scene: .home, count: 10))
    #expect(answer.degraded, "no user profile")
    #expect(engine.metrics.value("funnel_store_errors_total", [("stage", "profile")]) == 1 && engine.metrics.value("funnel_store_timeouts_total", [("stage", "profile")]) == 0)
    #expect(answer.items.count == 10)
  }

  /// Real-time counts reach the model decayed to the request's time: two hours after four views,
  /// the 1 h count is a quarter and the 24 h count 0.5^(2/24) of four, exactly as `ItemActivity.count`.
  @Test func realTimeCountsAreDecayedToTheRequestTime() async throws {
    let store = EmbeddedFeatureStore()
    let model = try LinearModel(version: "rt", schema: FeatureSchema(["rt.views_1h", "rt.views_24h", "rt.clicks_24h"]),
                                weights: [1, 0, 0], bias: 0, logistic: false)
    let generation = TestEngines.sharedGeneration
    let viewedAt = TestEngines.nowMs - 7_200_000
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation, generationSource: StaticGenerationSource(generation: generation),
                               activity: store, events: store, model: model, storeName: "embedded",
                               itemActivity: store, now: { TestEngines.nowMs }))
    let hot = generation.items.id(generation.popularity.doc(generation.popularity.global.range.lowerBound + 3))
    _ = try await engine.track((0..<4).map { i in
      EventInput(eventID: "v-\(i)", userID: "viewer-\(i)", itemID: hot, kind: .view, timestampMs: viewedAt)
    })
    let answer = try await engine.recommend(RecommendInput(userID: "someone", scene: .home, count: 5, debug: true))
    let top = try #require(answer.debug?.features.first)
    #expect(top.itemID == hot)
    var expected = ItemActivity()
    for _ in 0..<4 { expected.add(.view, at: viewedAt) }
    let now = Double(TestEngines.nowMs)
    #expect(top.values.map(\.value) == [Float(expected.count(0, at: now)), Float(expected.count(1, at: now)), 0])
    #expect(abs(top.values[0].value - 1) < 1e-6 && abs(top.values[1].value - 4 * Float(pow(0.5, 2.0 / 24))) < 1e-5)
  }
}
