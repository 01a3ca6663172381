import FunnelGRPC
import FunnelServer
import FunnelTestSupport
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import InMemoryTracing
import Logging
import ServiceLifecycle
import Serving
import Testing

/// The real server: HTTP/2 on an ephemeral loopback port, run as a Service in a ServiceGroup, and
/// shut down gracefully.
@Suite struct HTTP2ServerTests {
  /// Both transports; 0: NIO's shared loops, calls on the cooperative pool; 1 and 2: loops of the
  /// server's own that run the calls (`EventLoopExecutor`).
  @Test(arguments: GRPCTransportKind.allCases, [0, 1, 2])
  func servesOverHTTP2AndShutsDownGracefully(transport: GRPCTransportKind, eventLoopThreads: Int) async throws {
    let (engine, store) = TestEngines.engine()
    let logger = Logger(label: "test")
    let server = FunnelGRPCServer(host: "127.0.0.1", port: 0, engine: engine, logger: logger, version: "test",
                                  transport: transport, eventLoopThreads: eventLoopThreads, statistics: { store.counts() })
    let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let port = try await server.listeningPort()
      #expect(port > 0)
      let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port),
                                                     transportSecurity: .plaintext)
      try await withGRPCClient(transport: transport) { client in
        let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
        #expect(health.status == .serving)
        var request = Funnel_V1_RecommendRequest()
        request.userID = "U-5"
        request.scene = .email
        request.count = 7
        let response = try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request)
        #expect(response.items.count == 7)
        request.count = 0
        request.userID = ""
        let error = await #expect(throws: RPCError.self) {
          try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request)
        }
        #expect(error?.code == .invalidArgument)
      }
      // RED metrics per method and status code, from either transport; answers per scene.
      func calls(_ method: String, _ code: String) -> Double {
        engine.metrics.value("funnel_grpc_requests_total", [("method", method), ("code", code)])
      }
      #expect(calls("funnel.v1.Recommender/Recommend", "OK") == 1)
      #expect(calls("funnel.v1.Recommender/Recommend", "INVALID_ARGUMENT") == 1, "a failed call counts under its code")
      #expect(calls("grpc.health.v1.Health/Check", "OK") == 1)
      #expect(engine.metrics.value("funnel_grpc_request_duration_seconds_count", [("method", "funnel.v1.Recommender/Recommend")]) == 2)
      #expect(engine.metrics.value("funnel_answers_total", [("scene", "email")]) == 1)
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
      #expect(server.health.status(of: "") == .notServing)
    }
  }
}

/// SIGTERM semantics: calls in flight when graceful shutdown starts still get their answers.
@Suite struct GracefulShutdownTests {
  @Test(arguments: GRPCTransportKind.allCases) func inFlightCallsFinish(transport: GRPCTransportKind) async throws {
    var configuration = ServingConfiguration()
    configuration.profileBudget = .seconds(5)
    // Every request waits 300 ms for its profile; shutdown starts once all of them reached the store.
    let slow = SlowActivitySource(delay: .milliseconds(300))
    let (engine, store) = TestEngines.engine(activity: slow, configuration: configuration)
    try await TestServers.withServer(engine: engine, store: store, transport: transport) { port, stop in
      let client = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port),
                                                  transportSecurity: .plaintext)
      let answered = try await withGRPCClient(transport: client) { client in
        try await withThrowingTaskGroup(of: Int.self) { calls in
          for i in 0..<10 {
            calls.addTask {
              var request = Funnel_V1_RecommendRequest()
              request.userID = "U-\(i + 1)"
              request.scene = .home
              request.count = 5
              return try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request).items.count
            }
          }
          let clock = ContinuousClock()
          let deadline = clock.now + .seconds(30)
          while slow.started < 10 && clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
          #expect(slow.started == 10, "all calls are in flight before shutdown")
          await stop()
          var counts: [Int] = []
          for try await c in calls { counts.append(c) }
          return counts
        }
      }
      #expect(answered == Array(repeating: 5, count: 10))
    }
  }
}

/// The call's deadline shortens the store budget: a store slower than the deadline yields a degraded
/// answer before the deadline, not DEADLINE_EXCEEDED.
@Suite struct CallDeadlineTests {
  @Test func aSlowStoreStillAnswersBeforeTheCallsDeadline() async throws {
    var configuration = ServingConfiguration()
    configuration.profileBudget = .seconds(300)  // would outlast the call without the deadline
    let (engine, store) = TestEngines.engine(activity: SlowActivitySource(delay: .seconds(180)), configuration: configuration)
    try await TestServers.withServer(engine: engine, store: store) { port in
      let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port),
                                                     transportSecurity: .plaintext)
      let response = try await withGRPCClient(transport: transport) { client in
        var request = Funnel_V1_RecommendRequest()
        request.userID = "U-1"
        request.scene = .home
        request.count = 5
        var options = CallOptions.defaults
        // Long enough for a debug build under a parallel suite on two slow cores (answers there have
        // waited 15-20 s for the cooperative pool while other tests computed); the store (180 s) and
        // the configured budget (300 s) are far longer, so only the deadline's cut can make the
        // answer arrive.
        options.timeout = .seconds(45)
        return try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request, options: options)
      }
      #expect(response.degraded)
      #expect(response.items.count == 5)
    }
  }

  @Test(arguments: [("250m", 250_000_000), ("2S", 2_000_000_000), ("1M", 60_000_000_000), ("7u", 7_000), ("x", -1), ("", -1)])
  func parsesTheTimeoutHeader(header: String, nanoseconds: Int64) {
    var metadata = Metadata()
    if !header.isEmpty { metadata.addString(header, forKey: "grpc-timeout") }
    let now = ContinuousClock.now
    let deadline = CallDeadline.parse(metadata, now: now)
    #expect(deadline.map { $0 - now } == (nanoseconds < 0 ? nil : .nanoseconds(nanoseconds)), "\(header)")
  }
}

/// Methods beyond unary over real HTTP/2, on both transports: Health.Watch streams until shutdown;
/// a request that is not the method's message is INVALID_ARGUMENT and the connection goes on.
@Suite struct TransportParityTests {
  @Test(arguments: GRPCTransportKind.allCases) func healthWatchStreamsUntilShutdown(transport: GRPCTransportKind) async throws {
    let (engine, store) = TestEngines.engine()
    try await TestServers.withServer(engine: engine, store: store, transport: transport) { port, stop in
      let client = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
      let statuses = try await withGRPCClient(transport: client) { client in
        try await Grpc_Health_V1_Health.Client(wrapping: client).watch(.init()) { response in
          var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
          for try await message in response.messages {
            statuses.append(message.status)
            if statuses.count == 1 { await stop() }
          }
          return statuses
        }
      }
      #expect(statuses == [.serving, .notServing])
    }
  }

  @Test(arguments: GRPCTransportKind.allCases) func aRequestThatIsNotTheMessageFailsCleanly(transport: GRPCTransportKind) async throws {
    let (engine, store) = TestEngines.engine()
    try await TestServers.withServer(engine: engine, store: store, transport: transport) { port in
      let client = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
      try await withGRPCClient(transport: client) { client in
        let error = await #expect(throws: RPCError.self) {
          // Field 1 as a varint where a string is expected, then a truncated field.
          try await client.unary(request: ClientRequest(message: [0x08, 0x01, 0x12]), descriptor: Funnel_V1_Recommender.Method.Recommend.descriptor,
                                 serializer: RawBytes(), deserializer: RawBytes(), options: .defaults) { try $0.message }
        }
        #expect(error?.code == .invalidArgument, "\(String(describing: error))")
        // The server still answers.
        let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
        #expect(health.status == .serving)
      }
    }
  }
}

/// Raw bytes as gRPC messages (a request that is not the method's message).
private struct RawBytes: MessageSerializer, MessageDeserializer {
  typealias Message = [UInt8]
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }

  /// A caller's trace context in the request metadata parents the call's server span, which comes
  /// back in the response metadata; the engine's Recommend span is its child (the tracer's own keys
  /// here; `traceparent` with a W3C propagator, as `TraceExportTests` shows over HTTP).
  @Test(arguments: GRPCTransportKind.allCases)
  func theCallersTraceIsContinuedAndReturned(transport: GRPCTransportKind) async throws {
    let tracer = InMemoryTracer()
    let (engine, store) = TestEngines.engine(tracer: tracer)
    let logger = Logger(label: "test")
    let server = FunnelGRPCServer(host: "127.0.0.1", port: 0, engine: engine, logger: logger, version: "test", transport: transport,
                                  statistics: { store.counts() })
    let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let port = try await server.listeningPort()
      let client = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
      try await withGRPCClient(transport: client) { client in
        var request = Funnel_V1_RecommendRequest()
        request.userID = "U-5"
        request.scene = .home
        request.count = 3
        let metadata: Metadata = [InMemoryTracer.traceIDKey: "trace-of-the-shop", InMemoryTracer.spanIDKey: "span-of-the-shop"]
        let returned = try await Funnel_V1_Recommender.Client(wrapping: client).recommend(request, metadata: metadata) { response in
          (response.metadata[stringValues: InMemoryTracer.traceIDKey].first { _ in true },
           response.metadata[stringValues: InMemoryTracer.spanIDKey].first { _ in true })
        }
        let call = try #require(tracer.finishedSpans.first { $0.operationName == "funnel.v1.Recommender/Recommend" })
        #expect(call.kind == .server && call.spanContext.traceID == "trace-of-the-shop" && call.spanContext.parentSpanID == "span-of-the-shop")
        #expect(returned.0 == "trace-of-the-shop" && returned.1 == call.spanContext.spanID, "\(returned)")
        let recommend = try #require(tracer.finishedSpans.first { $0.operationName == "Recommend" })
        #expect(recommend.spanContext.parentSpanID == call.spanContext.spanID)
      }
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
    }
  }
}
