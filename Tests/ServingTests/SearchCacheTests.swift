import FunnelCore
import FunnelTestSupport
import Serving
import Testing

/// Repeated searches take their text matches from the engine's query cache and answer the same;
/// another user shares the entry; a filter has its own (the text channel recalls the matches that
/// pass it); a new generation does not share, and 0 entries turns it off.
@Suite struct SearchCacheTests {
  @Test func repeatedQueriesAnswerTheSameFromTheCache() async throws {
    let (engine, _) = TestEngines.engine()
    let first = try await engine.search(SearchInput(query: "ceramic mug", count: 10))
    let again = try await engine.search(SearchInput(query: "mug ceramic", count: 10))
    let otherUser = try await engine.search(SearchInput(query: "ceramic mug", userID: "u1", count: 10, filter: "price:<1000"))
    #expect(!first.items.isEmpty && first.items.map(\.itemID) == again.items.map(\.itemID))
    #expect(first.totalMatches == again.totalMatches && otherUser.totalMatches <= first.totalMatches)
    let otherUserNoFilter = try await engine.search(SearchInput(query: "ceramic mug", userID: "u2", count: 10))
    #expect(otherUserNoFilter.totalMatches == first.totalMatches)
    #expect(engine.metrics.value("funnel_search_cache_misses_total") == 2 && engine.metrics.value("funnel_search_cache_hits_total") == 2, "\(engine.metrics.value("funnel_search_cache_misses_total")) \(engine.metrics.value("funnel_search_cache_hits_total"))")
    #expect(String(decoding: engine.metrics.exposition(), as: UTF8.self).contains("funnel_search_cache_hits_total 2"))

    _ = try await engine.track([EventInput(eventID: "c-1", userID: "x", itemID: "SKU-100001", kind: .view,
                                           timestampMs: TestEngines.nowMs)])
    _ = try await engine.reload()
    let reloaded = try await engine.search(SearchInput(query: "ceramic mug", count: 10))
    #expect(engine.metrics.value("funnel_search_cache_misses_total") == 3, "a new generation scores the query again")
    #expect(reloaded.totalMatches == first.totalMatches)
  }

  @Test func zeroEntriesScoresEverySearch() async throws {
    var configuration = ServingConfiguration()
    configuration.searchCacheEntries = 0
    let (engine, _) = TestEngines.engine(configuration: configuration)
    for _ in 0..<2 { _ = try await engine.search(SearchInput(query: "mug")) }
    #expect(engine.metrics.value("funnel_search_cache_hits_total") == 0 && engine.metrics.value("funnel_search_cache_misses_total") == 0)
  }
}
