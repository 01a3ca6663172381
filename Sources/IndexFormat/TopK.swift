import FunnelCore

/// The `capacity` best (doc, score) pairs seen, for every top-k in recall and search: a bounded heap
/// whose root is the worst kept pair. Ties prefer the lower doc id, so answers are deterministic;
/// NaN ranks below every score. O(log k) per pair that enters, O(1) per pair turned away.
/// Not thread-safe; a value per query.
public struct TopK {
  /// The kept pairs as `ScoreOrder` keys (ascending key: higher score, then lower doc) in a binary
  /// max-heap: the root is the worst kept pair. One integer comparison per step instead of a score
  /// and a doc comparison; a better pair replaces the root with one sift-down.
  @usableFromInline var keys: [UInt64] = []
  /// Most pairs kept.
  public let capacity: Int

  /// An empty selection of at most `capacity` pairs.
  public init(capacity: Int) {
    self.capacity = capacity
    keys.reserveCapacity(min(max(capacity, 0), 4_096))
  }

  /// Keeps (doc, score) if it is among the best `capacity` so far. O(log k), no allocation once full.
  @inlinable @inline(__always)
  public mutating func offer(_ doc: DocID, _ score: Float) {
    guard capacity > 0 else { return }
    let key = ScoreOrder.key(score: score, doc: doc.rawValue)
    if keys.count < capacity {
      keys.append(key)
      siftUp(keys.count - 1)
    } else if key < keys[0] {
      keys[0] = key
      siftDown(0)
    }
  }

  @usableFromInline mutating func siftUp(_ start: Int) {
    keys.withUnsafeMutableBufferPointer { h in
      var i = start
      let moving = h[i]
      while i > 0 {
        let parent = (i - 1) / 2
        guard moving > h[parent] else { break }
        h[i] = h[parent]
        i = parent
      }
      h[i] = moving
    }
  }

  @usableFromInline mutating func siftDown(_ start: Int) {
    keys.withUnsafeMutableBufferPointer { h in
      let n = h.count
      var i = start
      let moving = h[i]
      while true {
        let l = 2 * i + 1
        guard l < n else { break }
        let r = l + 1
        let child = r < n && h[r] > h[l] ? r : l
        guard h[child] > moving else { break }
        h[i] = h[child]
        i = child
      }
      h[i] = moving
    }
  }

  /// Whether `capacity` pairs are held.
  @inlinable public var isFull: Bool { keys.count == capacity }
  /// The worst kept score. Precondition: not empty.
  @inlinable public var minimumScore: Float { ScoreOrder.score(keys[0]) }

  /// The kept pairs, best first.
  public func sortedDescending() -> [(DocID, Float)] {
    var sorted = keys
    ScoreOrder.sort(&sorted)
    return sorted.map { (DocID(rawValue: UInt32(truncatingIfNeeded: $0)), ScoreOrder.score($0)) }
  }

  /// The `k` best of `scores`, best first. O(n log k).
  public static func best(_ scores: [DocID: Float], k: Int) -> [(DocID, Float)] {
    var top = TopK(capacity: k)
    for (doc, score) in scores { top.offer(doc, score) }
    return top.sortedDescending()
  }
}
