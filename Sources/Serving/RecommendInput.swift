import Experiments
import FunnelCore
import IndexFormat
import Recall

/// A Recommend call as received, before validation. Field meanings follow `RecommendRequest`.
public struct RecommendInput: Sendable {
  public var userID: String
  public var sessionID: String
  /// nil when the wire value is unspecified or unknown; `sceneLabel` then names it for the error.
  public var scene: Scene?
  public var sceneLabel: String
  /// 0 means the default.
  public var count: Int
  public var context: [String: String]
  public var filter: String
  public var excludeItemIDs: [String]
  public var anchorItemIDs: [String]
  public var debug: Bool

  /// Creates an input; every field defaults to empty.
  public init(userID: String, sessionID: String = "", scene: Scene?, sceneLabel: String? = nil, count: Int = 0,
              context: [String: String] = [:], filter: String = "", excludeItemIDs: [String] = [],
              anchorItemIDs: [String] = [], debug: Bool = false) {
    self.userID = userID
    self.sessionID = sessionID
    self.scene = scene
    self.sceneLabel = sceneLabel ?? scene?.rawValue ?? "unspecified"
    self.count = count
    self.context = context
    self.filter = filter
    self.excludeItemIDs = excludeItemIDs
    self.anchorItemIDs = anchorItemIDs
    self.debug = debug
  }
}
