import Dispatch
import Synchronization

/// Synchronous work spread over the cores and joined before returning: how the index build folds
/// its catalog writers (`pair`) and makes its behaviour tables (`run`).
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
}
