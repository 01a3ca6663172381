import FunnelGRPC
import FunnelServer
import Glibc
import NIOPosix
import Serving
import Testing

/// The probe records how late a loop runs its timers: a loop blocked for 150 ms shows it.
@Suite struct EventLoopLagProbeTests {
  @Test func aBlockedLoopShowsItsLag() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let metrics = ServingMetrics()
    let probe = EventLoopLagProbe(group: group, metrics: metrics, interval: .milliseconds(20))
    // The probe's task runs on a loop of its own: under the parallel suite the cooperative pool can
    // be busy for many seconds, and the probe would arm its timers only then.
    let own = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let running = Task(executorPreference: EventLoopExecutor(own.next())) { try await probe.run() }
    // Waits on conditions, not a timetable: under the parallel suite this task may run late.
    func waitUntil(_ condition: () -> Bool) async throws {
      let limit = ContinuousClock.now + .seconds(30)
      while !condition(), ContinuousClock.now < limit { try await Task.sleep(for: .milliseconds(10)) }
    }
    try await waitUntil { metrics.value("funnel_event_loop_lag_seconds_count") >= 5 }
    let probes = metrics.value("funnel_event_loop_lag_seconds_count")
    let quiet = metrics.value("funnel_event_loop_lag_seconds_sum")
    // The probe's timer is on the loop, so one due while the loop is blocked fires when it ends.
    _ = try await group.next().submit { usleep(150_000) }.get()
    try await waitUntil { metrics.value("funnel_event_loop_lag_seconds_sum") - quiet >= 0.1 }
    running.cancel()
    _ = try? await running.value
    #expect(probes >= 5)
    #expect(metrics.value("funnel_event_loop_lag_seconds_sum") - quiet >= 0.1, "a timer due during 150 ms of blocking fired late")
    try await group.shutdownGracefully()
    try await own.shutdownGracefully()
  }
}
