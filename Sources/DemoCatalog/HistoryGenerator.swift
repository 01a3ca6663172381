import FunnelCore

/// Generates shopping sessions for the demo store: each user prefers a few categories, browses
/// popular items in them (Zipfian within a category), sometimes wanders into a complementary
/// category, and converts view -> click -> cart -> purchase with realistic funnel rates.
struct HistoryGenerator {
  /// What the history needs of the catalog, in compact columns (O(items) memory, no strings per item).
  struct ItemFacts {
    var prices: [Double] = []
    var inStock: [Bool] = []
    /// Item indices per category path, in popularity-rank order (the order they were generated).
    var itemsByCategory: [String: [Int]] = [:]

    mutating func add(_ item: CatalogItem) {
      itemsByCategory[item.category, default: []].append(prices.count)
      prices.append(item.price)
      inStock.append(item.inStock)
    }
  }

  let facts: ItemFacts
  let configuration: DemoStore.Configuration
  private let categoryKeys: [String]

  init(facts: ItemFacts, configuration: DemoStore.Configuration) {
    self.facts = facts
    self.configuration = configuration
    self.categoryKeys = Vocabulary.categories.map { $0.path.joined(separator: "/") }.filter { facts.itemsByCategory[$0] != nil }
  }

  /// Draws the users in order; `userEvents` gets each user's events sorted by (time, event id).
  func generate(rng: inout SplitMix64, userEvents: ([BehaviourEvent]) throws -> Void) rethrows {
    guard !categoryKeys.isEmpty else { return }
    let complements = Dictionary(uniqueKeysWithValues: Vocabulary.categories.map {
      ($0.path.joined(separator: "/"), $0.complements)
    })
    let windowMs = Int64(configuration.historyDays) * 86_400_000
    var events: [BehaviourEvent] = []
    var nextEventID = 0
    for u in 0..<configuration.userCount {
      events.removeAll(keepingCapacity: true)
      let userID = "U-\(u + 1)"
      let preferred = (0..<(1 + Int(rng.next() % 3))).map { _ in categoryKeys[rng.zipfIndex(categoryKeys.count, s: 0.8)] }
      // Session count: geometric-like around the configured mean, at least one.
      let sessions = max(1, Int(-configuration.sessionsPerUser * log(max(rng.unit(), 1e-9))))
      for s in 0..<sessions {
        let sessionStart = configuration.endTimeMs - Int64(rng.unit() * Double(windowMs))
        let sessionID = "S-\(u + 1)-\(s + 1)"
        var clock = sessionStart
        var focus = rng.unit() < 0.85 ? preferred[Int(rng.next() % UInt64(preferred.count))]
                                      : categoryKeys[Int(rng.next() % UInt64(categoryKeys.count))]
        let steps = 2 + Int(rng.next() % 7)
        for step in 0..<steps {
          // Midway through a session, shoppers often move to a complementary category.
          if step == steps / 2, rng.unit() < 0.45, let next = complements[focus]?.randomElement(using: &rng),
             facts.itemsByCategory[next] != nil {
            focus = next
          }
          guard let pool = facts.itemsByCategory[focus] else { continue }
          let item = pool[rng.zipfIndex(pool.count, s: 1.1)]
          let itemID = DemoStore.itemID(item), price = facts.prices[item]
          clock += Int64(20_000 + rng.next() % 180_000)
          func emit(_ kind: EventKind, quantity: UInt32 = 1) {
            nextEventID += 1
            events.append(BehaviourEvent(
              eventID: "demo-\(nextEventID)", userID: userID, sessionID: sessionID, itemID: itemID, kind: kind,
              timestampMs: min(clock, configuration.endTimeMs), quantity: quantity, price: price))
          }
          emit(.view)
          guard rng.unit() < 0.35 else { continue }
          emit(.click)
          guard facts.inStock[item], rng.unit() < 0.3 else { continue }
          clock += 5_000
          emit(.addToCart)
          guard rng.unit() < 0.55 else { continue }
          clock += 60_000
          emit(.purchase, quantity: 1 + UInt32(rng.next() % 3 == 0 ? rng.next() % 3 : 0))
        }
      }
      events.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
      try userEvents(events)
    }
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
