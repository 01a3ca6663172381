import FunnelCore
import FunnelTestSupport
import Serving
import Testing

/// Thompson sampling over channels: the Beta draws, the slot allocation and the engine's bandit scenes.
@Suite struct ChannelBanditTests {
  @Test func betaDrawsHaveTheRightMomentsAndAreReproducible() {
    var rng = SplitMix64(seed: 1)
    for (a, b) in [(1.0, 1.0), (2.0, 8.0), (30.0, 70.0), (0.5, 0.5)] {
      let n = 20_000
      let draws = (0..<n).map { _ in ChannelBandit.beta(a, b, &rng) }
      let mean = draws.reduce(0, +) / Double(n)
      let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
      #expect(abs(mean - a / (a + b)) < 0.01, "Beta(\(a), \(b)) mean \(mean)")
      #expect(abs(variance - a * b / ((a + b) * (a + b) * (a + b + 1))) < 0.006, "Beta(\(a), \(b)) variance \(variance)")
      #expect(draws.allSatisfy { (0...1).contains($0) })
    }
    var one = SplitMix64(seed: 9), two = SplitMix64(seed: 9)
    #expect((0..<100).map { _ in ChannelBandit.beta(3, 4, &one) } == (0..<100).map { _ in ChannelBandit.beta(3, 4, &two) })
  }

  /// 30 ranked candidates, channel = index % 3.
  static let ranked: [(Int, Float)] = (0..<30).map { ($0, Float(30 - $0)) }

  @Test func slotsFollowTheEvidenceAndTheModelOrdersWithinAChannel() {
    // Channel 1 clicked at 20%, the others at 5%, on 10,000 shown each.
    let arms = [ChannelArms.Arm(shown: 10_000, clicked: 500), ChannelArms.Arm(shown: 10_000, clicked: 2_000),
                ChannelArms.Arm(shown: 10_000, clicked: 500)]
    var rng = SplitMix64(seed: 3)
    var share = 0.0
    for _ in 0..<200 {
      let ordered = ChannelBandit.order(Self.ranked, slots: 5, arms: arms, channelOf: { $0 % 3 }, rng: &rng)
      #expect(ordered.count == 30 && Set(ordered.map(\.0)) == Set(0..<30), "a permutation")
      share += Double(ordered.prefix(5).filter { $0.0 % 3 == 1 }.count) / 1_000
      // Within a channel the ranked order holds.
      for c in 0..<3 {
        let mine = ordered.map(\.0).filter { $0 % 3 == c }
        #expect(mine == mine.sorted())
      }
    }
    #expect(share > 0.99, "the clearly better channel takes (almost) every slot: \(share)")
    // Without evidence every channel has the same chance.
    let flat = [ChannelArms.Arm](repeating: ChannelArms.Arm(), count: 3)
    var counts = [0, 0, 0]
    for _ in 0..<3_000 {
      let first = ChannelBandit.order(Self.ranked, slots: 1, arms: flat, channelOf: { $0 % 3 }, rng: &rng)[0].0
      counts[first % 3] += 1
    }
    #expect(counts.allSatisfy { abs($0 - 1_000) < 120 }, "\(counts)")
    // A channel with no candidates left never gets a slot; uncredited candidates follow.
    let ordered = ChannelBandit.order(Self.ranked, slots: 30, arms: arms, channelOf: { $0 < 3 ? $0 % 3 : 99 }, rng: &rng)
    #expect(Set(ordered.prefix(3).map(\.0)) == [0, 1, 2] && ordered.dropFirst(3).map(\.0) == Array(3..<30))
  }

  @Test func banditScenesMixChannelsByTheLearntCounts() async throws {
    var configuration = ServingConfiguration()
    configuration.banditScenes = [.home]
    let (engine, _) = TestEngines.engine(configuration: configuration)
    func share(_ channel: String) async throws -> Double {
      var hits = 0, shown = 0
      for user in TestEngines.store.userIDs.prefix(60) {
        let answer = try await engine.recommend(RecommendInput(userID: user, scene: .home, count: 10))
        shown += answer.items.count
        hits += answer.items.filter { $0.channels.first == channel }.count
      }
      return Double(hits) / Double(max(1, shown))
    }
    let before = try await share("popular")
    engine.setChannelArms(ChannelArms(arms: ["home": [
      "popular": .init(shown: 10_000, clicked: 3_000), "category": .init(shown: 10_000, clicked: 100),
      "similar": .init(shown: 10_000, clicked: 100), "trending": .init(shown: 10_000, clicked: 100),
      "vector": .init(shown: 10_000, clicked: 100), "repeat": .init(shown: 10_000, clicked: 100),
    ]]))
    let after = try await share("popular")
    #expect(after > before + 0.2 && after > 0.6, "popular's share of slots \(before) -> \(after)")
    // Other scenes are untouched.
    let search = try await engine.search(SearchInput(query: "mug", userID: "u1", count: 5))
    #expect(!search.items.isEmpty)
  }
}
