import Experiments
import FeatureStore
import FunnelCore
import FunnelTestSupport
import Ranking
import Serving
import Testing

/// A model canary through the engine: the trial's users are ranked by the candidate, answers and
/// exposures name it, and simulated traffic with a known lift is judged from the engine's own log.
@Suite struct CanaryServingTests {
  func engine() -> (ServingEngine, EmbeddedFeatureStore, MemoryExposureLog) {
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    let log = MemoryExposureLog()
    var feedback = FeedbackSettings()
    feedback.exposureLog = log
    feedback.history = store
    let generation = TestEngines.sharedGeneration
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation, generationSource: StaticGenerationSource(generation: generation),
                               activity: store, events: store, storeName: "embedded", feedback: feedback,
                               now: { TestEngines.nowMs }))
    return (engine, store, log)
  }

  func candidate() throws -> any ScoringModel {
    try LinearModel(version: "ranker/2", schema: FeatureSchema(["in_stock"]), weights: [1], bias: 0, logistic: false)
  }

  /// Serves `rounds` home lists to every demo user; each list's first item is clicked with
  /// probability `rate(arm)` (seeded), with the answer's request id. Returns the lists per arm.
  func traffic(_ engine: ServingEngine, rounds: Int, rate: (String) -> Double) async throws -> [String: Int] {
    var rng = SplitMix64(seed: 42)
    var lists: [String: Int] = [:]
    for round in 0..<rounds {
      for user in TestEngines.store.userIDs {
        let answer = try await engine.recommend(RecommendInput(userID: user, scene: .home, count: 5))
        lists[answer.experimentArm, default: 0] += 1
        if rng.unit() < rate(answer.experimentArm) {
          _ = try await engine.track([EventInput(eventID: "c-\(round)-\(user)", userID: user, itemID: answer.items[0].itemID,
                                                 kind: .click, requestID: answer.requestID)])
        }
      }
    }
    return lists
  }

  @Test func theTrialsUsersAreRankedByTheCandidateUntilItEnds() async throws {
    let (engine, _, log) = engine()
    let serving = engine.ranker.model.version
    let trial = try Canary(model: "ranker/2", path: "unused", share: 0.3, scenes: ["home"], startedMs: 0, control: serving)
    engine.setCanary(trial, model: try candidate())
    #expect(engine.canary == trial)
    var inTrial = 0
    for user in TestEngines.store.userIDs {
      let answer = try await engine.recommend(RecommendInput(userID: user, scene: .home, count: 5))
      let expected = trial.includes(unit: user, scene: "home")
      #expect(answer.experimentArm == (expected ? Canary.label : "default"))
      #expect(answer.modelVersion == (expected ? "ranker/2" : serving))
      if expected { inTrial += 1 }
      let search = try await engine.search(SearchInput(query: "mug", userID: user, count: 3))
      #expect(search.modelVersion == serving, "scenes outside the trial keep the serving model")
    }
    #expect(inTrial > 30 && inTrial < 90, "about 30% of 200 users: \(inTrial)")
    // Every list logs what the guardrails judge: the answer's time, whether it was degraded, and each item's channel.
    _ = try await engine.flushExposures()
    let logged = try await log.exposures(sinceMs: 0)
    #expect(logged.count == 400 && logged.allSatisfy { $0.latencyMicros > 0 && !$0.degraded && $0.channels.count == $0.items.count })
    engine.setCanary(nil, model: nil)
    let after = try await engine.recommend(RecommendInput(userID: TestEngines.store.userIDs[0], scene: .home, count: 5))
    #expect(engine.canary == nil && after.modelVersion == serving && after.experimentArm == "default")
  }

  /// Traffic where the candidate's lists are clicked at `canaryRate` and the others at 0.2: judged
  /// from the exposure log and the accepted clicks, as `funnel pipeline canary` does.
  func judged(canaryRate: Double) async throws -> CanaryJudge.Verdict {
    let (engine, store, log) = engine()
    let trial = try Canary(model: "ranker/2", path: "unused", share: 0.5, scenes: ["home"], startedMs: 0,
                           control: engine.ranker.model.version)
    engine.setCanary(trial, model: try candidate())
    let lists = try await traffic(engine, rounds: 8) { $0 == Canary.label ? canaryRate : 0.2 }
    #expect(lists.count == 2)
    _ = try await engine.flushExposures()
    let attributed = Attribution.attribute(exposures: try await log.exposures(sinceMs: 0),
                                           events: try await store.events(sinceMs: 0), windowMs: 86_400_000)
    return CanaryJudge(metric: .clickThrough, minExposures: 600, tolerance: 0.02)
      .judge(trial, attributed: attributed, nowMs: TestEngines.nowMs)
  }

  @Test func aCanaryThatLosesOnlineIsRolledBackAndOneThatHoldsIsPromoted() async throws {
    let losing = try await judged(canaryRate: 0.1)
    #expect(losing.decision == .rollback, "\(losing.reason)")
    #expect(losing.lift < -0.3 && losing.lift > -0.7, "known lift -50%: \(losing.lift)")
    let holding = try await judged(canaryRate: 0.2)
    #expect(holding.decision == .promote, "\(holding.reason)")
  }
}
