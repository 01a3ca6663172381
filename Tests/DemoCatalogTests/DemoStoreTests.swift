import DemoCatalog
import FunnelCore
import Testing

@Suite struct DemoStoreTests {
  static let config = DemoStore.Configuration.small()

  @Test func isDeterministic() {
    let a = DemoStore(Self.config), b = DemoStore(Self.config)
    #expect(a.items == b.items)
    #expect(a.events == b.events)
    var other = Self.config
    other.seed += 1
    #expect(DemoStore(other).items != a.items)
  }

  @Test func streamingGivesTheSameShop() {
    let store = DemoStore(Self.config)
    var items: [CatalogItem] = []
    var events: [BehaviourEvent] = []
    var users: [UserID] = []
    DemoStore.stream(Self.config, embeddings: false, item: { items.append($0) }, userEvents: { batch in
      #expect(Set(batch.map(\.userID)).count == 1, "one user per batch")
      #expect(zip(batch, batch.dropFirst()).allSatisfy { $0.timestampMs <= $1.timestampMs })
      users.append(batch[0].userID)
      events += batch
    })
    #expect(items == store.items.map { item -> CatalogItem in
      var plain = item
      plain.embedding = []
      return plain
    })
    #expect(events.sorted { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) } == store.events)
    #expect(users == Array(Set(users)).sorted { Int($0.dropFirst(2))! < Int($1.dropFirst(2))! })
  }

  @Test func looksLikeAShop() {
    let store = DemoStore(Self.config)
    #expect(store.items.count == 400)
    #expect(Set(store.items.map(\.id)).count == 400)
    #expect(store.items.allSatisfy { $0.price > 0 && $0.categoryPath.count == 3 && !$0.title.isEmpty })
    #expect(Set(store.items.map(\.categoryPath[0])).count >= 5, "several departments")
    let kinds = Dictionary(grouping: store.events, by: \.kind).mapValues(\.count)
    // A shopping funnel: many more views than purchases, but some of everything.
    #expect(kinds[.view, default: 0] > 3 * kinds[.purchase, default: 0])
    #expect(kinds[.purchase, default: 0] > 0 && kinds[.addToCart, default: 0] > 0 && kinds[.click, default: 0] > 0)
    #expect(zip(store.events, store.events.dropFirst()).allSatisfy { $0.timestampMs <= $1.timestampMs })
    let window = Int64(Self.config.historyDays) * 86_400_000
    #expect(store.events.allSatisfy { $0.timestampMs <= Self.config.endTimeMs && $0.timestampMs > Self.config.endTimeMs - window - 3_600_000 })
    #expect(Set(store.events.map(\.eventID)).count == store.events.count)
  }

  @Test func popularityIsSkewed() {
    let store = DemoStore(Self.config)
    var counts: [ItemID: Int] = [:]
    for e in store.events { counts[e.itemID, default: 0] += 1 }
    let sorted = counts.values.sorted(by: >)
    let topDecile = sorted.prefix(max(1, sorted.count / 10)).reduce(0, +)
    #expect(Double(topDecile) > 0.3 * Double(store.events.count), "the top 10% of items draw a large share")
  }
}
