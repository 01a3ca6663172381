import FunnelCore
import FunnelTestSupport
import IndexFormat
import Serving
import Testing

/// Facets, keyed sorts with cursors, relevance pages and the query rewrite, through the engine.
@Suite struct SearchPagingTests {
  static let items = TestEngines.store.items
  static func price(_ id: String) -> Double { items.first { $0.id == id }!.price }

  @Test func aKeyedSortWalksEveryMatchInOrderWithoutRepeats() async throws {
    let (engine, _) = TestEngines.engine()
    var seen: [String] = [], cursor = "", total = 0
    repeat {
      let page = try await engine.search(SearchInput(query: "mug", count: 7, sort: "price_desc", cursor: cursor))
      seen += page.items.map(\.itemID)
      cursor = page.nextCursor
      total = page.totalMatches
      #expect(page.items.count <= 7)
    } while !cursor.isEmpty && seen.count < 5_000
    #expect(seen.count == total && Set(seen).count == seen.count && total > 7)
    let prices = seen.map(Self.price)
    #expect(prices == prices.sorted(by: >), "price_desc across pages")
    // Every listed item has the word (or a synonym) and is in stock.
    #expect(seen.allSatisfy { id in Self.items.first { $0.id == id }!.inStock })
  }

  @Test func relevancePagesContinueTheRankedList() async throws {
    let (engine, _) = TestEngines.engine()
    let all = try await engine.search(SearchInput(query: "lamp", count: 30))
    let first = try await engine.search(SearchInput(query: "lamp", count: 10))
    let second = try await engine.search(SearchInput(query: "lamp", count: 10, cursor: first.nextCursor))
    #expect(all.totalMatches > 20 && !first.nextCursor.isEmpty)
    #expect(first.items.map(\.itemID) == Array(all.items.prefix(10).map(\.itemID)))
    #expect(second.items.map(\.itemID) == Array(all.items.dropFirst(10).prefix(10).map(\.itemID)))
    // A cursor belongs to its query, filter and sort.
    await #expect(throws: FunnelError.self) {
      try await engine.search(SearchInput(query: "lamps", count: 10, cursor: first.nextCursor))
    }
    await #expect(throws: FunnelError.self) {
      try await engine.search(SearchInput(query: "lamp", count: 10, sort: "price_asc", cursor: first.nextCursor))
    }
  }

  @Test func facetsCountEveryMatchAfterTheFilter() async throws {
    let (engine, _) = TestEngines.engine()
    let answer = try await engine.search(SearchInput(query: "mug", count: 3, filter: "price:<30",
                                                     facets: ["category", "price:0,10,20", "brand"], facetSize: 100))
    let byName = Dictionary(uniqueKeysWithValues: answer.facets.map { ($0.name, $0) })
    let roots = try #require(byName["category"]).values.filter { $0.parent.isEmpty }
    #expect(roots.map(\.count).reduce(0, +) == answer.totalMatches)
    let bands = try #require(byName["price:0,10,20"]).values
    #expect(bands.map(\.count).reduce(0, +) == answer.totalMatches)
    #expect(bands.last?.low == 20 && bands.last?.count == 0, "nothing at 30 or more passes the filter")
    #expect(try #require(byName["brand"]).values.map(\.count).reduce(0, +) == answer.totalMatches)
  }

  @Test func theRewriteSaysWhatWasCorrectedAndDropped() async throws {
    let (engine, _) = TestEngines.engine()
    let answer = try await engine.search(SearchInput(query: "cermaic mug qqzzxx", count: 5))
    #expect(answer.rewrite.corrections.map(\.typed) == ["cermaic"])
    #expect(answer.rewrite.corrections.first?.kind == .corrected)
    #expect(answer.rewrite.dropped.contains("qqzzxx"))
    #expect(!answer.items.isEmpty)
    let nothing = try await engine.search(SearchInput(query: "qqzzxx", count: 5))
    #expect(nothing.items.isEmpty && nothing.totalMatches == 0)
    #expect(engine.zeroResultQueries.top(5).map(\.query) == ["qqzzxx"])
    #expect(engine.metrics.value("funnel_search_zero_results_total") == 1)
  }

  @Test func badFacetsSortsAndCursorsAreNamed() async throws {
    let (engine, _) = TestEngines.engine()
    for (input, field) in [(SearchInput(query: "mug", facets: ["colour"]), "facets[0]"),
                           (SearchInput(query: "mug", sort: "cheapest"), "sort"),
                           (SearchInput(query: "mug", cursor: "nope"), "cursor"),
                           (SearchInput(query: "mug", facetSize: 101), "facet_size")] {
      do {
        _ = try await engine.search(input)
        Issue.record("accepted \(field)")
      } catch let error as FunnelError {
        #expect(error.kind == .invalidArgument && error.message.hasPrefix(field), "\(error.message)")
      }
    }
  }
}
