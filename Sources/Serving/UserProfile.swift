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
  /// What the profile knows about one item the user interacted with.
  public struct ItemFacts: Sendable {
    public var purchased = false, viewed = false
    /// Purchase events of the item in the interactions read (how often the user re-buys it).
    public var purchases: Int32 = 0
    /// When the user last interacted with the item (Unix ms).
    public var lastSeenMs: Int64 = .min
    /// First and last purchase in the interactions read (Unix ms); meaningful when `purchases > 0`.
    public var firstPurchaseMs: Int64 = .max, lastPurchaseMs: Int64 = .min
  }

  /// Seeds for item-to-item recall (decayed interest per distinct item), strongest first, best = 1.
  public var seeds: [(doc: DocID, weight: Float)] = []
  /// Affinity per category key of the generation, normalised per depth of the category tree.
  public var categoryAffinity: [UInt32: Float] = [:]
  /// Interest-weighted mean price of interacted items, or nil with no history.
  public var typicalPrice: Double?
  /// The time the profile describes (Unix ms).
  public var asOfMs: Int64 = 0
  /// Purchased items with decayed purchase interest (best = 1), strongest first.
  public var purchases: [(doc: DocID, weight: Float)] = []
  /// The user's row in the generation's users file (`UserTable`) and their learned factors from it,
  /// when the build knew them.
  public var learnedRow: Int?
  public var factors: [Float]?

  /// Each interacted item's facts, in the order the items were first met (newest first), and the
  /// table from item to its place there: the ranker probes it once per candidate, so the facts are
  /// kept in one table rather than in several sets and dictionaries hashed per candidate.
  public private(set) var interacted: [(doc: DocID, facts: ItemFacts)] = []
  private var factSlots = DocPositionTable(capacity: 8)

  /// Where `doc`'s facts are in `interacted`, or -1 if the user never interacted with it. O(1) expected.
  @inline(__always) public func slot(of doc: DocID) -> Int32 { factSlots.position(of: doc).map { Int32($0) } ?? -1 }

  /// Half-life of an interaction's influence, in hours.
  public static let halfLifeHours: Double = 48

  /// An empty profile (cold user).
  public init() {}

  /// Derives a profile from `recent` (newest first) as of `nowMs`, keeping at most `maxSeeds` seeds.
  /// Interactions with items unknown to `generation` are ignored. O(recent * category depth), with
  /// one table probe per interaction and per category it touches, and one dictionary entry per distinct category.
  public init(recent: [RecentInteraction], generation: IndexGeneration, nowMs: Int64, maxSeeds: Int = 20) {
    let items = generation.items
    asOfMs = nowMs
    let decayPerMs = log(2) / (Self.halfLifeHours * 3_600_000)
    // Per item (indexed like `interacted`): decayed interest, and decayed purchase interest.
    var interest: [Float] = [], bought: [Float] = []
    // Interest per depth of the category tree (1 = department); the ancestor walk stops at 8.
    var depthTotals = [Float?](repeating: nil, count: 9)
    var priceSum = 0.0, priceWeight = 0.0
    // Interest per category touched (key, summed weight, depth), in the order first touched.
    var affinity: [(key: UInt32, total: Float, depth: Int)] = []
    var categorySlots = DocPositionTable(capacity: 16)
    factSlots = DocPositionTable(capacity: max(8, recent.count))
    interacted.reserveCapacity(recent.count)
    interest.reserveCapacity(recent.count)
    bought.reserveCapacity(recent.count)
    for interaction in recent {
      guard let doc = items.doc(for: interaction.itemID), interaction.kind.interestWeight > 0 else { continue }
      let age = Double(max(0, nowMs - interaction.timestampMs))
      // Old interactions weigh nothing (the weight underflows to 0 after some ten months) but are
      // still facts: what was bought or seen, when, how often.
      let w = interaction.kind.interestWeight * Float(exp(-decayPerMs * age))
      let slot: Int
      if let found = factSlots.positionOrInsert(doc, position: interacted.count) {
        slot = found
      } else {
        slot = interacted.count
        interacted.append((doc: doc, facts: ItemFacts()))
        interest.append(0)
        bought.append(0)
      }
      let ms = interaction.timestampMs
      interacted[slot].facts.lastSeenMs = max(interacted[slot].facts.lastSeenMs, ms)
      if interaction.kind == .purchase {
        interacted[slot].facts.purchased = true
        interacted[slot].facts.purchases &+= 1
        interacted[slot].facts.firstPurchaseMs = min(interacted[slot].facts.firstPurchaseMs, ms)
        interacted[slot].facts.lastPurchaseMs = max(interacted[slot].facts.lastPurchaseMs, ms)
        bought[slot] += w
      } else {
        interacted[slot].facts.viewed = true
      }
      guard w > 0 else { continue }
      interest[slot] += w
      Self.forEachAncestor(of: items.leafCategory(doc), in: items) { key, depth in
        // Summed by the category's place in `affinity` (a multiplicative-hash probe, not SipHash
        // per ancestor and interaction); the dictionary is made once below, one entry per category.
        if let i = categorySlots.positionOrInsert(DocID(rawValue: key), position: affinity.count) {
          affinity[i].total += w
        } else {
          affinity.append((key, w, Self.depth(of: key, in: items)))
        }
        depthTotals[depth] = (depthTotals[depth] ?? 0) + w
      }
      priceSum += items.price(doc) * Double(w)
      priceWeight += Double(w)
    }
    // Strongest first, ties by document: the same order whatever the table's layout.
    seeds = interacted.indices.filter { interest[$0] > 0 }
      .sorted { interest[$0] != interest[$1] ? interest[$0] > interest[$1] : interacted[$0].doc < interacted[$1].doc }
      .prefix(maxSeeds).map { (doc: interacted[$0].doc, weight: interest[$0]) }
    if let top = seeds.first?.weight, top > 0 { seeds = seeds.map { (doc: $0.doc, weight: $0.weight / top) } }
    // Normalise per depth, so a leaf affinity is comparable to a department affinity.
    categoryAffinity.reserveCapacity(affinity.count)
    for (key, w, depth) in affinity {
      let total = depth < depthTotals.count ? depthTotals[depth] ?? 1 : 1
      categoryAffinity[key] = w / max(total, 1e-9)
    }
    typicalPrice = priceWeight > 0 ? priceSum / priceWeight : nil
    let purchasedSlots = interacted.indices.filter { interacted[$0].facts.purchased }
    let topBought = max(purchasedSlots.map { bought[$0] }.max() ?? 1, .leastNormalMagnitude)
    purchases = purchasedSlots
      .sorted { bought[$0] != bought[$1] ? bought[$0] > bought[$1] : interacted[$0].doc < interacted[$1].doc }
      .map { (doc: interacted[$0].doc, weight: bought[$0] / topBought) }
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
