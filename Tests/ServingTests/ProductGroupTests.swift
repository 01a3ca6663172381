import FeatureStore
import FunnelCore
import FunnelTestSupport
import IndexBuilder
import IndexFormat
import Serving
import Testing

/// Items of one product group (catalog attribute `group`) appear once per answer: the best-ranked one.
@Suite struct ProductGroupTests {
  @Test func onlyTheBestItemOfAGroupIsShown() async throws {
    let base = TestEngines.sharedGeneration
    // The five most popular items become sizes of one product.
    let popular = (0..<5).map { base.items.id(base.popularity.doc(base.popularity.global.range.lowerBound + $0)) }
    let items = TestEngines.store.items.map { item -> CatalogItem in
      var copy = item
      if popular.contains(item.id) { copy.attributes["group"] = .text("Tee-1") }
      return copy
    }
    let generation = try GenerationBuilder().build(items: items, events: TestEngines.store.events, nowMs: TestEngines.nowMs,
                                                   version: "groups").open()
    let store = EmbeddedFeatureStore()
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation, generationSource: StaticGenerationSource(generation: generation),
                               activity: store, events: store, storeName: "embedded", now: { TestEngines.nowMs }))
    let answer = try await engine.recommend(RecommendInput(userID: "new-user", scene: .home, count: 20))
    let shown = answer.items.map(\.itemID).filter(popular.contains)
    #expect(shown.count == 1, "one of the group's five items, not \(shown)")
    #expect(answer.items.count == 20, "siblings make room for other items")
    #expect(generation.items.attribute(try #require(generation.items.doc(for: popular[0])), "group") == .text("Tee-1"))
    #expect(generation.keywords.hasField("attr.group") && !base.keywords.hasField("attr.group"),
            "a catalog without groups skips the per-item lookup")
    #expect(generation.keywords.hasField("attr.colour") && !generation.keywords.hasField("attr.colou"))
  }
}
