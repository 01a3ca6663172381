import DemoCatalog
import FeatureStore
import FunnelCore
import IndexBuilder
import IndexFormat
import Ranking
import Serving

/// What the benchmarks run on, built once: the demo shop (5,000 items, ~128k events) as an index
/// generation, a user's profile and the candidates a home request recalls for them, and a synthetic
/// 500-tree ensemble of depth 6 over the built-in model's features.
enum Fixtures {
  static let nowMs: Int64 = 1_790_000_000_000
  static let store = DemoStore(.standard(endTimeMs: nowMs))
  static let generation = try! GenerationBuilder().build(items: store.items, events: store.events, nowMs: nowMs,
                                                        version: "bench").open()
  static let featureStore: EmbeddedFeatureStore = {
    let s = EmbeddedFeatureStore()
    s.seed(store.events)
    return s
  }()

  /// 500 complete trees of depth 6 with random splits over the built-in schema (deterministic).
  static let forest: TreeEnsemble = {
    var rng = SplitMix64(seed: 500)
    var nodes: [TreeEnsemble.Node] = []
    var roots: [Int32] = []
    let features = Int32(BuiltinModel.schema.count)
    func grow(_ depth: Int) -> Int32 {
      let index = Int32(nodes.count)
      nodes.append(.leaf(rng.unit() - 0.5))
      guard depth < 6 else { return index }
      let left = grow(depth + 1), right = grow(depth + 1)
      var split = TreeEnsemble.Node.leaf(0)
      (split.feature, split.threshold, split.left, split.right) = (Int32(rng.next() % UInt64(features)), rng.unit(), left, right)
      (split.defaultLeft, split.missingType) = (rng.next() % 2 == 0, 2)
      nodes[Int(index)] = split
      return index
    }
    for _ in 0..<500 { roots.append(grow(0)) }
    return try! TreeEnsemble(version: "bench-500x6", schema: BuiltinModel.schema, semantics: .xgboost, nodes: nodes,
                             roots: roots, baseMargin: 0, output: .sigmoid(scale: 1))
  }()

  /// A 1,000 x 12 matrix of random feature values (5% missing).
  static let matrix: FeatureMatrix = {
    var rng = SplitMix64(seed: 1_000)
    var m = FeatureMatrix(columns: BuiltinModel.schema.count, capacity: 1_000)
    m.reset(rows: 1_000)
    for r in 0..<1_000 { for c in 0..<m.columns { m[r, c] = rng.unit() < 0.05 ? .nan : Float(rng.unit()) } }
    return m
  }()
}
