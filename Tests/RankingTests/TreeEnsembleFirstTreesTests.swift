import Ranking
import Testing

/// `TreeEnsemble.firstTrees`: the first phase of a ranking cascade is the model's first trees, the
/// same base margin and output, walked the way the training library walks them.
@Suite struct TreeEnsembleFirstTreesTests {
  /// The margin of `model`'s first `trees` trees for one row, by a walk written here (XGBoost's
  /// rules: `x < threshold` in float32, a missing value takes the default direction). The output is
  /// the identity, so the margin is the score.
  static func margin(_ model: TreeEnsemble, trees: Int, _ row: [Float]) -> Double {
    var sum = model.baseMargin
    for root in model.roots.prefix(trees) {
      var node = model.nodes[Int(root)]
      while node.feature >= 0 {
        let x = row[Int(node.feature)]
        let left = x.isNaN ? node.defaultLeft : x < Float(node.threshold)
        node = model.nodes[Int(left ? node.left : node.right)]
      }
      sum += node.value
    }
    return sum
  }

  @Test func theFirstTreesScoreAsTheirOwnSum() throws {
    // Depth-6 trees (the complete layout), uneven ones (flat), and sparse ones (QuickScorer where
    // the CPU has a vector kernel for it): each cut scores like a walk of its trees alone.
    for (seed, maxDepth, stopOneIn) in [(1, 6, 40), (4, 8, 4), (7, 14, 3)] as [(UInt64, Int, UInt64)] {
      let model = try FlatForestTests.forest(.xgboost, seed: seed, missingTypes: [0], maxDepth: maxDepth, stopOneIn: stopOneIn,
                                             maxLeaves: stopOneIn == 3 ? 64 : .max)
      let matrix = FlatForestTests.matrix(rows: 77, columns: 4, seed: seed &+ 100)
      for trees in [1, 12, 39] {
        let first = try #require(model.firstTrees(trees))
        #expect(first.treeCount == trees && first.schema == model.schema && first.version == "random/first-\(trees)")
        var scores = [Float](repeating: .nan, count: matrix.rows)
        first.score(matrix, into: &scores)
        for r in 0..<matrix.rows {
          // Layouts fold stump-only trees into one constant, so the last bits of the sum may differ.
          let expected = Self.margin(model, trees: trees, (0..<matrix.columns).map { matrix[r, $0] })
          #expect(abs(Double(scores[r]) - expected) <= 1e-6 * max(1, abs(expected)), "seed \(seed), \(trees) trees, row \(r)")
        }
      }
    }
  }

  @Test func noCutOfNoneOrAll() throws {
    let model = try FlatForestTests.forest(.xgboost, seed: 3, missingTypes: [0])
    #expect(model.firstTrees(0) == nil && model.firstTrees(-1) == nil)
    #expect(model.firstTrees(model.treeCount) == nil && model.firstTrees(model.treeCount + 1) == nil)
    #expect(model.firstTrees(model.treeCount - 1)?.treeCount == model.treeCount - 1)
  }
}
