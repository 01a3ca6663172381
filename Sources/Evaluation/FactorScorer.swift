import FunnelCore
import IndexBuilder

/// Ranks the whole catalog for a user by learned factors (the ALS and BPR baselines): the inner
/// product of the user's factors with every item's, exactly (no index), items without factors
/// last. Item factors are laid out flat in catalog order once. O(items x dimension) per user.
/// Immutable; thread-safe.
struct FactorScorer: Sendable {
  let factors: LearnedFactors
  let ids: [ItemID]
  let matrix: [Float]

  init(_ factors: LearnedFactors, items: [ItemID]) {
    self.factors = factors
    let known = items.filter { factors.items[$0] != nil }
    ids = known
    matrix = known.flatMap { factors.items[$0]! }
  }

  /// The user's best `k` items not in `excluding`, or nil for a user the factors do not know.
  func top(user: UserID, k: Int, excluding: Set<ItemID>) -> [ItemID]? {
    guard let u = factors.users[user] else { return nil }
    let d = factors.dimension
    var scored: [(Float, Int)] = []
    scored.reserveCapacity(ids.count)
    matrix.withUnsafeBufferPointer { m in
      for i in ids.indices {
        var sum: Float = 0
        for j in 0..<d { sum += u[j] * m[i * d + j] }
        scored.append((sum, i))
      }
    }
    scored.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
    var out: [ItemID] = []
    for (_, i) in scored where !excluding.contains(ids[i]) {
      out.append(ids[i])
      if out.count == k { break }
    }
    return out
  }
}
