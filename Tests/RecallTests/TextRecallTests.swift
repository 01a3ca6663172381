import DemoCatalog
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import Testing
import TextAnalysis
#if canImport(Glibc)
import Glibc
#endif

/// Text recall against a reference BM25 computed here from the raw item texts, independently of the
/// index's postings and statistics (the generation's analysis and field weights, k1 = 1.2, b = 0.75).
@Suite struct TextRecallTests {
  static let store = RecallChannelTests.store
  static let generation = RecallChannelTests.generation

  static func referenceTop(_ query: String, k: Int) -> [(Int, Double)] {
    // Each field's terms as many times as its weight (the generation's default weights): BM25F's
    // weighted frequencies and lengths, written out.
    let docs = store.items.map { item in
      generation.searchFields.texts(item).flatMap { text, weight in
        Array(repeating: generation.analyzer.terms(text), count: Int(weight)).flatMap { $0 }
      }
    }
    let n = Double(docs.count)
    let average = Double(docs.reduce(0) { $0 + $1.count }) / n
    var scores: [Int: Double] = [:]
    for term in Set(generation.analyzer.terms(query)) {
      let df = Double(docs.filter { $0.contains(term) }.count)
      guard df > 0 else { continue }
      let idf = log(1 + (n - df + 0.5) / (df + 0.5))
      for (d, tokens) in docs.enumerated() {
        let tf = Double(tokens.filter { $0 == term }.count)
        guard tf > 0 else { continue }
        scores[d, default: 0] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * Double(tokens.count) / average))
      }
    }
    return scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(k).map { ($0.key, $0.value) }
  }

  @Test(arguments: ["mug", "ceramic mug", "espresso machine", "oak table lamp", "yoga", "red scarf", "board game",
                    "stainless steel frying pan", "notebook pens", "zzz nothing"])
  func topTenAgreesWithReferenceBM25(query: String) {
    let reference = Self.referenceTop(query, k: 10)
    var collector = CandidateCollector()
    TextRecall().recall(RecallRequest(queryTerms: Self.generation.analyzer.terms(query)), in: Self.generation, quota: 10, into: &collector)
    let got = collector.candidates.map { $0.doc.index }
    #expect(got.count == reference.count)
    // Equal scores may order differently only by float rounding: compare score sets, then ids where scores differ.
    let exact = TextRecall.scores(terms: Self.generation.analyzer.terms(query), index: Self.generation.text)
    for (doc, score) in reference {
      let mine = Double(exact[DocID(doc)] ?? -1)
      #expect(abs(mine - score) <= 1e-4 * max(1, score), "doc \(doc): \(mine) vs reference \(score)")
    }
    let cut = reference.last?.1 ?? 0
    #expect(got.allSatisfy { Double(exact[DocID($0)] ?? 0) >= cut - 1e-4 }, "every returned doc scores at least the 10th reference score")
  }

  /// Score arrays are lent and taken back clean: a query after others scores exactly as it did first.
  @Test func reusedAccumulatorsCarryNothingOver() {
    let text = Self.generation.text
    let first = TextRecall.scores(terms: ["ceramic", "mug"], index: text)
    #expect(!first.isEmpty)
    for query in [["yoga"], ["mug"], ["red", "scarf", "mug"]] { _ = TextRecall.exhaustiveTop(terms: query, index: text, k: 5) }
    #expect(TextRecall.scores(terms: ["ceramic", "mug"], index: text) == first)
    #expect(TextRecall.exhaustiveTop(terms: ["ceramic", "mug"], index: text, k: 3).map(\.1) ==
            first.values.sorted(by: >).prefix(3).map { $0 })
  }
}
