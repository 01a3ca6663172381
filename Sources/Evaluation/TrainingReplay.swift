import FeatureStore
import Foundation
import FunnelCore
import IndexBuilder
import Ranking
import Serving
import Synchronization

/// Training rows from a replay of the history: as of `asOfMs` (everything before it builds the index
/// generation and the users' histories), every customer who buys in `[asOfMs, untilMs)` is asked for
/// the scene's candidates through the real `ServingEngine`, and each candidate's model inputs are
/// recorded — computed by the serving code itself (`ServingEngine.candidateFeatures`), so training
/// and serving share one feature definition — with label 1 when the customer bought it in the window.
public struct TrainingReplay: Sendable {
  /// The features recorded: every feature the ranker computes, sorted.
  public static let schema = FeatureSchema(CandidateRanker.knownFeatures.sorted())

  /// What a replay wrote.
  public struct Summary: Sendable {
    public var queries = 0
    public var rows = 0
    public var positives = 0
    /// Items bought in the window, and how many of them the candidates held (recall's ceiling).
    public var boughtItems = 0
    public var recalledBoughtItems = 0
  }

  public let items: [CatalogItem]
  public let events: [BehaviourEvent]

  /// A replay over `items` and `events` (all dates).
  public init(items: [CatalogItem], events: [BehaviourEvent]) {
    self.items = items
    self.events = events
  }

  /// Writes CSV rows `query,label,item_id,<schema...>` (empty cell = missing) for customers with a
  /// history before `asOfMs` and a purchase in the window; customers whose candidates hold nothing
  /// they bought are skipped (no ranking signal). Throws if the output cannot be written.
  public func write(asOfMs: Int64, untilMs: Int64, to path: String, sample: Int? = nil, scene: Scene = .email) async throws -> Summary {
    let (lists, summary) = try await lists(asOfMs: asOfMs, untilMs: untilMs, sample: sample, scene: scene)
    do { _ = try LabelledList.writeCSV(lists, names: Self.schema.names, to: path, positions: false) } catch {
      throw FunnelError(.failedPrecondition, "cannot write \(path): \(error.localizedDescription)")
    }
    return summary
  }

  /// The replay's candidate lists, one per customer (`requestID` is the customer, `timestampMs`
  /// the replay time, features in `schema` order, label 1 when bought in the window), and its
  /// summary; see `write`.
  public func lists(asOfMs: Int64, untilMs: Int64, sample: Int? = nil, scene: Scene = .email,
                    setup: EngineSetup = .init()) async throws -> (lists: [LabelledList], summary: Summary) {
    try await TrainingReplay(items: items, events: events.filter { $0.timestampMs < untilMs })
      .lists(split: .time(asOfMs), sample: sample, scene: scene, setup: setup)
  }

  /// The replay over any split of `events` (`Evaluator.Split`): everything before the split (each
  /// user's own cut in a per-user split) builds the generation (as `setup` says) and the
  /// histories; each customer with a history and a purchase after it is asked for the scene's
  /// candidates as of their cut time, labelled 1 for what they bought after it.
  /// With `newUsers`, customers without a history who buy after the split are asked too (as
  /// strangers), so a ranker also learns what to show someone it knows nothing about.
  public func lists(split: Evaluator.Split, sample: Int? = nil, scene: Scene = .email, newUsers: Bool = false,
                    setup: EngineSetup = .init()) async throws -> (lists: [LabelledList], summary: Summary) {
    let (history, future, userCut, asOfMs) = Evaluator(items: items, events: events).partition(split)
    guard !history.isEmpty else { throw FunnelError(.invalidArgument, "no events before the replay time") }
    var truth: [UserID: Set<ItemID>] = [:]
    for e in future { truth[e.userID, default: []].insert(e.itemID) }
    let known = Set(history.map(\.userID))
    let users = Evaluator.sampled(truth.keys.filter { newUsers || known.contains($0) }, sample, seed: 1_001)
    let generation = try GenerationBuilder(options: setup.build).build(items: items, events: history, nowMs: asOfMs, version: "replay").open()
    let offline = setup.offline?(history, asOfMs)
    // The features recorded: every one the ranker computes, and the offline ones as of the cut.
    let schema = FeatureSchema(Self.schema.names + setup.offlineFeatureNames(offline))
    let clock = Mutex(asOfMs)
    let engine = Evaluator.engine(generation: generation, activity: Evaluator.activity(history), model: Evaluator.recallOnlyModel,
                                  configuration: setup.serving, offline: offline, now: { clock.withLock { $0 } })
    _ = try await engine.refreshItemFeatures()
    // A discovery scene is asked as the evaluation asks it: with what the user has seen excluded,
    // so the ranker trains on the candidates it will rank.
    var seen: [UserID: Set<ItemID>] = [:]
    if Evaluator.isDiscovery(scene, setup.serving) { for e in history { seen[e.userID, default: []].insert(e.itemID) } }
    var summary = Summary()
    var lists: [LabelledList] = []
    for user in users {
      let bought = truth[user]!
      let at = userCut[user] ?? asOfMs
      clock.withLock { $0 = at }
      let input = RecommendInput(userID: user, scene: scene, count: 50, excludeItemIDs: Evaluator.exclusions(seen[user], setup.serving))
      let (ids, rows) = try await engine.candidateFeatures(input, schema: schema)
      let labels = ids.map { bought.contains($0) ? 1 : 0 }
      summary.boughtItems += bought.count
      let positives = labels.reduce(0, +)
      summary.recalledBoughtItems += positives
      guard positives > 0 else { continue }
      summary.queries += 1
      summary.rows += ids.count
      summary.positives += positives
      lists.append(LabelledList(requestID: user, timestampMs: at, items: ids, featureNames: schema.names, features: rows,
                                labels: labels))
    }
    return (lists, summary)
  }

  /// `text` as one CSV field: quoted (quotes doubled) when it holds a comma, quote or line break.
  public static func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
