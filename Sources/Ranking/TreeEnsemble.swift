#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A gradient-boosted tree ensemble in one flat node array, scored exactly as the library that
/// trained it: XGBoost (`x < threshold` in float32, missing values take the default direction) or
/// LightGBM (`x <= threshold` in double, missing-value types None/Zero/NaN, categorical bitsets).
///
/// Immutable and thread-safe. `score` is synchronous and allocation-free: O(rows * trees * depth).
public struct TreeEnsemble: ScoringModel {
  /// Which library's split semantics the nodes follow.
  public enum Semantics: Sendable { case xgboost, lightgbm }

  /// The function from the raw margin to the model output.
  public enum Output: Sendable, Equatable {
    case identity
    /// `1 / (1 + exp(-scale * margin))` (binary:logistic, LightGBM `binary sigmoid:scale`).
    case sigmoid(scale: Double)
  }

  /// One node. Internal nodes have `feature >= 0`; leaves have `feature == -1` and a `value`.
  public struct Node: Sendable {
    public var feature: Int32
    public var threshold: Double
    public var left: Int32
    public var right: Int32
    /// Missing values go left.
    public var defaultLeft: Bool
    /// LightGBM missing type: 0 None, 1 Zero, 2 NaN.
    public var missingType: UInt8
    /// Categorical split: `threshold` indexes `categoryBitsets`.
    public var categorical: Bool
    public var value: Double

    /// A leaf with `value`.
    public static func leaf(_ value: Double) -> Node {
      Node(feature: -1, threshold: 0, left: -1, right: -1, defaultLeft: false, missingType: 0, categorical: false, value: value)
    }
  }

  public let version: String
  public let schema: FeatureSchema
  public let semantics: Semantics
  public let nodes: [Node]
  /// Root node of each tree.
  public let roots: [Int32]
  /// Added to the sum of leaves (XGBoost's base score in margin space; 0 for LightGBM).
  public let baseMargin: Double
  public let output: Output
  /// Category sets of categorical splits, as 32-bit bitsets.
  public let categoryBitsets: [[UInt32]]
  /// The same trees in the layout `score` walks: the flat, branch-free one when every split can be
  /// expressed exactly there, else the general packed one.
  var flat: FlatForest?
  let packed: PackedForest

  /// Checks the structure: children in range and acyclic by construction order is not assumed, so
  /// every tree is walked once to reject cycles and out-of-range references.
  public init(version: String, schema: FeatureSchema, semantics: Semantics, nodes: [Node], roots: [Int32],
              baseMargin: Double, output: Output, categoryBitsets: [[UInt32]] = []) throws {
    let n = Int32(nodes.count)
    for (i, node) in nodes.enumerated() where node.feature >= 0 {
      guard node.left >= 0, node.left < n, node.right >= 0, node.right < n else {
        throw RankingError("model \(version): node \(i) points to a child outside the tree")
      }
      guard Int(node.feature) < schema.count else {
        throw RankingError("model \(version): node \(i) splits on feature \(node.feature), the model has \(schema.count)")
      }
      if node.categorical, !(0..<categoryBitsets.count).contains(Int(node.threshold)) {
        throw RankingError("model \(version): node \(i) names category set \(Int(node.threshold)) of \(categoryBitsets.count)")
      }
    }
    for root in roots {
      guard root >= 0, root < n else { throw RankingError("model \(version): a tree root is outside the nodes") }
      var depth = 0
      var stack = [(root, 0)]
      while let (i, d) = stack.popLast() {
        depth = max(depth, d)
        guard d <= 256 else { throw RankingError("model \(version): a tree is deeper than 256 (cycle?)") }
        let node = nodes[Int(i)]
        if node.feature >= 0 { stack += [(node.left, d + 1), (node.right, d + 1)] }
      }
    }
    self.version = version
    self.schema = schema
    self.semantics = semantics
    self.nodes = nodes
    self.roots = roots
    self.baseMargin = baseMargin
    self.output = output
    self.categoryBitsets = categoryBitsets
    self.packed = PackedForest(nodes: nodes, roots: roots)
    self.flat = FlatForest(nodes: nodes, roots: roots, semantics: semantics)
  }

  /// Number of trees.
  public var treeCount: Int { roots.count }

  /// Whether scoring takes the flat, branch-free layout (`FlatForest`) rather than the general one.
  public var usesFlatLayout: Bool { flat != nil }

  /// The layout batch scoring takes: `complete` (shallow trees padded to heap order, `CompleteForest`,
  /// with the AVX-512 kernel), `complete-avx2` (the same with the AVX2 kernel), `complete-portable`
  /// (the same in Swift), `quickscorer` (trees of at most 64 leaves as bit masks, `QuickScorerForest`, with the AVX-512
  /// kernel), `quickscorer-avx2` (the same with the AVX2 kernel), `quickscorer-portable` (the same in
  /// plain C loops), `flat` (`FlatForest`) or `packed`
  /// (`PackedForest`: categorical splits and other cases).
  public var layout: String {
    guard let flat else { return "packed" }
    if let complete = flat.complete { return Self.completeLayoutNames[complete.kernel]! }
    if let quick = flat.quick { return Self.quickLayoutNames[quick.kernel]! }
    return "flat"
  }

  /// The layouts this model can be scored with, fastest first (`layout` is the first).
  public var availableLayouts: [String] { Self.layouts(flat, quick: quickScorer()) }

  /// The model cut to its first `count` trees (same base margin and output): a boosted ensemble's
  /// early trees carry most of its order, so their sum is a cheap first phase that picks the rows the
  /// whole model then scores (early exit, Cambazoglu et al., WSDM 2010). Nil unless
  /// 0 < `count` < `treeCount`. Built once per model, O(nodes).
  public func firstTrees(_ count: Int) -> TreeEnsemble? {
    guard count > 0, count < treeCount else { return nil }
    // The nodes were checked when this model was made; the cut only names fewer roots.
    return try? TreeEnsemble(version: "\(version)/first-\(count)", schema: schema, semantics: semantics, nodes: nodes,
                             roots: Array(roots.prefix(count)), baseMargin: baseMargin, output: output,
                             categoryBitsets: categoryBitsets)
  }

  /// The same model scored with `layout` (one of `availableLayouts`), for benchmarks and for tests
  /// that hold the layouts to one another. Scores differ only in the last bits of float rounding
  /// between `packed` (double comparisons) and the others, which are bit-identical.
  public func scoring(with layout: String) throws -> TreeEnsemble {
    let quick = quickScorer()
    let available = Self.layouts(flat, quick: quick)
    guard available.contains(layout) else {
      throw RankingError("model \(version): layout '\(layout)' is not one of \(available.joined(separator: ", "))")
    }
    var copy = self
    switch layout {
    case "packed": copy.flat = nil
    case "flat": (copy.flat!.complete, copy.flat!.quick) = (nil, nil)
    case "quickscorer", "quickscorer-avx2", "quickscorer-portable":
      var quick = quick!
      quick.kernel = Self.quickLayoutNames.first { $0.value == layout }!.key
      (copy.flat!.complete, copy.flat!.quick) = (nil, quick)
    case "complete", "complete-avx2", "complete-portable":
      copy.flat!.complete!.kernel = Self.completeLayoutNames.first { $0.value == layout }!.key
    default: break
    }
    return copy
  }

  /// The layout name of each kernel of the complete walk.
  private static let completeLayoutNames: [CompleteForest.Kernel: String] =
    [.avx512: "complete", .avx2: "complete-avx2", .portable: "complete-portable"]

  /// The layout name of each QuickScorer kernel.
  private static let quickLayoutNames: [QuickScorerForest.Kernel: String] =
    [.avx512: "quickscorer", .avx2: "quickscorer-avx2", .portable: "quickscorer-portable"]

  /// The QuickScorer form of the trees: the one scoring uses, or one built for `scoring(with:)`
  /// (nil when a tree has more than 64 leaves or the flat layout does not apply).
  private func quickScorer() -> QuickScorerForest? { flat.flatMap { $0.quick ?? QuickScorerForest($0) } }

  private static func layouts(_ flat: FlatForest?, quick: QuickScorerForest?) -> [String] {
    guard let flat else { return ["packed"] }
    var names: [String] = []
    if flat.complete != nil { names += CompleteForest.availableKernels.map { completeLayoutNames[$0]! } }
    if quick != nil { names += QuickScorerForest.Kernel.available.map { quickLayoutNames[$0]! } }
    return names + ["flat", "packed"]
  }

  public func score(_ matrix: FeatureMatrix, into scores: inout [Float]) {
    precondition(matrix.columns == schema.count, "matrix has \(matrix.columns) columns, model \(schema.count)")
    precondition(scores.count >= matrix.rows, "score buffer too small")
    // Margins of up to 1,024 rows live on the stack; larger batches go in slices.
    withUnsafeTemporaryAllocation(of: Double.self, capacity: min(max(matrix.rows, 1), 1_024)) { margins in
      matrix.values.withUnsafeBufferPointer { values in
        var start = 0
        while start < matrix.rows {
          let count = min(margins.count, matrix.rows - start)
          let slice = UnsafeBufferPointer(rebasing: values[(start * matrix.columns)..<((start + count) * matrix.columns)])
          if let flat {
            flat.margins(slice, rows: count, columns: matrix.columns, base: baseMargin, into: margins)
          } else {
            packed.margins(slice, rows: count, columns: matrix.columns, base: baseMargin, semantics: semantics,
                           bitsets: categoryBitsets, into: margins)
          }
          for r in 0..<count { scores[start + r] = Float(transform(margins[r])) }
          start += count
        }
      }
    }
  }

  /// The model output for one row given in double precision (what the training libraries receive): the
  /// reference traversal, node by node, that the packed batch path is tested against.
  public func predict(doubles features: [Double]) -> Double { transform(margin(features)) }

  @inline(__always) private func transform(_ margin: Double) -> Double {
    switch output {
    case .identity: return margin
    case .sigmoid(let scale): return 1 / (1 + exp(-scale * margin))
    }
  }

  private func margin(_ features: [Double]) -> Double {
    var sum = 0.0
    nodes.withUnsafeBufferPointer { nodes in
      for root in roots {
        var i = Int(root)
        while nodes[i].feature >= 0 {
          let node = nodes[i]
          let x = features[features.startIndex + Int(node.feature)]
          let goLeft: Bool
          switch semantics {
          case .xgboost:
            goLeft = x.isNaN ? node.defaultLeft : Float(x) < Float(node.threshold)
          case .lightgbm:
            goLeft = node.categorical ? categoryLeft(x, node) : numericalLeft(x, node)
          }
          i = Int(goLeft ? node.left : node.right)
        }
        sum += nodes[i].value
      }
    }
    return sum + baseMargin
  }

  @inline(__always) private func numericalLeft(_ value: Double, _ node: Node) -> Bool {
    var x = value
    if x.isNaN && node.missingType != 2 { x = 0 }
    if (node.missingType == 1 && abs(x) <= 1e-35) || (node.missingType == 2 && x.isNaN) { return node.defaultLeft }
    return x <= node.threshold
  }

  @inline(__always) private func categoryLeft(_ x: Double, _ node: Node) -> Bool {
    guard !x.isNaN, x >= 0, x < Double(Int32.max) else { return false }
    let category = Int(x)
    let bits = categoryBitsets[Int(node.threshold)]
    let word = category / 32
    return word < bits.count && (bits[word] >> UInt32(category % 32)) & 1 == 1
  }
}

