import GRPCCore
import GRPCWire
import FunnelCore
import Logging
import Serving

/// `funnel.v1.Recommender` over a `ServingEngine`. Stateless apart from the engine; thread-safe.
public struct RecommenderService: Funnel_V1_Recommender.SimpleServiceProtocol {
  let engine: ServingEngine
  let logger: Logger
  /// Rows of one BatchRecommend stream answered concurrently (and held for in-order delivery).
  let batchWindow: Int

  /// A service answering from `engine`.
  public init(engine: ServingEngine, logger: Logger) {
    self.engine = engine
    self.logger = logger
    self.batchWindow = max(1, engine.configuration.batchConcurrency)
  }

  /// Recommend under the call's `deadline` (from `grpc-timeout`), which shortens the store budgets.
  /// Errors are already statuses.
  private func recommend(_ request: Funnel_V1_RecommendRequest, deadline: ContinuousClock.Instant?) async throws(RPCError)
    -> Funnel_V1_RecommendResponse
  {
    try await ErrorStatusMapping.mapping(logger, "Recommend") {
      ProtoMapping.recommendResponse(try await engine.recommend(ProtoMapping.input(request), deadline: deadline))
    }
  }

  /// Search under the call's `deadline`.
  private func search(_ request: Funnel_V1_SearchRequest, deadline: ContinuousClock.Instant?) async throws(RPCError)
    -> Funnel_V1_SearchResponse
  {
    try await ErrorStatusMapping.mapping(logger, "Search") {
      ProtoMapping.searchResponse(try await engine.search(ProtoMapping.input(request), deadline: deadline))
    }
  }

  /// With the request's metadata: the call's deadline (`grpc-timeout`) shortens the store budgets,
  /// and the call is a server span continuing a caller's trace (`traceparent`, as the engine's tracer
  /// reads it), returned in the response metadata.
  public func recommend(request: ServerRequest<Funnel_V1_RecommendRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_RecommendResponse>
  {
    try await TraceContextExtraction.serving("funnel.v1.Recommender/Recommend", request.metadata, tracer: engine.tracer) {
      try await recommend(request.message, deadline: CallDeadline.parse(request.metadata))
    }
  }

  public func recommend(request: Funnel_V1_RecommendRequest, context: ServerContext) async throws
    -> Funnel_V1_RecommendResponse
  {
    try await recommend(request, deadline: nil)
  }

  /// With the request's metadata: the call's deadline shortens the store budgets; the call is a server
  /// span continuing a caller's trace, returned in the response metadata.
  public func search(request: ServerRequest<Funnel_V1_SearchRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_SearchResponse>
  {
    try await TraceContextExtraction.serving("funnel.v1.Recommender/Search", request.metadata, tracer: engine.tracer) {
      try await search(request.message, deadline: CallDeadline.parse(request.metadata))
    }
  }

  public func search(request: Funnel_V1_SearchRequest, context: ServerContext) async throws
    -> Funnel_V1_SearchResponse
  {
    try await search(request, deadline: nil)
  }

  /// Completions of a typed prefix under the call's `deadline` (which shortens the profile read).
  private func suggest(_ request: Funnel_V1_SuggestRequest, deadline: ContinuousClock.Instant?) async throws(RPCError)
    -> Funnel_V1_SuggestResponse
  {
    try await ErrorStatusMapping.mapping(logger, "Suggest") {
      ProtoMapping.suggestResponse(try await engine.suggest(
        SuggestInput(prefix: request.prefix, userID: request.userID, sessionID: request.sessionID, count: Int(request.count)),
        deadline: deadline))
    }
  }

  public func suggest(request: ServerRequest<Funnel_V1_SuggestRequest>, context: ServerContext) async throws
    -> ServerResponse<Funnel_V1_SuggestResponse>
  {
    try await TraceContextExtraction.serving("funnel.v1.Recommender/Suggest", request.metadata, tracer: engine.tracer) {
      try await suggest(request.message, deadline: CallDeadline.parse(request.metadata))
    }
  }

  public func suggest(request: Funnel_V1_SuggestRequest, context: ServerContext) async throws -> Funnel_V1_SuggestResponse {
    try await suggest(request, deadline: nil)
  }

  /// Answers rows with up to `batchWindow` in flight, writing answers strictly in request order.
  /// A row's failure becomes its own `RowError`; only a broken stream ends the call. Reading stops
  /// while the window is full, so a slow reader of answers slows the sender (back-pressure).
  public func batchRecommend(request: RPCAsyncSequence<Funnel_V1_BatchRecommendRequest, any Error>,
                             response: RPCWriter<Funnel_V1_BatchRecommendResponse>,
                             context: ServerContext) async throws {
    let engine = self.engine
    try await withThrowingTaskGroup(of: (Int, Funnel_V1_BatchRecommendResponse).self) { group in
      var submitted = 0
      var nextToWrite = 0
      var ready: [Int: Funnel_V1_BatchRecommendResponse] = [:]

      func drainOne() async throws {
        guard let (index, answer) = try await group.next() else { return }
        ready[index] = answer
        while let answer = ready.removeValue(forKey: nextToWrite) {
          try await response.write(answer)
          nextToWrite += 1
        }
      }

      for try await row in request {
        while submitted - nextToWrite >= batchWindow { try await drainOne() }
        let index = submitted
        submitted += 1
        group.addTask { (index, await Self.answer(row, engine: engine)) }
      }
      while nextToWrite < submitted { try await drainOne() }
    }
  }

  private static func answer(_ row: Funnel_V1_BatchRecommendRequest, engine: ServingEngine) async
    -> Funnel_V1_BatchRecommendResponse
  {
    var out = Funnel_V1_BatchRecommendResponse()
    out.rowID = row.rowID
    do {
      var input = ProtoMapping.input(row.request)
      if row.request.scene == .unspecified { input.scene = .email }  // batch rows default to the email scene
      let answer = try await RequestID.withNew { try await engine.recommend(input) }
      out.result = .response(ProtoMapping.recommendResponse(answer))
    } catch {
      let mapped = ErrorStatusMapping.rpcError(from: error)
      var rowError = Funnel_V1_RowError()
      rowError.code = ErrorStatusMapping.codeName(Status.Code(mapped.code))
      rowError.message = mapped.message
      out.result = .error(rowError)
    }
    return out
  }
}

/// The deadline a client sent with a call, from its `grpc-timeout` header (`<digits><unit>`, unit one
/// of H M S m u n, as the gRPC HTTP/2 protocol defines it), as an instant on the continuous clock.
public enum CallDeadline {
  /// The deadline in `metadata`, or nil when there is none or it is malformed.
  public static func parse(_ metadata: Metadata, now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
    guard let text = metadata[stringValues: "grpc-timeout"].first(where: { _ in true }),
          let timeout = GRPCTimeout.parse(text) else { return nil }
    return now + timeout
  }
}
