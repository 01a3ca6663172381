import CVectorKernels
import FunnelCore
import MappedStorage
import Synchronization

/// The optional `vectors` file of a generation: unit item embeddings and an HNSW graph over them
/// (cosine similarity), searched in place from the mapped file.
///
/// ```
/// section 0: dimension, count, entry, max level, M (u32)   section 1: vectors (f32, count x dimension)
/// section 2: neighbour offsets (u32, (max level + 1) x (count + 1))   section 3: neighbours (u32)
/// ```
/// Immutable; safe to share across threads; every neighbour id is checked at open.
public struct VectorIndex: Sendable {
  static let kind = "VECS"
  static let version: UInt32 = 1
  public static let fileName = "vectors.fnl"

  public let dimension: Int
  public let count: Int
  let entry: UInt32
  let maxLevel: Int
  let vectors: ScalarView<Float>
  let offsets: ScalarView<UInt32>
  let links: ScalarView<UInt32>
  /// The widest beam on level 1, whose nodes start the level-0 search.
  static let levelOneBeam = 32

  /// Visited lists reused across searches (one per concurrent search; created on demand).
  private let visitedLists = VisitedListPool()

  /// Serialises vectors (unit length, `count x dimension`) and the graph's rows: `levels[l][i]` = node
  /// `i`'s neighbours on level `l` (empty above the node's level).
  public static func write(dimension: Int, vectors: [Float], entry: UInt32, m: Int, levels: [[[UInt32]]]) -> [UInt8] {
    let count = dimension == 0 ? 0 : vectors.count / dimension
    var offsets: [UInt32] = []
    var links: [UInt32] = []
    for level in levels {
      offsets.append(UInt32(links.count))
      for row in level {
        links += row
        offsets.append(UInt32(links.count))
      }
    }
    var w = SectionedFileWriter()
    w.add([UInt32(dimension), UInt32(count), entry, UInt32(max(0, levels.count - 1)), UInt32(m)])
    w.add(vectors)
    w.add(offsets)
    w.add(links)
    return w.finish(kind: kind, formatVersion: version)
  }

  /// Opens a vectors file for `documentCount` documents.
  public init(_ region: ByteRegion, documentCount: Int, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: Self.version...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 4)
    let header = try f.scalars(0, as: UInt32.self, expected: 5)
    dimension = Int(header[0])
    count = Int(header[1])
    entry = header[2]
    maxLevel = Int(header[3])
    guard count == documentCount, dimension > 0, dimension <= 4_096, maxLevel < 64, entry < UInt32(max(count, 1)) else {
      throw f.corrupt("header (dimension \(dimension), count \(count), entry \(entry), levels \(maxLevel)) does not fit \(documentCount) items")
    }
    vectors = try f.scalars(1, as: Float.self, expected: count * dimension)
    offsets = try f.scalars(2, as: UInt32.self, expected: (maxLevel + 1) * (count + 1))
    links = try f.scalars(3, as: UInt32.self)
    let limit = UInt32(count)
    guard links.withUnsafeBufferPointer({ $0.allSatisfy { $0 < limit } }),
          offsets.withUnsafeBufferPointer({ o in zip(o, o.dropFirst()).allSatisfy { $0 <= $1 } }),
          offsets.last.map({ Int($0) == links.count }) ?? false else {
      throw f.corrupt("the HNSW graph references nodes or links outside the file")
    }
  }

  /// The unit embedding of `doc` (copied).
  public func vector(_ doc: DocID) -> [Float] {
    Array(vectors[(doc.index * dimension)..<((doc.index + 1) * dimension)])
  }

  /// The inner product of `query` with the first `query.count` coordinates of `doc`'s stored vector
  /// (0 outside the index or for a longer query). O(query.count), no allocation.
  @inline(__always) public func prefixDot(_ doc: DocID, _ query: [Float]) -> Float {
    guard doc.index < count, query.count <= dimension else { return 0 }
    let base = doc.index * dimension
    var sum: Float = 0
    for j in 0..<query.count { sum += query[j] * vectors[base + j] }
    return sum
  }

  /// Adds `weight` x the first `query.count` coordinates of `doc`'s stored vector to `query` (nothing
  /// outside the index or for a longer query): a weighted sum of items as a search query, without
  /// copying each vector. O(query.count), no allocation.
  @inline(__always) public func accumulate(_ doc: DocID, weight: Float, into query: inout [Float]) {
    guard doc.index < count, query.count <= dimension else { return }
    let base = doc.index * dimension
    for j in query.indices { query[j] += weight * vectors[base + j] }
  }

  /// How `search` finds the nearest items.
  public enum Method: Sendable {
    /// Every vector where that costs less than the graph's beam (`scansEverything(k:ef:)`), else the graph.
    case automatic
    /// The HNSW graph (approximate).
    case graph
    /// Every vector (exact).
    case exhaustive
  }

  /// Items per unit of beam width below which reading every vector costs less than a graph search
  /// of that width: a graph search scores a few dozen neighbours per node of its beam, each at a
  /// scattered row and with heap work, where a scan reads rows in order, eight at a time.
  /// Measured with `funnel-bench-index --vectors` (Benchmarks/RESULTS.md).
  public static let exhaustiveItemsPerBeam = 40

  /// Whether `search` with `.automatic` scans every vector for `k` items at beam width `ef`: when
  /// the index holds at most `exhaustiveItemsPerBeam` items per unit of the beam. The scan is exact,
  /// so a small catalog's answers are exact too.
  public func scansEverything(k: Int, ef: Int) -> Bool { count <= Self.exhaustiveItemsPerBeam * max(ef, k, 1) }

  /// The `k` items most similar to `query` (any length; normalised here), best first (ties: lower
  /// document first). By HNSW with beam width `ef` (>= k): greedy descent to level 2, a beam of up
  /// to 32 on level 1, then the beam of `ef` on level 0 from all of its nodes; or, by `method`, by
  /// reading every vector (exact). Returns [] for a query of the wrong dimension or zero length.
  public func search(_ query: [Float], k: Int, ef: Int, method: Method = .automatic) -> [(DocID, Float)] {
    guard query.count == dimension, count > 0, k > 0 else { return [] }
    let norm = query.reduce(0) { $0 + $1 * $1 }.squareRoot()
    guard norm > 0, norm.isFinite else { return [] }
    let q = query.map { $0 / norm }
    switch method {
    case .exhaustive: return scan(q, k: k)
    case .automatic where scansEverything(k: k, ef: ef): return scan(q, k: k)
    case .automatic, .graph: return graphSearch(q, k: k, ef: ef)
    }
  }

  /// The exact top `k` for the unit query `q`, by reading every row. A first threshold comes from
  /// a sample (`sampledThreshold`), so that the kernel turns away most rows from the start; should
  /// fewer than `k` rows reach it, the scan is done again without one. O(count x dimension + count).
  func scan(_ q: [Float], k: Int) -> [(DocID, Float)] {
    let k = min(k, count)
    guard k > 0 else { return [] }
    let floor = sampledThreshold(q, k: k)
    if floor > -.infinity {
      let best = scan(q, k: k, above: floor)
      if best.count == k { return best }
    }
    return scan(q, k: k, above: -.infinity)
  }

  /// The top `k` (at most) of the rows scoring `floor` or more: every row scored by the scan kernel
  /// in blocks, the kernel turning away rows below the running threshold (the floor, then the k-th
  /// best kept so far) itself. The rest are kept as order keys in a buffer of 4k; when it fills the
  /// best k are selected (quickselect) and the k-th becomes the threshold. No heap work per kept row,
  /// no scalar work per row turned away. Exact whenever at least `k` rows score `floor` or more.
  private func scan(_ q: [Float], k: Int, above floor: Float) -> [(DocID, Float)] {
    let room = min(4 * k, count)
    // Blocks small enough that the threshold the kernel is given follows the selections closely.
    let block = 256
    return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: room) { kept in
      var held = 0
      q.withUnsafeBufferPointer { qp in
        vectors.withUnsafeBufferPointer { vp in
          withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { scores in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: block) { rows in
              var threshold = floor, worst = UInt64.max
              var start = 0
              while start < count {
                let n = min(block, count - start)
                let passed = funnel_vec_scan_above(qp.baseAddress!, vp.baseAddress! + start * dimension, dimension, n,
                                                   threshold, scores.baseAddress!, rows.baseAddress!, VectorKernel.best)
                for j in 0..<passed {
                  let score = scores[j]
                  // Below the k-th kept (which may have risen within the block): out. An equal
                  // score goes on, where the lower document wins.
                  if score < threshold { continue }
                  let key = ScoreOrder.key(score: score, doc: UInt32(truncatingIfNeeded: start) &+ rows[j])
                  if key > worst { continue }
                  kept[held] = key
                  held &+= 1
                  if held == room, held > k {
                    ScoreOrder.selectSmallest(k, in: kept)
                    held = k
                    worst = kept[k - 1]
                    threshold = ScoreOrder.score(worst)
                  }
                }
                start += n
              }
            }
          }
        }
      }
      return ScoreOrder.best(k, of: UnsafeMutableBufferPointer(rebasing: kept[..<held]))
    }
  }

  /// A score about `2k` rows reach, from a sample of eight runs of 64 rows spread over the matrix
  /// (whole runs, so the kernel scores them eight at a time); -infinity when the matrix is too
  /// small for a sample to save work. A threshold too high for `k` rows only costs a second scan.
  private func sampledThreshold(_ q: [Float], k: Int) -> Float {
    let runs = 8, run = 64, sample = runs * run
    guard count >= 2 * sample, count >= 8 * k else { return -.infinity }
    let rank = (2 * k * sample + count - 1) / count
    guard rank < sample else { return -.infinity }
    return withUnsafeTemporaryAllocation(of: Float.self, capacity: sample) { scores in
      withUnsafeTemporaryAllocation(of: UInt32.self, capacity: run) { rows in
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: sample) { keys in
          q.withUnsafeBufferPointer { qp in
            vectors.withUnsafeBufferPointer { vp in
              for r in 0..<runs {
                let first = r * (count / runs)
                _ = funnel_vec_scan_above(qp.baseAddress!, vp.baseAddress! + first * dimension, dimension, run,
                                          -.infinity, scores.baseAddress! + r * run, rows.baseAddress!, VectorKernel.best)
              }
            }
          }
          for i in 0..<sample { keys[i] = ScoreOrder.key(score: scores[i], doc: UInt32(i)) }
          ScoreOrder.selectSmallest(rank, in: keys)
          let threshold = ScoreOrder.score(keys[rank - 1])
          return threshold.isNaN ? -.infinity : threshold
        }
      }
    }
  }

  /// The graph search of `search` for the unit query `q`.
  func graphSearch(_ q: [Float], k: Int, ef: Int) -> [(DocID, Float)] {
    q.withUnsafeBufferPointer { qp in
      vectors.withUnsafeBufferPointer { vp in
        offsets.withUnsafeBufferPointer { op in
          links.withUnsafeBufferPointer { lp in
            let g = MappedGraph(query: qp.baseAddress!, vectors: vp.baseAddress!, offsets: op.baseAddress!,
                                links: lp.baseAddress!, dimension: dimension, stride: count + 1)
            var ep = (entry, g.similarity(entry))
            for level in stride(from: maxLevel, to: 1, by: -1) { ep = HNSWSearch.greedy(g, entry: ep, level: level) }
            var visited = visitedLists.lists.withLock { $0.popLast() } ?? VisitedList(capacity: count)
            defer { visitedLists.lists.withLock { $0.append(visited) } }
            // On level 1 a beam rather than one greedy path, its nodes the entries of level 0: on
            // clustered vectors a single path stops in the wrong cluster often enough to cost recall
            // (Benchmarks/RESULTS.md), and the beam costs a few hundred products on a level of n / m nodes.
            let beam = min(Self.levelOneBeam, max(ef, k))
            let entries = maxLevel >= 1
              ? HNSWSearch.searchLayer(g, entries: [ep], ef: beam, level: 1, nodes: count, visited: &visited)
              : [ep]
            return HNSWSearch.searchLayer(g, entries: entries, ef: max(ef, k), level: 0, nodes: count, visited: &visited).prefix(k)
              .map { (DocID(rawValue: $0.0), $0.1) }
          }
        }
      }
    }
  }

  /// The mapped graph during one search (pointers valid inside the caller's scope only).
  private struct MappedGraph: HNSWGraphView {
    let query, vectors: UnsafePointer<Float>
    let offsets, links: UnsafePointer<UInt32>
    let dimension, stride: Int
    func similarity(_ node: UInt32) -> Float { dot(query, vectors + Int(node) * dimension, dimension) }
    func neighbourCount(_ node: UInt32, _ level: Int) -> Int {
      let base = level * stride + Int(node)
      return Int(offsets[base + 1] - offsets[base])
    }
    func neighbour(_ node: UInt32, _ level: Int, _ i: Int) -> UInt32 { links[Int(offsets[level * stride + Int(node)]) + i] }
    func visitNeighbours(_ node: UInt32, _ level: Int, marks: UnsafeMutablePointer<UInt16>, stamp: UInt16,
                         ids: UnsafeMutablePointer<UInt32>, scores: UnsafeMutablePointer<Float>) -> Int {
      let base = level * stride + Int(node), start = Int(offsets[base])
      return funnel_vec_visit(links + start, Int(offsets[base + 1]) - start, marks, stamp, query, vectors, dimension,
                              ids, scores, VectorKernel.best)
    }
    func prefetchNeighbours(_ node: UInt32, _ level: Int) {
      funnel_vec_prefetch(links + Int(offsets[level * stride + Int(node)]))
    }
  }

  /// Exact top `k`, one product and one heap offer per vector: the reference for recall
  /// measurements, and for `scan`, which it shares no selection code with. A zero query scores
  /// every item 0.
  public func exactSearch(_ query: [Float], k: Int) -> [(DocID, Float)] {
    guard query.count == dimension, k > 0 else { return [] }
    let norm = max(1e-12, query.reduce(0) { $0 + $1 * $1 }.squareRoot())
    let q = query.map { $0 / norm }
    var top = TopK(capacity: k)
    q.withUnsafeBufferPointer { qp in
      vectors.withUnsafeBufferPointer { vp in
        for n in 0..<count { top.offer(DocID(n), dot(qp.baseAddress!, vp.baseAddress! + n * dimension, dimension)) }
      }
    }
    return top.sortedDescending()
  }
}

/// Visited lists of finished searches, handed to the next ones so a search allocates no
/// O(items) state. Thread-safe.
final class VisitedListPool: Sendable {
  let lists = Mutex<[VisitedList]>([])
}
