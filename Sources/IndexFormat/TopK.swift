import FunnelCore

/// The `capacity` best (doc, score) pairs seen, for every top-k in recall and search: a bounded heap
/// whose root is the worst kept pair. Ties prefer the lower doc id, so answers are deterministic.
/// O(log k) per offer. Not thread-safe; a value per query.
public struct TopK {
  /// The kept pairs as a binary heap whose root is the worst (`worse` holds for a parent against
  /// its children). Written out for this one element type: no comparison closure per step, and a
  /// better pair replaces the root with one sift-down instead of a pop and a push.
  private var pairs: [(DocID, Float)] = []
  /// Most pairs kept.
  public let capacity: Int

  /// An empty selection of at most `capacity` pairs.
  public init(capacity: Int) {
    self.capacity = capacity
    pairs.reserveCapacity(min(max(capacity, 0), 4_096))
  }

  /// Whether `a` ranks below `b` (worse score, or equal score and higher doc id).
  @inline(__always) static func worse(_ a: (DocID, Float), _ b: (DocID, Float)) -> Bool {
    a.1 != b.1 ? a.1 < b.1 : a.0 > b.0
  }

  /// Keeps (doc, score) if it is among the best `capacity` so far. O(log k), no allocation once full.
  @inline(__always)
  public mutating func offer(_ doc: DocID, _ score: Float) {
    guard capacity > 0 else { return }
    if pairs.count < capacity {
      pairs.append((doc, score))
      siftUp(pairs.count - 1)
    } else if Self.worse(pairs[0], (doc, score)) {
      pairs[0] = (doc, score)
      siftDown(0)
    }
  }

  private mutating func siftUp(_ start: Int) {
    pairs.withUnsafeMutableBufferPointer { h in
      var i = start
      let moving = h[i]
      while i > 0 {
        let parent = (i - 1) / 2
        guard Self.worse(moving, h[parent]) else { break }
        h[i] = h[parent]
        i = parent
      }
      h[i] = moving
    }
  }

  private mutating func siftDown(_ start: Int) {
    pairs.withUnsafeMutableBufferPointer { h in
      let n = h.count
      var i = start
      let moving = h[i]
      while true {
        let l = 2 * i + 1
        guard l < n else { break }
        let r = l + 1
        let child = r < n && Self.worse(h[r], h[l]) ? r : l
        guard Self.worse(h[child], moving) else { break }
        h[i] = h[child]
        i = child
      }
      h[i] = moving
    }
  }

  /// Whether `capacity` pairs are held.
  public var isFull: Bool { pairs.count == capacity }
  /// The worst kept score. Precondition: not empty.
  public var minimumScore: Float { pairs[0].1 }

  /// The kept pairs, best first.
  public func sortedDescending() -> [(DocID, Float)] { ScoreOrder.descending(pairs) }

  /// The `k` best of `scores`, best first. O(n log k).
  public static func best(_ scores: [DocID: Float], k: Int) -> [(DocID, Float)] {
    var top = TopK(capacity: k)
    for (doc, score) in scores { top.offer(doc, score) }
    return top.sortedDescending()
  }
}
