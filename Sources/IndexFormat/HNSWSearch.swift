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

/// Which nodes one search has visited: a stamp per node, so starting a new search is O(1) (bump the
/// stamp) instead of clearing or allocating a set. Reuse one per thread; not thread-safe.
public struct VisitedList: Sendable {
  private var marks: [UInt16]
  private var stamp: UInt16 = 1

  /// A list for graphs of up to `capacity` nodes (grows on demand).
  public init(capacity: Int) { marks = [UInt16](repeating: 0, count: capacity) }

  /// Forgets every visit. O(1), except once every 65,535 searches (O(nodes)).
  public mutating func reset(nodes: Int) {
    if marks.count < nodes { marks += [UInt16](repeating: 0, count: nodes - marks.count) }
    if stamp == .max {
      for i in marks.indices { marks[i] = 0 }
      stamp = 1
    } else {
      stamp += 1
    }
  }

  /// Marks `node`; false if it was already visited in this search.
  @inline(__always) public mutating func insert(_ node: UInt32) -> Bool {
    let i = Int(node)
    if marks[i] == stamp { return false }
    marks[i] = stamp
    return true
  }
}

/// A binary heap of (node, similarity), best first or worst first; comparisons inline (the generic
/// `Heap` calls a closure per comparison, which dominated HNSW search).
struct NodeHeap {
  var items: [(UInt32, Float)] = []
  /// True: the most similar node on top; false: the least similar.
  let bestFirst: Bool

  init(bestFirst: Bool, capacity: Int) {
    self.bestFirst = bestFirst
    items.reserveCapacity(capacity)
  }

  var count: Int { items.count }
  var top: (UInt32, Float)? { items.first }

  @inline(__always) private func above(_ a: Float, _ b: Float) -> Bool { bestFirst ? a > b : a < b }

  mutating func push(_ e: (UInt32, Float)) {
    items.append(e)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard above(items[i].1, items[parent].1) else { break }
      items.swapAt(i, parent)
      i = parent
    }
  }

  mutating func pop() -> (UInt32, Float)? {
    guard !items.isEmpty else { return nil }
    items.swapAt(0, items.count - 1)
    let e = items.removeLast()
    var i = 0
    let n = items.count
    while true {
      let l = 2 * i + 1, r = l + 1
      var m = i
      if l < n, above(items[l].1, items[m].1) { m = l }
      if r < n, above(items[r].1, items[m].1) { m = r }
      guard m != i else { break }
      items.swapAt(i, m)
      i = m
    }
    return e
  }
}

/// The search step of HNSW (Malkov and Yashunin, 2018), shared by the builder and the reader: a beam
/// search on one level, best-first by similarity.
///
/// Synchronous; allocates its two heaps per call, and takes the caller's `VisitedList`.
public enum HNSWSearch {
  /// The `ef` most similar nodes reachable on `level` from `entries`, best first. `nodes` is the
  /// graph's node count (for `visited`).
  public static func searchLayer<G: HNSWGraphView>(_ g: G, entries: [(UInt32, Float)], ef: Int, level: Int,
                                                   nodes: Int, visited: inout VisitedList) -> [(UInt32, Float)] {
    visited.reset(nodes: nodes)
    var candidates = NodeHeap(bestFirst: true, capacity: ef * 4)
    var results = NodeHeap(bestFirst: false, capacity: ef + 1)
    for e in entries where visited.insert(e.0) {
      candidates.push(e)
      results.push(e)
      if results.count > ef { _ = results.pop() }
    }
    while let current = candidates.pop() {
      if let worst = results.top, results.count >= ef, current.1 < worst.1 { break }
      for i in 0..<g.neighbourCount(current.0, level) {
        let n = g.neighbour(current.0, level, i)
        guard visited.insert(n) else { continue }
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
      // Scan one node's list completely before moving: `best` changes inside the loop.
      let current = best.0
      for i in 0..<g.neighbourCount(current, level) {
        let n = g.neighbour(current, level, i)
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
  // Two 8-lane accumulators: vector loads without alignment requirements, then one horizontal sum.
  var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
  let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
  var i = 0
  while i + 16 <= count {
    s0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
    s1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
      * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
    i += 16
  }
  if i + 8 <= count {
    s0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
    i += 8
  }
  var tail: Float = 0
  while i < count {
    tail += a[i] * b[i]
    i += 1
  }
  return (s0 + s1).sum() + tail
}
