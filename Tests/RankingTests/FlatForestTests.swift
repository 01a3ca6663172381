import Foundation
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
                     stopOneIn: UInt64 = 4, trees: Int = 40, features: Int = 4, maxLeaves: Int = .max,
                     thresholds: [Double] = Self.thresholds) throws -> TreeEnsemble {
    var rng = Rng(state: seed)
    var nodes: [TreeEnsemble.Node] = []
    var roots: [Int32] = []
    var leaves = 1  // of the tree being grown
    func grow(_ depth: Int) -> Int32 {
      let index = Int32(nodes.count)
      // XGBoost's leaves are floats (the AVX-512 complete kernel then keeps them in registers);
      // LightGBM's are doubles (it gathers them): both paths are held to the reference.
      let value = Double(rng.next() % 1000) / 100 - 5
      nodes.append(.leaf(semantics == .xgboost ? Double(Float(value)) : value))
      // Uneven trees: some branches stop early, some go eight deep.
      guard depth < maxDepth, depth == 0 || rng.next() % stopOneIn != 0, leaves < maxLeaves else { return index }
      leaves += 1
      let left = grow(depth + 1), right = grow(depth + 1)
      var split = TreeEnsemble.Node.leaf(0)
      (split.feature, split.threshold, split.left, split.right) = (Int32(rng.next() % UInt64(features)), rng.pick(thresholds), left, right)
      (split.defaultLeft, split.missingType) = (rng.next() % 2 == 0, rng.pick(missingTypes))
      nodes[Int(index)] = split
      return index
    }
    for t in 0..<trees {
      leaves = 1
      roots.append(t % 13 == 0 ? { nodes.append(.leaf(0.25)); return Int32(nodes.count - 1) }() : grow(0))
    }
    return try TreeEnsemble(version: "random", schema: FeatureSchema((0..<features).map { "f\($0)" }), semantics: semantics,
                            nodes: nodes, roots: roots, baseMargin: 0.5, output: .identity)
  }

  /// Random inputs over `columns` features drawn from `inputs`.
  static func matrix(rows: Int, columns: Int, seed: UInt64) -> FeatureMatrix {
    var rng = Rng(state: seed)
    var matrix = FeatureMatrix(columns: columns)
    matrix.reset(rows: rows)
    for r in 0..<rows { for c in 0..<columns { matrix[r, c] = rng.pick(Self.inputs) } }
    return matrix
  }

  @Test(arguments: [(TreeEnsemble.Semantics.xgboost, [UInt8(0)]), (.lightgbm, [0, 2])])
  func everyLayoutEqualsTheReferenceTraversal(semantics: TreeEnsemble.Semantics, missingTypes: [UInt8]) throws {
    // Nearly full trees of depth 6 (a few early leaves): padded to complete trees; uneven trees up to
    // 8 or 14 deep with more than 64 leaves: the flat walk; sparser ones: QuickScorer. Every layout
    // the model offers is held to the reference, and the fast ones to each other bit for bit.
    // Complete trees of depth 3 and 6 take the AVX-512 kernel's whole compares of the first three
    // levels and register permutes below (and, for XGBoost's float leaves, leaves from registers),
    // depth 8 its gathers past the sixth level and gathered leaves; the AVX2 kernel compares depth 3
    // whole and walks below level 4 at depths 6 and 8 (and at the shallower trees that early leaves
    // leave).
    for (seed, maxDepth, stopOneIn, expected) in [(1, 6, 40, "complete"), (2, 6, 40, "complete"), (3, 6, 30, "complete"),
                                                  (9, 3, 40, "complete"), (10, 8, 80, "complete"), (4, 8, 4, "flat"), (5, 8, 4, "flat"), (6, 14, 8, "flat"),
                                                  (7, 14, 3, "quickscorer"), (8, 20, 2, "quickscorer")] as [(Int, Int, UInt64, String)] {
      let model = try Self.forest(semantics, seed: UInt64(seed), missingTypes: missingTypes, maxDepth: maxDepth,
                                  stopOneIn: stopOneIn, maxLeaves: expected == "quickscorer" ? 64 : .max)
      // QuickScorer is chosen only where the CPU has AVX-512 or AVX2 (elsewhere the flat walk is as
      // fast); its portable kernel is offered, and tested below, everywhere.
      // The complete layout's AVX-512 kernel is chosen where the CPU has it, else its AVX2 kernel, else
      // its portable walk.
      let complete = ["complete", "complete-avx2", "complete-portable"].first { model.availableLayouts.contains($0) }
      let quick = ["quickscorer", "quickscorer-avx2"].first { model.availableLayouts.contains($0) }
      let chosen = expected == "quickscorer" ? quick ?? "flat" : expected == "complete" ? complete ?? "none" : expected
      #expect(model.layout == chosen, "seed \(seed): \(model.layout)")
      if expected == "quickscorer" || expected == "complete" {
        #expect(model.availableLayouts.contains("\(expected)-portable"), "seed \(seed)")
      }
      // Not multiples of the eight interleaved rows, the 16-row vector or the 32-row block.
      for rows in [203, 29] {
        let matrix = Self.matrix(rows: rows, columns: 4, seed: UInt64(seed * 77 + rows))
        var flatScores = [Float](repeating: 0, count: rows)
        try model.scoring(with: "flat").score(matrix, into: &flatScores)
        // The reference traversal once per row, not once per layout: in a debug build it is most of
        // this test's time, which other tests wait for on a two-core machine.
        let reference = (0..<rows).map { r in model.predict(doubles: (0..<4).map { Double(matrix[r, $0]) }) }
        for layout in model.availableLayouts {
          var scores = [Float](repeating: 0, count: rows)
          try model.scoring(with: layout).score(matrix, into: &scores)
          for r in 0..<rows {
            let expected = reference[r]
            #expect(abs(Double(scores[r]) - expected) <= 1e-6 * max(1, abs(expected)), "\(layout) row \(r): \(scores[r]) vs \(expected)")
            if layout != "packed" { #expect(scores[r].bitPattern == flatScores[r].bitPattern, "\(layout) row \(r)") }
          }
        }
      }
    }
  }

  /// QuickScorer over several blocks of trees (more than 256) and more features, with LightGBM's
  /// "is it NaN?" splits (T = +inf, NaN right): the AVX-512 and AVX2 kernels (where the CPU has them)
  /// and the portable one against the flat walk, bit for bit.
  @Test func quickScorerAcrossTreeBlocks() throws {
    let model = try Self.forest(.lightgbm, seed: 11, missingTypes: [0, 2], maxDepth: 12, stopOneIn: 3, trees: 600, features: 9,
                                maxLeaves: 63, thresholds: Self.thresholds + [.infinity])
    #expect(model.availableLayouts.contains("quickscorer-portable"))
    // Every vector kernel is tested on the machine at hand: an AVX2 CPU must offer the AVX2 one.
    let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    if flags.contains(" avx2") { #expect(model.availableLayouts.contains("quickscorer-avx2")) }
    if flags.contains(" avx512f") { #expect(model.availableLayouts.contains("quickscorer")) }
    let rows = 61
    let matrix = Self.matrix(rows: rows, columns: 9, seed: 5)
    var flatScores = [Float](repeating: 0, count: rows)
    try model.scoring(with: "flat").score(matrix, into: &flatScores)
    for layout in model.availableLayouts where layout.hasPrefix("quickscorer") {
      var scores = [Float](repeating: 0, count: rows)
      try model.scoring(with: layout).score(matrix, into: &scores)
      #expect(scores.map(\.bitPattern) == flatScores.map(\.bitPattern), "\(layout)")
    }
    #expect(throws: RankingError.self) { try model.scoring(with: "no-such-layout") }
  }

  @Test func zeroAsMissingAndCategoricalSplitsKeepTheGeneralLayout() throws {
    #expect(try !Self.forest(.lightgbm, seed: 9, missingTypes: [1]).usesFlatLayout)
  }
}
