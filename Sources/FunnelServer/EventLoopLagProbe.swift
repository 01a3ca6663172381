import NIOCore
import Prometheus
import ServiceLifecycle
import Serving
import Synchronization

/// Measures how late the gRPC listener's event loops run a task: every `interval` a timer is armed
/// on each loop, and how late it fires is recorded in `funnel_event_loop_lag_seconds`. A loop kept
/// busy (calls run on it, a blocking call where none should be) shows here before it shows as slow
/// answers. A lifecycle `Service`; stops on graceful shutdown or cancellation.
///
/// The timers live on the loops themselves, not in a Swift task that queues work onto them: a task
/// on a saturated cooperative pool would probe rarely, exactly when the probe matters.
public struct EventLoopLagProbe: Service {
  let loops: [any EventLoop]
  let lag: DurationHistogram
  let interval: TimeAmount

  /// A probe of `group`'s loops, recording into `metrics`.
  public init(group: any EventLoopGroup, metrics: ServingMetrics, interval: Duration = .seconds(1)) {
    loops = Array(group.makeIterator())
    lag = metrics.registry.makeDurationHistogram(
      descriptor: .init(namespace: "funnel", metricName: "event_loop_lag", unitName: "seconds",
                        helpText: "Time a timer on a gRPC event loop fires after it was due."),
      buckets: ServingMetrics.latencyBuckets)
    let (seconds, attoseconds) = interval.components
    self.interval = .nanoseconds(max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
  }

  public func run() async throws {
    let stopped = StopFlag()
    for loop in loops { Self.arm(loop, after: interval, lag: lag, stopped: stopped) }
    try? await cancelWhenGracefulShutdown {
      while true { try await Task.sleep(for: .seconds(3600)) }
    }
    stopped.flag.store(true, ordering: .relaxed)
  }

  /// Arms one timer on `loop`; when it fires it records its lateness and arms the next, until
  /// `stopped`. A loop that shuts down first drops its pending timer.
  private static func arm(_ loop: any EventLoop, after delay: TimeAmount, lag: DurationHistogram,
                          stopped: StopFlag) {
    guard !stopped.flag.load(ordering: .relaxed) else { return }
    let due = NIODeadline.now() + delay
    loop.scheduleTask(deadline: due) {
      let late = NIODeadline.now() - due
      lag.recordNanoseconds(max(0, late.nanoseconds))
      arm(loop, after: delay, lag: lag, stopped: stopped)
    }.futureResult.whenFailure { _ in }
  }

  /// Tells the armed timers to stop re-arming; shared by every loop's chain.
  private final class StopFlag: Sendable {
    let flag = Atomic<Bool>(false)
  }
}
