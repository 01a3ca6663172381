import FunnelCore
import IndexFormat
import Testing

/// `TopK` against sorting everything: the same pairs, best first, ties to the lower doc id.
@Suite struct TopKTests {
  @Test(arguments: [0, 1, 2, 7, 100, 1_000, 5_000])
  func keepsTheBestPairsWithDeterministicTies(k: Int) {
    var rng = SplitMix64(seed: UInt64(k) + 3)
    // Few distinct scores (as BM25 gives one-term queries): most offers tie with the kept minimum.
    let offers = (0..<3_000).map { _ in
      (DocID(rawValue: UInt32(rng.next() % 100_000)), Float(rng.next() % 13) / 4)
    }
    var unique: [DocID: Float] = [:]
    for (doc, score) in offers where unique[doc] == nil { unique[doc] = score }
    var top = TopK(capacity: k)
    for (doc, score) in unique.sorted(by: { $0.key.rawValue % 7 < $1.key.rawValue % 7 }) { top.offer(doc, score) }
    let expected = unique.map { ($0.key, $0.value) }
      .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(k)
    let got = top.sortedDescending()
    #expect(got.map(\.0) == expected.map(\.0) && got.map(\.1) == expected.map(\.1))
    #expect(top.isFull == (unique.count >= k))
    #expect(TopK.best(unique, k: k).map(\.0) == expected.map(\.0))
  }

  /// Negative scores order below zero, NaN below every number, and -0 ties with +0 (then by doc).
  @Test func negativeZeroAndNaN() {
    var top = TopK(capacity: 4)
    for (doc, score) in [(1, Float.nan), (2, -1.5), (3, 0), (4, -0.0), (5, 2), (6, -3)] { top.offer(DocID(rawValue: UInt32(doc)), score) }
    let got = top.sortedDescending()
    #expect(got.map(\.0.rawValue) == [5, 3, 4, 2])
    #expect(got.map(\.1) == [2, 0, 0, -1.5])
    #expect(top.minimumScore == -1.5)
  }
}
