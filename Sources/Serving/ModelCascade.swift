/// A two-phase ranking for tree-ensemble models, like Vespa's first-phase and second-phase with
/// `rerank-count`: the sum of the model's first `firstPhaseTrees` trees scores every candidate, and
/// the whole model ranks the best `rerankCount` of them; the others follow below every ranked one
/// in the first phase's order. A boosted ensemble's early trees carry most of its order, so the
/// answer's top rarely changes while scoring costs about
/// `firstPhaseTrees / trees + rerankCount / candidates` of the whole model's (early exit,
/// Cambazoglu et al., WSDM 2010). `Benchmarks/e2e/answer_overlap.py` measures what it keeps.
public struct ModelCascade: Sendable, Hashable {
  /// Trees in the first phase (0, the default: no cascade; the model ranks every candidate).
  public var firstPhaseTrees: Int
  /// Candidates the whole model ranks after the first phase.
  public var rerankCount: Int

  public init(firstPhaseTrees: Int = 0, rerankCount: Int = 200) {
    self.firstPhaseTrees = firstPhaseTrees
    self.rerankCount = rerankCount
  }
}
