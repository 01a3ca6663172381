import FunnelCore
import FeatureStore
import IndexFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the pipeline derives from a user's recent interactions for one request, resolved against the
/// current index generation: recall seeds, category affinities, usual price, recent purchases/views.
public struct UserProfile: Sendable {
  /// Seeds for item-to-item recall (decayed interest per distinct item), strongest first.
  public var seeds: [(doc: DocID, weight: Float)] = []
  /// Affinity per category path prefix, summing to 1 at each path depth.
  public var categoryAffinity: [String: Float] = [:]
  /// Interest-weighted mean price of interacted items, or nil with no history.
  public var typicalPrice: Double?
  public var purchased: Set<DocID> = []
  public var viewed: Set<DocID> = []

  /// Half-life of an interaction's influence, in hours.
  public static let halfLifeHours: Double = 48

  /// An empty profile (cold user).
  public init() {}

  /// Derives a profile from `recent` (newest first) as of `nowMs`, keeping at most `maxSeeds` seeds.
  /// Interactions with items unknown to `generation` are ignored. O(recent).
  public init(recent: [RecentInteraction], generation: IndexGeneration, nowMs: Int64, maxSeeds: Int = 20) {
    let decayPerMs = log(2) / (Self.halfLifeHours * 3_600_000)
    var interest: [DocID: Float] = [:]
    var categoryWeights: [String: Float] = [:]
    var priceSum = 0.0, priceWeight = 0.0
    for interaction in recent {
      guard let doc = generation.docByItemID[interaction.itemID] else { continue }
      let age = Double(max(0, nowMs - interaction.timestampMs))
      let w = interaction.kind.interestWeight * Float(exp(-decayPerMs * age))
      guard w > 0 else { continue }
      interest[doc, default: 0] += w
      let item = generation.item(doc)
      for prefix in generation.categoryKeys[doc.index] { categoryWeights[prefix, default: 0] += w }
      priceSum += item.price * Double(w)
      priceWeight += Double(w)
      if interaction.kind == .purchase { purchased.insert(doc) } else { viewed.insert(doc) }
    }
    seeds = interest.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .prefix(maxSeeds).map { (doc: $0.key, weight: $0.value) }
    if let top = seeds.first?.weight, top > 0 { seeds = seeds.map { (doc: $0.doc, weight: $0.weight / top) } }
    // Normalise per depth so a leaf affinity is comparable to a department affinity.
    var depthTotals: [Int: Float] = [:]
    for (category, w) in categoryWeights { depthTotals[depth(category), default: 0] += w }
    categoryAffinity = categoryWeights.mapValues { $0 }
    for (category, w) in categoryWeights { categoryAffinity[category] = w / max(depthTotals[depth(category)] ?? 1, 1e-9) }
    typicalPrice = priceWeight > 0 ? priceSum / priceWeight : nil
  }

  /// Affinity to the deepest category of `doc` that the user touched (leaf first), 0 if none.
  public func affinity(to doc: DocID, in generation: IndexGeneration) -> Float {
    for prefix in generation.categoryKeys[doc.index].reversed() {
      if let a = categoryAffinity[prefix] { return a }
    }
    return 0
  }

  /// Gives the categories of `anchors` (the viewed item, the cart) full affinity: on an item page the
  /// anchor's category matters more than the user's general taste.
  public mutating func emphasise(anchors: [DocID], in generation: IndexGeneration) {
    for anchor in anchors {
      for prefix in generation.categoryKeys[anchor.index] { categoryAffinity[prefix] = 1 }
    }
  }

  /// Leaf categories with their affinity, strongest first, for category recall.
  public func leafAffinities(limit: Int) -> [(category: String, weight: Float)] {
    let maxDepth = categoryAffinity.keys.map(depth).max() ?? 0
    return categoryAffinity.filter { depth($0.key) == maxDepth }
      .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .prefix(limit).map { (category: $0.key, weight: $0.value) }
  }
}

private func depth(_ category: String) -> Int { category.utf8.reduce(1) { $1 == UInt8(ascii: "/") ? $0 + 1 : $0 } }
