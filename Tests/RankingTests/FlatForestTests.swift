import Ranking
import Testing

/// The flat, branch-free layout against the reference traversal on random forests whose inputs
/// hit the thresholds exactly, and NaN, infinities and zeros: the rewritten comparisons (`x < t` as
/// `x <= t.nextDown`, a double threshold rounded down to a float) must not move a single row.
@Suite struct FlatForestTests {
  struct Rng {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }
  }

  static let thresholds: [Double] = [-1.5, -0.0, 0, 0.1, 0.3, 1.0 / 3, 2.5, 1e30]
  static let inputs: [Float] = [-1.5, 0, -0.0, 0.1, 0.3, Float(1.0 / 3), Float(1.0 / 3).nextUp, Float(1.0 / 3).nextDown,
                                2.5, Float(2.5).nextDown, .nan, .infinity, -.infinity, 1e30, 7]

  static func forest(_ semantics: TreeEnsemble.Semantics, seed: UInt64, missingTypes: [UInt8], maxDepth: Int = 8,
                     stopOneIn: UInt64 = 4) throws -> TreeEnsemble {
    var rng = Rng(state: seed)
    var nodes: [TreeEnsemble.Node] = []
    var roots: [Int32] = []
    func grow(_ depth: Int) -> Int32 {
      let index = Int32(nodes.count)
      nodes.append(.leaf(Double(rng.next() % 1000) / 100 - 5))
      // Uneven trees: some branches stop early, some go eight deep.
      guard depth < maxDepth, depth == 0 || rng.next() % stopOneIn != 0 else { return index }
      let left = grow(depth + 1), right = grow(depth + 1)
      var split = TreeEnsemble.Node.leaf(0)
      (split.feature, split.threshold, split.left, split.right) = (Int32(rng.next() % 4), rng.pick(thresholds), left, right)
      (split.defaultLeft, split.missingType) = (rng.next() % 2 == 0, rng.pick(missingTypes))
      nodes[Int(index)] = split
      return index
    }
    for t in 0..<40 { roots.append(t % 13 == 0 ? { nodes.append(.leaf(0.25)); return Int32(nodes.count - 1) }() : grow(0)) }
    return try TreeEnsemble(version: "random", schema: FeatureSchema(["a", "b", "c", "d"]), semantics: semantics,
                            nodes: nodes, roots: roots, baseMargin: 0.5, output: .identity)
  }

  @Test(arguments: [(TreeEnsemble.Semantics.xgboost, [UInt8(0)]), (.lightgbm, [0, 2])])
  func flatScoringEqualsTheReferenceTraversal(semantics: TreeEnsemble.Semantics, missingTypes: [UInt8]) throws {
    // Nearly full trees of depth 6 (a few early leaves): padded to complete trees; uneven trees up to
    // 8 or 14 deep: the flat walk.
    for (seed, maxDepth, stopOneIn) in [(1, 6, 40), (2, 6, 40), (3, 6, 30), (4, 8, 4), (5, 8, 4), (6, 14, 8)] as [(Int, Int, UInt64)] {
      let model = try Self.forest(semantics, seed: UInt64(seed), missingTypes: missingTypes, maxDepth: maxDepth,
                                  stopOneIn: stopOneIn)
      #expect(model.layout == (maxDepth == 6 ? "complete" : "flat"), "seed \(seed)")
      var rng = Rng(state: UInt64(seed) * 77)
      let rows = 203  // not a multiple of the eight interleaved rows or the 64-row block
      var matrix = FeatureMatrix(columns: 4)
      matrix.reset(rows: rows)
      for r in 0..<rows { for c in 0..<4 { matrix[r, c] = rng.pick(Self.inputs) } }
      var scores = [Float](repeating: 0, count: rows)
      model.score(matrix, into: &scores)
      for r in 0..<rows {
        let expected = model.predict(doubles: (0..<4).map { Double(matrix[r, $0]) })
        #expect(abs(Double(scores[r]) - expected) <= 1e-6 * max(1, abs(expected)), "row \(r): \(scores[r]) vs \(expected)")
      }
    }
  }

  @Test func zeroAsMissingAndCategoricalSplitsKeepTheGeneralLayout() throws {
    #expect(try !Self.forest(.lightgbm, seed: 9, missingTypes: [1]).usesFlatLayout)
  }
}
