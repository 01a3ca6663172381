import Experiments
import FeatureStore
import FunnelCore
import IndexFormat
import Indicators
import Ranking

/// The feedback loop of served answers: experiment assignment (and the arms' own rankers), every
/// answer's exposure buffered with the model inputs of its shown items, the buffer written to the
/// exposure log, and per-arm experiment reports from the log joined with accepted events.
/// Thread-safe; one per engine.
public struct FeedbackLoop: Sendable {
  /// Experiments, the arms' models, the exposure log and the event history.
  public let settings: FeedbackSettings
  /// Exposures waiting for the log writer (nil without an exposure log).
  public let recorder: ExposureRecorder?
  /// The rankers of experiment arms with a model of their own, by `EXPERIMENT:ARM`.
  let armRankers: [String: CandidateRanker]
  let attributionWindow: Duration
  let metrics: ServingMetrics
  /// Where answers shown are counted for the dashboard.
  let indicators: LiveIndicators?
  /// The model canary on trial, if any (`ServingEngine.setCanary`).
  let canary: CanarySlot
  /// What the online learner measured per channel (`ServingEngine.setChannelArms`).
  let channelArms = ChannelArmsSlot()

  init(settings: FeedbackSettings, attributionWindow: Duration, metrics: ServingMetrics, indicators: LiveIndicators? = nil,
       cascade: ModelCascade = .init()) {
    self.indicators = indicators
    self.settings = settings
    self.recorder = settings.makeRecorder()
    self.armRankers = settings.armModels.mapValues { CandidateRanker(model: $0, cascade: cascade) }
    self.canary = CanarySlot(cascade: cascade)
    self.attributionWindow = attributionWindow
    self.metrics = metrics
  }

  /// The experiment arm of `request` (by user, or session for anonymous traffic) and the ranker it
  /// scores with: the canary's when the unit falls in a model canary (which takes its users out of
  /// configured experiments for the trial), else the arm's own, or `current`.
  func assign(_ request: inout ValidatedRequest, current: CandidateRanker) -> CandidateRanker {
    let unit = request.userID.isEmpty ? request.sessionID : request.userID
    if let (trial, ranker) = canary.value, trial.includes(unit: unit, scene: request.scene.rawValue) {
      request.assignment = ExperimentPlan.Assignment(experiment: "canary", arm: ExperimentPlan.Arm(name: "candidate", share: trial.share))
      return ranker
    }
    request.assignment = settings.plan.assign(unit: unit, scene: request.scene.rawValue)
    return request.assignment.flatMap { armRankers[$0.label] } ?? current
  }

  /// Buffers the exposure of `answer` with the model inputs of its shown items (pinned items, not
  /// scored, log NaN). Never waits: a full buffer drops and counts. O(shown items x features).
  func record(_ answer: ServingAnswer, _ context: RequestContext) {
    if let indicators, !answer.items.isEmpty {
      indicators.answered(requestID: answer.requestID, scene: context.request.scene.rawValue, arm: answer.experimentArm,
                          items: answer.items.count, nowMs: context.nowMs)
    }
    guard let recorder, !answer.items.isEmpty else { return }
    var names: [String] = []
    var rows: [[Float]] = []
    if settings.logFeatures, let inputs = context.inputs {
      names = context.ranker.model.schema.names
      let shown = context.chosen.map(\.0)
      var selected = inputs.selecting(shown)
      if !selected.itemActivity.contains(where: { $0 != nil }) { selected.itemActivity = [] }
      let scored = context.ranker.featureRows(shown.map { context.candidates[$0] }, selected)
      var byItem: [String: [Float]] = [:]
      byItem.reserveCapacity(shown.count)
      // The item table once: read through the generation per item, it was copied (a retain of each
      // of its columns) every time.
      let items = context.generation.items
      for (index, row) in zip(shown, scored) { byItem[items.id(context.candidates[index].doc)] = row }
      let missing = [Float](repeating: .nan, count: names.count)
      rows = answer.items.map { byItem[$0.itemID] ?? missing }
    }
    let request = context.request
    let exposure = Exposure(requestID: answer.requestID, userID: request.userID, sessionID: request.sessionID,
                            scene: request.scene.rawValue, arm: answer.experimentArm, modelVersion: answer.modelVersion,
                            timestampMs: context.nowMs, items: answer.items.map(\.itemID), featureNames: names, features: rows,
                            channels: answer.items.map { $0.channels.first ?? "" },
                            latencyMicros: UInt32(clamping: context.debug.timings.last { $0.stage == "total" }?.micros ?? 0),
                            degraded: answer.degraded)
    if recorder.record(exposure) { metrics.exposuresLogged.increment() } else { metrics.exposuresDropped.increment() }
  }

  /// Writes buffered exposures to the log. Returns how many were written; on a log failure they are
  /// dropped, counted, and the error thrown.
  func flush() async throws -> Int {
    guard let recorder, let log = settings.exposureLog else { return 0 }
    let batch = recorder.drain()
    guard !batch.isEmpty else { return 0 }
    do {
      try await log.write(batch)
    } catch {
      metrics.exposuresDropped.add(batch.count)
      throw error
    }
    return batch.count
  }

  /// Per-arm results since `sinceMs` (Unix ms) for `experiment` (nil: all, and traffic outside
  /// experiments as `default`): exposures from the log joined with accepted events (`Attribution`).
  /// Throws `failedPrecondition` when the server keeps no exposure log or event history.
  func report(experiment: String?, sinceMs: Int64) async throws -> [ArmReport] {
    guard let log = settings.exposureLog, let history = settings.history else {
      throw FunnelError(.failedPrecondition, "experiment reports need an exposure log and an event history")
    }
    _ = try await flush()
    var exposures = try await log.exposures(sinceMs: sinceMs)
    if let experiment { exposures.removeAll { !$0.arm.hasPrefix(experiment + ":") } }
    let events = try await history.events(sinceMs: sinceMs)
    let window = attributionWindow.components.seconds * 1000
    let attributed = Attribution.attribute(exposures: exposures, events: events, windowMs: window)
    let controls = Dictionary(settings.plan.experiments.map { ($0.name, $0.control) }, uniquingKeysWith: { a, _ in a })
    return ArmReport.build(attributed, controls: controls)
  }
}
