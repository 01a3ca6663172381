import FeatureStore
import FunnelServer
import GRPCWire
import Logging
import ServiceLifecycle
import Serving

/// A real Funnel gRPC server over HTTP/2 on an ephemeral loopback port (either transport; the
/// default is `funnel serve`'s), for client-side tests.
public enum TestServers {
  /// Runs `engine` behind a server in a `ServiceGroup`, calls `body` with its port, then shuts the
  /// server down gracefully and waits for it.
  public static func withServer(engine: ServingEngine, store: EmbeddedFeatureStore, transport: GRPCTransportKind = .nioHTTP2,
                                _ body: (Int) async throws -> Void) async throws {
    try await withServer(engine: engine, store: store, transport: transport) { port, _ in try await body(port) }
  }

  /// `withServer` whose body also gets `stop`, which begins the graceful shutdown while the body
  /// still runs (a server going away mid-test); stopping twice is harmless.
  public static func withServer(engine: ServingEngine, store: EmbeddedFeatureStore, transport: GRPCTransportKind = .nioHTTP2,
                                _ body: (Int, _ stop: @escaping @Sendable () async -> Void) async throws -> Void) async throws {
    let logger = Logger(label: "test")
    // Calls of a debug build under CI's parallel suite may wait for a slot longer than the default
    // 300 ms; these servers serve tests of the API, not of admission control (GRPCWireTests has those).
    var limits = WireServer.Configuration()
    limits.maxQueueWait = .seconds(60)
    let server = FunnelGRPCServer(host: "127.0.0.1", port: 0, engine: engine, logger: logger, version: "test",
                                  transport: transport, limits: limits, statistics: { store.counts() })
    let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      try await body(try await server.listeningPort(), { await group.triggerGracefulShutdown() })
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
    }
  }
}
