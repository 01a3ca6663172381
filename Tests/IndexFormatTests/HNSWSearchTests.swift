import IndexFormat
import Testing

/// The HNSW search steps on small hand-made graphs, where every path can be checked by hand.
@Suite struct HNSWSearchTests {
  /// A graph given as adjacency lists on level 0, with a fixed similarity per node.
  struct ListGraph: HNSWGraphView {
    let links: [[UInt32]]
    let scores: [Float]
    func similarity(_ node: UInt32) -> Float { scores[Int(node)] }
    func neighbourCount(_ node: UInt32, _ level: Int) -> Int { links[Int(node)].count }
    func neighbour(_ node: UInt32, _ level: Int, _ i: Int) -> UInt32 { links[Int(node)][i] }
  }

  /// Greedy descent must finish scanning one node's list before moving: node 0 has three links, its
  /// first (node 1) is better and has one link; reading node 1's list with node 0's length ran past it.
  @Test func greedyMovesOnlyAfterScanningAList() {
    let g = ListGraph(links: [[1, 2, 3], [4], [0], [0], [1]], scores: [0.1, 0.5, 0.2, 0.9, 0.7])
    let best = HNSWSearch.greedy(g, entry: (0, 0.1), level: 0)
    #expect(best.0 == 3, "node 3 (0.9) is reachable from 0 and the most similar")
  }

  @Test func beamSearchFindsTheBestReachableNodes() {
    // A ring of 12 nodes; similarity peaks at node 7.
    let links: [[UInt32]] = (0..<12).map { (i: Int) -> [UInt32] in [UInt32((i + 1) % 12), UInt32((i + 11) % 12)] }
    let scores: [Float] = (0..<12).map { (i: Int) -> Float in 1 - Float(abs(i - 7)) / 10 }
    var visited = VisitedList(capacity: 4)
    for _ in 0..<3 {  // the visited list is reused across searches
      let found = HNSWSearch.searchLayer(ListGraph(links: links, scores: scores), entries: [(0, scores[0])], ef: 3, level: 0,
                                         nodes: 12, visited: &visited)
      let nodes: [UInt32] = found.map { $0.0 }
      #expect(nodes == [7, 6, 8])
    }
  }
}
