import Alarms
import FunnelCore
import Indicators
import Synchronization
import Testing

/// The alarm engine over real rollups with a test clock: a payment outage (cancellations surge)
/// fires its rule within the rule's duration plus 2 s and resolves after recovery, once each.
struct AlarmEngineTests {
  static let start: Int64 = 1_790_000_000_000

  final class TestClock: Sendable {
    let ms = Mutex<Int64>(AlarmEngineTests.start)
    func withLock<T: Sendable>(_ body: (inout Int64) -> T) -> T { ms.withLock { body(&$0) } }
  }

  final class Shop: Sendable {
    let now = TestClock()
    let store: MemoryRollupStore
    let recorder = IndicatorRecorder()
    init() {
      let now = self.now
      store = MemoryRollupStore(now: { now.withLock { $0 } })
    }
    var nowMs: Int64 { now.withLock { $0 } }

    /// One second of trade: `orders` created, each paid, or cancelled during an outage.
    func second(_ index: Int, orders: Int, outage: Bool) async throws {
      let at = now.withLock { $0 }
      var changes: [OrderEvent] = []
      for o in 0..<orders {
        let id = "O\(index)-\(o)"
        let base = OrderEvent(orderID: id, state: .created, customerID: "C\(o)", amount: 20, currency: "GBP",
                              lines: [OrderLine(itemID: "A", quantity: 1, unitPrice: 20)], timestampMs: at + Int64(o))
        changes.append(base)
        var next = base
        next.state = outage ? .cancelled : .paid
        changes.append(next)
      }
      recorder.record(orders: changes, factor: { _ in 1 }, category: { _ in "c" })
      try await store.apply(recorder.drain())
    }
  }

  @Test func aPaymentOutageFiresWithinItsDurationAndResolvesAfterRecovery() async throws {
    let shop = Shop()
    let rule = AlarmRule(name: "payment-outage", kind: .above, indicator: "orders.cancelled", per: "orders.created",
                         minimumDenominator: 10, windowSeconds: 30, threshold: 0.5, forSeconds: 10, severity: "critical",
                         dedupKey: "payments")
    try rule.validate(at: "test")
    let engine = AlarmEngine(rules: [rule], board: IndicatorBoard(store: shop.store), nowMs: shop.nowMs)
    var transitions: [(second: Int, AlarmTransition)] = []
    // 5 orders a second; the payment provider is down from second 120 to 180.
    for second in 0..<300 {
      shop.now.withLock { $0 = Self.start + Int64(second) * 1000 }
      try await shop.second(second, orders: 5, outage: (120..<180).contains(second))
      for t in await engine.evaluate(nowMs: shop.nowMs) { transitions.append((second, t)) }
    }
    #expect(transitions.map(\.1.kind) == [.firing, .resolved])
    let fired = try #require(transitions.first).second
    // The 30 s window passes half cancelled after 15 s of outage; then 10 s must pass.
    #expect(fired >= 120 + 10 && fired <= 120 + 15 + 10 + 2, "fired at \(fired)")
    let resolved = try #require(transitions.last).second
    #expect(resolved > 180 && resolved <= 180 + 30, "resolved at \(resolved)")
    #expect(transitions.first?.1.dedupKey == "payments")
    #expect(transitions.first?.1.severity == "critical")
    let status = await engine.statuses()
    #expect(status.map(\.state) == ["ok"])
  }

  @Test func aDropAgainstEarlierTrafficFiresAChangeRule() async throws {
    let shop = Shop()
    let rule = AlarmRule(name: "gmv-drop", kind: .change, indicator: "amount.paid", windowSeconds: 60, threshold: -0.5,
                         comparedToSecondsAgo: 300, forSeconds: 0)
    try rule.validate(at: "test")
    let engine = AlarmEngine(rules: [rule], board: IndicatorBoard(store: shop.store), nowMs: shop.nowMs)
    var kinds: [AlarmTransition.Kind] = []
    for second in 0..<700 {
      shop.now.withLock { $0 = Self.start + Int64(second) * 1000 }
      // 4 orders a second, 1 a second from 500 on.
      try await shop.second(second, orders: second < 500 ? 4 : 1, outage: false)
      kinds += await engine.evaluate(nowMs: shop.nowMs).map(\.kind)
    }
    #expect(kinds == [.firing])
  }
}
