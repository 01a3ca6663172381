import FeatureStore
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import Ranking
import Serving

/// A data set replayed day by day on a simulated clock, to show what turning the wheel is worth:
/// two engines answer the same customers each day, from the same live histories (every event of
/// the days before is in their real-time store, as the event stream would have put it):
/// - **frozen**: the generation and ranker of day one, never rebuilt or retrained;
/// - **wheel**: a new generation every `rebuildEvery` days from everything before the day, checked
///   by `GenerationValidator` (a refused one is not served); every `retrainEvery` days a ranker
///   trained on the candidates of the days [d - trainDays, d - heldOutDays) and gated by
///   `RetrainGate` on the last `heldOutDays` (it replaces the serving ranker only when it passes).
/// Each day, every customer who bought that day and has a history is asked (scene `scene`, top
/// `k`) by both, scored by NDCG@k against the distinct items they bought that day.
public struct FlywheelReplay: Sendable {
  /// One day of the replay.
  public struct Day: Codable, Hashable, Sendable {
    /// YYYY-MM-DD (UTC).
    public var day: String
    /// Customers asked.
    public var customers: Int
    /// Mean NDCG@k of the frozen engine's answers.
    public var frozenNDCG: Double
    /// Mean NDCG@k of the wheel's answers.
    public var wheelNDCG: Double
    /// The wheel's generation and model that day.
    public var generation: String
    /// See `generation`.
    public var model: String
    /// What the wheel did before answering (rebuilt, retrained, refused...).
    public var actions: [String]
  }

  /// How the wheel turns.
  public struct Schedule: Sendable {
    /// First replayed day (Unix ms, midnight UTC).
    public var startMs: Int64
    /// Days replayed.
    public var days: Int
    /// Days between rebuilds.
    public var rebuildEvery = 1
    /// Days between retrainings.
    public var retrainEvery = 7
    /// Days of candidates a retraining learns from, before its held-out days.
    public var trainDays = 23
    /// Newest days kept out of training for the gate.
    public var heldOutDays = 7
    /// The gate's margin.
    public var margin = 0.01
    /// NDCG cut-off (answers and gate).
    public var k = 20
    /// Scene asked.
    public var scene: Scene = .email

    /// A schedule of `days` days from `startMs`.
    public init(startMs: Int64, days: Int) {
      self.startMs = startMs
      self.days = days
    }
  }

  public let items: [CatalogItem]
  public let events: [BehaviourEvent]

  /// A replay of `events` (time order, all dates) over `items`.
  public init(items: [CatalogItem], events: [BehaviourEvent]) {
    self.items = items
    self.events = events
  }

  /// Runs the replay. `train` turns candidate lists into a model (the pinned LightGBM through
  /// `Training/train_ranker.py` in the CLI); `initial` is day one's ranker (trained the same way on
  /// the days before the start, so both engines start equal).
  public func run(_ schedule: Schedule, initial: any ScoringModel,
                  train: @Sendable ([LabelledList], String) async throws -> any ScoringModel,
                  progress: (Day) -> Void = { _ in }) async throws -> [Day] {
    let dayMs: Int64 = 86_400_000
    let events = self.events.sorted { $0.timestampMs < $1.timestampMs }
    var history = events.filter { $0.timestampMs < schedule.startMs }
    guard !history.isEmpty else { throw FunnelError(.invalidArgument, "no events before the replay's first day") }
    let first = try GenerationBuilder().build(items: items, events: history, nowMs: schedule.startMs, version: "day-1").open()
    var generation = first
    var model = initial
    var lastBuiltDay = 0
    let activity = Evaluator.activity(history)
    var known = Set(history.map(\.userID))
    var next = history.count
    var days: [Day] = []
    for d in 0..<schedule.days {
      let dayStart = schedule.startMs + Int64(d) * dayMs
      // The live stream: every event of the day before reaches both engines' histories.
      let arrived = events[next...].prefix { $0.timestampMs < dayStart }
      if !arrived.isEmpty {
        _ = activity.seed(Array(arrived))
        history += arrived
        for e in arrived { known.insert(e.userID) }
        next += arrived.count
      }
      var actions: [String] = []
      if d > 0, d - lastBuiltDay >= schedule.rebuildEvery {
        let built = try GenerationBuilder().build(items: items, events: history, nowMs: dayStart, version: "day-\(d + 1)").open()
        let report = GenerationValidator(smokeQueries: 20).check(built, previous: generation)
        if report.passed {
          generation = built
          lastBuiltDay = d
          actions.append("rebuilt")
        } else {
          actions.append("rebuild refused: " + report.problems.joined(separator: "; "))
        }
      }
      if d > 0, d % schedule.retrainEvery == 0 {
        let replay = TrainingReplay(items: items, events: history)
        let heldFrom = dayStart - Int64(schedule.heldOutDays) * dayMs
        let trainLists = try await replay.lists(asOfMs: heldFrom - Int64(schedule.trainDays) * dayMs, untilMs: heldFrom,
                                                scene: schedule.scene).lists
        let heldOut = try await replay.lists(asOfMs: heldFrom, untilMs: dayStart, scene: schedule.scene).lists
        let candidate = try await train(trainLists, "day-\(d + 1)")
        let gate = RetrainGate(k: schedule.k, margin: schedule.margin, minLists: 20, positionBias: 0)
          .evaluate(candidate: candidate, serving: model, heldOut: heldOut)
        if gate.passed { model = candidate }
        actions.append((gate.passed ? "retrained: " : "retraining refused: ")
                       + String(format: "held-out NDCG %.4f vs %.4f", gate.candidateNDCG, gate.servingNDCG))
      }
      // Customers who buy today, with a history: their distinct purchases are the truth.
      var truth: [UserID: Set<ItemID>] = [:]
      for e in events[next...].prefix(while: { $0.timestampMs < dayStart + dayMs }) where e.kind == .purchase {
        truth[e.userID, default: []].insert(e.itemID)
      }
      let customers = truth.keys.filter(known.contains).sorted()
      let frozen = Evaluator.engine(generation: first, activity: activity, model: initial, nowMs: dayStart)
      let wheel = Evaluator.engine(generation: generation, activity: activity, model: model, nowMs: dayStart)
      var (frozenMetrics, wheelMetrics) = (RankingMetrics(cutoffs: [schedule.k]), RankingMetrics(cutoffs: [schedule.k]))
      for user in customers {
        let input = RecommendInput(userID: user, scene: schedule.scene, count: schedule.k)
        frozenMetrics.add(ranked: try await frozen.recommend(input).items.map(\.itemID), relevant: truth[user]!, information: { _ in 0 })
        wheelMetrics.add(ranked: try await wheel.recommend(input).items.map(\.itemID), relevant: truth[user]!, information: { _ in 0 })
      }
      let (frozenNDCG, wheelNDCG) = (frozenMetrics.summary(catalogSize: items.count).ndcg[0], wheelMetrics.summary(catalogSize: items.count).ndcg[0])
      let day = Day(day: Self.dayString(dayStart), customers: customers.count, frozenNDCG: frozenNDCG, wheelNDCG: wheelNDCG,
                    generation: generation.version, model: model.version, actions: actions)
      days.append(day)
      progress(day)
    }
    return days
  }

  static func dayString(_ ms: Int64) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd"
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
  }
}
