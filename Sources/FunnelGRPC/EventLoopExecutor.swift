import NIOCore
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
/// Thread-safe (the event loops queue jobs). Work that blocks must not run here (store calls go to
/// `NIOThreadPool`, as everywhere).
public final class EventLoopExecutor: TaskExecutor, Sendable {
  /// The loops jobs run on (at least one).
  public let eventLoops: [any EventLoop]
  /// Jobs queued or running on each loop (same order as `eventLoops`).
  private let load: [JobCount]
  private let nextLoop = Atomic<Int>(0)

  /// An executor over one loop: every job runs on `eventLoop`.
  public convenience init(_ eventLoop: any EventLoop) { self.init(loops: [eventLoop]) }

  /// An executor over `loops` (not empty), e.g. every loop of a `MultiThreadedEventLoopGroup`.
  public init(loops: [any EventLoop]) {
    precondition(!loops.isEmpty, "an EventLoopExecutor needs at least one loop")
    self.eventLoops = loops
    self.load = loops.map { _ in JobCount() }
  }

  /// Queues `job` on the calling thread's loop or the least loaded one (see the type's comment). O(loops).
  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    let index = chooseLoop()
    let count = load[index]
    count.jobs.add(1, ordering: .relaxed)
    eventLoops[index].execute {
      job.runSynchronously(on: self.asUnownedTaskExecutor())
      count.jobs.subtract(1, ordering: .relaxed)
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

/// Jobs queued or running on one loop of an `EventLoopExecutor`. Thread-safe.
private final class JobCount: Sendable {
  let jobs = Atomic<Int>(0)
}
