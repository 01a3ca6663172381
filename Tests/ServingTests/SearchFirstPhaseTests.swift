import FeatureStore
import FunnelCore
import FunnelTestSupport
import Ranking
import Serving
import Synchronization
import Testing

/// Search's first phase (`serving.searchRankCount`): the model ranks only the best text matches by
/// BM25, the other matches follow in BM25 order, and only the ranked ones' real-time counts are read.
@Suite struct SearchFirstPhaseTests {
  /// Scores a match by its BM25 score: the first phase's own order.
  static let faithful = try! LinearModel(version: "bm25", schema: FeatureSchema(["recall_text", "rt.views_1h"]),
                                         weights: [1, 0], bias: 0, logistic: false)
  /// Prefers the weakest text matches, so what it is allowed to rank shows in the answer.
  static let contrarian = try! LinearModel(version: "contrarian", schema: FeatureSchema(["recall_text", "rt.views_1h"]),
                                           weights: [-1, 0], bias: 0, logistic: false)

  /// Answers no counts and records how many items each read asked for.
  final class CountingActivity: ItemActivitySource {
    let asked = Mutex<[Int]>([])
    func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?] {
      asked.withLock { $0.append(items.count) }
      return items.map { _ in nil }
    }
  }

  static func engine(rankCount: Int, model: LinearModel, activity: CountingActivity = CountingActivity()) -> ServingEngine {
    var configuration = ServingConfiguration()
    configuration.searchRankCount = rankCount
    let store = EmbeddedFeatureStore()
    let generation = TestEngines.sharedGeneration
    return ServingEngine(dependencies: ServingDependencies(generation: generation,
                         generationSource: StaticGenerationSource(generation: generation), activity: store, events: store,
                         model: model, storeName: "embedded", itemActivity: activity, now: { TestEngines.nowMs }), configuration: configuration)
  }

  /// A query of the test catalog with at least `matches` text matches, and every match in BM25 order.
  static func queryWithMatches(_ matches: Int) async throws -> (query: String, bm25Order: [ItemID]) {
    let engine = engine(rankCount: 0, model: faithful)
    for query in ["mug", "lamp", "ceramic", "cotton", "oak", "steel", "linen", "set", "blue", "black"] {
      let answer = try await engine.search(SearchInput(query: query, count: 200))
      if answer.totalMatches >= matches {
        #expect(answer.items.count == answer.totalMatches, "no product groups in the test catalog")
        return (query, answer.items.map(\.itemID))
      }
    }
    Issue.record("no query of the test catalog has \(matches) matches")
    throw FunnelError(.notFound, "no query with \(matches) matches")
  }

  @Test func theModelRanksOnlyTheBestMatchesAndTheRestFollowInBM25Order() async throws {
    let (query, bm25) = try await Self.queryWithMatches(12)
    let activity = CountingActivity()
    let limited = Self.engine(rankCount: 4, model: Self.contrarian, activity: activity)
    let answer = try await limited.search(SearchInput(query: query, count: 200, debug: true))
    #expect(answer.totalMatches == bm25.count)
    #expect(answer.debug?.rankedCandidates == 4)
    let ids = answer.items.map(\.itemID)
    #expect(ids.count == bm25.count)
    #expect(Set(ids.prefix(4)) == Set(bm25.prefix(4)), "the model reorders the first phase's best four only")
    #expect(Array(ids.dropFirst(4)) == Array(bm25.dropFirst(4)), "the rest in BM25 order")
    #expect(answer.items.dropFirst(4).allSatisfy { $0.score == answer.items[3].score }, "below every ranked match")
    #expect(activity.asked.withLock { $0 } == [4], "real-time counts read for the ranked matches only")

    // Without the limit the same model puts the weakest match first.
    let unlimitedActivity = CountingActivity()
    let unlimited = Self.engine(rankCount: 0, model: Self.contrarian, activity: unlimitedActivity)
    let every = try await unlimited.search(SearchInput(query: query, count: 200, debug: true))
    #expect(every.debug?.rankedCandidates == bm25.count)
    #expect(!bm25.prefix(4).contains(every.items[0].itemID))
    #expect(unlimitedActivity.asked.withLock { $0 } == [bm25.count])
  }

  @Test func aLimitAboveTheMatchesRanksThemAll() async throws {
    let (query, bm25) = try await Self.queryWithMatches(12)
    let engine = Self.engine(rankCount: bm25.count + 1, model: Self.contrarian)
    let answer = try await engine.search(SearchInput(query: query, count: 200, debug: true))
    #expect(answer.debug?.rankedCandidates == bm25.count)
    #expect(!bm25.prefix(4).contains(answer.items[0].itemID))
  }

  @Test func recommendationsAreNotCut() async throws {
    let engine = Self.engine(rankCount: 4, model: Self.contrarian)
    let answer = try await engine.recommend(RecommendInput(userID: ServingEngineTests.activeUser(), scene: .home, count: 20,
                                                           debug: true))
    let debug = try #require(answer.debug)
    #expect(debug.rankedCandidates > 4 && debug.rankedCandidates == debug.mergedCandidates - debug.filteredCandidates)
  }
}
