import FunnelCore
import FunnelGRPC
import Logging
import ServiceLifecycle
import Serving

/// Wiring for `funnel serve`: builds the stores and the engine from `ServerOptions`, runs the gRPC
/// server in a `ServiceGroup` that turns SIGTERM/SIGINT into graceful shutdown.
public enum FunnelApplication {
  /// The server's version string.
  public static let version = "0.1.0"

  /// Runs until SIGTERM/SIGINT. Throws `FunnelError` for options it cannot honour.
  /// `onListening` is called with the bound port once the server accepts calls.
  public static func serve(_ options: ServerOptions, logger: Logger,
                           onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
    if let redis = options.redisURL {
      throw FunnelError(.failedPrecondition,
                        "--redis \(redis): Redis feature stores are not supported yet; run without --redis for the embedded stores")
    }
    if let mongo = options.mongoURI {
      throw FunnelError(.failedPrecondition,
                        "--mongo \(mongo): MongoDB feature stores are not supported yet; run without --mongo for the embedded stores")
    }
    let clock = ContinuousClock()
    let start = clock.now
    let embedded = EmbeddedDefault(items: options.demoItems, users: options.demoUsers, seed: options.demoSeed,
                                   configuration: options.serving)
    let featureStore = embedded.featureStore
    let grpc = FunnelGRPCServer(host: options.host, port: options.port, engine: embedded.engine, logger: logger,
                                version: version, statistics: { featureStore.counts() })
    let group = ServiceGroup(configuration: .init(
      services: [.init(service: grpc)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      tasks.addTask {
        let port = try await grpc.listeningPort()
        logger.info("funnel serving", metadata: [
          "address": "\(options.host):\(port)", "store": "embedded", "items": "\(embedded.store.items.count)",
          "events": "\(embedded.store.events.count)", "index": "\(embedded.engine.generation.version)",
          "startup": "\(clock.now - start)",
        ])
        onListening(port)
      }
      try await tasks.waitForAll()
    }
    logger.info("funnel stopped")
  }
}
