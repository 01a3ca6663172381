import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import Testing

@Suite struct SearchFieldsTests {
  static func item(_ id: String, title: String, brand: String = "", tags: [String] = [],
                   attributes: [String: AttributeValue] = [:]) -> CatalogItem {
    CatalogItem(id: id, title: title, categoryPath: ["home"], brand: brand, price: 10, tags: tags, attributes: attributes)
  }

  static func top(_ query: String, fields: SearchFields, items: [CatalogItem]) throws -> [String] {
    var options = GenerationBuilder.Options()
    options.searchFields = fields
    let g = try GenerationBuilder(options: options).build(items: items, events: [], nowMs: 0, version: "fields").open()
    #expect(g.searchFields == fields, "the manifest records the weights")
    return TextRecall.exhaustiveTop(terms: g.analyzer.terms(query), index: g.text, k: 10).map { g.items.id($0.0) }
  }

  @Test func aHeavierFieldRanksItsItemFirst() throws {
    // Same length, one has the word in its title, the other in its brand.
    let items = [Self.item("brand", title: "oak table lamp", brand: "Linen"), Self.item("title", title: "linen table lamp", brand: "Oak")]
    #expect(try Self.top("linen", fields: SearchFields(parsing: "title=3,brand=1"), items: items).first == "title")
    #expect(try Self.top("linen", fields: SearchFields(parsing: "title=1,brand=3"), items: items).first == "brand")
  }

  @Test func aFieldOfWeightZeroIsNotSearchedAndAttributesMayBe() throws {
    let items = [Self.item("a", title: "lamp", tags: ["vintage"], attributes: ["colour": .text("Teal")])]
    #expect(try Self.top("vintage", fields: SearchFields(parsing: "tags=0"), items: items).isEmpty)
    #expect(try Self.top("teal", fields: .standard, items: items).isEmpty, "attributes are off by default")
    #expect(try Self.top("teal", fields: SearchFields(parsing: "attributes=1"), items: items) == ["a"])
  }

  @Test func weightsParseAndBadOnesAreNamed() throws {
    #expect(try SearchFields(parsing: "title=3, brand = 2") == SearchFields(title: 3, brand: 2, category: 1, tags: 1, attributes: 0))
    #expect(try SearchFields(parsing: SearchFields.standard.description) == .standard)
    for bad in ["title", "title=11", "colour=1", "title=-1", "title=0,brand=0,category=0,tags=0"] {
      #expect(throws: FunnelError.self) { try SearchFields(parsing: bad) }
    }
  }
}
