/// Candidates best first as (candidate index, score), sorted only as far as they are read, by
/// incremental quicksort (Paredes and Navarro, 2006): the next entry is found by partitioning only
/// the unsorted range in front of it, keeping the pivots' places on a stack, so taking the first k
/// of n costs O(n + k log k) expected instead of a full sort's O(n log n). The order is
/// `ScoreOrder.descendingIndices`'s: higher score, then lower document, NaN last; entries given
/// already in order follow. Re-ranking reads the first few dozen to a few hundred of ~1,000 scored
/// candidates. A value type: iterating copies the keys once, when the first is taken.
public struct RankedOrder: Sequence, Sendable {
  /// One key per scored candidate, `ScoreOrder.key(score:doc:)` with the candidate's index in place
  /// of the document (8 bytes, so partitioning moves little); ties are put in document order as
  /// they are taken.
  var keys: [UInt64]
  var scores: [Float]
  var docs: [UInt32]
  /// Entries that follow every scored one, in this order (candidates left unscored, say).
  public var following: [(Int, Float)]

  /// Every entry, count.
  public var count: Int { keys.count + following.count }

  /// An order of entries already best first (nothing to sort).
  public init(ordered: [(Int, Float)]) {
    (keys, scores, docs) = ([], [], [])
    following = ordered
  }

  /// Indices of `scores` (one per candidate of `candidates`, in order) best first, then
  /// `following` in its order. The candidates' documents must differ, so the order is total.
  /// O(scores) to build.
  public init(scores: [Float], of candidates: [Candidate], following: [(Int, Float)] = []) {
    precondition(scores.count <= candidates.count && scores.count <= Int(UInt32.max), "a score per candidate")
    // Written once each, never zeroed first.
    keys = [UInt64](unsafeUninitializedCapacity: scores.count) { k, written in
      scores.withUnsafeBufferPointer { s in
        for i in 0..<s.count { k[i] = ScoreOrder.key(score: s[i], doc: UInt32(truncatingIfNeeded: i)) }
      }
      written = scores.count
    }
    docs = candidates.withUnsafeBufferPointer { c in
      [UInt32](unsafeUninitializedCapacity: scores.count) { d, written in
        for i in 0..<scores.count { d[i] = c[i].doc.rawValue }
        written = scores.count
      }
    }
    self.scores = scores
    self.following = following
  }

  /// The worst score among the scored entries (the last a full sort would give), nil if none. O(n).
  public var worstScore: Float? { keys.max().map { scores[Int(UInt32(truncatingIfNeeded: $0))] } }

  /// Takes entries best first. Copies share their keys: advancing one invalidates the others (as
  /// `IteratorProtocol` allows).
  public struct Iterator: IteratorProtocol {
    /// The keys being put in order, in memory the iterator owns: partitioning reads and writes them
    /// with no copy-on-write check.
    final class Keys {
      let keys: UnsafeMutableBufferPointer<UInt64>
      init(_ keys: [UInt64]) {
        self.keys = .allocate(capacity: keys.count)
        _ = self.keys.initialize(from: keys)
      }
      deinit { keys.deallocate() }
    }

    let storage: Keys
    let scores: [Float]
    let docs: [UInt32]
    /// Ends of the ranges still unsorted, nearest last: `keys[bound]` is in its final place and no
    /// key before it orders after it. Starts with the end of the array.
    var bounds: [Int]
    var position = 0
    /// Keys before this place are final, equal scores already in document order.
    var settled = 0
    /// Keys before this place are in their final places (ties perhaps not yet in document order).
    var placed = 0
    /// Keys left to partition before the rest is sorted outright (a guard against pivots that
    /// keep splitting badly).
    var budget: Int
    let following: [(Int, Float)]
    var followingPosition = 0

    /// `budget`: keys to partition before sorting the rest outright (by default 4 n + 64, above
    /// what incremental quicksort needs on average for the whole array).
    init(_ order: RankedOrder, budget: Int? = nil) {
      storage = Keys(order.keys)
      (scores, docs, following) = (order.scores, order.docs, order.following)
      bounds = [order.keys.count]
      bounds.reserveCapacity(64)
      self.budget = budget ?? 4 * order.keys.count + 64
    }

    /// The next best entry; O(log n) amortised after the first, which is O(n).
    public mutating func next() -> (Int, Float)? {
      let keys = storage.keys
      if position < keys.count {
        if position == settled { settle(keys) }
        let index = Int(UInt32(truncatingIfNeeded: keys[position]))
        position += 1
        return (index, scores[index])
      }
      guard followingPosition < following.count else { return nil }
      defer { followingPosition += 1 }
      return following[followingPosition]
    }

    /// Puts the key at `settled` in its place, and every key of the same score after it, those in
    /// document order.
    mutating func settle(_ keys: UnsafeMutableBufferPointer<UInt64>) {
      let first = settled
      place(first, keys)
      var end = first + 1
      while end < keys.count {
        place(end, keys)
        guard keys[end] >> 32 == keys[first] >> 32 else { break }
        end += 1
      }
      if end - first > 1 {
        let docs = self.docs
        var run = UnsafeMutableBufferPointer(rebasing: keys[first..<end])
        run.sort {
          docs[Int(UInt32(truncatingIfNeeded: $0))] < docs[Int(UInt32(truncatingIfNeeded: $1))]
        }
      }
      settled = end
    }

    /// Partitions until the key at `target` is in its final place (every key before it orders
    /// before it, every key after it after), unless it is already.
    mutating func place(_ target: Int, _ keys: UnsafeMutableBufferPointer<UInt64>) {
      guard target >= placed else { return }
      placed = target + 1
      var end = bounds[bounds.count - 1]
      if end == target {
        bounds.removeLast()
        return
      }
      while end != target {
        if budget < end - target {
          // Sorted outright up to the bound: every place in between is final.
          ScoreOrder.sort(UnsafeMutableBufferPointer(rebasing: keys[target..<end]))
          budget = .max
          placed = end
          return
        }
        budget -= end - target
        let pivot = ScoreOrder.partition(keys, target..<end)
        if pivot != target { bounds.append(pivot) }
        end = pivot
      }
    }
  }

  public func makeIterator() -> Iterator { Iterator(self) }

  /// An iterator that sorts outright once it has partitioned `budget` keys (tests of that path).
  func makeIterator(budget: Int) -> Iterator { Iterator(self, budget: budget) }

  public var underestimatedCount: Int { count }
}
