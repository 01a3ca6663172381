import DemoCatalog
import FunnelCore
import IndexBuilder
import IndexFormat
import Recall
import Testing

/// Block-max WAND must return the exhaustive top k (up to float rounding of equal scores), on many
/// random multi-term queries and several k, over a catalog big enough to span many blocks per term.
@Suite struct BlockMaxWANDTests {
  static let store = DemoStore(.init(itemCount: 5_000, userCount: 0, sessionsPerUser: 0, historyDays: 1,
                                     endTimeMs: 1_790_000_000_000, seed: 11))
  static let generation: IndexGeneration = {
    var options = GenerationBuilder.Options()
    options.buildVectors = false  // text only; the HNSW graph is slow to build in debug builds
    return try! GenerationBuilder(options: options).build(items: store.items, events: [], nowMs: 1_790_000_000_000,
                                                          version: "wand").open()
  }()

  @Test func prunedTopKEqualsExhaustiveTopK() throws {
    let index = Self.generation.text
    #expect(index.blocks != nil, "format 2 has block maxima")
    let vocabulary = (0..<index.terms.count).map { index.terms[$0] }
    var rng = SplitMix64(seed: 5)
    for round in 0..<300 {
      let terms = (0..<(1 + Int(rng.next() % 4))).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }
      let k = [1, 10, 100, 1_000][round % 4]
      let pruned = TextRecall.top(terms: terms, index: index, k: k)
      let exhaustive = TextRecall.exhaustiveTop(terms: terms, index: index, k: k)
      #expect(pruned.count == exhaustive.count, "\(terms) k=\(k)")
      let exact = TextRecall.scores(terms: terms, index: index)
      for (p, e) in zip(pruned, exhaustive) {
        #expect(abs(p.1 - e.1) <= 1e-5 * max(1, e.1), "\(terms) k=\(k): \(p) vs \(e)")
        #expect(abs((exact[p.0] ?? -1) - p.1) <= 1e-5 * max(1, p.1), "\(terms): returned score of \(p.0) is its score")
      }
    }
  }

  @Test func emptyAndUnknownQueries() {
    let index = Self.generation.text
    #expect(TextRecall.top(terms: [], index: index, k: 10).isEmpty)
    #expect(TextRecall.top(terms: ["zzqqxx"], index: index, k: 10).isEmpty)
    #expect(TextRecall.top(terms: ["mug"], index: index, k: 0).isEmpty)
  }
}
