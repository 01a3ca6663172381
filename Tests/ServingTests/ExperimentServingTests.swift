import Experiments
import FeatureStore
import FunnelCore
import FunnelTestSupport
import Ranking
import Serving
import Testing

/// Experiments, exposure logging and attribution through the engine.
@Suite struct ExperimentServingTests {
  static let plan = try! ExperimentPlan(experiments: [
    .init(name: "exp", salt: "test", scenes: ["home"],
          arms: [.init(name: "control", share: 0.5), .init(name: "narrow", share: 0.5, maxPerCategory: 1, quotas: ["popular": 0])],
          control: "control"),
  ])

  func engine(model: (any ScoringModel)? = nil) -> (ServingEngine, EmbeddedFeatureStore, MemoryExposureLog) {
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    let log = MemoryExposureLog()
    var feedback = FeedbackSettings()
    feedback.plan = Self.plan
    feedback.exposureLog = log
    feedback.history = store
    if let model { feedback.armModels["exp:narrow"] = model }
    let generation = TestEngines.sharedGeneration
    let engine = ServingEngine(dependencies: ServingDependencies(generation: generation, generationSource: StaticGenerationSource(generation: generation),
                               activity: store, events: store, storeName: "embedded", feedback: feedback,
                               now: { TestEngines.nowMs }))
    return (engine, store, log)
  }

  @Test func armsChangeTheAnswerAndTheResponseNamesThem() async throws {
    let constant = try LinearModel(version: "arm-model", schema: FeatureSchema(["in_stock"]), weights: [1], bias: 0, logistic: false)
    let (engine, _, log) = engine(model: constant)
    var seen: Set<String> = []
    for u in TestEngines.store.userIDs.prefix(40) {
      let answer = try await engine.recommend(RecommendInput(userID: u, scene: .home, count: 10))
      let arm = try #require(Self.plan.assign(unit: u, scene: "home"))
      #expect(answer.experimentArm == arm.label)
      #expect(answer.modelVersion == (arm.arm.name == "narrow" ? "arm-model" : engine.ranker.model.version))
      if arm.arm.name == "narrow" {
        #expect(!answer.items.contains { $0.channels == ["popular"] }, "the arm's quota turns the popular channel off")
      }
      seen.insert(answer.experimentArm)
    }
    #expect(seen == ["exp:control", "exp:narrow"])
    let search = try await engine.search(SearchInput(query: "mug", userID: "u1", count: 5))
    #expect(search.experimentArm == "default", "no experiment covers search")
    #expect(try await engine.flushExposures() == 41)
    let logged = try await log.exposures(sinceMs: 0)
    #expect(logged.count == 41 && logged.allSatisfy { !$0.items.isEmpty && $0.features.count == $0.items.count })
    for exposure in logged {
      // Each list logs the inputs of the model that ranked it: the arm's own, or the serving one.
      let names = exposure.arm == "exp:narrow" ? ["in_stock"] : engine.ranker.model.schema.names
      #expect(exposure.featureNames == names, "\(exposure.arm)")
    }
  }

  @Test func theReportCountsAttributedClicksAndForgetRemovesExposures() async throws {
    let (engine, _, log) = engine()
    var answers: [(String, ServingAnswer)] = []
    for u in TestEngines.store.userIDs.prefix(30) {
      answers.append((u, try await engine.recommend(RecommendInput(userID: u, scene: .home, count: 5))))
    }
    // Every third user clicks the first item, with the request id.
    var clicks: [String: Int] = [:]
    for (k, (u, answer)) in answers.enumerated() where k % 3 == 0 {
      _ = try await engine.track([EventInput(eventID: "click-\(k)", userID: u, itemID: answer.items[0].itemID, kind: .click,
                                             requestID: answer.requestID)])
      clicks[answer.experimentArm, default: 0] += 1
    }
    let report = try await engine.experimentReport(experiment: "exp", sinceMs: 0)
    #expect(report.map(\.arm) == ["control", "narrow"])
    for arm in report {
      let label = "exp:\(arm.arm)"
      #expect(arm.exposures == answers.filter { $0.1.experimentArm == label }.count)
      #expect(arm.clickThrough.successes == clicks[label, default: 0])
    }
    let user = answers[0].0
    let receipt = try await engine.forget(user: user)
    #expect(receipt.total >= 1 && receipt.parts.contains { $0.what == "exposures" && $0.count >= 1 }, "\(receipt)")
    #expect(try await log.exposures(sinceMs: 0).allSatisfy { $0.userID != user })
  }
}
