import Experiments
import FeatureStore
import FunnelCore
import Testing

/// The canary's trial document and the judge's rule, on lists with known click-through.
@Suite struct CanaryJudgeTests {
  static let canary = try! Canary(model: "ranker/8", path: "/r/ranker/.candidates/8/model.txt", share: 0.2, scenes: ["home"],
                                  startedMs: 1_000, control: "ranker/7")

  /// `n` lists of `arm`/`model` in `scene` at `timeMs`, the first `clicked` of them clicked.
  static func lists(_ n: Int, clicked: Int, arm: String, model: String, scene: String = "home", timeMs: Int64 = 2_000,
                    latency: UInt32 = 0, degraded: Int = 0) -> [AttributedExposure] {
    (0..<n).map { i in
      var outcome = ItemOutcome()
      outcome.clicks = i < clicked ? 1 : 0
      let exposure = Exposure(requestID: "\(arm)-\(model)-\(scene)-\(i)", userID: "u\(i)", scene: scene, arm: arm,
                              modelVersion: model, timestampMs: timeMs, items: ["a"], latencyMicros: latency + UInt32(i % 100),
                              degraded: i < degraded)
      return AttributedExposure(exposure: exposure, outcomes: [outcome])
    }
  }

  @Test func aCandidateThatLosesIsRolledBackOneThatHoldsOrWinsIsPromoted() {
    let judge = CanaryJudge(metric: .clickThrough, minExposures: 1_000, tolerance: 0.02, alpha: 0.05)
    // Known lift -50%: 5% against 10% over 3,000 lists each.
    let losing = judge.judge(Self.canary, attributed: Self.lists(3_000, clicked: 150, arm: Canary.label, model: "ranker/8")
                             + Self.lists(3_000, clicked: 300, arm: "default", model: "ranker/7"), nowMs: 10_000)
    #expect(losing.decision == .rollback)
    #expect(abs(losing.lift + 0.5) < 1e-9 && losing.canary.trials == 3_000 && losing.control.trials == 3_000)
    // Hand computation: pooled p = 450/6000, se = sqrt(p(1-p)(2/3000)), z = -0.05/se.
    let pooled = 450.0 / 6_000
    let z = -0.05 / (pooled * (1 - pooled) * (2.0 / 3_000)).squareRoot()
    #expect(abs((losing.canary.z ?? 0) - z) < 1e-9)

    let holding = judge.judge(Self.canary, attributed: Self.lists(3_000, clicked: 297, arm: Canary.label, model: "ranker/8")
                              + Self.lists(3_000, clicked: 300, arm: "default", model: "ranker/7"), nowMs: 10_000)
    #expect(holding.decision == .promote && holding.reason.contains("holds"), "\(holding.reason)")
    let winning = judge.judge(Self.canary, attributed: Self.lists(3_000, clicked: 400, arm: Canary.label, model: "ranker/8")
                              + Self.lists(3_000, clicked: 300, arm: "default", model: "ranker/7"), nowMs: 10_000)
    #expect(winning.decision == .promote && winning.reason.contains("wins"), "\(winning.reason)")
  }

  @Test func aSlowerOrMoreDegradedCandidateIsRolledBackWhateverItsClicks() {
    let judge = CanaryJudge(minExposures: 1_000, latencyTolerance: 0.25)
    let control = Self.lists(2_000, clicked: 200, arm: "default", model: "ranker/7", latency: 1_000, degraded: 20)
    // Same clicks, answers 60% slower at p95 (1,600-1,699 µs against 1,000-1,099 µs).
    let slow = judge.judge(Self.canary, attributed: control + Self.lists(2_000, clicked: 200, arm: Canary.label, model: "ranker/8",
                                                                          latency: 1_600, degraded: 20), nowMs: 10_000)
    #expect(slow.decision == .rollback && slow.reason.contains("too slow"), "\(slow.reason)")
    #expect(slow.canaryP95Micros == 1_694 && slow.controlP95Micros == 1_094)
    // 10% slower: within the tolerance.
    let close = judge.judge(Self.canary, attributed: control + Self.lists(2_000, clicked: 200, arm: Canary.label, model: "ranker/8",
                                                                           latency: 1_100, degraded: 20), nowMs: 10_000)
    #expect(close.decision == .promote, "\(close.reason)")
    // 5% of answers degraded against 1%.
    let failing = judge.judge(Self.canary, attributed: control + Self.lists(2_000, clicked: 200, arm: Canary.label, model: "ranker/8",
                                                                             latency: 1_000, degraded: 100), nowMs: 10_000)
    #expect(failing.decision == .rollback && failing.reason.contains("degrades"), "\(failing.reason)")
    #expect(failing.canaryDegraded == 0.05 && failing.controlDegraded == 0.01)
  }

  @Test func onlyTheTrialsListsCountAndTooFewWaitOrTimeOut() {
    let judge = CanaryJudge(minExposures: 100, maxDurationMs: 50_000)
    // Lists before the start, in another scene, or ranked by a third model are not judged.
    let noise = Self.lists(500, clicked: 0, arm: "default", model: "ranker/7", timeMs: 500)
      + Self.lists(500, clicked: 0, arm: "default", model: "ranker/7", scene: "search")
      + Self.lists(500, clicked: 0, arm: "exp:b", model: "other")
    let lists = Self.lists(99, clicked: 9, arm: Canary.label, model: "ranker/8") + Self.lists(200, clicked: 20, arm: "default", model: "ranker/7")
    let waiting = judge.judge(Self.canary, attributed: lists + noise, nowMs: 10_000)
    #expect(waiting.decision == .wait && waiting.canary.trials == 99 && waiting.control.trials == 200)
    #expect(judge.judge(Self.canary, attributed: lists + noise, nowMs: 60_000).decision == .rollback, "an undecidable trial ends")
    let enough = lists + Self.lists(1, clicked: 0, arm: Canary.label, model: "ranker/8")
    #expect(judge.judge(Self.canary, attributed: enough, nowMs: 10_000).decision == .promote)
  }

  @Test func theTrialDocumentRoundTripsAndIsChecked() throws {
    #expect(try Canary(json: Self.canary.json()) == Self.canary)
    #expect(throws: FunnelError.self) { try Canary(json: "{\"model\":\"x\"}") }
    for bad in [0.0, 0.6, -1] {
      #expect(throws: FunnelError.self) {
        try Canary(model: "m", path: "p", share: bad, startedMs: 0, control: "c")
      }
    }
    #expect(throws: FunnelError.self) { try Canary(model: "m", path: "p", share: 0.1, scenes: ["nowhere"], startedMs: 0, control: "c") }
    #expect(throws: FunnelError.self) {
      try ExperimentPlan(experiments: [.init(name: "canary", salt: "s", arms: [.init(name: "a", share: 1)], control: "a")])
    }
  }

  @Test func theShareIsStableAndEachCandidateDrawsItsOwnUsers() throws {
    let users = (0..<20_000).map { "user-\($0)" }
    let inCanary = users.filter { Self.canary.includes(unit: $0, scene: "home") }
    #expect(abs(Double(inCanary.count) / 20_000 - 0.2) < 0.01)
    #expect(!users.contains { Self.canary.includes(unit: $0, scene: "search") }, "scenes outside the trial are untouched")
    var next = Self.canary
    next.model = "ranker/9"
    let other = Set(users.filter { next.includes(unit: $0, scene: "home") })
    let overlap = Double(other.intersection(inCanary).count) / Double(inCanary.count)
    #expect(abs(overlap - 0.2) < 0.03, "a new candidate's users are independent of the last one's")
  }
}
