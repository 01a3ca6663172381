import NIOCore

/// A Swift task executor that runs jobs on a NIO event loop. Tasks that prefer it (a task group's
/// children under `withTaskExecutorPreference`) run on the loop's thread instead of hopping to the
/// cooperative pool and back for every call: one thread wake-up less each way on a gRPC call.
///
/// Thread-safe (the event loop queues jobs). Work that blocks must not run here (store calls go to
/// `NIOThreadPool`, as everywhere).
final class EventLoopExecutor: TaskExecutor, Sendable {
  let eventLoop: any EventLoop

  init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
  }
}
