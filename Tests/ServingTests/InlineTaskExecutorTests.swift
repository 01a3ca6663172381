import Foundation
import Serving
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `InlineTaskExecutor` (the store reads of `Budget.race`): a task's first job runs on the thread
/// that starts it, and after a suspension it goes on on the thread that resumes it.
@Suite struct InlineTaskExecutorTests {
  @Test func runsOnTheStartingThreadThenOnTheResumingOne() async {
    let starter = pthread_self()  // no suspension before the task starts: the same thread
    let task = Task(executorPreference: InlineTaskExecutor.shared) { () async -> (pthread_t, pthread_t, pthread_t) in
      let first = pthread_self()
      // A thread of its own, as a store's thread pool finishing a C call. It resumes after a pause
      // (the C call's time): resumed before the task has suspended, the task would simply go on on
      // its own thread (seen once under CI's parallel load).
      let resumer: pthread_t = await withCheckedContinuation { continuation in
        Thread.detachNewThread {
          usleep(100_000)
          continuation.resume(returning: pthread_self())
        }
      }
      return (first, resumer, pthread_self())
    }
    let (first, resumer, afterResume) = await task.value
    #expect(pthread_equal(first, starter) != 0)
    #expect(pthread_equal(afterResume, resumer) != 0)
    #expect(pthread_equal(resumer, starter) == 0)
  }
}
