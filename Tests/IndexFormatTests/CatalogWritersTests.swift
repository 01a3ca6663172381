import Bitmaps
import FunnelCore
import IndexFormat
import MappedStorage
import TextAnalysis
import Testing

/// The text, suggestion and keyword writers analyse each distinct token, brand, tag and attribute
/// once and reuse the result. Their files must hold exactly what the plain definitions give when
/// everything is analysed afresh per item: the references here are those definitions, written out.
@Suite struct CatalogWritersTests {
  /// Documents as weighted fields: stop words only (kept then), cases, diacritics, a zero weight,
  /// a token seen first as a stop word then in a text of stop words only.
  static let documents: [[(text: String, weight: UInt32)]] = [
    [("The Who", 2), ("Ceramic MUGS", 1)],
    [("To be or not to be", 1), ("the mug", 3)],
    [("mugs and the be", 1)],
    [("be", 2)],
    [("Café crème CAFE", 1), ("", 1), ("Fieldcraft", 0)],
    [("Häuser ÉCOLE école", 1), ("running RUNS ran", 2)],
    [],
  ]

  @Test(arguments: [TextAnalyzer.english, .plain])
  func textIndexHoldsWhatTheAnalyzerGivesPerText(_ analyzer: TextAnalyzer) throws {
    var writer = TextIndex.Writer(analyzer: analyzer)
    for fields in Self.documents { writer.add(fields: fields) }
    let (file, termCount) = writer.finish()
    let index = try TextIndex(ByteRegion(copying: try file.contents(), name: "text.fnl"), documentCount: Self.documents.count,
                              verifyChecksum: true)
    var expected: [String: [UInt32: UInt32]] = [:]
    for (d, fields) in Self.documents.enumerated() {
      var length = 0
      for (text, weight) in fields where weight > 0 {
        let terms = analyzer.terms(text)
        length += terms.count * Int(weight)
        for t in terms { expected[t, default: [:]][UInt32(d), default: 0] += weight }
      }
      #expect(Int(index.documentLengths[d]) == length, "document \(d)")
    }
    var found: [String: [UInt32: UInt32]] = [:]
    for id in 0..<index.terms.count {
      index.forEachPosting(id) { doc, tf in found[index.terms[id], default: [:]][doc.rawValue] = tf }
    }
    #expect(found == expected)
    #expect(termCount == expected.count)
    if analyzer == .english {
      #expect(found["be"]?.keys.sorted() == [1, 3], "stop words count only in texts of stop words only")
    }
  }

  /// The suggestions of `items` as first defined: phrase text made per item, tallied by text.
  static func referenceSuggestions(_ items: [(title: String, brand: String, leaf: UInt32)],
                                   analyzer: TextAnalyzer) -> [String: (items: Float, leaf: UInt32)] {
    var tallies: [String: (items: Float, leaf: UInt32, votes: Int)] = [:]
    for item in items {
      let words = analyzer.words(item.title).filter { $0.utf8.count >= 2 && $0.utf8.count <= 40 }
      var phrases: [String] = []
      func note(_ phrase: String) { if !phrases.contains(phrase) { phrases.append(phrase) } }
      for word in words { note(word) }
      for i in words.indices.dropLast() { note(words[i] + " " + words[i + 1]) }
      let brandWords = analyzer.words(item.brand)
      if !brandWords.isEmpty, brandWords.count <= 4 { note(brandWords.joined(separator: " ")) }
      for phrase in phrases {
        var t = tallies[phrase] ?? (0, 0, 0)
        t.items += 1
        if t.votes == 0 {
          (t.leaf, t.votes) = (item.leaf, 1)
        } else {
          t.votes += t.leaf == item.leaf ? 1 : -1
        }
        tallies[phrase] = t
      }
    }
    return tallies.filter { $0.value.items >= 2 || !$0.key.contains(" ") }.mapValues { ($0.items, $0.leaf) }
  }

  static let suggestionItems: [(title: String, brand: String, leaf: UInt32)] = [
    ("Kiln Street table lamp", "Kiln Street", 1),  // the brand is a title pair: counted once
    ("Kiln Street floor lamp", "Kiln Street", 1),
    ("Crème brûlée torch x", "Hearth & Co", 2),  // a one-byte word is left out
    ("Creme brulee torch", "hearth co", 2),
    ("The lamp of the year", "Kiln Street Works", 3),
    ("Oak lamp", "kiln-street WORKS", 3),  // the same three-word brand, written apart
    ("Oak lamp", "X", 1),  // a one-byte brand is still a phrase
    ("Oak lamp " + String(repeating: "w", count: 41), "One Two Three Four Five", 4),  // too long a word; too long a brand
    ("Oak lamp", "The", 4),  // a brand of stop words only has no phrase
    ((0..<40).map { "word\($0 % 7)" }.joined(separator: " "), "Long", 5),  // a long title: the set path
    ("Lamp lamp LAMP", "Lamp", 5),
  ]

  @Test(arguments: [1_000, 6])
  func suggestionsHoldWhatPerItemPhrasesGive(maxPhrases: Int) throws {
    let analyzer = TextAnalyzer.english
    var writer = SuggestionTable.Writer(analyzer: analyzer, maxPhrases: maxPhrases)
    for item in Self.suggestionItems { writer.add(title: item.title, brand: item.brand, leaf: item.leaf) }
    let file = try #require(writer.finish())
    let table = try SuggestionTable(ByteRegion(copying: try file.contents(), name: "suggestions.fnl"), categoryCount: 6,
                                    verifyChecksum: true)
    var expected = Self.referenceSuggestions(Self.suggestionItems, analyzer: analyzer)
    if expected.count > maxPhrases {
      let best = expected.sorted { a, b in
        a.value.items != b.value.items ? a.value.items > b.value.items : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
      }.prefix(maxPhrases)
      expected = Dictionary(uniqueKeysWithValues: best.map { ($0.key, $0.value) })
    }
    var found: [String: (items: Float, leaf: UInt32)] = [:]
    for i in 0..<table.phrases.count { found[table.phrases[i]] = (table.weights[i], table.leaves[i]) }
    #expect(found.count == expected.count)
    for (phrase, tally) in expected {
      #expect(found[phrase]?.items == tally.items && found[phrase]?.leaf == tally.leaf, "\(phrase)")
    }
    if maxPhrases > 100 {
      #expect(found["kiln street"]?.items == 2, "a brand that is also a title pair counts once per item")
      #expect(found["kiln street works"]?.items == 2, "brands written apart with the same words are one phrase")
      #expect(found["x"] != nil && found["lamp"]?.items == 8)
    }
  }

  static let keywordItems: [CatalogItem] = [
    CatalogItem(id: "a", title: "", categoryPath: ["Home", "Lighting"], brand: "Kiln", price: 1, tags: ["Red", "red", "RED", "blue"],
                inStock: true, attributes: ["rating": .number(0), "material": .text("Oak")]),
    CatalogItem(id: "b", title: "", categoryPath: ["home", "lighting"], brand: "KILN", price: 1, tags: ["red"],
                inStock: false, attributes: ["rating": .number(-0.0), "material": .text("oak")]),
    CatalogItem(id: "c", title: "", categoryPath: ["Home", "Lighting"], brand: "Ferro", price: 1, tags: [],
                inStock: true, attributes: ["rating": .number(1.5), "size": .text("1.5")]),
    CatalogItem(id: "d", title: "", categoryPath: ["garden"], brand: "", price: 1, tags: ["Blue", "blue"],
                inStock: false, attributes: ["rating": .number(0)]),
  ]

  @Test func keywordsHoldWhatPerItemKeysGive() throws {
    var writer = KeywordIndex.Writer()
    for item in Self.keywordItems { writer.add(item) }
    let (file, count) = writer.finish()
    let index = try KeywordIndex(ByteRegion(copying: try file.contents(), name: "keywords.fnl"), verifyChecksum: true)
    var expected: [String: Set<UInt32>] = [:]
    for (d, item) in Self.keywordItems.enumerated() {
      var keys = Set(IndexGeneration.categoryPrefixes(item.categoryPath).map { KeywordIndex.key("category", $0.lowercased()) })
      for part in item.categoryPath { keys.insert(KeywordIndex.key("category", part)) }
      keys.insert(KeywordIndex.key("brand", item.brand))
      for tag in item.tags { keys.insert(KeywordIndex.key("tag", tag)) }
      keys.insert(KeywordIndex.key("in_stock", item.inStock ? "true" : "false"))
      for (name, value) in item.attributes { keys.insert(KeywordIndex.key("attr." + name, value.keyword)) }
      for key in keys { expected[key, default: []].insert(UInt32(d)) }
    }
    var found: [String: Set<UInt32>] = [:]
    for i in 0..<index.count { found[index.keys[i]] = Set(try index.documents(at: i).values) }
    #expect(found == expected)
    #expect(count == expected.count)
    #expect(found[KeywordIndex.key("tag", "red")] == [0, 1], "tags differing in case are one key")
  }
}
