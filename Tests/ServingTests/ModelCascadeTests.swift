import FeatureStore
import FunnelCore
import FunnelTestSupport
import Ranking
import Serving
import Testing

/// `serving.firstPhaseTrees` and `serving.rerankCount`: a tree ensemble's first trees score every
/// candidate, the whole model ranks the best of them with its own scores, and the rest follow in
/// the first phase's order below every ranked one.
@Suite struct ModelCascadeTests {
  /// A boosted-looking ensemble over features the pipeline fills: 40 trees of depth 3 whose leaves
  /// shrink with the tree's place, as a booster's corrections do. Deterministic.
  static let model: TreeEnsemble = {
    let features = ["item_popularity", "recall_popular", "recall_category", "recall_similar", "price", "channel_count"]
    let thresholds: [Double] = [0, 0.001, 0.01, 0.05, 0.1, 0.3, 0.6, 1, 1.5, 2, 5, 20, 50, 100]
    var state: UInt64 = 42
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    var nodes: [TreeEnsemble.Node] = [], roots: [Int32] = []
    func grow(_ depth: Int, scale: Double) -> Int32 {
      let index = Int32(nodes.count)
      nodes.append(.leaf(Double(Float(scale * (Double(next() % 2_001) / 1_000 - 1)))))
      guard depth < 3 else { return index }
      let left = grow(depth + 1, scale: scale), right = grow(depth + 1, scale: scale)
      var split = TreeEnsemble.Node.leaf(0)
      (split.feature, split.left, split.right) = (Int32(next() % UInt64(features.count)), left, right)
      split.threshold = thresholds[Int(next() % UInt64(thresholds.count))]
      split.defaultLeft = next() % 2 == 0
      nodes[Int(index)] = split
      return index
    }
    for t in 0..<40 { roots.append(grow(0, scale: 1 / (1 + Double(t) / 4))) }
    return try! TreeEnsemble(version: "cascade", schema: FeatureSchema(features), semantics: .xgboost, nodes: nodes, roots: roots,
                             baseMargin: 0, output: .identity)
  }()

  static func engine(_ model: any ScoringModel, cascade: ModelCascade = .init()) -> ServingEngine {
    var configuration = ServingConfiguration()
    configuration.modelCascade = cascade
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    var dependencies = TestEngines.dependencies(store: store)
    dependencies.model = model
    return ServingEngine(dependencies: dependencies, configuration: configuration)
  }

  /// Every candidate of `input` with its score: a count past the candidates answers all of them.
  static func scores(_ engine: ServingEngine, _ input: RecommendInput) async throws -> [String: Float] {
    let answer = try await engine.recommend(input)
    return Dictionary(uniqueKeysWithValues: answer.items.map { ($0.itemID, Float($0.score)) })
  }

  @Test func theModelRanksTheFirstPhasesBestAndTheRestFollowInItsOrder() async throws {
    let rerank = 30
    let first = try #require(Self.model.firstTrees(5))
    let (whole, firstOnly) = (Self.engine(Self.model), Self.engine(first))
    let cascade = Self.engine(Self.model, cascade: .init(firstPhaseTrees: 5, rerankCount: rerank))
    var checked = 0
    for user in ["U-1", "U-7", "nobody-new"] {
      let input = RecommendInput(userID: user, scene: .home, count: 1_000, debug: true)
      let answer = try await cascade.recommend(input)
      let (full, phase1) = (try await Self.scores(whole, input), try await Self.scores(firstOnly, input))
      let got = Dictionary(uniqueKeysWithValues: answer.items.map { ($0.itemID, Float($0.score)) })
      try #require(answer.items.count > 2 * rerank, "\(user): enough candidates to cut")
      #expect(Set(got.keys) == Set(full.keys), "\(user): the same candidates answered")
      #expect(answer.debug?.rankedCandidates == rerank, "\(user)")
      // The best `rerank` by the cascade's scores carry the whole model's scores, bit for bit.
      let byScore = got.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      let (ranked, rest) = (byScore.prefix(rerank), byScore.dropFirst(rerank))
      for (item, score) in ranked { #expect(score.bitPattern == full[item]!.bitPattern, "\(user) \(item)") }
      // They are the first phase's best: none of the rest scored higher there.
      let lowestRanked = ranked.map { phase1[$0.key]! }.min()!
      #expect(rest.allSatisfy { phase1[$0.key]! <= lowestRanked }, "\(user)")
      // The rest: below every ranked score, in the first phase's order, not with the model's scores.
      #expect(rest.allSatisfy { $0.value < ranked.last!.value }, "\(user)")
      for (a, b) in zip(rest, rest.dropFirst()) { #expect(phase1[a.key]! >= phase1[b.key]!, "\(user): \(a.key) before \(b.key)") }
      #expect(rest.contains { $0.value != full[$0.key]! }, "\(user)")
      checked += answer.items.count
    }
    #expect(checked > 200)
  }

  @Test func aRerankCountPastTheCandidatesAnswersAsTheModelAlone() async throws {
    let (whole, cascade) = (Self.engine(Self.model), Self.engine(Self.model, cascade: .init(firstPhaseTrees: 5, rerankCount: 100_000)))
    for user in ["U-1", "U-7"] {
      let input = RecommendInput(userID: user, scene: .home, count: 50, debug: true)
      let (a, b) = (try await whole.recommend(input), try await cascade.recommend(input))
      #expect(a.items.map(\.itemID) == b.items.map(\.itemID) && a.items.map(\.score) == b.items.map(\.score), "\(user)")
      #expect(a.debug?.rankedCandidates == b.debug?.rankedCandidates)
    }
  }

  @Test func onlyTreeEnsemblesOfMoreTreesThanTheFirstPhaseCascade() throws {
    let on = ModelCascade(firstPhaseTrees: 5, rerankCount: 10)
    #expect(CandidateRanker(model: Self.model, cascade: on).cascades(11))
    #expect(!CandidateRanker(model: Self.model, cascade: on).cascades(10))
    #expect(!CandidateRanker(model: Self.model).cascades(1_000), "off by default")
    #expect(!CandidateRanker(model: Self.model, cascade: .init(firstPhaseTrees: 40, rerankCount: 10)).cascades(1_000))
    let linear = try LinearModel(version: "l", schema: FeatureSchema(["price"]), weights: [1], bias: 0, logistic: false)
    #expect(!CandidateRanker(model: linear, cascade: on).cascades(1_000))
  }
}
