import FunnelCore

/// The item fields a filter may name: the fixed catalog fields and `attr.NAME` for a catalog attribute.
public enum FilterField: Hashable, Sendable {
  case category, brand, tag, price, id, inStock
  /// `attr.NAME`: terms match the attribute's keyword (text lower-cased, numbers in canonical form),
  /// ranges its numeric value.
  case attribute(String)

  /// The fixed fields, in the order error messages list them.
  public static let fixed: [FilterField] = [.category, .brand, .tag, .price, .id, .inStock]

  /// The field called `name` (`category`, ..., `in_stock`, `attr.NAME`), or nil.
  public init?(name: String) {
    if name.hasPrefix("attr.") {
      let attribute = String(name.dropFirst(5)).lowercased()  // as the catalog folds them
      guard AttributeValue.isValidName(attribute) else { return nil }
      self = .attribute(attribute)
      return
    }
    guard let field = Self.fixed.first(where: { $0.name == name }) else { return nil }
    self = field
  }

  /// The field's name as written in filters and keyword keys.
  public var name: String {
    switch self {
    case .category: "category"
    case .brand: "brand"
    case .tag: "tag"
    case .price: "price"
    case .id: "id"
    case .inStock: "in_stock"
    case .attribute(let attribute): "attr." + attribute
    }
  }

  /// Whether only ranges and comparisons apply (a bare number means `[x TO x]`).
  public var isNumeric: Bool { self == .price }

  /// Whether ranges apply: `price` and any attribute.
  public var acceptsRanges: Bool {
    if case .attribute = self { return true }
    return self == .price
  }
}
