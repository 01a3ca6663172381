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

  /// Creates an input; every field but `query` defaults to empty.
  public init(query: String, userID: String = "", sessionID: String = "", count: Int = 0,
              context: [String: String] = [:], filter: String = "", excludeItemIDs: [String] = [], debug: Bool = false) {
    self.query = query
    self.userID = userID
    self.sessionID = sessionID
    self.count = count
    self.context = context
    self.filter = filter
    self.excludeItemIDs = excludeItemIDs
    self.debug = debug
  }
}
