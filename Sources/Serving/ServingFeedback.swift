import Experiments
import FeatureStore
import FunnelCore
import IndexFormat
import Ranking
import Synchronization

/// The feedback loop's settings: experiments, the models their arms score with, and where exposures
/// and accepted events are kept for attribution, reports and training exports.
public struct FeedbackSettings: Sendable {
  /// Experiments and their arms.
  public var plan = ExperimentPlan()
  /// Models of arms that name one, by `EXPERIMENT:ARM`.
  public var armModels: [String: any ScoringModel] = [:]
  /// Where exposures go (nil: not logged).
  public var exposureLog: (any ExposureLog)?
  /// Accepted events, for attribution (nil: reports unavailable).
  public var history: (any EventHistory)?
  /// Log the model inputs of each shown item with its exposure (for training exports).
  public var logFeatures = true
  /// Exposures buffered between the request path and the log; more are dropped and counted.
  public var bufferCapacity = 100_000
  /// Bytes of exposures buffered (`Exposure.approximateBytes`); more are dropped and counted.
  public var bufferBytes = 32 << 20

  /// No experiments, no exposure log.
  public init() {}

  /// A recorder when there is a log to drain it into.
  func makeRecorder() -> ExposureRecorder? {
    exposureLog == nil ? nil : ExposureRecorder(capacity: bufferCapacity, maxBytes: bufferBytes)
  }
}

/// The bounded hand-off of exposures from requests to the log writer: requests append in O(1)
/// under a lock and never wait; a writer service drains it. Bounded by count and by bytes.
/// Thread-safe.
public final class ExposureRecorder: Sendable {
  private let capacity: Int
  private let maxBytes: Int
  private let buffer = Mutex<(exposures: [Exposure], bytes: Int)>(([], 0))

  /// A recorder holding at most `capacity` undrained exposures and `maxBytes` of them.
  public init(capacity: Int, maxBytes: Int = 32 << 20) {
    self.capacity = max(1, capacity)
    self.maxBytes = max(1, maxBytes)
  }

  /// Adds one exposure; false (dropped) when the buffer is full.
  public func record(_ exposure: Exposure) -> Bool {
    let size = exposure.approximateBytes
    return buffer.withLock { b in
      guard b.exposures.count < capacity, b.bytes + size <= maxBytes else { return false }
      b.exposures.append(exposure)
      b.bytes += size
      return true
    }
  }

  /// Drops the buffered exposures of `user` (ForgetUser).
  public func discard(user: UserID) {
    buffer.withLock { b in
      b.exposures.removeAll { $0.userID == user }
      b.bytes = b.exposures.reduce(0) { $0 + $1.approximateBytes }
    }
  }

  /// Takes everything buffered so far.
  public func drain() -> [Exposure] { buffer.withLock { b in defer { b = ([], 0) }; return b.exposures } }
}

extension ServingEngine {
  /// Buffers the exposure of `answer` with the model inputs of its shown items (pinned items, not
  /// scored, log NaN). O(shown items x features).
  func recordExposure(_ answer: ServingAnswer, request: ValidatedRequest, recorder: ExposureRecorder, shown: [Candidate],
                      activity: [ItemActivity?], gathered: GatheredCandidates, generation: IndexGeneration,
                      ranker: CandidateRanker, nowMs: Int64) {
    guard !answer.items.isEmpty else { return }
    var names: [String] = []
    var rows: [[Float]] = []
    if feedback.logFeatures {
      names = ranker.model.schema.names
      let scored = ranker.featureRows(shown, profile: gathered.profile, generation: generation, context: request.context,
                                      itemFeatures: offline?.items(for: generation), userFeatures: gathered.userFeatures,
                                      itemActivity: activity.contains { $0 != nil } ? activity : [], nowMs: nowMs)
      var byItem: [String: [Float]] = [:]
      for (candidate, row) in zip(shown, scored) { byItem[generation.items.id(candidate.doc)] = row }
      let missing = [Float](repeating: .nan, count: names.count)
      rows = answer.items.map { byItem[$0.itemID] ?? missing }
    }
    let exposure = Exposure(requestID: answer.requestID, userID: request.userID, sessionID: request.sessionID,
                            scene: request.scene.rawValue, arm: answer.experimentArm, modelVersion: answer.modelVersion,
                            timestampMs: nowMs, items: answer.items.map(\.itemID), featureNames: names, features: rows)
    if recorder.record(exposure) { metrics.exposuresLogged.add() } else { metrics.exposuresDropped.add() }
  }

  /// Writes buffered exposures to the log (the exposure writer service calls this every ~100 ms).
  /// Returns how many were written; on a log failure they are dropped, counted, and the error thrown.
  @discardableResult
  public func flushExposures() async throws -> Int {
    guard let recorder = exposureRecorder, let log = feedback.exposureLog else { return 0 }
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
  public func experimentReport(experiment: String?, sinceMs: Int64) async throws -> [ArmReport] {
    guard let log = feedback.exposureLog, let history = feedback.history else {
      throw FunnelError(.failedPrecondition, "experiment reports need an exposure log and an event history")
    }
    try await flushExposures()
    var exposures = try await log.exposures(sinceMs: sinceMs)
    if let experiment { exposures.removeAll { !$0.arm.hasPrefix(experiment + ":") } }
    let events = try await history.events(sinceMs: sinceMs)
    let window = configuration.attributionWindow.components.seconds * 1000
    let attributed = Attribution.attribute(exposures: exposures, events: events, windowMs: window)
    let controls = Dictionary(feedback.plan.experiments.map { ($0.name, $0.control) }, uniquingKeysWith: { a, _ in a })
    return ArmReport.build(attributed, controls: controls)
  }
}
