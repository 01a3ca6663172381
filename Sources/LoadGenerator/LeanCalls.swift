import FunnelGRPC
import GRPCCore
import GRPCWire
import NIOCore
import SwiftProtobuf

/// The scenario's calls over `WireClientConnection`s: requests encoded with SwiftProtobuf, responses
/// decoded (a response that is not the method's message is an error, as with grpc-swift's stubs).
/// With several targets, a call answered UNAVAILABLE (a replica restarting: refused, draining) is
/// sent once more over the next connection, which goes to another target: the scenario's calls
/// are reads, safe to repeat. Thread-safe.
struct LeanCalls: Sendable {
  let connections: [WireClientConnection]
  /// Distinct targets the connections go to (connection i to target i mod targets).
  let targets: Int
  let timeout: Duration

  private static let recommend = FunnelWireRoutes.path(Funnel_V1_Recommender.Method.Recommend.descriptor)
  private static let search = FunnelWireRoutes.path(Funnel_V1_Recommender.Method.Search.descriptor)
  private static let health = FunnelWireRoutes.path(Grpc_Health_V1_Health.Method.Check.descriptor)
  private static let healthRequest: [UInt8] = (try? Grpc_Health_V1_HealthCheckRequest().serializedBytes()) ?? []

  /// Makes call number `index` (round robin over the connections); throws its status.
  func call(_ index: Int, _ kind: LoadScenario.Call, _ recommend: Funnel_V1_RecommendRequest?,
            _ search: Funnel_V1_SearchRequest?) async throws {
    do {
      try await call(on: connections[index % connections.count], kind, recommend, search)
    } catch let error as RPCError where error.code == .unavailable && targets > 1 {
      try await call(on: connections[(index + 1) % connections.count], kind, recommend, search)
    }
  }

  private func call(on connection: WireClientConnection, _ kind: LoadScenario.Call, _ recommend: Funnel_V1_RecommendRequest?,
                    _ search: Funnel_V1_SearchRequest?) async throws {
    if kind == .health {
      let reply = try await connection.unary(path: Self.health, request: Self.healthRequest, timeout: timeout)
      _ = try FunnelWireRoutes.decode(reply, as: Grpc_Health_V1_HealthCheckResponse.self, invalid: .internalError)
    } else if kind == .search, let search {
      let reply = try await connection.unary(path: Self.search, request: try search.serializedBytes(), timeout: timeout)
      _ = try FunnelWireRoutes.decode(reply, as: Funnel_V1_SearchResponse.self, invalid: .internalError)
    } else if let recommend {
      let reply = try await connection.unary(path: Self.recommend, request: try recommend.serializedBytes(), timeout: timeout)
      _ = try FunnelWireRoutes.decode(reply, as: Funnel_V1_RecommendResponse.self, invalid: .internalError)
    }
  }

}
