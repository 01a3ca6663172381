import FunnelCore
import FunnelSecurity
import HummingbirdTLS
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Serving

/// The HTTP/1.1 listener for site JavaScript, order systems, balancers and monitoring (a lifecycle
/// `Service`), served by Hummingbird over HTTP/1.1 or HTTPS: the JSON API of `openapi.yaml`,
/// `GET /healthz` (liveness), `GET /readyz` (readiness, see `HTTPReadiness`) and `GET /metrics`
/// (Prometheus text), each checked by the `Authenticator` when one is enabled. The routes are `HTTPRoutes`. Bodies over 1 MiB are refused with 413;
/// a connection idle for `idleTimeout` is closed. Thread-safe; requests run on Swift's pool, the
/// sockets on NIO's shared event loops.
public final class HTTPListener: Service, Sendable {
  let host: String
  let port: Int
  let routes: HTTPRoutes
  let logger: Logger
  /// A connection with no request in progress for this long is closed.
  let idleTimeout: TimeAmount
  /// HTTPS with this certificate (reloaded as it changes); nil: plain HTTP.
  let tls: ServerTLS?
  private let bound = BoundPort()

  /// A listener on `host:port` (0: any free port) over `engine` (`/metrics` renders its registry);
  /// `readiness` answers `/readyz` (by default: ready, with the engine's index and model); pages of
  /// `corsOrigins` (`https://shop.example`) may call it from a browser.
  public init(host: String, port: Int, engine: ServingEngine, logger: Logger, idleTimeout: Duration = .seconds(60),
              corsOrigins: [String] = [], readiness: (@Sendable () -> HTTPReadiness)? = nil,
              tls: ServerTLS? = nil, authenticator: Authenticator? = nil) {
    self.tls = tls
    let (seconds, attoseconds) = idleTimeout.components
    self.idleTimeout = .nanoseconds(min(seconds, 86_400 * 365) * 1_000_000_000 + attoseconds / 1_000_000_000)
    self.host = host
    self.port = port
    self.logger = logger
    self.routes = HTTPRoutes(engine: engine, readiness: readiness ?? { HTTPReadiness(engine: engine) }, corsOrigins: corsOrigins,
                             logger: logger, authenticator: authenticator)
  }

  /// The bound port, once listening.
  public func listeningPort() async throws -> Int { try await bound.wait() }

  public func run() async throws {
    let (host, port) = (self.host, self.port)
    let application = Application(
      router: try routes.router(),
      server: try tls.map { try .tls(.http1(configuration: .init(idleTimeout: idleTimeout)), configuration: .init(
        tlsConfiguration: $0.httpConfiguration, customVerificationCallback: $0.clientVerification)) }
        ?? .http1(configuration: .init(idleTimeout: idleTimeout)),
      configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 256),
      onServerRunning: { [self] channel in
        let actual = channel.localAddress?.port ?? port
        bound.bound(actual)
        logger.info("http listening", metadata: ["address": "\(host):\(actual)",
                                                 "tls": "\(tls != nil)"])
      },
      logger: logger)
    do {
      try await application.run()
    } catch {
      guard !bound.fail(error) else {
        throw FunnelError(.unavailable, "http listener: cannot listen on \(host):\(port): \(error)")
      }
      throw error
    }
  }
}
