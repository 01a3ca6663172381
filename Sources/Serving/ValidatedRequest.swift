import Experiments
import FunnelCore
import IndexFormat
import Recall
import Search

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
  /// Facets, order and page of a search (nil for Recommend).
  public var search: SearchOptions?
  /// Boosts and pins from the context.
  public var rules = BusinessRules()
  /// The experiment arm serving the request (set by the engine), nil outside experiments.
  public var assignment: ExperimentPlan.Assignment?
}

/// What a search asks for besides its query: facets, order and page.
public struct SearchOptions: Sendable {
  public var facets: [FacetRequest] = []
  /// Values per facet.
  public var facetSize = FacetRequest.defaultSize
  public var sort: SearchSort = .relevance
  /// The page the client continues from (nil: the first).
  public var cursor: SearchCursor?
  /// Fingerprint of query, filter and sort, for the next page's cursor.
  public var fingerprint: UInt64 = 0
  /// Items of earlier pages (relevance pages skip them; keyed pages start after the cursor).
  public var offset: Int { cursor?.offset ?? 0 }
}
