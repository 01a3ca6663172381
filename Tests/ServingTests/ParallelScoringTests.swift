import FeatureStore
import FunnelCore
import FunnelTestSupport
import Ranking
import Serving
import Testing

/// `serving.parallelScoringRows`: a request's candidates scored in two halves at once answer exactly
/// as one pass does, real-time counts included (each half gets its own candidates' counts).
@Suite struct ParallelScoringTests {
  /// Counts that differ per item, so a half scored with another half's counts changes the answer.
  final class DistinctActivity: ItemActivitySource {
    func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
      items.map { id in
        let views = Double(id.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 1_000 })
        return ItemActivity(updatedMs: Double(TestEngines.nowMs), counts: SIMD8(views, views / 2, 0, 0, 0, 0, 0, 0))
      }
    }
  }

  static let model = try! LinearModel(version: "split", schema: FeatureSchema(["item_popularity", ItemActivity.featureNames[0]]),
                                      weights: [1, 0.01], bias: 0, logistic: false)

  static func engine(split: Int) -> ServingEngine {
    var configuration = ServingConfiguration()
    configuration.parallelScoringRows = split
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    let generation = TestEngines.sharedGeneration
    return ServingEngine(dependencies: ServingDependencies(generation: generation,
                         generationSource: StaticGenerationSource(generation: generation), activity: store, events: store,
                         model: model, storeName: "embedded", itemActivity: DistinctActivity(), now: { TestEngines.nowMs }), configuration: configuration)
  }

  @Test func twoHalvesAnswerAsOnePass() async throws {
    let (serial, split) = (Self.engine(split: 0), Self.engine(split: 1))
    let users = ["U-1", "U-2", "U-7", "nobody-new"]
    var compared = 0
    for user in users {
      for scene in [Scene.home, .email] {
        let input = RecommendInput(userID: user, scene: scene, count: 100, debug: true)
        let (a, b) = (try await serial.recommend(input), try await split.recommend(input))
        #expect(a.items.map(\.itemID) == b.items.map(\.itemID), "\(user) \(scene)")
        #expect(a.items.map(\.score) == b.items.map(\.score), "\(user) \(scene)")
        #expect((a.debug?.rankedCandidates ?? 0) > 1, "several candidates to split")
        compared += a.items.count
      }
    }
    let search = SearchInput(query: "mug", count: 50)
    let (a, b) = (try await serial.search(search), try await split.search(search))
    #expect(a.items.map(\.itemID) == b.items.map(\.itemID) && a.items.map(\.score) == b.items.map(\.score))
    #expect(compared > 100)
  }
}
