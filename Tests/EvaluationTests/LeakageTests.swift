import DemoCatalog
import Evaluation
import Foundation
import FunnelCore
import IndexBuilder
import Testing

/// What the replay and the evaluation see ends at the split: nothing after it reaches a feature, a
/// history or an index.
@Suite struct LeakageTests {
  static let store = DemoStore(.small())

  /// The replay's features do not move when everything from the replay time on is changed (each
  /// event moved to another item): only the labels may. And events after the label window are
  /// never read at all.
  @Test func replayFeaturesEndAtTheReplayTime() async throws {
    let end = Self.store.configuration.endTimeMs
    let (asOf, until) = (end - 20 * 86_400_000, end - 10 * 86_400_000)
    let items = Self.store.items
    let original = try await TrainingReplay(items: items, events: Self.store.events).lists(asOfMs: asOf, untilMs: until)
    let truncated = try await TrainingReplay(items: items, events: Self.store.events.filter { $0.timestampMs < until })
      .lists(asOfMs: asOf, untilMs: until)
    #expect(original.lists.count == truncated.lists.count && zip(original.lists, truncated.lists).allSatisfy(Self.same),
            "events after the window change nothing")

    var shifted = Self.store.events
    for i in shifted.indices where shifted[i].timestampMs >= asOf {
      let index = (items.firstIndex { $0.id == shifted[i].itemID } ?? 0)
      shifted[i].itemID = items[(index + 7) % items.count].id
    }
    let moved = try await TrainingReplay(items: items, events: shifted).lists(asOfMs: asOf, untilMs: until)
    let before = Dictionary(uniqueKeysWithValues: original.lists.map { ($0.requestID, $0) })
    var compared = 0
    for list in moved.lists {
      guard let other = before[list.requestID] else { continue }
      var relabelled = other
      relabelled.labels = list.labels
      #expect(Self.same(list, relabelled), "user \(list.requestID)")
      compared += 1
    }
    #expect(compared > 5, "\(compared) users in both replays")
  }

  /// Equal lists, a missing feature (NaN) equal to a missing feature.
  static func same(_ a: LabelledList, _ b: LabelledList) -> Bool {
    a.requestID == b.requestID && a.items == b.items && a.labels == b.labels && a.featureNames == b.featureNames
      && a.features.elementsEqual(b.features) { x, y in x.elementsEqual(y) { $0 == $1 || ($0.isNaN && $1.isNaN) } }
  }

  /// A per-user split hands each user only their own events before their cut, and a time split
  /// only events before the split.
  @Test func historiesEndAtEachUsersCut() {
    let evaluator = Evaluator(items: Self.store.items, events: Self.store.events)
    let (history, future, cut, asOf) = evaluator.partition(.perUser(fraction: 0.25))
    #expect(!cut.isEmpty && !future.isEmpty)
    for e in history { if let at = cut[e.userID] { #expect(e.timestampMs < at) } }
    for e in future { #expect(e.timestampMs >= cut[e.userID]! && e.kind == .purchase) }
    #expect(history.allSatisfy { $0.timestampMs < asOf })
    let split = Self.store.configuration.endTimeMs - 5 * 86_400_000
    let time = evaluator.partition(.time(split))
    #expect(time.history.allSatisfy { $0.timestampMs < split } && time.future.allSatisfy { $0.timestampMs >= split })
    #expect(time.asOfMs == split)
    // The validation split inside a history lies wholly inside it.
    if case .time(let inner) = Evaluator.innerSplit(.time(split), days: 30) { #expect(inner == split - 30 * 86_400_000) } else {
      Issue.record("a time split's inner split is a time split")
    }
  }

  /// Factor baselines and segments: every method gets a row with new / light / heavy segments whose
  /// users add up; a user the factors do not know falls back to popularity.
  @Test func factorBaselinesAndSegments() async throws {
    let split = Self.store.configuration.endTimeMs - 10 * 86_400_000
    var rng = SplitMix64(seed: 3)
    let history = Self.store.events.filter { $0.timestampMs < split }
    var itemFactors: [ItemID: [Float]] = [:]
    for item in Self.store.items { itemFactors[item.id] = (0..<3).map { _ in Float.random(in: -1...1, using: &rng) } }
    var userFactors: [UserID: [Float]] = [:]
    for user in Set(history.map(\.userID)) { userFactors[user] = (0..<3).map { _ in Float.random(in: -1...1, using: &rng) } }
    let factors = LearnedFactors(model: "als", dimension: 3, items: itemFactors, users: userFactors)
    var setup = EngineSetup()
    setup.build.factors = factors
    let report = try await Evaluator(items: Self.store.items, events: Self.store.events).run(
      split: .time(split), cutoffs: [10, 20], models: [("recall only", Evaluator.recallOnlyModel)], sample: 40,
      setup: setup, factorBaselines: [("ALS", factors)])
    #expect(report.rows.map(\.name).contains("ALS"))
    for row in report.rows {
      #expect(row.segments.map(\.name) == ["new", "light", "heavy"])
      #expect(row.segments[1].metrics.users + row.segments[2].metrics.users == report.users, "\(row.name)")
      #expect(row.segments[0].metrics.users == report.newUsers)
    }
  }
}
