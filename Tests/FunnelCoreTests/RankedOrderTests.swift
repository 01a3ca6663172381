@testable import FunnelCore
import Testing

@Suite struct RankedOrderTests {
  /// The order a full sort gives: higher score, then lower document, NaN last.
  static func fullSort(_ scores: [Float], _ docs: [UInt32]) -> [(Int, Float)] {
    scores.indices.sorted { a, b in
      let (x, y) = (scores[a], scores[b])
      if x.isNaN != y.isNaN { return y.isNaN }
      if !x.isNaN, x != y { return x > y }
      return docs[a] < docs[b]
    }.map { ($0, scores[$0]) }
  }

  @Test(arguments: ["random", "ties", "ascending", "descending", "equal", "organ pipe", "with NaN"])
  func takesEntriesInTheFullSortsOrder(pattern: String) {
    var rng = SplitMix64(seed: 5)
    for n in [0, 1, 2, 3, 17, 64, 1_000, 3_000] {
      let docs = (0..<n).map { UInt32($0 * 7 % max(n, 1) * 3 + 1) }  // distinct, not in index order
      let scores: [Float] = (0..<n).map { i in
        switch pattern {
        case "random": Float(rng.next() % 1_000_000) / 7
        case "ties": Float(rng.next() % 4)
        case "ascending": Float(i)
        case "descending": Float(n - i)
        case "equal": 1
        case "organ pipe": Float(min(i, n - i))
        default: i % 5 == 0 ? .nan : (i % 7 == 0 ? -0.0 : Float(rng.next() % 9) - 4)
        }
      }
      let order = RankedOrder(scores: scores, of: docs.map { Candidate(doc: DocID(rawValue: $0)) })
      let expected = Self.fullSort(scores, docs)
      let got = Array(order)
      #expect(got.map(\.0) == expected.map(\.0), "\(pattern), n \(n)")
      #expect(zip(got, expected).allSatisfy { $0.1.bitPattern == $1.1.bitPattern }, "\(pattern), n \(n): scores as given")
      // Partitioning cut short at any point (down to none) and the rest sorted outright: the same.
      for budget in [0, 1, n / 2, n, 2 * n] {
        var iterator = order.makeIterator(budget: budget)
        var cut: [(Int, Float)] = []
        while let entry = iterator.next() { cut.append(entry) }
        #expect(cut.map(\.0) == expected.map(\.0), "\(pattern), n \(n), budget \(budget)")
      }
      // Taking a few leaves the rest to a fresh iteration: each starts from the whole.
      #expect(Array(order.prefix(10)).map(\.0) == Array(expected.prefix(10)).map(\.0))
      #expect(order.count == n)
    }
  }

  @Test func followingEntriesComeLastInTheirOrder() {
    let scores: [Float] = [0.5, 2, 1]
    let candidates = (0..<3).map { Candidate(doc: DocID(rawValue: UInt32($0))) }
    let order = RankedOrder(scores: scores, of: candidates, following: [(5, 0.5), (3, 0.5), (4, 0.5)])
    #expect(Array(order).map(\.0) == [1, 2, 0, 5, 3, 4])
    #expect(order.worstScore == 0.5)
    #expect(RankedOrder(scores: [.nan, 1], of: candidates).worstScore?.isNaN == true)
    #expect(RankedOrder(ordered: [(2, 9), (0, 8)]).map(\.0) == [2, 0])
    #expect(RankedOrder(ordered: []).worstScore == nil)
  }
}
