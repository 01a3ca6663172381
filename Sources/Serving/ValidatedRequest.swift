import Experiments
import FunnelCore
import IndexFormat
import Recall

/// A request that passed validation: what the pipeline runs on.
public struct ValidatedRequest: Sendable {
  public var scene: Scene
  public var userID: UserID
  public var sessionID: String
  public var count: Int
  public var context: [String: String]
  public var filter: FilterExpression?
  public var excluded: Set<ItemID>
  public var anchors: [ItemID]
  /// Tokenised query (search only).
  public var queryTerms: [String]
  public var query: String
  public var debug: Bool
  /// Boosts and pins from the context.
  public var rules = BusinessRules()
  /// The experiment arm serving the request (set by the engine), nil outside experiments.
  public var assignment: ExperimentPlan.Assignment?
}
