import GRPCCore
import Logging
import Serving

/// `funnel.v1.EventCollector` over a `ServingEngine`. Thread-safe.
public struct EventCollectorService: Funnel_V1_EventCollector.SimpleServiceProtocol {
  let engine: ServingEngine
  let logger: Logger

  /// A collector storing into `engine`'s event sink.
  public init(engine: ServingEngine, logger: Logger) {
    self.engine = engine
    self.logger = logger
  }

  public func track(request: Funnel_V1_TrackRequest, context: ServerContext) async throws -> Funnel_V1_TrackResponse {
    try await ErrorStatusMapping.mapping(logger, "Track") {
      let outcome = try await engine.track(request.events.map(ProtoMapping.input))
      var out = Funnel_V1_TrackResponse()
      out.accepted = UInt32(outcome.accepted)
      out.duplicates = UInt32(outcome.duplicates)
      out.rejected = outcome.rejected.map { r in
        var e = Funnel_V1_RejectedEvent()
        e.index = UInt32(r.index)
        e.eventID = r.eventID
        e.reason = r.reason
        return e
      }
      out.withoutConsent = UInt32(outcome.withoutConsent)
      return out
    }
  }

  public func trackOrders(request: Funnel_V1_TrackOrdersRequest, context: ServerContext) async throws -> Funnel_V1_TrackOrdersResponse {
    try await ErrorStatusMapping.mapping(logger, "TrackOrders") {
      let outcome = try await engine.trackOrders(request.orders.map(ProtoMapping.input))
      var out = Funnel_V1_TrackOrdersResponse()
      out.accepted = UInt32(outcome.accepted)
      out.duplicates = UInt32(outcome.duplicates)
      out.rejected = outcome.rejected.map { r in
        var e = Funnel_V1_RejectedOrder()
        e.index = UInt32(r.index)
        e.orderID = r.eventID
        e.reason = r.reason
        return e
      }
      return out
    }
  }
}
