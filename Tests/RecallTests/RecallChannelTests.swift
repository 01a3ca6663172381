import DemoCatalog
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import Testing
import TextAnalysis

@Suite struct RecallChannelTests {
  static let now: Int64 = 1_790_000_000_000
  static let store = DemoStore(.small(endTimeMs: now))
  static let generation = try! GenerationBuilder().build(items: store.items, events: store.events, nowMs: now,
                                                         version: "t").open()

  static func item(_ id: String, _ path: [String], title: String = "thing") -> CatalogItem {
    CatalogItem(id: id, title: title, categoryPath: path, brand: "b", price: 10)
  }

  @Test func coPurchasedItemsAreEachOthersTopNeighbours() throws {
    let items = ["A", "B", "C", "D"].map { Self.item($0, ["x", "y"]) }
    var events: [BehaviourEvent] = []
    // Five users buy A with B; one user views A with C; D is viewed alone.
    for u in 0..<5 {
      events.append(BehaviourEvent(eventID: "a\(u)", userID: "u\(u)", itemID: "A", kind: .purchase, timestampMs: Self.now))
      events.append(BehaviourEvent(eventID: "b\(u)", userID: "u\(u)", itemID: "B", kind: .purchase, timestampMs: Self.now))
    }
    events.append(BehaviourEvent(eventID: "a9", userID: "u9", itemID: "A", kind: .view, timestampMs: Self.now))
    events.append(BehaviourEvent(eventID: "c9", userID: "u9", itemID: "C", kind: .view, timestampMs: Self.now))
    events.append(BehaviourEvent(eventID: "d8", userID: "u8", itemID: "D", kind: .view, timestampMs: Self.now))
    events.append(BehaviourEvent(eventID: "z", userID: "u8", itemID: "unknown", kind: .view, timestampMs: Self.now))
    let built = GenerationBuilder().build(items: items, events: events, nowMs: Self.now, version: "t")
    #expect(built.manifest.skippedEvents == 1)
    let g = try built.open()
    let rowA = g.neighbours.row(DocID(0)).map { g.neighbours.neighbours[$0] }
    #expect(rowA == [1, 2])
    #expect(g.neighbours.row(DocID(3)).isEmpty)
    #expect(g.popularity.doc(g.popularity.global.range.lowerBound) == DocID(0), "A has the most interest")
  }

  @Test func trendingFavoursRecentInterest() throws {
    let items = ["OLD", "NEW"].map { Self.item($0, ["x"]) }
    let day: Int64 = 86_400_000
    // Same interest, but OLD's is five days old and NEW's is from the last hour.
    let events = (0..<10).flatMap { u in [
      BehaviourEvent(eventID: "o\(u)", userID: "u\(u)", itemID: "OLD", kind: .purchase, timestampMs: Self.now - 5 * day),
      BehaviourEvent(eventID: "n\(u)", userID: "v\(u)", itemID: "NEW", kind: .view, timestampMs: Self.now - 3_600_000),
    ] }
    let g = try GenerationBuilder().build(items: items, events: events, nowMs: Self.now, version: "t").open()
    #expect(g.popularity.doc(g.popularity.global.range.lowerBound) == DocID(0), "purchases weigh more over 72 h")
    let trending = g.popularity.trending(limit: 10)
    #expect(trending.map(\.0) == [DocID(1), DocID(0)], "over 12 h the recent views win")
    var collector = CandidateCollector()
    TrendingRecall().recall(RecallRequest(), in: g, quota: 1, into: &collector)
    #expect(collector.candidates.map(\.doc) == [DocID(1)] && collector.candidates[0].channels == .trending)
  }

  @Test func popularListsAreSortedAndNormalised() {
    let p = Self.generation.popularity
    let scores = p.global.range.map { p.score($0) }
    #expect(scores.first == 1)
    #expect(zip(scores, scores.dropFirst()).allSatisfy { $0 >= $1 })
    let items = Self.generation.items
    for key in 0..<UInt32(items.categoryKeys.count) {
      let list = p.category(key)
      #expect(!list.range.isEmpty, "every category with interest has a list: \(items.categoryKeys[Int(key)])")
      for i in list.range {
        // The doc belongs to the category or a sub-category of it.
        var k = items.leafCategory(p.doc(i))
        while k != key && k != ItemTable.noParent { k = items.parent(ofCategory: k) }
        #expect(k == key)
      }
    }
  }

  @Test func neighboursMostlyShareADepartment() {
    let g = Self.generation
    var same = 0, total = 0
    for d in 0..<g.itemCount {
      let department = Self.store.items[d].categoryPath[0]
      for i in g.neighbours.row(DocID(d)).prefix(5) {
        total += 1
        if Self.store.items[Int(g.neighbours.neighbours[i])].categoryPath[0] == department { same += 1 }
      }
    }
    #expect(total > 500)
    #expect(Double(same) / Double(total) > 0.6, "co-occurrence follows shopping sessions: \(same)/\(total)")
  }

  @Test func categoryRecallStaysInTheCategoryAndQuota() throws {
    let items = Self.generation.items
    let key = items.leafCategory(DocID(0))
    var collector = CandidateCollector()
    CategoryRecall().recall(RecallRequest(categoryAffinity: [(category: key, weight: 1)]),
                            in: Self.generation, quota: 10, into: &collector)
    #expect(collector.candidates.count <= 10 && !collector.candidates.isEmpty)
    #expect(collector.candidates.allSatisfy { items.leafCategory($0.doc) == key })
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

  /// The collector's own hash table: thousands of documents (it grows from 16 slots several times),
  /// ids 0 and near the top of the range, clustered and scattered ids, absent ones.
  @Test func collectorKeepsEveryDocumentOnceThroughGrowth() {
    var collector = CandidateCollector(capacity: 4)
    var rng = SplitMix64(seed: 7)
    var docs: [DocID] = [DocID(0), DocID(rawValue: UInt32.max - 1)] + (1..<2_000).map { DocID(rawValue: UInt32($0) * 1_024) }
    docs += (0..<2_999).map { _ in DocID(rawValue: UInt32(truncatingIfNeeded: rng.next() % 1_000_000_000)) }
    for (i, doc) in docs.enumerated() { collector.add(doc, channel: i % 2 == 0 ? .popular : .trending, score: 1) }
    for doc in docs { collector.add(doc, channel: .similar, score: 0.5) }
    let unique = Set(docs)
    #expect(collector.candidates.count == unique.count)
    #expect(Set(collector.candidates.map(\.doc)) == unique)
    #expect(collector.candidates.allSatisfy { $0.channels.contains(.similar) })
    #expect(unique.allSatisfy { collector.contains($0) })
    #expect(!collector.contains(DocID(3)) && !collector.contains(DocID(rawValue: 1_025)))
    #expect(collector.offeredByChannel == [.popular: 2_500, .trending: 2_500, .similar: 5_000])
    collector.add(DocID(3), channel: [.popular, .rule], score: 1)
    #expect(collector.offeredByChannel[[.popular, .rule]] == 1 && collector.contains(DocID(3)))
  }

  @Test(arguments: [("Hello, World!", ["hello", "world"]), ("3D puzzle", ["3d", "puzzle"]),
                    ("heavy-duty  TOTE", ["heavy", "duty", "tote"]), ("", []), ("Crème brûlée", ["crème", "brûlée"])])
  func tokenizer(text: String, tokens: [String]) {
    #expect(Tokenizer.tokens(text) == tokens)
  }
}
