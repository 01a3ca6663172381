import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import TextAnalysis
import Testing

/// Search that forgives: a typo is corrected, the last word completed, an exact term kept, through
/// a stemmed generation as the engine searches it.
@Suite struct QuerySpellingTests {
  static let generation: IndexGeneration = {
    let items = [
      CatalogItem(id: "A", title: "Ceramic Coffee Mug", categoryPath: ["home", "kitchen"], brand: "Kiln", price: 9),
      CatalogItem(id: "B", title: "Stoneware Teapot", categoryPath: ["home", "kitchen"], brand: "Kiln", price: 25),
      CatalogItem(id: "C", title: "Espresso Machine", categoryPath: ["home", "appliances"], brand: "Brew", price: 250),
      CatalogItem(id: "D", title: "Ceramics Glaze Kit", categoryPath: ["crafts"], brand: "Potter", price: 40),
    ]
    return try! GenerationBuilder().build(items: items, events: [], nowMs: 0, version: "spelling").open()
  }()

  static func search(_ query: String) -> (ids: [String], resolved: QuerySpelling.Resolved) {
    let g = generation
    let resolved = QuerySpelling.resolve(tokens: Tokenizer.tokens(query), analyzer: g.analyzer, index: g.text)
    let ids = TextRecall.exhaustiveTop(terms: resolved.terms, index: g.text, k: 3).map { g.items.id($0.0) }
    return (ids, resolved)
  }

  @Test func typosArecorrectedTheLastWordCompletedExactTermsKept() {
    let typo = Self.search("cermaic mugs")
    #expect(typo.ids.first == "A", "\(typo)")
    #expect(typo.resolved.corrections.map(\.match) == [.fuzzy])
    #expect(Self.search("expresso").ids == ["C"])
    let typing = Self.search("stonew")
    #expect(typing.ids == ["B"] && typing.resolved.corrections.first?.match == .prefix)
    // An exact term is never replaced, and only the last word is completed.
    let exact = Self.search("mug")
    #expect(exact.resolved.corrections.isEmpty && exact.ids == ["A"])
    #expect(Self.search("sto mug").resolved.corrections.isEmpty, "'sto' is too short to correct and not last")
    // Nothing near: the term stays and matches nothing.
    #expect(Self.search("xylophone").ids.isEmpty)
  }

  @Test func aQueryThatWouldFindNothingIsRetriedWithAWiderReach() {
    // "mgu" is too short for a correction, and nothing else matches: the rescue allows one edit.
    let short = Self.search("mgu")
    #expect(short.ids == ["A"] && short.resolved.corrections.first?.term == "mug", "\(short)")
    // While another term matches, short words are left alone (the answer is not empty).
    #expect(Self.search("mgu teapot").resolved.corrections.isEmpty)
    // "tepto" is two edits from teapot (a dropped letter, a swap) at 5 bytes: only the rescue reaches it.
    let wide = Self.search("tepto")
    #expect(wide.ids == ["B"], "\(wide)")
    // A word another index knows (an item added live) is never corrected into the generation's words.
    let g = Self.generation
    let live = QuerySpelling.resolve(tokens: ["mugz"], analyzer: g.analyzer, index: g.text, alsoKnown: { $0 == "mugz" })
    #expect(live.terms == ["mugz"] && live.corrections.isEmpty)
    #expect(QuerySpelling.resolve(tokens: ["mugz"], analyzer: g.analyzer, index: g.text).terms == ["mug"])
  }

  @Test func theWorkOfOneQueryIsBounded() {
    // Five misspelled words: only the first three are looked up by edit distance.
    let many = Self.search("cermaic expreso stonwear teapto machne")
    #expect(many.resolved.corrections.count <= QuerySpelling.maxCorrections, "\(many.resolved.corrections)")
    #expect(many.resolved.corrections.allSatisfy { ["cermaic", "expreso", "stonwear"].contains($0.typed) }, "\(many.resolved.corrections)")
    // A walk stops at its budget of rows, with what it found so far.
    let lookup = TermLookup(Self.generation.text.terms)
    #expect(lookup.within("cermaic", maxEdits: 2, droppableSuffix: 3, budget: 1).isEmpty)
    #expect(!lookup.within("cermaic", maxEdits: 2, droppableSuffix: 3).isEmpty)
    #expect(lookup.within(String(repeating: "a", count: TermLookup.maxBytes + 1), maxEdits: 2).isEmpty, "over-long words are not walked")
  }
}
