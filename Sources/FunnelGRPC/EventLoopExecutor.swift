import Dispatch
import NIOCore
import NIOPosix
import Synchronization

/// A Swift task executor that runs jobs on NIO event loops. Tasks that prefer it (a task group's
/// children under `withTaskExecutorPreference`) run on a loop's thread instead of hopping to the
/// cooperative pool and back for every call: one thread wake-up less each way on a gRPC call. Used
/// by the server with its own loops (`--event-loop-threads N`) and by `funnel load`'s client.
///
/// Which loop: a job enqueued on one of the loops stays there (a request read on a connection's
/// loop runs there, with its connection's writes, without waking another thread) unless jobs are
/// queued there behind the one running and another loop has fewer jobs than that backlog; a job
/// enqueued from any other thread (a store's thread pool resuming a request) goes to the loop with
/// the fewest jobs queued or running, ties in turn. (Moving whenever the other loop is idle
/// bounced calls between the loops and raised the health check's median at concurrency 1.)
///
/// A budget per loop tick (`makeGroup(threads:tickBudget:)`): an NIO loop runs queued tasks until
/// none is left before it polls its sockets again, and a call's next job is queued while its last
/// one runs, so busy calls can keep a loop from reading for as long as they last (a flood of heavy
/// calls delayed a bystander's health checks by hundreds of milliseconds). Once a loop has run jobs
/// for `tickBudget` since its last poll, further jobs go to the cooperative pool, where the kernel
/// time-slices them against the loops' I/O, until the loop has polled again.
///
/// Thread-safe (the event loops queue jobs). Work that blocks must not run here (store calls go to
/// `NIOThreadPool`, as everywhere).
public final class EventLoopExecutor: TaskExecutor, Sendable {
  /// The loops jobs run on (at least one).
  public let eventLoops: [any EventLoop]
  /// Per loop (same order as `eventLoops`): jobs queued or running, when its current burst of jobs began.
  private let load: [LoopLoad]
  private let nextLoop = Atomic<Int>(0)
  /// Nanoseconds of jobs a loop runs between two polls before jobs spill to the pool; nil: never.
  private let tickBudget: UInt64?

  /// An executor over one loop: every job runs on `eventLoop`.
  public convenience init(_ eventLoop: any EventLoop) { self.init(loops: [eventLoop]) }

  /// An executor over `loops` (not empty), e.g. every loop of a `MultiThreadedEventLoopGroup`, with
  /// no tick budget: every job runs on a loop.
  public convenience init(loops: [any EventLoop]) {
    self.init(loops: loops, load: loops.map { _ in LoopLoad() }, tickBudget: nil)
  }

  private init(loops: [any EventLoop], load: [LoopLoad], tickBudget: Duration?) {
    precondition(!loops.isEmpty, "an EventLoopExecutor needs at least one loop")
    self.eventLoops = loops
    self.load = load
    self.tickBudget = tickBudget.map { UInt64(max(0, $0.components.seconds)) * 1_000_000_000 + UInt64(max(0, $0.components.attoseconds) / 1_000_000_000) }
  }

  /// A group of `threads` loops (at least 1) and an executor over them that runs at most
  /// `tickBudget` of jobs on a loop between two of its socket polls (see the type's comment).
  public static func makeGroup(threads: Int, tickBudget: Duration) -> (MultiThreadedEventLoopGroup, EventLoopExecutor) {
    let ticks = LoopTicks()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads), metricsDelegate: ticks)
    let loops = Array(group.makeIterator())
    let load = loops.map { _ in LoopLoad() }
    ticks.watch(Dictionary(uniqueKeysWithValues: zip(loops.map { ObjectIdentifier($0) }, load)))
    return (group, EventLoopExecutor(loops: loops, load: load, tickBudget: tickBudget))
  }

  /// Queues `job` on the calling thread's loop or the least loaded one (see the type's comment), or
  /// on the cooperative pool when that loop has used its tick budget. O(loops).
  public func enqueue(_ job: consuming ExecutorJob) {
    let index = chooseLoop()
    let state = load[index]
    let job = UnownedJob(job)
    if let tickBudget {
      let began = state.burstBegan.load(ordering: .relaxed)
      if began != 0, NIODeadline.now().uptimeNanoseconds &- began > tickBudget {
        // Run as this executor's job on a pool thread: handed to the global executor instead, the
        // runtime would send it straight back here (the task prefers this executor).
        DispatchQueue.global().async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        return
      }
    }
    state.jobs.add(1, ordering: .relaxed)
    let timed = tickBudget != nil
    eventLoops[index].execute {
      if timed, state.burstBegan.load(ordering: .relaxed) == 0 {
        state.burstBegan.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
      }
      job.runSynchronously(on: self.asUnownedTaskExecutor())
      state.jobs.subtract(1, ordering: .relaxed)
    }
  }

  private func chooseLoop() -> Int {
    guard eventLoops.count > 1 else { return 0 }
    let here = eventLoops.firstIndex { $0.inEventLoop }
    var chosen = here ?? (nextLoop.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max) % eventLoops.count
    // From a loop, its own running job (likely the enqueuer) does not count as a backlog.
    var fewest = load[chosen].jobs.load(ordering: .relaxed) - (here == nil ? 0 : 1)
    for index in eventLoops.indices where fewest > 0 {
      let jobs = load[index].jobs.load(ordering: .relaxed)
      if jobs < fewest { (chosen, fewest) = (index, jobs) }
    }
    return chosen
  }
}

/// One loop of an `EventLoopExecutor`: jobs queued or running there, and when (uptime nanoseconds;
/// 0: not since its last poll) it began running jobs since it last polled its sockets. Thread-safe.
private final class LoopLoad: Sendable {
  let jobs = Atomic<Int>(0)
  let burstBegan = Atomic<UInt64>(0)
}

/// Told by NIO when a loop has run its queued tasks and goes back to its sockets: the loop's
/// burst of jobs ends there. Thread-safe; called on each loop's thread.
private final class LoopTicks: NIOEventLoopMetricsDelegate {
  private let loads = Mutex<[ObjectIdentifier: LoopLoad]>([:])

  func watch(_ loads: [ObjectIdentifier: LoopLoad]) { self.loads.withLock { $0 = loads } }

  func processedTick(info: NIOEventLoopTickInfo) {
    loads.withLock { $0[info.eventLoopID] }?.burstBegan.store(0, ordering: .relaxed)
  }
}
