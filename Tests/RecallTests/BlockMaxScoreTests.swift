import DemoCatalog
import FunnelCore
import IndexBuilder
import IndexFormat
import MappedStorage
@testable import Recall
import Testing

/// Block-max pruning must return the exhaustive top k (up to float rounding of equal scores), on many
/// random multi-term queries and several k, over catalogs big enough to span many blocks per term.
@Suite struct BlockMaxScoreTests {
  static let store = DemoStore(.init(itemCount: 5_000, userCount: 0, sessionsPerUser: 0, historyDays: 1,
                                     endTimeMs: 1_790_000_000_000, seed: 11))
  static let generation: IndexGeneration = {
    var options = GenerationBuilder.Options()
    options.buildVectors = false  // text only; the HNSW graph is slow to build in debug builds
    return try! GenerationBuilder(options: options).build(items: store.items, events: [], nowMs: 1_790_000_000_000,
                                                          version: "wand").open()
  }()

  /// Text of a real catalog's shape: 12 words per document drawn by Zipf's law from 3,000 words, so a
  /// few terms hold most documents (many blocks each) and most are rare; lengths vary from 4 to 20.
  static let zipf: TextIndex = {
    var rng = SplitMix64(seed: 23)
    let texts = (0..<20_000).map { _ in
      (0..<(4 + Int(rng.next() % 17))).map { _ in "w\(rng.zipfIndex(3_000, s: 1.0))" }.joined(separator: " ")
    }
    return try! TextIndex(ByteRegion(copying: TextIndex.write(texts: texts).bytes, name: "zipf"), documentCount: texts.count,
                          verifyChecksum: false)
  }()

  /// Compares the pruned top k with the exhaustive one: same length, the same score at each rank, and
  /// each returned score the document's own.
  static func expectSame(_ terms: [String], k: Int, index: TextIndex, wholeUpTo: Int?) throws {
    let pruned = try #require(BlockMaxScore.top(terms: terms, index: index, k: k, wholeUpTo: wholeUpTo))
    let exhaustive = TextRecall.exhaustiveTop(terms: terms, index: index, k: k)
    #expect(pruned.count == exhaustive.count, "\(terms) k=\(k) whole up to \(String(describing: wholeUpTo))")
    let exact = TextRecall.scores(terms: terms, index: index)
    for (p, e) in zip(pruned, exhaustive) {
      #expect(abs(p.1 - e.1) <= 1e-5 * max(1, e.1), "\(terms) k=\(k) whole up to \(String(describing: wholeUpTo)): \(p) vs \(e)")
      #expect(abs((exact[p.0] ?? -1) - p.1) <= 1e-5 * max(1, p.1), "\(terms): returned score of \(p.0) is its score")
    }
    #expect(Set(pruned.map(\.0)).count == pruned.count, "\(terms): no document twice")
  }

  @Test func prunedTopKEqualsExhaustiveTopK() throws {
    let index = Self.generation.text
    #expect(index.blocks != nil, "format 2 has block maxima")
    let vocabulary = (0..<index.terms.count).map { index.terms[$0] }
    var rng = SplitMix64(seed: 5)
    for round in 0..<300 {
      let terms = (0..<(1 + Int(rng.next() % 4))).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }
      try Self.expectSame(terms, k: [1, 10, 100, 1_000][round % 4], index: index, wholeUpTo: nil)
    }
  }

  /// On the Zipfian corpus, with every term read block by block, every term decoded whole, a fixed
  /// cut between and the default (nil): common terms with rare ones (the rare one essential, the common one looked up
  /// or its blocks skipped), several common terms, rare pairs, and repeated words.
  @Test(arguments: [0, 600, Int.max, nil])
  func zipfianQueriesEveryWayOfDecoding(wholeUpTo: Int?) throws {
    let index = Self.zipf
    var rng = SplitMix64(seed: 31)
    let ranks = [0, 1, 3, 10, 30, 100, 300, 1_000, 2_999]
    for round in 0..<120 {
      var terms = (0..<(1 + Int(rng.next() % 4))).map { _ in "w\(ranks[Int(rng.next() % UInt64(ranks.count))])" }
      if round % 10 == 0 { terms.append(terms[0]) }  // a repeated word counts once
      if round % 15 == 0 { terms.append("unknownword") }
      try Self.expectSame(terms, k: [1, 10, 100, 1_000][round % 4], index: index, wholeUpTo: wholeUpTo)
    }
    // A common word with a rarer one: once the threshold passes the common word's maximum, only the
    // rarer one is essential and its blocks that cannot win are passed over.
    for rare in [30, 100, 300, 1_000] {
      for common in [0, 1, 3, 10] {
        for k in [1, 3, 10, 30] {
          try Self.expectSame(["w\(common)", "w\(rare)"], k: k, index: index, wholeUpTo: wholeUpTo)
          try Self.expectSame(["w\(common)", "w\(common + 1)", "w\(rare)"], k: k, index: index, wholeUpTo: wholeUpTo)
        }
      }
    }
    let common = index.documentFrequency(try #require(index.termID("w0")))
    #expect(common > 8 * TextIndex.blockSize, "the commonest term spans many blocks (\(common) postings)")
  }

  @Test func emptyAndUnknownQueries() {
    let index = Self.generation.text
    #expect(TextRecall.top(terms: [], index: index, k: 10).isEmpty)
    #expect(TextRecall.top(terms: ["zzqqxx"], index: index, k: 10).isEmpty)
    #expect(TextRecall.top(terms: ["mug"], index: index, k: 0).isEmpty)
  }
}
