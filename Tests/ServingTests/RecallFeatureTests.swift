import FunnelCore
import FunnelTestSupport
import Ranking
import Serving
import Testing

/// The ranker's recall-score columns (one loop per column, reading the channel's lane) hold each candidate's
/// best score from that channel, whatever the columns' order and the other columns between them.
@Suite struct RecallFeatureTests {
  @Test func recallColumnsHoldEachChannelsScore() throws {
    let names: [(String, ChannelSet)] = [
      ("recall_vector", .vector), ("price", []), ("recall_popular", .popular), ("recall_session", .session),
      ("recall_category", .category), ("channel_count", []), ("recall_factors", .factors), ("recall_text", .text),
      ("recall_similar", .similar), ("recall_repeat", .repeatPurchase), ("recall_rule", .rule),
      ("recall_trending", .trending), ("recall_swing", .swing), ("recall_user_cf", .userCF),
    ]
    let schema = FeatureSchema(names.map(\.0))
    let ranker = CandidateRanker(model: try LinearModel(version: "r", schema: schema, weights: names.map { _ in 1 }, bias: 0,
                                                        logistic: false))
    let generation = TestEngines.sharedGeneration
    var rng = SplitMix64(seed: 61)
    let candidates = (0..<min(300, generation.itemCount)).map { i -> Candidate in
      var c = Candidate(doc: DocID(rawValue: UInt32(i)))
      for (_, channel) in names where !channel.isEmpty && rng.next() % 3 != 0 {
        c.add(channel, score: Float(rng.next() % 1_000) / 999)
      }
      return c
    }
    let rows = ranker.featureRows(candidates, RankingInputs(profile: UserProfile(), generation: generation))
    for (candidate, row) in zip(candidates, rows) {
      for (column, (name, channel)) in names.enumerated() where !channel.isEmpty {
        #expect(row[column] == candidate.score(of: channel), "doc \(candidate.doc.rawValue), \(name)")
      }
    }
  }
}
