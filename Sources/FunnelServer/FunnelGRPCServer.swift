import FunnelCore
import FunnelGRPC
import FunnelSecurity
import GRPCCore
import GRPCWire
import GRPCNIOTransportHTTP2Posix
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import Serving

/// Which code answers gRPC calls.
public enum GRPCTransportKind: String, Sendable, CaseIterable {
  /// Funnel's lean transport on swift-nio-http2's frames (`WireServer`): no channel per stream; a
  /// trivial call costs a fraction of grpc-swift's (`Benchmarks/h2load/floor.sh`). The default.
  case nioHTTP2 = "nio-http2"
  /// grpc-swift-2's HTTP/2 server transport (`GRPCServer` over `HTTP2ServerTransport.Posix`).
  case grpcSwift = "grpc-swift"
}

/// Which services a gRPC listener serves (Health always).
public enum ServicePlane: Sendable, Equatable {
  /// Recommender, EventCollector and Admin on one listener (tests, in-process use).
  case all
  /// Recommender and EventCollector: the listener storefronts reach.
  case api
  /// Admin only: the operators' listener, on loopback unless configured.
  case admin
}

/// The gRPC listener as a swift-service-lifecycle `Service`: serves Recommender, EventCollector,
/// Admin and Health until graceful shutdown, then stops accepting calls, reports NOT_SERVING, ends
/// health watches, and lets in-flight calls finish.
public final class FunnelGRPCServer: Service {
  private enum Listener {
    case wire(WireServer)
    case grpcSwift(GRPCServer<HTTP2ServerTransport.Posix>, HTTP2ServerTransport.Posix)
  }
  private let listener: Listener
  private let logger: Logger
  /// With a group of the server's own (which is then shut down when the server stops), the executor
  /// that runs calls on its loops; nil on NIO's shared group.
  private let executor: EventLoopExecutor?
  /// The listener's loops; its own ones are shut down when the server stops (never the shared group).
  private let group: MultiThreadedEventLoopGroup
  /// Health status of this server (flip it to drain before shutdown).
  public let health: HealthState

  /// The listener's loops unless configured: one per core (at most 64), the loops running the calls.
  public static let defaultEventLoopThreads = min(64, System.coreCount)
  /// Microseconds of calls' work a listener loop runs between two polls of its sockets before
  /// further work goes to Swift's pool (`EventLoopExecutor.makeGroup(threads:tickBudget:)`).
  public static let defaultLoopTickBudgetMicros = 500

  /// A server on `host:port` (port 0 = any free port) answering from `engine` through `transport`.
  /// `eventLoopThreads`: 0 for NIO's shared group with calls on the cooperative pool; N for a group
  /// of N loops of its own that also run the calls (`EventLoopExecutor`: a call stays on its
  /// connection's loop until the loop has run `loopTickBudgetMicros` of work since it last polled its
  /// sockets, then goes to the pool); by default `defaultEventLoopThreads`, as
  /// `funnel serve`. `flushDelayMicros`: 0 coalesces a connection's writes per event-loop tick
  /// (`NextTickFlushHandler`), -1 writes every response at once; N > 0 holds them up to N µs
  /// (grpc-swift's timer; the nio-http2 transport coalesces per tick then). `limits` bound what
  /// clients can make the nio-http2 transport hold (connections, bytes, admitted calls, timers).
  public init(host: String, port: Int, engine: ServingEngine, logger: Logger, version: String,
              transport: GRPCTransportKind = .nioHTTP2,
              eventLoopThreads: Int = FunnelGRPCServer.defaultEventLoopThreads,
              loopTickBudgetMicros: Int = FunnelGRPCServer.defaultLoopTickBudgetMicros,
              flushDelayMicros: Int = 0, limits: WireServer.Configuration = .init(),
              plane: ServicePlane = .all, tls: ServerTLS? = nil, authenticator: Authenticator? = nil, audit: AdminAudit? = nil,
              statistics: @escaping @Sendable () -> (users: Int, events: Int)) {
    precondition(transport == .nioHTTP2 || (tls == nil && authenticator?.isEnabled != true),
                 "TLS and authentication are served by the nio-http2 transport only")
    let health = HealthState()
    let (group, executor): (MultiThreadedEventLoopGroup, EventLoopExecutor?) = eventLoopThreads == 0
      ? (MultiThreadedEventLoopGroup.singleton, nil)
      : EventLoopExecutor.makeGroup(threads: eventLoopThreads, tickBudget: .microseconds(loopTickBudgetMicros))
    let recommender = RecommenderService(engine: engine, logger: logger)
    let events = EventCollectorService(engine: engine, logger: logger)
    let admin = AdminService(engine: engine, logger: logger, serverVersion: version, audit: audit, statistics: statistics)
    let healthService = HealthService(state: health)
    let rpcMetrics = RPCMetrics(engine.metrics)
    switch transport {
    case .nioHTTP2:
      var configuration = limits
      configuration.coalesceFlushes = flushDelayMicros >= 0
      let router = FunnelWireRoutes.router(recommender: plane == .admin ? nil : recommender, events: plane == .admin ? nil : events,
                                           admin: plane == .api ? nil : admin, health: healthService,
                                           callGuard: authenticator.flatMap { CallAuthorization.guarding($0, audit: audit) })
      var handshake: (@Sendable () -> NIOSSLServerHandler)?
      if let tls { handshake = { tls.makeGRPCHandler() } }
      listener = .wire(WireServer(host: host, port: port, group: group, router: router, executor: executor,
                                  configuration: configuration, logger: logger, observer: rpcMetrics.observer,
                                  tls: handshake))
    case .grpcSwift:
      let config = HTTP2ServerTransport.Posix.Config.defaults { config in
        // gzip and deflate clients (grpcio configured for compression) are served, not refused.
        config.compression.enabledAlgorithms = .all
        config.connection.flushCoalescing = flushDelayMicros > 0
          ? .init(maxFlushDelay: .microseconds(flushDelayMicros), maxBytes: 64 * 1024) : nil
        if flushDelayMicros == 0 {
          config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
            channel.eventLoop.submit { try channel.pipeline.syncOperations.addHandler(NextTickFlushHandler(), position: .first) }
          }
        }
      }
      let posix = HTTP2ServerTransport.Posix(address: .ipv4(host: host, port: port), transportSecurity: .plaintext,
                                             config: config, eventLoopGroup: group)
      let services: [any RegistrableRPCService] = switch plane {
      case .all: [recommender, events, admin, healthService]
      case .api: [recommender, events, healthService]
      case .admin: [admin, healthService]
      }
      listener = .grpcSwift(GRPCServer(transport: posix, services: services,
                                       interceptors: [RPCMetricsInterceptor(rpcMetrics)]), posix)
    }
    self.executor = executor
    self.group = group
    self.health = health
    self.logger = logger
  }

  /// Registers the nio-http2 listener's load as gauges in `metrics` (connections, buffered bytes,
  /// admitted calls running and waiting), set at each scrape; nothing for the grpc-swift transport.
  public func registerLoadMetrics(in metrics: ServingMetrics) {
    guard case .wire(let server) = listener else { return }
    func gauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
      metrics.registry.makeGauge(descriptor: .init(namespace: "funnel", subsystem: "grpc", metricName: name, unitName: unit,
                                                   helpText: help))
    }
    let connections = gauge("connections", "", "Open gRPC connections.")
    let buffered = gauge("buffered", "bytes", "Request and response bytes the gRPC listener buffers.")
    let running = gauge("running_calls", "", "Admitted gRPC calls running.")
    let queued = gauge("queued_calls", "", "gRPC calls waiting for a slot.")
    metrics.onScrape {
      let load = server.load
      connections.set(Double(load.connections))
      buffered.set(Double(load.bufferedBytes))
      running.set(Double(load.runningCalls))
      queued.set(Double(load.queuedCalls))
    }
  }

  /// The event loops the listener runs on (its own, or NIO's shared ones).
  public var eventLoops: any EventLoopGroup { group }

  /// The bound port, once listening (waits for the listener).
  public func listeningPort() async throws -> Int {
    let transport: HTTP2ServerTransport.Posix
    switch listener {
    case .wire(let server): return try await server.listeningPort()
    case .grpcSwift(_, let posix): transport = posix
    }
    let address = try await transport.listeningAddress
    guard let ipv4 = address.ipv4 else {
      if let ipv6 = address.ipv6 { return ipv6.port }
      throw RPCError(code: .internalError, message: "listening on a non-IP address: \(address)")
    }
    return ipv4.port
  }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      defer { if executor != nil { group.shutdownGracefully { _ in } } }
      switch listener {
      case .wire(let server):
        try await server.serve()
      case .grpcSwift(let server, _):
        if let executor {
          try await withTaskExecutorPreference(executor) { try await server.serve() }
        } else {
          try await server.serve()
        }
      }
    } onGracefulShutdown: { [listener, health, logger] in
      logger.info("graceful shutdown: draining in-flight calls")
      health.shutDown()
      switch listener {
      case .wire(let server): server.beginGracefulShutdown()
      case .grpcSwift(let server, _): server.beginGracefulShutdown()
      }
    }
  }
}
