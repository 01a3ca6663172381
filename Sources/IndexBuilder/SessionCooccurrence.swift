import FunnelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Session co-occurrence neighbours: items that appear in the same visit, each pair weighted by how
/// close in time the two interactions were (`exp(-gap / pairDecaySeconds)`: items looked at a minute
/// apart are closer than items half an hour apart) and by how recent the visit is (half-life
/// `halfLifeDays`, floored at `minimumRecency` so that an old data set still has neighbours). A
/// visit is a user's run of events without a gap longer than `gapSeconds`; each keeps its last
/// `maxItems` distinct items. Sums are normalised by the geometric mean of the two items' visit
/// counts (cosine), as ItemCF is. Memory O(visit entries); time O(sum of visit lengths squared).
struct SessionCooccurrence {
  let gapSeconds: UInt32
  let pairDecaySeconds: Double
  let halfLifeDays: Double
  let maxItems: Int
  let neighboursPerItem: Int
  var minimumRecency: Float = 0.001

  func rows(_ histories: UserHistories, itemCount: Int) -> NeighbourRowsBuilder {
    // Visits in CSR form: distinct docs with the age of their last event, and the visit's recency.
    var visitStart: [Int] = [0]
    var visitDocs: [UInt32] = []
    var visitAges: [UInt32] = []
    var recency: [Float] = []
    let perSecond = log(2) / (halfLifeDays * 86_400)
    var visitCount = [Float](repeating: 0, count: itemCount)
    var current: [UInt32: UInt32] = [:]
    func close() {
      guard current.count > 1 else {
        current.removeAll(keepingCapacity: true)
        return
      }
      // The most recent `maxItems` (smallest ages), in doc order for determinism.
      let kept = current.sorted { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }.prefix(maxItems)
        .sorted { $0.key < $1.key }
      for (doc, age) in kept {
        visitDocs.append(doc)
        visitAges.append(age)
        visitCount[Int(doc)] += 1
      }
      visitStart.append(visitDocs.count)
      let newest = kept.map(\.value).min() ?? 0
      recency.append(max(minimumRecency, Float(exp(-perSecond * Double(newest)))))
      current.removeAll(keepingCapacity: true)
    }
    for user in histories.byID {
      var previous: UInt32?
      for e in histories.start[user]..<histories.start[user + 1] {
        let age = histories.ages[e]
        // Events are in time order, so ages fall; a rise past the gap (or out-of-order input) starts a visit.
        if let p = previous, p >= age ? p - age > gapSeconds : true { close() }
        previous = age
        current[histories.docs[e]] = min(current[histories.docs[e]] ?? .max, age)
      }
      close()
    }
    // The transpose: each item's (visit, position) occurrences.
    let occurrences = CSRTranspose(start: visitStart, entries: visitDocs, columns: itemCount)
    var rows = NeighbourRowsBuilder(itemCount: itemCount, neighboursPerItem: neighboursPerItem)
    let pairDecay = 1 / pairDecaySeconds
    for a in 0..<itemCount {
      for o in occurrences.range(a) {
        let (k, v) = (Int(occurrences.positions[o]), Int(occurrences.rows[o]))
        let ageA = Double(visitAges[k])
        for j in visitStart[v]..<visitStart[v + 1] where j != k {
          let gap = abs(Double(visitAges[j]) - ageA)
          rows.add(Int(visitDocs[j]), recency[v] * Float(exp(-gap * pairDecay)))
        }
      }
      rows.finishRow { b, sum in sum / (visitCount[a] * visitCount[b]).squareRoot() }
    }
    return rows
  }
}
