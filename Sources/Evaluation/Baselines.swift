import FunnelCore
import IndexFormat

/// The simple recommenders a two-stage engine has to beat, computed from the history before the
/// split and the index generation built from it. Each returns a ranked list of item ids.
///
/// Immutable after init; thread-safe.
public struct Baselines: Sendable {
  /// A user's purchases before the split: item -> (distinct orders, last purchase time).
  public typealias PurchaseHistory = [ItemID: (orders: Int, lastMs: Int64)]

  private let generation: IndexGeneration
  /// Items by distinct buyers before the split.
  public let popular: [ItemID]
  /// Items by distinct buyers in the `trendingDays` before the split.
  public let trending: [ItemID]

  /// Baselines over `history` (events before `splitMs`) and the generation built from it.
  public init(generation: IndexGeneration, history: [BehaviourEvent], splitMs: Int64, trendingDays: Int = 30, limit: Int = 200) {
    self.generation = generation
    func ranked(_ events: some Sequence<BehaviourEvent>) -> [ItemID] {
      var buyers: [ItemID: Set<UserID>] = [:]
      for e in events where e.kind == .purchase { buyers[e.itemID, default: []].insert(e.userID) }
      return buyers.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
        .prefix(limit).map(\.key)
    }
    popular = ranked(history)
    let since = splitMs - Int64(trendingDays) * 86_400_000
    trending = ranked(history.lazy.filter { $0.timestampMs >= since })
  }

  /// The user's own purchases, most often ordered first, then most recent.
  public func repeatPurchases(_ purchases: PurchaseHistory) -> [ItemID] {
    purchases.sorted { a, b in
      a.value.orders != b.value.orders ? a.value.orders > b.value.orders
        : a.value.lastMs != b.value.lastMs ? a.value.lastMs > b.value.lastMs : a.key < b.key
    }.map(\.key)
  }

  /// ItemCF alone: the generation's neighbour lists of the user's purchased items, each weighted by
  /// how often the user ordered the seed, summed per neighbour. Seeds themselves are not proposed
  /// unless they are neighbours of other seeds.
  public func itemCF(_ purchases: PurchaseHistory, limit: Int) -> [ItemID] {
    var scores: [DocID: Double] = [:]
    for (item, history) in purchases {
      guard let seed = generation.items.doc(for: item) else { continue }
      let weight = Double(history.orders)
      for i in generation.neighbours.row(seed) {
        scores[DocID(rawValue: generation.neighbours.neighbours[i]), default: 0] += weight * Double(generation.neighbours.scores[i])
      }
    }
    return scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .prefix(limit).map { generation.items.id($0.key) }
  }

  /// Repeat purchases first, then ItemCF for the rest of the list.
  public func repeatThenItemCF(_ purchases: PurchaseHistory, limit: Int) -> [ItemID] {
    var seen = Set<ItemID>()
    return (repeatPurchases(purchases) + itemCF(purchases, limit: limit)).filter { seen.insert($0).inserted }
      .prefix(limit).map { $0 }
  }
}
