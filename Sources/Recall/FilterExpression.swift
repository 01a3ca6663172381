import FunnelCore

/// A parsed rule expression (the `filter` field of requests): boolean combinations of field clauses.
/// Grammar and fields are documented in `recommender.proto` (FILTER SYNTAX).
public indirect enum FilterExpression: Hashable, Sendable {
  case and(FilterExpression, FilterExpression)
  case or(FilterExpression, FilterExpression)
  case not(FilterExpression)
  /// `field:value`; for `category` the value matches any level of the path.
  case term(field: FilterField, value: String)
  /// `field:[low TO high]` or `field:>=x` style; nil bounds are open; inclusivity per side.
  case range(field: FilterField, low: Double?, lowInclusive: Bool, high: Double?, highInclusive: Bool)

  /// Longest accepted expression, in UTF-8 bytes.
  public static let maxBytes = 2_048
  /// Deepest accepted nesting of parentheses and NOTs (bounds recursion on hostile input).
  public static let maxDepth = 32
}
