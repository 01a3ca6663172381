import Dispatch
import Foundation
import Synchronization

/// Synchronous work spread over the cores and joined before returning: how the index build folds
/// its catalog writers (`pair`), makes its behaviour tables (`run`) and parses the next batch of
/// lines while it folds this one (`alongside`).
///
/// `pair` moves each value into its thread and back (no copy of its storage), so neither thread
/// sees the other's. The calling thread takes part (`DispatchQueue.concurrentPerform`), so call
/// these from a thread that may block (not from the cooperative pool's hot paths).
enum ForkJoin {
  /// Runs `first(&a)` and `second(&b)` at once and returns both values. When either throws, the
  /// other still finishes, and the first's error (else the second's) is thrown.
  static func pair<A: Sendable, B: Sendable>(
    _ a: consuming A, _ b: consuming B,
    _ first: @Sendable (inout A) throws -> Void, _ second: @Sendable (inout B) throws -> Void
  ) throws -> (A, B) {
    let left = Mutex<A?>(Optional(a)), right = Mutex<B?>(Optional(b))
    let failures = Mutex<[(any Error)?]>([nil, nil])
    DispatchQueue.concurrentPerform(iterations: 2) { side in
      do {
        if side == 0 {
          var value = left.withLock { $0.take()! }
          defer { left.withLock { $0 = value } }
          try first(&value)
        } else {
          var value = right.withLock { $0.take()! }
          defer { right.withLock { $0 = value } }
          try second(&value)
        }
      } catch {
        failures.withLock { $0[side] = error }
      }
    }
    if let error = failures.withLock({ $0[0] ?? $0[1] }) { throw error }
    return (left.withLock { $0.take()! }, right.withLock { $0.take()! })
  }

  /// Runs `jobs` on `workers` threads (the calling thread one of them), each thread taking the next
  /// job not yet started, so long and short jobs even out; give the longest first. When jobs throw,
  /// the others still run and the error of the earliest job in `jobs` is thrown.
  static func run(_ jobs: [@Sendable () throws -> Void], workers: Int = 2) throws {
    let next = Atomic<Int>(0)
    let failures = Mutex<[(any Error)?]>(Array(repeating: nil, count: jobs.count))
    DispatchQueue.concurrentPerform(iterations: max(1, min(workers, jobs.count))) { _ in
      while true {
        let j = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard j < jobs.count else { return }
        do { try jobs[j]() } catch { failures.withLock { $0[j] = error } }
      }
    }
    if let error = failures.withLock({ $0.lazy.compactMap { $0 }.first }) { throw error }
  }

  /// Splits `0 ..< count` into `shares` contiguous ranges of nearly equal length and runs `body` on
  /// each, one per thread (the calling thread one of them); returns the results in range order.
  /// One share runs on the calling thread alone.
  static func shares<T: Sendable>(_ count: Int, _ shares: Int, _ body: @Sendable (Range<Int>) -> T) -> [T] {
    let shares = max(1, shares), size = (count + shares - 1) / shares
    let range = { @Sendable (w: Int) in min(count, w * size)..<min(count, (w + 1) * size) }
    guard shares > 1 else { return [body(range(0))] }
    let results = Mutex([T?](repeating: nil, count: shares))
    DispatchQueue.concurrentPerform(iterations: shares) { w in
      let result = body(range(w))
      results.withLock { $0[w] = result }
    }
    return results.withLock { $0.map { $0! } }
  }

  /// Runs `background` on another thread while `foreground` runs on the calling thread, and returns
  /// `background`'s value once both are done. When `foreground` throws, `background` still finishes
  /// (it may read what the caller owns) before the error is rethrown. The caller blocks meanwhile.
  static func alongside<T: Sendable>(_ background: @Sendable () -> T, _ foreground: () throws -> Void) throws -> T {
    try withoutActuallyEscaping(background) { work in
      let slot = Slot<T>(work)
      let done = DispatchSemaphore(value: 0)
      // Never outlives this call: the semaphore is waited on, whatever `foreground` does. The
      // closure leaves the slot before the signal, so nothing holds it once this call returns.
      // A thread of its own, not one of the global pool's: the pool has a worker per core, and
      // both sides' `concurrentPerform` calls need them (a pool worker running the background work
      // left the others' shares to run one after another on their calling threads).
      Thread {
        slot.run()
        done.signal()
      }.start()
      do {
        try foreground()
      } catch {
        done.wait()
        throw error
      }
      done.wait()
      return slot.state.withLock { $0.value.take()! }
    }
  }

  /// Work handed to another thread and its value handed back.
  private final class Slot<T: Sendable>: Sendable {
    let state: Mutex<(work: (@Sendable () -> T)?, value: T?)>

    init(_ work: @escaping @Sendable () -> T) { state = Mutex((work, nil)) }

    /// Runs the work once and keeps its value; the work is released before this returns.
    func run() {
      var work = state.withLock { $0.work.take() }
      let value = work?()
      work = nil
      state.withLock { $0.value = value }
    }
  }
}
