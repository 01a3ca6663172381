import Bitmaps
import DemoCatalog
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
@testable import Search
import Testing
import TextAnalysis

/// Property test: facet counts over the matches of random queries and filters equal brute-force
/// counts over the stored catalog (the items' own fields, not the index).
@Suite struct FacetCounterTests {
  static let now: Int64 = 1_790_000_000_000
  static let store = DemoStore(.small(endTimeMs: now))
  static let generation = try! GenerationBuilder().build(items: store.items, events: store.events, nowMs: now,
                                                         version: "facets").open()
  /// Each item's analysed search text, as the builder indexed it.
  static let itemTerms: [Set<String>] = store.items.map {
    Set(generation.analyzer.terms(generation.searchFields.text($0)))
  }

  /// The matches of `query` with `filter`, in stock, as a search would count them.
  static func matches(_ query: QueryMatch, filter: CompiledFilter?) -> RoaringBitmap {
    var docs: [UInt32] = []
    query.documents.forEach { doc in
      let d = DocID(rawValue: doc)
      if generation.items.inStock(d), filter?.matches(d) ?? true { docs.append(doc) }
    }
    return RoaringBitmap(docs)
  }

  @Test func countsEqualBruteForceOver200RandomQueriesAndFilters() throws {
    var rng = SplitMix64(seed: 30)
    let counter = FacetCounter(columns: FacetColumnCache())
    let facets = try FacetRequest.parse(["brand", "category", "tag", "price", "attr.colour", "attr.rating:2,3,4", "price:bands"])
    let items = Self.store.items
    var nonEmpty = 0
    for round in 0..<200 {
      // One to three words from a random item's title (so most queries match something).
      let words = items[Int(rng.next() % UInt64(items.count))].title.split(separator: " ").map(String.init)
      let picked = (0..<(1 + Int(rng.next() % 3))).map { _ in words[Int(rng.next() % UInt64(words.count))] }
      let terms = Self.generation.analyzer.terms(picked.joined(separator: " "))
      let query = QueryMatch(groups: terms.map { [$0] }, index: Self.generation.text)
      let filterText = round % 3 == 0 ? "" : Self.randomFilter(&rng)
      let filter = try filterText.isEmpty ? nil
        : CompiledFilter(try #require(try FilterParser.parse(filterText)), generation: Self.generation)
      let matches = Self.matches(query, filter: filter)
      if matches.count > 0 { nonEmpty += 1 }
      let results = try counter.count(facets, over: matches, in: Self.generation, size: 1_000)
      let docs = matches.values.map { Int($0) }

      // Brute force: every match's own fields.
      for doc in docs {
        let kept = terms.enumerated().filter { !query.dropped.contains($0.offset) }.map(\.element)
        #expect(kept.allSatisfy { Self.itemTerms[doc].contains($0) }, "doc \(doc) lacks a kept word of \(terms)")
      }
      func tally(_ values: (CatalogItem) -> [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for doc in docs { for v in Set(values(items[doc])) { counts[v, default: 0] += 1 } }
        return counts
      }
      func counted(_ name: String) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: results.first { $0.name == name }!.values.map { ($0.value.lowercased(), $0.count) })
      }
      #expect(counted("brand") == tally { [$0.brand.lowercased()] }, "brand counts for \(picked) \(filterText)")
      #expect(counted("tag") == tally { $0.tags.map { $0.lowercased() } })
      #expect(counted("attr.colour") == tally { $0.attributes["colour"].map { [$0.keyword] } ?? [] })
      #expect(counted("category") == tally { IndexGeneration.categoryPrefixes($0.categoryPath).map { $0 } }
                .reduce(into: [:]) { $0[$1.key.lowercased(), default: 0] += $1.value },
              "category counts for \(picked) \(filterText)")
      for name in ["attr.rating:2,3,4", "price", "price:bands"] {
        let bands = results.first { $0.name == name }!.values
        for band in bands {
          let expected = docs.filter { doc in
            let x = name.hasPrefix("attr") ? items[doc].attributes["rating"]?.number ?? .nan : items[doc].price
            return !x.isNaN && (band.low.map { x >= $0 } ?? true) && (band.high.map { x < $0 } ?? true)
          }.count
          #expect(band.count == expected, "\(name) band \(band.value) for \(picked) \(filterText)")
        }
        // The bands cover every match that has a value.
        let valued = docs.filter { doc in !(name.hasPrefix("attr") ? items[doc].attributes["rating"]?.number ?? .nan : items[doc].price).isNaN }
        if !bands.isEmpty { #expect(bands.map(\.count).reduce(0, +) == valued.count) }
      }
    }
    #expect(nonEmpty > 100, "most random queries match something")
  }

  @Test func categoryNodesNameTheirParents() throws {
    let all = RoaringBitmap(range: 0..<UInt32(Self.generation.items.count))
    let result = try FacetCounter(columns: FacetColumnCache()).count(try FacetRequest.parse(["category"]), over: all,
                                                                    in: Self.generation, size: 100)[0]
    let byPath = Dictionary(uniqueKeysWithValues: result.values.map { ($0.value, $0) })
    for value in result.values where !value.parent.isEmpty {
      let parent = try #require(byPath[value.parent], "\(value.value)'s parent \(value.parent) is listed")
      #expect(parent.count >= value.count)
      #expect(value.value.hasPrefix(value.parent + "/"))
    }
    #expect(result.values.filter { $0.parent.isEmpty }.map(\.count).reduce(0, +) == Self.generation.items.count)
  }

  @Test func bandsRoundAndCover() {
    #expect(FacetCounter.round(7.3) == 5)
    #expect(FacetCounter.round(23) == 20)
    #expect(FacetCounter.round(0.27) == 0.25)
    #expect(FacetCounter.round(1000) == 1000)
    #expect(FacetCounter.band(5, [10, 20]) == 0)
    #expect(FacetCounter.band(10, [10, 20]) == 1)
    #expect(FacetCounter.band(25, [10, 20]) == 2)
  }

  /// A random filter over values the demo catalog has (and a price range).
  static func randomFilter(_ rng: inout SplitMix64) -> String {
    let items = FacetCounterTests.store.items
    let item = items[Int(rng.next() % UInt64(items.count))]
    switch rng.next() % 5 {
    case 0: return "category:\(item.categoryPath[0])"
    case 1: return "brand:\"\(item.brand)\""
    case 2: return "price:[\(Int(rng.unit() * 20)) TO \(20 + Int(rng.unit() * 80))]"
    case 3: return "NOT category:\(item.categoryPath[0])"
    default: return "attr.rating:>=\(1 + Int(rng.next() % 4))"
    }
  }
}
