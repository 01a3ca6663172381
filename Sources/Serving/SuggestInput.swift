/// A Suggest call as received, before validation. Field meanings follow `SuggestRequest`.
public struct SuggestInput: Sendable {
  /// What the shopper has typed so far.
  public var prefix: String
  /// May be empty (anonymous: no personalisation).
  public var userID: String
  public var sessionID: String
  /// Suggestions wanted (0: the default).
  public var count: Int

  /// Creates an input; every field but `prefix` defaults to empty.
  public init(prefix: String, userID: String = "", sessionID: String = "", count: Int = 0) {
    self.prefix = prefix
    self.userID = userID
    self.sessionID = sessionID
    self.count = count
  }
}

/// One completion of a typed prefix.
public struct Suggestion: Hashable, Sendable {
  /// The completed text (folded, as typed: lower case, no accents).
  public var text: String
  public var kind: Kind
  /// Where a suggestion comes from (the raw values are the wire's).
  public enum Kind: String, Hashable, Sendable {
    /// What shoppers searched for and found.
    case query
    /// A phrase of the catalog's titles and brands.
    case catalog
  }
  /// A catalog phrase's category (the leaf most of its items are in); empty for queries.
  public var category: String
  /// Higher is better; comparable within one answer.
  public var score: Double
}

/// The answer to a Suggest call.
public struct SuggestAnswer: Sendable {
  public var suggestions: [Suggestion]
  public var indexVersion: String
  /// The user's categories could not be read in time (suggestions are not personalised).
  public var degraded: Bool
}
