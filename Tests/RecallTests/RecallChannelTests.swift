import DemoCatalog
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import Testing

@Suite struct RecallChannelTests {
  static let now: Int64 = 1_790_000_000_000
  static let store = DemoStore(.small(endTimeMs: now))
  static let generation = GenerationBuilder().build(items: store.items, events: store.events, nowMs: now, version: "t").0

  static func item(_ id: String, _ path: [String], title: String = "thing") -> CatalogItem {
    CatalogItem(id: id, title: title, categoryPath: path, brand: "b", price: 10)
  }

  @Test func coPurchasedItemsAreEachOthersTopNeighbours() {
    let items = ["A", "B", "C", "D"].map { Self.item($0, ["x", "y"]) }
    var events: [BehaviourEvent] = []
    // Five users buy A with B; one user buys A with C; D is bought alone.
    for u in 0..<5 {
      events.append(BehaviourEvent(eventID: "a\(u)", userID: "u\(u)", itemID: "A", kind: .purchase, timestampMs: Self.now))
      events.append(BehaviourEvent(eventID: "b\(u)", userID: "u\(u)", itemID: "B", kind: .purchase, timestampMs: Self.now))
    }
    events.append(BehaviourEvent(eventID: "a9", userID: "u9", itemID: "A", kind: .view, timestampMs: Self.now))
    events.append(BehaviourEvent(eventID: "c9", userID: "u9", itemID: "C", kind: .view, timestampMs: Self.now))
    events.append(BehaviourEvent(eventID: "d8", userID: "u8", itemID: "D", kind: .view, timestampMs: Self.now))
    events.append(BehaviourEvent(eventID: "z", userID: "u8", itemID: "unknown", kind: .view, timestampMs: Self.now))
    let (g, skipped) = GenerationBuilder().build(items: items, events: events, nowMs: Self.now, version: "t")
    #expect(skipped == 1)
    let rowA = g.neighbours.row(DocID(0)).map { g.neighbours.neighbours[$0] }
    #expect(rowA == [DocID(1), DocID(2)])
    #expect(g.neighbours.row(DocID(3)).isEmpty)
    #expect(g.popular.docs.first == DocID(0), "A has the most interest")
  }

  @Test func popularListsAreSortedAndNormalised() {
    let g = Self.generation
    #expect(g.popular.scores.first == 1)
    #expect(zip(g.popular.scores, g.popular.scores.dropFirst()).allSatisfy { $0 >= $1 })
    for item in g.items.prefix(50) {
      for prefix in IndexGeneration.categoryPrefixes(item.categoryPath) {
        #expect(g.popularByCategory[prefix] != nil, "every category level has a list: \(prefix)")
      }
    }
  }

  @Test func neighboursMostlyShareADepartment() {
    let g = Self.generation
    var same = 0, total = 0
    for d in 0..<g.itemCount {
      for i in g.neighbours.row(DocID(d)).prefix(5) {
        total += 1
        if g.item(g.neighbours.neighbours[i]).categoryPath[0] == g.items[d].categoryPath[0] { same += 1 }
      }
    }
    #expect(total > 500)
    #expect(Double(same) / Double(total) > 0.6, "co-occurrence follows shopping sessions: \(same)/\(total)")
  }

  @Test func textRecallReturnsMatchingItemsBestFirst() {
    var collector = CandidateCollector()
    TextRecall().recall(RecallRequest(queryTerms: ["mug"]), in: Self.generation, quota: 20, into: &collector)
    #expect(!collector.candidates.isEmpty)
    for c in collector.candidates {
      let item = Self.generation.item(c.doc)
      let text = Tokenizer.tokens(([item.title, item.brand] + item.categoryPath + item.tags).joined(separator: " "))
      #expect(text.contains("mug"))
    }
    #expect(collector.candidates.first?.textScore == 1)
  }

  @Test func categoryRecallStaysInTheCategoryAndQuota() {
    let category = Self.generation.items[0].category
    var collector = CandidateCollector()
    CategoryRecall().recall(RecallRequest(categoryAffinity: [(category: category, weight: 1)]),
                            in: Self.generation, quota: 10, into: &collector)
    #expect(collector.candidates.count <= 10 && !collector.candidates.isEmpty)
    #expect(collector.candidates.allSatisfy { Self.generation.item($0.doc).category == category })
  }

  @Test func collectorMergesChannelsWithoutDuplicates() {
    var collector = CandidateCollector()
    collector.add(DocID(1), channel: .popular, score: 0.5)
    collector.add(DocID(1), channel: .similar, score: 0.7)
    collector.add(DocID(2), channel: .popular, score: 0.4)
    #expect(collector.candidates.count == 2)
    #expect(collector.candidates[0].channels == [.popular, .similar])
    #expect(collector.offeredByChannel[.popular] == 2)
  }

  @Test(arguments: [("Hello, World!", ["hello", "world"]), ("3D puzzle", ["3d", "puzzle"]),
                    ("heavy-duty  TOTE", ["heavy", "duty", "tote"]), ("", []), ("Crème brûlée", ["crème", "brûlée"])])
  func tokenizer(text: String, tokens: [String]) {
    #expect(Tokenizer.tokens(text) == tokens)
  }
}
