import Experiments
import FunnelCore
import IndexFormat
import Recall

/// A Search call as received, before validation. Field meanings follow `SearchRequest`.
public struct SearchInput: Sendable {
  public var query: String
  /// May be empty (anonymous search).
  public var userID: String
  public var sessionID: String
  public var count: Int
  public var context: [String: String]
  public var filter: String
  public var excludeItemIDs: [String]
  public var debug: Bool
  /// Facet names (`FacetRequest`); empty: no facets.
  public var facets: [String]
  /// Values per facet (0: the default).
  public var facetSize: Int
  /// `SearchSort` name; empty: relevance.
  public var sort: String
  /// A previous answer's `nextCursor`; empty: the first page.
  public var cursor: String

  /// Creates an input; every field but `query` defaults to empty.
  public init(query: String, userID: String = "", sessionID: String = "", count: Int = 0,
              context: [String: String] = [:], filter: String = "", excludeItemIDs: [String] = [], debug: Bool = false,
              facets: [String] = [], facetSize: Int = 0, sort: String = "", cursor: String = "") {
    self.query = query
    self.userID = userID
    self.sessionID = sessionID
    self.count = count
    self.context = context
    self.filter = filter
    self.excludeItemIDs = excludeItemIDs
    self.debug = debug
    self.facets = facets
    self.facetSize = facetSize
    self.sort = sort
    self.cursor = cursor
  }
}
