import FunnelGRPC
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Where `EventLoopExecutor` runs tasks: always on one of its loops, and a task started while one
/// loop is busy goes to an idle one; with a tick budget, work past the budget goes to the pool until
/// the loop has polled its sockets again.
@Suite struct EventLoopExecutorTests {
  /// Index of the executor's loop the calling thread belongs to (nil: none of them).
  private static func loopIndex(_ executor: EventLoopExecutor) -> Int? {
    executor.eventLoops.firstIndex { $0.inEventLoop }
  }

  @Test func tasksRunOnTheExecutorsLoops() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let executor = EventLoopExecutor(loops: Array(group.makeIterator()))
    for _ in 0..<20 {
      let index = await Task(executorPreference: executor) { () async -> Int? in
        let before = Self.loopIndex(executor)
        await Task.yield()  // resumes through the executor again
        return before == nil ? nil : Self.loopIndex(executor)
      }.value
      #expect(index != nil)
    }
    // One loop: every job runs on it.
    let single = EventLoopExecutor(group.next())
    let onIt = await Task(executorPreference: single) { single.eventLoops[0].inEventLoop }.value
    #expect(onIt)
    try await group.shutdownGracefully()
  }

  @Test func aTaskStartedWhileOneLoopIsBusyRunsOnTheOther() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let executor = EventLoopExecutor(loops: Array(group.makeIterator()))
    let release = Mutex(false)
    let busyLoop = Mutex<Int?>(nil)
    // Holds its loop (blocking the loop's thread is what a long scoring job does) until released,
    // or for 60 s at most: a task sent to this loop by mistake then runs late and fails the checks
    // below instead of hanging the test. (3 s was too short: in the parallel debug suite on two
    // cores the ten checks below took longer, the loop came free, and checks ran on it.)
    let busy = Task(executorPreference: executor) { () -> Bool in
      busyLoop.withLock { $0 = Self.loopIndex(executor) }
      let until = ContinuousClock.now + .seconds(60)
      while !release.withLock({ $0 }) {
        if ContinuousClock.now >= until { return false }
        usleep(1_000)
      }
      return true
    }
    while busyLoop.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(1)) }
    for _ in 0..<10 {
      let other = await Task(executorPreference: executor) { Self.loopIndex(executor) }.value
      #expect(other != nil && other != busyLoop.withLock { $0 })
    }
    release.withLock { $0 = true }
    #expect(await busy.value, "the busy loop was held through every check")
    try await group.shutdownGracefully()
  }

  /// A task that keeps its loop busy (each step spins, then yields, so its next step is queued on
  /// the loop while the loop runs it) would keep the loop from its sockets for as long as it runs;
  /// with a budget its steps past the budget run on the pool, and once the loop has polled again
  /// they come back to it. Without a budget every step stays on the loop.
  @Test func workPastTheTickBudgetRunsOnThePoolUntilTheLoopPolls() async throws {
    func steps(on executor: EventLoopExecutor) async -> (onLoop: Int, offLoop: Int) {
      await Task(executorPreference: executor) { () async -> (Int, Int) in
        var (on, off) = (0, 0)
        for _ in 0..<300 {
          let until = ContinuousClock.now + .microseconds(100)
          while ContinuousClock.now < until {}
          if Self.loopIndex(executor) == nil { off += 1 } else { on += 1 }
          await Task.yield()
        }
        return (on, off)
      }.value
    }
    let (group, budgeted) = EventLoopExecutor.makeGroup(threads: 1, tickBudget: .milliseconds(1))
    let withBudget = await steps(on: budgeted)
    #expect(withBudget.offLoop > 0, "no step left the loop: \(withBudget)")
    #expect(withBudget.onLoop > withBudget.offLoop / 4, "the steps did not come back to the loop: \(withBudget)")
    let unbounded = await steps(on: EventLoopExecutor(loops: Array(group.makeIterator())))
    #expect(unbounded.offLoop == 0, "without a budget a step left the loop: \(unbounded)")
    try await group.shutdownGracefully()
  }
}
