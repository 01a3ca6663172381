import Foundation
import Ranking

/// The offline gate a retrained model passes before it may serve anyone: on a held-out slice of
/// served lists (answers after every answer it trained on), its NDCG@K, re-ranking each list's
/// shown items by its scores on the inputs they were served with, must not fall below the serving
/// model's on the same lists by more than `margin` (absolute). Gains are 2^label - 1 (labels 0...3,
/// `LabelledList`); lists without a positive label are skipped; ties keep the served order.
///
/// Clicks on logged lists are biased towards the top of the order that was served, so plain NDCG
/// on them favours the serving model (it put those items there). Each gain is therefore divided by
/// the chance its item was examined at its served rank r, (1/r)^`positionBias` (inverse propensity
/// weighting, as in unbiased learning to rank); `positionBias` 0 turns the correction off.
/// Pure; O(lists x items x model cost).
public struct RetrainGate: Sendable {
  /// The verdict with its figures.
  public struct Report: Hashable, Sendable {
    /// Whether the candidate may go on to the canary.
    public var passed: Bool
    /// The candidate's mean NDCG@K over the held-out lists.
    public var candidateNDCG: Double
    /// The serving model's, on the same lists.
    public var servingNDCG: Double
    /// The served order's (what users actually saw), for reference.
    public var servedNDCG: Double
    /// Held-out lists with a positive label (the ones judged).
    public var lists: Int
    /// One sentence: why.
    public var reason: String
  }

  /// Cut-off of NDCG.
  public var k: Int
  /// Largest tolerated drop of the candidate's NDCG below the serving model's.
  public var margin: Double
  /// Fewest judged lists for a verdict (fewer: refused, nothing to judge on).
  public var minLists: Int
  /// Exponent η of the examination propensity (1/rank)^η; 0: no correction.
  public var positionBias: Double

  /// A gate; see the type's description.
  public init(k: Int = 20, margin: Double = 0.01, minLists: Int = 50, positionBias: Double = 1) {
    self.k = max(1, k)
    self.margin = max(0, margin)
    self.minLists = max(1, minLists)
    self.positionBias = max(0, positionBias)
  }

  /// Judges `candidate` against `serving` on `heldOut`.
  public func evaluate(candidate: any ScoringModel, serving: any ScoringModel, heldOut: [LabelledList]) -> Report {
    let judged = heldOut.filter(\.hasPositive)
    let c = Self.meanNDCG(judged, k: k, positionBias: positionBias) { Self.scores(candidate, $0) }
    let s = Self.meanNDCG(judged, k: k, positionBias: positionBias) { Self.scores(serving, $0) }
    let served = Self.meanNDCG(judged, k: k, positionBias: positionBias) { list in list.items.indices.map { -Float($0) } }
    let figures = String(format: "NDCG@%d %.4f against the serving model's %.4f on %d held-out lists (margin %.4f)",
                         k, c, s, judged.count, margin)
    guard judged.count >= minLists else {
      return Report(passed: false, candidateNDCG: c, servingNDCG: s, servedNDCG: served, lists: judged.count,
                    reason: "too few held-out lists with a click, cart or purchase (\(judged.count) < \(minLists)): \(figures)")
    }
    let passed = c >= s - margin
    return Report(passed: passed, candidateNDCG: c, servingNDCG: s, servedNDCG: served, lists: judged.count,
                  reason: (passed ? "passed: " : "refused: ") + figures)
  }

  /// Mean NDCG@`k` of `lists` ordered by `score` (higher first; ties by served position), each
  /// gain weighted by rank^`positionBias` of its served rank (see the type).
  public static func meanNDCG(_ lists: [LabelledList], k: Int, positionBias: Double = 0, score: (LabelledList) -> [Float]) -> Double {
    guard !lists.isEmpty else { return 0 }
    var sum = 0.0
    for list in lists {
      let s = score(list)
      let order = list.items.indices.sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
      let gains = list.labels.enumerated().map { served, label in
        (pow(2, Double(label)) - 1) * pow(Double(served + 1), positionBias)
      }
      sum += ndcg(gains: order.map { gains[$0] }, k: k)
    }
    return sum / Double(lists.count)
  }

  /// NDCG@`k` of graded `labels` in ranked order (gain 2^label - 1, discount log2(rank + 1)); 0 when
  /// no label is positive.
  public static func ndcg(_ labels: [Int], k: Int) -> Double {
    ndcg(gains: labels.map { pow(2, Double($0)) - 1 }, k: k)
  }

  /// NDCG@`k` of `gains` in ranked order (discount log2(rank + 1)); 0 when no gain is positive.
  public static func ndcg(gains: [Double], k: Int) -> Double {
    func dcg(_ g: [Double]) -> Double {
      g.prefix(k).enumerated().reduce(0) { $0 + $1.element / log2(Double($1.offset) + 2) }
    }
    let ideal = dcg(gains.sorted(by: >))
    return ideal > 0 ? dcg(gains) / ideal : 0
  }

  /// `model`'s score of each shown item of `list` from its logged inputs, matched by name (inputs
  /// the model reads but the list did not log are missing).
  public static func scores(_ model: any ScoringModel, _ list: LabelledList) -> [Float] {
    let names = model.schema.names
    let columns = names.map { list.featureNames.firstIndex(of: $0) }
    var matrix = FeatureMatrix(columns: names.count, capacity: list.items.count)
    matrix.reset(rows: list.items.count)
    for (r, row) in list.features.enumerated() {
      for (c, source) in columns.enumerated() {
        if let source, source < row.count { matrix[r, c] = row[source] }
      }
    }
    var out = [Float](repeating: 0, count: list.items.count)
    model.score(matrix, into: &out)
    return out
  }
}
