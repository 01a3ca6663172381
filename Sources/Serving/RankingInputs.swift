import FeatureStore
import FunnelCore
import IndexFormat

/// What the model's features of a request's candidates are computed from, besides the candidates
/// themselves: one value the rank stage builds once and `CandidateRanker` reads.
public struct RankingInputs: Sendable {
  /// The user's profile from their recent interactions.
  public var profile: UserProfile
  /// The generation the request started with.
  public var generation: IndexGeneration
  /// The request context (`context.KEY` features).
  public var context: [String: String]
  /// The offline item features bound to `generation` (`item.*`), when configured.
  public var itemFeatures: BoundItemFeatures?
  /// The user's offline profile features (`user.*`).
  public var userFeatures: [String: Float]
  /// Real-time counts of the candidates (`rt.*`): empty, or indexed like the candidates scored
  /// (entries past them are ignored).
  public var itemActivity: [ItemActivity?]
  /// Now, in Unix ms (decay of the real-time counts).
  public var nowMs: Int64

  /// The inputs; everything but the profile and the generation is optional.
  public init(profile: UserProfile, generation: IndexGeneration, context: [String: String] = [:],
              itemFeatures: BoundItemFeatures? = nil, userFeatures: [String: Float] = [:],
              itemActivity: [ItemActivity?] = [], nowMs: Int64 = 0) {
    self.profile = profile
    self.generation = generation
    self.context = context
    self.itemFeatures = itemFeatures
    self.userFeatures = userFeatures
    self.itemActivity = itemActivity
    self.nowMs = nowMs
  }

  /// The same inputs for the candidates at `positions` of the list `itemActivity` is indexed by.
  func selecting(_ positions: some Sequence<Int>) -> RankingInputs {
    var copy = self
    copy.itemActivity = itemActivity.isEmpty ? [] : positions.map { $0 < itemActivity.count ? itemActivity[$0] : nil }
    return copy
  }
}
