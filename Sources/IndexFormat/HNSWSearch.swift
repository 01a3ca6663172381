import CVectorKernels

/// A graph and query as HNSW search sees them: similarity of a node to the query, and a node's
/// neighbours on a level. The builder (in-memory graph) and the reader (mapped graph) implement it.
public protocol HNSWGraphView {
  /// Similarity of `node` to the query (higher = closer).
  func similarity(_ node: UInt32) -> Float
  /// Number of neighbours of `node` on `level`.
  func neighbourCount(_ node: UInt32, _ level: Int) -> Int
  /// Neighbour `i` of `node` on `level`.
  func neighbour(_ node: UInt32, _ level: Int, _ i: Int) -> UInt32
  /// Asks the cache for `node`'s neighbour list on `level` before it is read (a hint; may do nothing).
  func prefetchNeighbours(_ node: UInt32, _ level: Int)
  /// Marks and scores the neighbours of `node` on `level` not yet visited (`marks[id] == stamp`:
  /// visited), ids into `ids` and similarities into `scores` (room for `neighbourCount`); returns
  /// how many. One kernel call where the graph holds the list contiguously.
  func visitNeighbours(_ node: UInt32, _ level: Int, marks: UnsafeMutablePointer<UInt16>, stamp: UInt16,
                       ids: UnsafeMutablePointer<UInt32>, scores: UnsafeMutablePointer<Float>) -> Int
}

extension HNSWGraphView {
  /// No hint.
  @inlinable public func prefetchNeighbours(_ node: UInt32, _ level: Int) {}

  /// Neighbour by neighbour, one `similarity` each (graphs without a contiguous list and a kernel).
  @inlinable public func visitNeighbours(_ node: UInt32, _ level: Int, marks: UnsafeMutablePointer<UInt16>, stamp: UInt16,
                                         ids: UnsafeMutablePointer<UInt32>, scores: UnsafeMutablePointer<Float>) -> Int {
    var k = 0
    for i in 0..<neighbourCount(node, level) {
      let n = neighbour(node, level, i)
      if marks[Int(n)] != stamp {
        marks[Int(n)] = stamp
        ids[k] = n
        scores[k] = similarity(n)
        k += 1
      }
    }
    return k
  }
}

/// Which nodes one search has visited: a stamp per node, so starting a new search is O(1) (bump the
/// stamp) instead of clearing or allocating a set. Reuse one per thread; not thread-safe.
public struct VisitedList: Sendable {
  @usableFromInline var marks: [UInt16]
  @usableFromInline var stamp: UInt16 = 1

  /// A list for graphs of up to `capacity` nodes (grows on demand).
  public init(capacity: Int) { marks = [UInt16](repeating: 0, count: capacity) }

  /// Forgets every visit. O(1), except once every 65,535 searches (O(nodes)).
  @inlinable public mutating func reset(nodes: Int) {
    if marks.count < nodes { marks += [UInt16](repeating: 0, count: nodes - marks.count) }
    if stamp == .max {
      for i in marks.indices { marks[i] = 0 }
      stamp = 1
    } else {
      stamp += 1
    }
  }

  /// Marks `node`; false if it was already visited in this search.
  @inlinable @inline(__always) public mutating func insert(_ node: UInt32) -> Bool {
    let i = Int(node)
    if marks[i] == stamp { return false }
    marks[i] = stamp
    return true
  }
}

/// A binary heap of (node, similarity), best first or worst first; comparisons inline (the generic
/// `Heap` calls a closure per comparison, which dominated HNSW search), in memory it allocates
/// itself, so a push or pop does no uniqueness or bounds check. The owner calls `release()` once.
@usableFromInline struct NodeHeap {
  @usableFromInline var items: UnsafeMutablePointer<(UInt32, Float)>
  @usableFromInline var capacity: Int
  @usableFromInline var count = 0
  /// True: the most similar node on top; false: the least similar.
  @usableFromInline let bestFirst: Bool

  @inlinable init(bestFirst: Bool, capacity: Int) {
    self.bestFirst = bestFirst
    self.capacity = max(16, capacity)
    items = .allocate(capacity: self.capacity)
  }

  /// Frees the heap's memory; the heap must not be used after.
  @inlinable func release() { items.deallocate() }

  @inlinable var top: (UInt32, Float)? { count > 0 ? items[0] : nil }

  // Both sifts move a hole instead of swapping pairs; the heap they leave is the one pairwise
  // swaps would.
  @inlinable mutating func push(_ e: (UInt32, Float)) {
    if count == capacity {
      let larger = UnsafeMutablePointer<(UInt32, Float)>.allocate(capacity: capacity * 2)
      larger.moveInitialize(from: items, count: count)
      items.deallocate()
      items = larger
      capacity *= 2
    }
    let h = items
    var i = count
    count &+= 1
    if bestFirst {
      while i > 0 {
        let parent = (i &- 1) >> 1
        guard e.1 > h[parent].1 else { break }
        h[i] = h[parent]
        i = parent
      }
    } else {
      while i > 0 {
        let parent = (i &- 1) >> 1
        guard e.1 < h[parent].1 else { break }
        h[i] = h[parent]
        i = parent
      }
    }
    h[i] = e
  }

  @inlinable mutating func pop() -> (UInt32, Float)? {
    guard count > 0 else { return nil }
    let h = items
    let top = h[0]
    count &-= 1
    let n = count
    guard n > 0 else { return top }
    let last = h[n]
    var i = 0
    while true {
      let l = 2 &* i &+ 1, r = l &+ 1
      var m = i
      var best = last.1
      if l < n, bestFirst ? h[l].1 > best : h[l].1 < best { m = l; best = h[l].1 }
      if r < n, bestFirst ? h[r].1 > best : h[r].1 < best { m = r }
      guard m != i else { break }
      h[i] = h[m]
      i = m
    }
    h[i] = last
    return top
  }
}

/// The search step of HNSW (Malkov and Yashunin, 2018), shared by the builder and the reader: a beam
/// search on one level, best-first by similarity. Inlinable, so the builder's graph (another module)
/// gets a specialised copy rather than calls through witness tables.
///
/// Synchronous; allocates its two heaps and two small buffers per call, and takes the caller's
/// `VisitedList`.
public enum HNSWSearch {
  /// The `ef` most similar nodes reachable on `level` from `entries`, best first (ties: lower node
  /// first). `nodes` is the graph's node count (for `visited`).
  @inlinable
  public static func searchLayer<G: HNSWGraphView>(_ g: G, entries: [(UInt32, Float)], ef: Int, level: Int,
                                                   nodes: Int, visited: inout VisitedList) -> [(UInt32, Float)] {
    visited.reset(nodes: nodes)
    var candidates = NodeHeap(bestFirst: true, capacity: ef * 4)
    var results = NodeHeap(bestFirst: false, capacity: ef + 1)
    defer {
      candidates.release()
      results.release()
    }
    for e in entries where visited.insert(e.0) {
      candidates.push(e)
      results.push(e)
      if results.count > ef { _ = results.pop() }
    }
    // A node's unvisited neighbours, scored in one kernel call (room grows with the longest list).
    var room = 64
    var fresh = UnsafeMutablePointer<UInt32>.allocate(capacity: room)
    var scores = UnsafeMutablePointer<Float>.allocate(capacity: room)
    defer {
      fresh.deallocate()
      scores.deallocate()
    }
    let stamp = visited.stamp
    visited.marks.withUnsafeMutableBufferPointer { marks in
      let marks = marks.baseAddress!
      while let current = candidates.pop() {
        if let worst = results.top, results.count >= ef, current.1 < worst.1 { break }
        // The next node to expand is likely the best one left: its links load while this one is scored.
        if let next = candidates.top { g.prefetchNeighbours(next.0, level) }
        let count = g.neighbourCount(current.0, level)
        if count > room {
          fresh.deallocate()
          scores.deallocate()
          room = count
          fresh = .allocate(capacity: room)
          scores = .allocate(capacity: room)
        }
        let k = g.visitNeighbours(current.0, level, marks: marks, stamp: stamp, ids: fresh, scores: scores)
        for j in 0..<k {
          let s = scores[j]
          if results.count < ef || s > results.top!.1 {
            candidates.push((fresh[j], s))
            results.push((fresh[j], s))
            if results.count > ef { _ = results.pop() }
          }
        }
      }
    }
    // The worst-first heap emptied from the back gives best first; ties put in node order.
    var out = [(UInt32, Float)](repeating: (0, 0), count: results.count)
    var i = out.count
    while let e = results.pop() {
      i -= 1
      out[i] = e
    }
    for j in out.indices.dropFirst() {
      var p = j
      while p > 0, out[p - 1].1 == out[p].1, out[p - 1].0 > out[p].0 {
        out.swapAt(p - 1, p)
        p -= 1
      }
    }
    return out
  }

  /// Greedy descent on one level from `entry`: moves to a more similar neighbour while one exists.
  @inlinable
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

/// The vector kernel this process uses (AVX-512, AVX2 with FMA, or portable; `CVectorKernels`), chosen
/// once. Every kernel returns the same sums bit for bit.
public enum VectorKernel {
  /// The widest kernel the CPU runs.
  public static let best = funnel_vec_best()

  /// The kernels this CPU runs, widest first (for tests that hold them to one another).
  public static var available: [funnel_vec_kernel] {
    [FUNNEL_VEC_AVX512, FUNNEL_VEC_AVX2].filter { funnel_vec_supported($0) != 0 } + [FUNNEL_VEC_PORTABLE]
  }
}

/// Inner product of two vectors of `count` floats (cosine for unit vectors), by `VectorKernel.best`.
@inline(__always) public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
  funnel_vec_dot(a, b, count, VectorKernel.best)
}
