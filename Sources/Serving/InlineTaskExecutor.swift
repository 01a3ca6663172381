/// A task executor that runs each job at once on the thread that enqueues it, for the short-lived
/// store-read tasks of `Budget.race` only.
///
/// Why: a store read hands its blocking C call to the store's own thread pool (hiredis, libmongoc).
/// On the global executor the read's task costs two extra thread hand-offs: its first job waits for
/// a cooperative thread, and when the pool thread resumes it, its last job (decode, release the
/// connection, resume the request) waits for one again. On a two-core machine each hand-off is a
/// futex wake and a context switch. With this executor the first job runs on the request's thread
/// up to the hand-off, and the rest runs on the pool thread that finished the C call; only the
/// request's own resumption goes back through the cooperative pool.
///
/// Not for general use: a job runs inside `enqueue`, so whoever resumes such a task must not hold a
/// lock the task's code takes (the store clients resume outside their locks), and the code must not
/// block (the blocking calls are in the store's thread pool, which this executor never runs on
/// unless called from there). Thread-safe; stateless.
package final class InlineTaskExecutor: TaskExecutor {
  /// The one instance (stateless).
  package static let shared = InlineTaskExecutor()

  private init() {}

  /// Runs `job` now, on the calling thread.
  package func enqueue(_ job: consuming ExecutorJob) {
    job.runSynchronously(on: asUnownedTaskExecutor())
  }
}
