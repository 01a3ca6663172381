import FeatureStore
import FunnelCore
import FunnelTestSupport
import IndexFormat
import Ranking
import Serving
import Testing

/// The ranker's per-candidate profile features (filled through an index of the profile built per
/// request) equal what `UserProfile` itself says, for every item of the catalog.
@Suite struct ProfileFeatureTests {
  static let schema = FeatureSchema(["user_category_affinity", "recently_purchased", "recently_viewed",
                                     "user_item_purchases", "seconds_since_last_seen"])

  @Test(arguments: [0, 5, 60])
  func profileFeaturesMatchTheProfile(interactions: Int) throws {
    let generation = TestEngines.sharedGeneration
    let items = generation.items
    // A history touching several categories, with repeats and purchases among views.
    let recent = (0..<interactions).map { (i: Int) -> RecentInteraction in
      let doc = DocID(rawValue: UInt32(i * 7 % 97))
      let kind: EventKind = i % 4 == 0 ? .purchase : .view
      return RecentInteraction(itemID: items.id(doc), kind: kind, timestampMs: TestEngines.nowMs - Int64(i) * 60_000)
    }
    let profile = UserProfile(recent: recent, generation: generation, nowMs: TestEngines.nowMs)
    let candidates = (0..<generation.itemCount).map { Candidate(doc: DocID(rawValue: UInt32($0))) }
    let ranker = CandidateRanker(model: try LinearModel(version: "p", schema: Self.schema, weights: [1, 1, 1, 1, 1], bias: 0,
                                                        logistic: false))
    let rows = ranker.featureRows(candidates, RankingInputs(profile: profile, generation: generation))
    // The profile's facts as sets and dictionaries, built here from its list of items (not through
    // the table the ranker probes).
    let facts = profile.interacted
    let lastSeenMs = Dictionary(uniqueKeysWithValues: facts.map { ($0.doc, $0.facts.lastSeenMs) })
    let purchasedItems = Set(facts.filter(\.facts.purchased).map(\.doc))
    let viewedItems = Set(facts.filter(\.facts.viewed).map(\.doc))
    let purchaseCounts = Dictionary(uniqueKeysWithValues: facts.filter { $0.facts.purchases > 0 }
      .map { ($0.doc, Int($0.facts.purchases)) })
    var mismatches = 0
    for (candidate, row) in zip(candidates, rows) {
      let doc = candidate.doc
      var seen = Float.nan
      if let ms = lastSeenMs[doc] { seen = Float(max(0, profile.asOfMs - ms)) / 1000 }
      let purchased: Float = purchasedItems.contains(doc) ? 1 : 0
      let viewed: Float = viewedItems.contains(doc) ? 1 : 0
      let expected: [Float] = [profile.affinity(to: doc, in: generation), purchased, viewed,
                               Float(purchaseCounts[doc] ?? 0), seen]
      let same = zip(expected, row).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
      if !same {
        mismatches += 1
        if mismatches <= 3 { Issue.record("doc \(doc.rawValue): \(row) vs \(expected)") }
      }
    }
    #expect(mismatches == 0)
    if interactions > 0 {
      #expect(rows.contains { $0[1] == 1 } && rows.contains { $0[2] == 1 } && rows.contains { $0[0] > 0 && $0[0] < 1 })
    }
  }
}
