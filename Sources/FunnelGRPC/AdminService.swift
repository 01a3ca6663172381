import GRPCCore
import Logging
import Serving

/// `funnel.v1.Admin` over a `ServingEngine`. Thread-safe.
public struct AdminService: Funnel_V1_Admin.SimpleServiceProtocol {
  let engine: ServingEngine
  let logger: Logger
  let statistics: @Sendable () -> (users: Int, events: Int)
  let serverVersion: String

  /// An admin service; `statistics` reports the feature store's user and event counts.
  public init(engine: ServingEngine, logger: Logger, serverVersion: String,
              statistics: @escaping @Sendable () -> (users: Int, events: Int)) {
    self.engine = engine
    self.logger = logger
    self.serverVersion = serverVersion
    self.statistics = statistics
  }

  public func status(request: Funnel_V1_StatusRequest, context: ServerContext) async throws -> Funnel_V1_StatusResponse {
    let (users, events) = statistics()
    let s = engine.status(users: users, events: events)
    var out = Funnel_V1_StatusResponse()
    out.version = serverVersion
    out.indexVersion = s.indexVersion
    out.modelVersion = s.modelVersion
    out.itemCount = UInt64(s.itemCount)
    out.userCount = UInt64(s.userCount)
    out.eventCount = UInt64(s.eventCount)
    out.uptimeSeconds = s.uptimeSeconds
    out.featureStore = s.featureStore
    out.channels = s.channels
    out.subqueryLookups = UInt64(s.subQueries.total)
    out.subqueryLocalHitRate = s.subQueries.localHitRate
    out.subquerySharedHitRate = s.subQueries.sharedHitRate
    out.answers = UInt64(s.answers)
    out.degradedAnswers = UInt64(s.degradedAnswers)
    return out
  }

  public func reload(request: Funnel_V1_ReloadRequest, context: ServerContext) async throws -> Funnel_V1_ReloadResponse {
    try await ErrorStatusMapping.mapping(logger, "Reload") {
      let clock = ContinuousClock()
      let start = clock.now
      // Loading a generation, a model and the offline snapshot is seconds of CPU: on Swift's pool,
      // not on the event loop that may be running calls (`--event-loop-threads`).
      let (previous, current, previousModel, currentModel) = try await withTaskExecutorPreference(globalConcurrentExecutor) {
        let (previous, current) = try await engine.reload()
        let (previousModel, currentModel) = try await engine.reloadModel()
        return (previous, current, previousModel, currentModel)
      }
      let took = clock.now - start
      logger.info("reloaded index", metadata: ["previous": "\(previous)", "current": "\(current)", "took": "\(took)"])
      var out = Funnel_V1_ReloadResponse()
      out.previousIndexVersion = previous
      out.indexVersion = current
      out.previousModelVersion = previousModel
      out.modelVersion = currentModel
      out.tookMicros = UInt64(took.components.seconds) * 1_000_000 + UInt64(took.components.attoseconds / 1_000_000_000_000)
      return out
    }
  }

  public func forgetUser(request: Funnel_V1_ForgetUserRequest, context: ServerContext) async throws
    -> Funnel_V1_ForgetUserResponse
  {
    try await ErrorStatusMapping.mapping(logger, "ForgetUser") {
      var out = Funnel_V1_ForgetUserResponse()
      out.eventsRemoved = UInt64(try await engine.forget(user: request.userID))
      return out
    }
  }

  public func experimentReport(request: Funnel_V1_ExperimentReportRequest, context: ServerContext) async throws
    -> Funnel_V1_ExperimentReportResponse
  {
    try await ErrorStatusMapping.mapping(logger, "ExperimentReport") {
      var out = Funnel_V1_ExperimentReportResponse()
      // Scans the exposure and outcome logs: off the event loops, as reload.
      let reports = try await withTaskExecutorPreference(globalConcurrentExecutor) {
        try await engine.experimentReport(experiment: request.experiment.isEmpty ? nil : request.experiment,
                                          sinceMs: request.sinceMs)
      }
      out.arms = reports.map(ProtoMapping.output)
      return out
    }
  }
}
