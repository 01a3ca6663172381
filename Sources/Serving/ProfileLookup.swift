import FunnelCore
import IndexFormat

/// The profile facts the ranker reads for every candidate, indexed once per request: the user's
/// items in an open-addressing table (one probe per candidate instead of four SipHash lookups in
/// the profile's sets and dictionaries) and the category affinities in a dense array by category
/// key (an ancestor walk without hashing). Built in O(profile items + categories); a value type, one
/// per request.
struct ProfileLookup {
  /// What the profile holds about one of the user's items.
  struct ItemFacts {
    var purchased = false, viewed = false
    var purchases: Int32 = 0
    var lastSeenMs: Int64?
    var purchaseSpanMs: (first: Int64, last: Int64)?
  }

  private var positions: DocPositionTable
  private var itemFacts: [ItemFacts] = []
  /// Affinity per category key; NaN where the user touched nothing (empty for a cold user).
  private var affinity: [Float] = []
  private let asOfMs: Int64
  /// The user's learned factors, when the generation has them for this user.
  private let factors: [Float]?

  init(_ profile: UserProfile, generation: IndexGeneration) {
    asOfMs = profile.asOfMs
    factors = profile.factors
    positions = DocPositionTable(capacity: max(8, profile.lastSeenMs.count))
    func slot(_ doc: DocID) -> Int {
      if let p = positions.positionOrInsert(doc, position: itemFacts.count) { return p }
      itemFacts.append(ItemFacts())
      return itemFacts.count - 1
    }
    for (doc, ms) in profile.lastSeenMs { itemFacts[slot(doc)].lastSeenMs = ms }
    for doc in profile.purchased { itemFacts[slot(doc)].purchased = true }
    for doc in profile.viewed { itemFacts[slot(doc)].viewed = true }
    for (doc, n) in profile.purchaseCounts { itemFacts[slot(doc)].purchases = Int32(clamping: n) }
    for (doc, span) in profile.purchaseSpanMs { itemFacts[slot(doc)].purchaseSpanMs = span }
    if !profile.categoryAffinity.isEmpty {
      affinity = [Float](repeating: .nan, count: generation.items.categoryKeys.count)
      for (key, a) in profile.categoryAffinity where Int(key) < affinity.count { affinity[Int(key)] = a }
    }
  }

  /// Where `doc`'s facts are kept, or -1: found once per candidate, read by every per-item column.
  @inline(__always) func slot(_ doc: DocID) -> Int32 { positions.position(of: doc).map { Int32($0) } ?? -1 }

  /// The facts at `slot` (from `slot(_:)`), nil for -1.
  @inline(__always) func facts(at slot: Int32) -> ItemFacts? { slot >= 0 ? itemFacts[Int(slot)] : nil }

  /// Where the user is in their own buying cycle of `doc`: the time since they last bought it over
  /// their mean time between buying it (1: due now by their habit). NaN unless bought at least twice
  /// at different times.
  @inline(__always) func purchaseCycle(at slot: Int32) -> Float {
    guard let f = facts(at: slot), f.purchases >= 2, let (first, last) = f.purchaseSpanMs, last > first else {
      return .nan
    }
    let cycle = Double(last - first) / Double(f.purchases - 1)
    return Float(Double(max(0, asOfMs - last)) / cycle)
  }

  /// The learned factors' score of the user for `doc` (the inner product of the user's and the item's
  /// factors); NaN without user factors or for an item the factor index does not hold.
  @inline(__always) func factorScore(_ doc: DocID, in generation: IndexGeneration) -> Float {
    guard let factors, let index = generation.factors, let users = generation.users, doc.index < index.count else { return .nan }
    return index.prefixDot(doc, factors) * users.itemScale
  }

  /// Seconds since the user last saw `doc`, NaN if never (as `UserProfile.lastSeenMs`).
  @inline(__always) func secondsSinceSeen(at slot: Int32) -> Float {
    guard let seen = facts(at: slot)?.lastSeenMs else { return .nan }
    return Float(max(0, asOfMs - seen)) / 1000
  }

  /// `UserProfile.affinity(to:in:)`: the affinity of the deepest touched category of `doc`, 0 if none.
  @inline(__always) func affinity(to doc: DocID, in items: ItemTable) -> Float {
    guard !affinity.isEmpty else { return 0 }
    var key = items.leafCategory(doc)
    while key != ItemTable.noParent {
      if Int(key) < affinity.count, !affinity[Int(key)].isNaN { return affinity[Int(key)] }
      key = items.parent(ofCategory: key)
    }
    return 0
  }
}
