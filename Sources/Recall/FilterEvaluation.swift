import FunnelCore

extension FilterExpression {
  /// Whether `item` satisfies the expression: the reference semantics, evaluated on stored fields.
  /// Term values were lower-cased by the parser (ids excepted); item fields are compared
  /// case-insensitively. O(expression size * item tags). Serving uses `CompiledFilter`, which must agree.
  public func matches(_ item: CatalogItem) -> Bool {
    switch self {
    case .and(let a, let b): return a.matches(item) && b.matches(item)
    case .or(let a, let b): return a.matches(item) || b.matches(item)
    case .not(let a): return !a.matches(item)
    case .term(let field, let value):
      switch field {
      case .category:
        // A single name matches any level; a path matches a prefix of the item's path.
        if value.contains("/") { return (item.category.lowercased() + "/").hasPrefix(value + "/") }
        return item.categoryPath.contains { $0.lowercased() == value }
      case .brand: return item.brand.lowercased() == value
      case .tag: return item.tags.contains { $0.lowercased() == value }
      case .id: return item.id == value
      case .inStock: return item.inStock == (value == "true")
      case .price: return false  // numeric fields parse to ranges
      case .attribute(let name): return item.attributes[name]?.keyword == value
      }
    case .range(let field, let low, let lowInclusive, let high, let highInclusive):
      let x: Double
      switch field {
      case .price: x = item.price
      case .attribute(let name):
        guard let number = item.attributes[name]?.number else { return false }
        x = number
      default: return false
      }
      if let low, lowInclusive ? x < low : x <= low { return false }
      if let high, highInclusive ? x > high : x >= high { return false }
      return true
    }
  }
}
