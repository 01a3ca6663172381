import FunnelCore
import IndexFormat

/// The profile facts the ranker reads for every candidate: the user's items through the profile's
/// own table (one probe per candidate, `UserProfile.slot(of:)`) and the category affinities in a
/// dense array by category key (an ancestor walk without hashing). Built in O(categories touched);
/// a value type, one per request.
struct ProfileLookup {
  private let profile: UserProfile
  /// Affinity per category key; NaN where the user touched nothing (empty for a cold user).
  private var affinity: [Float] = []

  init(_ profile: UserProfile, generation: IndexGeneration) {
    self.profile = profile
    if !profile.categoryAffinity.isEmpty {
      affinity = [Float](repeating: .nan, count: generation.items.categoryKeys.count)
      for (key, a) in profile.categoryAffinity where Int(key) < affinity.count { affinity[Int(key)] = a }
    }
  }

  /// Where `doc`'s facts are kept, or -1: found once per candidate, read by every per-item column.
  @inline(__always) func slot(_ doc: DocID) -> Int32 { profile.slot(of: doc) }

  /// The facts at `slot` (from `slot(_:)`), nil for -1.
  @inline(__always) func facts(at slot: Int32) -> UserProfile.ItemFacts? { slot >= 0 ? profile.interacted[Int(slot)].facts : nil }

  /// Where the user is in their own buying cycle of `doc`: the time since they last bought it over
  /// their mean time between buying it (1: due now by their habit). NaN unless bought at least twice
  /// at different times.
  @inline(__always) func purchaseCycle(at slot: Int32) -> Float {
    guard let f = facts(at: slot), f.purchases >= 2, f.lastPurchaseMs > f.firstPurchaseMs else { return .nan }
    let cycle = Double(f.lastPurchaseMs - f.firstPurchaseMs) / Double(f.purchases - 1)
    return Float(Double(max(0, profile.asOfMs - f.lastPurchaseMs)) / cycle)
  }

  /// The learned factors' score of the user for `doc` (the inner product of the user's and the item's
  /// factors); NaN without user factors or for an item the factor index does not hold.
  @inline(__always) func factorScore(_ doc: DocID, in generation: IndexGeneration) -> Float {
    guard let factors = profile.factors, let index = generation.factors, let users = generation.users, doc.index < index.count else { return .nan }
    return index.prefixDot(doc, factors) * users.itemScale
  }

  /// Seconds since the user last saw `doc`, NaN if never (`UserProfile.ItemFacts.lastSeenMs`).
  @inline(__always) func secondsSinceSeen(at slot: Int32) -> Float {
    guard let seen = facts(at: slot)?.lastSeenMs else { return .nan }
    return Float(max(0, profile.asOfMs - seen)) / 1000
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
