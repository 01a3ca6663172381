import Recall
import Search

/// Disjunctive faceting: a facet is counted under the request's filter without the filter's own
/// clauses on the facet's field, so a shopper who picked one brand still sees the other brands'
/// counts (as shop search engines show them). Only top-level AND clauses that name the facet's
/// field alone are left out; anything else (an OR across fields, a NOT mixing fields) stays. Pure.
public enum FacetFilter {
  /// The filter field a facet counts (`brand`, `category`, `price`, `attr.NAME`).
  public static func field(of facet: FacetRequest) -> String {
    switch facet.kind {
    case .values(let field): field
    case .categories: "category"
    case .bands(let attribute, _): attribute.map { "attr." + $0 } ?? "price"
    }
  }

  /// `filter` without its top-level AND clauses on `field` alone; nil when nothing is left. Returns
  /// `filter` itself when it has no such clause.
  public static func without(_ field: String, in filter: FilterExpression) -> FilterExpression? {
    let clauses = conjuncts(filter)
    let kept = clauses.filter { soleField($0) != field }
    guard kept.count != clauses.count else { return filter }
    return kept.dropFirst().reduce(kept.first) { joined, clause in joined.map { .and($0, clause) } }
  }

  /// Whether `filter` has a top-level AND clause on `field` alone.
  public static func restricts(_ field: String, in filter: FilterExpression) -> Bool {
    conjuncts(filter).contains { soleField($0) == field }
  }

  static func conjuncts(_ e: FilterExpression) -> [FilterExpression] {
    if case .and(let a, let b) = e { return conjuncts(a) + conjuncts(b) }
    return [e]
  }

  /// The one field every clause of `e` names, or nil when it names several.
  static func soleField(_ e: FilterExpression) -> String? {
    switch e {
    case .term(let field, _), .range(let field, _, _, _, _): return field.name
    case .not(let a): return soleField(a)
    case .and(let a, let b), .or(let a, let b):
      guard let x = soleField(a), x == soleField(b) else { return nil }
      return x
    }
  }
}
