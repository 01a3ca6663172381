import FunnelGRPC
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ServiceLifecycle
import Serving

/// The gRPC listener as a swift-service-lifecycle `Service`: serves Recommender, EventCollector,
/// Admin and Health until graceful shutdown, then stops accepting calls, reports NOT_SERVING, ends
/// health watches, and lets in-flight calls finish.
public final class FunnelGRPCServer: Service {
  private let server: GRPCServer<HTTP2ServerTransport.Posix>
  private let transport: HTTP2ServerTransport.Posix
  private let logger: Logger
  /// Health status of this server (flip it to drain before shutdown).
  public let health: HealthState

  /// A server on `host:port` (port 0 = any free port) answering from `engine`.
  public init(host: String, port: Int, engine: ServingEngine, logger: Logger, version: String,
              statistics: @escaping @Sendable () -> (users: Int, events: Int)) {
    let health = HealthState()
    let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: host, port: port), transportSecurity: .plaintext)
    self.transport = transport
    self.health = health
    self.logger = logger
    self.server = GRPCServer(transport: transport, services: [
      RecommenderService(engine: engine, logger: logger),
      EventCollectorService(engine: engine, logger: logger),
      AdminService(engine: engine, logger: logger, serverVersion: version, statistics: statistics),
      HealthService(state: health),
    ])
  }

  /// The bound port, once listening (waits for the listener).
  public func listeningPort() async throws -> Int {
    let address = try await transport.listeningAddress
    guard let ipv4 = address.ipv4 else {
      if let ipv6 = address.ipv6 { return ipv6.port }
      throw RPCError(code: .internalError, message: "listening on a non-IP address: \(address)")
    }
    return ipv4.port
  }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await server.serve()
    } onGracefulShutdown: { [server, health, logger] in
      logger.info("graceful shutdown: draining in-flight calls")
      health.shutDown()
      server.beginGracefulShutdown()
    }
  }
}
