import FunnelCore
import FunnelSecurity
import Hummingbird
import HummingbirdTLS
import HTTPTypes
import Logging
import NIOCore
import ServiceLifecycle

/// The live operations dashboard's own HTTP listener (a lifecycle `Service`), on the admin address:
/// `GET /dashboard` (the page), `/dashboard/app.js`, `/dashboard/chart.js` (Chart.js from Debian's
/// libjs-chart.js, read by the caller at start), `GET /v1/dashboard` (the full view as JSON:
/// a page load fills its charts from it), `GET /v1/dashboard/stream` (server-sent events: `view`
/// and `tick` messages pushed by the indicator service through `feed`), `GET /v1/alarms` (the rules' states) and `/healthz`.
/// Every route but `/healthz` needs the `dashboard` (or `admin`) scope when authentication is on.
/// Thread-safe; requests run on Swift's pool.
public final class DashboardListener: Service, Sendable {
  let host: String
  let port: Int
  let feed: DashboardFeed
  /// The full view, encoded; throws when the rollup store is down (503).
  let view: @Sendable () async throws -> [UInt8]
  let alarms: @Sendable () async -> [UInt8]
  let chartLibrary: [UInt8]?
  let tls: ServerTLS?
  let authenticator: Authenticator?
  let logger: Logger
  private let bound = BoundPort()

  /// A listener on `host:port` (0: any free port). `chartLibrary` is Chart.js's UMD build (nil: the
  /// page shows its tiles and tables without charts, and says why).
  public init(host: String, port: Int, feed: DashboardFeed, view: @escaping @Sendable () async throws -> [UInt8],
              alarms: @escaping @Sendable () async -> [UInt8], chartLibrary: [UInt8]?, tls: ServerTLS? = nil,
              authenticator: Authenticator? = nil, logger: Logger) {
    self.host = host
    self.port = port
    self.feed = feed
    self.view = view
    self.alarms = alarms
    self.chartLibrary = chartLibrary
    self.tls = tls
    self.authenticator = authenticator
    self.logger = logger
  }

  /// The bound port, once listening.
  public func listeningPort() async throws -> Int { try await bound.wait() }

  func router() -> Router<FunnelRequestContext> {
    let router = Router(context: FunnelRequestContext.self)
    router.middlewares.add(ProblemMiddleware(logger: logger))
    if let authenticator, authenticator.isEnabled {
      router.middlewares.add(AuthMiddleware(authenticator: authenticator, policy: { _, route in AccessPolicy.dashboard(route: route) }))
    }
    let (feed, view, alarms, chart) = (self.feed, self.view, self.alarms, self.chartLibrary)
    router.get("/healthz") { _, _ in Self.response(.ok, "text/plain", Array("ok\n".utf8)) }
    router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/dashboard"]) }
    router.get("/dashboard") { _, _ in Self.response(.ok, "text/html; charset=utf-8", DashboardAssets.page) }
    router.get("/dashboard/app.js") { _, _ in Self.response(.ok, "text/javascript; charset=utf-8", DashboardAssets.script) }
    router.get("/dashboard/chart.js") { _, _ in
      guard let chart else {
        throw HTTPFailure(status: .notFound, code: "notFound", message: "Chart.js is not installed (apt-get install libjs-chart.js)")
      }
      var response = Self.response(.ok, "text/javascript; charset=utf-8", chart)
      response.headers[.cacheControl] = "public, max-age=86400"
      return response
    }
    router.get("/v1/dashboard") { _, _ in
      do {
        return Self.response(.ok, "application/json", try await view())
      } catch {
        throw HTTPFailure(status: .serviceUnavailable, code: "unavailable", message: "the indicator store is unavailable; retry later")
      }
    }
    router.get("/v1/alarms") { _, _ in Self.response(.ok, "application/json", await alarms()) }
    router.get("/v1/dashboard/stream") { _, _ in
      guard let stream = feed.subscribe() else {
        throw HTTPFailure(status: .serviceUnavailable, code: "resourceExhausted", message: "too many open dashboards (\(feed.maxViewers))")
      }
      return Response(
        status: .ok,
        headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no"],
        body: ResponseBody { writer in
          // The indicator service publishes several times a second (an `unavailable` event when the
          // store is down), so the stream is never idle long enough for a proxy to close it.
          try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
          for await message in stream { try await writer.write(ByteBuffer(bytes: message)) }
          try await writer.finish(nil)
        })
    }
    return router
  }

  static func response(_ status: HTTPResponse.Status, _ contentType: String, _ body: [UInt8]) -> Response {
    Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
  }

  public func run() async throws {
    let (host, port, tls) = (self.host, self.port, self.tls)
    let application = Application(
      router: router(),
      server: try tls.map { try .tls(.http1(configuration: .init(idleTimeout: .seconds(120))), configuration: .init(
        tlsConfiguration: $0.httpConfiguration, customVerificationCallback: $0.clientVerification)) }
        ?? .http1(configuration: .init(idleTimeout: .seconds(120))),
      configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 256),
      onServerRunning: { [self] channel in
        let actual = channel.localAddress?.port ?? port
        bound.bound(actual)
        logger.info("dashboard listening", metadata: ["url": "\(tls == nil ? "http" : "https")://\(host):\(actual)/dashboard"])
      },
      logger: logger)
    do {
      try await withGracefulShutdownHandler {
        try await application.run()
      } onGracefulShutdown: { [feed] in
        // Open streams would hold the listener's graceful shutdown until their clients left.
        feed.finish()
      }
    } catch {
      guard !bound.fail(error) else {
        throw FunnelError(.unavailable, "dashboard listener: cannot listen on \(host):\(port): \(error)")
      }
      throw error
    }
  }
}
