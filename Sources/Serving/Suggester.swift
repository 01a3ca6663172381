import FunnelCore
import IndexFormat
import TextAnalysis

/// Autocomplete: completions of a typed prefix from the queries shoppers search (`QueryCounts`)
/// and the catalog's phrases (`SuggestionTable`), the user's categories first. Queries others typed
/// and found come first (most searched first: a query scores `queryBonus` plus the log of its
/// count), then phrases (the log of their item count, times 1 + `personalBoost` x the user's
/// affinity to the phrase's category). One entry per text, best first. O(log phrases + phrases with the prefix +
/// summarised queries); the phrase texts of the best only are read. Stateless.
struct Suggester: Sendable {
  let popular: QueryCounts
  /// Searches a query needs before it is suggested, so one client's odd query is not shown to everyone.
  static let minimumCount = 3
  static let personalBoost = 1.0
  static let queryBonus = 100.0
  /// Most phrases with the prefix scored (a one-letter prefix of a large catalog has many).
  static let maxScanned = 100_000

  /// The prefix as the tables hold text: folded words; a trailing space (a finished word) kept.
  static func normalised(_ typed: String, analyzer: TextAnalyzer) -> String {
    let words = Tokenizer.tokens(typed).map { analyzer.words($0).first ?? $0 }
    let text = words.joined(separator: " ")
    return typed.last?.isWhitespace == true && !text.isEmpty ? text + " " : text
  }

  /// The best `count` completions of `prefix` (normalised) in `generation` for a user with leaf
  /// category affinities `affinity`.
  func suggest(_ prefix: String, in generation: IndexGeneration, affinity: [(category: UInt32, weight: Float)],
               count: Int) -> [Suggestion] {
    var best: [String: Suggestion] = [:]
    func offer(_ s: Suggestion) {
      if let known = best[s.text], known.score >= s.score { return }
      best[s.text] = s
    }
    for entry in popular.completions(of: prefix, minimumCount: Self.minimumCount) {
      offer(Suggestion(text: entry.query, kind: .query, category: "", score: log(Double(entry.count) + 1) + Self.queryBonus))
    }
    if let table = generation.suggestions {
      let range = table.range(of: prefix)
      let top = max(affinity.map(\.weight).max() ?? 1, .leastNormalMagnitude)
      var heap = TopK(capacity: count)
      for i in range.prefix(Self.maxScanned) {
        var score = log(1 + Double(table.weights[i]))
        if !affinity.isEmpty, let a = affinity.first(where: { $0.category == table.leaves[i] }) {
          score *= 1 + Self.personalBoost * Double(a.weight / top)
        }
        heap.offer(DocID(rawValue: UInt32(i)), Float(score))
      }
      let keys = generation.items.categoryKeys
      for (i, score) in heap.sortedDescending() {
        let leaf = table.leaves[Int(i.rawValue)]
        offer(Suggestion(text: table.phrases[Int(i.rawValue)], kind: .catalog,
                         category: Int(leaf) < keys.count ? keys[Int(leaf)] : "", score: Double(score)))
      }
    }
    return best.values.sorted { $0.score != $1.score ? $0.score > $1.score : $0.text < $1.text }.prefix(count).map { $0 }
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
