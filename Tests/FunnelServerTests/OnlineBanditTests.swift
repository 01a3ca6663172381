import FeatureStore
import Foundation
import FunnelCore
import FunnelServer
import FunnelTestSupport
import Logging
import RedisStore
import Serving
import Testing

/// The online channel bandit against the real Redis (one server and the cluster): simulated
/// shoppers click the items of one channel twice as often as the rest; the learner turns the
/// exposure log and the clicks into counts within a round, answers shift towards that channel
/// (its share of slots and the click count it took are printed), a second replica reads the same
/// counts, and a learner that takes over resumes from the stored positions without counting
/// anything twice.
@Suite(.enabled(if: StoreEnvironment.redisURL != nil || StoreEnvironment.isCI, "REDIS_URL is not set: run Scripts/test"))
struct OnlineBanditTests {
  struct Replica {
    let engine: ServingEngine
    let bandit: OnlineBandit
  }

  static func replica(url: String, prefix: String, owner: String) throws -> Replica {
    let client = try RedisClient(url: url)
    let log = RedisExposureLog(client: client, keyPrefix: prefix)
    let stream = RedisEventStream(client: client, store: RedisFeatureStore(client: client, keyPrefix: prefix))
    var feedback = FeedbackSettings()
    feedback.exposureLog = log
    var configuration = ServingConfiguration()
    configuration.banditScenes = [.home]
    let store = EmbeddedFeatureStore()
    store.seed(TestEngines.store.events)
    let generation = TestEngines.sharedGeneration
    let engine = ServingEngine(dependencies: ServingDependencies(
      generation: generation, generationSource: StaticGenerationSource(generation: generation), activity: store, events: store,
      storeName: "embedded", feedback: feedback, now: { TestEngines.nowMs }), configuration: configuration)
    let bandit = OnlineBandit(engine: engine, state: RedisBanditState(client: client, keyPrefix: prefix), exposures: log, events: stream,
                              owner: owner, logger: Logger(label: "test.bandit"))
    return Replica(engine: engine, bandit: bandit)
  }

  /// One round of shoppers: 40 home lists of 10; an item is clicked with probability 0.1, or 0.2
  /// when its channel is `favoured`. Returns (the favoured channel's share of shown items, clicks).
  static func round(_ replica: Replica, stream: RedisEventStream, favoured: String, round: Int,
                    rng: inout SplitMix64) async throws -> (share: Double, clicks: Int) {
    var shown = 0, favouredShown = 0
    var clicks: [BehaviourEvent] = []
    for (n, user) in TestEngines.store.userIDs.prefix(40).enumerated() {
      let answer = try await replica.engine.recommend(RecommendInput(userID: user, scene: .home, count: 10))
      for item in answer.items {
        shown += 1
        let isFavoured = item.channels.first == favoured
        if isFavoured { favouredShown += 1 }
        if rng.unit() < (isFavoured ? 0.2 : 0.1) {
          clicks.append(BehaviourEvent(eventID: "b-\(round)-\(n)-\(item.itemID)", userID: user, itemID: item.itemID, kind: .click,
                                       timestampMs: TestEngines.nowMs, requestID: answer.requestID))
        }
      }
    }
    _ = try await replica.engine.flushExposures()
    _ = try await stream.append(clicks)
    return (Double(favouredShown) / Double(max(1, shown)), clicks.count)
  }

  @Test(arguments: StoreEnvironment.redisURLs) func answersMoveToTheBetterChannelAndTheStateSurvivesARestart(url: String) async throws {
    let prefix = "funnel:test:\(UInt64.random(in: 0...UInt64.max)):"
    let client = try RedisClient(url: url)
    let stream = RedisEventStream(client: client, store: RedisFeatureStore(client: client, keyPrefix: prefix))
    let first = try Self.replica(url: url, prefix: prefix, owner: "first")
    var learner = OnlineBandit.Learner()
    var rng = SplitMix64(seed: 5)
    let favoured = "similar"
    var shares: [Double] = []
    var clicks = 0
    var movedAfter: Int?
    for r in 0..<30 {
      let (share, n) = try await Self.round(first, stream: stream, favoured: favoured, round: r, rng: &rng)
      shares.append(share)
      clicks += n
      await first.bandit.learn(&learner, nowMs: TestEngines.nowMs)
      await first.bandit.sync()
      #expect(learner.leading, "the only replica learns")
      if movedAfter == nil, r >= 3, shares.suffix(3).reduce(0, +) / 3 > 2 * shares[0] { movedAfter = clicks }
    }
    let arms = try #require(first.engine.channelArms?.arms["home"])
    let best = try #require(arms.max { $0.value.mean < $1.value.mean })
    print("online bandit (\(url.hasPrefix("redis-cluster") ? "cluster" : "single")): \(favoured)'s share of slots "
          + "\(String(format: "%.2f", shares[0])) -> \(String(format: "%.2f", shares.suffix(5).reduce(0, +) / 5)) "
          + "(doubled after \(movedAfter.map(String.init) ?? "-") clicks of \(clicks)); posterior means "
          + arms.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.3f", $0.value.mean))" }.joined(separator: ", "))
    #expect(best.key == favoured, "the learnt best channel")
    #expect(shares.suffix(5).reduce(0, +) / 5 > shares[0] + 0.15, "\(shares)")
    #expect(movedAfter != nil, "the share doubled within 30 rounds: \(shares)")
    #expect(abs(arms[favoured]!.mean - 0.2) < 0.03, "its click rate is learnt: \(arms[favoured]!.mean)")

    // A second replica (or this one restarted) reads the same counts.
    let second = try Self.replica(url: url, prefix: prefix, owner: "second")
    await second.bandit.sync()
    #expect(second.engine.channelArms == first.engine.channelArms)
    // While the first holds the lease the second only follows.
    var follower = OnlineBandit.Learner()
    await second.bandit.learn(&follower, nowMs: TestEngines.nowMs)
    #expect(!follower.leading)
    // The first goes away; the second takes over from the stored positions: nothing new, nothing counted.
    let state = RedisBanditState(client: client, keyPrefix: prefix)
    try await state.release(owner: "first")
    let before = try await state.read()
    await second.bandit.learn(&follower, nowMs: TestEngines.nowMs)
    #expect(follower.leading)
    let after = try await state.read()
    #expect(after.arms.mapValues { [$0.shown, $0.clicked] } == before.arms.mapValues { [$0.shown, $0.clicked] })
    #expect(after.cursors == before.cursors)
    // A click on a list the first replica served before the hand-over still counts, once.
    let answer = try await first.engine.recommend(RecommendInput(userID: "late-user", scene: .home, count: 5))
    _ = try await first.engine.flushExposures()
    await second.bandit.learn(&follower, nowMs: TestEngines.nowMs)
    let item = answer.items[0]
    _ = try await stream.append([BehaviourEvent(eventID: "late-click", userID: "late-user", itemID: item.itemID, kind: .click,
                                                timestampMs: TestEngines.nowMs, requestID: answer.requestID)])
    await second.bandit.learn(&follower, nowMs: TestEngines.nowMs)
    await second.bandit.learn(&follower, nowMs: TestEngines.nowMs)
    let final = try await state.read()
    let arm = "home|" + item.channels[0]
    #expect(final.arms[arm]!.clicked == before.arms[arm, default: (0, 0)].clicked + 1)
    #expect(final.arms.values.reduce(0) { $0 + $1.shown } == before.arms.values.reduce(0) { $0 + $1.shown } + Double(answer.items.count))
  }
}
