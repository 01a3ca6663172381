import Dispatch
import NIOCore
import NIOPosix

/// Fills every thread of NIO's shared blocking pool (`NIOThreadPool.singleton`) with a job that
/// waits, as a slow store read or a long snapshot load would: for tests that a client's blocking
/// calls do not queue behind other work (a bulkhead). Each job gives up by itself after 10 s.
public struct SharedPoolBlocker: Sendable {
  private let gate = DispatchSemaphore(value: 0)
  private let threads: Int

  /// Blocks the pool; returns once every thread is inside a blocking job.
  public static func occupy() async -> SharedPoolBlocker {
    let blocker = SharedPoolBlocker(threads: NIOSingletons.blockingPoolThreadCountSuggestion)
    let started = DispatchSemaphore(value: 0)
    for _ in 0..<blocker.threads {
      NIOThreadPool.singleton.submit { [gate = blocker.gate] _ in
        started.signal()
        _ = gate.wait(timeout: .now() + 10)
      }
    }
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().async {
        for _ in 0..<blocker.threads { started.wait() }
        continuation.resume()
      }
    }
    return blocker
  }

  /// Lets the blocking jobs finish.
  public func release() {
    for _ in 0..<threads { gate.signal() }
  }
}
