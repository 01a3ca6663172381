import Synchronization

/// Races a store read against a time budget and returns at the budget, whatever the read does.
///
/// A structured child task cannot do this: the store clients block a thread-pool thread inside C
/// calls (hiredis, libmongoc) that ignore cancellation, and a task group waits for every child
/// before it returns, so a slow store would hold the request until its own timeout. Here the read
/// runs in a short-lived task of its own; a late result is dropped (the store's own timeout bounds
/// how long that task lives). The budget is an entry of `BudgetTimer`, not a sleeping task. Not for
/// long-lived work.
enum Budget {
  /// The result of `read`, or nil when `budget` passes first (up to `BudgetTimer.tolerance(for:)`
  /// later). A budget of zero or less returns nil without reading.
  static func race<T: Sendable>(_ budget: Duration, _ read: @escaping @Sendable () async throws -> T) async
    -> Result<T, any Error>?
  {
    guard budget > .zero else { return nil }
    let once = ResumeOnce<Result<T, any Error>?>()
    return await withCheckedContinuation { continuation in
      once.arm(continuation)
      // Inline: the read starts on this thread and finishes on the thread that completes it (see
      // `InlineTaskExecutor`), saving two hand-offs through the cooperative pool per store read.
      Task(executorPreference: InlineTaskExecutor.shared) {
        // The budget starts with the read: it bounds the store, not a wait for a thread of a busy
        // pool (which would turn a CPU-bound moment into answers without the user's context).
        BudgetTimer.shared.schedule(after: budget) { once.resume(nil) }
        let result: Result<T, any Error>
        do { result = .success(try await read()) } catch { result = .failure(error) }
        once.resume(result)
      }
    }
  }
}

/// A continuation resumed by whichever side finishes first; later resumes are ignored. Thread-safe.
final class ResumeOnce<Value: Sendable>: Sendable {
  private let slot = Mutex<CheckedContinuation<Value, Never>?>(nil)

  func arm(_ continuation: CheckedContinuation<Value, Never>) { slot.withLock { $0 = continuation } }

  func resume(_ value: Value) {
    slot.withLock { $0.take() }?.resume(returning: value)
  }
}

/// Time allowed to each store stage of one request: the configured budget, cut to a share of what
/// is left before the call's deadline, so recall and ranking (local CPU) keep time to answer.
struct StageBudgets {
  /// Share of the remaining time a store stage may take.
  static let share = 0.4
  let configured: Duration
  let deadline: ContinuousClock.Instant?

  /// The user profile stage (real-time history and offline profile, read in parallel).
  var profile: Duration { bounded() }

  /// The item-features stage (after recall), computed when it starts.
  func itemFeatures() -> Duration { bounded() }

  private func bounded() -> Duration {
    guard let deadline else { return configured }
    let left = deadline - ContinuousClock.now
    guard left > .zero else { return .zero }
    return min(configured, left * Self.share)
  }
}
