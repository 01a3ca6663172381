import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import TextAnalysis
import Testing

/// Synonyms in Solr's format, analysed like the text, expanding queries; built into a generation.
@Suite struct SynonymMapTests {
  static let file = """
    # furniture
    sofa, couch, settee
    tee shirt, t-shirt
    jumper => sweater, pullover

    """

  @Test func equivalencesOneWayRulesAndPhrasesExpandQueries() throws {
    let map = try SynonymMap(parsing: Self.file, analyzer: .english)
    let e = TextAnalyzer.english
    #expect(Set(map.expand(e.terms("couches"))) == Set(e.terms("couch sofa settee")), "stemmed on both sides")
    #expect(Set(map.expand(e.terms("jumper"))) == Set(e.terms("jumper sweater pullover")))
    #expect(map.expand(e.terms("sweater")) == e.terms("sweater"), "one-way rules do not go back")
    #expect(Set(map.expand(e.terms("red tee shirt"))) == Set(e.terms("red tee shirt t shirt")), "a phrase on the left")
    #expect(map.expand(e.terms("lamp")) == e.terms("lamp"))
    for bad in ["sofa", "a => b => c", " => sweater", "x, " + Array(repeating: "w", count: 9).joined(separator: " ")] {
      #expect(throws: TextAnalysisError.self, "\(bad)") { try SynonymMap(parsing: bad, analyzer: .english) }
    }
    #expect(throws: TextAnalysisError.self) { try SynonymMap(parsing: "ok, fine\nsofa", analyzer: .english) }
  }

  @Test func aGenerationCarriesItsSynonymsToSearch() throws {
    var options = GenerationBuilder.Options()
    options.synonyms = Self.file
    let items = [
      CatalogItem(id: "S", title: "Velvet Sofa", categoryPath: ["home", "furniture"], brand: "Loft", price: 500),
      CatalogItem(id: "J", title: "Wool Sweater", categoryPath: ["fashion", "knitwear"], brand: "Knit", price: 60),
    ]
    let generation = try GenerationBuilder(options: options).build(items: items, events: [], nowMs: 0, version: "syn").open()
    #expect(generation.synonyms.count > 0)
    func search(_ q: String) -> [String] {
      let terms = QuerySpelling.resolve(tokens: Tokenizer.tokens(q), analyzer: generation.analyzer, index: generation.text,
                                        synonyms: generation.synonyms).terms
      return TextRecall.exhaustiveTop(terms: terms, index: generation.text, k: 2).map { generation.items.id($0.0) }
    }
    #expect(search("couch") == ["S"])
    #expect(search("jumper") == ["J"])
    #expect(search("velvet settee") == ["S"])
    let plain = GenerationBuilder().build(items: items, events: [], nowMs: 0, version: "plain").open
    #expect(try plain().synonyms.count == 0)
  }
}
