import Bitmaps
import FunnelCore
import IndexBuilder
import IndexFormat
@testable import Search
import Testing

@Suite struct QueryMatchTests {
  static func item(_ id: String, _ title: String) -> CatalogItem {
    CatalogItem(id: id, title: title, categoryPath: ["home"], brand: "", price: 10)
  }
  static let generation = try! GenerationBuilder().build(
    items: [item("a", "red ceramic mug"), item("b", "blue ceramic mug"), item("c", "red glass vase"),
            item("d", "red sofa"), item("e", "green couch")],
    events: [], nowMs: 0, version: "match").open()

  func match(_ groups: [[String]]) -> (docs: [String], dropped: [Int]) {
    let m = QueryMatch(groups: groups, index: Self.generation.text)
    return (m.documents.values.map { Self.generation.items.id(DocID(rawValue: $0)) }, m.dropped)
  }

  @Test func everyWordMustMatch() {
    #expect(match([["red"], ["mug"]]).docs == ["a"])
    #expect(match([["ceram"], ["mug"]]).docs == ["a", "b"])
    #expect(match([["red"]]).docs == ["a", "c", "d"])
  }

  @Test func alternativesOfAWordAreEitherOr() {
    #expect(match([["sofa", "couch"]]).docs == ["d", "e"])
    #expect(match([["green"], ["sofa", "couch"]]).docs == ["e"])
  }

  @Test func theRarestWordIsDroppedUntilSomethingMatches() {
    // "vase" (one doc) and "mug" (two) have nothing in common: the rarer goes.
    let relaxed = match([["vase"], ["mug"], ["red"]])
    #expect(relaxed.dropped == [0])
    #expect(relaxed.docs == ["a"])
    // A word no document has goes first.
    #expect(match([["zzz"], ["sofa"]]) == (["d"], [0]))
    #expect(match([["zzz"]]).docs.isEmpty)
    #expect(match([]).docs.isEmpty)
  }
}

@Suite struct SearchSortAndCursorTests {
  @Test func sortsParseAndNameBadOnes() throws {
    #expect(try SearchSort(parsing: "") == .relevance)
    #expect(try SearchSort(parsing: "price_desc") == .price(ascending: false))
    #expect(try SearchSort(parsing: "attr.rating:asc") == .attribute("rating", ascending: true))
    for bad in ["cheapest", "attr.Rating:asc", "attr.rating", "attr.:desc", "price"] {
      // The error is required, so a sort that parses fails the test instead of skipping the message check.
      let error = #expect(throws: FunnelError.self) { try SearchSort(parsing: bad) }
      #expect(error?.message.contains("sort") == true)
    }
  }

  @Test func facetNamesParseAndNameBadOnes() throws {
    let parsed = try FacetRequest.parse(["brand", "category", "price", "price:0,10,50", "attr.colour", "attr.size:bands"])
    #expect(parsed.map(\.kind) == [.values(field: "brand"), .categories, .bands(attribute: nil, edges: nil),
                                   .bands(attribute: nil, edges: [0, 10, 50]), .values(field: "attr.colour"),
                                   .bands(attribute: "size", edges: nil)])
    for bad in [["colour"], ["price:10,5"], ["price:1,x"], ["brand:1,2"], ["brand", "brand"], ["price:nan"], ["price:inf"],
                Array(repeating: "tag", count: 9)] {
      #expect(throws: FunnelError.self) { try FacetRequest.parse(bad) }
    }
    let error = #expect(throws: FunnelError.self) { try FacetRequest.parse(["brand", "colour"]) }
    #expect(error?.message.contains("facets[1]") == true && error?.message.contains("colour") == true)
  }

  @Test func cursorsRoundTripAndRefuseOtherSearches() throws {
    let f = SearchCursor.fingerprint(query: "mug", filter: "", sort: .price(ascending: true))
    let cursor = SearchCursor(fingerprint: f, offset: 20, key: 12.5, doc: 99)
    let back = try SearchCursor(decoding: cursor.encoded, fingerprint: f)
    #expect(back == cursor)
    #expect(!cursor.encoded.contains("=") && !cursor.encoded.contains("+") && !cursor.encoded.contains("/"))
    let other = SearchCursor.fingerprint(query: "mugs", filter: "", sort: .price(ascending: true))
    #expect(throws: FunnelError.self) { try SearchCursor(decoding: cursor.encoded, fingerprint: other) }
    for junk in ["", "abc", String(repeating: "A", count: 51), String(repeating: "x", count: 500), "!!!!"] {
      #expect(throws: FunnelError.self) { try SearchCursor(decoding: junk, fingerprint: f) }
    }
  }

  @Test func sortedPagesWalkTheWholeOrderWithoutRepeats() {
    var rng = SplitMix64(seed: 3)
    let docs = (0..<500).filter { _ in rng.unit() < 0.6 }.map(UInt32.init)
    let keys = (0..<500).map { _ in Double(rng.next() % 40) }  // many ties
    let bitmap = RoaringBitmap(docs)
    let expected = docs.sorted { keys[Int($0)] != keys[Int($1)] ? keys[Int($0)] < keys[Int($1)] : $0 < $1 }
    var seen: [UInt32] = []
    var after: (key: Double, doc: UInt32)?
    while true {
      let page = SortedPage.page(bitmap, key: { keys[Int($0)] }, after: after, count: 7)
      if page.isEmpty { break }
      seen += page.map(\.doc)
      after = (page.last!.key, page.last!.doc)
    }
    #expect(seen == expected)
  }
}
