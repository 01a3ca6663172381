import GRPCCore
import Synchronization

/// The standard `grpc.health.v1.Health` service. The overall status ("" service) and the status of
/// each Funnel service follow `HealthState`; `Watch` streams changes until the client leaves or the
/// server shuts down (`HealthState.shutDown()` ends every watch so shutdown is not held up).
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  let state: HealthState

  /// A health service reporting `state`.
  public init(state: HealthState) { self.state = state }

  public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws
    -> Grpc_Health_V1_HealthCheckResponse
  {
    try check(request)
  }

  /// The status of the requested service (NOT_FOUND for one this server does not have); every
  /// transport calls this. O(services).
  public func check(_ request: Grpc_Health_V1_HealthCheckRequest) throws(RPCError) -> Grpc_Health_V1_HealthCheckResponse {
    guard let status = state.status(of: request.service) else {
      throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
    }
    var out = Grpc_Health_V1_HealthCheckResponse()
    out.status = status
    return out
  }

  public func watch(request: Grpc_Health_V1_HealthCheckRequest,
                    response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
                    context: ServerContext) async throws {
    let updates = state.subscribe(request.service)
    for await status in updates {
      var out = Grpc_Health_V1_HealthCheckResponse()
      out.status = status
      try await response.write(out)
    }
  }
}

/// The serving status of the server and its services. Thread-safe.
public final class HealthState: Sendable {
  /// Fully qualified names of the services health is reported for.
  public static let services = ["funnel.v1.Recommender", "funnel.v1.EventCollector", "funnel.v1.Admin"]

  private struct State {
    var serving = true
    var finished = false
    var watchers: [Int: (String, AsyncStream<Grpc_Health_V1_HealthCheckResponse.ServingStatus>.Continuation)] = [:]
    var nextID = 0
  }
  private let state = Mutex(State())

  /// A state that reports SERVING.
  public init() {}

  /// The status of `service` ("" = the whole server), or nil for a service this server does not have.
  public func status(of service: String) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus? {
    guard service.isEmpty || Self.services.contains(service) else { return nil }
    return state.withLock { $0.serving ? .serving : .notServing }
  }

  /// Sets the status of every service and notifies watchers.
  public func setServing(_ serving: Bool) {
    let watchers = state.withLock { s in
      s.serving = serving
      return s.watchers.values.map(\.1)
    }
    for c in watchers { c.yield(serving ? .serving : .notServing) }
  }

  /// Reports NOT_SERVING and ends every Watch stream (for graceful shutdown).
  public func shutDown() {
    // Finished outside the lock: a stream's termination handler takes it to unregister.
    let watchers = state.withLock { s in
      s.serving = false
      s.finished = true
      defer { s.watchers = [:] }
      return s.watchers.values.map(\.1)
    }
    for c in watchers {
      c.yield(.notServing)
      c.finish()
    }
  }

  /// A stream of status values for `service`: the current one first, then every change.
  func subscribe(_ service: String) -> AsyncStream<Grpc_Health_V1_HealthCheckResponse.ServingStatus> {
    let (stream, continuation) = AsyncStream.makeStream(of: Grpc_Health_V1_HealthCheckResponse.ServingStatus.self,
                                                        bufferingPolicy: .bufferingNewest(1))
    state.withLock { s in
      guard service.isEmpty || Self.services.contains(service) else {
        continuation.yield(.serviceUnknown)
        if s.finished { continuation.finish() }
        return
      }
      continuation.yield(s.serving ? .serving : .notServing)
      if s.finished {
        continuation.finish()
        return
      }
      let id = s.nextID
      s.nextID += 1
      s.watchers[id] = (service, continuation)
      continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.watchers.removeValue(forKey: id) } }
    }
    return stream
  }
}
