import FunnelCore
import IndexFormat

/// Item-to-item rows in CSR form, built one item at a time from a dense score accumulator: the
/// shared tail of every co-occurrence builder (ItemCF's cousins: Swing, sessions). For each item
/// the caller adds scores with `add`, then `finishRow` keeps the top `neighboursPerItem` (ties by
/// doc), scales the row's best to 1 and clears the touched cells. O(touched log k) per row, no
/// allocation per row. Not thread-safe.
struct NeighbourRowsBuilder {
  let neighboursPerItem: Int
  private var accumulator: [Float]
  private var touched: [UInt32] = []
  private(set) var offsets: [UInt32] = [0]
  private(set) var docs: [UInt32] = []
  private(set) var scores: [Float] = []

  init(itemCount: Int, neighboursPerItem: Int) {
    self.neighboursPerItem = neighboursPerItem
    accumulator = [Float](repeating: 0, count: itemCount)
    offsets.reserveCapacity(itemCount + 1)
  }

  /// Adds `score` to item `b` of the current row.
  @inline(__always) mutating func add(_ b: Int, _ score: Float) {
    if accumulator[b] == 0 { touched.append(UInt32(b)) }
    accumulator[b] += score
  }

  /// Closes the current row; `normalise(b, sum)` turns an accumulated sum into the similarity
  /// (e.g. divides by the two items' counts).
  mutating func finishRow(_ normalise: (Int, Float) -> Float) {
    var best = TopK(capacity: neighboursPerItem)
    for b in touched {
      let score = normalise(Int(b), accumulator[Int(b)])
      if score > 0, score.isFinite { best.offer(DocID(rawValue: b), score) }
      accumulator[Int(b)] = 0
    }
    touched.removeAll(keepingCapacity: true)
    let row = best.sortedDescending()
    let top = row.first?.1 ?? 1
    for (doc, score) in row {
      docs.append(doc.rawValue)
      scores.append(min(1, score / top))
    }
    offsets.append(UInt32(docs.count))
  }

  /// The rows as a `NeighbourTable` file.
  func file() -> PendingFile { NeighbourTable.file(offsets: offsets, neighbours: docs, scores: scores) }
}
