/// What a search did to its query before answering, so a shop can say "showing results for ...":
/// words completed or corrected, words left out because nothing had them all, and the categories
/// the query is taken to be about (boosted). Empty when the query was searched as typed.
public struct QueryRewrite: Hashable, Sendable {
  /// A word searched as another.
  public struct Correction: Hashable, Sendable {
    /// What was typed (folded: lower case, accents removed).
    public var typed: String
    /// The dictionary term searched instead (analysed: it may be a stem).
    public var replacement: String
    public var kind: Kind

    /// How a word was replaced (the raw values are the wire's).
    public enum Kind: String, Hashable, Sendable {
      /// A half-typed last word completed.
      case completed
      /// A typo corrected.
      case corrected
    }

    /// A correction.
    public init(typed: String, replacement: String, kind: Kind) {
      self.typed = typed
      self.replacement = replacement
      self.kind = kind
    }
  }

  public var corrections: [Correction] = []
  /// Words (as typed, folded) left out so that something matches, rarest first.
  public var dropped: [String] = []
  /// Category paths the query is most likely about, most likely first; their items were boosted.
  public var categories: [String] = []

  /// Nothing rewritten.
  public init(corrections: [Correction] = [], dropped: [String] = [], categories: [String] = []) {
    self.corrections = corrections
    self.dropped = dropped
    self.categories = categories
  }

  /// Whether the query was searched as typed, with no category predicted.
  public var isEmpty: Bool { corrections.isEmpty && dropped.isEmpty && categories.isEmpty }
}
