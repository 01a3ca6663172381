import Synchronization

/// Dense per-document score arrays (one float per document of an index) lent to BM25 scoring and to
/// item-to-item recall, and taken back clean: a query touches a few thousand of a million
/// documents, so zeroing only the touched entries on return replaces allocating and zeroing 4 MB
/// per query (and the page faults of a fresh mapping, or a hash per neighbour) with work
/// proportional to the postings or neighbours read.
///
/// Thread-safe: each caller gets its own array; at most `retained` idle arrays are kept per size
/// (concurrent searches beyond that allocate, and the extra arrays are freed on return).
final class ScoreAccumulators: Sendable {
  /// Process-wide pool used by `TextRecall` and `SimilarItemsRecall` (the same size per generation).
  static let shared = ScoreAccumulators(retained: 4)

  private let retained: Int
  private let idle = Mutex<[[Float]]>([])

  init(retained: Int) { self.retained = retained }

  /// Runs `body` with an all-zero array of `count` floats and the list to append touched document
  /// indices to (every index whose entry `body` makes non-zero must be listed, once or more);
  /// the entries listed are zeroed afterwards and the array returned to the pool.
  func withAccumulator<R>(count: Int, _ body: (inout [Float], inout [UInt32]) -> R) -> R {
    var scores = idle.withLock { pool -> [Float]? in
      guard let i = pool.lastIndex(where: { $0.count == count }) else { return nil }
      return pool.remove(at: i)
    } ?? [Float](repeating: 0, count: count)
    var touched: [UInt32] = []
    let result = body(&scores, &touched)
    scores.withUnsafeMutableBufferPointer { buffer in
      for doc in touched { buffer[Int(doc)] = 0 }
    }
    idle.withLock { pool in
      // Arrays of another index size (an older generation) make way for the current one.
      pool.removeAll { $0.count != count }
      if pool.count < retained { pool.append(scores) }
    }
    return result
  }

  /// Arrays waiting in the pool (for tests).
  var idleCount: Int { idle.withLock { $0.count } }
}
