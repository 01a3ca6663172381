import FunnelGRPC
import GRPCCore
import GRPCWire
import NIOCore
import SwiftProtobuf

/// The scenario's calls over `WireClientConnection`s: requests encoded with SwiftProtobuf, responses
/// decoded (a response that is not the method's message is an error, as with grpc-swift's stubs).
/// Thread-safe.
struct LeanCalls: Sendable {
  let connections: [WireClientConnection]
  let timeout: Duration

  private static let recommend = "/" + Funnel_V1_Recommender.Method.Recommend.descriptor.fullyQualifiedMethod
  private static let search = "/" + Funnel_V1_Recommender.Method.Search.descriptor.fullyQualifiedMethod
  private static let health = "/" + Grpc_Health_V1_Health.Method.Check.descriptor.fullyQualifiedMethod
  private static let healthRequest: [UInt8] = (try? Grpc_Health_V1_HealthCheckRequest().serializedBytes()) ?? []

  /// Makes call number `index` (round robin over the connections); throws its status.
  func call(_ index: Int, _ kind: LoadScenario.Call, _ recommend: Funnel_V1_RecommendRequest?,
            _ search: Funnel_V1_SearchRequest?) async throws {
    let connection = connections[index % connections.count]
    if kind == .health {
      let reply = try await connection.unary(path: Self.health, request: Self.healthRequest, timeout: timeout)
      _ = try Self.decode(reply, as: Grpc_Health_V1_HealthCheckResponse.self)
    } else if kind == .search, let search {
      let reply = try await connection.unary(path: Self.search, request: try search.serializedBytes(), timeout: timeout)
      _ = try Self.decode(reply, as: Funnel_V1_SearchResponse.self)
    } else if let recommend {
      let reply = try await connection.unary(path: Self.recommend, request: try recommend.serializedBytes(), timeout: timeout)
      _ = try Self.decode(reply, as: Funnel_V1_RecommendResponse.self)
    }
  }

  private static func decode<Response: SwiftProtobuf.Message>(_ bytes: ByteBuffer, as: Response.Type) throws -> Response {
    do {
      return try bytes.withUnsafeReadableBytes { try Response(serializedBytes: Array($0)) }
    } catch {
      throw RPCError(code: .internalError, message: "the response is not a \(Response.protoMessageName): \(error)")
    }
  }
}
