import FunnelCore
import IndexFormat
import MappedStorage
import Testing

/// Prefix ranges and edit-distance matches over a sorted term dictionary, against brute force over
/// random dictionaries and words (optimal string alignment distance computed directly).
@Suite struct TermLookupTests {
  static func index(_ words: [String]) -> TextIndex {
    let image = TextIndex.write(texts: words).bytes
    return try! TextIndex(ByteRegion(copying: image, name: "terms"), documentCount: words.count, verifyChecksum: false)
  }

  /// Optimal string alignment distance of byte strings.
  static func osa(_ a: [UInt8], _ b: [UInt8]) -> Int {
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
      for j in 1...b.count {
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
      }
    }
    return d[a.count][b.count]
  }

  @Test func matchesEqualBruteForceOverRandomDictionaries() {
    var rng = SplitMix64(seed: 11)
    let letters = Array("abcde".utf8)
    func word(_ length: Int) -> String { String(decoding: (0..<length).map { _ in letters[Int(rng.next() % 5)] }, as: UTF8.self) }
    for round in 0..<20 {
      let words = (0..<300).map { _ in word(2 + Int(rng.next() % 7)) }
      let index = Self.index(words)
      let lookup = TermLookup(index.terms)
      let dictionary = (0..<index.terms.count).map { Array(index.terms[$0].utf8) }
      for _ in 0..<10 {
        let query = word(3 + Int(rng.next() % 6))
        let q = Array(query.utf8)
        for (edits, drop) in [(1, 0), (2, 0), (1, 3)] {
          let expected = dictionary.indices.compactMap { t -> (Int, Int, Int)? in
            let kept = Array(max(0, q.count - drop)...q.count)
            let d = kept.map { Self.osa(dictionary[t], Array(q.prefix($0))) }.min()!
            let cost = kept.map { Self.osa(dictionary[t], Array(q.prefix($0))) + (q.count - $0) }.min()!
            return d <= edits ? (t, d, cost) : nil
          }.sorted { ($0.2, $0.1, $0.0) < ($1.2, $1.1, $1.0) }
          let got = lookup.within(query, maxEdits: edits, droppableSuffix: drop, limit: 10_000)
          #expect(got.map(\.term) == expected.map(\.0) && got.map(\.distance) == expected.map(\.1)
                  && got.map(\.cost) == expected.map(\.2), "round \(round) '\(query)' edits \(edits) drop \(drop)")
        }
        let prefix = String(query.prefix(2))
        let range = lookup.prefixRange(prefix)
        #expect(Array(range) == dictionary.indices.filter { dictionary[$0].starts(with: Array(prefix.utf8)) })
      }
    }
  }

  @Test func typosOfRealWordsFindThem() {
    let index = Self.index(["ceramic", "ceramics", "mug", "stoneware", "teapot", "espresso", "machine"])
    let lookup = TermLookup(index.terms)
    func best(_ word: String, _ edits: Int) -> String? { lookup.within(word, maxEdits: edits, limit: 1).first.map { index.terms[$0.term] } }
    #expect(best("cermaic", 2) == "ceramic", "a transposition and a substitution")
    #expect(best("ceramc", 1) == "ceramic")
    #expect(best("expresso", 1) == "espresso")
    #expect(best("teapto", 1) == "teapot", "an adjacent transposition is one edit")
    #expect(best("zzzzzz", 2) == nil)
    let stems = Self.index(["gold", "goldfish", "ceram", "mug"])
    let stemmed = TermLookup(stems.terms)
    #expect(stemmed.within("goldfsh", maxEdits: 1, droppableSuffix: 3).map { stems.terms[$0.term] } == ["goldfish", "gold"],
            "one edit ranks before three dropped bytes")
    #expect(stemmed.within("cermaic", maxEdits: 1, droppableSuffix: 3).first.map { stems.terms[$0.term] } == "ceram")
    #expect(Array(lookup.prefixRange("cera")).map { index.terms[$0] } == ["ceramic", "ceramics"])
    #expect(lookup.prefixRange("q").isEmpty)
  }
}
