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
  /// Seeds for item-to-item recall (decayed interest per distinct item), strongest first, best = 1.
  public var seeds: [(doc: DocID, weight: Float)] = []
  /// Affinity per category key of the generation, normalised per depth of the category tree.
  public var categoryAffinity: [UInt32: Float] = [:]
  /// Interest-weighted mean price of interacted items, or nil with no history.
  public var typicalPrice: Double?
  public var purchased: Set<DocID> = []
  /// When the user last interacted with each item (Unix ms), and the time the profile describes.
  public var lastSeenMs: [DocID: Int64] = [:]
  public var asOfMs: Int64 = 0
  /// Purchased items with decayed purchase interest (best = 1), strongest first.
  public var purchases: [(doc: DocID, weight: Float)] = []
  /// Purchase events per item in the interactions read (how often the user re-buys it).
  public var purchaseCounts: [DocID: Int] = [:]
  /// First and last purchase of each purchased item in the interactions read (Unix ms).
  public var purchaseSpanMs: [DocID: (first: Int64, last: Int64)] = [:]
  public var viewed: Set<DocID> = []
  /// The user's row in the generation's users file (`UserTable`) and their learned factors from it,
  /// when the build knew them.
  public var learnedRow: Int?
  public var factors: [Float]?

  /// Half-life of an interaction's influence, in hours.
  public static let halfLifeHours: Double = 48

  /// An empty profile (cold user).
  public init() {}

  /// Derives a profile from `recent` (newest first) as of `nowMs`, keeping at most `maxSeeds` seeds.
  /// Interactions with items unknown to `generation` are ignored. O(recent * category depth).
  public init(recent: [RecentInteraction], generation: IndexGeneration, nowMs: Int64, maxSeeds: Int = 20) {
    let items = generation.items
    asOfMs = nowMs
    let decayPerMs = log(2) / (Self.halfLifeHours * 3_600_000)
    var interest: [DocID: Float] = [:]
    var bought: [DocID: Float] = [:]
    var depthTotals: [Int: Float] = [:]
    var priceSum = 0.0, priceWeight = 0.0
    // Sized once for the history: growing each dictionary by doubling rehashed it several times.
    interest.reserveCapacity(recent.count)
    lastSeenMs.reserveCapacity(recent.count)
    viewed.reserveCapacity(recent.count)
    for interaction in recent {
      guard let doc = items.doc(for: interaction.itemID), interaction.kind.interestWeight > 0 else { continue }
      let age = Double(max(0, nowMs - interaction.timestampMs))
      // Old interactions weigh nothing (the weight underflows to 0 after some ten months) but are
      // still facts: what was bought or seen, when, how often.
      let w = interaction.kind.interestWeight * Float(exp(-decayPerMs * age))
      lastSeenMs[doc] = max(lastSeenMs[doc] ?? .min, interaction.timestampMs)
      if interaction.kind == .purchase {
        purchased.insert(doc)
        bought[doc, default: 0] += w
        purchaseCounts[doc, default: 0] += 1
        let span = purchaseSpanMs[doc] ?? (interaction.timestampMs, interaction.timestampMs)
        purchaseSpanMs[doc] = (min(span.first, interaction.timestampMs), max(span.last, interaction.timestampMs))
      } else {
        viewed.insert(doc)
      }
      guard w > 0 else { continue }
      interest[doc, default: 0] += w
      Self.forEachAncestor(of: items.leafCategory(doc), in: items) { key, depth in
        categoryAffinity[key, default: 0] += w
        depthTotals[depth, default: 0] += w
      }
      priceSum += items.price(doc) * Double(w)
      priceWeight += Double(w)
    }
    seeds = interest.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .prefix(maxSeeds).map { (doc: $0.key, weight: $0.value) }
    if let top = seeds.first?.weight, top > 0 { seeds = seeds.map { (doc: $0.doc, weight: $0.weight / top) } }
    // Normalise per depth, so a leaf affinity is comparable to a department affinity.
    for (key, w) in categoryAffinity {
      let depth = Self.depth(of: key, in: items)
      categoryAffinity[key] = w / max(depthTotals[depth] ?? 1, 1e-9)
    }
    typicalPrice = priceWeight > 0 ? priceSum / priceWeight : nil
    let topBought = max(bought.values.max() ?? 1, .leastNormalMagnitude)
    purchases = bought.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .map { (doc: $0.key, weight: $0.value / topBought) }
  }

  /// Affinity to the deepest category of `doc` the user touched (leaf first), 0 if none. No allocation.
  public func affinity(to doc: DocID, in generation: IndexGeneration) -> Float {
    guard !categoryAffinity.isEmpty else { return 0 }
    var key = generation.items.leafCategory(doc)
    while key != ItemTable.noParent {
      if let a = categoryAffinity[key] { return a }
      key = generation.items.parent(ofCategory: key)
    }
    return 0
  }

  /// Gives the categories of `anchors` (the viewed item, the cart) full affinity: on an item page the
  /// anchor's category matters more than the user's general taste.
  public mutating func emphasise(anchors: [DocID], in generation: IndexGeneration) {
    for anchor in anchors {
      Self.forEachAncestor(of: generation.items.leafCategory(anchor), in: generation.items) { key, _ in
        categoryAffinity[key] = 1
      }
    }
  }

  /// The deepest categories with their affinity, strongest first, for category recall.
  public func leafAffinities(limit: Int, in generation: IndexGeneration) -> [(category: UInt32, weight: Float)] {
    var deepest = 0
    var leaves: [(category: UInt32, weight: Float)] = []
    for (key, weight) in categoryAffinity {
      let depth = Self.depth(of: key, in: generation.items)
      if depth > deepest {
        deepest = depth
        leaves.removeAll()
      }
      if depth == deepest { leaves.append((category: key, weight: weight)) }
    }
    leaves.sort { $0.weight != $1.weight ? $0.weight > $1.weight : $0.category < $1.category }
    return Array(leaves.prefix(limit))
  }

  private static func forEachAncestor(of leaf: UInt32, in items: ItemTable, _ body: (UInt32, Int) -> Void) {
    var key = leaf
    var chain: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0)
    var n = 0
    withUnsafeMutableBytes(of: &chain) { raw in
      let keys = raw.bindMemory(to: UInt32.self)
      while key != ItemTable.noParent, n < keys.count {
        keys[n] = key
        n += 1
        key = items.parent(ofCategory: key)
      }
      // Depth 1 is the root (department), so walk the chain from the root down.
      for i in 0..<n { body(keys[n - 1 - i], i + 1) }
    }
  }

  private static func depth(of key: UInt32, in items: ItemTable) -> Int {
    var depth = 0
    var k = key
    while k != ItemTable.noParent, depth < 64 {
      depth += 1
      k = items.parent(ofCategory: k)
    }
    return depth
  }
}
