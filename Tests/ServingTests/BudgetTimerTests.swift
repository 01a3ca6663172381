import Serving
import Synchronization
import Testing

@Suite struct BudgetTimerTests {
  /// Fire times, in order of firing, of budgets scheduled on `timer`.
  final class Firings: Sendable {
    let times = Mutex<[(index: Int, at: ContinuousClock.Instant)]>([])
    func record(_ index: Int) { times.withLock { $0.append((index, .now)) } }
    var count: Int { times.withLock { $0.count } }
  }

  @Test func firesEveryBudgetNoEarlierThanItsEndAndCoalescesWakeUps() async throws {
    let timer = BudgetTimer()
    let firings = Firings()
    // 100 budgets ending 0.2 ms apart over 20 ms, scheduled out of order.
    let budgets = (0..<100).map { Duration.milliseconds(40) + .microseconds(200 * (($0 * 37) % 100)) }
    let start = ContinuousClock.now
    for (i, budget) in budgets.enumerated() { timer.schedule(after: budget) { firings.record(i) } }
    let end = ContinuousClock.now + .seconds(5)
    while firings.count < budgets.count && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(5)) }
    let times = firings.times.withLock { $0 }
    #expect(Set(times.map(\.index)) == Set(0..<100), "every budget fires, once")
    #expect(times.count == 100)
    for (index, at) in times { #expect(at - start >= budgets[index], "budget \(index) fired early") }
    // Each wake-up fires every budget due: with a tolerance of 4 ms (an eighth of 40 ms, at most 4)
    // 20 ms of endings need about six (checked: 5-6; 90-100 with no tolerance).
    #expect(timer.wakeUps < 30, "\(timer.wakeUps) wake-ups for 100 budgets")
  }

  @Test func aShorterBudgetScheduledLaterWakesTheTimerEarlier() async throws {
    let timer = BudgetTimer()
    let firings = Firings()
    try await Task.sleep(for: .milliseconds(20))  // the thread now waits, idle, for a first budget
    timer.schedule(after: .seconds(30)) { firings.record(0) }
    try await Task.sleep(for: .milliseconds(20))  // the thread now sleeps towards the 30 s budget
    let start = ContinuousClock.now
    timer.schedule(after: .milliseconds(10)) { firings.record(1) }
    let end = ContinuousClock.now + .seconds(10)
    while firings.count < 1 && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(2)) }
    let times = firings.times.withLock { $0 }
    #expect(times.map(\.index) == [1], "the 10 ms budget fires; the 30 s one waits")
    // Without the signal the thread would sleep on to its one-second cap.
    #expect(times.first.map { $0.at - start < .milliseconds(500) } == true, "the timer was woken for it")
  }

  @Test func toleranceIsAnEighthOfTheBudgetAtMostFourMilliseconds() {
    #expect(BudgetTimer.tolerance(for: .milliseconds(8)) == .milliseconds(1))
    #expect(BudgetTimer.tolerance(for: .milliseconds(50)) == .milliseconds(4))
    #expect(BudgetTimer.tolerance(for: .zero) == .zero)
  }
}
