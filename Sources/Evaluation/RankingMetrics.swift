import Foundation

/// Top-K quality of one recommender over many users, against what each user actually bought next
/// (binary relevance): HitRate@K, Recall@K, NDCG@K per cut-off, MRR over the longest cut-off,
/// catalogue coverage and novelty. Accumulates user by user; O(K) per user. Not thread-safe.
public struct RankingMetrics: Sendable {
  /// Cut-offs, ascending.
  public let cutoffs: [Int]
  private var hits: [Double]
  private var recalls: [Double]
  private var gains: [Double]
  private var reciprocalRanks = 0.0
  private var noveltySum = 0.0
  private var recommendedCount = 0
  private var recommended = Set<String>()
  /// Users added.
  public private(set) var users = 0

  /// Empty metrics for `cutoffs` (sorted, positive).
  public init(cutoffs: [Int]) {
    self.cutoffs = cutoffs.sorted()
    hits = Array(repeating: 0, count: cutoffs.count)
    recalls = hits
    gains = hits
  }

  /// Adds one user's ranked list (best first; only the first `max(cutoffs)` count) and the items
  /// they went on to buy (non-empty). `information(item)` is the item's self-information in bits
  /// (-log2 of its share of buyers before the split), for novelty.
  public mutating func add(ranked: [String], relevant: Set<String>, information: (String) -> Double) {
    precondition(!relevant.isEmpty, "a user without relevant items says nothing about the ranking")
    users += 1
    let top = Array(ranked.prefix(cutoffs.last ?? 0))
    for (c, k) in cutoffs.enumerated() {
      let list = top.prefix(k)
      let found = list.filter(relevant.contains).count
      hits[c] += found > 0 ? 1 : 0
      recalls[c] += Double(found) / Double(relevant.count)
      let dcg = list.enumerated().reduce(0.0) { sum, entry in
        relevant.contains(entry.element) ? sum + 1 / log2(Double(entry.offset) + 2) : sum
      }
      let ideal = (0..<min(k, relevant.count)).reduce(0.0) { $0 + 1 / log2(Double($1) + 2) }
      gains[c] += dcg / ideal
    }
    if let first = top.firstIndex(where: relevant.contains) { reciprocalRanks += 1 / Double(first + 1) }
    for item in top {
      recommended.insert(item)
      noveltySum += information(item)
    }
    recommendedCount += top.count
  }

  /// Averages over the users added (0 when there are none).
  public func summary(catalogSize: Int) -> Summary {
    let n = Double(max(users, 1))
    return Summary(
      users: users,
      hitRate: hits.map { $0 / n }, recall: recalls.map { $0 / n }, ndcg: gains.map { $0 / n },
      mrr: reciprocalRanks / n,
      coverage: catalogSize == 0 ? 0 : Double(recommended.count) / Double(catalogSize),
      novelty: recommendedCount == 0 ? 0 : noveltySum / Double(recommendedCount))
  }

  /// Mean metrics; arrays follow `cutoffs`.
  public struct Summary: Codable, Hashable, Sendable {
    public var users: Int
    public var hitRate: [Double]
    public var recall: [Double]
    public var ndcg: [Double]
    /// Mean reciprocal rank of the first relevant item within the longest cut-off.
    public var mrr: Double
    /// Share of the catalogue recommended to anyone within the longest cut-off.
    public var coverage: Double
    /// Mean self-information (bits) of recommended items: higher means less obvious.
    public var novelty: Double
  }
}

/// The evaluation report as a Markdown table (one row per recommender), as docs/real-data.md shows it.
public enum EvaluationTable {
  /// Renders `report`: HitRate, Recall and NDCG at each cut-off, then MRR, coverage and novelty.
  public static func render(_ report: Evaluator.Report) -> String {
    let ks = report.cutoffs
    var header = ["recommender"]
    header += ks.map { "HR@\($0)" } + ks.map { "Recall@\($0)" } + ks.map { "NDCG@\($0)" }
    header += ["MRR", "coverage", "novelty"]
    var lines = ["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count)]
    for row in report.rows {
      let m = row.metrics
      let cells = [row.name] + (m.hitRate + m.recall + m.ndcg + [m.mrr, m.coverage]).map { String(format: "%.4f", $0) }
        + [String(format: "%.2f", m.novelty)]
      lines.append("| " + cells.joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n")
  }
}
