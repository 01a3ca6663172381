/// A graph and query as HNSW search sees them: similarity of a node to the query, and a node's
/// neighbours on a level. The builder (in-memory graph) and the reader (mapped graph) implement it.
public protocol HNSWGraphView {
  /// Similarity of `node` to the query (higher = closer).
  func similarity(_ node: UInt32) -> Float
  /// Number of neighbours of `node` on `level`.
  func neighbourCount(_ node: UInt32, _ level: Int) -> Int
  /// Neighbour `i` of `node` on `level`.
  func neighbour(_ node: UInt32, _ level: Int, _ i: Int) -> UInt32
}

/// The search step of HNSW (Malkov and Yashunin, 2018), shared by the builder and the reader: a beam
/// search on one level, best-first by similarity.
///
/// Synchronous; allocates its heaps and visited set per call. Not thread-safe (one per query).
public enum HNSWSearch {
  /// The `ef` most similar nodes reachable on `level` from `entries`, best first.
  public static func searchLayer<G: HNSWGraphView>(_ g: G, entries: [(UInt32, Float)], ef: Int, level: Int) -> [(UInt32, Float)] {
    var visited = Set<UInt32>(minimumCapacity: ef * 8)
    var candidates = Heap<(UInt32, Float)>(by: { $0.1 > $1.1 })  // best first
    var results = Heap<(UInt32, Float)>(by: { $0.1 < $1.1 })     // worst first
    for e in entries where visited.insert(e.0).inserted {
      candidates.push(e)
      results.push(e)
      if results.count > ef { _ = results.pop() }
    }
    while let current = candidates.pop() {
      if let worst = results.top, results.count >= ef, current.1 < worst.1 { break }
      for i in 0..<g.neighbourCount(current.0, level) {
        let n = g.neighbour(current.0, level, i)
        guard visited.insert(n).inserted else { continue }
        let s = g.similarity(n)
        if results.count < ef || s > results.top!.1 {
          candidates.push((n, s))
          results.push((n, s))
          if results.count > ef { _ = results.pop() }
        }
      }
    }
    return results.items.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
  }

  /// Greedy descent on one level from `entry`: moves to a more similar neighbour while one exists.
  public static func greedy<G: HNSWGraphView>(_ g: G, entry: (UInt32, Float), level: Int) -> (UInt32, Float) {
    var best = entry
    var improved = true
    while improved {
      improved = false
      for i in 0..<g.neighbourCount(best.0, level) {
        let n = g.neighbour(best.0, level, i)
        let s = g.similarity(n)
        if s > best.1 {
          best = (n, s)
          improved = true
        }
      }
    }
    return best
  }
}

/// Inner product of two vectors of `count` floats (cosine for unit vectors).
@inline(__always) public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
  var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
  var i = 0
  while i + 4 <= count {
    s0 += a[i] * b[i]
    s1 += a[i + 1] * b[i + 1]
    s2 += a[i + 2] * b[i + 2]
    s3 += a[i + 3] * b[i + 3]
    i += 4
  }
  while i < count {
    s0 += a[i] * b[i]
    i += 1
  }
  return (s0 + s1) + (s2 + s3)
}
