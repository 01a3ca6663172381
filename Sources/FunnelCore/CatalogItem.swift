/// An item of the catalog as the index builder and the embedded stores see it.
public struct CatalogItem: Hashable, Sendable {
  public var id: ItemID
  public var title: String
  /// Category path from the root, e.g. `["home", "kitchen", "mugs"]`; never empty.
  public var categoryPath: [String]
  public var brand: String
  /// Price in the store's currency (>= 0).
  public var price: Double
  public var tags: [String]
  public var inStock: Bool
  /// Item embedding (same dimension across a catalog), or empty.
  public var embedding: [Float]
  /// Free-form attributes by name (see `AttributeValue.isValidName`): keywords and numeric columns for filters.
  public var attributes: [String: AttributeValue]

  /// Creates an item; see the field comments for units.
  public init(id: ItemID, title: String, categoryPath: [String], brand: String, price: Double,
              tags: [String] = [], inStock: Bool = true, embedding: [Float] = [], attributes: [String: AttributeValue] = [:]) {
    self.id = id
    self.title = title
    self.categoryPath = categoryPath
    self.brand = brand
    self.price = price
    self.tags = tags
    self.inStock = inStock
    self.embedding = embedding
    self.attributes = attributes
  }

  /// The category path joined with `/`, e.g. `home/kitchen/mugs`.
  public var category: String { categoryPath.joined(separator: "/") }

  /// The deepest category, e.g. `mugs`.
  public var leafCategory: String { categoryPath.last ?? "" }
}
