import FunnelCore
import FunnelTestSupport
import Recall
import Serving
import Testing

/// Disjunctive facets: a facet ignores the filter's own clauses on its field, and only those.
@Suite struct FacetFilterTests {
  @Test func onlyTopLevelClausesOnTheFieldAloneAreLeftOut() throws {
    let parsed = { (text: String) in try #require(try FilterParser.parse(text)) }
    #expect(try FacetFilter.without("brand", in: parsed("brand:a AND price:<10")) == parsed("price:<10"))
    #expect(try FacetFilter.without("brand", in: parsed("(brand:a OR brand:b) AND price:<10 AND tag:x"))
            == parsed("price:<10 AND tag:x"))
    #expect(try FacetFilter.without("brand", in: parsed("brand:a")) == nil)
    // A clause mixing fields stays: leaving it out would change more than the brand.
    #expect(try FacetFilter.without("brand", in: parsed("brand:a OR price:<10")) == parsed("brand:a OR price:<10"))
    #expect(try FacetFilter.without("price", in: parsed("brand:a AND NOT price:[10 TO 20]")) == parsed("brand:a"))
    #expect(try !FacetFilter.restricts("category", in: parsed("brand:a AND price:<10")))
  }

  @Test func aPickedBrandStillShowsTheOtherBrands() async throws {
    let (engine, _) = TestEngines.engine()
    let open = try await engine.search(SearchInput(query: "lamp", count: 5, facets: ["brand", "category"], facetSize: 100))
    let openBrands = try #require(open.facets.first { $0.name == "brand" }).values
    #expect(openBrands.count >= 2)
    let picked = openBrands[0].value
    let filtered = try await engine.search(SearchInput(query: "lamp", count: 5, filter: "brand:\"\(picked)\"",
                                                       facets: ["brand", "category"], facetSize: 100))
    // The brand facet is counted as if no brand were picked; the category facet under the pick.
    #expect(try #require(filtered.facets.first { $0.name == "brand" }).values == openBrands)
    #expect(filtered.totalMatches == openBrands[0].count)
    let roots = try #require(filtered.facets.first { $0.name == "category" }).values.filter { $0.parent.isEmpty }
    #expect(roots.map(\.count).reduce(0, +) == filtered.totalMatches)
  }
}
