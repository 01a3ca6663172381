import FunnelCore
import IndexFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// User-based collaborative filtering lists: for each user with at least two items, the
/// `neighbourUsers` users most like them (shared items, each shared item weighted by
/// 1 / log(2 + its user count) so that best sellers say little about taste, normalised by the
/// geometric mean of the two users' item counts), and then the items those neighbours have that the
/// user does not, each scored by the sum of its holders' similarities; the best `listLength` kept,
/// best = 1. Each user's items are their `itemsPerUser` strongest distinct items; each item's users
/// are capped at its `usersPerItem` most recent, which bounds the work per user to
/// O(itemsPerUser x usersPerItem). Users are numbered in id order, so builds are deterministic.
struct UserCF {
  let itemsPerUser: Int
  let usersPerItem: Int
  let neighbourUsers: Int
  let listLength: Int

  /// The list of each user of `histories` (by user number; empty for users with too little history).
  func lists(_ histories: UserHistories, itemCount: Int) -> [[(DocID, Float)]] {
    var lists = [[(DocID, Float)]](repeating: [], count: histories.users.count)
    var itemsStart: [Int] = [0]
    var items: [UInt32] = []
    var owner: [Int] = []
    for user in histories.byID {
      let kept = histories.strongest(user, scan: itemsPerUser * 4, limit: itemsPerUser)
      guard kept.count > 1 else { continue }
      items += kept.map(\.doc)
      itemsStart.append(items.count)
      owner.append(user)
    }
    let userCount = owner.count
    // Each item's holders; the last `usersPerItem` of them are looked through.
    let usersOf = CSRTranspose(start: itemsStart, entries: items, columns: itemCount)
    let itemWeight = (0..<itemCount).map { Float(1 / log(2 + Double(usersOf.range($0).count))) }

    var userScore = [Float](repeating: 0, count: userCount)
    var touchedUsers: [Int] = []
    var itemScore = [Float](repeating: 0, count: itemCount)
    var touchedItems: [Int] = []
    var own = [Bool](repeating: false, count: itemCount)
    for u in 0..<userCount {
      let mine = itemsStart[u]..<itemsStart[u + 1]
      for k in mine {
        let i = Int(items[k])
        own[i] = true
        for v in usersOf.rows[usersOf.range(i).suffix(usersPerItem)] where Int(v) != u {
          if userScore[Int(v)] == 0 { touchedUsers.append(Int(v)) }
          userScore[Int(v)] += itemWeight[i]
        }
      }
      var best = TopK(capacity: neighbourUsers)
      for v in touchedUsers {
        let size = Float(mine.count * (itemsStart[v + 1] - itemsStart[v]))
        best.offer(DocID(rawValue: UInt32(v)), userScore[v] / size.squareRoot())
        userScore[v] = 0
      }
      touchedUsers.removeAll(keepingCapacity: true)
      for (v, similarity) in best.sortedDescending() {
        for k in itemsStart[v.index]..<itemsStart[v.index + 1] where !own[Int(items[k])] {
          let i = Int(items[k])
          if itemScore[i] == 0 { touchedItems.append(i) }
          itemScore[i] += similarity
        }
      }
      var top = TopK(capacity: listLength)
      for i in touchedItems {
        top.offer(DocID(i), itemScore[i])
        itemScore[i] = 0
      }
      touchedItems.removeAll(keepingCapacity: true)
      for k in mine { own[Int(items[k])] = false }
      let list = top.sortedDescending()
      let first = list.first?.1 ?? 1
      lists[owner[u]] = list.map { ($0.0, min(1, $0.1 / first)) }
    }
    return lists
  }
}
