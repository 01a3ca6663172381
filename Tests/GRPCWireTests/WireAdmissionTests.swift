import FunnelCore
import Testing

@testable import GRPCWire

/// Admission control as a pure state machine: limits, per-connection shares, round-robin turns,
/// bounded queues, withdrawal.
@Suite struct WireAdmissionTests {
  typealias Machine = WireAdmission<String, Int>

  static func machine(running: Int = 4, perConnection: Int = 3, queued: Int = 10, queuedPerConnection: Int = 5) -> Machine {
    Machine(limits: .init(running: running, runningPerConnection: perConnection, queued: queued,
                          queuedPerConnection: queuedPerConnection))
  }

  @Test func runsUpToTheLimitThenQueuesThenRefuses() {
    var m = Self.machine(running: 2, perConnection: 2, queued: 3, queuedPerConnection: 2)
    #expect(m.request("a", ticket: 1, waiter: 1) == .run)
    #expect(m.request("a", ticket: 2, waiter: 2) == .run)
    #expect(m.request("a", ticket: 3, waiter: 3) == .wait)
    #expect(m.request("a", ticket: 4, waiter: 4) == .wait)
    guard case .refuse(let reason) = m.request("a", ticket: 5, waiter: 5) else {
      Issue.record("a third waiter on one connection must be refused")
      return
    }
    #expect(reason.contains("limit 2"))
    #expect(m.request("b", ticket: 6, waiter: 6) == .wait)
    guard case .refuse = m.request("c", ticket: 7, waiter: 7) else {
      Issue.record("a fourth waiter on the server must be refused")
      return
    }
    #expect(m.running == 2 && m.queued == 3)
  }

  /// The flooding connection cannot take the last slots, and a freed slot goes to the waiting
  /// connection with the fewest calls running.
  @Test func connectionsTakeTurns() {
    var m = Self.machine(running: 4, perConnection: 3, queued: 100, queuedPerConnection: 50)
    for t in 1...3 { #expect(m.request("flood", ticket: UInt64(t), waiter: t) == .run) }
    for t in 4...20 { #expect(m.request("flood", ticket: UInt64(t), waiter: t) == .wait) }
    // A slot is left for anyone else at once.
    #expect(m.request("polite", ticket: 100, waiter: 100) == .run)
    #expect(m.request("polite", ticket: 101, waiter: 101) == .wait)
    #expect(m.request("other", ticket: 200, waiter: 200) == .wait)
    // The flood's call ends: "other" (nothing running) goes before polite (one running) and the
    // flood (two); then polite's ends: polite (none running now) before the flood.
    var order: [Int] = []
    order += m.finished("flood").map(\.1)
    order += m.finished("polite").map(\.1)
    order += m.finished("other").map(\.1)
    #expect(order == [200, 101, 4])
    #expect(m.running == 4)
  }

  /// Thirty flooding connections with waiters do not delay a newcomer: it has nothing running.
  @Test func aNewcomerGoesBeforeManyFloodingConnections() {
    var m = Self.machine(running: 30, perConnection: 3, queued: 1_000, queuedPerConnection: 50)
    var ticket: UInt64 = 0
    for _ in 0..<3 {
      for c in 0..<30 {
        ticket += 1
        _ = m.request("flood-\(c)", ticket: ticket, waiter: Int(ticket))
      }
    }
    #expect(m.running == 30 && m.queued == 60)
    #expect(m.request("newcomer", ticket: 9_999, waiter: 9_999) == .wait)
    #expect(m.finished("flood-7").map(\.1) == [9_999])
  }

  @Test func aConnectionAtItsShareWaitsEvenWithFreeSlots() {
    var m = Self.machine(running: 10, perConnection: 2)
    #expect(m.request("a", ticket: 1, waiter: 1) == .run)
    #expect(m.request("a", ticket: 2, waiter: 2) == .run)
    #expect(m.request("a", ticket: 3, waiter: 3) == .wait)
    #expect(m.request("b", ticket: 4, waiter: 4) == .run)
    // b's call ending frees a slot but a is at its share: nothing is admitted.
    #expect(m.finished("b").isEmpty)
    #expect(m.finished("a").map(\.1) == [3])
    #expect(m.running(on: "a") == 2)
  }

  @Test func withdrawnWaitersNeverRun() {
    var m = Self.machine(running: 1, perConnection: 1)
    #expect(m.request("a", ticket: 1, waiter: 1) == .run)
    #expect(m.request("a", ticket: 2, waiter: 2) == .wait)
    #expect(m.request("b", ticket: 3, waiter: 3) == .wait)
    let first = m.withdraw("a", ticket: 2)
    let second = m.withdraw("a", ticket: 2)
    #expect(first && !second)
    #expect(m.finished("a").map(\.1) == [3])
    let admitted = m.withdraw("b", ticket: 3)
    #expect(!admitted, "an admitted call is no longer waiting")
    #expect(m.finished("b").isEmpty)
    #expect(m.running == 0 && m.queued == 0)
  }

  /// Random arrivals, endings and withdrawals keep the counts consistent and within the limits.
  @Test(arguments: [7, 8, 9])
  func randomScheduleKeepsItsInvariants(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    var m = Self.machine(running: 5, perConnection: 3, queued: 12, queuedPerConnection: 6)
    var runningCalls: [String] = []
    var waiting: [(String, UInt64)] = []
    var ticket: UInt64 = 0
    for _ in 0..<5_000 {
      let connection = ["a", "b", "c", "d"].randomElement(using: &rng)!
      switch Int.random(in: 0..<3, using: &rng) {
      case 0:
        ticket += 1
        switch m.request(connection, ticket: ticket, waiter: Int(ticket)) {
        case .run: runningCalls.append(connection)
        case .wait: waiting.append((connection, ticket))
        case .refuse: break
        }
      case 1 where !runningCalls.isEmpty:
        let ended = runningCalls.remove(at: Int.random(in: 0..<runningCalls.count, using: &rng))
        for (admitted, waiter) in m.finished(ended) {
          let index = waiting.firstIndex { $0.1 == UInt64(waiter) }!
          #expect(waiting[index].0 == admitted)
          waiting.remove(at: index)
          runningCalls.append(admitted)
        }
      default:
        if !waiting.isEmpty {
          let index = Int.random(in: 0..<waiting.count, using: &rng)
          let withdrawn = m.withdraw(waiting[index].0, ticket: waiting[index].1)
          #expect(withdrawn)
          waiting.remove(at: index)
        }
      }
      #expect(m.running == runningCalls.count && m.running <= 5)
      #expect(m.queued == waiting.count && m.queued <= 12)
      for c in ["a", "b", "c", "d"] { #expect(m.running(on: c) <= 3) }
    }
  }
}
