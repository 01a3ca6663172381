import FunnelCore
import Recall
import Testing

@Suite struct FilterExpressionTests {
  static let mug = CatalogItem(id: "SKU-1", title: "Mug", categoryPath: ["kitchen", "tableware", "mugs"],
                               brand: "Chef Line", price: 12.5, tags: ["ceramic", "white"], inStock: true,
                               attributes: ["colour": .text("White"), "capacity_ml": .number(350), "rating": .number(4.5)])

  @Test(arguments: [
    ("category:kitchen", true),
    ("category:mugs", true),
    ("category:kitchen/tableware", true),
    ("category:kitchen/table", false),
    ("category:garden", false),
    ("brand:\"chef line\"", true),
    ("brand:\"Chef Line\" AND tag:ceramic", true),
    ("tag:ceramic tag:black", false),
    ("tag:ceramic OR tag:black", true),
    ("NOT category:garden", true),
    ("-category:kitchen", false),
    ("price:[10 TO 20]", true),
    ("price:[* TO 12.5]", true),
    ("price:[13 TO *]", false),
    ("price:[10 TO 12.5}", false),
    ("price:{12.5 TO 20]", false),
    ("price:{12 TO 13}", true),
    ("price:>12.5", false),
    ("price:>=12.5", true),
    ("price:<20 AND in_stock:true", true),
    ("price:12.5", true),
    ("id:SKU-1", true),
    ("id:sku-1", false),
    ("(category:garden OR brand:\"chef line\") AND NOT tag:black", true),
    ("in_stock:false", false),
    ("attr.colour:white", true),
    ("attr.Colour:White", true),
    ("attr.colour:\"WHITE\"", true),
    ("attr.colour:black", false),
    ("attr.capacity_ml:350", true),
    ("attr.capacity_ml:350.0", true),
    ("attr.capacity_ml:[300 TO 400]", true),
    ("attr.rating:>=4.5", true),
    ("attr.rating:{4.5 TO *]", false),
    ("attr.colour:[1 TO 9]", false),
    ("attr.missing:x", false),
    ("NOT attr.missing:[* TO *]", true),
  ])
  func evaluates(expression: String, expected: Bool) throws {
    let parsed = try #require(try FilterParser.parse(expression))
    #expect(parsed.matches(Self.mug) == expected, "\(expression)")
  }

  @Test(arguments: ["", "   "])
  func blankIsNoFilter(expression: String) throws {
    #expect(try FilterParser.parse(expression) == nil)
  }

  /// Malformed expressions name the filter field and the byte offset of the problem.
  @Test(arguments: [
    ("category:", "offset 9"),
    ("price:[10 TO", "offset 12"),
    ("price:[1 TO 2)", "expected ']' or '}'"),
    ("(brand:x", "missing ')'"),
    ("colour:red", "unknown field 'colour'"),
    ("attr.col-our:red", "unknown field 'attr.col-our'"),
    ("attr.:red", "unknown field 'attr.'"),
    ("AND brand:x", "offset 0"),
    ("price:[50 TO 10]", "empty range"),
    ("in_stock:maybe", "true or false"),
    ("brand:\"open", "unterminated"),
    ("price:abc", "not a number"),
    ("brand:[1 TO 2]", "not numeric"),
    ("category:x )", "unexpected ')'"),
    ("brand=x", "unexpected '='"),
    (String(repeating: "(", count: 40) + "brand:x" + String(repeating: ")", count: 40), "nested deeper"),
    (String(repeating: "brand:x ", count: 300), "longer than 2048"),
  ])
  func reportsErrorsWithPosition(expression: String, expected: String) {
    let error = #expect(throws: FunnelError.self) { try FilterParser.parse(expression) }
    #expect(error?.kind == .invalidArgument)
    #expect(error?.message.hasPrefix("filter:") == true)
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
  }
}
