import NIOCore

/// A Swift task executor that runs jobs on a NIO event loop. Tasks that prefer it (a task group's
/// children under `withTaskExecutorPreference`) run on the loop's thread instead of hopping to the
/// cooperative pool and back for every call: one thread wake-up less each way on a gRPC call. Used
/// by the one-loop server (`--event-loop-threads 1`) and by `funnel load`'s client.
///
/// Thread-safe (the event loop queues jobs). Work that blocks must not run here (store calls go to
/// `NIOThreadPool`, as everywhere).
public final class EventLoopExecutor: TaskExecutor, Sendable {
  /// The loop every job runs on.
  public let eventLoop: any EventLoop

  /// An executor over `eventLoop`.
  public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

  /// Queues `job` on the loop (no wake-up when called from the loop's own thread).
  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
  }
}
