import DemoCatalog
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import Testing

/// The HNSW graph against exact search, and the vector channel on the demo embeddings.
@Suite struct VectorRecallTests {
  static let generation = RecallChannelTests.generation
  static let store = RecallChannelTests.store

  @Test func hnswRecallAtTenAgainstExactSearch() throws {
    let vectors = try #require(Self.generation.vectors)
    #expect(vectors.count == Self.store.items.count && vectors.dimension == DemoStore.embeddingDimension)
    var rng = SplitMix64(seed: 3)
    var found = 0, total = 0
    for _ in 0..<100 {
      let query = (0..<vectors.dimension).map { _ in Float(rng.unit() * 2 - 1) }
      let exact = Set(vectors.exactSearch(query, k: 10).map(\.0))
      let approximate = vectors.search(query, k: 10, ef: 64, method: .graph)
      #expect(approximate.count == 10)
      found += approximate.filter { exact.contains($0.0) }.count
      total += 10
      // Every vector read: exactly the exact answer, scores and order.
      let scanned = vectors.search(query, k: 10, ef: 64, method: .exhaustive)
      #expect(scanned.map(\.0) == vectors.exactSearch(query, k: 10).map(\.0))
    }
    #expect(Double(found) / Double(total) >= 0.95, "recall@10 \(found)/\(total)")
    // The demo catalog is small enough for the automatic choice to read every vector at ef 200,
    // and large enough for it to take the graph at a narrow beam.
    #expect(vectors.scansEverything(k: 10, ef: 200) && !vectors.scansEverything(k: 1, ef: 1))
    #expect(vectors.search([1, 2], k: 5, ef: 10).isEmpty, "wrong dimension")
    #expect(vectors.search([Float](repeating: 0, count: vectors.dimension), k: 5, ef: 10).isEmpty, "zero vector")
  }

  @Test func vectorChannelFindsItemsOfTheSeedsCategory() throws {
    let g = Self.generation
    var sameCategory = 0, total = 0
    for d in stride(from: 0, to: g.itemCount, by: 20) {
      var collector = CandidateCollector()
      VectorRecall().recall(RecallRequest(seeds: [(doc: DocID(d), weight: 1)]), in: g, quota: 10, into: &collector)
      #expect(!collector.candidates.contains { $0.doc == DocID(d) }, "the seed itself is not recalled")
      for c in collector.candidates {
        total += 1
        if g.items.leafCategory(c.doc) == g.items.leafCategory(DocID(d)) { sameCategory += 1 }
      }
    }
    #expect(total > 100)
    #expect(Double(sameCategory) / Double(total) > 0.7, "embeddings follow categories: \(sameCategory)/\(total)")
  }
}
