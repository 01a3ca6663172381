import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import TextAnalysis
import Testing

/// The analysis chain (Debian's libstemmer), the same at index and query time: plurals and
/// inflections meet their stem, diacritics fold, stop words go, and a generation keeps the chain it
/// was built with.
@Suite struct TextAnalyzerTests {
  @Test func englishStemsFoldsAndDropsStopWords() throws {
    let english = TextAnalyzer.english
    #expect(english.terms("Ceramic Mugs") == english.terms("ceramic mug"))
    #expect(english.terms("running shoes") == ["run", "shoe"])
    #expect(english.terms("Café crème") == english.terms("cafe creme"))
    #expect(english.terms("the mug of the year") == english.terms("mug year"))
    #expect(english.terms("the who") == ["who"])
    #expect(english.terms("To be or not to be") == ["to", "be", "or", "not", "to", "be"], "a query of stop words only keeps them")
    #expect(TextAnalyzer.plain.terms("Ceramic Mugs") == ["ceramic", "mugs"], "plain keeps the tokens")
    #expect(throws: TextAnalysisError.self) { try TextAnalyzer(named: "klingon") }
    #expect(try TextAnalyzer(named: "german").terms("Häuser") == (try TextAnalyzer(named: "german")).terms("Haus"))
    #expect(Stemmer.languages.contains("english") && Stemmer.languages.contains("french"))
  }

  @Test func asciiTokensAreWhatTheUnicodeRulesGive() {
    // ASCII text takes a byte path; a non-ASCII word after it sends the whole text down the Unicode
    // path (letters and digits by scalar property), which must split the ASCII part the same way.
    var texts = ["", " ", "A", "Kiln Street deluxe bamboo table lamp, NAVY", "@[`{/:09AZaz", "x1-Y2_z3 \t\n",
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz0123456789", "trailing "]
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      texts.append(String(decoding: (0..<Int.random(in: 0..<40, using: &generator)).map { _ in UInt8.random(in: 0..<0x80, using: &generator) },
                          as: UTF8.self))
    }
    for text in texts { #expect(Tokenizer.tokens(text) + ["é"] == Tokenizer.tokens(text + " é"), "\(text.debugDescription)") }
  }

  @Test func stemmingIsSafeFromManyThreadsAtOnce() async {
    let words = ["mugs", "running", "ceramics", "bottles", "generations", "lighting", "candles", "wooden"]
    let expected = words.map { TextAnalyzer.english.terms($0) }
    await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<8 {
        group.addTask { (0..<500).allSatisfy { i in TextAnalyzer.english.terms(words[i % words.count]) == expected[i % words.count] } }
      }
      for await ok in group { #expect(ok) }
    }
  }

  @Test func aGenerationSearchesWithTheChainItWasBuiltWith() throws {
    let items = [
      CatalogItem(id: "A", title: "Stoneware Coffee Mug", categoryPath: ["home", "kitchen"], brand: "Kiln", price: 9),
      CatalogItem(id: "B", title: "Crème Brûlée Torch", categoryPath: ["home", "kitchen"], brand: "Flame", price: 20),
      CatalogItem(id: "C", title: "Trail Running Shoes", categoryPath: ["sport", "footwear"], brand: "Pace", price: 80),
    ]
    let built = GenerationBuilder().build(items: items, events: [], nowMs: 0, version: "stemmed")
    #expect(built.manifest.textAnalysis == "english")
    let generation = try built.open()
    #expect(generation.analyzer == .english)
    func search(_ query: String) -> [String] {
      TextRecall.exhaustiveTop(terms: generation.analyzer.terms(query), index: generation.text, k: 3)
        .map { generation.items.id($0.0) }
    }
    #expect(search("mugs") == ["A"])
    #expect(search("creme brulee") == ["B"])
    #expect(search("run shoe") == ["C"])
    var plainOptions = GenerationBuilder.Options()
    plainOptions.textAnalyzer = .plain
    let plain = GenerationBuilder(options: plainOptions).build(items: items, events: [], nowMs: 0, version: "plain")
    #expect(plain.manifest.textAnalysis == nil, "plain generations read like those built before analysis")
    let opened = try plain.open()
    #expect(opened.analyzer == .plain)
    #expect(TextRecall.exhaustiveTop(terms: opened.analyzer.terms("mugs"), index: opened.text, k: 3).isEmpty)
  }
}
