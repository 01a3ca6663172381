import DemoCatalog
import Evaluation
import Foundation
import FunnelCore
import Ranking
import Testing

@Suite struct RankingMetricsTests {
  @Test func knownValues() {
    var metrics = RankingMetrics(cutoffs: [2, 1])
    // Relevant items at ranks 2 and 3 of 3 relevant: HR@1 0, HR@2 1, recall@2 1/3,
    // NDCG@2 = (1/log2 3) / (1 + 1/log2 3), MRR 1/2.
    metrics.add(ranked: ["a", "b", "c"], relevant: ["b", "c", "z"], information: { _ in 2 })
    metrics.add(ranked: [], relevant: ["q"], information: { _ in 2 })
    let s = metrics.summary(catalogSize: 10)
    #expect(metrics.cutoffs == [1, 2] && s.users == 2)
    #expect(s.hitRate == [0, 0.5] && abs(s.recall[1] - 1.0 / 6) < 1e-12)
    let ndcg2 = (1 / log2(3.0)) / (1 + 1 / log2(3.0))
    #expect(abs(s.ndcg[1] - ndcg2 / 2) < 1e-12 && s.ndcg[0] == 0)
    #expect(s.mrr == 0.25 && s.coverage == 0.2 && s.novelty == 2)
  }
}

@Suite struct EvaluatorTests {
  /// The demo shop split 10 days before its end: baselines and the engine produce sane metrics, and
  /// a user's own repeat purchases are found by the repeat baseline.
  @Test func evaluatesBaselinesAndTheEngine() async throws {
    let store = DemoStore(.small())
    let split = store.configuration.endTimeMs - 10 * 86_400_000
    let report = try await Evaluator(items: store.items, events: store.events).run(
      split: .time(split), cutoffs: [10, 20], models: [("recall only", Evaluator.recallOnlyModel), ("ranked", BuiltinModel.model)],
      sample: 50)
    #expect((10...50).contains(report.users) && report.cutoffs == [10, 20], "\(report.users) customers")
    #expect(report.rows.map(\.name) == ["global popularity", "recent popularity (30 days)", "repeat purchases", "ItemCF",
                                        "repeat purchases, then ItemCF", "recall only", "ranked"])
    for row in report.rows {
      let m = row.metrics
      #expect(m.users == report.users && (0...1).contains(m.mrr) && (0...1).contains(m.coverage))
      #expect(zip(m.hitRate, m.hitRate.dropFirst()).allSatisfy { $0 <= $1 }, "\(row.name): HR grows with K")
      #expect(m.ndcg.allSatisfy { (0...1).contains($0) })
    }
    let popular = report.rows[0].metrics, engine = report.rows[5].metrics
    #expect(popular.coverage < engine.coverage, "personalised lists cover more of the catalogue")
    #expect(engine.hitRate[1] > 0)
  }

  /// Leave-last-out per user on a discovery scene: every user with enough events is evaluated, the
  /// repeat baselines (nothing to repeat in discovery) are left out.
  @Test func perUserHoldoutOnADiscoveryScene() async throws {
    let store = DemoStore(.small())
    let report = try await Evaluator(items: store.items, events: store.events).run(
      split: .perUser(fraction: 0.2), cutoffs: [10], models: [("recall only", Evaluator.recallOnlyModel)], sample: nil,
      scene: .home)
    #expect(report.protocolName == "per-user last 20%" && report.users > 20, "\(report.users)")
    #expect(report.rows.map(\.name) == ["global popularity", "recent popularity (30 days)", "ItemCF", "recall only"])
    #expect(report.rows.allSatisfy { $0.metrics.users == report.users && (0...1).contains($0.metrics.ndcg[0]) })
  }

  @Test func refusesASplitWithoutHistory() async throws {
    let store = DemoStore(.small())
    await #expect(throws: FunnelError.self) {
      _ = try await Evaluator(items: store.items, events: store.events).run(split: .time(0), cutoffs: [10], models: [], sample: nil)
    }
  }
}
