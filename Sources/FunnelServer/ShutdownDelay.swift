import Logging
import ServiceLifecycle

/// The first step of a graceful shutdown behind a balancer or in Kubernetes: on SIGTERM the
/// replica says it is not ready (gRPC health `NOT_SERVING`, `GET /readyz` 503) and keeps serving
/// for `delay`, so health checks take it out of rotation before any listener closes; only then do
/// the other services stop (the gRPC listener sends GOAWAY and drains in-flight calls). Listed
/// last among the services, so the service group signals it first and waits for it.
public struct ShutdownDelay: Service {
  let delay: Duration
  let markUnready: @Sendable () -> Void
  let logger: Logger

  /// Marks the replica unready with `markUnready` at shutdown, then waits `delay`.
  public init(delay: Duration, logger: Logger, markUnready: @escaping @Sendable () -> Void) {
    self.delay = delay
    self.markUnready = markUnready
    self.logger = logger
  }

  public func run() async throws {
    // Parks until shutdown begins (the sleep is cancelled by the graceful shutdown).
    try? await gracefulShutdown()
    markUnready()
    logger.info("shutdown: unready; serving on while balancers notice", metadata: ["delay": "\(delay)"])
    // Not cancellable by the shutdown that started it: the delay is the point.
    try? await Task.sleep(for: delay)
  }
}
