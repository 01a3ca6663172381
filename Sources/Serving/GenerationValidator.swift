import FunnelCore
import IndexFormat
import Recall

/// Checks a freshly built generation before it is published: its size against the generation it
/// replaces, and smoke queries (each of a deterministic sample of items must be found in the top 10
/// by its own title). Stateless.
public struct GenerationValidator: Sendable {
  /// Least items of the new generation, as a share of the previous one's (a truncated catalog is refused).
  public var minItemRatio: Double
  /// Items sampled for the smoke queries.
  public var smokeQueries: Int
  /// Least share of the sampled items found in the top 10 by their title.
  public var minSmokeRecall: Double

  public init(minItemRatio: Double = 0.9, smokeQueries: Int = 100, minSmokeRecall: Double = 0.9) {
    self.minItemRatio = minItemRatio
    self.smokeQueries = smokeQueries
    self.minSmokeRecall = minSmokeRecall
  }

  /// What the checks found.
  public struct Report: Sendable {
    public var items = 0, previousItems = 0, smokeQueries = 0, smokeFound = 0
    /// Why the generation is refused; empty when it passes.
    public var problems: [String] = []
    public var passed: Bool { problems.isEmpty }
  }

  /// Checks `generation` against `previous` (nil: the first generation). O(sample x BM25 query).
  public func check(_ generation: IndexGeneration, previous: IndexGeneration?) -> Report {
    var report = Report()
    report.items = generation.itemCount
    report.previousItems = previous?.itemCount ?? 0
    if generation.itemCount == 0 { report.problems.append("the generation has no items") }
    if let previous, Double(generation.itemCount) < minItemRatio * Double(previous.itemCount) {
      report.problems.append("\(generation.itemCount) items, fewer than \(minItemRatio) of the previous generation's \(previous.itemCount)")
    }
    let n = min(smokeQueries, generation.itemCount)
    guard n > 0 else { return report }
    var random = SplitMix64(seed: 29)
    for _ in 0..<n {
      let doc = DocID(rawValue: UInt32(random.next() % UInt64(generation.itemCount)))
      let terms = generation.analyzer.terms(generation.items.item(doc).title)
      guard !terms.isEmpty else { continue }
      report.smokeQueries += 1
      if TextRecall.exhaustiveTop(terms: terms, index: generation.text, k: 10).contains(where: { $0.0 == doc }) { report.smokeFound += 1 }
    }
    if report.smokeQueries > 0, Double(report.smokeFound) < minSmokeRecall * Double(report.smokeQueries) {
      report.problems.append("smoke queries: \(report.smokeFound) of \(report.smokeQueries) items found by their title in the top 10 (need \(minSmokeRecall))")
    }
    return report
  }
}
