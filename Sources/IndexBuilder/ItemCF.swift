import FunnelCore
import IndexFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Users' event histories as flat arrays grouped by user (a stable counting sort of the events, so
/// each user's events keep their input order, which is time order): 12 bytes per event, no per-user
/// allocation.
struct UserHistories: Sendable {
  /// User ids by number.
  let users: [UserID]
  /// `docs[start[u] ..< start[u + 1]]` are user `u`'s events, with their decayed weights in `weights`
  /// and their ages at build time (seconds) in `ages`.
  let start: [Int]
  let docs: [UInt32]
  let weights: [Float]
  let ages: [UInt32]

  /// Groups the events by user, taking the event arrays over: each is emptied as soon as it has
  /// been scattered, so at most one of them is held twice (a large build's peak memory).
  init(users: [UserID], eventUser: inout [UInt32], eventDoc: inout [UInt32], eventWeight: inout [Float], eventAge: inout [UInt32]) {
    var start = [Int](repeating: 0, count: users.count + 1)
    for u in eventUser { start[Int(u) + 1] += 1 }
    for u in 0..<users.count { start[u + 1] += start[u] }
    /// `values` in user order (stable), then `values` emptied.
    func scatter<T: BitwiseCopyable>(_ values: inout [T], zero: T) -> [T] {
      var fill = start
      var grouped = [T](repeating: zero, count: values.count)
      for e in eventUser.indices {
        let u = Int(eventUser[e])
        grouped[fill[u]] = values[e]
        fill[u] += 1
      }
      values = []
      return grouped
    }
    self.docs = scatter(&eventDoc, zero: 0)
    self.weights = scatter(&eventWeight, zero: 0)
    self.ages = scatter(&eventAge, zero: 0)
    eventUser = []
    self.users = users
    self.start = start
  }

  /// User `u`'s distinct items among their last `scan` events, each with its strongest decayed
  /// weight, strongest first (ties by doc), at most `limit`. O(scan log scan).
  func strongest(_ u: Int, scan: Int, limit: Int) -> [(doc: UInt32, weight: Float)] {
    var strength: [UInt32: Float] = [:]
    for e in (start[u]..<start[u + 1]).suffix(scan) { strength[docs[e]] = max(strength[docs[e]] ?? 0, weights[e]) }
    return strength.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit)
      .map { (doc: $0.key, weight: $0.value) }
  }

  /// User numbers in the order of their ids (so float sums over users, and builds, are deterministic).
  var byID: [Int] { users.indices.sorted { users[$0] < users[$1] } }
}

/// ItemCF neighbour rows without materialising item pairs: each user's window (their `window`
/// strongest distinct items) goes into a user -> items table and its transpose; then, item by item,
/// the windows of the item's users are summed into one dense accumulator, normalised by the
/// geometric mean of the two items' user counts (cosine), cut to the top `neighboursPerItem`, scaled
/// so the row's best is 1, and the accumulator cleared. Very active users weigh less
/// (1 / log(2 + window length)). Memory O(items + window entries) instead of O(distinct pairs); time
/// O(sum over users of window^2 + items * log neighbours). Users are taken in id order, so the float
/// sums (and the build) are deterministic.
struct ItemCF {
  let window: Int
  let neighboursPerItem: Int

  /// Rows in CSR form: `docs[offsets[d] ..< offsets[d + 1]]` are doc `d`'s neighbours, best first.
  func rows(_ histories: UserHistories, itemCount: Int) -> (offsets: [UInt32], docs: [UInt32], scores: [Float]) {
    var windowStart: [Int] = [0]
    var windowItems: [UInt32] = []
    var userWeight: [Float] = []
    var occurrence = [Float](repeating: 0, count: itemCount)
    for user in histories.byID {
      // Distinct items, most recent window, each with its strongest (decayed) signal.
      let kept = histories.strongest(user, scan: window * 4, limit: window)
      guard kept.count > 1 else { continue }
      for (doc, _) in kept {
        windowItems.append(doc)
        occurrence[Int(doc)] += 1
      }
      windowStart.append(windowItems.count)
      userWeight.append(Float(1 / log(2 + Double(kept.count))))
    }
    // The transpose: for each item, the users whose window holds it.
    let usersOf = CSRTranspose(start: windowStart, entries: windowItems, columns: itemCount)
    var rows = NeighbourRowsBuilder(itemCount: itemCount, neighboursPerItem: neighboursPerItem)
    for a in 0..<itemCount {
      for k in usersOf.range(a) {
        let u = Int(usersOf.rows[k])
        let w = userWeight[u]
        for j in windowStart[u]..<windowStart[u + 1] where Int(windowItems[j]) != a { rows.add(Int(windowItems[j]), w) }
      }
      rows.finishRow { b, sum in sum / (occurrence[a] * occurrence[b]).squareRoot() }
    }
    return (rows.offsets, rows.docs, rows.scores)
  }
}
