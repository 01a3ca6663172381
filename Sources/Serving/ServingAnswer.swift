import FunnelCore
import Recall
import Search

/// One item of an answer.
public struct RankedItem: Hashable, Sendable {
  public var itemID: ItemID
  /// Model score; higher is better, comparable within one answer.
  public var score: Double
  /// Names of the recall channels that produced it.
  public var channels: [String]
  /// Short human-readable reasons.
  public var reasons: [String]

  /// Creates an item.
  public init(itemID: ItemID, score: Double, channels: [String], reasons: [String]) {
    self.itemID = itemID
    self.score = score
    self.channels = channels
    self.reasons = reasons
  }
}

/// Per-stage timings and counts, filled when a request asks for debug.
public struct DebugReport: Hashable, Sendable {
  /// (stage, microseconds) in pipeline order.
  public var timings: [StageTiming] = []
  /// (channel, candidates offered) in channel order.
  public var channelCounts: [ChannelCount] = []
  public var mergedCandidates = 0
  public var filteredCandidates = 0
  public var rankedCandidates = 0
  /// The model's input values for the top items (NaN: missing), in the model's feature order.
  public var features: [ItemFeatures] = []

  /// An empty report.
  public init() {}

  /// The feature values one item was scored with.
  public struct ItemFeatures: Hashable, Sendable {
    public var itemID: String
    public var values: [FeatureValue]
  }

  /// One named model input.
  public struct FeatureValue: Hashable, Sendable {
    public var name: String
    public var value: Float
  }

  /// Time spent in one stage.
  public struct StageTiming: Hashable, Sendable {
    public var stage: String
    public var micros: UInt64
  }

  /// Candidates one channel offered.
  public struct ChannelCount: Hashable, Sendable {
    public var channel: String
    public var candidates: Int
  }
}

/// The pipeline's answer to Recommend or Search.
public struct ServingAnswer: Sendable {
  public var items: [RankedItem]
  public var requestID: String
  public var modelVersion: String
  public var indexVersion: String
  public var experimentArm: String
  /// True when a stage fell back (a store failed or ran out of time).
  public var degraded: Bool
  /// Items that matched before the cut to `count` (after filtering).
  public var totalMatches: Int
  /// Present when the request asked for debug.
  public var debug: DebugReport?
  /// Search: the facets asked for, counted over every match (not only this page).
  public var facets: [FacetResult] = []
  /// Search: the cursor of the next page, empty on the last.
  public var nextCursor = ""
  /// Search: what was done to the query (empty when searched as typed).
  public var rewrite = QueryRewrite()
}

/// What the server reports in `Admin.Status`.
public struct ServingStatus: Sendable {
  public var indexVersion: String
  public var modelVersion: String
  public var itemCount: Int
  public var userCount: Int
  public var eventCount: Int
  public var uptimeSeconds: Double
  public var featureStore: String
  public var channels: [String]
  /// Filter sub-query cache hits per level.
  public var subQueries: SubQueryResolver.Statistics
  /// Recommend and Search answers since start, and how many of them were degraded.
  public var answers = 0
  public var degradedAnswers = 0
}

/// The outcome of a Track call.
public struct TrackOutcome: Hashable, Sendable {
  public var accepted: Int
  public var duplicates: Int
  /// (index in the batch, event id, reason) of every rejected event.
  public var rejected: [Rejection]
  /// Valid events not stored because their user did not consent.
  public var withoutConsent = 0

  /// One rejected event.
  public struct Rejection: Hashable, Sendable {
    public var index: Int
    public var eventID: String
    public var reason: String
  }
}
