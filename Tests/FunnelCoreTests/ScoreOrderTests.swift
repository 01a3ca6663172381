import FunnelCore
import Testing

@Suite struct ScoreOrderTests {
  /// The comparator every replaced sort used: higher score first, then lower document.
  static func better(_ a: (DocID, Float), _ b: (DocID, Float)) -> Bool { a.1 != b.1 ? a.1 > b.1 : a.0 < b.0 }

  @Test func sortMatchesTheStandardLibraryAtEverySize() {
    var rng = SplitMix64(seed: 7)
    for n in [0, 1, 2, 3, 15, 16, 17, 18, 63, 64, 65, 200, 1_000, 5_000] {
      for spread in [UInt64.max, 7] {  // distinct keys, and many repeats (equal runs around pivots)
        var keys = (0..<n).map { _ in rng.next() % (spread == .max ? .max : spread) }
        let expected = keys.sorted()
        ScoreOrder.sort(&keys)
        #expect(keys == expected, "n \(n), spread \(spread)")
      }
      var ascending = (0..<UInt64(n)).map { $0 }
      ScoreOrder.sort(&ascending)
      #expect(ascending == (0..<UInt64(n)).map { $0 })
      var descending = (0..<UInt64(n)).reversed().map { $0 }
      ScoreOrder.sort(&descending)
      #expect(descending == (0..<UInt64(n)).map { $0 })
    }
  }

  @Test func keysOrderScoresDescendingThenDocuments() {
    let scores: [Float] = [-.infinity, -3.5, -1, -.leastNonzeroMagnitude, -0.0, 0, .leastNonzeroMagnitude, 0.25, 1, 1e30, .infinity]
    for (i, a) in scores.enumerated() {
      #expect(ScoreOrder.score(ScoreOrder.key(score: a, doc: 9)) == (a == 0 ? 0 : a))
      for b in scores[(i + 1)...] where a != b {
        #expect(ScoreOrder.key(score: b, doc: 100) < ScoreOrder.key(score: a, doc: 0), "\(b) before \(a)")
      }
    }
    // -0 and +0 are one score: the document decides.
    #expect(ScoreOrder.key(score: -0.0, doc: 1) < ScoreOrder.key(score: 0, doc: 2))
    #expect(ScoreOrder.key(score: 0, doc: 1) < ScoreOrder.key(score: -0.0, doc: 2))
    // NaN after every number.
    #expect(ScoreOrder.key(score: -.infinity, doc: 5) < ScoreOrder.key(score: .nan, doc: 0))
    #expect(ScoreOrder.score(ScoreOrder.key(score: .nan, doc: 0)).isNaN)
  }

  @Test func descendingMatchesTheComparator() {
    var rng = SplitMix64(seed: 3)
    for n in [0, 1, 10, 100, 1_500] {
      // Scores from a few values, so that ties are common.
      let pairs = (0..<n).map { _ in (DocID(rawValue: UInt32(rng.next() % 1_000_000)), Float(rng.next() % 20) / 4 - 2) }
      let unique = Dictionary(pairs.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a }).map { ($0.key, $0.value) }
      let got = ScoreOrder.descending(unique)
      let expected = unique.sorted(by: Self.better)
      #expect(got.map(\.0) == expected.map(\.0) && got.map(\.1) == expected.map(\.1))
    }
  }

  @Test func descendingIndicesBreakTiesByDocument() {
    var rng = SplitMix64(seed: 11)
    let docs = (0..<2_000).map { _ in UInt32(rng.next() % 10_000_000) }
    let distinct = Array(Set(docs))
    let scores = distinct.map { _ in Float(rng.next() % 5) }
    let got = ScoreOrder.descendingIndices(scores) { distinct[$0] }
    let expected = scores.enumerated().map { ($0.offset, $0.element) }
      .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : distinct[$0.0] < distinct[$1.0] }
    #expect(got.map(\.0) == expected.map(\.0))
    #expect(got.map(\.1) == expected.map(\.1))
  }
}
