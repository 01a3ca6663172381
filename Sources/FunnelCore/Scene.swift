/// Where an answer is shown. It selects recall channels and their quotas.
public enum Scene: String, CaseIterable, Hashable, Sendable {
  /// The home page: personal, broad.
  case home
  /// A product page: similar and complementary to the anchor item.
  case itemPage = "item_page"
  /// The cart: complements to what is in it.
  case cart
  /// Search results: the query drives recall.
  case search
  /// Email campaigns (batch): personal, no session.
  case email
}
