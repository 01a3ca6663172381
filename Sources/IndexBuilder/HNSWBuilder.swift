import CVectorKernels
import FunnelCore
import IndexFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds an HNSW graph (Malkov and Yashunin, 2018) over unit vectors, cosine similarity: each node
/// gets a random level (geometric, 1 / ln M) and is linked on every level to up to `m` nodes chosen by
/// the selection heuristic from a beam search of width `efConstruction`; reverse links fill lists of
/// up to `m` (2m on level 0), re-pruned by the same heuristic when full. Deterministic for a given
/// seed, on every CPU (the vector kernels sum alike). O(n log n * ef).
///
/// Level 0, where every node lives, is one flat array of fixed-width rows (a count, then 2m links):
/// a search reads a node's count and links from one place (one prefetch), with no array to chase. The levels
/// above hold few nodes (1/m of the previous level's), each in rows of m by a slot per node.
struct HNSWBuilder {
  let dimension: Int
  let m: Int
  let efConstruction: Int
  var vectors: [Float] = []
  /// Level 0: node i's row is `links0[i * (2m + 1)...]`: its link count, then up to 2m links.
  var links0: [UInt32] = []
  /// Nodes inserted or to insert.
  var nodeCount = 0
  /// Words per level-0 row.
  var row0: Int { 2 * m + 1 }
  /// Levels 1...: `upper[l - 1]`.
  var upper: [UpperLevel] = []
  var nodeLevel: [Int] = []
  var entry: UInt32 = 0
  var rng = SplitMix64(seed: 0x4E5F)
  private var visited = VisitedList(capacity: 0)

  /// One level above 0: the row (m links, a count) of each node that reaches it.
  struct UpperLevel {
    /// Row of each node, -1 for nodes below this level.
    var slot: [Int32]
    var links: [UInt32] = []
    var counts: [UInt16] = []

    init(nodes: Int) { slot = [Int32](repeating: -1, count: nodes) }
  }

  init(dimension: Int, m: Int = 16, efConstruction: Int = 100) {
    self.dimension = dimension
    self.m = m
    self.efConstruction = efConstruction
  }

  /// Normalises and inserts every vector (`vectors[i]` is node `i`).
  mutating func build(_ input: [[Float]]) {
    vectors.reserveCapacity(input.count * dimension)
    for v in input {
      let norm = max(1e-12, v.reduce(0) { $0 + $1 * $1 }.squareRoot())
      vectors += v.map { $0 / norm }
    }
    nodeCount = input.count
    links0 = [UInt32](repeating: 0, count: input.count * row0)
    let scale = 1 / log(Double(max(m, 2)))
    for i in 0..<input.count {
      let level = min(15, Int(-log(max(rng.unit(), 1e-12)) * scale))
      insert(UInt32(i), level: level, nodes: input.count)
    }
  }

  /// The graph during one insertion's searches (pointers valid inside `insert`'s scope only).
  private struct Graph: HNSWGraphView {
    let vectors: UnsafePointer<Float>
    let links0: UnsafePointer<UInt32>
    let upper: [UpperLevel]
    let query: UnsafePointer<Float>
    let dimension, width, m: Int

    func similarity(_ node: UInt32) -> Float {
      funnel_vec_dot(query, vectors + Int(node) * dimension, dimension, VectorKernel.best)
    }
    func neighbourCount(_ node: UInt32, _ level: Int) -> Int {
      if level == 0 { return Int(links0[Int(node) * width]) }
      let u = upper[level - 1], s = Int(u.slot[Int(node)])
      return s < 0 ? 0 : Int(u.counts[s])
    }
    func visitNeighbours(_ node: UInt32, _ level: Int, marks: UnsafeMutablePointer<UInt16>, stamp: UInt16,
                         ids: UnsafeMutablePointer<UInt32>, scores: UnsafeMutablePointer<Float>) -> Int {
      if level == 0 {
        let row = links0 + Int(node) * width
        return funnel_vec_visit(row + 1, Int(row[0]), marks, stamp, query, vectors, dimension, ids, scores, VectorKernel.best)
      }
      let u = upper[level - 1], s = Int(u.slot[Int(node)])
      guard s >= 0 else { return 0 }
      return u.links.withUnsafeBufferPointer { l in
        funnel_vec_visit(l.baseAddress! + s * m, Int(u.counts[s]), marks, stamp, query, vectors, dimension, ids, scores,
                         VectorKernel.best)
      }
    }
    func prefetchNeighbours(_ node: UInt32, _ level: Int) {
      if level == 0 { funnel_vec_prefetch(links0 + Int(node) * width) }
    }
    func neighbour(_ node: UInt32, _ level: Int, _ i: Int) -> UInt32 {
      if level == 0 { return links0[Int(node) * width + 1 + i] }
      let u = upper[level - 1]
      return u.links[Int(u.slot[Int(node)]) * m + i]
    }
  }

  func similarity(_ a: Int, _ b: Int) -> Float {
    vectors.withUnsafeBufferPointer { dot($0.baseAddress! + a * dimension, $0.baseAddress! + b * dimension, dimension) }
  }

  /// `node`'s links on `level`.
  func links(_ node: Int, _ level: Int) -> [UInt32] {
    if level == 0 { return Array(links0[(node * row0 + 1)..<(node * row0 + 1 + Int(links0[node * row0]))]) }
    let u = upper[level - 1], s = Int(u.slot[node])
    return s < 0 ? [] : Array(u.links[(s * m)..<(s * m + Int(u.counts[s]))])
  }

  /// Replaces `node`'s links on `level` (at most 2m on level 0, m above).
  private mutating func setLinks(_ node: Int, _ level: Int, _ list: [UInt32]) {
    if level == 0 {
      for (i, n) in list.enumerated() { links0[node * row0 + 1 + i] = n }
      links0[node * row0] = UInt32(list.count)
      return
    }
    let s = Int(upper[level - 1].slot[node])
    for (i, n) in list.enumerated() { upper[level - 1].links[s * m + i] = n }
    upper[level - 1].counts[s] = UInt16(list.count)
  }

  private mutating func insert(_ node: UInt32, level: Int, nodes: Int) {
    let n = Int(node)
    while upper.count < level { upper.append(UpperLevel(nodes: nodes)) }
    for l in stride(from: 1, through: level, by: 1) {
      upper[l - 1].slot[n] = Int32(upper[l - 1].counts.count)
      upper[l - 1].links += [UInt32](repeating: 0, count: m)
      upper[l - 1].counts.append(0)
    }
    nodeLevel.append(level)
    guard n > 0 else {
      entry = node
      return
    }
    let top = nodeLevel[Int(entry)]
    var found: [[(UInt32, Float)]] = Array(repeating: [], count: level + 1)
    var visited = VisitedList(capacity: 0)
    swap(&visited, &self.visited)
    let (dimension, m, ef, upper) = (self.dimension, self.m, efConstruction, self.upper)
    let width = row0
    vectors.withUnsafeBufferPointer { v in
      links0.withUnsafeBufferPointer { l0 in
        let g = Graph(vectors: v.baseAddress!, links0: l0.baseAddress!, upper: upper,
                      query: v.baseAddress! + n * dimension, dimension: dimension, width: width, m: m)
        var ep = (entry, g.similarity(entry))
        if top > level {
          for l in stride(from: top, to: level, by: -1) { ep = HNSWSearch.greedy(g, entry: ep, level: l) }
        }
        var entries = [ep]
        for l in stride(from: min(level, top), through: 0, by: -1) {
          let candidates = HNSWSearch.searchLayer(g, entries: entries, ef: ef, level: l, nodes: nodes, visited: &visited)
          found[l] = candidates
          entries = candidates
        }
      }
    }
    swap(&visited, &self.visited)
    for l in 0...min(level, top) {
      let capacity = l == 0 ? 2 * m : m
      let chosen = select(found[l], capacity: m)
      setLinks(n, l, chosen)
      for other in chosen {
        let o = Int(other)
        var list = links(o, l)
        list.append(node)
        if list.count > capacity {
          let scored = list.map { ($0, similarity(o, Int($0))) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
          list = select(scored, capacity: capacity)
        }
        setLinks(o, l, list)
      }
    }
    if level > top { entry = node }
  }

  /// The neighbour-selection heuristic of the paper (algorithm 4), as hnswlib applies it: from
  /// candidates sorted by similarity to the node, keep one only if it is closer to the node than to
  /// every neighbour kept so far, so links spread across clusters instead of crowding one. Pruned
  /// candidates are not added back (filling up with them cost recall).
  private func select(_ candidates: [(UInt32, Float)], capacity: Int) -> [UInt32] {
    // Fewer candidates than places: all are kept (the levels at the top have few nodes to link).
    if candidates.count < capacity { return candidates.map(\.0) }
    var kept: [UInt32] = []
    kept.reserveCapacity(capacity)
    vectors.withUnsafeBufferPointer { v in
      let base = v.baseAddress!
      for (c, s) in candidates {
        guard kept.count < capacity else { break }
        let row = base + Int(c) * dimension
        if kept.allSatisfy({ dot(row, base + Int($0) * dimension, dimension) < s }) { kept.append(c) }
      }
    }
    return kept
  }

  /// The serialised `vectors` file.
  func file() -> [UInt8] {
    let count = nodeCount
    let levels = (0...upper.count).map { l in (0..<count).map { links($0, l) } }
    return VectorIndex.write(dimension: dimension, vectors: vectors, entry: entry, m: m, levels: levels)
  }
}
