import NIOCore
import Prometheus
import ServiceLifecycle
import Serving

/// Measures how late the gRPC listener's event loops run a task: every `interval` a timestamped
/// no-op is queued on each loop, and the time until it runs is recorded in
/// `funnel_event_loop_lag_seconds`. A loop kept busy (calls run on it, a blocking call where none
/// should be) shows here before it shows as slow answers. A lifecycle `Service`; stops on graceful
/// shutdown.
public struct EventLoopLagProbe: Service {
  let loops: [any EventLoop]
  let lag: DurationHistogram
  let interval: Duration

  /// A probe of `group`'s loops, recording into `metrics`.
  public init(group: any EventLoopGroup, metrics: ServingMetrics, interval: Duration = .seconds(1)) {
    loops = Array(group.makeIterator())
    lag = metrics.registry.makeDurationHistogram(
      descriptor: .init(namespace: "funnel", metricName: "event_loop_lag", unitName: "seconds",
                        helpText: "Time a task queued on a gRPC event loop waits before it runs."),
      buckets: ServingMetrics.latencyBuckets)
    self.interval = interval
  }

  public func run() async throws {
    let lag = self.lag
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      for loop in loops {
        let queued = ContinuousClock.now
        loop.execute { lag.record(ContinuousClock.now - queued) }
      }
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
  }
}
