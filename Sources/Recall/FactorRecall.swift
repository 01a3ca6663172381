import FunnelCore
import IndexFormat

/// Learned-factor recall (matrix factorisation, ALS or BPR): the items with the largest inner
/// product with the user's factors, by HNSW over the generation's factor index (see
/// `IndexGeneration.factors`), so a known user gets personal candidates with no session at all. A
/// user without factors (new since the build) is represented by the weighted sum of their seeds'
/// item factors. Scores are the cosine with the query, at least 0.
public struct FactorRecall: RecallChannel {
  /// HNSW beam width at query time.
  public let ef: Int
  /// A channel searching with beam width `ef`.
  public init(ef: Int = 200) { self.ef = ef }
  public var channel: ChannelSet { .factors }

  public func recall(_ request: RecallRequest, in generation: IndexGeneration, quota: Int,
                     into collector: inout CandidateCollector) {
    guard let index = generation.factors, quota > 0 else { return }
    // The query's last coordinate stays 0: the one the build appended to make item vectors unit length.
    var query: [Float]
    if let user = request.userFactors, user.count + 1 == index.dimension {
      query = user
    } else {
      guard !request.seeds.isEmpty else { return }
      query = [Float](repeating: 0, count: index.dimension - 1)
      for seed in request.seeds { index.accumulate(seed.doc, weight: seed.weight, into: &query) }
    }
    query.append(0)
    let seeds = Set(request.seeds.map(\.doc))
    for (doc, similarity) in index.search(query, k: quota + seeds.count, ef: max(ef, quota)) where !seeds.contains(doc) && similarity > 0 {
      collector.add(doc, channel: .factors, score: similarity)
    }
  }
}
