import FunnelCore

/// Swing neighbours (Yang et al., "Large Scale Product Graph Construction for Recommendation in
/// E-commerce", 2020): items i and j are close when pairs of users who both bought i and j have
/// little else in common, so a pair of users whose tastes overlap everywhere (bulk buyers, bots)
/// adds little, and a pair that meets only on i and j adds a lot:
///
///     swing(i, j) = sum over users u < v who both have i and j of  w_u w_v / (alpha + |I_u ∩ I_v|)
///
/// with `w_u = 1 / sqrt(|I_u|)`. Each user's items are their `itemsPerUser` strongest distinct
/// items; each item keeps its `usersPerItem` most recent users, which bounds the pair work to
/// O(items x usersPerItem^2 x itemsPerUser) whatever the popularity of the best sellers. Users are
/// numbered in id order, so builds are deterministic.
struct Swing {
  let usersPerItem: Int
  let itemsPerUser: Int
  let neighboursPerItem: Int
  /// Smoothing of the overlap: larger values make the overlap matter less.
  var alpha: Float = 1

  func rows(_ histories: UserHistories, itemCount: Int) -> NeighbourRowsBuilder {
    // Each user's items, sorted by doc (for merging), and their weight.
    var itemsStart: [Int] = [0]
    var items: [UInt32] = []
    var weight: [Float] = []
    for user in histories.byID {
      let kept = histories.strongest(user, scan: itemsPerUser * 4, limit: itemsPerUser)
      guard kept.count > 1 else { continue }
      items += kept.map(\.doc).sorted()
      itemsStart.append(items.count)
      weight.append(1 / Float(kept.count).squareRoot())
    }
    // Users per item, of whom the last `usersPerItem` to have it count.
    let usersOf = CSRTranspose(start: itemsStart, entries: items, columns: itemCount)

    var rows = NeighbourRowsBuilder(itemCount: itemCount, neighboursPerItem: neighboursPerItem)
    var common: [UInt32] = []
    for i in 0..<itemCount {
      let users = usersOf.rows[usersOf.range(i).suffix(usersPerItem)]
      if users.count > 1 {
        for a in users.indices.dropLast() {
          let u = Int(users[a])
          for b in (a + 1)..<users.endIndex {
            let v = Int(users[b])
            Self.intersect(items, itemsStart[u]..<itemsStart[u + 1], itemsStart[v]..<itemsStart[v + 1], into: &common)
            // Both have i; the pair speaks only for the other items they share.
            guard common.count > 1 else { continue }
            let score = weight[u] * weight[v] / (alpha + Float(common.count))
            for j in common where Int(j) != i { rows.add(Int(j), score) }
          }
        }
      }
      rows.finishRow { _, sum in sum }
    }
    return rows
  }

  /// The docs in both sorted ranges of `items`, ascending, into `out` (cleared first). O(a + b).
  static func intersect(_ items: [UInt32], _ a: Range<Int>, _ b: Range<Int>, into out: inout [UInt32]) {
    out.removeAll(keepingCapacity: true)
    var (x, y) = (a.lowerBound, b.lowerBound)
    while x < a.upperBound, y < b.upperBound {
      let (p, q) = (items[x], items[y])
      if p == q {
        out.append(p)
        x += 1
        y += 1
      } else if p < q {
        x += 1
      } else {
        y += 1
      }
    }
  }
}
