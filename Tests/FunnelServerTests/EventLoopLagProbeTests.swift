import FunnelServer
import Glibc
import NIOPosix
import Serving
import Testing

/// The probe records how late a loop runs a queued task: a loop blocked for 100 ms shows it.
@Suite struct EventLoopLagProbeTests {
  @Test func aBlockedLoopShowsItsLag() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let metrics = ServingMetrics()
    let probe = EventLoopLagProbe(group: group, metrics: metrics, interval: .milliseconds(20))
    let running = Task { try await probe.run() }
    // Waits on conditions, not a timetable: under the parallel suite the probe's task may run late.
    func waitUntil(_ condition: () -> Bool) async throws {
      let limit = ContinuousClock.now + .seconds(30)
      while !condition(), ContinuousClock.now < limit { try await Task.sleep(for: .milliseconds(10)) }
    }
    try await waitUntil { metrics.value("funnel_event_loop_lag_seconds_count") >= 5 }
    let quiet = metrics.value("funnel_event_loop_lag_seconds_sum")
    // The loop is blocked again until a probe has queued behind a block: on a loaded machine the
    // probe's task may only get to schedule its next probe after one block has ended.
    let limit = ContinuousClock.now + .seconds(30)
    while metrics.value("funnel_event_loop_lag_seconds_sum") - quiet < 0.05, ContinuousClock.now < limit {
      group.next().execute { usleep(150_000) }
      try await Task.sleep(for: .milliseconds(300))
    }
    running.cancel()
    _ = try? await running.value
    #expect(metrics.value("funnel_event_loop_lag_seconds_count") >= 5)
    #expect(metrics.value("funnel_event_loop_lag_seconds_sum") - quiet >= 0.05, "a probe queued behind 150 ms of blocking waited")
    try await group.shutdownGracefully()
  }
}
