import Dispatch
import FunnelCore
import IndexFormat
import Synchronization
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
struct UserCF: Sendable {
  let itemsPerUser: Int
  let usersPerItem: Int
  let neighbourUsers: Int
  let listLength: Int

  /// The list of each user of `histories` (by user number; empty for users with too little history).
  /// Users are worked through in chunks on `workers` threads (the calling thread one of them, so call
  /// it from a thread that may block), each with its own scratch arrays; the lists do not depend on
  /// the number of threads.
  func lists(_ histories: UserHistories, itemCount: Int, workers: Int = 2) -> [[(DocID, Float)]] {
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
    let shared = Shared(itemsStart: itemsStart, items: items, usersOf: usersOf, itemWeight: itemWeight)
    let chunk = 1_024
    let chunks = (userCount + chunk - 1) / chunk
    let next = Atomic<Int>(0)
    let done = Mutex<[(Int, [[(DocID, Float)]])]>([])
    DispatchQueue.concurrentPerform(iterations: max(1, min(workers, chunks))) { _ in
      var scratch = Scratch(userCount: userCount, itemCount: itemCount)
      var mine: [(Int, [[(DocID, Float)]])] = []
      while true {
        let c = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard c < chunks else { break }
        let users = c * chunk..<min(userCount, (c + 1) * chunk)
        mine.append((users.lowerBound, users.map { self.list(of: $0, shared, &scratch) }))
      }
      done.withLock { $0 += mine }
    }
    var lists = [[(DocID, Float)]](repeating: [], count: histories.users.count)
    for (first, made) in done.withLock({ $0 }) {
      for (k, list) in made.enumerated() { lists[owner[first + k]] = list }
    }
    return lists
  }

  /// What every thread reads: the kept items of each user (CSR), each item's holders, item weights.
  private struct Shared: Sendable {
    let itemsStart: [Int]
    let items: [UInt32]
    let usersOf: CSRTranspose
    let itemWeight: [Float]
  }

  /// One thread's accumulators, zero between users.
  private struct Scratch {
    var userScore: [Float]
    var touchedUsers: [Int] = []
    var itemScore: [Float]
    var touchedItems: [Int] = []
    var own: [Bool]

    init(userCount: Int, itemCount: Int) {
      userScore = [Float](repeating: 0, count: userCount)
      itemScore = [Float](repeating: 0, count: itemCount)
      own = [Bool](repeating: false, count: itemCount)
    }
  }

  /// The list of the `u`th user with enough history. O(itemsPerUser x usersPerItem + neighbours x itemsPerUser).
  private func list(of u: Int, _ shared: Shared, _ scratch: inout Scratch) -> [(DocID, Float)] {
    let itemsStart = shared.itemsStart, items = shared.items, usersOf = shared.usersOf
    let mine = itemsStart[u]..<itemsStart[u + 1]
    for k in mine {
      let i = Int(items[k])
      scratch.own[i] = true
      let weight = shared.itemWeight[i]
      for v in usersOf.rows[usersOf.range(i).suffix(usersPerItem)] where Int(v) != u {
        if scratch.userScore[Int(v)] == 0 { scratch.touchedUsers.append(Int(v)) }
        scratch.userScore[Int(v)] += weight
      }
    }
    var best = TopK(capacity: neighbourUsers)
    for v in scratch.touchedUsers {
      let size = Float(mine.count * (itemsStart[v + 1] - itemsStart[v]))
      best.offer(DocID(rawValue: UInt32(v)), scratch.userScore[v] / size.squareRoot())
      scratch.userScore[v] = 0
    }
    scratch.touchedUsers.removeAll(keepingCapacity: true)
    for (v, similarity) in best.sortedDescending() {
      for k in itemsStart[v.index]..<itemsStart[v.index + 1] where !scratch.own[Int(items[k])] {
        let i = Int(items[k])
        if scratch.itemScore[i] == 0 { scratch.touchedItems.append(i) }
        scratch.itemScore[i] += similarity
      }
    }
    var top = TopK(capacity: listLength)
    for i in scratch.touchedItems {
      top.offer(DocID(i), scratch.itemScore[i])
      scratch.itemScore[i] = 0
    }
    scratch.touchedItems.removeAll(keepingCapacity: true)
    for k in mine { scratch.own[Int(items[k])] = false }
    let list = top.sortedDescending()
    let first = list.first?.1 ?? 1
    return list.map { ($0.0, min(1, $0.1 / first)) }
  }
}
