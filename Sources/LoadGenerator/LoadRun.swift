import Foundation
import FunnelCore
import FunnelGRPC
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCWire
import Histogram
import NIOCore
import NIOPosix
import Synchronization

/// An open-loop gRPC load generator: calls leave on a fixed schedule (constant or Poisson arrivals)
/// whether or not earlier ones have answered, and each latency counts from the call's intended
/// send time, so a stalled server shows up in the tail instead of silently lowering the rate (no
/// coordinated omission). Calls spread over `connections` HTTP/2 connections.
///
/// Cheap on purpose: one event loop of its own runs the connections, the schedule and every call's
/// task (no thread hand-offs per call, which cost client CPU the measurement then includes), one small task
/// per call, one histogram behind a mutex, no per-call logging.
public struct LoadRun: Sendable {
  public enum Arrivals: String, Sendable { case constant, poisson }
  /// Which client code makes the calls.
  public enum Client: String, Sendable, CaseIterable {
    /// `WireClientConnection`: frames written and read by one handler per connection, no task or
    /// channel per call inside the client (the default: the client shares the cores with the server).
    case nioHTTP2 = "nio-http2"
    /// grpc-swift-2's client with the generated stubs.
    case grpcSwift = "grpc-swift"
  }

  /// The servers (or balancers) called: connection i goes to target i mod count, calls go round
  /// robin over the connections, so load spreads evenly over the targets.
  public var targets: [(host: String, port: Int)]
  public var rate: Double
  public var seconds: Double
  public var connections = 4
  public var client = Client.nioHTTP2
  /// TLS and credential of the grpc-swift client (the lean client is plaintext only).
  public var security = ClientSecurity()
  public var arrivals = Arrivals.constant
  public var scenario = LoadScenario()
  /// Calls in flight beyond this are not sent and count as `CLIENT_OVERLOADED` (bounds the client's memory).
  public var maxInFlight = 20_000
  /// Per-call deadline sent to the server.
  public var callTimeout: Duration = .seconds(5)
  public var seed: UInt64 = 1

  /// A run against `host:port` at `rate` calls/s for `seconds`.
  public init(host: String, port: Int, rate: Double, seconds: Double) {
    self.init(targets: [(host, port)], rate: rate, seconds: seconds)
  }

  /// A run spread over `targets` (at least one) at `rate` calls/s for `seconds`.
  public init(targets: [(host: String, port: Int)], rate: Double, seconds: Double) {
    precondition(!targets.isEmpty, "a load run needs a target")
    self.targets = targets
    self.rate = rate
    self.seconds = seconds
  }

  /// Connections opened: `connections`, and at least one per target.
  var connectionCount: Int { max(1, connections, targets.count) }

  private struct Counters: Sendable {
    var report: LoadReport
    var windowLatency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
    var windowDone = 0
  }

  /// The run's counters, shared by every call task.
  private final class Shared: Sendable {
    let state: Mutex<Counters>
    let inFlight = Atomic<Int>(0)
    init(_ report: LoadReport) { state = Mutex(Counters(report: report)) }
    func withLock<T>(_ body: (inout Counters) -> T) -> T { state.withLock { body(&$0) } }
  }

  /// Runs the schedule; `progress` receives a line about once a second. Throws only when it cannot
  /// connect at all.
  public func run(progress: (@Sendable (String) -> Void)? = nil) async throws -> LoadReport {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { group.shutdownGracefully { _ in } }
    let loop = group.next()
    switch client {
    case .nioHTTP2:
      return try await withTaskExecutorPreference(EventLoopExecutor(loop)) {
        var connections: [WireClientConnection] = []
        let security = try self.security.wire()
        for i in 0..<self.connectionCount {
          let target = targets[i % targets.count]
          connections.append(try await WireClientConnection.connect(host: target.host, port: target.port, security: security, on: loop))
        }
        let calls = LeanCalls(connections: connections, targets: targets.count, timeout: callTimeout)
        let report: Result<LoadReport, any Error>
        do {
          report = .success(try await run(loop: loop, progress: progress) { index, kind, recommend, search in
            try await calls.call(index, kind, recommend, search)
          })
        } catch {
          report = .failure(error)
        }
        for connection in connections { await connection.close() }
        return try report.get()
      }
    case .grpcSwift:
      // Each request is written at once: grpc-swift's default flush coalescing would hold every
      // request up to 100 µs, which the latencies (measured from the intended send time) would include.
      let config = HTTP2ClientTransport.Posix.Config.defaults { $0.connection.flushCoalescing = nil }
      let clients = try (0..<connectionCount).map { i in
        GRPCClient(transport: try HTTP2ClientTransport.Posix(target: .dns(host: targets[i % targets.count].host,
                                                                          port: targets[i % targets.count].port),
                                                             transportSecurity: security.transportSecurity,
                                                             config: config, eventLoopGroup: group),
                   interceptors: security.interceptors)
      }
      var options = CallOptions.defaults
      options.timeout = callTimeout
      let callOptions = options
      return try await withTaskExecutorPreference(EventLoopExecutor(loop)) {
        try await withThrowingTaskGroup(of: Void.self) { connectionTasks in
          for client in clients { connectionTasks.addTask { try await client.runConnections() } }
          defer { for client in clients { client.beginGracefulShutdown() } }
          let report = try await run(loop: loop, progress: progress) { index, kind, recommend, search in
            let client = clients[index % clients.count]
            if kind == .health {
              _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(Grpc_Health_V1_HealthCheckRequest(), options: callOptions)
            } else if kind == .search, let search {
              _ = try await Funnel_V1_Recommender.Client(wrapping: client).search(search, options: callOptions)
            } else if let recommend {
              _ = try await Funnel_V1_Recommender.Client(wrapping: client).recommend(recommend, options: callOptions)
            }
          }
          for client in clients { client.beginGracefulShutdown() }
          try await connectionTasks.waitForAll()
          return report
        }
      }
    }
  }

  /// One call of the scenario: the call's index (to spread calls over connections), its kind and request.
  typealias Call = @Sendable (Int, LoadScenario.Call, Funnel_V1_RecommendRequest?, Funnel_V1_SearchRequest?) async throws -> Void

  private func run(loop: any EventLoop, progress: (@Sendable (String) -> Void)?, call: @escaping Call) async throws -> LoadReport {
    let shared = Shared(LoadReport(intendedRate: rate, seconds: seconds))
    let clock = ContinuousClock()
    do {
      let start = clock.now
      let end = start + .milliseconds(Int64(seconds * 1_000))
      await withDiscardingTaskGroup { calls in
        var rng = SplitMix64(seed: seed)
        var intended = start
        var index = 0
        var nextProgress = start + .seconds(1)
        while intended < end {
          if clock.now < intended {
            // The loop's own timer (timerfd in its epoll), not Task.sleep's, which wakes other threads.
            let wait = TimeAmount.nanoseconds(Int64((intended - clock.now) / .nanoseconds(1)))
            try? await loop.scheduleTask(in: wait) {}.futureResult.get()
          }
          if let progress, clock.now >= nextProgress {
            progress(Self.progressLine(shared, elapsed: (clock.now - start) / .seconds(1)))
            nextProgress = nextProgress + .seconds(1)
          }
          let (kind, recommend, search) = scenario.next(&rng)
          let sendAt = intended
          let callIndex = index
          index += 1
          shared.withLock { $0.report.sent += 1 }
          if shared.inFlight.add(1, ordering: .relaxed).newValue > maxInFlight {
            shared.inFlight.subtract(1, ordering: .relaxed)
            shared.withLock { $0.report.errors["CLIENT_OVERLOADED", default: 0] += 1 }
          } else {
            calls.addTask {
              var code: String?
              do {
                try await call(callIndex, kind, recommend, search)
              } catch let error as RPCError {
                code = "\(error.code)"
              } catch {
                code = "UNKNOWN"
              }
              let micros = UInt64(max(0, (clock.now - sendAt) / .microseconds(1)))
              shared.inFlight.subtract(1, ordering: .relaxed)
              shared.withLock { s in
                _ = s.report.latency.record(micros)
                _ = s.windowLatency.record(micros)
                s.windowDone += 1
                if let code { s.report.errors[code, default: 0] += 1 } else { s.report.succeeded += 1 }
              }
            }
          }
          intended = intended + Self.gap(rate: rate, arrivals: arrivals, rng: &rng)
        }
      }
      shared.withLock { $0.report.seconds = (clock.now - start) / .seconds(1) }
    }
    return shared.withLock { $0.report }
  }

  /// Time to the next arrival: 1/rate, or exponentially distributed with that mean (Poisson).
  static func gap(rate: Double, arrivals: Arrivals, rng: inout SplitMix64) -> Duration {
    let mean = 1 / max(rate, 0.001)
    let seconds = arrivals == .constant ? mean : -log(max(rng.unit(), 1e-12)) * mean
    return .nanoseconds(Int64(seconds * 1e9))
  }

  private static func progressLine(_ shared: Shared, elapsed: Double) -> String {
    shared.withLock { s in
      let line = String(format: "%5.0fs  done %d/s  p50 %.2f ms  p99 %.2f ms  errors %d", elapsed, s.windowDone,
                        Double(s.windowLatency.valueAtPercentile(50)) / 1_000, Double(s.windowLatency.valueAtPercentile(99)) / 1_000,
                        s.report.errorCount)
      s.windowLatency.reset()
      s.windowDone = 0
      return line
    }
  }
}
