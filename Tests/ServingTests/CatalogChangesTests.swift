import FeatureStore
import FunnelCore
import FunnelTestSupport
import IndexBuilder
import IndexFormat
import Serving
import Testing

/// Live catalog changes laid over the serving generation: prices, stock and deletions take effect
/// in the next answer; a new item is found by text and filters and recalled by its content and
/// embedding before any rebuild; a generation that folded the changes in serves without an overlay.
@Suite struct CatalogChangesTests {
  static func engine() -> (ServingEngine, IndexGeneration) {
    let generation = TestEngines.sharedGeneration
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    let engine = ServingEngine(dependencies: ServingDependencies(
      generation: generation, generationSource: StaticGenerationSource(generation: generation), activity: store, events: store,
      storeName: "embedded", now: { TestEngines.nowMs }))
    return (engine, generation)
  }

  static func entries(_ changes: [CatalogChange]) -> [CatalogFeedEntry] {
    changes.enumerated().map { CatalogFeedEntry(position: "\(1_000 + $0.offset)-0", change: $0.element) }
  }

  @Test func pricesStockAndDeletionsTakeEffectInTheNextAnswer() async throws {
    let (engine, generation) = Self.engine()
    let popular = generation.popularity
    let ids = (0..<3).map { generation.items.id(popular.doc(popular.global.range.lowerBound + $0)) }
    let before = try await engine.recommend(RecommendInput(userID: "new-user", scene: .home, count: 20)).items.map(\.itemID)
    #expect(ids.allSatisfy(before.contains), "the most popular items are shown to a new user")

    var repriced = try #require(engine.item(ids[0]))
    repriced.price = 4_321.5
    var soldOut = try #require(engine.item(ids[1]))
    soldOut.inStock = false
    let overlay = engine.setCatalogChanges(Self.entries([.upsert(repriced), .upsert(soldOut), .delete(ids[2])]))
    #expect(overlay?.added.isEmpty == true, "price and stock keep the mapped doc")
    #expect(engine.generation.version == generation.version)

    let after = try await engine.recommend(RecommendInput(userID: "new-user", scene: .home, count: 20)).items.map(\.itemID)
    #expect(after.contains(ids[0]), "a new price keeps the item (and its popularity)")
    #expect(!after.contains(ids[1]), "sold out")
    #expect(!after.contains(ids[2]), "deleted")
    #expect(engine.item(ids[0])?.price == 4_321.5)
    #expect(engine.item(ids[2]) == nil)

    // Filters see the current price, not the mapped column.
    let expensive = try await engine.recommend(RecommendInput(userID: "new-user", scene: .home, count: 50, filter: "price:[4000 TO 5000]")).items.map(\.itemID)
    #expect(expensive == [ids[0]], "\(expensive)")
    let title = generation.items.item(try #require(generation.items.doc(for: ids[2]))).title
    let found = try await engine.search(SearchInput(query: title, count: 50)).items.map(\.itemID)
    #expect(!found.contains(ids[2]), "a deleted item is not found by its own title")
    let pinned = try await engine.recommend(RecommendInput(userID: "new-user", scene: .itemPage, count: 10, anchorItemIDs: [ids[0]]))
    #expect(!pinned.items.isEmpty)
    await #expect(throws: FunnelError.self, "a deleted anchor is unknown") {
      _ = try await engine.recommend(RecommendInput(userID: "new-user", scene: .itemPage, count: 10, anchorItemIDs: [ids[2]]))
    }

    // Undoing the changes (an empty feed) serves the generation as built.
    #expect(engine.setCatalogChanges([]) == nil)
    let restored = try await engine.recommend(RecommendInput(userID: "new-user", scene: .home, count: 20)).items.map(\.itemID)
    #expect(restored == before)
  }

  @Test func aNewItemIsFoundAndRecalledBeforeAnyRebuild() async throws {
    let (engine, generation) = Self.engine()
    let anchorDoc = generation.popularity.doc(generation.popularity.global.range.lowerBound)
    let anchor = generation.items.item(anchorDoc)
    let vectors = try #require(generation.vectors, "the demo catalog has embeddings")
    var twin = anchor
    twin.id = "new-twin-1"
    twin.title = anchor.title + " zyxglow"
    twin.brand = "Newbrand"
    twin.embedding = vectors.vector(anchorDoc)
    let stranger = CatalogItem(id: "new-stranger", title: "qqvex gadget", categoryPath: ["unknown", "place"], brand: "Other",
                               price: 3, embedding: vectors.vector(DocID(rawValue: 1)).map { -$0 })
    let overlay = try #require(engine.setCatalogChanges(Self.entries([.upsert(twin), .upsert(stranger)])))
    #expect(overlay.added.map(\.id) == ["new-twin-1", "new-stranger"])

    let byText = try await engine.search(SearchInput(query: "zyxglow", count: 10)).items
    #expect(byText.map(\.itemID) == ["new-twin-1"], "found by a word only the new item has")
    let byFilter = try await engine.recommend(RecommendInput(userID: "new-user", scene: .home, count: 10, filter: "brand:newbrand")).items.map(\.itemID)
    #expect(byFilter == ["new-twin-1"])
    // By id: an added item is matched on its fields (the id clause's cached bitmap holds mapped docs only).
    let byID = try await engine.recommend(RecommendInput(userID: "new-user", scene: .home, count: 10,
                                                         filter: "id:new-twin-1 OR id:\(anchor.id)")).items.map(\.itemID)
    #expect(Set(byID) == ["new-twin-1", anchor.id], "\(byID)")
    let unknownCategory = try await engine.search(SearchInput(query: "qqvex", count: 10)).items
    #expect(unknownCategory.map(\.itemID) == ["new-stranger"], "a category the generation lacks is no obstacle")

    let page = try await engine.recommend(RecommendInput(userID: "new-user", scene: .itemPage, count: 50, anchorItemIDs: [anchor.id]))
    let recalled = try #require(page.items.first { $0.itemID == "new-twin-1" }, "\(page.items.map(\.itemID))")
    #expect(recalled.channels.contains("vector") && recalled.channels.contains("similar"), "\(recalled.channels)")
    #expect(!page.items.contains { $0.itemID == "new-stranger" })

    // The new item as the anchor: mapped items come by its content and embedding.
    let fromNew = try await engine.recommend(RecommendInput(userID: "new-user", scene: .itemPage, count: 20, anchorItemIDs: ["new-twin-1"]))
    #expect(fromNew.items.contains { $0.itemID != anchor.id && $0.channels.contains("vector") }, "\(fromNew.items.map(\.channels))")
    // A changed title supersedes the mapped doc: the old title alone no longer finds it by its old words.
    var renamed = anchor
    renamed.title = "plorbix"
    engine.setCatalogChanges(Self.entries([.upsert(twin), .upsert(stranger), .upsert(renamed)]))
    let byNewTitle = try await engine.search(SearchInput(query: "plorbix", count: 10)).items.map(\.itemID)
    #expect(byNewTitle == [anchor.id])
    #expect(engine.item(anchor.id)?.title == "plorbix")
  }

  @Test func aGenerationThatFoldedTheChangesServesWithoutThem() async throws {
    let (engine, generation) = Self.engine()
    let id = generation.items.id(DocID(rawValue: 0))
    engine.setCatalogChanges(Self.entries([.delete(id)]))
    #expect(engine.item(id) == nil)
    let folded = TestEngines.store.items.filter { $0.id != id }
    var next = GenerationBuilder().build(items: folded, events: TestEngines.store.events, nowMs: TestEngines.nowMs, version: "test-2")
    next.manifest.catalogThrough = "1000-0"
    let rebuilt = try next.open()
    #expect(rebuilt.overlaid(with: [.delete(id)], through: "1000-0").overlay != nil)
    let state = ServingEngine(dependencies: ServingDependencies(
      generation: generation, generationSource: StaticGenerationSource(generation: rebuilt), activity: EmbeddedFeatureStore(),
      events: EmbeddedFeatureStore(), storeName: "embedded", now: { TestEngines.nowMs }))
    state.setCatalogChanges(Self.entries([.delete(id)]))
    #expect(state.generation.overlay != nil)
    _ = try await state.reload()
    #expect(state.generation.version == "test-2" && state.generation.overlay == nil, "the change is folded in")
    #expect(state.item(id) == nil)
  }
}
