import Foundation

/// One thread that fires the store budgets of every request (`Budget.race`): a min-heap of deadlines
/// and a condition variable, instead of a sleeping Swift task per store read.
///
/// Why not `Task.sleep`: each sleeping task is two jobs on the cooperative pool plus a dispatch
/// timer, and the timer still fires when the read won and the task was cancelled, so three store
/// reads per request meant a dozen thread wake-ups that did nothing. Here a budget is one heap push
/// under a lock; the thread is not signalled unless the new budget ends before the one it sleeps
/// towards (budgets are mostly the same length, so new ones end later), and it fires every budget
/// due when it wakes, coalescing wake-ups: a budget may fire up to `tolerance(for:)` late, never
/// early. A budget whose read won stays in the heap until it is due and then does nothing (its
/// `fire` is a resume that has already happened), so nothing is cancelled.
///
/// Thread-safe: the heap and the thread's state are guarded by `condition`. The thread lives for
/// the process (started on first use, like NIO's singleton event loops); `fire` runs on it and must
/// not block.
package final class BudgetTimer: @unchecked Sendable {
  /// The process's timer (its thread starts on first use).
  package static let shared = BudgetTimer()

  private struct Entry {
    var deadline: ContinuousClock.Instant
    var latest: ContinuousClock.Instant
    var fire: @Sendable () -> Void
  }
  private enum ThreadState { case running, sleeping(until: ContinuousClock.Instant), idle }

  private let condition = NSCondition()
  private var heap: [Entry] = []  // min-heap by deadline
  private var state = ThreadState.running
  /// Wake-ups of the thread so far (tests, and to check the coalescing).
  private var wakeCount = 0

  /// A timer with a thread of its own (tests; the server uses `shared`). The thread is never stopped.
  package init() {
    let thread = Thread { [unowned self] in self.run() }
    thread.name = "funnel-budget-timer"
    thread.start()
  }

  /// How late a budget of `budget` may fire: an eighth of it, at most 4 ms (a 50 ms profile budget
  /// fires within 54 ms; a 2 ms one within 2.25 ms).
  package static func tolerance(for budget: Duration) -> Duration { min(budget / 8, .milliseconds(4)) }

  /// Calls `fire` on the timer's thread once `budget` has passed (up to `tolerance(for:)` later).
  /// O(log n) in the budgets pending.
  package func schedule(after budget: Duration, _ fire: @escaping @Sendable () -> Void) {
    let deadline = ContinuousClock.now + budget
    let entry = Entry(deadline: deadline, latest: deadline + Self.tolerance(for: budget), fire: fire)
    condition.lock()
    push(entry)
    let wake: Bool
    switch state {
    case .running: wake = false  // it looks at the heap again before it sleeps
    case .idle: wake = true
    case .sleeping(let until): wake = entry.latest < until
    }
    if wake { condition.signal() }
    condition.unlock()
  }

  /// Wake-ups of the thread since start.
  package var wakeUps: Int {
    condition.lock()
    defer { condition.unlock() }
    return wakeCount
  }

  private func run() {
    condition.lock()
    while true {
      let now = ContinuousClock.now
      var due: [@Sendable () -> Void] = []
      while let top = heap.first, top.deadline <= now { due.append(pop().fire) }
      if !due.isEmpty {
        state = .running
        condition.unlock()
        for fire in due { fire() }
        condition.lock()
        continue
      }
      if !heap.isEmpty {
        let wakeAt = earliestLatest()
        state = .sleeping(until: wakeAt)
        // A Date for NSCondition; capped so a wall-clock step cannot stall the timer for long.
        let seconds = Double((wakeAt - now) / .microseconds(1)) / 1e6
        _ = condition.wait(until: Date(timeIntervalSinceNow: min(max(seconds, 0), 1)))
      } else {
        state = .idle
        condition.wait()
      }
      wakeCount += 1
      state = .running
    }
  }

  /// The soonest any pending budget must fire: the least `latest` in the heap. Only entries whose
  /// deadline is before the best found so far can beat it (`latest >= deadline`, and a child's
  /// deadline is not before its parent's), so the walk stays near the top. Caller holds the lock.
  private func earliestLatest() -> ContinuousClock.Instant {
    var best = heap[0].latest
    var stack = [0]
    while let i = stack.popLast() {
      guard heap[i].deadline < best else { continue }
      best = min(best, heap[i].latest)
      if 2 * i + 1 < heap.count { stack.append(2 * i + 1) }
      if 2 * i + 2 < heap.count { stack.append(2 * i + 2) }
    }
    return best
  }

  private func push(_ entry: Entry) {
    heap.append(entry)
    var child = heap.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard heap[child].deadline < heap[parent].deadline else { break }
      heap.swapAt(child, parent)
      child = parent
    }
  }

  private func pop() -> Entry {
    let first = heap[0]
    let last = heap.removeLast()
    guard !heap.isEmpty else { return first }
    heap[0] = last
    var parent = 0
    while true {
      let left = 2 * parent + 1, right = left + 1
      var smallest = parent
      if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
      if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
      guard smallest != parent else { return first }
      heap.swapAt(parent, smallest)
      parent = smallest
    }
  }
}
