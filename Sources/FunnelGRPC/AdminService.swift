import FunnelSecurity
import GRPCCore
import Logging
import Serving

/// `funnel.v1.Admin` over a `ServingEngine`. Thread-safe.
public struct AdminService: Funnel_V1_Admin.SimpleServiceProtocol {
  let engine: ServingEngine
  let logger: Logger
  let statistics: @Sendable () -> (users: Int, events: Int)
  let serverVersion: String
  /// Records every call (caller, RPC, arguments, result); nil: none.
  let audit: AdminAudit?

  /// An admin service; `statistics` reports the feature store's user and event counts; `audit`
  /// records each call.
  public init(engine: ServingEngine, logger: Logger, serverVersion: String, audit: AdminAudit? = nil,
              statistics: @escaping @Sendable () -> (users: Int, events: Int)) {
    self.engine = engine
    self.logger = logger
    self.serverVersion = serverVersion
    self.statistics = statistics
    self.audit = audit
  }

  // The calls with their metadata: each recorded in the audit log when there is one.

  public func status(request: ServerRequest<Funnel_V1_StatusRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_StatusResponse>
  {
    try await audited("Status", request.metadata, [:]) { try await status(request: request.message, context: context) }
  }

  public func reload(request: ServerRequest<Funnel_V1_ReloadRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_ReloadResponse>
  {
    try await audited("Reload", request.metadata, [:]) { try await reload(request: request.message, context: context) }
  }

  public func forgetUser(request: ServerRequest<Funnel_V1_ForgetUserRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_ForgetUserResponse>
  {
    // The user id is personal data: the record keeps a hash that matches it when you have it.
    try await audited("ForgetUser", request.metadata, ["user_id_sha256": UserIDDigest.hex(request.message.userID)]) {
      try await forgetUser(request: request.message, context: context)
    }
  }

  public func experimentReport(request: ServerRequest<Funnel_V1_ExperimentReportRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_ExperimentReportResponse>
  {
    let arguments = ["experiment": request.message.experiment, "since_ms": String(request.message.sinceMs)]
    return try await audited("ExperimentReport", request.metadata, arguments) {
      try await experimentReport(request: request.message, context: context)
    }
  }

  public func upsertItems(request: ServerRequest<Funnel_V1_UpsertItemsRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_CatalogChangeResponse>
  {
    try await audited("UpsertItems", request.metadata, ["items": String(request.message.items.count)]) {
      try await upsertItems(request: request.message, context: context)
    }
  }

  public func deleteItems(request: ServerRequest<Funnel_V1_DeleteItemsRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_CatalogChangeResponse>
  {
    try await audited("DeleteItems", request.metadata, ["item_ids": request.message.itemIds.prefix(20).joined(separator: ",")]) {
      try await deleteItems(request: request.message, context: context)
    }
  }

  private func audited<Response: Sendable>(_ rpc: String, _ metadata: Metadata, _ arguments: [String: String],
                                           _ body: () async throws -> Response) async throws -> ServerResponse<Response> {
    guard let audit else { return ServerResponse(message: try await body()) }
    return try await audit.audited(rpc, metadata, arguments: arguments, body)
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
      let receipt = try await engine.forget(user: request.userID)
      var out = Funnel_V1_ForgetUserResponse()
      out.eventsRemoved = UInt64(receipt.total)
      out.erased = receipt.parts.map { part in
        var erased = Funnel_V1_ErasedPart()
        erased.store = part.store
        erased.what = part.what
        erased.count = UInt64(part.count)
        return erased
      }
      out.replicasCleared = receipt.replicasCleared
      out.tombstoned = receipt.tombstoned
      return out
    }
  }

  public func upsertItems(request: Funnel_V1_UpsertItemsRequest, context: ServerContext) async throws
    -> Funnel_V1_CatalogChangeResponse
  {
    try await ErrorStatusMapping.mapping(logger, "UpsertItems") {
      var out = Funnel_V1_CatalogChangeResponse()
      out.feedPosition = try await engine.upsertItems(inputs: request.items.map(ProtoMapping.input))
      out.accepted = UInt32(request.items.count)
      return out
    }
  }

  public func deleteItems(request: Funnel_V1_DeleteItemsRequest, context: ServerContext) async throws
    -> Funnel_V1_CatalogChangeResponse
  {
    try await ErrorStatusMapping.mapping(logger, "DeleteItems") {
      var out = Funnel_V1_CatalogChangeResponse()
      out.feedPosition = try await engine.deleteItems(request.itemIds)
      out.accepted = UInt32(request.itemIds.count)
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
